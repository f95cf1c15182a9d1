package seed

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// limitMustSeed seeds a random file of size bytes from a Client made with
// cfg (DataDir, ListenHost, DisableDHT and Logger are filled in).
func limitMustSeed(t *testing.T, size int64, cfg ClientConfig) btSeedFixture {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ep.mp3")
	btMustWriteRandomFile(t, path, size)
	tr, announce := btMustStartTracker(t)
	mi := btMustMakeTorrent(t, path, btPieceLength(size), announce)
	torrentPath := filepath.Join(dir, "ep.torrent")
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.ListenHost, cfg.DisableDHT, cfg.Logger = dir, "127.0.0.1", true, btTestLogger(t)
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	ih, err := c.AddTorrent(t.Context(), mi, path, true)
	if err != nil {
		t.Fatal(err)
	}
	return btSeedFixture{client: c, tracker: tr, infoHash: ih, torrentPath: torrentPath, dataPath: path, sha256: btFileSHA256(t, path), size: size}
}

// TestClientTorrentUploadRateLimit checks the per-torrent limiter is wired
// without timing it: aria2c still completes, and every byte it got was
// read through the torrent's limiter.
func TestClientTorrentUploadRateLimit(t *testing.T) {
	const size = 4 << 20
	fx := limitMustSeed(t, size, ClientConfig{TorrentUploadRateLimit: 8 << 20, UploadRateLimit: 16 << 20})
	res := clientAria2cDownload(t, fx, 2*time.Minute)
	if h := btFileSHA256(t, res.path); h != fx.sha256 {
		t.Fatalf("downloaded sha256: got %s, want %s", h, fx.sha256)
	}
	if got := fx.client.throttledBytes.Load(); got < size {
		t.Errorf("bytes read through the per-torrent limiter: got %d, want >= %d", got, size)
	}
	if got := fx.client.upload.Limit(); got != rate.Limit(16<<20) {
		t.Errorf("global upload limit: got %v, want %v", got, rate.Limit(16<<20))
	}
	if g, pt := fx.client.UploadRateLimits(); g != 16<<20 || pt != 8<<20 {
		t.Errorf("UploadRateLimits: got %d, %d; want %d, %d", g, pt, 16<<20, 8<<20)
	}
}

// TestClientTorrentUploadUnlimited: without a per-torrent limit, peer reads
// bypass the limiter entirely.
func TestClientTorrentUploadUnlimited(t *testing.T) {
	const size = 1 << 20
	fx := limitMustSeed(t, size, ClientConfig{})
	res := clientAria2cDownload(t, fx, 2*time.Minute)
	if h := btFileSHA256(t, res.path); h != fx.sha256 {
		t.Fatalf("downloaded sha256: got %s, want %s", h, fx.sha256)
	}
	if got := fx.client.throttledBytes.Load(); got != 0 {
		t.Errorf("bytes read through a per-torrent limiter: got %d, want 0", got)
	}
	if fx.client.upload != nil {
		t.Errorf("global upload limiter: got %v, want none", fx.client.upload.Limit())
	}
	if g, pt := fx.client.UploadRateLimits(); g != 0 || pt != 0 {
		t.Errorf("UploadRateLimits: got %d, %d; want 0, 0", g, pt)
	}
}

// TestClientConnectionCaps checks that the per-torrent connection cap
// reaches anacrolix's torrents (SetMaxEstablishedConns returns the cap in
// force), and that a zero keeps anacrolix's default.
func TestClientConnectionCaps(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClientConfig
		want int
	}{
		{"configured", ClientConfig{EstablishedConnsPerTorrent: 7, HalfOpenConnsPerTorrent: 3, TotalHalfOpenConns: 9}, 7},
		{"default", ClientConfig{}, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := limitMustSeed(t, 64<<10, tt.cfg)
			var ih metainfo.Hash
			if err := ih.FromHexString(fx.infoHash); err != nil {
				t.Fatal(err)
			}
			tor, ok := fx.client.cl.Torrent(ih)
			if !ok {
				t.Fatal("torrent not in client")
			}
			if got := tor.SetMaxEstablishedConns(tt.want); got != tt.want {
				t.Errorf("established conns per torrent: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestClientConfigLimitsInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClientConfig
	}{
		{"negative per-torrent rate", ClientConfig{TorrentUploadRateLimit: -1}},
		{"negative established", ClientConfig{EstablishedConnsPerTorrent: -1}},
		{"negative half-open per torrent", ClientConfig{HalfOpenConnsPerTorrent: -1}},
		{"negative half-open", ClientConfig{TotalHalfOpenConns: -1}},
		{"negative established cap", ClientConfig{MaxEstablishedConns: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir, tt.cfg.ListenHost, tt.cfg.DisableDHT = t.TempDir(), "127.0.0.1", true
			c, err := NewClient(tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("got nil error, want one")
			}
		})
	}
}
