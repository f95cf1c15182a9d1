package publish

// Republishing benchmarks (issue 6): RewriteFeed and TorrentFeed for a
// 3,000-item feed, with allocations. They assert nothing about time;
// bench/run reports them. Run with
//
//	go test -run '^$' -bench . -benchmem ./publish

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchFeed returns an RSS 2.0 podcast feed of n items and the Alternate
// podseed would have for each.
func benchFeed(n int) ([]byte, []Alternate) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel>
<title>Bench Show</title><link>https://show.example.com/</link>
<description>A synthetic show for benchmarks.</description>
`)
	alts := make([]Alternate, 0, n)
	for j := n; j >= 1; j-- {
		enc := fmt.Sprintf("https://cdn.example.com/show/episode-%d.mp3", j)
		fmt.Fprintf(&b, `  <item>
    <title>Episode %d</title>
    <guid isPermaLink="false">show-episode-%d</guid>
    <pubDate>%s</pubDate>
    <description><![CDATA[<p>Show notes for episode %d with <a href="https://example.com/a">a link</a>.</p>]]></description>
    <itunes:duration>3723</itunes:duration>
    <enclosure url="%s" length="52428800" type="audio/mpeg"/>
  </item>
`, j, j, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j)*24*time.Hour).Format(time.RFC1123Z), j, enc)
		ih := fmt.Sprintf("%040x", j)
		alts = append(alts, Alternate{
			GUID: fmt.Sprintf("show-episode-%d", j), EnclosureURL: enc, Type: "audio/mpeg", Length: 52428800,
			TorrentURL: "https://podseed.example.net/torrents/" + ih + ".torrent", TorrentLength: 2400,
			Magnet: "magnet:?xt=urn:btih:" + ih + "&dn=episode.mp3&tr=https%3A%2F%2Fpodseed.example.net%2Fannounce&ws=" +
				strings.ReplaceAll(enc, ":", "%3A"),
			InfoHash: ih, SRI: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
			Title: fmt.Sprintf("Episode %d", j), Published: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j) * 24 * time.Hour),
		})
	}
	b.WriteString("</channel>\n</rss>\n")
	return b.Bytes(), alts
}

// BenchmarkRewriteFeed3000 is RewriteFeed of a 3,000-item feed with an
// alternate enclosure for every item.
func BenchmarkRewriteFeed3000(b *testing.B) {
	feed, alts := benchFeed(3000)
	b.SetBytes(int64(len(feed)))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		var err error
		if out, err = RewriteFeed(feed, alts, WithBaseURL("https://show.example.com/feed.rss")); err != nil {
			b.Fatal(err)
		}
	}
	if got := bytes.Count(out, []byte("<podcast:alternateEnclosure ")); got != 3000 {
		b.Fatalf("got %d alternate enclosures, want 3000", got)
	}
	b.ReportMetric(float64(len(out)), "out-bytes")
}

// BenchmarkTorrentFeed3000 is TorrentFeed (the BEP 36 torrent feed) for
// 3,000 episodes.
func BenchmarkTorrentFeed3000(b *testing.B) {
	_, alts := benchFeed(3000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TorrentFeed(ChannelInfo{Title: "Bench Show", Link: "https://show.example.com/"}, alts); err != nil {
			b.Fatal(err)
		}
	}
}
