package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"
	"github.com/anacrolix/torrent/tracker/shared"
	"github.com/anacrolix/torrent/tracker/udp"
)

// TestOpenTracker: by default the built-in tracker refuses a torrent
// podseed does not publish, over HTTP and UDP, and leaves it out of
// scrapes; --open-tracker (or PODSEED_OPEN_TRACKER=true) makes it serve
// one. The configuration goes from the command line through Config to a
// running app, and the requests go over loopback.
func TestOpenTracker(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string // PODSEED_OPEN_TRACKER, if set
		open bool
	}{
		{name: "default", open: false},
		{name: "flag", args: []string{"--open-tracker"}, open: true},
		{name: "environment", env: "true", open: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("PODSEED_OPEN_TRACKER", tt.env)
			}
			var c cli
			parser, err := newParser(&c, kong.Exit(func(int) { t.Fatal("kong exited") }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parser.Parse(append([]string{"serve"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			cfg, err := c.Serve.config(c, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OpenTracker != tt.open {
				t.Fatalf("Config.OpenTracker: got %v, want %v", cfg.OpenTracker, tt.open)
			}
			cfg.DataDir, cfg.Listen, cfg.BTListenHost, cfg.BTPort, cfg.PollInterval = t.TempDir(), "127.0.0.1:0", "127.0.0.1", 0, time.Hour
			a, err := Open(t.Context(), cfg)
			if err != nil {
				t.Fatalf("open app: %v", err)
			}
			runCtx, cancel := context.WithCancel(context.Background())
			ra := &runningApp{App: a, cancel: cancel, done: make(chan error, 1)}
			go func() { ra.done <- a.Run(runCtx) }()
			t.Cleanup(func() { ra.stop(t) })

			// A torrent podseed has never heard of.
			ih := [20]byte{0xab, 0xcd, 'o', 'p', 'e', 'n'}
			peerID := [20]byte{'-', 'O', 'T', '0', '0', '0', '1', '-'}
			ctx, cancelReq := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancelReq()

			announceURL, err := url.Parse(a.URLs().Announce())
			if err != nil {
				t.Fatal(err)
			}
			hc := httpTracker.NewClient(announceURL, httpTracker.NewClientOpts{})
			defer hc.Close()
			resp, err := hc.Announce(ctx, httpTracker.AnnounceRequest{
				InfoHash: ih, PeerId: peerID, Port: 6881, Left: 1000, Event: shared.Started,
			}, httpTracker.AnnounceOpt{})
			switch {
			case tt.open && err != nil:
				t.Errorf("HTTP announce: got %v, want it served", err)
			case tt.open && (resp.Leechers != 1 || resp.Seeders != 0):
				t.Errorf("HTTP announce: got %d seeders and %d leechers, want 0 and 1", resp.Seeders, resp.Leechers)
			case !tt.open && (err == nil || !strings.Contains(err.Error(), "unregistered torrent")):
				t.Errorf("HTTP announce: got error %v, want unregistered torrent", err)
			}

			uc, err := udp.NewConnClient(udp.NewConnClientOpts{Network: "udp4", Host: a.udp.LocalAddr().String()})
			if err != nil {
				t.Fatal(err)
			}
			defer uc.Close()
			peerID[19] = 2
			h, _, err := uc.Announce(ctx, udp.AnnounceRequest{
				InfoHash: ih, PeerId: peerID, Left: 1000, Event: shared.Started, NumWant: -1, Port: 6882,
			}, udp.Options{})
			switch {
			case tt.open && err != nil:
				t.Errorf("UDP announce: got %v, want it served", err)
			case tt.open && (h.Leechers != 2 || h.Seeders != 0):
				t.Errorf("UDP announce: got %d seeders and %d leechers, want 0 and 2", h.Seeders, h.Leechers)
			case !tt.open && (err == nil || !strings.Contains(err.Error(), "unregistered torrent")):
				t.Errorf("UDP announce: got error %v, want unregistered torrent", err)
			}

			// The HTTP scrape lists the torrent only when the tracker is open.
			var scrape struct {
				Files map[string]struct {
					Incomplete int `bencode:"incomplete"`
				} `bencode:"files"`
			}
			body := httpGet(t, a.URLs().Base+"/scrape?info_hash="+url.QueryEscape(string(ih[:])))
			if err := bencode.Unmarshal(body, &scrape); err != nil {
				t.Fatalf("scrape reply %q: %v", body, err)
			}
			f, listed := scrape.Files[string(ih[:])]
			if listed != tt.open || len(scrape.Files) > 1 || (tt.open && f.Incomplete != 2) {
				got := map[string]int{} // hex infohash → leechers
				for k, v := range scrape.Files {
					got[fmt.Sprintf("%x", k)] = v.Incomplete
				}
				t.Errorf("scrape: got leechers by infohash %v; want %x listed (with 2 leechers): %v", got, ih, tt.open)
			}
		})
	}
}
