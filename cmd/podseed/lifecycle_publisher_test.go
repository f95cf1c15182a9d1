package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// peertubeItem is an item shaped like PeerTube's podcast feed
// (server/core/controllers/feeds/video-podcast-feeds.ts; see also
// testdata/realfeeds/partytime-fixtures/natube-test.xml): the file as
// enclosure and, in a podcast:alternateEnclosure, the same file next to
// the publisher's .torrent.
func peertubeItem(guid, file, torrent string) string {
	return `<item><title>` + guid + `</title><guid>` + guid + `</guid>
<enclosure type="video/mp4" url="%s` + file + `" length="0"></enclosure>
<podcast:alternateEnclosure type="video/mp4" length="0" title="720p" default="true">
<podcast:source uri="%s` + file + `"></podcast:source>
<podcast:source uri="%s` + torrent + `" contentType="application/x-bittorrent"></podcast:source>
</podcast:alternateEnclosure></item>`
}

// TestPublisherTorrent: an item that carries the publisher's own torrent
// of its enclosure gets no second torrent: podseed downloads the file,
// verifies the publisher's pieces against it, and seeds and records that
// torrent (same infohash), keeps the publisher's alternate enclosure as the
// only one in the republished feed, and lists it in the torrent feed. A
// publisher torrent of other bytes is not adopted: podseed makes its own.
func TestPublisherTorrent(t *testing.T) {
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	good, bad := randomBytes(t, 700_001, 11), randomBytes(t, 300_000, 12)
	o.setFile("/videos/good-720.mp4", good, "")
	o.setFile("/videos/bad-720.mp4", bad, "")
	// The publisher's torrents, as PeerTube makes them: another name, its
	// own piece length, its web seed and tracker.
	mk := func(data []byte, name string) ([]byte, string) {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mi, ih, err := seed.BuildMetainfo(p, seed.MetainfoOptions{
			Name: name, PieceLength: 64 << 10, WebSeeds: []string{o.URL("/videos/" + name)},
			AnnounceList: [][]string{{o.URL("/tracker/announce")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return mi, ih
	}
	goodMI, goodIH := mk(good, "good-720.mp4")
	badMI, _ := mk(randomBytes(t, 300_000, 13), "bad-720.mp4") // not the file served
	o.setFile("/torrents/good-720.torrent", goodMI, "")
	o.setFile("/torrents/bad-720.torrent", badMI, "")
	o.setItems(peertubeItem("good", "/videos/good-720.mp4", "/torrents/good-720.torrent"),
		peertubeItem("bad", "/videos/bad-720.mp4", "/torrents/bad-720.torrent"))

	a, _ := openLifecycleApp(t, "")
	f := mustAddAndIngest(t, a, o.URL("/feed.xml"))

	ge, be := mustEpisodeByGUID(t, a, f.ID, "good"), mustEpisodeByGUID(t, a, f.ID, "bad")
	if ge.State != store.EpisodeReady || be.State != store.EpisodeReady {
		t.Fatalf("episodes %+v, %+v, want both ready", ge, be)
	}
	if ge.PublisherTorrentURL != o.URL("/torrents/good-720.torrent") {
		t.Errorf("publisher torrent url %q", ge.PublisherTorrentURL)
	}
	if ge.InfoHash != goodIH {
		t.Errorf("good: infohash %s, want the publisher's %s", ge.InfoHash, goodIH)
	}
	tor, err := a.Store().FindTorrentByInfoHash(ctx, ge.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if tor.PublisherURL == "" || tor.PieceLength != 64<<10 || filepath.Base(filepath.Dir(tor.DataPath)) != goodIH {
		t.Errorf("good: torrent %+v, want the publisher's, data in files/%s/", tor, goodIH)
	}
	if fileSHA256(t, tor.DataPath) != fileSHA256(t, writeTemp(t, good)) {
		t.Errorf("good: stored file differs from the enclosure")
	}
	if st, ok := a.Client().Stats(goodIH); !ok || !st.Complete {
		t.Errorf("good: publisher torrent not seeded complete: %+v, %v", st, ok)
	}
	badTor, err := a.Store().FindTorrentByInfoHash(ctx, be.InfoHash)
	if err != nil || badTor.PublisherURL != "" {
		t.Errorf("bad: torrent %+v, %v, want podseed's own", badTor, err)
	}

	raw := mustServeApp(t, a, "/torrents/"+goodIH+".torrent")
	mi, err := metainfo.Load(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var trackers []string
	for _, tier := range mi.UpvertedAnnounceList() {
		trackers = append(trackers, tier...)
	}
	if mi.HashInfoBytes().HexString() != goodIH || !strings.Contains(strings.Join(trackers, " "), a.urls.Announce()) ||
		!strings.Contains(strings.Join(trackers, " "), o.URL("/tracker/announce")) {
		t.Errorf("served publisher torrent: infohash %s, trackers %v; want %s with podseed's and the publisher's trackers",
			mi.HashInfoBytes().HexString(), trackers, goodIH)
	}

	rss := string(mustServeApp(t, a, fmt.Sprintf("/feeds/%d.rss", f.ID)))
	if n := strings.Count(rss, "<podcast:alternateEnclosure"); n != 3 {
		t.Errorf("republished feed has %d alternate enclosures, want 3 (the publisher's two, podseed's one for bad)", n)
	}
	if strings.Contains(rss, a.urls.Torrent(goodIH)) || !strings.Contains(rss, a.urls.Torrent(be.InfoHash)) {
		t.Errorf("republished feed: want no podseed alternate for good, one for bad:\n%s", rss)
	}
	tf := string(mustServeApp(t, a, fmt.Sprintf("/feeds/%d/torrents.rss", f.ID)))
	if !strings.Contains(tf, a.urls.Torrent(goodIH)) || !strings.Contains(tf, a.urls.Torrent(be.InfoHash)) {
		t.Errorf("torrent feed lacks a torrent:\n%s", tf)
	}
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
