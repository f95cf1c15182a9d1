package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newOrigin starts a feed origin on 127.0.0.1 that is closed when the test
// ends.
func newOrigin(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// mustFetch fetches req and fails tb on error.
func mustFetch(tb testing.TB, f *Fetcher, req Request) Result {
	tb.Helper()
	res, err := f.Fetch(context.Background(), req)
	if err != nil {
		tb.Fatalf("Fetch: %v", err)
	}
	return res
}

// headerLog records the request headers an origin saw.
type headerLog struct {
	mu   sync.Mutex
	seen []http.Header
}

func (l *headerLog) add(h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, h.Clone())
}

func (l *headerLog) last(tb testing.TB) http.Header {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		tb.Fatal("origin saw no request")
	}
	return l.seen[len(l.seen)-1]
}

func TestFetchConditional(t *testing.T) {
	body := mustReadTestdata(t, "top-podcasts/1488434518.xml")
	const (
		etag    = `"v1-abc"`
		lastMod = "Sat, 01 Feb 2025 11:48:38 GMT"
	)
	var log headerLog
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r.Header)
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = w.Write(body)
	}))
	f := &Fetcher{}

	first := mustFetch(t, f, Request{URL: srv.URL + "/feed.xml"})
	if first.NotModified {
		t.Fatal("first fetch: got NotModified, want a body")
	}
	if first.StatusCode != http.StatusOK {
		t.Errorf("StatusCode: got %d, want %d", first.StatusCode, http.StatusOK)
	}
	if !bytes.Equal(first.Body, body) {
		t.Errorf("Body: got %d bytes, want the %d bytes served", len(first.Body), len(body))
	}
	if first.ETag != etag || first.LastModified != lastMod {
		t.Errorf("validators: got %q, %q, want %q, %q", first.ETag, first.LastModified, etag, lastMod)
	}
	if want := srv.URL + "/feed.xml"; first.FinalURL != want {
		t.Errorf("FinalURL: got %q, want %q", first.FinalURL, want)
	}
	h := log.last(t)
	if got := h.Get("If-None-Match") + h.Get("If-Modified-Since"); got != "" {
		t.Errorf("first request sent validators %q, want none", got)
	}
	if got := h.Get("User-Agent"); got != DefaultUserAgent {
		t.Errorf("User-Agent: got %q, want %q", got, DefaultUserAgent)
	}
	if got := h.Get("Accept"); !strings.Contains(got, "application/rss+xml") || !strings.Contains(got, "application/atom+xml") {
		t.Errorf("Accept: got %q, want RSS and Atom types", got)
	}

	second := mustFetch(t, f, Request{URL: srv.URL + "/feed.xml", ETag: first.ETag, LastModified: first.LastModified})
	h = log.last(t)
	if got := h.Get("If-None-Match"); got != etag {
		t.Errorf("If-None-Match: got %q, want %q", got, etag)
	}
	if got := h.Get("If-Modified-Since"); got != lastMod {
		t.Errorf("If-Modified-Since: got %q, want %q", got, lastMod)
	}
	if !second.NotModified || second.StatusCode != http.StatusNotModified {
		t.Errorf("second fetch: got NotModified %v, status %d, want true, 304", second.NotModified, second.StatusCode)
	}
	if len(second.Body) != 0 {
		t.Errorf("Body on 304: got %d bytes, want 0", len(second.Body))
	}
	if second.ETag != etag || second.LastModified != lastMod {
		t.Errorf("validators on 304: got %q, %q, want %q, %q", second.ETag, second.LastModified, etag, lastMod)
	}
}

// TestFetchNotModifiedValidators checks which validators a 304 hands back:
// the response's when it carries them, else the request's.
func TestFetchNotModifiedValidators(t *testing.T) {
	tests := []struct {
		name             string
		respETag         string
		respLastModified string
		wantETag         string
		wantLastModified string
	}{
		{name: "304 without validators echoes the request", wantETag: `W/"old"`, wantLastModified: "Mon, 02 Jan 2006 15:04:05 GMT"},
		{name: "304 with a new ETag", respETag: `"new"`, wantETag: `"new"`, wantLastModified: "Mon, 02 Jan 2006 15:04:05 GMT"},
		{
			name: "304 with both", respETag: `"new"`, respLastModified: "Tue, 03 Jan 2006 15:04:05 GMT",
			wantETag: `"new"`, wantLastModified: "Tue, 03 Jan 2006 15:04:05 GMT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.respETag != "" {
					w.Header().Set("ETag", tt.respETag)
				}
				if tt.respLastModified != "" {
					w.Header().Set("Last-Modified", tt.respLastModified)
				}
				w.WriteHeader(http.StatusNotModified)
			}))
			res := mustFetch(t, &Fetcher{}, Request{URL: srv.URL, ETag: `W/"old"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"})
			if !res.NotModified {
				t.Fatal("got NotModified false, want true")
			}
			if res.ETag != tt.wantETag || res.LastModified != tt.wantLastModified {
				t.Errorf("validators: got %q, %q, want %q, %q", res.ETag, res.LastModified, tt.wantETag, tt.wantLastModified)
			}
		})
	}
}

func TestFetchGzip(t *testing.T) {
	body := mustReadTestdata(t, "partytime-fixtures/real-world__no-agenda.xml")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var log headerLog
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r.Header)
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = w.Write(body)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(gz.Len()))
		_, _ = w.Write(gz.Bytes())
	}))

	// The cap applies to the decoded body: the compressed one would fit.
	f := &Fetcher{MaxBytes: int64(len(body))}
	res := mustFetch(t, f, Request{URL: srv.URL})
	if got := log.last(t).Get("Accept-Encoding"); !strings.Contains(got, "gzip") {
		t.Errorf("Accept-Encoding: got %q, want gzip", got)
	}
	if !bytes.Equal(res.Body, body) {
		t.Errorf("Body: got %d bytes, want the %d decoded bytes", len(res.Body), len(body))
	}

	small := &Fetcher{MaxBytes: int64(gz.Len()) + 1}
	_, err := small.Fetch(context.Background(), Request{URL: srv.URL})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("decoded body over MaxBytes: got %v, want %v", err, ErrTooLarge)
	}
}

func TestFetchMaxBytes(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name    string
		size    int
		chunked bool // no Content-Length: the cap must hold while reading
		wantErr error
	}{
		{name: "exactly the limit", size: limit},
		{name: "one over, with Content-Length", size: limit + 1, wantErr: ErrTooLarge},
		{name: "one over, chunked", size: limit + 1, chunked: true, wantErr: ErrTooLarge},
		{name: "far over, chunked", size: 1 << 20, chunked: true, wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tt.size)
			srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				} else if fl, ok := w.(http.Flusher); ok {
					fl.Flush() // send headers without a length
				}
				_, _ = w.Write(body)
			}))
			f := &Fetcher{MaxBytes: limit}
			res, err := f.Fetch(context.Background(), Request{URL: srv.URL})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && len(res.Body) != tt.size {
				t.Errorf("Body: got %d bytes, want %d", len(res.Body), tt.size)
			}
			if tt.wantErr != nil && !strings.HasPrefix(err.Error(), "fetch feed ") {
				t.Errorf("error: got %q, want prefix %q", err, "fetch feed ")
			}
		})
	}
}

func TestFetchStatusError(t *testing.T) {
	now := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		status         int
		retryAfter     string
		wantRetryAfter time.Duration
	}{
		{name: "503 with seconds", status: http.StatusServiceUnavailable, retryAfter: "120", wantRetryAfter: 2 * time.Minute},
		{name: "429 with HTTP date", status: http.StatusTooManyRequests, retryAfter: "Sat, 01 Feb 2025 13:30:00 GMT", wantRetryAfter: 90 * time.Minute},
		{name: "503 with a past date", status: http.StatusServiceUnavailable, retryAfter: "Sat, 01 Feb 2025 11:00:00 GMT"},
		{name: "500 with garbage", status: http.StatusInternalServerError, retryAfter: "soon"},
		{name: "404 without Retry-After", status: http.StatusNotFound},
		{name: "410 Gone", status: http.StatusGone},
		{name: "300 is not followed", status: http.StatusMultipleChoices},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, "go away", tt.status)
			}))
			f := &Fetcher{now: func() time.Time { return now }}
			res, err := f.Fetch(context.Background(), Request{URL: srv.URL + "/feed"})
			var statusErr *HTTPStatusError
			if !errors.As(err, &statusErr) {
				t.Fatalf("got result %+v, error %v, want *HTTPStatusError", res, err)
			}
			if statusErr.StatusCode != tt.status {
				t.Errorf("StatusCode: got %d, want %d", statusErr.StatusCode, tt.status)
			}
			if statusErr.RetryAfter != tt.wantRetryAfter {
				t.Errorf("RetryAfter: got %v, want %v", statusErr.RetryAfter, tt.wantRetryAfter)
			}
			if want := srv.URL + "/feed"; statusErr.URL != want {
				t.Errorf("URL: got %q, want %q", statusErr.URL, want)
			}
			wantMsg := "fetch feed " + strconv.Quote(srv.URL+"/feed") + ": http status " + strconv.Itoa(tt.status)
			if !strings.HasPrefix(err.Error(), wantMsg) {
				t.Errorf("error: got %q, want prefix %q", err, wantMsg)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{" 30 ", 30 * time.Second},
		{"3600", time.Hour},
		{"1.5", 0},
		{"99999999999999999", time.Duration(1<<63 - 1)},
		{"Sat, 01 Feb 2025 12:00:10 GMT", 10 * time.Second},      // IMF-fixdate
		{"Saturday, 01-Feb-25 12:01:00 GMT", time.Minute},        // obsolete RFC 850
		{"Sat Feb  1 13:00:00 2025", time.Hour},                  // obsolete asctime
		{"Sat, 01 Feb 2025 11:59:59 GMT", 0},                     // past
		{"2025-02-01T13:00:00Z", 0},                              // not an HTTP-date
		{"Sat, 01 Feb 2025 12:00:10 +0000 (invalid trailer)", 0}, // not an HTTP-date
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFetchRedirect(t *testing.T) {
	body := mustReadTestdata(t, "podcastparser-tests-data/relative.rss")
	mux := http.NewServeMux()
	mux.Handle("/old", http.RedirectHandler("/moved", http.StatusMovedPermanently))
	mux.Handle("/moved", http.RedirectHandler("/new/feed.rss", http.StatusFound))
	mux.HandleFunc("/new/feed.rss", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"n"`)
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := newOrigin(t, mux)
	f := &Fetcher{}

	res := mustFetch(t, f, Request{URL: srv.URL + "/old"})
	if want := srv.URL + "/new/feed.rss"; res.FinalURL != want {
		t.Errorf("FinalURL: got %q, want %q", res.FinalURL, want)
	}
	if res.StatusCode != http.StatusOK || res.ETag != `"n"` {
		t.Errorf("got status %d, ETag %q, want 200, %q", res.StatusCode, res.ETag, `"n"`)
	}
	// FinalURL is the base for relative enclosure URLs.
	feed := mustParse(t, res.Body, res.FinalURL)
	if want := srv.URL + "/new/example.mp3"; len(feed.Episodes) != 1 || feed.Episodes[0].Enclosure.URL != want {
		t.Errorf("episodes: got %+v, want one with enclosure %q", feed.Episodes, want)
	}

	_, err := f.Fetch(context.Background(), Request{URL: srv.URL + "/loop"})
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Errorf("redirect loop: got %v, want an error after %d redirects", err, MaxRedirects)
	}
}

func TestFetchRedactsCredentials(t *testing.T) {
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "alice" || pass != "s3cret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		http.Error(w, "broken", http.StatusBadGateway)
	}))
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more

	withCreds := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("alice", "s3cret")
		return u.String()
	}
	tests := []struct {
		name string
		url  string
	}{
		{name: "status error", url: withCreds(srv.URL + "/private.xml")},
		{name: "connection refused", url: withCreds(closed.URL + "/private.xml")},
		{name: "invalid URL", url: "http://alice:s3cret@exa mple.test/feed"},
		{name: "invalid URL without host", url: "http://alice:s3cret@/%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&Fetcher{}).Fetch(context.Background(), Request{URL: tt.url})
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "alice") {
				t.Errorf("error %q leaks credentials", msg)
			}
			var statusErr *HTTPStatusError
			if errors.As(err, &statusErr) {
				if statusErr.StatusCode != http.StatusBadGateway {
					t.Errorf("StatusCode: got %d, want %d (credentials sent as Basic auth)", statusErr.StatusCode, http.StatusBadGateway)
				}
				if strings.Contains(statusErr.URL, "s3cret") || strings.Contains(statusErr.URL, "alice") {
					t.Errorf("HTTPStatusError.URL %q leaks credentials", statusErr.URL)
				}
			}
		})
	}
}

func TestFetchContextCanceled(t *testing.T) {
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<rss/>"))
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Fetcher{}).Fetch(ctx, Request{URL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
}

// TestFetchClientTimeout checks that a caller's client, here with a short
// timeout against an origin that stalls, is used and its error returned.
func TestFetchClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	f := &Fetcher{Client: &http.Client{Timeout: 50 * time.Millisecond}, UserAgent: "test-agent/1"}
	_, err := f.Fetch(context.Background(), Request{URL: srv.URL})
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("got %v, want a timeout error", err)
	}
}

func TestFetchUserAgent(t *testing.T) {
	var log headerLog
	srv := newOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r.Header)
		_, _ = w.Write([]byte("<rss/>"))
	}))
	mustFetch(t, &Fetcher{Client: srv.Client(), UserAgent: "test-agent/1"}, Request{URL: srv.URL})
	if got := log.last(t).Get("User-Agent"); got != "test-agent/1" {
		t.Errorf("User-Agent: got %q, want %q", got, "test-agent/1")
	}
}
