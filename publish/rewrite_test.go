package publish

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"testing"
)

const ns = `xmlns:podcast="https://podcastindex.org/namespace/1.0"`

var (
	alt1 = Alternate{
		GUID: "ep-1", EnclosureURL: "https://cdn.example/ep1.mp3", Type: "audio/mpeg", Length: 123,
		TorrentURL: "https://podseed.example/t/aa.torrent", TorrentLength: 456,
		Magnet: "magnet:?xt=urn:btih:aa&dn=ep1.mp3", InfoHash: "aa", SRI: "sha256-AAA=",
	}
	alt2 = Alternate{
		GUID: "ep-2", EnclosureURL: "https://cdn.example/ep2.mp3", Type: "audio/mpeg", Length: 2,
		TorrentURL: "https://podseed.example/t/bb.torrent", Magnet: "magnet:?xt=urn:btih:bb", InfoHash: "bb", SRI: "sha256-BBB=",
	}
	// alt2LiteralEntity is alt2 as podseed stores it from an item whose
	// <guid> is "&ep;-2" with ep declared in the DOCTYPE: feed.Parse
	// keeps such references literal.
	alt2LiteralEntity = func() Alternate { a := alt2; a.GUID = "&ep;-2"; return a }()
	alt3              = Alternate{ // an episode without GUID
		EnclosureURL: "https://cdn.example/ep3.mp3", Type: "audio/mpeg", Length: 3,
		TorrentURL: "https://podseed.example/t/cc.torrent", Magnet: "magnet:?xt=urn:btih:cc", InfoHash: "cc", SRI: "sha256-CCC=",
	}
)

// oneLine is the block RewriteFeed inserts for a when the item's end tag
// does not start a line.
func oneLine(prefix, extraAttrs string, a Alternate) string {
	var b strings.Builder
	b.WriteString("<" + prefix + `:alternateEnclosure type="` + a.Type + `" length="` + strconv.FormatInt(a.Length, 10) + `" title="BitTorrent"` + extraAttrs + ">")
	b.WriteString("<" + prefix + `:integrity type="sri" value="` + a.SRI + `"/>`)
	b.WriteString("<" + prefix + `:source uri="` + a.EnclosureURL + `"/>`)
	b.WriteString("<" + prefix + `:source uri="` + a.TorrentURL + `" contentType="application/x-bittorrent"/>`)
	b.WriteString("<" + prefix + `:source uri="` + strings.ReplaceAll(a.Magnet, "&", "&amp;") + `"/>`)
	b.WriteString("</" + prefix + ":alternateEnclosure>")
	return b.String()
}

func TestRewriteFeed(t *testing.T) {
	alts := []Alternate{alt1, alt2, alt3}
	latin := alt1
	latin.GUID, latin.EnclosureURL = "café", "https://cdn.example/café.mp3"
	euro := alt1
	euro.GUID = "€uro"
	bare := Alternate{GUID: "ep-1", TorrentURL: "https://podseed.example/t/aa.torrent"}

	tests := []struct {
		name string
		in   string
		alts []Alternate
		want string
	}{
		{
			name: "one line",
			in:   `<rss><channel><item><guid>ep-1</guid><enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/></item></channel></rss>`,
			want: `<rss ` + ns + `><channel><item><guid>ep-1</guid><enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/>` + oneLine("podcast", "", alt1) + `</item></channel></rss>`,
		},
		{
			// The DOCTYPE declares entities: its internal subset goes and
			// references to them become literal text (rewrite_dtd.go), which
			// is how podseed read the GUID "&ep;-2".
			name: "CDATA, comments, DOCTYPE entities",
			alts: []Alternate{alt1, alt2LiteralEntity},
			in: "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n  <!ENTITY ep \"ep\">\n  <!ENTITY ext SYSTEM \"https://evil.example/x.dtd\">\n]>\n" +
				"<rss version=\"2.0\"><channel>\n<!-- </item> <item><guid>ep-1</guid></item> -->\n" +
				"<item><title>&ext; &nbsp;</title><guid><![CDATA[ ep-1 ]]></guid><!-- </item> --></item>\n" +
				"<item><guid isPermaLink=\"false\">&ep;-2</guid></item>\n</channel></rss>",
			want: "<?xml version=\"1.0\"?>\n<!DOCTYPE rss>\n" +
				"<rss version=\"2.0\" " + ns + "><channel>\n<!-- </item> <item><guid>ep-1</guid></item> -->\n" +
				"<item><title>&amp;ext; &nbsp;</title><guid><![CDATA[ ep-1 ]]></guid><!-- </item> -->" + oneLine("podcast", "", alt1) + "</item>\n" +
				"<item><guid isPermaLink=\"false\">&amp;ep;-2</guid>" + oneLine("podcast", "", alt2) + "</item>\n</channel></rss>",
		},
		{
			name: "ISO-8859-1",
			in:   "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss><channel><title>\xe9\xe8\xe0</title><item><guid>caf\xe9</guid></item></channel></rss>",
			alts: []Alternate{latin},
			want: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss " + ns + "><channel><title>\xe9\xe8\xe0</title><item><guid>caf\xe9</guid>" +
				strings.Replace(oneLine("podcast", "", latin), "café", "caf&#xE9;", 1) + "</item></channel></rss>",
		},
		{
			name: "windows-1252",
			in:   "<?xml version='1.0' encoding='windows-1252'?><rss><channel><item><guid>\x80uro</guid></item></channel></rss>",
			alts: []Alternate{euro},
			want: "<?xml version='1.0' encoding='windows-1252'?><rss " + ns + "><channel><item><guid>\x80uro</guid>" + oneLine("podcast", "", euro) + "</item></channel></rss>",
		},
		{
			name: "BOM and CRLF",
			in:   "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<rss>\r\n <channel>\r\n  <item>\r\n   <guid>ep-1</guid>\r\n  </item>\r\n </channel>\r\n</rss>\r\n",
			want: "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<rss " + ns + ">\r\n <channel>\r\n  <item>\r\n   <guid>ep-1</guid>\r\n" +
				"   <podcast:alternateEnclosure type=\"audio/mpeg\" length=\"123\" title=\"BitTorrent\">\r\n" +
				"    <podcast:integrity type=\"sri\" value=\"sha256-AAA=\"/>\r\n" +
				"    <podcast:source uri=\"https://cdn.example/ep1.mp3\"/>\r\n" +
				"    <podcast:source uri=\"https://podseed.example/t/aa.torrent\" contentType=\"application/x-bittorrent\"/>\r\n" +
				"    <podcast:source uri=\"magnet:?xt=urn:btih:aa&amp;dn=ep1.mp3\"/>\r\n" +
				"   </podcast:alternateEnclosure>\r\n  </item>\r\n </channel>\r\n</rss>\r\n",
		},
		{
			name: "tabs",
			in:   "<rss>\n<channel>\n\t<item>\n\t\t<guid>ep-2</guid>\n\t</item>\n</channel>\n</rss>",
			want: "<rss " + ns + ">\n<channel>\n\t<item>\n\t\t<guid>ep-2</guid>\n" +
				"\t\t<podcast:alternateEnclosure type=\"audio/mpeg\" length=\"2\" title=\"BitTorrent\">\n" +
				"\t\t\t<podcast:integrity type=\"sri\" value=\"sha256-BBB=\"/>\n" +
				"\t\t\t<podcast:source uri=\"https://cdn.example/ep2.mp3\"/>\n" +
				"\t\t\t<podcast:source uri=\"https://podseed.example/t/bb.torrent\" contentType=\"application/x-bittorrent\"/>\n" +
				"\t\t\t<podcast:source uri=\"magnet:?xt=urn:btih:bb\"/>\n" +
				"\t\t</podcast:alternateEnclosure>\n\t</item>\n</channel>\n</rss>",
		},
		{
			name: "self-closing item and unmatched item",
			in:   `<rss><channel><item/><item><guid>other</guid><enclosure url="https://cdn.example/ep1.mp3"/></item></channel></rss>`,
			want: `<rss ` + ns + `><channel><item/><item><guid>other</guid><enclosure url="https://cdn.example/ep1.mp3"/></item></channel></rss>`,
		},
		{
			name: "self-closing rss",
			in:   `<rss version="2.0"/>`,
			want: `<rss version="2.0" ` + ns + `/>`,
		},
		{
			name: "no items",
			in:   "<?xml version=\"1.0\"?>\n<rss\n  version=\"2.0\"\n><channel><title>t</title></channel></rss>\n",
			want: "<?xml version=\"1.0\"?>\n<rss\n  version=\"2.0\"\n " + ns + "><channel><title>t</title></channel></rss>\n",
		},
		{
			name: "match by enclosure url only without GUID",
			in: `<rss><channel><item><enclosure url=" https://cdn.example/ep3.mp3 " type="audio/mpeg"/></item>` +
				`<item><guid>x</guid><enclosure url="https://cdn.example/ep1.mp3"/></item>` +
				`<item><guid>y</guid><enclosure url="https://cdn.example/ep3.mp3"/></item></channel></rss>`,
			want: `<rss ` + ns + `><channel><item><enclosure url=" https://cdn.example/ep3.mp3 " type="audio/mpeg"/>` + oneLine("podcast", "", alt3) + `</item>` +
				`<item><guid>x</guid><enclosure url="https://cdn.example/ep1.mp3"/></item>` +
				`<item><guid>y</guid><enclosure url="https://cdn.example/ep3.mp3"/>` + oneLine("podcast", "", alt3) + `</item></channel></rss>`,
		},
		{
			name: "prefix podcast bound elsewhere",
			in:   `<rss xmlns:podcast="urn:other"><channel><item><guid>ep-1</guid></item></channel></rss>`,
			want: `<rss xmlns:podcast="urn:other" xmlns:podcast2="https://podcastindex.org/namespace/1.0"><channel><item><guid>ep-1</guid>` + oneLine("podcast2", "", alt1) + `</item></channel></rss>`,
		},
		{
			name: "namespace under another prefix",
			in:   `<rss xmlns:pi="https://podcastindex.org/namespace/1.0"><channel><item><guid>ep-1</guid></item></channel></rss>`,
			want: `<rss xmlns:pi="https://podcastindex.org/namespace/1.0"><channel><item><guid>ep-1</guid>` + oneLine("pi", "", alt1) + `</item></channel></rss>`,
		},
		{
			name: "original GitHub namespace URI",
			in:   `<rss xmlns:podcast="https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"><channel><item><guid>ep-1</guid></item></channel></rss>`,
			want: `<rss xmlns:podcast="https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"><channel><item><guid>ep-1</guid>` + oneLine("podcast", "", alt1) + `</item></channel></rss>`,
		},
		{
			name: "prefix rebound inside the item",
			in:   `<rss><channel><item xmlns:podcast="urn:other"><guid>ep-1</guid></item></channel></rss>`,
			want: `<rss ` + ns + `><channel><item xmlns:podcast="urn:other"><guid>ep-1</guid>` + oneLine("podcast", " "+ns, alt1) + `</item></channel></rss>`,
		},
		{
			name: "items outside rss/channel and in other namespaces",
			in:   `<rss xmlns:x="urn:x"><channel><x:item><guid>ep-1</guid></x:item><podcast:liveItem xmlns:podcast="https://podcastindex.org/namespace/1.0"><guid>ep-1</guid></podcast:liveItem></channel><item><guid>ep-1</guid></item></rss>`,
			want: `<rss xmlns:x="urn:x" ` + ns + `><channel><x:item><guid>ep-1</guid></x:item><podcast:liveItem xmlns:podcast="https://podcastindex.org/namespace/1.0"><guid>ep-1</guid></podcast:liveItem></channel><item><guid>ep-1</guid></item></rss>`,
		},
		{
			name: "undefined entity, bare ampersand, invalid UTF-8, control character",
			in:   "<rss><channel><item><title>Q&A &gtgt; \xff\x0c</title><guid>ep-1</guid></item></channel></rss>",
			want: "<rss " + ns + "><channel><item><title>Q&A &gtgt; \xff\x0c</title><guid>ep-1</guid>" + oneLine("podcast", "", alt1) + "</item></channel></rss>",
		},
		{
			name: "Alternate with few fields",
			in:   `<rss><channel><item><guid>ep-1</guid><enclosure url="https://cdn.example/x.m4a" type="audio/mp4"/></item></channel></rss>`,
			alts: []Alternate{bare},
			want: `<rss ` + ns + `><channel><item><guid>ep-1</guid><enclosure url="https://cdn.example/x.m4a" type="audio/mp4"/>` +
				`<podcast:alternateEnclosure type="audio/mp4" title="BitTorrent"><podcast:source uri="https://cdn.example/x.m4a"/>` +
				`<podcast:source uri="https://podseed.example/t/aa.torrent" contentType="application/x-bittorrent"/></podcast:alternateEnclosure></item></channel></rss>`,
		},
		{
			name: "Atom is left alone",
			in:   `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>ep-1</id></entry></feed>`,
			want: `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>ep-1</id></entry></feed>`,
		},
		{
			name: "no alternates",
			in:   `<rss><channel><item><guid>ep-1</guid></item></channel></rss>`,
			alts: []Alternate{},
			want: `<rss ` + ns + `><channel><item><guid>ep-1</guid></item></channel></rss>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.alts
			if a == nil {
				a = alts
			}
			in := []byte(tt.in)
			got, err := RewriteFeed(in, a)
			if err != nil {
				t.Fatalf("RewriteFeed: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if string(in) != tt.in {
				t.Error("input modified")
			}
		})
	}
}

func TestRewriteFeedErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"no element", "just text"},
		{"truncated", `<rss><channel><item><guid>ep-1</guid>`},
		{"unbalanced", `<rss><channel></item></channel></rss>`},
		{"UTF-16", "\xff\xfe<\x00r\x00s\x00s\x00/\x00>\x00"},
		{"unsupported encoding", `<?xml version="1.0" encoding="EBCDIC-CP-US"?><rss/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RewriteFeed([]byte(tt.in), []Alternate{alt1})
			if err == nil {
				t.Fatalf("got %q, want an error", got)
			}
			if got != nil {
				t.Errorf("got %q with error, want nil", got)
			}
		})
	}
	_, err := RewriteFeed([]byte(`<rss><channel><item>`), nil)
	if _, ok := errors.AsType[*xml.SyntaxError](err); !ok {
		t.Errorf("truncated feed: got %v, want an *xml.SyntaxError", err)
	}
}

// TestRewriteFeedRelativeEnclosure: an item with no <guid> and a relative
// enclosure URL matches the Alternate whose EnclosureURL is that URL
// resolved against the feed URL, but only given WithBaseURL.
func TestRewriteFeedRelativeEnclosure(t *testing.T) {
	feed := []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>` +
		`<item><title>Episode</title><enclosure url="media/ep1.mp3" type="audio/mpeg"/></item></channel></rss>`)
	alts := []Alternate{{EnclosureURL: "https://example.com/podcast/media/ep1.mp3", Type: "audio/mpeg",
		Length: 10, TorrentURL: "http://seed.example/torrents/ab.torrent", InfoHash: "ab"}}
	tests := []struct {
		name string
		opts []Option
		want int
	}{
		{"without base", nil, 0},
		{"with base", []Option{WithBaseURL("https://example.com/podcast/feed.xml")}, 1},
		{"relative base ignored", []Option{WithBaseURL("/podcast/feed.xml")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := RewriteFeed(feed, alts, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Count(out, []byte("<podcast:alternateEnclosure ")); got != tt.want {
				t.Errorf("got %d alternate enclosures, want %d:\n%s", got, tt.want, out)
			}
		})
	}
}
