package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// openTestApp opens (without running) an app on loopback for pipeline tests.
func openTestApp(t *testing.T) *App {
	t.Helper()
	a, err := Open(context.Background(), Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1",
		PollInterval: time.Hour, AllowPrivateAddresses: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

const movedFeed = `<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>moved</title>%s</channel></rss>`

func TestPollFollowsFeedMoves(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old.xml":
			http.Redirect(w, r, "/new.xml", http.StatusMovedPermanently)
		case "/temp.xml":
			http.Redirect(w, r, "/new.xml", http.StatusFound)
		case "/itunes.xml":
			_, _ = w.Write([]byte(strings.Replace(movedFeed, "%s", "<itunes:new-feed-url>"+srv.URL+"/new.xml</itunes:new-feed-url>", 1)))
		case "/new.xml":
			_, _ = w.Write([]byte(strings.Replace(movedFeed, "%s", "", 1)))
		}
	}))
	defer srv.Close()
	tests := []struct {
		name, path, wantPath string
	}{
		{"301 moves", "/old.xml", "/new.xml"},
		{"302 does not move", "/temp.xml", "/temp.xml"},
		{"itunes:new-feed-url moves", "/itunes.xml", "/new.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openTestApp(t)
			ctx := context.Background()
			f, _, err := a.Store().CreateFeed(ctx, srv.URL+tt.path)
			if err != nil {
				t.Fatal(err)
			}
			a.pollFeeds(ctx, true)
			got := mustFindFeed(t, a.Store(), f.ID)
			if want := srv.URL + tt.wantPath; got.URL != want {
				t.Errorf("feed URL %s, want %s", got.URL, want)
			}
			if got.Title != "moved" || got.LastError != "" {
				t.Errorf("feed title %q, error %q: want a recorded fetch", got.Title, got.LastError)
			}
			if got.ID != f.ID {
				t.Errorf("feed ID changed: %d, want %d", got.ID, f.ID)
			}
		})
	}
}

// TestPollBackoff: a failing feed is kept, its failures counted and its
// next poll pushed further out each time; Retry-After is honoured; a
// success resets it.
func TestPollBackoff(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/retry-after.xml" {
			w.Header().Set("Retry-After", "7200")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		if fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(strings.Replace(movedFeed, "%s", "", 1)))
	}))
	defer srv.Close()
	a := openTestApp(t)
	ctx := context.Background()
	f, _, err := a.Store().CreateFeed(ctx, srv.URL+"/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	var lastWait time.Duration
	for i := 1; i <= 4; i++ {
		before := time.Now()
		if err := a.pollFeed(ctx, mustFindFeed(t, a.Store(), f.ID)); err == nil {
			t.Fatalf("poll %d: want an error", i)
		}
		got := mustFindFeed(t, a.Store(), f.ID)
		if got.Failures != i || got.LastError == "" {
			t.Fatalf("poll %d: failures %d, error %q", i, got.Failures, got.LastError)
		}
		wait := got.NextPollAt.Sub(before)
		if wait <= lastWait {
			t.Errorf("poll %d: next poll in %v, want more than the previous %v", i, wait, lastWait)
		}
		lastWait = wait
	}
	fail.Store(false)
	if err := a.pollFeed(ctx, mustFindFeed(t, a.Store(), f.ID)); err != nil {
		t.Fatal(err)
	}
	if got := mustFindFeed(t, a.Store(), f.ID); got.Failures != 0 || got.LastError != "" {
		t.Errorf("after success: failures %d, error %q; want reset", got.Failures, got.LastError)
	}

	r, _, err := a.Store().CreateFeed(ctx, srv.URL+"/retry-after.xml")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	_ = a.pollFeed(ctx, r)
	if wait := mustFindFeed(t, a.Store(), r.ID).NextPollAt.Sub(before); wait < 2*time.Hour || wait > 2*time.Hour*11/10+time.Minute {
		t.Errorf("after 429 Retry-After 7200: next poll in %v, want 2 h plus at most 10 %% jitter", wait)
	}
	feeds, err := a.Store().ListFeeds(ctx)
	if err != nil || len(feeds) != 2 {
		t.Errorf("feeds %v (%v): failing feeds must be kept", feeds, err)
	}
}

// TestHealthz: ok while the store and client work, 503 once the store is
// closed.
func TestHealthz(t *testing.T) {
	a := openTestApp(t)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		a.srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: got %d %q, want 200 ok", code, body)
	}
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "database not writable") {
		t.Errorf("store closed: got %d %q, want 503 database not writable", code, body)
	}
}

// TestHealthzClientClosed: 503 "torrent client not listening" once the
// torrent client has stopped, while the store still works.
func TestHealthzClientClosed(t *testing.T) {
	a := openTestApp(t)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		a.srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: got %d %q, want 200 ok", code, body)
	}
	if err := a.client.Close(); err != nil { // App.Close closes it again: harmless
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusServiceUnavailable || body != "torrent client not listening\n" {
		t.Errorf("client closed: got %d %q, want 503 %q", code, body, "torrent client not listening\n")
	}
}

// TestOpenFailureClosesWhatItOpened: an Open that fails half-way (here the
// BitTorrent port is taken) returns the error and no app, closing what it
// had opened without panicking (its deferred cleanup used to call Close on
// the nil app `return nil, err` had just set), and the data directory can
// be opened again.
func TestOpenFailureClosesWhatItOpened(t *testing.T) {
	first := openTestApp(t)
	dataDir := t.TempDir()
	a, err := Open(context.Background(), Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1", BTPort: first.Client().ListenPort(),
		UDPTracker: "off", PollInterval: time.Hour,
	})
	if err == nil {
		a.Close()
		t.Fatal("Open with a taken BitTorrent port: got nil error")
	}
	if a != nil {
		t.Errorf("failed Open returned an app")
	}
	a, err = Open(context.Background(), Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1", UDPTracker: "off", PollInterval: time.Hour,
	})
	if err != nil {
		t.Fatalf("Open after a failed Open: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
}
