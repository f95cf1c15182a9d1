package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/store"
)

// samplerSizes are the enclosure sizes in bytes of the restart tests' feed:
// small, since they test counts, not transfers.
var samplerSizes = []int64{300<<10 + 7, 200 << 10, 100<<10 + 1}

// TestTrackerCompletedSurvivesRestart downloads an episode with aria2c
// through podseed's tracker, then restarts podseed on the same data
// directory: BEP 48 scrape, the JSON API and the next swarm sample still
// count the completed download. It also checks the per-minute sampler job
// saves counts on its own (what a crash would keep).
func TestTrackerCompletedSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restart test skipped in -short mode")
	}
	mustHaveBinary(t, "aria2c")
	fx := startFeedApp(t, samplerSizes)
	dataDir, app, f := fx.dataDir, fx.app, fx.feed
	ih := fx.eps[0].InfoHash
	ctx := context.Background()
	torrentPath := filepath.Join(t.TempDir(), ih+".torrent")
	if err := os.WriteFile(torrentPath, httpGet(t, app.URLs().Torrent(ih)), 0o644); err != nil {
		t.Fatal(err)
	}
	aria2cDownload(t, torrentPath, t.TempDir())
	waitFor(t, 30*time.Second, "the tracker to count aria2c's download", func() bool {
		return app.tracker.Scrape(ih).Completed >= 1
	})
	completed := app.tracker.Scrape(ih).Completed

	// The sampler job saves the count by itself, before any shutdown.
	app.sampleSwarms(ctx)
	saved, err := app.Store().ListTrackerCompleted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if saved[ih] != completed {
		t.Errorf("saved by the sampler: got %d, want %d", saved[ih], completed)
	}
	if n := len(app.tracker.CompletedChanges()); n != 0 {
		t.Errorf("after saving: %d changes still unsaved, want 0", n)
	}
	app.stop(t)

	app2 := startApp(t, dataDir, "127.0.0.1:0")
	if got := scrapeDownloaded(t, app2.URLs().Base, ih); got != completed {
		t.Errorf("BEP 48 scrape after restart: downloaded %d, want %d", got, completed)
	}
	var ep struct {
		Completed int `json:"completed"`
	}
	epID := readyEpisodes(t, app2.Store(), f.ID)[0].ID
	if err := json.Unmarshal(httpGet(t, app2.URLs().Base+"/api/v1/episodes/"+strconv.FormatInt(epID, 10)), &ep); err != nil {
		t.Fatal(err)
	}
	if ep.Completed != completed {
		t.Errorf("API completed after restart: got %d, want %d", ep.Completed, completed)
	}
	app2.sampleSwarms(ctx)
	samples, err := app2.Store().ListSwarmSamples(ctx, ih, time.Time{})
	if err != nil || len(samples) == 0 {
		t.Fatalf("samples after restart: %v, %v", samples, err)
	}
	if got := samples[len(samples)-1].Completed; got != completed {
		t.Errorf("swarm sample after restart: completed %d, want %d", got, completed)
	}
}

// scrapeDownloaded asks podseed's HTTP tracker for one torrent (BEP 48)
// and returns its "downloaded" count.
func scrapeDownloaded(t *testing.T, base, infoHash string) int {
	t.Helper()
	raw, err := hex.DecodeString(infoHash)
	if err != nil {
		t.Fatal(err)
	}
	body := httpGet(t, base+"/scrape?info_hash="+url.QueryEscape(string(raw)))
	var reply struct {
		Files map[string]struct {
			Downloaded int `bencode:"downloaded"`
		} `bencode:"files"`
		Failure string `bencode:"failure reason"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil {
		t.Fatalf("scrape reply %q: %v", body, err)
	}
	f, ok := reply.Files[string(raw)]
	if !ok {
		t.Fatalf("scrape reply lacks the torrent: %+v", reply)
	}
	return f.Downloaded
}

// httpGetRange GETs url with a Range header and returns the 206 body.
func httpGetRange(t *testing.T, url, byteRange string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", byteRange)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Range %s): %v", url, byteRange, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("GET %s (Range %s): status %d, %v", url, byteRange, resp.StatusCode, err)
	}
	return body
}

// TestWebSeededSurvivesRestart serves an episode's copy over the web seed
// endpoint (a whole GET and a Range request), samples: the swarm sample
// holds exactly the bytes served. After a restart on the same data
// directory the count resumes from the sample, and the next sample adds
// the bytes served since.
func TestWebSeededSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restart test skipped in -short mode")
	}
	fx := startFeedApp(t, samplerSizes)
	dataDir, app := fx.dataDir, fx.app
	ih := fx.eps[0].InfoHash
	ctx := context.Background()
	tor, err := app.Store().FindTorrentByInfoHash(ctx, ih)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "seeding to start", func() bool {
		_, ok := app.seeding.Load(ih)
		return ok
	})
	// The handler adds its last write's bytes after the client may have
	// read them: wait for the count before sampling.
	waitCount := func(a *runningApp, want int64) {
		t.Helper()
		waitFor(t, 10*time.Second, fmt.Sprintf("the web seed count to reach %d", want), func() bool {
			return a.webSeeded.Bytes(ih) == want
		})
	}

	seedURL := app.URLs().WebSeed(ih, tor.Name)
	whole := int64(len(httpGet(t, seedURL)))
	part := int64(len(httpGetRange(t, seedURL, "bytes=1000-1999")))
	if whole != tor.Size || part != 1000 {
		t.Fatalf("served %d and %d bytes, want %d and 1000", whole, part, tor.Size)
	}
	waitCount(app, whole+part)
	if got := sampleLatest(t, app, ih).BytesWebSeeded; got != whole+part {
		t.Errorf("sample: bytes web seeded %d, want %d", got, whole+part)
	}
	app.stop(t)

	app2 := startApp(t, dataDir, "127.0.0.1:0")
	if got := app2.webSeeded.Bytes(ih); got != whole+part {
		t.Errorf("restored count: got %d, want %d", got, whole+part)
	}
	waitFor(t, time.Minute, "seeding to resume", func() bool {
		_, ok := app2.seeding.Load(ih)
		return ok
	})
	more := int64(len(httpGetRange(t, app2.URLs().WebSeed(ih, tor.Name), "bytes=-10")))
	waitCount(app2, whole+part+more)
	if got := sampleLatest(t, app2, ih).BytesWebSeeded; got != whole+part+10 {
		t.Errorf("sample after restart: bytes web seeded %d, want %d", got, whole+part+10)
	}
}

// TestUploadedSurvivesRestart downloads an episode with aria2c from
// podseed's client alone (the torrent's url-list removed: no web seed),
// then restarts podseed on the same data directory: the next swarm sample
// and the JSON API still count what podseed uploaded before the restart
// (the client itself counts from 0 at each start).
func TestUploadedSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restart test skipped in -short mode")
	}
	mustHaveBinary(t, "aria2c")
	fx := startFeedApp(t, samplerSizes)
	dataDir, app, f := fx.dataDir, fx.app, fx.feed
	ih, size := fx.eps[0].InfoHash, samplerSizes[0]
	mi, err := metainfo.Load(bytes.NewReader(httpGet(t, app.URLs().Torrent(ih))))
	if err != nil {
		t.Fatal(err)
	}
	mi.UrlList = nil // the infohash covers only the info dictionary
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(t.TempDir(), ih+".torrent")
	if err := os.WriteFile(torrentPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	aria2cDownload(t, torrentPath, t.TempDir())
	before := sampleLatest(t, app, ih).BytesUploaded
	if before < size {
		t.Fatalf("sample before restart: uploaded %d bytes, want at least the %d-byte episode (aria2c had no web seed)", before, size)
	}
	app.stop(t)

	app2 := startApp(t, dataDir, "127.0.0.1:0")
	waitFor(t, time.Minute, "seeding to resume", func() bool {
		_, ok := app2.seeding.Load(ih)
		return ok
	})
	if got := sampleLatest(t, app2, ih).BytesUploaded; got != before {
		t.Errorf("sample after restart: uploaded %d bytes, want the %d uploaded before it (no peer since)", got, before)
	}
	var ep struct {
		Torrent struct {
			BytesUploaded int64 `json:"bytes_uploaded"`
		} `json:"torrent"`
	}
	epID := readyEpisodes(t, app2.Store(), f.ID)[0].ID
	if err := json.Unmarshal(httpGet(t, app2.URLs().Base+"/api/v1/episodes/"+strconv.FormatInt(epID, 10)), &ep); err != nil {
		t.Fatal(err)
	}
	if ep.Torrent.BytesUploaded != before {
		t.Errorf("API bytes_uploaded after restart: got %d, want %d", ep.Torrent.BytesUploaded, before)
	}
}

// sampleLatest runs a's swarm sampler job once and returns the newest
// sample of the torrent with hex infohash ih; it fails the test if there
// is none.
func sampleLatest(t *testing.T, a *runningApp, ih string) store.SwarmSample {
	t.Helper()
	a.sampleSwarms(t.Context())
	latest, err := a.Store().LatestSwarmSamples(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sm, ok := latest[ih]
	if !ok {
		t.Fatalf("no sample of %s", ih)
	}
	return sm
}
