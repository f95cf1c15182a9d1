package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestRoutes(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	logs := &lockedBuffer{}
	srv := mustServe(t, cat, swarmCounts(fx), logs)

	feedRSS := cat.feedRSS[fx.nightShift.ID]
	torrentRSS := cat.torrentRSS[fx.nightShift.ID]
	mi := fx.metainfo[fx.ready]
	nightShift := strconv.FormatInt(fx.nightShift.ID, 10)
	broken := strconv.FormatInt(fx.broken.ID, 10)
	ep3 := strconv.FormatInt(fx.ep3.ID, 10)
	ep1 := strconv.FormatInt(fx.ep1.ID, 10)
	const rssType = "application/rss+xml; charset=utf-8" // generated feeds (UTF-8)
	const republishedType = "application/rss+xml"        // the publisher's bytes: the XML declaration names the encoding
	const textType = "text/plain; charset=utf-8"
	const htmlType = "text/html; charset=utf-8"
	const jsonType = "application/json"
	cors := map[string]string{"Access-Control-Allow-Origin": "*"}
	notFoundJSON := []byte(`{"error":"not found"}` + "\n")
	badRequestJSON := []byte(`{"error":"bad request"}` + "\n")
	const unknownIH = "0123456789abcdef0123456789abcdef01234567"

	for _, tt := range []struct {
		name       string
		method     string // GET if empty
		path       string
		header     http.Header
		wantStatus int
		wantType   string // Content-Type, if not ""
		wantBody   []byte // exact body, if not nil
		wantSub    string // substring of the body, if not ""
		wantHeader map[string]string
	}{
		{name: "index", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8", wantSub: "<!DOCTYPE html>"},
		{name: "index POST", method: http.MethodPost, path: "/", wantStatus: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "index HEAD", method: http.MethodHead, path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8", wantBody: []byte{}},
		{name: "unknown path", path: "/index.html", wantStatus: 404},

		// A client that does not take gzip (Go's transport asks for it
		// unless told otherwise; gzip is tested in cache_test.go).
		{name: "feed", path: "/feeds/" + nightShift + ".rss", header: http.Header{"Accept-Encoding": {"identity"}}, wantStatus: 200,
			wantType: republishedType, wantBody: feedRSS,
			wantHeader: map[string]string{"Content-Length": strconv.Itoa(len(feedRSS)), "Accept-Ranges": "bytes"}},
		{name: "feed HEAD", method: http.MethodHead, path: "/feeds/" + nightShift + ".rss", wantStatus: 200, wantType: republishedType,
			wantBody: []byte{}, wantHeader: map[string]string{"Content-Length": strconv.Itoa(len(feedRSS))}},
		{name: "feed range", path: "/feeds/" + nightShift + ".rss", header: http.Header{"Range": {"bytes=0-37"}},
			wantStatus: 206, wantType: republishedType, wantBody: feedRSS[:38],
			wantHeader: map[string]string{"Content-Range": fmt.Sprintf("bytes 0-37/%d", len(feedRSS))}},
		{name: "feed suffix range", path: "/feeds/" + nightShift + ".rss", header: http.Header{"Range": {"bytes=-7"}},
			wantStatus: 206, wantBody: feedRSS[len(feedRSS)-7:]},
		{name: "feed unsatisfiable range", path: "/feeds/" + nightShift + ".rss",
			header: http.Header{"Range": {fmt.Sprintf("bytes=%d-", len(feedRSS)+10)}}, wantStatus: 416},
		{name: "feed never fetched", path: "/feeds/" + broken + ".rss", wantStatus: 404, wantType: textType, wantBody: []byte("not found\n")},
		{name: "feed unknown", path: "/feeds/99.rss", wantStatus: 404},
		{name: "feed id not a number", path: "/feeds/abc.rss", wantStatus: 400, wantType: textType, wantBody: []byte("bad request\n")},
		{name: "feed id zero", path: "/feeds/0.rss", wantStatus: 400},
		{name: "feed id negative", path: "/feeds/-1.rss", wantStatus: 400},
		{name: "feed id overflows", path: "/feeds/99999999999999999999.rss", wantStatus: 400},
		{name: "feed other suffix", path: "/feeds/" + nightShift + ".xml", wantStatus: 404},
		{name: "feed POST", method: http.MethodPost, path: "/feeds/" + nightShift + ".rss", wantStatus: 405},

		// Without a suffix, a feed's ID is its page.
		{name: "feed page", path: "/feeds/" + nightShift, wantStatus: 200, wantType: htmlType, wantSub: "<!DOCTYPE html>"},
		{name: "feed page HEAD", method: http.MethodHead, path: "/feeds/" + nightShift, wantStatus: 200, wantType: htmlType, wantBody: []byte{}},
		{name: "feed page never fetched", path: "/feeds/" + broken, wantStatus: 200, wantType: htmlType, wantSub: "No episodes yet."},
		{name: "feed page unknown", path: "/feeds/99", wantStatus: 404, wantType: textType, wantBody: []byte("not found\n")},
		{name: "feed page id not a number", path: "/feeds/abc", wantStatus: 400, wantBody: []byte("bad request\n")},
		{name: "feed page id zero", path: "/feeds/0", wantStatus: 400},
		{name: "feed page trailing slash", path: "/feeds/" + nightShift + "/", wantStatus: 404},
		{name: "feed page POST", method: http.MethodPost, path: "/feeds/" + nightShift, wantStatus: 405},

		{name: "episode page", path: "/episodes/" + ep3, header: browserAccept, wantStatus: 200, wantType: htmlType, wantSub: "<h1>Ep. 3: Seeding the Swarm</h1>"},
		{name: "episode page pending", path: "/episodes/" + ep1, header: browserAccept, wantStatus: 200, wantType: htmlType, wantSub: "No torrent yet"},
		{name: "episode page unknown", path: "/episodes/99", header: browserAccept, wantStatus: 404, wantBody: []byte("not found\n")},
		{name: "episode page bad id", path: "/episodes/ep3", header: browserAccept, wantStatus: 400},
		{name: "episode page negative id", path: "/episodes/-3", header: browserAccept, wantStatus: 400},
		{name: "episodes", path: "/episodes/", wantStatus: 404},
		{name: "episode page POST", method: http.MethodPost, path: "/episodes/" + ep3, wantStatus: 405},

		{name: "api feeds", path: "/api/v1/feeds", wantStatus: 200, wantType: jsonType, wantSub: `"feeds":[`, wantHeader: cors},
		{name: "api feeds HEAD", method: http.MethodHead, path: "/api/v1/feeds", wantStatus: 200, wantType: jsonType, wantBody: []byte{}, wantHeader: cors},
		{name: "api feed", path: "/api/v1/feeds/" + nightShift, wantStatus: 200, wantType: jsonType, wantSub: `"episodes":[`, wantHeader: cors},
		{name: "api feed unknown", path: "/api/v1/feeds/99", wantStatus: 404, wantType: jsonType, wantBody: notFoundJSON, wantHeader: cors},
		{name: "api feed bad id", path: "/api/v1/feeds/abc", wantStatus: 400, wantType: jsonType, wantBody: badRequestJSON, wantHeader: cors},
		{name: "api feed with .rss", path: "/api/v1/feeds/" + nightShift + ".rss", wantStatus: 400, wantType: jsonType},
		{name: "api episode", path: "/api/v1/episodes/" + ep3, wantStatus: 200, wantType: jsonType, wantSub: `"torrent":{`, wantHeader: cors},
		{name: "api episode pending", path: "/api/v1/episodes/" + ep1, wantStatus: 200, wantType: jsonType, wantSub: `"torrent":null`},
		{name: "api episode unknown", path: "/api/v1/episodes/99", wantStatus: 404, wantType: jsonType, wantBody: notFoundJSON, wantHeader: cors},
		{name: "api episode bad id", path: "/api/v1/episodes/0", wantStatus: 400, wantBody: badRequestJSON},
		{name: "api samples", path: "/api/v1/torrents/" + fx.ready + "/samples", wantStatus: 200, wantType: jsonType, wantSub: `"samples":[]`, wantHeader: cors},
		{name: "api samples since", path: "/api/v1/torrents/" + fx.ready + "/samples?since=2025-03-16T07:00:00Z", wantStatus: 200, wantType: jsonType,
			wantSub: `"since":"2025-03-16T07:00:00Z"`},
		{name: "api samples since with offset", path: "/api/v1/torrents/" + fx.ready + "/samples?since=2025-03-16T09:00:00%2B02:00", wantStatus: 200,
			wantSub: `"since":"2025-03-16T07:00:00Z"`},
		{name: "api samples bad since", path: "/api/v1/torrents/" + fx.ready + "/samples?since=yesterday", wantStatus: 400, wantType: jsonType,
			wantBody: badRequestJSON, wantHeader: cors},
		{name: "api samples unknown", path: "/api/v1/torrents/" + unknownIH + "/samples", wantStatus: 404, wantBody: notFoundJSON, wantHeader: cors},
		{name: "api samples not hex", path: "/api/v1/torrents/" + strings.Repeat("z", 40) + "/samples", wantStatus: 404, wantBody: notFoundJSON},
		{name: "api unknown path", path: "/api/v1/nope", wantStatus: 404, wantType: jsonType, wantBody: notFoundJSON, wantHeader: cors},
		{name: "api unknown version", path: "/api/v2/feeds", wantStatus: 404, wantType: jsonType, wantBody: notFoundJSON},
		{name: "api POST", method: http.MethodPost, path: "/api/v1/feeds", wantStatus: 405},

		{name: "torrent feed", path: "/feeds/" + nightShift + "/torrents.rss", wantStatus: 200, wantType: rssType, wantBody: torrentRSS},
		{name: "torrent feed HEAD", method: http.MethodHead, path: "/feeds/" + nightShift + "/torrents.rss", wantStatus: 200,
			wantBody: []byte{}, wantHeader: map[string]string{"Content-Length": strconv.Itoa(len(torrentRSS))}},
		{name: "torrent feed range", path: "/feeds/" + nightShift + "/torrents.rss", header: http.Header{"Range": {"bytes=5-9"}},
			wantStatus: 206, wantBody: torrentRSS[5:10]},
		{name: "torrent feed nothing ready", path: "/feeds/" + broken + "/torrents.rss", wantStatus: 200, wantType: rssType,
			wantSub: "<title>https://broken.example.net/feed.xml (torrents)</title>"},
		{name: "torrent feed unknown", path: "/feeds/99/torrents.rss", wantStatus: 404},
		{name: "torrent feed bad id", path: "/feeds/abc/torrents.rss", wantStatus: 400},

		{name: "torrent", path: "/torrents/" + fx.ready + ".torrent", wantStatus: 200, wantType: "application/x-bittorrent", wantBody: mi,
			wantHeader: map[string]string{
				"Content-Disposition": `attachment; filename="` + fx.ready + `.torrent"`,
				"Content-Length":      strconv.Itoa(len(mi)),
			}},
		{name: "torrent upper-case infohash", path: "/torrents/" + strings.ToUpper(fx.ready) + ".torrent", wantStatus: 200,
			wantBody: mi, wantHeader: map[string]string{"Content-Disposition": `attachment; filename="` + fx.ready + `.torrent"`}},
		{name: "torrent HEAD", method: http.MethodHead, path: "/torrents/" + fx.ready + ".torrent", wantStatus: 200,
			wantType: "application/x-bittorrent", wantBody: []byte{},
			wantHeader: map[string]string{"Content-Length": strconv.Itoa(len(mi))}},
		{name: "torrent range", path: "/torrents/" + fx.ready + ".torrent", header: http.Header{"Range": {"bytes=0-0"}},
			wantStatus: 206, wantBody: []byte("d")},
		{name: "torrent unknown", path: "/torrents/" + unknownIH + ".torrent", wantStatus: 404, wantBody: []byte("not found\n")},
		{name: "torrent not hex", path: "/torrents/" + strings.Repeat("z", 40) + ".torrent", wantStatus: 404},
		{name: "torrent short", path: "/torrents/" + fx.ready[:39] + ".torrent", wantStatus: 404},
		{name: "torrent long", path: "/torrents/" + fx.ready + "0.torrent", wantStatus: 404},
		{name: "torrent without suffix", path: "/torrents/" + fx.ready, wantStatus: 404},

		{name: "announce", path: "/announce?info_hash=%12%34&port=6881", wantStatus: 200,
			wantBody: []byte("fake-tracker announce info_hash=%12%34&port=6881")},
		{name: "scrape", path: "/scrape?info_hash=%12%34", wantStatus: 200,
			wantBody: []byte("fake-tracker scrape info_hash=%12%34")},
		{name: "healthz", path: "/healthz", wantStatus: 200, wantType: textType, wantBody: []byte("ok\n")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body := mustDo(t, srv, method, tt.path, tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: got status %d, want %d; body:\n%s", method, tt.path, resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantType != "" {
				if got := resp.Header.Get("Content-Type"); got != tt.wantType {
					t.Errorf("Content-Type: got %q, want %q", got, tt.wantType)
				}
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Errorf("body: got %q, want %q", body, tt.wantBody)
			}
			if tt.wantSub != "" && !bytes.Contains(body, []byte(tt.wantSub)) {
				t.Errorf("body lacks %q:\n%s", tt.wantSub, body)
			}
			for k, want := range tt.wantHeader {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
		})
	}
	if s := logs.String(); s != "" {
		t.Errorf("client errors were logged:\n%s", s)
	}
}

// TestCatalogErrors checks that a failing catalog becomes a 500 with a
// generic body, its cause logged but not shown.
func TestCatalogErrors(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	const secret = "/var/lib/podseed/podseed.db: database disk image is malformed"
	errSecret := errors.New(secret)

	for _, tt := range []struct {
		name   string
		method string // which catalog method fails
		err    error
		path   string
	}{
		{"list feeds", "ListFeeds", errSecret, "/"},
		{"list episodes", "ListEpisodesByFeed", errSecret, "/"},
		{"feed", "FeedRSS", fmt.Errorf("rewrite feed %d: %w", fx.nightShift.ID, errSecret), fmt.Sprintf("/feeds/%d.rss", fx.nightShift.ID)},
		{"torrent feed", "TorrentFeedRSS", errSecret, fmt.Sprintf("/feeds/%d/torrents.rss", fx.nightShift.ID)},
		{"torrent", "TorrentFile", errSecret, "/torrents/" + fx.ready + ".torrent"},
		{"feed page feed", "FindFeedByID", errSecret, fmt.Sprintf("/feeds/%d", fx.nightShift.ID)},
		{"feed page episodes", "ListEpisodesByFeed", errSecret, fmt.Sprintf("/feeds/%d", fx.nightShift.ID)},
		{"feed page samples", "ListSwarmSamples", errSecret, fmt.Sprintf("/feeds/%d", fx.nightShift.ID)},
		{"episode page episode", "FindEpisodeByID", errSecret, fmt.Sprintf("/episodes/%d", fx.ep3.ID)},
		{"episode page feed", "FindFeedByID", errSecret, fmt.Sprintf("/episodes/%d", fx.ep3.ID)},
		{"episode page torrent", "FindTorrentByInfoHash", errSecret, fmt.Sprintf("/episodes/%d", fx.ep3.ID)},
		{"episode page samples", "ListSwarmSamples", errSecret, fmt.Sprintf("/episodes/%d", fx.ep3.ID)},
		{"api feeds", "ListFeeds", errSecret, "/api/v1/feeds"},
		{"api feed", "FindFeedByID", errSecret, fmt.Sprintf("/api/v1/feeds/%d", fx.nightShift.ID)},
		{"api feed episodes", "ListEpisodesByFeed", errSecret, fmt.Sprintf("/api/v1/feeds/%d", fx.nightShift.ID)},
		{"api episode", "FindEpisodeByID", errSecret, fmt.Sprintf("/api/v1/episodes/%d", fx.ep3.ID)},
		{"api episode torrent", "FindTorrentByInfoHash", errSecret, fmt.Sprintf("/api/v1/episodes/%d", fx.ep3.ID)},
		{"api episode samples", "ListSwarmSamples", errSecret, fmt.Sprintf("/api/v1/episodes/%d", fx.ep3.ID)},
		{"api samples torrent", "FindTorrentByInfoHash", errSecret, "/api/v1/torrents/" + fx.ready + "/samples"},
		{"api samples", "ListSwarmSamples", errSecret, "/api/v1/torrents/" + fx.ready + "/samples"},
		// A cancellation that is not the client's (the request is still
		// there to be answered) is a server error, not silence.
		{"canceled not by the client", "FeedRSS", fmt.Errorf("publish %s: %w", secret, context.Canceled), fmt.Sprintf("/feeds/%d.rss", fx.nightShift.ID)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cat := newTestCatalog(fx)
			cat.fail = map[string]error{tt.method: tt.err}
			logs := &lockedBuffer{}
			srv := mustServe(t, cat, swarmCounts(fx), logs)

			resp, body := mustDo(t, srv, http.MethodGet, tt.path, browserAccept)
			if got, want := resp.StatusCode, http.StatusInternalServerError; got != want {
				t.Fatalf("got status %d, want %d; body:\n%s", got, want, body)
			}
			wantBody, wantType := "internal server error\n", "text/plain; charset=utf-8"
			if strings.HasPrefix(tt.path, "/api/") {
				wantBody, wantType = `{"error":"internal server error"}`+"\n", "application/json"
			}
			if got := string(body); got != wantBody {
				t.Errorf("body: got %q, want %q", got, wantBody)
			}
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type: got %q, want %q", got, wantType)
			}
			if got := resp.Header.Get("Content-Disposition"); got != "" {
				t.Errorf("Content-Disposition: got %q, want none", got)
			}
			if log := logs.String(); !strings.Contains(log, "malformed") || !strings.Contains(log, "path="+tt.path) {
				t.Errorf("log lacks the cause and path:\n%s", log)
			}
		})
	}
}

// recordingWriter records whether a handler answered at all.
type recordingWriter struct {
	header  http.Header
	status  int
	written int
}

func (w *recordingWriter) Header() http.Header { return w.header }

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.written += len(p)
	return len(p), nil
}

// TestClientGone checks that a request whose client went away, so the
// store fails with the request's context.Canceled, gets no answer and
// logs no error.
func TestClientGone(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	for _, path := range []string{
		"/",
		fmt.Sprintf("/feeds/%d.rss", fx.nightShift.ID),
		fmt.Sprintf("/feeds/%d/torrents.rss", fx.nightShift.ID),
		"/torrents/" + fx.ready + ".torrent",
		fmt.Sprintf("/feeds/%d", fx.nightShift.ID),
		fmt.Sprintf("/episodes/%d", fx.ep3.ID),
		"/api/v1/feeds",
		fmt.Sprintf("/api/v1/feeds/%d", fx.nightShift.ID),
		fmt.Sprintf("/api/v1/episodes/%d", fx.ep3.ID),
		"/api/v1/torrents/" + fx.ready + "/samples",
	} {
		t.Run(path, func(t *testing.T) {
			logs := &lockedBuffer{}
			h := mustNewHandler(t, newTestCatalog(fx), swarmCounts(fx), logs)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://podseed.test"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := &recordingWriter{header: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != 0 || w.written != 0 {
				t.Errorf("got status %d and %d bytes, want no answer", w.status, w.written)
			}
			if s := logs.String(); s != "" {
				t.Errorf("got log %q, want none", s)
			}
		})
	}
}

// TestNewHandlerIsReusable checks that one handler serves concurrent
// requests (run with -race).
func TestNewHandlerIsReusable(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	mustAddSamples(t, fx)
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{}, atSampleNow())
	paths := []string{"/", fmt.Sprintf("/feeds/%d.rss", fx.nightShift.ID), "/torrents/" + fx.ready + ".torrent", "/healthz",
		fmt.Sprintf("/feeds/%d", fx.nightShift.ID), fmt.Sprintf("/episodes/%d", fx.ep3.ID),
		fmt.Sprintf("/api/v1/feeds/%d", fx.nightShift.ID), fmt.Sprintf("/api/v1/episodes/%d", fx.ep3.ID),
		"/api/v1/torrents/" + fx.ready + "/samples"}
	errs := make(chan error, 4*len(paths))
	for range 4 {
		for _, p := range paths {
			go func() {
				req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
				if err != nil {
					errs <- err
					return
				}
				req.Header = browserAccept.Clone() // /episodes/{id}: the page
				resp, err := srv.Client().Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("GET %s: got status %d, want 200", p, resp.StatusCode)
					return
				}
				errs <- nil
			}()
		}
	}
	for range 4 * len(paths) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
