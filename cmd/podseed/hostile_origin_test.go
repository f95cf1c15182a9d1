package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

// hostileFeed is a one-item feed whose enclosure is at enclosureURL.
func hostileFeed(title, enclosureURL string, length int) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title>`+
		`<item><title>one</title><guid>%s-1</guid><enclosure url="%s" length="%d" type="audio/mpeg"/></item>`+
		`</channel></rss>`, title, title, enclosureURL, length)
}

// TestOriginRefusesHEAD polls and ingests from an origin that answers
// every HEAD with 405 Method Not Allowed, as some podcast hosts do:
// podseed never needs HEAD (lengths come from the GET it hashes, the web
// seed check uses ranged GETs), so the episode is ready with its web seed.
func TestOriginRefusesHEAD(t *testing.T) {
	data := make([]byte, 300_000)
	_, _ = rand.NewChaCha8([32]byte{4, 0, 5}).Read(data)
	var heads, gets atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads.Add(1)
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		gets.Add(1)
		switch r.URL.Path {
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write(hostileFeed("nohead", srv.URL+"/ep.mp3", 0)) // no length: none declared
		case "/ep.mp3":
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	a := openTestApp(t)
	ctx := context.Background()
	f := mustAddAndIngest(t, a, srv.URL+"/feed.xml")
	ready := readyEpisodes(t, a.Store(), f.ID)
	if len(ready) != 1 {
		eps, _ := a.Store().ListEpisodesByFeed(ctx, f.ID)
		t.Fatalf("got %d ready episodes, want 1: %+v", len(ready), eps)
	}
	tor, err := a.Store().FindTorrentByInfoHash(ctx, ready[0].InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if tor.Size != int64(len(data)) || tor.WebSeedWithheld != "" {
		t.Errorf("torrent: size %d, web seed withheld %q; want %d bytes with its web seed", tor.Size, tor.WebSeedWithheld, len(data))
	}
	if n := heads.Load(); n != 0 {
		t.Errorf("podseed sent %d HEAD requests, want 0", n)
	}
	if gets.Load() < 2 {
		t.Errorf("origin saw %d GETs, want the feed and the enclosure", gets.Load())
	}
}

// slowLoris serves a response the slow way: headers, then one byte per
// tick of body (a feed that never ends), or no headers at all (holding
// the request until the client gives up). It stops when the client goes
// away or the test ends.
type slowLoris struct {
	done     chan struct{}
	mu       sync.Mutex
	gaveUp   int // requests whose client went away
	inFlight sync.WaitGroup
}

func newSlowLoris(t *testing.T) *slowLoris {
	s := &slowLoris{done: make(chan struct{})}
	t.Cleanup(func() { close(s.done); s.inFlight.Wait() })
	return s
}

// trickle writes headers and then a byte every tick.
func (s *slowLoris) trickle(w http.ResponseWriter, r *http.Request, contentType string, body []byte, tick time.Duration) {
	s.inFlight.Add(1)
	defer s.inFlight.Done()
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i := 0; ; i++ {
		select {
		case <-r.Context().Done():
			s.mu.Lock()
			s.gaveUp++
			s.mu.Unlock()
			return
		case <-s.done:
			return
		case <-time.After(tick):
		}
		_, _ = w.Write(body[i%len(body) : i%len(body)+1])
		_ = rc.Flush()
	}
}

// silent holds the request without answering.
func (s *slowLoris) silent(r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Done()
	select {
	case <-r.Context().Done():
		s.mu.Lock()
		s.gaveUp++
		s.mu.Unlock()
	case <-s.done:
	}
}

func (s *slowLoris) clientsGaveUp() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gaveUp
}

// TestSlowLorisOrigin: a feed whose body trickles in forever fails at the
// feed client's whole-request timeout, is recorded as a failed poll with
// a backoff, and does not hold up the other feeds of the same pass; an
// enclosure whose response headers never come fails at the ingest
// client's header timeout, is recorded with a retry time, and leaves
// nothing behind. The app's timeouts (1 min per feed, 30 s for headers)
// are shortened on its clients to keep the test short.
func TestSlowLorisOrigin(t *testing.T) {
	loris := newSlowLoris(t)
	data := make([]byte, 100_000)
	_, _ = rand.NewChaCha8([32]byte{5, 1, 0}).Read(data)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow.xml": // a feed that trickles forever
			loris.trickle(w, r, "application/rss+xml", []byte("<rss version=\"2.0\"><channel><title>"), 100*time.Millisecond)
		case "/ok.xml": // a sound feed whose enclosure never answers
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write(hostileFeed("ok", srv.URL+"/silent.mp3", len(data)))
		case "/silent.mp3":
			loris.silent(r)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	a := openTestApp(t)
	a.fetcher.Client.Timeout = 2 * time.Second
	a.ingestHTTP.Transport.(*http.Transport).ResponseHeaderTimeout = time.Second
	ctx := context.Background()
	slow, _, err := a.Store().CreateFeed(ctx, srv.URL+"/slow.xml")
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := a.Store().CreateFeed(ctx, srv.URL+"/ok.xml")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a.pollFeeds(ctx, true)

	got := mustFindFeed(t, a.Store(), slow.ID)
	if got.Failures != 1 || !strings.Contains(got.LastError, "Client.Timeout") || !got.NextPollAt.After(start) {
		t.Errorf("trickling feed: %d failures, error %q, next poll %v; want 1 failure with a client timeout and a later poll",
			got.Failures, got.LastError, got.NextPollAt)
	}
	if got := mustFindFeed(t, a.Store(), ok.ID); got.LastError != "" || got.Title != "ok" {
		t.Errorf("sound feed beside it: error %q, title %q; want polled", got.LastError, got.Title)
	}

	a.ingestPending(ctx)
	eps, err := a.Store().ListEpisodesByFeed(ctx, ok.ID)
	if err != nil || len(eps) != 1 {
		t.Fatalf("episodes: %+v, %v", eps, err)
	}
	e := eps[0]
	if e.State != store.EpisodeFailed || !strings.Contains(e.LastError, "timeout awaiting response headers") || !e.NextAttemptAt.After(start) {
		t.Errorf("silent enclosure: state %s, error %q, next attempt %v; want failed on the header timeout, retried later",
			e.State, e.LastError, e.NextAttemptAt)
	}
	diskFullCheckEmpty(t, filepath.Join(a.cfg.DataDir, "tmp"))
	diskFullCheckEmpty(t, filepath.Join(a.cfg.DataDir, "files"))
	waitFor(t, 10*time.Second, "the origin to see both clients give up", func() bool {
		return loris.clientsGaveUp() >= 2
	})
}
