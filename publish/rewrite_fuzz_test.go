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
	// A hostile DOCTYPE's internal subset, removed (rewrite_dtd.go) …
	fuzzSubsetDeleted = regexp.MustCompile(`(?s)^[ \t\r\n]*\[.*<!ENTITY.*\][ \t\r\n]*$`)
	// … and a reference to an entity it declared, replaced by character
	// references.
	fuzzRefDeleted  = regexp.MustCompile(`^&[^&;]+;$`)
	fuzzCharRefEdit = regexp.MustCompile(`^(?:&#x[0-9A-F]+;)+$`)
)

// FuzzRewriteFeed checks that RewriteFeed never panics and, when it
// succeeds, changes only what it means to: undoing its edits on the output
// gives the input back; each insertion is a namespace declaration, an
// alternate enclosure block or the "amp;" that makes a reference to an
// entity of a removed DOCTYPE subset literal text; each deletion is such a
// subset, or such a reference replaced by character references; and a
// well-formed input stays well-formed.
func FuzzRewriteFeed(f *testing.F) {
	seeds := []string{
		`<rss><channel><item><guid>ep-1</guid><enclosure url="https://cdn.example/ep1.mp3"/></item></channel></rss>`,
		"\xef\xbb\xbf<?xml version=\"1.0\"?>\r\n<rss>\r\n <channel>\r\n  <item>\r\n   <guid>ep-1</guid>\r\n  </item>\r\n </channel>\r\n</rss>\r\n",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><item><guid>caf\xe9</guid></item></channel></rss>",
		"<!DOCTYPE rss [<!ENTITY ep \"ep\"><!ENTITY x SYSTEM \"x.dtd\">]><rss><channel><item><guid><![CDATA[ep-1]]></guid><!-- </item> --></item><item/></channel></rss>",
		"<!DOCTYPE rss PUBLIC \"-//x//\" \"x.dtd\" [\n<!ENTITY nbsp \"&#160;\"><!ENTITY % p SYSTEM \"p.dtd\"> %p;]>\n<rss a=\"&ep;&nbsp;\"><channel><item><guid>&ep;-1&nbsp;&amp;</guid></item></channel></rss>",
		"<!DOCTYPE feed [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>&b;</title></feed>",
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
		namespaces := 0
		for i, e := range edits {
			if e.off < prev || e.off > len(data) {
				t.Fatalf("edit %d at %d: out of order or range (previous %d, input %d bytes)", i, e.off, prev, len(data))
			}
			if e.del < 0 || e.off+e.del > len(data) {
				t.Fatalf("edit %d deletes %d bytes at %d of %d", i, e.del, e.off, len(data))
			}
			deleted := data[e.off : e.off+e.del]
			switch {
			case e.del == 0 && fuzzNamespaceEdit.Match(e.text):
				if namespaces++; namespaces > 1 {
					t.Fatalf("edit %d: a second namespace declaration %q", i, e.text)
				}
			case e.del == 0 && fuzzBlockEdit.Match(e.text):
			case e.del == 0 && string(e.text) == "amp;" && e.off > 0 && data[e.off-1] == '&':
			case len(e.text) == 0 && fuzzSubsetDeleted.Match(deleted):
			case fuzzRefDeleted.Match(deleted) && fuzzCharRefEdit.Match(e.text):
			default:
				t.Fatalf("edit %d replaces %q with %q: not an edit RewriteFeed makes", i, deleted, e.text)
			}
			n := e.off - prev
			rest = append(rest, out[pos:pos+n]...)
			pos += n
			if !bytes.HasPrefix(out[pos:], e.text) {
				t.Fatalf("edit %d not found in the output at %d", i, pos)
			}
			pos += len(e.text)
			rest = append(rest, deleted...)
			prev = e.off + e.del
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
