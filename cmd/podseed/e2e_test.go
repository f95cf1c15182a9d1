package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/podseed/podseed/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Enclosure sizes in bytes for the three episodes of the test feed: a few
// MiB to one ≥ 64 MiB (the size at which anacrolix's upload allowance
// stalled, see LIBRARY-NOTES).
var e2eSizes = []int64{3<<20 + 12345, 11<<20 + 777, 67 << 20}

// runningApp is an App whose Run goroutine the test owns.
type runningApp struct {
	*App
	cancel context.CancelFunc
	done   chan error
}

// startApp opens and runs podseed on listen (HTTP) with a loopback
// BitTorrent port and DHT off, adding feedURLs first.
func startApp(t *testing.T, dataDir, listen string, feedURLs ...string) *runningApp {
	t.Helper()
	ctx := context.Background()
	a, err := Open(ctx, Config{
		DataDir: dataDir, Listen: listen, BTListenHost: "127.0.0.1", BTPort: 0,
		PollInterval: time.Hour, DHT: false, AllowPrivateAddresses: true,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	for _, u := range feedURLs {
		if _, _, err := a.Store().CreateFeed(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	ra := &runningApp{App: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(runCtx) }()
	t.Cleanup(func() { ra.stop(t) })
	return ra
}

// stop ends Run and closes the app; safe to call twice.
func (ra *runningApp) stop(tb testing.TB) {
	tb.Helper()
	if ra.cancel == nil {
		return
	}
	ra.cancel()
	ra.cancel = nil
	select {
	case err := <-ra.done:
		if err != nil {
			tb.Errorf("app run: %v", err)
		}
	case <-time.After(30 * time.Second):
		tb.Errorf("app did not stop within 30 s")
	}
	if err := ra.Close(); err != nil {
		tb.Errorf("app close: %v", err)
	}
}

// testWriter sends logs to t.Log, so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, body)
	}
	return body
}

func readyEpisodes(t *testing.T, s *store.Store, feedID int64) []store.Episode {
	t.Helper()
	eps, err := s.ListEpisodesByFeed(context.Background(), feedID)
	if err != nil {
		t.Fatal(err)
	}
	var ready []store.Episode
	for _, e := range eps {
		if e.State == store.EpisodeReady {
			ready = append(ready, e)
		}
	}
	return ready
}

// feedApp is podseed running on one feed, as startFeedApp leaves it.
type feedApp struct {
	origin  *testOrigin // serves the feed and its enclosures
	dataDir string      // podseed's data directory, for a restart on it
	app     *runningApp
	feed    store.Feed
	eps     []store.Episode // the feed's episodes, every one ready
}

// startFeedApp serves testdata/megaphone-3-items.xml from a loopback
// origin with one generated enclosure per item, of the given sizes in
// bytes in document order; starts podseed on a fresh data directory with
// that feed; and waits until every episode is torrentified (3 min at most)
// and its torrent is seeded complete (1 min at most each).
func startFeedApp(t *testing.T, sizes []int64) feedApp {
	t.Helper()
	feedTemplate, err := os.ReadFile("testdata/megaphone-3-items.xml")
	if err != nil {
		t.Fatal(err)
	}
	origin := newTestOrigin(t, feedTemplate, sizes)
	feedURL := origin.URL("/feed.xml")
	dataDir := t.TempDir()
	app := startApp(t, dataDir, "127.0.0.1:0", feedURL)
	f, err := app.Store().FindFeedByURL(context.Background(), feedURL)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Minute, "every episode to be torrentified", func() bool {
		return len(readyEpisodes(t, app.Store(), f.ID)) == len(sizes)
	})
	eps := readyEpisodes(t, app.Store(), f.ID)
	// An episode is ready once its torrent is recorded; seeding starts right after.
	for _, e := range eps {
		waitFor(t, time.Minute, "seeding to start", func() bool {
			st, ok := app.Client().Stats(e.InfoHash)
			return ok && st.Complete
		})
	}
	return feedApp{origin: origin, dataDir: dataDir, app: app, feed: f, eps: eps}
}

// TestEndToEnd runs the main job on a real feed over loopback: one poll
// torrentifies every enclosure, the republished feeds are right, real
// clients download from podseed's seeder with the origin down and from the
// web seed with podseed down, and a restart neither refetches nor loses
// anything.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	fx := startFeedApp(t, e2eSizes)
	origin, dataDir, app, f, eps := fx.origin, fx.dataDir, fx.app, fx.feed, fx.eps
	ctx := context.Background()
	if got, want := origin.FullGETs(), len(e2eSizes); got != want {
		t.Errorf("origin served %d whole-enclosure GETs, want %d (each downloaded exactly once)", got, want)
	}
	infoHashes := map[string]string{} // enclosure URL → infohash
	wantSHA := map[string]string{}    // infohash → SHA-256 of the origin file
	names := map[string]string{}      // infohash → torrent name
	for _, e := range eps {
		tor, err := app.Store().FindTorrentByInfoHash(ctx, e.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		infoHashes[e.EnclosureURL] = e.InfoHash
		wantSHA[e.InfoHash] = fileSHA256(t, origin.FilePath(e.EnclosureURL))
		names[e.InfoHash] = tor.Name
		if got := fileSHA256(t, tor.DataPath); got != wantSHA[e.InfoHash] {
			t.Errorf("%s: stored data SHA-256 %s, want %s", tor.Name, got, wantSHA[e.InfoHash])
		}
	}
	// bySize[i] is the infohash of the episode of e2eSizes[i] bytes.
	bySize := make([]string, len(e2eSizes))
	for _, e := range eps {
		tor, err := app.Store().FindTorrentByInfoHash(ctx, e.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(e2eSizes, tor.Size)
		if i < 0 {
			t.Fatalf("torrent %s has %d bytes, not one of %v", tor.InfoHash, tor.Size, e2eSizes)
		}
		bySize[i] = e.InfoHash
	}

	urls := app.URLs()
	t.Run("republished feed", func(t *testing.T) {
		body := httpGet(t, urls.Feed(f.ID))
		checkRepublished(t, body, origin, urls.Base, infoHashes)
	})
	t.Run("torrent feed", func(t *testing.T) {
		body := httpGet(t, urls.TorrentFeed(f.ID))
		parsed, err := gofeed.NewParser().ParseString(string(body))
		if err != nil {
			t.Fatalf("parse torrent feed: %v", err)
		}
		if got, want := len(parsed.Items), len(e2eSizes); got != want {
			t.Fatalf("torrent feed has %d items, want %d", got, want)
		}
		for _, it := range parsed.Items {
			if len(it.Enclosures) != 1 {
				t.Fatalf("item %q has %d enclosures, want 1", it.Title, len(it.Enclosures))
			}
			enc := it.Enclosures[0]
			if enc.Type != "application/x-bittorrent" {
				t.Errorf("enclosure type %q, want application/x-bittorrent", enc.Type)
			}
			mi := httpGet(t, enc.URL)
			if got, want := enc.Length, fmt.Sprint(len(mi)); got != want {
				t.Errorf("enclosure length %s, want the .torrent's size %s", got, want)
			}
		}
	})
	t.Run("index page", func(t *testing.T) {
		body := string(httpGet(t, urls.Base+"/"))
		for _, e := range eps {
			if !strings.Contains(body, urls.Torrent(e.InfoHash)) {
				t.Errorf("index lacks a link to %s", urls.Torrent(e.InfoHash))
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		body := string(httpGet(t, urls.Base+"/metrics"))
		for _, want := range []string{
			"podseed_torrents_seeding 3\n",
			`podseed_ingests_total{result="ok"} 3` + "\n",
			fmt.Sprintf(`podseed_feed_polls_total{feed_id="%d",result="ok"} 1`, f.ID) + "\n",
			"podseed_ingest_bytes_total " + strconv.FormatFloat(float64(e2eSizes[0]+e2eSizes[1]+e2eSizes[2]), 'g', -1, 64) + "\n",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})

	torrentDir := t.TempDir()
	torrentFile := func(ih string) string {
		p := filepath.Join(torrentDir, ih+".torrent")
		if _, err := os.Stat(p); err != nil {
			if err := os.WriteFile(p, httpGet(t, urls.Torrent(ih)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	for ih := range names {
		torrentFile(ih)
	}

	origin.Stop()
	t.Run("aria2c from seeder, origin down", func(t *testing.T) {
		ih := bySize[2]
		dir := t.TempDir()
		aria2cDownload(t, torrentFile(ih), dir)
		if got := fileSHA256(t, filepath.Join(dir, names[ih])); got != wantSHA[ih] {
			t.Errorf("aria2c result SHA-256 %s, want %s", got, wantSHA[ih])
		}
		waitFor(t, 10*time.Second, "the tracker to count the completed download", func() bool {
			return app.tracker.Scrape(ih).Completed >= 1
		})
		// podseed's client and aria2c both announced over HTTP.
		m := regexp.MustCompile(`(?m)^podseed_tracker_announces_total\{transport="http"\} (\d+)$`).
			FindStringSubmatch(string(httpGet(t, urls.Base+"/metrics")))
		if m == nil {
			t.Errorf("/metrics lacks podseed_tracker_announces_total{transport=\"http\"}")
		} else if n, _ := strconv.Atoi(m[1]); n < 2 {
			t.Errorf("HTTP announces %d, want ≥ 2 (podseed and aria2c)", n)
		}
		app.sampleSwarms(ctx)
		latest, err := app.Store().LatestSwarmSamples(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != len(e2eSizes) {
			t.Errorf("swarm samples for %d torrents, want %d", len(latest), len(e2eSizes))
		}
		// The origin was down: podseed uploaded every byte.
		if s := latest[ih]; s.Completed < 1 || s.BytesUploaded < e2eSizes[2] {
			t.Errorf("swarm sample %+v: want completed ≥ 1 and ≥ %d bytes uploaded", s, e2eSizes[2])
		}
	})
	t.Run("dashboard in chromium", func(t *testing.T) {
		// What the tracker says now; the overview must show exactly that.
		var seeders, leechers, completed int
		for _, ih := range bySize {
			c := app.tracker.Scrape(ih)
			seeders, leechers, completed = seeders+c.Seeders, leechers+c.Leechers, completed+c.Completed
		}
		if completed < 1 {
			t.Fatalf("tracker counts %d completed downloads after aria2c, want ≥ 1", completed)
		}
		dom := chromium(t, urls.Base+"/", "--dump-dom")
		want := fmt.Sprintf("Feeds: 1 · Episodes: %d · Seeders: %d · Leechers: %d · Completed: %d",
			len(e2eSizes), seeders, leechers, completed)
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("overview in Chromium lacks %q:\n%s", want, lastBytes(string(dom), 3000))
		} else {
			t.Logf("overview in Chromium: %s", want)
		}
		// Every download happened within the last day, sampled or not yet.
		if want := fmt.Sprintf("Completed downloads: last 1 day %d ·", completed); !bytes.Contains(dom, []byte(want)) {
			t.Errorf("overview in Chromium lacks %q:\n%s", want, lastBytes(string(dom), 3000))
		}
		for _, ih := range bySize {
			if !bytes.Contains(dom, []byte(urls.Torrent(ih))) {
				t.Errorf("overview in Chromium lacks the link %s", urls.Torrent(ih))
			}
		}
		shot := filepath.Join(artifactDir(t), "dashboard-overview.png")
		chromium(t, urls.Base+"/", "--screenshot="+shot)
		if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
			t.Fatalf("no screenshot at %s: %v", shot, err)
		}
		t.Logf("dashboard screenshot: %s", shot)
	})
	t.Run("transmission from seeder, origin down", func(t *testing.T) {
		ih := bySize[1]
		transmissionDownload(t, torrentFile(ih), t.TempDir(), names[ih], wantSHA[ih], func(port int) {
			// transmission refuses peers until it has checked its (empty)
			// file; its announce says it is ready.
			waitFor(t, time.Minute, "transmission to announce", func() bool {
				return app.tracker.Scrape(ih).Leechers >= 1
			})
			addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
			if err := app.Client().AddPeers(ih, []netip.AddrPort{addr}); err != nil {
				t.Fatal(err)
			}
		})
	})

	origin.Start()
	getsBefore := origin.MediaGETs()
	lastFetched := mustFindFeed(t, app.Store(), f.ID).LastFetchedAt
	app.stop(t)

	t.Run("restart", func(t *testing.T) {
		// The same HTTP address: the .torrent files fetched before announce there.
		app2 := startApp(t, dataDir, strings.TrimPrefix(urls.Base, "http://"))
		waitFor(t, time.Minute, "the feed to be polled again", func() bool {
			return mustFindFeed(t, app2.Store(), f.ID).LastFetchedAt.After(lastFetched)
		})
		for _, ih := range infoHashes {
			waitFor(t, 30*time.Second, "seeding to resume", func() bool {
				st, ok := app2.Client().Stats(ih)
				return ok && st.Complete
			})
		}
		got := map[string]string{}
		for _, e := range readyEpisodes(t, app2.Store(), f.ID) {
			got[e.EnclosureURL] = e.InfoHash
		}
		if !mapsEqual(got, infoHashes) {
			t.Errorf("infohashes after restart %v, want %v", got, infoHashes)
		}
		if n := origin.MediaGETs(); n != getsBefore {
			t.Errorf("origin served %d enclosure GETs after restart, want none", n-getsBefore)
		}
		origin.Stop()
		ih := bySize[0]
		dir := t.TempDir()
		aria2cDownload(t, torrentFile(ih), dir)
		if got := fileSHA256(t, filepath.Join(dir, names[ih])); got != wantSHA[ih] {
			t.Errorf("aria2c after restart: SHA-256 %s, want %s", got, wantSHA[ih])
		}
		origin.Start()
		app2.stop(t)
	})

	// podseed is down now: only the web seed (BEP 19) can serve.
	t.Run("aria2c from web seed, seeder down", func(t *testing.T) {
		ih := bySize[1]
		dir := t.TempDir()
		aria2cDownload(t, torrentFile(ih), dir)
		if got := fileSHA256(t, filepath.Join(dir, names[ih])); got != wantSHA[ih] {
			t.Errorf("aria2c web seed result SHA-256 %s, want %s", got, wantSHA[ih])
		}
	})
	t.Run("transmission from web seed, seeder down", func(t *testing.T) {
		ih := bySize[0]
		before := origin.MediaGETs()
		transmissionDownload(t, torrentFile(ih), t.TempDir(), names[ih], wantSHA[ih], nil)
		if origin.MediaGETs() == before {
			t.Errorf("transmission completed without asking the web seed")
		}
	})
}

func mustFindFeed(t *testing.T, s *store.Store, id int64) store.Feed {
	t.Helper()
	f, err := s.FindFeedByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkRepublished checks the republished feed: it parses, every item with
// an enclosure gained one alternate enclosure with torrent, magnet and
// integrity, the rest is the original byte for byte, and it matches the
// golden file (ports replaced).
func checkRepublished(t *testing.T, body []byte, origin *testOrigin, base string, infoHashes map[string]string) {
	t.Helper()
	parsed, err := gofeed.NewParser().ParseString(string(body))
	if err != nil {
		t.Fatalf("parse republished feed: %v", err)
	}
	withEnclosure := 0
	for _, it := range parsed.Items {
		if len(it.Enclosures) == 0 {
			continue
		}
		withEnclosure++
		alts := it.Extensions["podcast"]["alternateEnclosure"]
		if len(alts) != 1 {
			t.Errorf("item %q: %d alternateEnclosure elements, want 1", it.Title, len(alts))
			continue
		}
		ih := infoHashes[it.Enclosures[0].URL]
		var uris []string
		for _, s := range alts[0].Children["source"] {
			uris = append(uris, s.Attrs["uri"])
		}
		wantTorrent := base + "/torrents/" + ih + ".torrent"
		if !slices.Contains(uris, it.Enclosures[0].URL) || !slices.Contains(uris, wantTorrent) {
			t.Errorf("item %q: sources %v, want the original URL and %s", it.Title, uris, wantTorrent)
		}
		if !slices.ContainsFunc(uris, func(u string) bool { return strings.HasPrefix(u, "magnet:?xt=urn:btih:"+ih) }) {
			t.Errorf("item %q: no magnet source for %s in %v", it.Title, ih, uris)
		}
		integ := alts[0].Children["integrity"]
		if len(integ) != 1 || integ[0].Attrs["type"] != "sri" || !strings.HasPrefix(integ[0].Attrs["value"], "sha256-") {
			t.Errorf("item %q: integrity %v, want one sri sha256", it.Title, integ)
		}
	}
	if withEnclosure != len(infoHashes) {
		t.Errorf("%d items with enclosures, want %d", withEnclosure, len(infoHashes))
	}

	// Remove what podseed adds; the rest must be the original feed.
	stripped := regexp.MustCompile(`(?s)\s*<podcast:alternateEnclosure\b.*?</podcast:alternateEnclosure>`).ReplaceAll(body, nil)
	stripped = bytes.Replace(stripped, []byte(` xmlns:podcast="https://podcastindex.org/namespace/1.0"`), nil, 1)
	if !bytes.Equal(stripped, origin.feed) {
		t.Errorf("republished feed minus alternate enclosures differs from the original")
	}

	golden := body
	for addr, name := range map[string]string{origin.addr: "ORIGIN", strings.TrimPrefix(base, "http://"): "PODSEED"} {
		golden = bytes.ReplaceAll(golden, []byte(addr), []byte(name))
		golden = bytes.ReplaceAll(golden, []byte(url.QueryEscape(addr)), []byte(name)) // inside magnet links
	}
	const goldenPath = "testdata/republished.golden.xml"
	if *update {
		if err := os.WriteFile(goldenPath, golden, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(golden, want) {
		t.Errorf("republished feed differs from %s (run with -update after checking the diff)", goldenPath)
	}
}
