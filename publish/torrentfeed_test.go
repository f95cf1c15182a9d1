package publish

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestTorrentFeed(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2025, 2, d, 8, 30, 0, 0, time.FixedZone("CET", 3600)) }
	alts := []Alternate{
		{GUID: "ep-1", Title: "Episode 1", Published: day(1), InfoHash: "1111111111111111111111111111111111111111",
			TorrentURL: "https://podseed.example/t/1111111111111111111111111111111111111111.torrent", TorrentLength: 1234,
			Magnet: "magnet:?xt=urn:btih:1111111111111111111111111111111111111111&dn=ep1.mp3&tr=https%3A%2F%2Fpodseed.example%2Fannounce"},
		{GUID: "ep-3", Title: "Episode 3 <& friends>", Published: day(3), InfoHash: "3333333333333333333333333333333333333333",
			TorrentURL: "https://podseed.example/t/3333333333333333333333333333333333333333.torrent", TorrentLength: 3456,
			Magnet: "magnet:?xt=urn:btih:3333333333333333333333333333333333333333&dn=ep3.mp3"},
		{GUID: "ep-2", Published: day(2), InfoHash: "2222222222222222222222222222222222222222",
			TorrentURL: "https://podseed.example/t/2222222222222222222222222222222222222222.torrent", TorrentLength: 2345,
			Magnet: "magnet:?xt=urn:btih:2222222222222222222222222222222222222222"},
	}
	before := slices.Clone(alts)
	ch := ChannelInfo{Title: "Show & Tell (torrents)", Link: "https://podseed.example/feeds/1", Description: "Torrents of Show & Tell", Updated: day(4)}

	out, err := TorrentFeed(ch, alts)
	if err != nil {
		t.Fatalf("TorrentFeed: %v", err)
	}
	if !slices.EqualFunc(alts, before, func(a, b Alternate) bool { return a.GUID == b.GUID }) {
		t.Error("alts reordered")
	}
	if err := wellFormed(out); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, out)
	}
	checkXMLLint(t, out, out)

	f := mustParseFeed(t, out)
	if f.FeedType != "rss" {
		t.Errorf("feed type: got %q, want rss", f.FeedType)
	}
	if f.Title != ch.Title || f.Link != ch.Link || f.Description != ch.Description {
		t.Errorf("channel: got %q %q %q, want %q %q %q", f.Title, f.Link, f.Description, ch.Title, ch.Link, ch.Description)
	}
	if f.PublishedParsed == nil || !f.PublishedParsed.Equal(ch.Updated) {
		t.Errorf("channel pubDate: got %v, want %v", f.PublishedParsed, ch.Updated)
	}
	// No lastBuildDate: qBittorrent skips the items of a fetch whose
	// lastBuildDate equals the previous one (see ChannelInfo.Updated).
	if f.UpdatedParsed != nil || bytes.Contains(out, []byte("lastBuildDate")) {
		t.Errorf("channel has a lastBuildDate (%v)", f.UpdatedParsed)
	}
	want := []Alternate{alts[1], alts[2], alts[0]} // newest first
	if len(f.Items) != len(want) {
		t.Fatalf("items: got %d, want %d", len(f.Items), len(want))
	}
	for i, it := range f.Items {
		a := want[i]
		wantTitle := a.Title
		if wantTitle == "" {
			wantTitle = a.InfoHash
		}
		if it.Title != wantTitle {
			t.Errorf("item %d title: got %q, want %q", i, it.Title, wantTitle)
		}
		if it.GUID != a.InfoHash {
			t.Errorf("item %d guid: got %q, want %q", i, it.GUID, a.InfoHash)
		}
		if it.Link != a.TorrentURL {
			t.Errorf("item %d link: got %q, want %q", i, it.Link, a.TorrentURL)
		}
		if it.Description != a.Magnet {
			t.Errorf("item %d description: got %q, want %q", i, it.Description, a.Magnet)
		}
		if it.PublishedParsed == nil || !it.PublishedParsed.Equal(a.Published) {
			t.Errorf("item %d published: got %v, want %v", i, it.PublishedParsed, a.Published)
		}
		if len(it.Enclosures) != 1 {
			t.Fatalf("item %d enclosures: got %d, want 1", i, len(it.Enclosures))
		}
		enc := it.Enclosures[0]
		if enc.URL != a.TorrentURL || enc.Type != "application/x-bittorrent" || enc.Length != strconv.FormatInt(a.TorrentLength, 10) {
			t.Errorf("item %d enclosure: got %+v, want url %q type application/x-bittorrent length %d", i, enc, a.TorrentURL, a.TorrentLength)
		}
	}
}

func TestTorrentFeedEmpty(t *testing.T) {
	out, err := TorrentFeed(ChannelInfo{Title: "Empty", Link: "https://podseed.example/", Description: "nothing yet"}, nil)
	if err != nil {
		t.Fatalf("TorrentFeed: %v", err)
	}
	f := mustParseFeed(t, out)
	if len(f.Items) != 0 {
		t.Errorf("items: got %d, want 0", len(f.Items))
	}
}

func TestTorrentFeedErrors(t *testing.T) {
	tests := []struct {
		name string
		alt  Alternate
	}{
		{"no torrent url", Alternate{InfoHash: "aa"}},
		{"no infohash", Alternate{TorrentURL: "https://podseed.example/t/aa.torrent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := TorrentFeed(ChannelInfo{Title: "x"}, []Alternate{tt.alt}); err == nil {
				t.Errorf("got %s, want an error", out)
			}
		})
	}
}
