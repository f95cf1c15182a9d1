package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

func TestAddressGuard(t *testing.T) {
	tests := []struct {
		name  string
		guard addressGuard
		ip    string
		ok    bool
	}{
		{"public v4", addressGuard{}, "93.184.216.34", true},
		{"public v6", addressGuard{}, "2606:2800:220:1:248:1893:25c8:1946", true},
		{"loopback", addressGuard{}, "127.0.0.1", false},
		{"loopback other", addressGuard{}, "127.0.0.2", false},
		{"loopback v6", addressGuard{}, "::1", false},
		{"metadata", addressGuard{}, "169.254.169.254", false},
		{"rfc1918 10", addressGuard{}, "10.1.2.3", false},
		{"rfc1918 172", addressGuard{}, "172.16.0.1", false},
		{"rfc1918 192", addressGuard{}, "192.168.1.1", false},
		{"ula", addressGuard{}, "fd00:ec2::254", false},
		{"link-local v6", addressGuard{}, "fe80::1", false},
		{"unspecified", addressGuard{}, "0.0.0.0", false},
		{"cgnat", addressGuard{}, "100.64.1.1", false},
		{"mapped loopback", addressGuard{}, "::ffff:127.0.0.1", false},
		{"nat64", addressGuard{}, "64:ff9b::a00:1", false},
		{"multicast", addressGuard{}, "224.0.0.1", false},
		{"allow all", addressGuard{allowAll: true}, "127.0.0.1", true},
		{"allowed net", addressGuard{allow: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}}, "192.168.1.9", true},
		{"outside allowed net", addressGuard{allow: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}}, "192.168.2.9", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.check(netip.MustParseAddr(tt.ip))
			if got := err == nil; got != tt.ok {
				t.Fatalf("check(%s) = %v, want allowed %v", tt.ip, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("error %v does not wrap ErrForbiddenAddress", err)
			}
		})
	}
}

// TestSSRFGuardRefusesRedirects: a feed on an allowed address whose
// enclosures redirect to loopback (another address) and to the cloud
// metadata service gets those enclosures refused at dial time, while an
// ordinary enclosure is torrentified. The guard refuses before connect(2),
// so no packet leaves for 169.254.169.254.
func TestSSRFGuardRefusesRedirects(t *testing.T) {
	dir := t.TempDir()
	media := filepath.Join(dir, "ok.mp3")
	writeRandomFile(t, media, 300_000, 3)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>ok</title><guid>ok</guid><enclosure url="` + srv.URL + `/ok.mp3" length="300000" type="audio/mpeg"/></item>
<item><title>loop</title><guid>loop</guid><enclosure url="` + srv.URL + `/to-loopback.mp3" length="1" type="audio/mpeg"/></item>
<item><title>meta</title><guid>meta</guid><enclosure url="` + srv.URL + `/to-metadata.mp3" length="1" type="audio/mpeg"/></item>
</channel></rss>`))
		case "/ok.mp3":
			http.ServeFile(w, r, media)
		case "/to-loopback.mp3":
			port := srv.URL[strings.LastIndex(srv.URL, ":"):]
			http.Redirect(w, r, "http://127.0.0.2"+port+"/ok.mp3", http.StatusFound)
		case "/to-metadata.mp3":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	a, err := Open(ctx, Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1", PollInterval: time.Hour,
		AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f := mustAddAndIngest(t, a, srv.URL+"/feed.xml")
	eps, err := a.Store().ListEpisodesByFeed(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.EpisodeState{"ok": store.EpisodeReady, "loop": store.EpisodeFailed, "meta": store.EpisodeFailed}
	for _, e := range eps {
		if e.State != want[e.GUID] {
			t.Errorf("episode %s: state %s (%s), want %s", e.GUID, e.State, e.LastError, want[e.GUID])
		}
		if e.State == store.EpisodeFailed && !strings.Contains(e.LastError, "not a public address") {
			t.Errorf("episode %s: error %q, want the SSRF guard's refusal", e.GUID, e.LastError)
		}
	}
	if len(eps) != len(want) {
		t.Errorf("%d episodes, want %d", len(eps), len(want))
	}
	if entries, _ := os.ReadDir(filepath.Join(a.cfg.DataDir, "tmp")); len(entries) != 0 {
		t.Errorf("partial downloads left behind: %v", entries)
	}
}
