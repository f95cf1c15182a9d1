package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/podseed/podseed/store"
)

// openRetentionApp opens an App (not running: the test drives the jobs)
// with a retention policy.
func openRetentionApp(t *testing.T, dataDir string, keep int, budget int64) *App {
	t.Helper()
	a, err := Open(context.Background(), Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1",
		PollInterval: time.Hour, AllowPrivateAddresses: true,
		KeepEpisodes: keep, DiskBudget: budget,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// retentionOrigin serves a feed of three episodes, newest first: "new" and
// "mid" from a stable origin, "old" with bytes that change per request
// (dynamic ad insertion), so its web seed is withheld.
func retentionOrigin(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for i, name := range []string{"new", "mid", "old"} {
		p := filepath.Join(dir, name+".mp3")
		writeRandomFile(t, p, 300<<10+int64(i), uint64(40+i))
		files[name] = p
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		item := func(name, date string) string {
			return `<item><title>` + name + `</title><guid>` + name + `</guid><pubDate>` + date + `</pubDate><enclosure url="` +
				srv.URL + `/` + name + `.mp3" length="0" type="audio/mpeg"/></item>`
		}
		switch name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".mp3"); name {
		case "feed.xml":
			_, _ = io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>retention</title>`+
				item("new", "Wed, 03 Sep 2025 10:00:00 GMT")+item("mid", "Tue, 02 Sep 2025 10:00:00 GMT")+
				item("old", "Mon, 01 Sep 2025 10:00:00 GMT")+`</channel></rss>`)
		case "new", "mid":
			http.ServeFile(w, r, files[name])
		case "old":
			body, err := os.ReadFile(files[name])
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
	t.Cleanup(srv.Close)
	return srv
}

// mustIngestRetentionFeed adds origin's feed (retentionOrigin) to a,
// ingests it and returns the feed and its three ready episodes.
func mustIngestRetentionFeed(t *testing.T, a *App, origin *httptest.Server) (store.Feed, []store.EpisodeTorrent) {
	t.Helper()
	f := mustAddAndIngest(t, a, origin.URL+"/feed.xml")
	ets, err := a.Store().ListFeedTorrents(t.Context(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ets) != 3 {
		t.Fatalf("%d ready episodes, want 3", len(ets))
	}
	return f, ets
}

// announceRefused reports whether the app's tracker refuses an announce
// for a hex infohash.
func announceRefused(t *testing.T, a *App, infoHash string) bool {
	t.Helper()
	raw, err := hex.DecodeString(infoHash)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"info_hash": {string(raw)}, "peer_id": {"-TT0001-retention123"}, "port": {"6881"},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"0"}, "compact": {"1"}}
	code, body := serveApp(a, "/announce?"+q.Encode())
	if code != http.StatusOK {
		t.Fatalf("announce: status %d", code)
	}
	return bytes.Contains(body, []byte("failure reason"))
}

// TestRetentionEvictsButKeepsPublishing: with --keep-episodes=1 the older
// episode's data is deleted and podseed stops seeding it, but its torrent
// stays in both republished feeds and the tracker; the API and the episode
// page say it is evicted; an episode whose web seed is withheld is kept
// unless evicting it is allowed; a restart does not seed evicted torrents.
func TestRetentionEvictsButKeepsPublishing(t *testing.T) {
	origin := retentionOrigin(t)
	dataDir := t.TempDir()
	a := openRetentionApp(t, dataDir, 1, 0)
	ctx := t.Context()
	f, ets := mustIngestRetentionFeed(t, a, origin)
	byGUID := map[string]store.EpisodeTorrent{}
	for _, et := range ets {
		byGUID[et.Episode.GUID] = et
	}
	if byGUID["old"].Torrent.WebSeedWithheld == "" {
		t.Fatal(`"old": web seed published, want withheld (its bytes change per request)`)
	}

	a.enforceRetention(ctx)
	check := func(t *testing.T, a *App, wantEvicted map[string]bool) {
		t.Helper()
		rss, torrentRSS := httpBody(t, a, fmt.Sprintf("/feeds/%d.rss", f.ID)), httpBody(t, a, fmt.Sprintf("/feeds/%d/torrents.rss", f.ID))
		for guid, evicted := range wantEvicted {
			et := byGUID[guid]
			ih := et.Torrent.InfoHash
			_, statErr := os.Stat(et.Torrent.DataPath)
			_, seeded := a.Client().Stats(ih)
			at, err := a.Store().FindTorrentEviction(ctx, ih)
			if err != nil {
				t.Fatal(err)
			}
			if evicted != !at.IsZero() || evicted == seeded || evicted != os.IsNotExist(statErr) {
				t.Errorf("%s: evicted at %v, seeded %v, data file error %v; want evicted %v", guid, at, seeded, statErr, evicted)
			}
			if evicted {
				if _, err := os.Stat(filepath.Dir(et.Torrent.DataPath)); !os.IsNotExist(err) {
					t.Errorf("%s: data directory: got %v, want it removed", guid, err)
				}
			}
			// Still published everywhere, and still tracked.
			if !bytes.Contains(rss, []byte(ih)) || !bytes.Contains(torrentRSS, []byte(ih)) {
				t.Errorf("%s: infohash %s missing from a republished feed", guid, ih)
			}
			if code, _ := serveApp(a, "/torrents/"+ih+".torrent"); code != http.StatusOK {
				t.Errorf("%s: .torrent status %d, want 200", guid, code)
			}
			if announceRefused(t, a, ih) {
				t.Errorf("%s: tracker refuses announces", guid)
			}
			var api struct {
				Torrent struct {
					EvictedAt *time.Time `json:"evicted_at"`
				} `json:"torrent"`
			}
			if err := json.Unmarshal(httpBody(t, a, fmt.Sprintf("/api/v1/episodes/%d", et.Episode.ID)), &api); err != nil {
				t.Fatal(err)
			}
			if (api.Torrent.EvictedAt != nil) != evicted {
				t.Errorf("%s: API evicted_at %v, want evicted %v", guid, api.Torrent.EvictedAt, evicted)
			}
			page := httpBody(t, a, fmt.Sprintf("/episodes/%d", et.Episode.ID))
			if got := bytes.Contains(page, []byte("not seeded by podseed (evicted")); got != evicted {
				t.Errorf("%s: episode page shows evicted %v, want %v", guid, got, evicted)
			}
			feedPage := httpBody(t, a, fmt.Sprintf("/feeds/%d", f.ID))
			_, row, _ := bytes.Cut(feedPage, []byte(fmt.Sprintf(`href="%s"`, a.URLs().EpisodePage(et.Episode.ID))))
			row, _, _ = bytes.Cut(row, []byte("</tr>"))
			if got := bytes.Contains(row, []byte("(evicted)")); got != evicted {
				t.Errorf("%s: feed page row shows evicted %v, want %v", guid, got, evicted)
			}
		}
	}
	t.Run("keep newest, keep without web seed", func(t *testing.T) {
		check(t, a, map[string]bool{"new": false, "mid": true, "old": false})
	})

	// Running again changes nothing.
	a.enforceRetention(ctx)
	t.Run("idempotent", func(t *testing.T) {
		check(t, a, map[string]bool{"new": false, "mid": true, "old": false})
	})

	a.cfg.EvictWithoutWebSeed = true
	a.enforceRetention(ctx)
	t.Run("evict without web seed when allowed", func(t *testing.T) {
		check(t, a, map[string]bool{"new": false, "mid": true, "old": true})
	})

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// After a restart (retention off), evicted torrents are not seeded,
	// stay published and tracked, and stay evicted.
	b := openRetentionApp(t, dataDir, 0, 0)
	defer b.Close()
	b.enforceRetention(ctx)
	t.Run("after restart", func(t *testing.T) {
		check(t, b, map[string]bool{"new": false, "mid": true, "old": true})
	})
}

// TestRetentionDiskBudget: a byte budget evicts the oldest episodes with a
// web seed until the rest fit.
func TestRetentionDiskBudget(t *testing.T) {
	origin := retentionOrigin(t)
	a := openRetentionApp(t, t.TempDir(), 0, 700<<10)
	defer a.Close()
	ctx := t.Context()
	f := mustAddAndIngest(t, a, origin.URL+"/feed.xml")
	a.enforceRetention(ctx)
	ets, err := a.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Three episodes of about 300 KiB in a 700 KiB budget: one goes. "old"
	// has no web seed, so "mid" is evicted.
	want := map[string]bool{"new": false, "mid": true, "old": false}
	if len(ets) != len(want) {
		t.Fatalf("%d ready episodes, want %d", len(ets), len(want))
	}
	for _, et := range ets {
		at, err := a.Store().FindTorrentEviction(ctx, et.Torrent.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		if got := !at.IsZero(); got != want[et.Episode.GUID] {
			t.Errorf("%s: evicted %v, want %v", et.Episode.GUID, got, want[et.Episode.GUID])
		}
	}
}

// httpBody GETs target from the app's handler and wants 200.
func httpBody(t *testing.T, a *App, target string) []byte {
	t.Helper()
	code, body := serveApp(a, target)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %.200s", target, code, body)
	}
	return body
}

// TestServeConfigResourceControls: the resource flags and their PODSEED_*
// environment twins reach Config; negative values are refused.
func TestServeConfigResourceControls(t *testing.T) {
	cfg, err := parseServeConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	defaults := Config{ConnsPerTorrent: 50, HalfOpenPerTorrent: 25, HalfOpen: 100, MaxConns: 200}
	if cfg.UploadRateLimit != 0 || cfg.TorrentUploadRateLimit != 0 || cfg.ConnsPerTorrent != defaults.ConnsPerTorrent ||
		cfg.HalfOpenPerTorrent != defaults.HalfOpenPerTorrent || cfg.HalfOpen != defaults.HalfOpen || cfg.MaxConns != defaults.MaxConns ||
		cfg.KeepEpisodes != 0 || cfg.DiskBudget != 0 || cfg.EvictWithoutWebSeed {
		t.Errorf("defaults: got %+v", cfg)
	}
	cfg, err = parseServeConfig(t, "--upload-limit=1000", "--torrent-upload-limit=200", "--conns-per-torrent=8",
		"--half-open-per-torrent=4", "--half-open=16", "--keep-episodes=5", "--disk-budget=1073741824", "--evict-without-web-seed", "--max-conns=30")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UploadRateLimit != 1000 || cfg.TorrentUploadRateLimit != 200 || cfg.ConnsPerTorrent != 8 || cfg.HalfOpenPerTorrent != 4 ||
		cfg.HalfOpen != 16 || cfg.MaxConns != 30 || cfg.KeepEpisodes != 5 || cfg.DiskBudget != 1<<30 || !cfg.EvictWithoutWebSeed {
		t.Errorf("flags: got %+v", cfg)
	}
	for env, val := range map[string]string{
		"PODSEED_UPLOAD_LIMIT": "3000", "PODSEED_TORRENT_UPLOAD_LIMIT": "300", "PODSEED_CONNS_PER_TORRENT": "9",
		"PODSEED_HALF_OPEN_PER_TORRENT": "5", "PODSEED_HALF_OPEN": "17", "PODSEED_KEEP_EPISODES": "6",
		"PODSEED_DISK_BUDGET": "2048", "PODSEED_EVICT_WITHOUT_WEB_SEED": "true", "PODSEED_MAX_CONNS": "0",
	} {
		t.Setenv(env, val)
	}
	cfg, err = parseServeConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UploadRateLimit != 3000 || cfg.TorrentUploadRateLimit != 300 || cfg.ConnsPerTorrent != 9 || cfg.HalfOpenPerTorrent != 5 ||
		cfg.HalfOpen != 17 || cfg.MaxConns != 0 || cfg.KeepEpisodes != 6 || cfg.DiskBudget != 2048 || !cfg.EvictWithoutWebSeed {
		t.Errorf("environment: got %+v", cfg)
	}
	for _, arg := range []string{"--upload-limit=-1", "--keep-episodes=-2", "--disk-budget=-3", "--conns-per-torrent=-1", "--max-conns=-1"} {
		if _, err := parseServeConfig(t, arg); err == nil {
			t.Errorf("%s: got nil error", arg)
		}
	}
}

// TestAppUploadLimitsReachClient: the App hands its upload limits to the
// torrent client.
func TestAppUploadLimitsReachClient(t *testing.T) {
	a, err := Open(context.Background(), Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1",
		UploadRateLimit: 5 << 20, TorrentUploadRateLimit: 1 << 20, ConnsPerTorrent: 10, HalfOpenPerTorrent: 5, HalfOpen: 20,
		MaxConns: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if g, pt := a.Client().UploadRateLimits(); g != 5<<20 || pt != 1<<20 {
		t.Errorf("client upload limits: got %d, %d; want %d, %d", g, pt, 5<<20, 1<<20)
	}
	if got := a.Client().ConnStats().Max; got != 7 {
		t.Errorf("client established connection cap: got %d, want 7", got)
	}
}

// TestRetentionReingestedTorrentSeededAgain: when a newer episode brings
// the bytes (and name, so the infohash) of an evicted one, podseed ingests
// and seeds them again, and the retention job clears the eviction.
func TestRetentionReingestedTorrentSeededAgain(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ep.mp3")
	writeRandomFile(t, file, 200<<10, 77)
	var mu sync.Mutex
	items := []string{`<item><title>new</title><guid>new</guid><pubDate>Wed, 03 Sep 2025 10:00:00 GMT</pubDate><enclosure url="{{.}}/new/other.mp3" type="audio/mpeg"/></item>`,
		`<item><title>old</title><guid>old</guid><pubDate>Mon, 01 Sep 2025 10:00:00 GMT</pubDate><enclosure url="{{.}}/old/ep.mp3" type="audio/mpeg"/></item>`}
	other := filepath.Join(dir, "other.mp3")
	writeRandomFile(t, other, 100<<10, 78)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/feed.xml":
			mu.Lock()
			defer mu.Unlock()
			_, _ = io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>again</title>`+
				strings.ReplaceAll(strings.Join(items, ""), "{{.}}", srv.URL)+`</channel></rss>`)
		case strings.HasSuffix(r.URL.Path, "/ep.mp3"):
			http.ServeFile(w, r, file)
		case strings.HasSuffix(r.URL.Path, "/other.mp3"):
			http.ServeFile(w, r, other)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	a := openRetentionApp(t, t.TempDir(), 1, 0)
	defer a.Close()
	ctx := t.Context()
	f := mustAddAndIngest(t, a, srv.URL+"/feed.xml")
	a.enforceRetention(ctx)
	var old store.Torrent
	ets, err := a.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range ets {
		if et.Episode.GUID == "old" {
			old = et.Torrent
		}
	}
	if at, err := a.Store().FindTorrentEviction(ctx, old.InfoHash); err != nil || at.IsZero() {
		t.Fatalf("old episode: eviction %v, %v; want evicted", at, err)
	}

	// The newest episode now carries the same bytes under the same name.
	mu.Lock()
	items = append([]string{`<item><title>again</title><guid>again</guid><pubDate>Thu, 04 Sep 2025 10:00:00 GMT</pubDate><enclosure url="{{.}}/again/ep.mp3" type="audio/mpeg"/></item>`}, items...)
	mu.Unlock()
	a.pollFeeds(ctx, true)
	a.ingestPending(ctx)
	a.enforceRetention(ctx)
	if at, err := a.Store().FindTorrentEviction(ctx, old.InfoHash); err != nil || !at.IsZero() {
		t.Errorf("re-ingested torrent: eviction %v, %v; want none", at, err)
	}
	if _, ok := a.Client().Stats(old.InfoHash); !ok {
		t.Error("re-ingested torrent not seeded")
	}
	if _, err := os.Stat(old.DataPath); err != nil {
		t.Errorf("re-ingested data: %v", err)
	}
}

// parseServeConfig parses `podseed serve` with args (and the PODSEED_*
// environment) into the Config serve would run with, or the parse error.
func parseServeConfig(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var c cli
	parser, err := newParser(&c, kong.Exit(func(int) { t.Fatal("kong exited") }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(append([]string{"serve"}, args...)); err != nil {
		return Config{}, err
	}
	return c.Serve.config(c, nil)
}
