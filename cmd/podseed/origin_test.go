package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testOrigin is a podcast host on 127.0.0.1: it serves one feed and its
// enclosures (with Range support, like a CDN), counts requests, and can be
// stopped and started again on the same address.
type testOrigin struct {
	t      testing.TB
	addr   string
	feed   []byte            // feed body, enclosure URLs pointing here
	files  map[string]string // URL path → local file
	mu     sync.Mutex
	gets   map[string]int // URL path → GET count
	full   map[string]int // URL path → GETs without a Range header (whole downloads)
	srv    *http.Server
	served chan struct{}
}

// newTestOrigin serves feed (with "https://traffic.megaphone.fm/" replaced
// by its own media URL prefix) and one generated file per enclosure, of the
// given sizes in bytes, in document order.
func newTestOrigin(t testing.TB, feedTemplate []byte, sizes []int64) *testOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &testOrigin{t: t, addr: ln.Addr().String(), files: map[string]string{}, gets: map[string]int{}, full: map[string]int{}}
	o.feed = bytes.ReplaceAll(feedTemplate, []byte("https://traffic.megaphone.fm/"), []byte(o.URL("/media/")))
	dir := t.TempDir()
	rest := o.feed
	for i, size := range sizes {
		_, after, ok := bytes.Cut(rest, []byte(`<enclosure url="`+o.URL("/media/")))
		if !ok {
			t.Fatalf("feed has fewer than %d enclosures", len(sizes))
		}
		name, _, _ := bytes.Cut(after, []byte(`?`))
		rest = after
		p := filepath.Join(dir, string(name))
		writeRandomFile(t, p, size, uint64(i+1))
		o.files["/media/"+string(name)] = p
	}
	o.start(ln)
	t.Cleanup(o.Stop)
	return o
}

// writeRandomFile writes size deterministic pseudo-random bytes.
func writeRandomFile(tb testing.TB, p string, size int64, seed uint64) {
	tb.Helper()
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{byte(seed)})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		_, _ = r.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			tb.Fatal(err)
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// URL returns the origin's absolute URL for path p.
func (o *testOrigin) URL(p string) string { return "http://" + o.addr + p }

func (o *testOrigin) start(ln net.Listener) {
	mux := http.NewServeMux()
	modified := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	mux.HandleFunc("GET /feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("ETag", `"feed-v1"`)
		http.ServeContent(w, r, "", modified, bytes.NewReader(o.feed))
	})
	mux.HandleFunc("GET /media/", func(w http.ResponseWriter, r *http.Request) {
		p, ok := o.files[path.Clean(r.URL.Path)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			o.mu.Lock()
			o.gets[r.URL.Path]++
			if r.Header.Get("Range") == "" {
				o.full[r.URL.Path]++
			}
			o.mu.Unlock()
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		http.ServeFile(w, r, p)
	})
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	o.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.t.Errorf("origin: %v", err)
		}
	}(o.srv, o.served)
}

// Stop closes the origin, so connections are refused.
func (o *testOrigin) Stop() {
	if o.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := o.srv.Shutdown(ctx); err != nil {
		_ = o.srv.Close() // a client still streaming: cut it off
	}
	<-o.served
	o.srv = nil
}

// Start serves again on the same address.
func (o *testOrigin) Start() {
	o.t.Helper()
	if o.srv != nil {
		return
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		o.t.Fatalf("restart origin on %s: %v", o.addr, err)
	}
	o.start(ln)
}

// MediaGETs returns the number of GET requests for enclosures so far.
func (o *testOrigin) MediaGETs() int { return o.total(o.gets) }

// FullGETs returns the number of GET requests for whole enclosures (no
// Range header) so far.
func (o *testOrigin) FullGETs() int { return o.total(o.full) }

// total sums one of the origin's per-path counters.
func (o *testOrigin) total(counts map[string]int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// FilePath returns the local file behind an enclosure URL.
func (o *testOrigin) FilePath(enclosureURL string) string {
	p := strings.TrimPrefix(enclosureURL, "http://"+o.addr)
	p, _, _ = strings.Cut(p, "?")
	return o.files[p]
}
