package seed

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// trkSelfSeeds is a mutable set of infohashes for TrackerConfig.SelfSeeds.
type trkSelfSeeds struct {
	mu  sync.Mutex
	set map[[20]byte]bool
}

func (s *trkSelfSeeds) seeds(ih [20]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[ih]
}

func (s *trkSelfSeeds) drop(ih [20]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.set, ih)
}

// TestTrackerSelfListedBeforeItsAnnounce: once the own client has
// announced one torrent, the tracker lists it as a seeder of every other
// torrent it seeds, at the address that announce came from, in announce
// replies, HTTP scrapes and Scrape; never for torrents it does not seed,
// never twice, and not after it stopped one it no longer seeds.
func TestTrackerSelfListedBeforeItsAnnounce(t *testing.T) {
	ih3 := [20]byte{3}
	ih4 := [20]byte{4}
	self := trkPeerID(100)
	seeds := &trkSelfSeeds{set: map[[20]byte]bool{trkIH1: true, trkIH2: true, ih4: true}}
	now := time.Unix(1_700_000_000, 0)
	tr := NewTracker(TrackerConfig{
		Interval: time.Minute, SelfPeerID: self, SelfSeeds: seeds.seeds,
		// This host's addresses in the test: 192.0.2.9 and 2001:db8::9.
		SelfHost: func(a netip.Addr) bool {
			return a == netip.MustParseAddr("192.0.2.9") || a == netip.MustParseAddr("2001:db8::9")
		},
		Now: func() time.Time { return now },
	})
	leecher := trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "5", event: "started"}

	// Where the own client is reached is unknown until it announces.
	if got := trkCompactPeers(t, trkMustAnnounce(t, tr, leecher)["peers"], 6); len(got) != 0 {
		t.Errorf("peers before the own client announced anything: got %v, want none", got)
	}
	if got, want := tr.Scrape(btHex(trkIH2)), (SwarmCounts{Leechers: 1}); got != want {
		t.Errorf("scrape before the own client announced: got %+v, want %+v", got, want)
	}

	// It announces trkIH1 only; trkIH2 now lists it too.
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: self, remote: "192.0.2.9:40000", port: 7000, left: "0", event: "started"})
	selfAddr := netip.MustParseAddrPort("192.0.2.9:7000")
	reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "5"})
	if got := trkCompactPeers(t, reply["peers"], 6); !slices.Equal(got, []netip.AddrPort{selfAddr}) {
		t.Errorf("peers of a torrent the own client seeds but did not announce: got %v, want [%v]", got, selfAddr)
	}
	if c, i := trkInt(t, reply, "complete"), trkInt(t, reply, "incomplete"); c != 1 || i != 1 {
		t.Errorf("complete/incomplete: got %d/%d, want 1/1", c, i)
	}
	scrape := trkDo(t, tr.ServeScrape, "/scrape?info_hash="+url.QueryEscape(string(trkIH2[:])), "192.0.2.1:1")
	files, _ := scrape["files"].(map[string]any)
	f, _ := files[string(trkIH2[:])].(map[string]any)
	if f["complete"] != int64(1) || f["incomplete"] != int64(1) {
		t.Errorf("HTTP scrape of trkIH2: got %v, want complete 1, incomplete 1", f)
	}
	// A remote peer announcing with the own client's peer ID (peer IDs are
	// seen in every handshake) does not move where the own client is
	// listed: only announces from this host do.
	trkMustAnnounce(t, tr, trkAnnounce{ih: [20]byte{5}, peerID: self, remote: "198.51.100.7:40000", port: 6666, left: "0", event: "started"})
	reply = trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "5"})
	if got := trkCompactPeers(t, reply["peers"], 6); !slices.Equal(got, []netip.AddrPort{selfAddr}) {
		t.Errorf("peers after a remote announce with the own peer ID: got %v, want [%v]", got, selfAddr)
	}
	// A torrent never announced by anyone counts the own client too.
	if got, want := tr.Scrape(btHex(ih4)), (SwarmCounts{Seeders: 1}); got != want {
		t.Errorf("scrape of a seeded torrent nobody announced: got %+v, want %+v", got, want)
	}
	// Not a torrent it does not seed.
	other := trkAnnounce{ih: ih3, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "5"}
	if got := trkCompactPeers(t, trkMustAnnounce(t, tr, other)["peers"], 6); len(got) != 0 {
		t.Errorf("peers of a torrent the own client does not seed: got %v, want none", got)
	}
	if got, want := tr.Scrape(btHex(ih3)), (SwarmCounts{Leechers: 1}); got != want {
		t.Errorf("scrape of a torrent the own client does not seed: got %+v, want %+v", got, want)
	}

	// Its own announce of trkIH2 later is the same peer, not a second
	// seeder, and no download is counted.
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: self, remote: "192.0.2.9:40001", port: 7000, left: "0", event: "started"})
	if got, want := tr.Scrape(btHex(trkIH2)), (SwarmCounts{Seeders: 1, Leechers: 1}); got != want {
		t.Errorf("scrape after the own client's announce: got %+v, want %+v", got, want)
	}

	// Over IPv6 as well: a new leecher of a seeded torrent gets both.
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: self, remote: "[2001:db8::9]:40000", port: 7000, left: "0"})
	reply = trkMustAnnounce(t, tr, trkAnnounce{ih: ih4, peerID: trkPeerID(3), remote: "192.0.2.3:1", left: "5"})
	if got := trkCompactPeers(t, reply["peers"], 6); !slices.Equal(got, []netip.AddrPort{selfAddr}) {
		t.Errorf("IPv4 peers: got %v, want [%v]", got, selfAddr)
	}
	want6 := netip.MustParseAddrPort("[2001:db8::9]:7000")
	if got := trkCompactPeers(t, reply["peers6"], 18); !slices.Equal(got, []netip.AddrPort{want6}) {
		t.Errorf("IPv6 peers: got %v, want [%v]", got, want6)
	}

	// Dropped: it no longer seeds trkIH2 and says stopped (over both
	// families, as a dual-stack client does).
	seeds.drop(trkIH2)
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: self, remote: "192.0.2.9:40002", port: 7000, left: "0", event: "stopped"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: self, remote: "[2001:db8::9]:40002", port: 7000, left: "0", event: "stopped"})
	reply = trkMustAnnounce(t, tr, leecher)
	if got := trkCompactPeers(t, reply["peers"], 6); len(got) != 0 {
		t.Errorf("peers after the own client stopped a torrent it dropped: got %v, want none", got)
	}
	if got, want := tr.Scrape(btHex(trkIH2)), (SwarmCounts{Leechers: 1}); got != want {
		t.Errorf("scrape after the drop: got %+v, want %+v", got, want)
	}

	// Its entries expire like any announce, and come back while it seeds:
	// one per address family, as its own announces over both would give.
	now = now.Add(2*time.Minute + time.Second)
	if got, want := tr.Scrape(btHex(trkIH1)), (SwarmCounts{Seeders: 2}); got != want {
		t.Errorf("scrape of trkIH1 after every announce expired: got %+v, want %+v", got, want)
	}
	if got := tr.CompletedChanges(); len(got) != 0 {
		t.Errorf("completed changes: got %v, want none (listing the own client is no download)", got)
	}
}

// TestTrackerSelfListedAria2c: aria2c downloads a torrent that podseed's
// client seeds but never announces (its metainfo in the client has no
// tracker), because the tracker lists the client at the address its
// announce of another torrent came from. Without SelfSeeds aria2c would
// get no peer and stop after --bt-stop-timeout with nothing.
func TestTrackerSelfListedAria2c(t *testing.T) {
	btRequireBinary(t, "aria2c")
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	pathA, pathB := filepath.Join(files, "episode-a.mp3"), filepath.Join(files, "episode-b.mp3")
	const size = 256 << 10
	btMustWriteRandomFile(t, pathA, size)
	btMustWriteRandomFile(t, pathB, size)

	c := btMustNewClient(t, dir)
	seeds := &trkSelfSeeds{set: map[[20]byte]bool{}}
	tr := NewTracker(TrackerConfig{
		Interval: time.Minute, SelfPeerID: c.PeerID(), SelfSeeds: seeds.seeds, Logger: btTestLogger(t),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /announce", tr.ServeAnnounce)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	announce := srv.URL + "/announce"

	miA := btMustMakeTorrent(t, pathA, btPieceLength(size), announce)
	miB := btMustMakeTorrent(t, pathB, btPieceLength(size), "") // the client never announces it
	ihA, ihB := btInfoHash(t, miA), btInfoHash(t, miB)
	for _, ih := range []string{ihA, ihB} {
		seeds.set[btRaw(t, ih)] = true // before AddTorrent, as the client's announce may come at once
	}
	for _, tor := range []struct {
		mi   []byte
		path string
	}{{miA, pathA}, {miB, pathB}} {
		if _, err := c.AddTorrent(t.Context(), tor.mi, tor.path, true); err != nil {
			t.Fatal(err)
		}
	}
	btWaitUntil(t, time.Minute, "the client's announce of torrent A", func() bool {
		return tr.Scrape(ihA).Seeders == 1
	})
	if got, want := tr.Scrape(ihB), (SwarmCounts{Seeders: 1}); got != want {
		t.Fatalf("scrape of torrent B, which the client never announced: got %+v, want %+v", got, want)
	}

	// aria2c gets B's metainfo with the tracker in it.
	torrentB := filepath.Join(dir, "episode-b.torrent")
	if err := os.WriteFile(torrentB, btMustMakeTorrent(t, pathB, btPieceLength(size), announce), 0o644); err != nil {
		t.Fatal(err)
	}
	fx := btSeedFixture{client: c, tracker: tr, infoHash: ihB, torrentPath: torrentB, dataPath: pathB, sha256: btFileSHA256(t, pathB), size: size}
	res := clientAria2cDownload(t, fx, 2*time.Minute)
	if h := btFileSHA256(t, res.path); h != fx.sha256 {
		t.Fatalf("downloaded sha256: got %q, want %s", h, fx.sha256)
	}
}

// btHex is the lower-case hex of a 20-byte infohash.
func btHex(ih [20]byte) string { return hex.EncodeToString(ih[:]) }

// btRaw decodes a 40-digit hex infohash.
func btRaw(tb testing.TB, ih string) [20]byte {
	tb.Helper()
	b, err := hex.DecodeString(ih)
	if err != nil || len(b) != 20 {
		tb.Fatalf("infohash %q: %v", ih, err)
	}
	return [20]byte(b)
}
