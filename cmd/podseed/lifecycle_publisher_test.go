package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
// podseed still offers its seeder: it announces the publisher's infohash,
// complete, to the publisher's tracker, and aria2c holding the publisher's
// torrent downloads it from podseed, found through that tracker, once the
// origin no longer serves the file or the torrent.
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
	// podseed joins the publisher's swarm: it announces the publisher's
	// infohash, as a seeder, to the publisher's tracker.
	port := uint16(a.Client().ListenPort())
	waitFor(t, 30*time.Second, "podseed to announce the publisher's torrent to the publisher's tracker", func() bool {
		for _, an := range o.announcesOf(goodIH) {
			if an.Addr.Port() == port && an.Left == 0 {
				return true
			}
		}
		return false
	})
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

	// A listener's client holding the publisher's torrent (the only one
	// the republished feed lists for good) downloads it from podseed, found
	// through the publisher's tracker, while the origin serves neither the
	// file (its web seed) nor the torrent any more.
	t.Run("aria2c from podseed via the publisher's tracker, origin's files gone", func(t *testing.T) {
		mustHaveBinary(t, "aria2c")
		o.setStatus("/videos/good-720.mp4", http.StatusServiceUnavailable)
		o.setStatus("/torrents/good-720.torrent", http.StatusServiceUnavailable)
		before := len(o.announcesOf(goodIH))
		out := t.TempDir()
		aria2cDownload(t, writeTemp(t, goodMI), out)
		if got, want := fileSHA256(t, filepath.Join(out, "good-720.mp4")), fileSHA256(t, tor.DataPath); got != want {
			t.Errorf("aria2c result SHA-256 %s, want %s", got, want)
		}
		if st, ok := a.Client().Stats(goodIH); !ok || st.BytesUploaded < int64(len(good)) {
			t.Errorf("podseed uploaded %d bytes of %d (%+v, %v): aria2c did not download from podseed",
				st.BytesUploaded, len(good), st, ok)
		}
		var leechers int
		for _, an := range o.announcesOf(goodIH)[before:] {
			if an.Addr.Port() != port {
				leechers++
			}
		}
		if leechers == 0 {
			t.Errorf("aria2c never announced to the publisher's tracker")
		}
	})
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// originAnnouncePath is the origin's BitTorrent tracker (PeerTube runs one
// at /tracker/announce next to its videos).
const originAnnouncePath = "/tracker/announce"

// originAnnounce is one announce the origin's tracker received.
type originAnnounce struct {
	PeerID string
	Addr   netip.AddrPort // the announcer's IP (as seen) and its port parameter
	Left   int64          // bytes the announcer still lacks; 0 for a seeder
	Event  string
}

// announce is a minimal HTTP tracker (BEP 3, BEP 23 compact IPv4 peers):
// it records the announce and answers every other peer that announced the
// same infohash, latest address per peer ID.
func (o *lifecycleOrigin) announce(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ih := q.Get("info_hash")
	port, perr := strconv.ParseUint(q.Get("port"), 10, 16)
	left, lerr := strconv.ParseInt(q.Get("left"), 10, 64)
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ip, ierr := netip.ParseAddr(host)
	if len(ih) != 20 || perr != nil || lerr != nil || ierr != nil {
		fmt.Fprint(w, "d14:failure reason11:bad requeste")
		return
	}
	a := originAnnounce{PeerID: q.Get("peer_id"), Addr: netip.AddrPortFrom(ip.Unmap(), uint16(port)),
		Left: left, Event: q.Get("event")}
	key := hex.EncodeToString([]byte(ih))
	o.mu.Lock()
	o.announces[key] = append(o.announces[key], a)
	latest := map[string]netip.AddrPort{}
	for _, b := range o.announces[key] {
		if b.PeerID != a.PeerID && b.Event != "stopped" {
			latest[b.PeerID] = b.Addr
		}
	}
	o.mu.Unlock()
	var peers []byte
	for _, ap := range latest {
		if ap.Addr().Is4() {
			peers = binary.BigEndian.AppendUint16(append(peers, ap.Addr().AsSlice()...), ap.Port())
		}
	}
	fmt.Fprintf(w, "d8:intervali60e5:peers%d:%se", len(peers), peers)
}

// announcesOf returns the announces the origin's tracker received for the
// hex infohash ih.
func (o *lifecycleOrigin) announcesOf(ih string) []originAnnounce {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.announces[ih])
}
