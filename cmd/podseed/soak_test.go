//go:build !race

// The soak test is built without the race detector only: under -race,
// 4,000 torrents take over five minutes on two cores to reach steady state,
// too long for the README's test command. .ci/run runs it in a separate
// `go test` without -race.

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Soak test size: soakFeeds feeds of soakEpisodes episodes each, every
// enclosure soakEnclosureBytes long (distinct bytes, so 4,000 torrents).
const (
	soakFeeds          = 200
	soakEpisodes       = 20
	soakEnclosureBytes = 3<<10 + 17
	// soakCycles is how many full poll cycles run after steady state.
	soakCycles = 4
	// Growth allowed between the first and the last measurement: idle
	// keep-alive connections, tracker announces and timers come and go,
	// a leak per feed or per episode grows by hundreds or thousands.
	soakSlackGoroutines = 40
	soakSlackFDs        = 20
)

// soakOrigin serves soakFeeds generated feeds and their enclosures from
// memory on 127.0.0.1. Even-numbered feeds send an ETag (so repeated polls
// are 304s); odd ones do not (every poll parses the whole feed).
type soakOrigin struct {
	srv         *httptest.Server
	feeds       map[string][]byte
	files       map[string][]byte
	feedGETs    atomic.Int64
	notModified atomic.Int64
}

func newSoakOrigin(t *testing.T) *soakOrigin {
	t.Helper()
	o := &soakOrigin{feeds: map[string][]byte{}, files: map[string][]byte{}}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	base := "http://" + o.srv.Listener.Addr().String()
	published := time.Date(2025, 1, 1, 6, 0, 0, 0, time.UTC)
	for f := range soakFeeds {
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Soak show %d</title><link>%s</link><description>soak</description>
`, f, base)
		for e := range soakEpisodes {
			name := fmt.Sprintf("/media/s%03d-e%02d.mp3", f, e)
			data := make([]byte, soakEnclosureBytes)
			r := rand.NewChaCha8([32]byte{byte(f), byte(f >> 8), byte(e), 's'})
			_, _ = r.Read(data)
			o.files[name] = data
			fmt.Fprintf(&b, `<item><title>Episode %d</title><guid isPermaLink="false">soak-%d-%d</guid><pubDate>%s</pubDate><enclosure url="%s%s" length="%d" type="audio/mpeg"/></item>
`, e, f, e, published.Add(time.Duration(e)*24*time.Hour).Format(time.RFC1123Z), base, name, len(data))
		}
		b.WriteString("</channel></rss>\n")
		o.feeds[fmt.Sprintf("/feed%03d.xml", f)] = []byte(b.String())
	}
	o.srv.Start()
	return o
}

func (o *soakOrigin) feedURLs() []string {
	urls := make([]string, 0, len(o.feeds))
	for f := range soakFeeds {
		urls = append(urls, fmt.Sprintf("%s/feed%03d.xml", o.srv.URL, f))
	}
	return urls
}

func (o *soakOrigin) serve(w http.ResponseWriter, r *http.Request) {
	if body, ok := o.feeds[r.URL.Path]; ok {
		o.feedGETs.Add(1)
		w.Header().Set("Content-Type", "application/rss+xml")
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/feed"), ".xml"))
		if n%2 == 0 {
			w.Header().Set("ETag", `"soak-v1"`)
			if r.Header.Get("If-None-Match") == `"soak-v1"` {
				o.notModified.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		_, _ = w.Write(body)
		return
	}
	if data, ok := o.files[r.URL.Path]; ok {
		w.Header().Set("Content-Type", "audio/mpeg")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	http.NotFound(w, r)
}

// soakFDs counts the process's open file descriptors.
func soakFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count file descriptors: %v", err)
	}
	return len(ents)
}

// soakMeasure returns the lowest goroutine and file descriptor counts seen
// over a few seconds: transient goroutines (an announce, a sample) come
// and go, what leaks stays.
func soakMeasure(t *testing.T) (goroutines, fds int) {
	t.Helper()
	goroutines, fds = runtime.NumGoroutine(), soakFDs(t)
	for range 10 {
		time.Sleep(300 * time.Millisecond)
		goroutines, fds = min(goroutines, runtime.NumGoroutine()), min(fds, soakFDs(t))
	}
	return goroutines, fds
}

// TestSoak polls 200 feeds of 20 episodes each (4,000 torrents) on a
// loopback origin until every enclosure is seeded, then runs several more
// full poll cycles and checks that goroutines and file descriptors do not
// grow with them.
//
// It takes a minute or two, so it runs only when PODSEED_SOAK=1 or CI=true
// (-short always skips it), and only in a build without -race (see the
// build constraint): `PODSEED_SOAK=1 go test -run '^TestSoak$' ./cmd/podseed`.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	if os.Getenv("PODSEED_SOAK") != "1" && os.Getenv("CI") != "true" {
		t.Skip("soak test: set PODSEED_SOAK=1 (CI=true runs it)")
	}
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skipf("no /proc/self/fd to count file descriptors: %v", err)
	}
	origin := newSoakOrigin(t)
	ctx := context.Background()
	a, err := Open(ctx, Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1", BTPort: 0,
		PollInterval: time.Hour, DHT: false, AllowPrivateAddresses: true, IngestWorkers: 4,
		UDPTracker: "off",
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	for _, u := range origin.feedURLs() {
		if _, _, err := a.Store().CreateFeed(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	ra := &runningApp{App: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(runCtx) }()
	t.Cleanup(func() { ra.stop(t) })

	const want = soakFeeds * soakEpisodes
	start := time.Now()
	waitFor(t, 20*time.Minute, "every enclosure to be seeded", func() bool {
		return soakSeeding(a) == want
	})
	t.Logf("steady state: %d torrents seeded after %v", want, time.Since(start).Round(time.Second))

	g0, fd0 := soakMeasure(t)
	t.Logf("after steady state: %d goroutines, %d file descriptors", g0, fd0)
	for c := range soakCycles {
		before := origin.feedGETs.Load()
		a.pollFeeds(runCtx, true)
		if got := origin.feedGETs.Load() - before; got < soakFeeds {
			t.Fatalf("cycle %d: origin saw %d feed GETs, want %d", c, got, soakFeeds)
		}
		g, fd := soakMeasure(t)
		t.Logf("after cycle %d: %d goroutines, %d file descriptors", c+1, g, fd)
	}
	g1, fd1 := soakMeasure(t)
	if g1 > g0+soakSlackGoroutines {
		t.Errorf("goroutines grew from %d to %d over %d poll cycles (slack %d)", g0, g1, soakCycles, soakSlackGoroutines)
	}
	if fd1 > fd0+soakSlackFDs {
		t.Errorf("file descriptors grew from %d to %d over %d poll cycles (slack %d)", fd0, fd1, soakCycles, soakSlackFDs)
	}
	if n := soakSeeding(a); n != want {
		t.Errorf("after the cycles: %d torrents seeded, want %d", n, want)
	}
	if origin.notModified.Load() == 0 {
		t.Error("no 304: the ETag feeds were not polled conditionally")
	}
}

// soakSeeding counts the torrents the app seeds.
func soakSeeding(a *App) int {
	n := 0
	a.seeding.Range(func(_, _ any) bool { n++; return true })
	return n
}
