package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/store"
)

// lifecycleOrigin is a podcast host on 127.0.0.1 whose feed and files a
// test changes between polls. Files are served with Range support and an
// ETag per file version.
type lifecycleOrigin struct {
	t   testing.TB
	srv *httptest.Server
	mu  sync.Mutex
	// items are the feed's <item> elements; %s in them is the origin URL.
	items   []string
	channel string // extra channel elements
	// files maps a URL path to its bytes and ETag; status, when set,
	// answers the path with that status instead.
	files  map[string]originFile
	status map[string]int
	// redirects maps a URL path to a redirect status and target path.
	redirects map[string]originRedirect
	// gate, when set for a path, holds GETs without Range until closed;
	// started is signalled when such a GET arrives.
	gate    map[string]chan struct{}
	started chan string
	// requests counts requests per path.
	requests map[string]int
	// inflight and maxInflight count concurrent media requests.
	inflight, maxInflight int
	// announces records, per hex infohash, the announces the origin's
	// BitTorrent tracker (originAnnouncePath) received, in order.
	announces map[string][]originAnnounce
}

type originFile struct {
	data []byte
	etag string
}

type originRedirect struct {
	status int
	to     string
}

func newLifecycleOrigin(t testing.TB) *lifecycleOrigin {
	o := &lifecycleOrigin{t: t, files: map[string]originFile{}, status: map[string]int{},
		redirects: map[string]originRedirect{}, gate: map[string]chan struct{}{},
		started: make(chan string, 16), requests: map[string]int{}, announces: map[string][]originAnnounce{}}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

// URL is the origin's absolute URL of path p.
func (o *lifecycleOrigin) URL(p string) string { return o.srv.URL + p }

func (o *lifecycleOrigin) setItems(items ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = items
}

func (o *lifecycleOrigin) setFile(p string, data []byte, etag string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[p] = originFile{data: data, etag: etag}
	delete(o.status, p)
}

func (o *lifecycleOrigin) setStatus(p string, code int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status[p] = code
}

func (o *lifecycleOrigin) count(p string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[p]
}

func (o *lifecycleOrigin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.requests[r.URL.Path]++
	if r.URL.Path == "/feed.xml" {
		body := `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Lifecycle</title>` + o.channel
		for _, it := range o.items {
			body += strings.ReplaceAll(it, "%s", o.srv.URL)
		}
		body += "</channel></rss>\n"
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, body)
		return
	}
	if r.URL.Path == originAnnouncePath {
		o.mu.Unlock()
		o.announce(w, r)
		return
	}
	if rd, ok := o.redirects[r.URL.Path]; ok {
		o.mu.Unlock()
		http.Redirect(w, r, rd.to, rd.status)
		return
	}
	if code, ok := o.status[r.URL.Path]; ok {
		o.mu.Unlock()
		http.Error(w, http.StatusText(code), code)
		return
	}
	f, ok := o.files[r.URL.Path]
	gate := o.gate[r.URL.Path]
	o.inflight++
	o.maxInflight = max(o.maxInflight, o.inflight)
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.inflight--
		o.mu.Unlock()
	}()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if gate != nil && r.Header.Get("Range") == "" {
		o.started <- r.URL.Path
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(t testing.TB, n int64, seed uint64) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rand")
	writeRandomFile(t, p, n, seed)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openLifecycleApp opens an app (not running) on a fresh or given data
// directory; close is safe to call more than once.
func openLifecycleApp(t *testing.T, dataDir string) (a *App, close func()) {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	a, err := Open(context.Background(), Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1",
		PollInterval: time.Hour, AllowPrivateAddresses: true,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	a.probeSpacing = 0
	var once sync.Once
	close = func() {
		once.Do(func() {
			if err := a.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(close)
	return a, close
}

// serveApp answers one GET with the app's HTTP handler (the app need not
// run).
// serveApp GETs path from a's handler as a browser would (Accept prefers
// text/html, so /episodes/{id} answers its dashboard page).
func serveApp(a *App, path string) (int, []byte) {
	return serveAppAccept(a, path, "text/html,application/xhtml+xml,*/*;q=0.8")
}

// serveAppAccept GETs path from a's handler with an Accept header.
func serveAppAccept(a *App, path, accept string) (int, []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, a.urls.Base+path, nil)
	req.Header.Set("Accept", accept)
	a.srv.Handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func mustServeApp(t *testing.T, a *App, path string) []byte {
	t.Helper()
	code, body := serveApp(a, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, code, body)
	}
	return body
}

func mustEpisodeByGUID(t *testing.T, a *App, feedID int64, guid string) store.Episode {
	t.Helper()
	eps, err := a.Store().ListEpisodesByFeed(context.Background(), feedID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		if e.GUID == guid {
			return e
		}
	}
	t.Fatalf("no episode %q", guid)
	return store.Episode{}
}

func lifecycleItem(guid, path string, length int) string {
	return fmt.Sprintf(`<item><title>%s</title><guid isPermaLink="false">%s</guid><enclosure url="%%s%s" length="%d" type="audio/mpeg"/></item>`,
		guid, guid, path, length)
}

// TestEnclosureReplacement: the same GUID with a new enclosure URL gets a
// new torrent that replaces the old one in both feeds, only once it is
// complete (an interrupted download leaves the old one published); the old
// one is retired (not seeded, not tracked, data removed, 410 Gone), and a
// restart finishes a retirement a crash interrupted.
func TestEnclosureReplacement(t *testing.T) {
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	v1, v2 := randomBytes(t, 300_001, 1), randomBytes(t, 500_003, 2)
	o.setFile("/v1.mp3", v1, `"v1"`)
	o.setFile("/v2.mp3", v2, `"v2"`)
	o.setItems(lifecycleItem("ep", "/v1.mp3", len(v1)))

	dataDir := t.TempDir()
	a, closeApp := openLifecycleApp(t, dataDir)
	f := mustAddAndIngest(t, a, o.URL("/feed.xml"))
	e := mustEpisodeByGUID(t, a, f.ID, "ep")
	if e.State != store.EpisodeReady {
		t.Fatalf("episode %+v, want ready", e)
	}
	oldIH := e.InfoHash
	old, err := a.Store().FindTorrentByInfoHash(ctx, oldIH)
	if err != nil {
		t.Fatal(err)
	}
	if old.SourceURL != o.URL("/v1.mp3") || old.ETag != `"v1"` || old.ResolvedURL != "" {
		t.Errorf("torrent source %q etag %q resolved %q, want %s, \"v1\", none", old.SourceURL, old.ETag, old.ResolvedURL, o.URL("/v1.mp3"))
	}

	// The enclosure moves to new bytes under the same GUID.
	o.setItems(lifecycleItem("ep", "/v2.mp3", len(v2)))
	a.pollFeeds(ctx, true)
	e = mustEpisodeByGUID(t, a, f.ID, "ep")
	if e.ReplaceReason != "enclosure url changed" || e.InfoHash != oldIH {
		t.Fatalf("after the change: %+v, want replacement due, still %s", e, oldIH)
	}
	checkPublished := func(t *testing.T, a *App, want, notWant string) {
		t.Helper()
		for _, p := range []string{fmt.Sprintf("/feeds/%d.rss", f.ID), fmt.Sprintf("/feeds/%d/torrents.rss", f.ID)} {
			body := mustServeApp(t, a, p)
			if !bytes.Contains(body, []byte(want)) || bytes.Contains(body, []byte(notWant)) {
				t.Errorf("%s: want %s published and %s not:\n%s", p, want, notWant, body)
			}
		}
	}

	t.Run("interrupted download leaves the old torrent published", func(t *testing.T) {
		gate := make(chan struct{})
		o.mu.Lock()
		o.gate["/v2.mp3"] = gate
		o.mu.Unlock()
		ictx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.ingestPending(ictx); close(done) }()
		select {
		case <-o.started:
		case <-time.After(time.Minute):
			t.Fatal("the new enclosure was never requested")
		}
		// Mid-download: the old torrent is what is published.
		checkPublished(t, a, oldIH, "no such thing")
		cancel() // as a crash would
		<-done
		close(gate)
		o.mu.Lock()
		delete(o.gate, "/v2.mp3")
		o.mu.Unlock()
		e := mustEpisodeByGUID(t, a, f.ID, "ep")
		if e.InfoHash != oldIH || e.ReplaceReason == "" {
			t.Errorf("after the interruption: %+v, want still %s with the replacement due", e, oldIH)
		}
		checkPublished(t, a, oldIH, "no such thing")
		if _, ok := a.Client().Stats(oldIH); !ok {
			t.Errorf("old torrent no longer seeded")
		}
		if page := mustServeApp(t, a, fmt.Sprintf("/feeds/%d", f.ID)); !bytes.Contains(page, []byte("(replacement due)")) {
			t.Errorf("feed page does not show the replacement due")
		}
		if page := mustServeApp(t, a, fmt.Sprintf("/episodes/%d", e.ID)); !bytes.Contains(page, []byte(`id="replacement"`)) {
			t.Errorf("episode page does not show the replacement due")
		}
	})

	a.ingestPending(ctx)
	e = mustEpisodeByGUID(t, a, f.ID, "ep")
	newIH := e.InfoHash
	if newIH == oldIH || e.ReplaceReason != "" || e.State != store.EpisodeReady {
		t.Fatalf("after the replacement: %+v, want ready with a new torrent", e)
	}
	checkPublished(t, a, newIH, oldIH)
	if st, ok := a.Client().Stats(newIH); !ok || !st.Complete {
		t.Errorf("new torrent not seeded complete: %+v, %v", st, ok)
	}
	if _, ok := a.Client().Stats(oldIH); ok {
		t.Errorf("retired torrent still in the client")
	}
	if _, ok := a.seeding.Load(oldIH); ok {
		t.Errorf("retired torrent still allowed by the tracker")
	}
	if _, err := os.Stat(old.DataPath); !os.IsNotExist(err) {
		t.Errorf("retired data file %s: %v, want removed", old.DataPath, err)
	}
	if _, err := os.Stat(filepath.Dir(old.DataPath)); !os.IsNotExist(err) {
		t.Errorf("retired data directory: %v, want removed", err)
	}
	if code, _ := serveApp(a, "/torrents/"+oldIH+".torrent"); code != http.StatusGone {
		t.Errorf("/torrents/%s.torrent: status %d, want 410", oldIH, code)
	}
	if code, _ := serveApp(a, "/torrents/"+newIH+".torrent"); code != http.StatusOK {
		t.Errorf("/torrents/%s.torrent: status %d, want 200", newIH, code)
	}
	retired, err := a.Store().FindTorrentByInfoHash(ctx, oldIH)
	if err != nil || !retired.Retired() || retired.RetiredReason != "enclosure url changed" {
		t.Errorf("old torrent row %+v, %v: want kept, retired", retired, err)
	}
	var api struct {
		ReplacedTorrents []struct {
			InfoHash   string     `json:"infohash"`
			ReplacedBy string     `json:"replaced_by"`
			RetiredAt  *time.Time `json:"retired_at"`
		} `json:"replaced_torrents"`
	}
	if err := json.Unmarshal(mustServeApp(t, a, fmt.Sprintf("/api/v1/episodes/%d", e.ID)), &api); err != nil {
		t.Fatal(err)
	}
	if r := api.ReplacedTorrents; len(r) != 1 || r[0].InfoHash != oldIH || r[0].ReplacedBy != newIH || r[0].RetiredAt == nil {
		t.Errorf("API replaced_torrents %+v, want %s replaced by %s, retired", r, oldIH, newIH)
	}
	page := mustServeApp(t, a, fmt.Sprintf("/episodes/%d", e.ID))
	if !bytes.Contains(page, []byte("Earlier torrents")) || !bytes.Contains(page, []byte(oldIH)) {
		t.Errorf("episode page does not show the retired torrent")
	}

	t.Run("restart finishes an interrupted retirement", func(t *testing.T) {
		// A crash after the store retired the torrent but before its data
		// was removed.
		if err := os.MkdirAll(filepath.Dir(old.DataPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(old.DataPath, v1, 0o644); err != nil {
			t.Fatal(err)
		}
		closeApp()
		a2, _ := openLifecycleApp(t, dataDir)
		if _, err := os.Stat(old.DataPath); !os.IsNotExist(err) {
			t.Errorf("retired data file after restart: %v, want removed", err)
		}
		if _, ok := a2.Client().Stats(oldIH); ok {
			t.Errorf("retired torrent seeded after restart")
		}
		if _, ok := a2.Client().Stats(newIH); !ok {
			t.Errorf("current torrent not seeded after restart")
		}
		checkPublished(t, a2, newIH, oldIH)
	})
}

// TestEnclosureChangedInPlace: the probe notices an enclosure whose bytes
// changed under the same URL (new size, or new ETag with other bytes) and
// a replacement follows; an ETag that changes over the same bytes does not
// make a new torrent.
func TestEnclosureChangedInPlace(t *testing.T) {
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	same, resized, edited := randomBytes(t, 200_000, 3), randomBytes(t, 200_000, 4), randomBytes(t, 200_000, 5)
	o.setFile("/same.mp3", same, `"a"`)
	o.setFile("/resized.mp3", same, `"a"`)
	o.setFile("/edited.mp3", same, `"a"`)
	o.setItems(lifecycleItem("same", "/same.mp3", 0), lifecycleItem("resized", "/resized.mp3", 0),
		lifecycleItem("edited", "/edited.mp3", 0))
	a, _ := openLifecycleApp(t, "")
	f := mustAddAndIngest(t, a, o.URL("/feed.xml"))
	before := map[string]string{}
	for _, g := range []string{"same", "resized", "edited"} {
		before[g] = mustEpisodeByGUID(t, a, f.ID, g).InfoHash
	}
	o.setFile("/same.mp3", same, `"b"`)                     // a CDN renamed its ETag
	o.setFile("/resized.mp3", append(resized, 1, 2), `"a"`) // new size, same ETag
	o.setFile("/edited.mp3", edited, `"b"`)                 // same size, new bytes and ETag
	a.probeEnclosures(ctx, time.Now().Add(48*time.Hour))
	want := map[string]string{"same": "", "resized": "enclosure size changed", "edited": "enclosure etag changed"}
	for g, w := range want {
		e := mustEpisodeByGUID(t, a, f.ID, g)
		if w == "" && e.ReplaceReason != "" || !strings.HasPrefix(e.ReplaceReason, w) {
			t.Errorf("%s: replace reason %q, want %q", g, e.ReplaceReason, w)
		}
	}
	if tor, _ := a.Store().FindTorrentByInfoHash(ctx, before["same"]); tor.ETag != `"b"` {
		t.Errorf("same bytes: stored etag %q, want the new \"b\"", tor.ETag)
	}
	a.ingestPending(ctx)
	for g, w := range want {
		e := mustEpisodeByGUID(t, a, f.ID, g)
		if changed := e.InfoHash != before[g]; changed != (w != "") || e.ReplaceReason != "" {
			t.Errorf("%s: infohash %s (was %s), replace reason %q; want a new torrent: %v", g, e.InfoHash, before[g], e.ReplaceReason, w != "")
		}
	}
}

// TestDeadEnclosures: the probe marks enclosures that answer 404 or 410
// dead at once, and ones whose host refuses connections after
// probeDeadAfter probes; a dead enclosure's torrent is still seeded, but
// its web seed is withheld from the .torrent, magnet and republished feed
// (same infohash), and the pages show it. A later success un-marks it. A
// host that refuses HEAD (405) is alive: the probe is a 1-byte GET.
func TestDeadEnclosures(t *testing.T) {
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	data := randomBytes(t, 100_000, 6)
	for _, p := range []string{"/a.mp3", "/b.mp3", "/c.mp3", "/d.mp3"} {
		o.setFile(p, data, "")
	}
	headRefuser := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer headRefuser.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	o.setItems(lifecycleItem("gone404", "/a.mp3", 0), lifecycleItem("gone410", "/b.mp3", 0),
		lifecycleItem("alive", "/c.mp3", 0), lifecycleItem("alive2", "/d.mp3", 0),
		`<item><guid>head405</guid><enclosure url="`+headRefuser.URL+`/e.mp3" type="audio/mpeg"/></item>`,
		`<item><guid>refused</guid><enclosure url="`+refusing.URL+`/f.mp3" type="audio/mpeg"/></item>`)
	a, _ := openLifecycleApp(t, "")
	f := mustAddAndIngest(t, a, o.URL("/feed.xml"))
	eps := map[string]store.Episode{}
	for _, g := range []string{"gone404", "gone410", "alive", "alive2", "head405", "refused"} {
		eps[g] = mustEpisodeByGUID(t, a, f.ID, g)
		if eps[g].State != store.EpisodeReady {
			t.Fatalf("%s: %+v, want ready", g, eps[g])
		}
	}
	o.setStatus("/a.mp3", http.StatusNotFound)
	o.setStatus("/b.mp3", http.StatusGone)
	refusing.Close()
	o.mu.Lock()
	o.maxInflight = 0 // count the probes' concurrency only
	o.mu.Unlock()

	later := time.Now().Add(48 * time.Hour)
	for i := 1; i <= probeDeadAfter; i++ {
		a.probeEnclosures(ctx, later)
		later = later.Add(48 * time.Hour)
		tor, err := a.Store().FindTorrentByInfoHash(ctx, eps["refused"].InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		if dead := !tor.WebSeedDeadAt.IsZero(); dead != (i == probeDeadAfter) || tor.ProbeFailures != i {
			t.Errorf("refused host, probe %d: dead %v after %d failures (%q), want dead only from probe %d",
				i, dead, tor.ProbeFailures, tor.WebSeedDeadReason, probeDeadAfter)
		}
	}
	o.mu.Lock()
	if o.maxInflight != 1 {
		t.Errorf("%d probes of one host at once, want 1", o.maxInflight)
	}
	o.mu.Unlock()
	wantDead := map[string]string{"gone404": "404", "gone410": "410", "refused": "connection refused", "alive": "", "alive2": "", "head405": ""}
	check := func(t *testing.T, wantDead map[string]string) {
		t.Helper()
		for g, why := range wantDead {
			e := eps[g]
			tor, err := a.Store().FindTorrentByInfoHash(ctx, e.InfoHash)
			if err != nil {
				t.Fatal(err)
			}
			dead := !tor.WebSeedDeadAt.IsZero()
			if dead != (why != "") || !strings.Contains(tor.WebSeedDeadReason, why) {
				t.Errorf("%s: dead %v (%q), want dead %v (%q)", g, dead, tor.WebSeedDeadReason, why != "", why)
			}
			raw := mustServeApp(t, a, "/torrents/"+e.InfoHash+".torrent")
			mi, err := metainfo.Load(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := mi.HashInfoBytes().HexString(); got != e.InfoHash {
				t.Errorf("%s: served .torrent has infohash %s, want %s (url-list is outside the info dict)", g, got, e.InfoHash)
			}
			if hasSeed := len(mi.UrlList) > 0; hasSeed == dead {
				t.Errorf("%s: url-list %v with dead %v", g, mi.UrlList, dead)
			}
			if magnet := (catalog{a}).Magnet(ctx, e.InfoHash); strings.Contains(magnet, "&ws=") == dead {
				t.Errorf("%s: magnet %s with dead %v", g, magnet, dead)
			}
			if _, ok := a.Client().Stats(e.InfoHash); !ok {
				t.Errorf("%s: not seeded", g)
			}
			var api struct {
				Torrent struct {
					WebSeed       string     `json:"web_seed"`
					WebSeedDeadAt *time.Time `json:"web_seed_dead_at"`
					ProbedAt      *time.Time `json:"probed_at"`
				} `json:"torrent"`
			}
			if err := json.Unmarshal(mustServeApp(t, a, fmt.Sprintf("/api/v1/episodes/%d", e.ID)), &api); err != nil {
				t.Fatal(err)
			}
			if (api.Torrent.WebSeedDeadAt != nil) != dead || (api.Torrent.WebSeed == "") != dead || api.Torrent.ProbedAt == nil {
				t.Errorf("%s: API torrent %+v, want dead %v", g, api.Torrent, dead)
			}
			page := mustServeApp(t, a, fmt.Sprintf("/episodes/%d", e.ID))
			if got := bytes.Contains(page, []byte(`<strong class="err">dead</strong>`)); got != dead {
				t.Errorf("%s: episode page shows dead %v, want %v", g, got, dead)
			}
			// A podcast app asking /episodes/{id} is sent to the origin
			// while it is alive and gets podseed's copy once it is dead.
			code, body := serveAppAccept(a, fmt.Sprintf("/episodes/%d", e.ID), "*/*")
			if want := map[bool]int{false: http.StatusFound, true: http.StatusOK}[dead]; code != want {
				t.Errorf("%s: /episodes/%d for a podcast app: status %d, want %d", g, e.ID, code, want)
			} else if dead && int64(len(body)) != tor.Size {
				t.Errorf("%s: podseed's copy has %d bytes, want %d", g, len(body), tor.Size)
			}
		}
		nDead := 0
		for _, why := range wantDead {
			if why != "" {
				nDead++
			}
		}
		if got := bytes.Count(mustServeApp(t, a, fmt.Sprintf("/feeds/%d", f.ID)), []byte("(enclosure dead)")); got != nDead {
			t.Errorf("feed page marks %d enclosures dead, want %d", got, nDead)
		}
		rss := mustServeApp(t, a, fmt.Sprintf("/feeds/%d.rss", f.ID))
		for g, why := range wantDead {
			ws := "ws=" + strings.ReplaceAll(strings.ReplaceAll(eps[g].EnclosureURL, ":", "%3A"), "/", "%2F")
			if bytes.Contains(rss, []byte(ws)) == (why != "") {
				t.Errorf("republished feed: magnet of %s has ws= %v, want %v", g, why != "", why == "")
			}
		}
	}
	check(t, wantDead)

	t.Run("a later success un-marks it", func(t *testing.T) {
		o.setFile("/a.mp3", data, "")
		a.probeEnclosures(ctx, later)
		wantDead["gone404"] = ""
		check(t, wantDead)
	})
}

// TestPodcastLocked: a locked feed is still polled and republished, with
// its <podcast:locked> kept; the feed page and API show the lock, and an
// unlocked feed later clears it.
func TestPodcastLocked(t *testing.T) {
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	o.setFile("/a.mp3", randomBytes(t, 50_000, 9), "")
	const lockTag = `<podcast:locked owner="owner@example.org">yes</podcast:locked>`
	o.channel = lockTag
	o.setItems(lifecycleItem("a", "/a.mp3", 0))
	a, _ := openLifecycleApp(t, "")
	f := mustAddAndIngest(t, a, o.URL("/feed.xml"))
	e := mustEpisodeByGUID(t, a, f.ID, "a")
	rss := mustServeApp(t, a, fmt.Sprintf("/feeds/%d.rss", f.ID))
	if !bytes.Contains(rss, []byte(lockTag)) || !bytes.Contains(rss, []byte(e.InfoHash)) {
		t.Errorf("republished feed lacks %s or the torrent %s:\n%s", lockTag, e.InfoHash, rss)
	}
	var api struct {
		Locked      bool   `json:"locked"`
		LockedOwner string `json:"locked_owner"`
	}
	check := func(wantLocked bool, wantOwner string) {
		t.Helper()
		if err := json.Unmarshal(mustServeApp(t, a, fmt.Sprintf("/api/v1/feeds/%d", f.ID)), &api); err != nil {
			t.Fatal(err)
		}
		if api.Locked != wantLocked || api.LockedOwner != wantOwner {
			t.Errorf("API locked %v owner %q, want %v %q", api.Locked, api.LockedOwner, wantLocked, wantOwner)
		}
		page := mustServeApp(t, a, fmt.Sprintf("/feeds/%d", f.ID))
		if got := bytes.Contains(page, []byte(`id="locked"`)); got != wantLocked {
			t.Errorf("feed page shows the lock: %v, want %v", got, wantLocked)
		}
	}
	check(true, "owner@example.org")
	o.mu.Lock()
	o.channel = `<podcast:locked>no</podcast:locked>`
	o.mu.Unlock()
	a.pollFeeds(ctx, true)
	check(false, "")
}

// mustAddAndIngest adds the feed at feedURL to a, polls every feed once
// and ingests every pending episode, as one serve pass would.
func mustAddAndIngest(t *testing.T, a *App, feedURL string) store.Feed {
	t.Helper()
	ctx := t.Context()
	f, _, err := a.Store().CreateFeed(ctx, feedURL)
	if err != nil {
		t.Fatal(err)
	}
	a.pollFeeds(ctx, true)
	a.ingestPending(ctx)
	return f
}
