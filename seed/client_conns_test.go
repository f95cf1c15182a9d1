package seed

import (
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// connsLeecher starts an anacrolix client that knows only the seeder (no
// DHT, PEX or tracker) and downloads fx's torrent from it.
func connsLeecher(t *testing.T, fx btSeedFixture) *torrent.Torrent {
	t.Helper()
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = t.TempDir()
	cfg.NoDHT, cfg.DisablePEX, cfg.DisableIPv6 = true, true, true
	cfg.ListenHost = func(string) string { return "127.0.0.1" }
	cfg.ListenPort = 0
	cfg.NoDefaultPortForwarding = true
	cfg.DisableTrackers = true
	cfg.Seed = false
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	mi, err := metainfo.LoadFromFile(fx.torrentPath)
	if err != nil {
		t.Fatal(err)
	}
	tor, err := cl.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.DownloadAll()
	connsAddSeeder(tor, fx)
	return tor
}

// connsAddSeeder gives tor the seeder's address, as a tracker announce would.
func connsAddSeeder(tor *torrent.Torrent, fx btSeedFixture) {
	tor.AddPeers([]torrent.PeerInfo{{Addr: torrent.PeerRemoteAddr(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(fx.client.ListenPort()))), Trusted: true}})
}

// connsSampler records the most established connections the seeder had at
// any sample, from both ConnStats and the torrent's own count.
type connsSampler struct {
	mu          sync.Mutex
	maxCounted  int // ConnStats.Established
	maxActive   int // TorrentStats.ActivePeers
	stop, ended chan struct{}
}

func connsStartSampler(fx btSeedFixture) *connsSampler {
	s := &connsSampler{stop: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				cs := fx.client.ConnStats()
				st, _ := fx.client.Stats(fx.infoHash)
				s.mu.Lock()
				s.maxCounted = max(s.maxCounted, cs.Established)
				s.maxActive = max(s.maxActive, st.ActivePeers)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *connsSampler) end() (counted, active int) {
	close(s.stop)
	<-s.ended
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxCounted, s.maxActive
}

// TestClientMaxEstablishedConns checks the cap across torrents: with a cap
// of 2 and four anacrolix leechers (two per torrent) dialing the seeder, it
// never holds more than 2 established connections (sampled every 2 ms, and
// the high-water mark kept by the cap itself), refuses the others, and every
// leecher still completes once the first ones finish and leave.
func TestClientMaxEstablishedConns(t *testing.T) {
	const limit = 2
	// The upload limit keeps admitted leechers connected for a while, so
	// the others are refused rather than let in one after another.
	fx := limitMustSeed(t, 512<<10, ClientConfig{MaxEstablishedConns: limit, UploadRateLimit: 256 << 10})
	// A second torrent in the same client: the cap is across torrents.
	fx2 := connsSecondTorrent(t, fx)
	sampler := connsStartSampler(fx)
	var leechers []*torrent.Torrent
	fixtures := []btSeedFixture{fx, fx, fx2, fx2}
	for _, f := range fixtures {
		leechers = append(leechers, connsLeecher(t, f))
	}
	btWaitUntil(t, 60*time.Second, "two refused connections", func() bool {
		cs := fx.client.ConnStats()
		return cs.Refused >= 2 && cs.Established == limit
	})
	// A refused anacrolix leecher forgets the seeder; give the address
	// again, as its tracker's next announce would, until it gets in.
	for i, l := range leechers {
		btWaitUntil(t, 120*time.Second, "leecher to complete", func() bool {
			if l.Complete().Bool() {
				return true
			}
			connsAddSeeder(l, fixtures[i])
			return false
		})
	}
	counted, active := sampler.end()
	cs := fx.client.ConnStats()
	if counted > limit || active > limit || cs.Peak > limit {
		t.Errorf("established connections exceeded cap %d: sampled %d (torrent %d), peak %d", limit, counted, active, cs.Peak)
	}
	if cs.Peak != limit {
		t.Errorf("peak %d, want the cap %d reached", cs.Peak, limit)
	}
	if cs.Max != limit || cs.Refused < 2 {
		t.Errorf("conn stats %+v: want max %d and at least 2 refused", cs, limit)
	}
}

// TestClientMaxEstablishedConnsUnlimited checks that a cap of 0 refuses
// nothing: four leechers are all connected at once.
func TestClientMaxEstablishedConnsUnlimited(t *testing.T) {
	fx := limitMustSeed(t, 512<<10, ClientConfig{UploadRateLimit: 256 << 10})
	for range 4 {
		connsLeecher(t, fx)
	}
	btWaitUntil(t, 60*time.Second, "four established connections", func() bool {
		return fx.client.ConnStats().Peak >= 4
	})
	if cs := fx.client.ConnStats(); cs.Refused != 0 || cs.Max != 0 {
		t.Errorf("conn stats %+v: want nothing refused and no cap", cs)
	}
}

// connsSecondTorrent adds another random file to fx's client.
func connsSecondTorrent(t *testing.T, fx btSeedFixture) btSeedFixture {
	t.Helper()
	dir := t.TempDir()
	path := dir + "/ep2.mp3"
	btMustWriteRandomFile(t, path, fx.size)
	_, announce := btMustStartTracker(t)
	mi := btMustMakeTorrent(t, path, btPieceLength(fx.size), announce)
	torrentPath := dir + "/ep2.torrent"
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		t.Fatal(err)
	}
	ih, err := fx.client.AddTorrent(t.Context(), mi, path, true)
	if err != nil {
		t.Fatal(err)
	}
	return btSeedFixture{client: fx.client, infoHash: ih, torrentPath: torrentPath, dataPath: path, sha256: btFileSHA256(t, path), size: fx.size}
}

// TestConnCapPendingSlots: a slot taken at the handshake and never
// confirmed by PeerConnAdded (anacrolix v1.59.1 drops an outgoing
// connection whose peer answers with another infohash without
// PeerConnClosed) is given back after the pending timeout, so such
// handshakes cannot lock every peer out; a confirmed slot is kept until
// its connection closes.
func TestConnCapPendingSlots(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	k := &connCap{max: 2, logger: btTestLogger(t), pendingTimeout: 10 * time.Second, now: func() time.Time { return now }}
	k.install(&torrent.ClientConfig{})
	added, stray, late := &torrent.PeerConn{}, &torrent.PeerConn{}, &torrent.PeerConn{}
	if !k.admit(added) || !k.admit(stray) {
		t.Fatal("first two connections refused under a cap of 2")
	}
	k.added(added)
	if k.admit(late) {
		t.Fatal("third connection admitted at the cap")
	}
	now = now.Add(9 * time.Second)
	if k.admit(late) {
		t.Fatal("admitted before the stray's pending slot timed out")
	}
	now = now.Add(2 * time.Second)
	if !k.admit(late) {
		t.Fatal("refused after the stray's pending slot timed out: it was never given back")
	}
	now = now.Add(time.Hour)
	k.mu.Lock()
	k.sweepLocked()
	_, keptAdded := k.slots[added]
	_, keptLate := k.slots[late]
	k.mu.Unlock()
	if !keptAdded {
		t.Error("a slot confirmed by PeerConnAdded was given back by the timeout")
	}
	if keptLate {
		t.Error("a pending slot outlived its timeout")
	}
	k.release(added)
	if cs := (&Client{conns: k}).ConnStats(); cs.Established != 0 || cs.Refused != 2 || cs.Peak != 2 {
		t.Errorf("conn stats %+v: want 0 established, 2 refused, peak 2", cs)
	}
}
