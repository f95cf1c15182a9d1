package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// qbitClient drives qbittorrent-nox's Web API v2 on loopback. The profile
// bypasses authentication for localhost (WebUI\LocalHostAuth=false), so no
// login cookie is needed.
type qbitClient struct {
	base string // http://127.0.0.1:PORT/api/v2
	http *http.Client
}

// post sends a form to an API method and wants 200.
func (q qbitClient) post(t *testing.T, method string, form url.Values) {
	t.Helper()
	resp, err := q.http.PostForm(q.base+"/"+method, form)
	if err != nil {
		t.Fatalf("qBittorrent %s: %v", method, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("qBittorrent %s: status %d: %s", method, resp.StatusCode, body)
	}
}

// get decodes an API method's JSON answer into v; it reports whether the
// call succeeded (qBittorrent may still be starting).
func (q qbitClient) get(method string, v any) error {
	resp, err := q.http.Get(q.base + "/" + method)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", method, resp.StatusCode, body)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body, v)
}

// qbitTorrent is one entry of /api/v2/torrents/info.
type qbitTorrent struct {
	Hash     string  `json:"hash"`
	Name     string  `json:"name"`
	Progress float64 `json:"progress"`
	State    string  `json:"state"`
	SavePath string  `json:"save_path"`
}

// startQBittorrent runs qbittorrent-nox with a fresh profile: legal notice
// accepted, Web UI on a free loopback port without authentication for
// localhost. It is killed when the test ends; its log is printed if the
// test fails.
func startQBittorrent(t *testing.T, bin string) qbitClient {
	t.Helper()
	profile := t.TempDir()
	webPort := freeTCPPort(t)
	conf := fmt.Sprintf(`[LegalNotice]
Accepted=true

[Preferences]
WebUI\Address=127.0.0.1
WebUI\Port=%d
WebUI\LocalHostAuth=false
WebUI\HostHeaderValidation=false
WebUI\CSRFProtection=false
WebUI\UseUPnP=false
`, webPort)
	confDir := filepath.Join(profile, "qBittorrent", "config")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "qBittorrent.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--profile="+profile)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var out lockedLog
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start qbittorrent-nox: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(profile, "qBittorrent", "data", "logs", "qbittorrent.log"))
			t.Logf("qbittorrent-nox output:\n%s\nqbittorrent.log:\n%s", out.String(), lastBytes(string(logs), 8000))
		}
	})
	q := qbitClient{base: fmt.Sprintf("http://127.0.0.1:%d/api/v2", webPort), http: &http.Client{Timeout: 10 * time.Second}}
	waitFor(t, time.Minute, "qBittorrent Web API", func() bool { return q.get("app/version", nil) == nil })
	return q
}

// lockedLog is a bytes.Buffer safe for the writes of a child's stdout and
// stderr copiers.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestQBittorrentRSSAutoDownload: qBittorrent subscribed to podseed's BEP 36
// torrent feed through its Web API, with an RSS auto-download rule,
// downloads a new episode without help: the episode appears in the feed
// after qBittorrent subscribed, qBittorrent finds it on its own refresh
// timer (no refresh through the API), the origin is down (so the web seed
// fails), and the only source is podseed's seeder over loopback, found
// through podseed's tracker.
func TestQBittorrentRSSAutoDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("qBittorrent test skipped in -short mode")
	}
	bin := mustHaveBinary(t, "qbittorrent-nox")

	dir := t.TempDir()
	sizes := map[string]int64{"one": 1<<20 + 3, "two": 5<<20 + 11}
	for name, size := range sizes {
		writeRandomFile(t, filepath.Join(dir, name+".mp3"), size, uint64(size))
	}
	var mu sync.Mutex
	items := []string{"one"}
	var origin *httptest.Server
	origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			mu.Lock()
			defer mu.Unlock()
			var b strings.Builder
			b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>qBittorrent show</title>`)
			for _, it := range items {
				fmt.Fprintf(&b, `<item><title>Episode %[1]s</title><guid>%[1]s</guid><enclosure url="%[2]s/%[1]s.mp3" length="%[3]d" type="audio/mpeg"/></item>`,
					it, origin.URL, sizes[it])
			}
			b.WriteString(`</channel></rss>`)
			_, _ = w.Write([]byte(b.String()))
			return
		}
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	}))
	defer origin.Close()

	app := startApp(t, t.TempDir(), "127.0.0.1:0", origin.URL+"/feed.xml")
	ctx := t.Context()
	waitFor(t, time.Minute, "episode one ready", func() bool { return len(readyEpisodes(t, app.Store(), 1)) == 1 })
	torrentFeed := app.URLs().TorrentFeed(1)

	q := startQBittorrent(t, bin)
	saveDir := t.TempDir()
	prefs, err := json.Marshal(map[string]any{
		"dht": false, "pex": false, "lsd": false, "upnp": false,
		"listen_port": freeTCPPort(t), "random_port": false,
		"save_path": saveDir, "temp_path_enabled": false,
		"rss_processing_enabled": true, "rss_auto_downloading_enabled": true,
		// qBittorrent refreshes every feed on its own timer; 1 minute is
		// the shortest interval (whole minutes, and the options' minimum).
		"rss_refresh_interval": qbitRSSRefreshMinutes,
	})
	if err != nil {
		t.Fatal(err)
	}
	q.post(t, "app/setPreferences", url.Values{"json": {string(prefs)}})
	var set struct {
		RSSRefreshInterval int `json:"rss_refresh_interval"`
	}
	if err := q.get("app/preferences", &set); err != nil || set.RSSRefreshInterval != qbitRSSRefreshMinutes {
		t.Fatalf("qBittorrent RSS refresh interval %d min (%v), want %d", set.RSSRefreshInterval, err, qbitRSSRefreshMinutes)
	}
	q.post(t, "rss/addFeed", url.Values{"url": {torrentFeed}, "path": {"podseed"}})
	articles := func() int {
		var feeds map[string]struct {
			Articles []struct {
				ID, Title, TorrentURL string
			} `json:"articles"`
		}
		if err := q.get("rss/items?withData=true", &feeds); err != nil {
			return -1
		}
		return len(feeds["podseed"].Articles)
	}
	waitFor(t, time.Minute, "qBittorrent to read the torrent feed", func() bool { return articles() == 1 })
	rule, err := json.Marshal(map[string]any{
		"enabled": true, "mustContain": "", "mustNotContain": "", "useRegex": false,
		"affectedFeeds": []string{torrentFeed}, "savePath": saveDir, "addPaused": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	q.post(t, "rss/setRule", url.Values{"ruleName": {"podseed episodes"}, "ruleDef": {string(rule)}})

	// A new episode: podseed polls and torrentifies it, then the origin
	// goes down, so neither its web seed nor the origin can help.
	mu.Lock()
	items = []string{"two", "one"}
	mu.Unlock()
	app.pollFeeds(ctx, true)
	waitFor(t, 2*time.Minute, "episode two ready", func() bool { return len(readyEpisodes(t, app.Store(), 1)) == 2 })
	var two string
	for _, e := range readyEpisodes(t, app.Store(), 1) {
		if e.GUID == "two" {
			two = e.InfoHash
		}
	}
	if two == "" {
		t.Fatal("episode two has no torrent")
	}
	tor, err := app.Store().FindTorrentByInfoHash(ctx, two)
	if err != nil {
		t.Fatal(err)
	}
	origin.Close()

	// Nobody tells qBittorrent: its refresh timer (qbitRSSRefreshMinutes)
	// fetches the torrent feed again, finds episode two and the rule adds
	// it. One tick or two: a refresh may be answered from qBittorrent's
	// HTTP cache within the feed's max-age (60 s).
	var got qbitTorrent
	var seen time.Duration
	start := time.Now()
	waitFor(t, 4*time.Minute, "qBittorrent to find episode two in the feed by itself and download it", func() bool {
		if seen == 0 && articles() == 2 {
			seen = time.Since(start)
		}
		var ts []qbitTorrent
		if err := q.get("torrents/info", &ts); err != nil {
			return false
		}
		for _, qt := range ts {
			if qt.Hash == two {
				got = qt
				return qt.Progress >= 1
			}
		}
		return false
	})
	path := filepath.Join(got.SavePath, tor.Name)
	if want := fileSHA256(t, filepath.Join(dir, "two.mp3")); !fileHasSHA256(path, want) {
		t.Fatalf("qBittorrent's %s: SHA-256 differs from the episode's", path)
	}
	st, ok := app.Client().Stats(two)
	if !ok || st.BytesUploaded < sizes["two"] {
		t.Errorf("podseed uploaded %d bytes of episode two (seeded %v), want >= %d", st.BytesUploaded, ok, sizes["two"])
	}
	t.Logf("qBittorrent %s found episode two in the feed %v and downloaded %s (%d bytes) from podseed %v after it was ready; state %s",
		qbitVersion(q), seen.Round(time.Second), tor.Name, sizes["two"], time.Since(start).Round(time.Second), got.State)
}

// qbitRSSRefreshMinutes is the RSS refresh interval TestQBittorrentRSSAutoDownload
// gives qBittorrent, in minutes (its preference rss_refresh_interval).
const qbitRSSRefreshMinutes = 1

// qbitVersion is qBittorrent's version, for the log.
func qbitVersion(q qbitClient) string {
	resp, err := q.http.Get(q.base + "/app/version")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
