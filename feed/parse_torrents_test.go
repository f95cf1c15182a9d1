package feed

import (
	"os"
	"testing"
)

func TestParsePublisherTorrent(t *testing.T) {
	body, err := os.ReadFile("testdata/partytime-fixtures/natube-test.xml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(body, "https://noagendatube.com/feeds/podcast/videos.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"https://noagendatube.com/w/8d581e1f-1cf4-4e67-95f2-8fd4c1029009": "https://noagendatube.com/lazy-static/torrents/8d581e1f-1cf4-4e67-95f2-8fd4c1029009-2160.torrent",
		"https://noagendatube.com/w/cb913fd5-4fcc-4100-92e0-86f8fec957b0": "https://noagendatube.com/lazy-static/torrents/cb913fd5-4fcc-4100-92e0-86f8fec957b0-2160.torrent",
	}
	seen := 0
	for _, e := range f.Episodes {
		w, ok := want[e.GUID]
		if !ok {
			continue
		}
		seen++
		if e.PublisherTorrent != w {
			t.Errorf("%s: publisher torrent %q, want %q", e.GUID, e.PublisherTorrent, w)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d items checked", seen, len(want))
	}

	tests := []struct {
		name, item, wantURL, wantTorrent string
		omitted                          bool
	}{
		{name: "torrent-only enclosure is not an episode", omitted: true,
			item: `<item><guid>a</guid><enclosure url="https://pt.example/a.torrent" type="application/x-bittorrent" length="9"/></item>`},
		{name: "media wins over a torrent enclosure listed first", wantURL: "https://pt.example/b.mp4",
			item: `<item><guid>b</guid><enclosure url="https://pt.example/b.torrent" type="application/x-bittorrent"/><enclosure url="https://pt.example/b.mp4" type="video/mp4"/></item>`},
		{name: "current namespace, relative torrent", wantURL: "https://pt.example/c.mp3", wantTorrent: "https://pt.example/t/c.torrent",
			item: `<item><guid>c</guid><enclosure url="https://pt.example/c.mp3" type="audio/mpeg"/><podcast:alternateEnclosure type="audio/mpeg"><podcast:source uri="https://pt.example/c.mp3"/><podcast:source uri="/t/c.torrent" contentType="application/x-bittorrent"/></podcast:alternateEnclosure></item>`},
		{name: "torrent of another file does not count", wantURL: "https://pt.example/d.mp3",
			item: `<item><guid>d</guid><enclosure url="https://pt.example/d.mp3" type="audio/mpeg"/><podcast:alternateEnclosure type="audio/opus"><podcast:source uri="https://pt.example/d.opus"/><podcast:source uri="https://pt.example/d-opus.torrent" contentType="application/x-bittorrent"/></podcast:alternateEnclosure></item>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>x</title>` + tt.item + `</channel></rss>`
			f, err := Parse([]byte(doc), "https://pt.example/feed.xml")
			if err != nil {
				t.Fatal(err)
			}
			if tt.omitted {
				if len(f.Episodes) != 0 {
					t.Errorf("got %+v, want no episode", f.Episodes)
				}
				return
			}
			if len(f.Episodes) != 1 || f.Episodes[0].Enclosure.URL != tt.wantURL || f.Episodes[0].PublisherTorrent != tt.wantTorrent {
				t.Errorf("got %+v, want enclosure %s, publisher torrent %q", f.Episodes, tt.wantURL, tt.wantTorrent)
			}
		})
	}
}
