package main

// Polling benchmarks (issue 6): one poll cycle over many feeds on a
// loopback origin, through App.pollFeeds as the scheduler runs it. They
// assert nothing about time; bench/run reports them. Run with
//
//	go test -run '^$' -bench PollCycle -benchtime 3x ./cmd/podseed
//
// PODSEED_BENCH_FEEDS sets the number of feeds (default 1000).

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchPollOrigin serves n synthetic feeds of items items each at
// /feed/{i}.rss with an ETag; every bump adds one newer item to every feed
// (and changes the ETag). Bodies are rendered once per generation.
type benchPollOrigin struct {
	items  int
	gen    atomic.Int64
	bodies atomic.Pointer[[][]byte]
	urls   []string
	hits   atomic.Int64
}

// newBenchPollOrigin listens on hosts loopback addresses (127.0.0.1,
// 127.0.0.2, …) with one handler and spreads n feeds over them, so that
// podseed's per-host fetch limit applies per address.
func newBenchPollOrigin(b *testing.B, n, items, hosts int) *benchPollOrigin {
	b.Helper()
	o := &benchPollOrigin{items: items}
	var addrs []string
	for h := 1; h <= hosts; h++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", h))
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close() })
		addrs = append(addrs, ln.Addr().String())
	}
	for i := range n {
		o.urls = append(o.urls, fmt.Sprintf("http://%s/feed/%d.rss", addrs[i%hosts], i))
	}
	o.render()
	return o
}

// render renders every feed for the current generation.
func (o *benchPollOrigin) render() {
	gen := int(o.gen.Load())
	bodies := make([][]byte, len(o.urls))
	for i := range o.urls {
		var b bytes.Buffer
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Bench feed %d</title><link>http://example.com/</link><description>bench</description>
`, i)
		for j := o.items + gen; j >= 1; j-- {
			fmt.Fprintf(&b, `<item><title>Episode %d</title><guid isPermaLink="false">f%d-e%d</guid>
<pubDate>%s</pubDate><description><![CDATA[<p>Notes for episode %d.</p>]]></description>
<itunes:duration>3600</itunes:duration>
<enclosure url="http://media.example.com/%d/%d.mp3" length="40000000" type="audio/mpeg"/></item>
`, j, i, j, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j)*time.Hour).Format(time.RFC1123Z), j, i, j)
		}
		b.WriteString("</channel></rss>\n")
		bodies[i] = b.Bytes()
	}
	o.bodies.Store(&bodies)
}

// bump adds one new item to every feed.
func (o *benchPollOrigin) bump() {
	o.gen.Add(1)
	o.render()
}

func (o *benchPollOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	var i int
	if _, err := fmt.Sscanf(r.URL.Path, "/feed/%d.rss", &i); err != nil {
		http.NotFound(w, r)
		return
	}
	bodies := *o.bodies.Load()
	etag := `"g` + strconv.FormatInt(o.gen.Load(), 10) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	w.Write(bodies[i])
}

// benchOpenApp opens an app on loopback with the given feeds added.
func benchOpenApp(b *testing.B, urls []string) *App {
	b.Helper()
	a, err := Open(context.Background(), Config{
		DataDir: b.TempDir(), Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1", UDPTracker: "off",
		PollInterval: time.Hour, AllowPrivateAddresses: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	for _, u := range urls {
		if _, _, err := a.store.CreateFeed(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
	return a
}

// benchFeeds is PODSEED_BENCH_FEEDS or 1000.
func benchFeeds(b *testing.B) int {
	if s := os.Getenv("PODSEED_BENCH_FEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("PODSEED_BENCH_FEEDS=%q: want a positive integer", s)
		}
		return n
	}
	return 1000
}

// cpuSeconds is the user+system CPU time of this process so far (the
// origin's share included; it answers from memory).
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkPollCycle is one poll of every feed (App.pollFeeds), reported
// per cycle: "304" has the origin answer 304 Not Modified to every feed;
// "new-item" has every feed gain one new item before the cycle, so each
// is fetched, parsed (items items) and its new episode stored. hosts is the
// number of loopback addresses the feeds are spread over (podseed fetches
// at most 2 feeds per host at once, --poll-workers in all: 4 on 2 cores).
func BenchmarkPollCycle(b *testing.B) {
	n := benchFeeds(b)
	cases := []struct {
		name         string
		items, hosts int
		newItem      bool
	}{
		{"304/hosts=1", 10, 1, false},
		{"304/hosts=4", 10, 4, false},
		{"new-item/items=300/hosts=4", 300, 4, true},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("feeds=%d/%s", n, c.name), func(b *testing.B) {
			o := newBenchPollOrigin(b, n, c.items, c.hosts)
			a := benchOpenApp(b, o.urls)
			ctx := context.Background()
			a.pollFeeds(ctx, true) // first fetch: bodies, validators, episodes
			if got, want := o.hits.Load(), int64(n); got != want {
				b.Fatalf("first cycle: %d requests, want %d", got, want)
			}
			var cpu float64
			for b.Loop() {
				if c.newItem {
					b.StopTimer()
					o.bump()
					b.StartTimer()
				}
				before := cpuSeconds(b)
				a.pollFeeds(ctx, true)
				cpu += cpuSeconds(b) - before
			}
			b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
			if got, want := o.hits.Load(), int64(n)*int64(b.N+1); got != want {
				b.Fatalf("%d requests, want %d", got, want)
			}
		})
	}
}
