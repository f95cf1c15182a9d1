package feed

// Parsing benchmarks (issue 6): podseed's Parse against gofeed's own parse
// of the same bytes, on a synthetic 300-item podcast feed. They assert
// nothing about time; bench/run reports the ratio. Run with
//
//	go test -run '^$' -bench 'Parse300' -benchmem ./feed

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// benchFeed returns an RSS 2.0 podcast feed of n items, each like a real
// episode (title, guid, date, HTML show notes, iTunes fields, enclosure).
func benchFeed(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>Bench Show</title><link>https://show.example.com/</link>
<description>A synthetic show for benchmarks.</description><language>en</language>
<itunes:author>Bench</itunes:author><itunes:image href="https://show.example.com/cover.jpg"/>
<podcast:locked>no</podcast:locked><ttl>60</ttl>
`)
	for j := n; j >= 1; j-- {
		fmt.Fprintf(&b, `<item>
<title>Episode %d: a title of ordinary length</title>
<guid isPermaLink="false">show-episode-%d</guid>
<pubDate>%s</pubDate>
<link>https://show.example.com/episodes/%d</link>
<description><![CDATA[<p>Show notes for episode %d with <a href="https://example.com/a">a link</a>, <b>chapters</b> and credits.</p>]]></description>
<itunes:duration>01:02:03</itunes:duration><itunes:episode>%d</itunes:episode><itunes:explicit>false</itunes:explicit>
<enclosure url="https://cdn.example.com/show/episode-%d.mp3" length="52428800" type="audio/mpeg"/>
</item>
`, j, j, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j)*24*time.Hour).Format(time.RFC1123Z), j, j, j, j)
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}

// BenchmarkParse300 is feed.Parse of a 300-item feed.
func BenchmarkParse300(b *testing.B) {
	body := benchFeed(300)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(body, "https://show.example.com/feed.rss")
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Episodes) != 300 {
			b.Fatalf("got %d episodes, want 300", len(f.Episodes))
		}
	}
}

// BenchmarkParse300Gofeed is gofeed's own parse (default parser) of the
// same feed: the floor Parse builds on.
func BenchmarkParse300Gofeed(b *testing.B) {
	body := benchFeed(300)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Items) != 300 {
			b.Fatalf("got %d items, want 300", len(f.Items))
		}
	}
}
