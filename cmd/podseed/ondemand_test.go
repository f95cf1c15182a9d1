package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// onDemandOrigin serves a feed of three episodes, newest first: "new" and
// "mid" stable, "old" with bytes that change per request (its web seed is
// withheld). It counts the Range GETs of mid.mp3.
type onDemandOrigin struct {
	srv   *httptest.Server
	files map[string]string // name → local path

	mu        sync.Mutex
	midRanges int // GETs of /mid.mp3 with a Range header
	midWhole  int // GETs of /mid.mp3 without one
}

func newOnDemandOrigin(t *testing.T) *onDemandOrigin {
	t.Helper()
	dir := t.TempDir()
	o := &onDemandOrigin{files: map[string]string{}}
	for i, name := range []string{"new", "mid", "old"} {
		p := filepath.Join(dir, name+".mp3")
		writeRandomFile(t, p, 1<<20+int64(i)*1000, uint64(60+i))
		o.files[name] = p
	}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		item := func(name, date string) string {
			return `<item><title>` + name + `</title><guid>` + name + `</guid><pubDate>` + date + `</pubDate><enclosure url="` +
				o.srv.URL + `/` + name + `.mp3" length="0" type="audio/mpeg"/></item>`
		}
		switch name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".mp3"); name {
		case "feed.xml":
			_, _ = io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>on demand</title>`+
				item("new", "Wed, 03 Sep 2025 10:00:00 GMT")+item("mid", "Tue, 02 Sep 2025 10:00:00 GMT")+
				item("old", "Mon, 01 Sep 2025 10:00:00 GMT")+`</channel></rss>`)
		case "new", "mid":
			if name == "mid" && r.Method == http.MethodGet {
				o.mu.Lock()
				if r.Header.Get("Range") != "" {
					o.midRanges++
				} else {
					o.midWhole++
				}
				o.mu.Unlock()
			}
			http.ServeFile(w, r, o.files[name])
		case "old":
			body, err := os.ReadFile(o.files[name])
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ad := make([]byte, 4096)
			_, _ = rand.Read(ad)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(append(ad, body...)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// midCounts returns and resets the counts of mid.mp3 GETs.
func (o *onDemandOrigin) midCounts() (ranges, whole int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ranges, whole = o.midRanges, o.midWhole
	o.midRanges, o.midWhole = 0, 0
	return ranges, whole
}

// openOnDemandApp opens an App keeping 1 episode per feed, evicting those
// without a web seed too, with on-demand seeding on or off.
func openOnDemandApp(t *testing.T, dataDir string, onDemand bool) *App {
	t.Helper()
	a, err := Open(context.Background(), Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1", UDPTracker: "off",
		PollInterval: time.Hour, AllowPrivateAddresses: true,
		KeepEpisodes: 1, EvictWithoutWebSeed: true,
		OnDemandSeeding: onDemand, PieceCacheBytes: 256 << 10,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRetentionSeedsEvictedOnDemand: with --on-demand-seeding, the episode
// retention evicts whose origin is stable ("mid") loses its data file but
// stays seeded, on demand: aria2c, given its torrent without the web seed,
// downloads it whole from podseed, whose pieces come from the origin by
// Range requests. The evicted episode whose web seed is withheld ("old")
// is not seeded on demand (its origin's bytes change), and the kept one
// ("new") is seeded from its file as before. A restart seeds "mid" on
// demand again; without the flag it is not seeded at all (the default).
func TestRetentionSeedsEvictedOnDemand(t *testing.T) {
	mustHaveBinary(t, "aria2c")
	origin := newOnDemandOrigin(t)
	dataDir := t.TempDir()
	a := openOnDemandApp(t, dataDir, true)
	ctx := t.Context()
	f := mustAddAndIngest(t, a, origin.srv.URL+"/feed.xml")
	ets, err := a.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	byGUID := map[string]store.Torrent{}
	episodeIDs := map[string]int64{}
	for _, et := range ets {
		byGUID[et.Episode.GUID] = et.Torrent
		episodeIDs[et.Episode.GUID] = et.Episode.ID
	}
	if len(byGUID) != 3 || byGUID["old"].WebSeedWithheld == "" || byGUID["mid"].WebSeedWithheld != "" {
		t.Fatalf("ingest: got %d torrents (old withheld %q, mid withheld %q); want 3, old withheld, mid not",
			len(byGUID), byGUID["old"].WebSeedWithheld, byGUID["mid"].WebSeedWithheld)
	}
	a.enforceRetention(ctx)

	check := func(t *testing.T, a *App, wantOnDemand bool) {
		t.Helper()
		for _, tc := range []struct {
			guid                          string
			evicted, seeded, fromOnDemand bool
		}{
			{"new", false, true, false},
			{"mid", true, wantOnDemand, wantOnDemand},
			{"old", true, false, false},
		} {
			tor := byGUID[tc.guid]
			_, statErr := os.Stat(tor.DataPath)
			st, seeded := a.Client().Stats(tor.InfoHash)
			_, onDemand := a.onDemand.Load(tor.InfoHash)
			if tc.evicted != errors.Is(statErr, os.ErrNotExist) || seeded != tc.seeded || onDemand != tc.fromOnDemand {
				t.Errorf("%s: data file error %v, seeded %v, on demand %v; want evicted %v, seeded %v, on demand %v",
					tc.guid, statErr, seeded, onDemand, tc.evicted, tc.seeded, tc.fromOnDemand)
			}
			if seeded && !st.Complete {
				t.Errorf("%s: seeded but incomplete: %+v", tc.guid, st)
			}
			if at, err := a.Store().FindTorrentEviction(ctx, tor.InfoHash); err != nil || at.IsZero() != !tc.evicted {
				t.Errorf("%s: evicted at %v (%v), want evicted %v", tc.guid, at, err, tc.evicted)
			}
			// The pages and the API say how podseed seeds it.
			id := episodeIDs[tc.guid]
			page := httpBody(t, a, fmt.Sprintf("/episodes/%d", id))
			if got := bytes.Contains(page, []byte("seeded by podseed on demand from the origin")); got != tc.fromOnDemand {
				t.Errorf("%s: episode page says seeded on demand %v, want %v", tc.guid, got, tc.fromOnDemand)
			}
			if got := bytes.Contains(page, []byte("not seeded by podseed (evicted")); got != (tc.evicted && !tc.fromOnDemand) {
				t.Errorf("%s: episode page says not seeded %v, want %v", tc.guid, got, tc.evicted && !tc.fromOnDemand)
			}
			var api struct {
				Torrent struct {
					OnDemand bool `json:"on_demand"`
				} `json:"torrent"`
			}
			if err := json.Unmarshal(httpBody(t, a, fmt.Sprintf("/api/v1/episodes/%d", id)), &api); err != nil {
				t.Fatal(err)
			}
			if api.Torrent.OnDemand != tc.fromOnDemand {
				t.Errorf("%s: API on_demand %v, want %v", tc.guid, api.Torrent.OnDemand, tc.fromOnDemand)
			}
			feedPage := httpBody(t, a, fmt.Sprintf("/feeds/%d", f.ID))
			_, row, _ := bytes.Cut(feedPage, []byte(fmt.Sprintf(`href="%s"`, a.URLs().EpisodePage(id))))
			row, _, _ = bytes.Cut(row, []byte("</tr>"))
			if got := bytes.Contains(row, []byte("(evicted, seeded on demand)")); got != tc.fromOnDemand {
				t.Errorf("%s: feed page row says seeded on demand %v, want %v", tc.guid, got, tc.fromOnDemand)
			}
		}
	}
	check(t, a, true)
	a.enforceRetention(ctx) // a second run keeps it so: on demand is not "seeded again"
	check(t, a, true)

	// aria2c gets mid from podseed alone: no web seed in its torrent.
	mid := byGUID["mid"]
	served, err := a.servedMetainfo(mid)
	if err != nil {
		t.Fatal(err)
	}
	noWebSeed, err := seed.WithoutWebSeeds(served)
	if err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(t.TempDir(), "mid.torrent")
	if err := os.WriteFile(torrentPath, noWebSeed, 0o644); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(runCtx) }() // HTTP: the tracker aria2c announces to
	origin.midCounts()
	dir := t.TempDir()
	aria2cDownload(t, torrentPath, dir)
	if got, want := fileSHA256(t, filepath.Join(dir, mid.Name)), fileSHA256(t, origin.files["mid"]); got != want {
		t.Errorf("aria2c's mid: sha256 %s, want %s", got, want)
	}
	ranges, whole := origin.midCounts()
	if ranges == 0 || whole != 0 {
		t.Errorf("origin GETs of mid.mp3 during the download: %d with Range, %d without; want some, all with Range", ranges, whole)
	}
	if st := a.pieceCache.Stats(); st.Fetches == 0 || st.Bytes > st.MaxBytes || st.Mismatches != 0 {
		t.Errorf("piece cache: got %+v, want fetches within the budget, no mismatch", st)
	}
	stop()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	a = openOnDemandApp(t, dataDir, true)
	check(t, a, true)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = openOnDemandApp(t, dataDir, false)
	a.enforceRetention(ctx)
	check(t, a, false)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOnDemandURL: which evicted torrents may be seeded on demand.
func TestOnDemandURL(t *testing.T) {
	mi, err := seed.WithWebSeeds(mustMetainfo(t), []string{"https://cdn.example/ep.mp3"})
	if err != nil {
		t.Fatal(err)
	}
	bare := mustMetainfo(t)
	tests := []struct {
		name    string
		tor     store.Torrent
		want    string
		wantErr bool
	}{
		{"stable origin", store.Torrent{Metainfo: mi}, "https://cdn.example/ep.mp3", false},
		{"web seed withheld", store.Torrent{Metainfo: mi, WebSeedWithheld: "origin serves different bytes"}, "", true},
		{"enclosure dead", store.Torrent{Metainfo: mi, WebSeedDeadAt: time.Now(), WebSeedDeadReason: "404"}, "", true},
		{"retired", store.Torrent{Metainfo: mi, RetiredAt: time.Now()}, "", true},
		{"no web seed", store.Torrent{Metainfo: bare}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := onDemandURL(tt.tor)
			if got != tt.want || (err != nil) != tt.wantErr || err != nil && !errors.Is(err, errNotOnDemand) {
				t.Errorf("got %q, %v; want %q, error %v (errNotOnDemand)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// mustMetainfo builds a small single-file torrent without web seeds.
func mustMetainfo(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ep.mp3")
	writeRandomFile(t, p, 40<<10, 5)
	mi, _, err := seed.BuildMetainfo(p, seed.MetainfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return mi
}

// TestServeConfigOnDemand: --on-demand-seeding is off by default and
// --piece-cache-bytes is 64 MiB; both (and their PODSEED_* twins) reach
// Config; a negative cache is refused.
func TestServeConfigOnDemand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		want     bool
		wantSize int64
	}{
		{"defaults", nil, nil, false, defaultPieceCacheBytes},
		{"flags", []string{"--on-demand-seeding", "--piece-cache-bytes=1048576"}, nil, true, 1 << 20},
		{"environment", nil, map[string]string{"PODSEED_ON_DEMAND_SEEDING": "true", "PODSEED_PIECE_CACHE_BYTES": "2097152"}, true, 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := parseServeConfig(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OnDemandSeeding != tc.want || cfg.PieceCacheBytes != tc.wantSize {
				t.Errorf("got on demand %v, cache %d; want %v, %d", cfg.OnDemandSeeding, cfg.PieceCacheBytes, tc.want, tc.wantSize)
			}
		})
	}
	if _, err := parseServeConfig(t, "--piece-cache-bytes=-1"); err == nil {
		t.Error("--piece-cache-bytes=-1: got nil error")
	}
}
