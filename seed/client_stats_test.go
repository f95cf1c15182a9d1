package seed

import (
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

func TestPieceAvailability(t *testing.T) {
	tests := []struct {
		name string
		have []int
		want float64
	}{
		{"no pieces", nil, 0},
		{"no peers", []int{0, 0, 0}, 0},
		{"half the pieces on one peer", []int{1, 0, 1, 0}, 0.5},
		{"one full copy", []int{1, 1, 1}, 1},
		{"two copies and a quarter", []int{2, 3, 2, 2}, 2.25},
		{"min in the middle", []int{5, 1, 4, 1}, 1.5},
		{"negative counts are zero", []int{-1, 1}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PieceAvailability(tt.have); got != tt.want {
				t.Errorf("PieceAvailability(%v) = %v, want %v", tt.have, got, tt.want)
			}
		})
	}
}

// TestClientStatsAvailability seeds a file and lets a plain anacrolix
// leecher fetch half its pieces, then all but one: the seeder's
// Availability follows the leecher's bitfield (0.5, then 63/64), drops to 0
// when it leaves, and no byte comes from a web seed.
func TestClientStatsAvailability(t *testing.T) {
	const size = 64 * 16 << 10 // 64 pieces of 16 KiB
	fx := btMustSeed(t, size)

	cfg := torrent.NewDefaultClientConfig()
	cfg.ListenHost = func(string) string { return "127.0.0.1" }
	cfg.ListenPort = 0
	cfg.NoDHT = true
	cfg.DisableIPv6 = true
	cfg.DisablePEX = true
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{ClientBaseDir: t.TempDir()})
	cfg.Seed = false
	leecher, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leecher.Close() })
	mi, err := metainfo.LoadFromFile(fx.torrentPath)
	if err != nil {
		t.Fatal(err)
	}
	mi.AnnounceList, mi.Announce = nil, "" // only the peer added below
	lt, err := leecher.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	pieces := lt.NumPieces()
	if pieces != 64 {
		t.Fatalf("got %d pieces, want 64", pieces)
	}
	lt.DownloadPieces(0, pieces/2)
	dialLeecher := func() {
		if err := fx.client.AddPeers(fx.infoHash, []netip.AddrPort{
			netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(leecher.LocalPort())),
		}); err != nil {
			t.Fatal(err)
		}
	}
	dialLeecher()

	availability := func(want float64) func() bool {
		return func() bool {
			st, _ := fx.client.Stats(fx.infoHash)
			if st.ActivePeers == 0 {
				// A leecher with all the pieces it wants and a seeder are
				// not interested in each other, and anacrolix may close
				// such a connection before a slow (-race) poll sees it:
				// dial again; the leecher's bitfield is what counts.
				dialLeecher()
			}
			return st.ActivePeers == 1 && st.Availability == want
		}
	}
	btWaitUntil(t, time.Minute, "availability 0.5 with half the pieces on the leecher", availability(0.5))
	lt.DownloadPieces(0, pieces-1)
	btWaitUntil(t, time.Minute, "availability 63/64 with all but the last piece on the leecher", availability(63.0/64))
	// A complete leecher and podseed are both seeds and part (anacrolix
	// drops seed-to-seed connections), so the figure is about leechers.
	leecher.Close()
	btWaitUntil(t, time.Minute, "availability 0 without peers", func() bool {
		st, _ := fx.client.Stats(fx.infoHash)
		return st.ActivePeers == 0 && st.Availability == 0
	})
	st, _ := fx.client.Stats(fx.infoHash)
	if st.WebSeedBytes != 0 {
		t.Errorf("WebSeedBytes: got %d, want 0", st.WebSeedBytes)
	}
	if want := int64(size - 16<<10); st.BytesUploaded < want {
		t.Errorf("BytesUploaded: got %d, want ≥ %d", st.BytesUploaded, want)
	}
}
