package publish

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var (
	fuzzNamespaceEdit = regexp.MustCompile(`^ xmlns:[^\s:"=<>&]+="https://podcastindex\.org/namespace/1\.0"$`)
	fuzzBlockEdit     = regexp.MustCompile(`(?s)^(?:(?:\r\n|\n|\r)[ \t]*)?<([^\s:<>]+):alternateEnclosure [^<>]*title="BitTorrent"[^<>]*>.*</([^\s:<>]+):alternateEnclosure>$`)
)

// FuzzRewriteFeed checks that RewriteFeed never panics and, when it
// succeeds, only inserts: taking its insertions out of the output gives the
// input back, each insertion is a namespace declaration or an alternate
// enclosure block, and a well-formed input stays well-formed.
func FuzzRewriteFeed(f *testing.F) {
	seeds := []string{
		`<rss><channel><item><guid>ep-1</guid><enclosure url="https://cdn.example/ep1.mp3"/></item></channel></rss>`,
		"\xef\xbb\xbf<?xml version=\"1.0\"?>\r\n<rss>\r\n <channel>\r\n  <item>\r\n   <guid>ep-1</guid>\r\n  </item>\r\n </channel>\r\n</rss>\r\n",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><item><guid>caf\xe9</guid></item></channel></rss>",
		"<!DOCTYPE rss [<!ENTITY ep \"ep\"><!ENTITY x SYSTEM \"x.dtd\">]><rss><channel><item><guid><![CDATA[ep-1]]></guid><!-- </item> --></item><item/></channel></rss>",
		`<rss xmlns:podcast="urn:other"><channel><item xmlns:podcast="urn:x"><guid>&ep;-1</guid></item></channel></rss>`,
		`<rss/>`,
		`<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), "ep-1", "https://cdn.example/ep1.mp3")
	}
	for _, name := range []string{"podcastparser-no-guid.xml", "podcastparser-leading-space-url.xml", "top-podcasts-1776920777.xml", "podcast-namespace-example.xml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "", "http://example.com/test.ogg")
	}

	f.Fuzz(func(t *testing.T, data []byte, guid, encURL string) {
		alts := []Alternate{
			{GUID: guid, EnclosureURL: encURL, Type: "audio/mpeg", Length: 1, TorrentURL: "https://podseed.example/t/aa.torrent", Magnet: `magnet:?xt=urn:btih:aa&dn=<"x">`, SRI: "sha256-AAA="},
			{EnclosureURL: encURL, TorrentURL: "https://podseed.example/t/bb.torrent", Magnet: "magnet:?xt=urn:btih:bb"},
		}
		in := bytes.Clone(data)
		out, err := RewriteFeed(data, alts)
		if !bytes.Equal(in, data) {
			t.Fatal("input modified")
		}
		if err != nil {
			return
		}
		edits, err := planRewrite(data, alts)
		if err != nil {
			t.Fatalf("planRewrite: %v after RewriteFeed succeeded", err)
		}

		var rest []byte
		pos, prev := 0, 0 // in out, in data
		for i, e := range edits {
			if e.off < prev || e.off > len(data) {
				t.Fatalf("edit %d at %d: out of order or range (previous %d, input %d bytes)", i, e.off, prev, len(data))
			}
			if !fuzzBlockEdit.Match(e.text) && !(i == 0 && fuzzNamespaceEdit.Match(e.text)) {
				t.Fatalf("edit %d is neither a namespace declaration nor a block: %q", i, e.text)
			}
			n := e.off - prev
			rest = append(rest, out[pos:pos+n]...)
			pos += n
			if !bytes.HasPrefix(out[pos:], e.text) {
				t.Fatalf("edit %d not found in the output at %d", i, pos)
			}
			pos += len(e.text)
			prev = e.off
		}
		rest = append(rest, out[pos:]...)
		if !bytes.Equal(rest, data) {
			t.Fatalf("output minus insertions differs from input at byte %d", firstDiff(rest, data))
		}
		if wellFormed(data) == nil {
			if err := wellFormed(out); err != nil {
				t.Fatalf("well-formed input, output is not: %v\nin:  %q\nout: %q", err, data, out)
			}
		}
	})
}
