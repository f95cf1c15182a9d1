package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"
	"github.com/anacrolix/torrent/tracker/shared"
	"github.com/anacrolix/torrent/tracker/udp"
	"github.com/anacrolix/torrent/types/infohash"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsWant is what one podseed metric family must look like.
type metricsWant struct {
	typ dto.MetricType
	// series maps each series' labels (name=value pairs joined with ",",
	// in label name order; "" for none) to a check of its value: the
	// counter or gauge value, or a histogram's sample count.
	series map[string]func(float64) bool
}

func metricsEq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
func metricsAtLeast(want float64) func(float64) bool {
	return func(v float64) bool { return v >= want }
}

// TestMetricsFamilies runs podseed on loopback, lets it poll a feed and
// ingest its one episode, announces and scrapes over HTTP and UDP with
// anacrolix's tracker clients (besides podseed's own client, which
// announces over both), then scrapes /metrics over HTTP. Every podseed_*
// family must be there, with its type, its labels and the values this run
// makes, and no other podseed_* family may exist untested.
func TestMetricsFamilies(t *testing.T) {
	const size = 300<<10 + 7
	mediaDir := t.TempDir()
	writeRandomFile(t, filepath.Join(mediaDir, "ep1.mp3"), size, 91)
	var origin *httptest.Server
	origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>metrics</title>`+
				`<item><title>one</title><guid>one</guid><enclosure url="%s/ep1.mp3" length="%d" type="audio/mpeg"/></item>`+
				`</channel></rss>`, origin.URL, size)
			return
		}
		http.ServeFile(w, r, filepath.Join(mediaDir, filepath.Base(r.URL.Path)))
	}))
	defer origin.Close()

	app := startApp(t, t.TempDir(), "127.0.0.1:0", origin.URL+"/feed.xml")
	ctx := t.Context()
	feeds, err := app.Store().ListFeeds(ctx)
	if err != nil || len(feeds) != 1 {
		t.Fatalf("feeds: got %v (%v), want one", feeds, err)
	}
	f := feeds[0]
	var eps []string
	waitFor(t, time.Minute, "the episode to be ingested and seeded", func() bool {
		eps = seedingInfoHashes(ctx, app, f.ID)
		return len(eps) == 1
	})
	ihHex := eps[0]
	ih := infohash.FromHexString(ihHex)
	// podseed's own client announces as a seeder over HTTP and UDP (one
	// peer: the same peer ID).
	waitFor(t, time.Minute, "podseed's client to announce over HTTP and UDP", func() bool {
		st := app.tracker.Stats()
		return st.HTTPAnnounces >= 1 && st.UDPAnnounces >= 1 && app.tracker.Scrape(ihHex).Seeders == 1
	})

	// A leecher that completes over HTTP, another that stays a leecher
	// over UDP, one refused announce, and one scrape on each transport.
	httpCl := httpTracker.NewClient(&url.URL{Scheme: "http", Host: strings.TrimPrefix(app.URLs().Base, "http://"), Path: "/announce"},
		httpTracker.NewClientOpts{})
	defer httpCl.Close()
	httpAnnounce := func(ih infohash.T, id byte, left int64, ev udp.AnnounceEvent) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := httpCl.Announce(ctx, httpTracker.AnnounceRequest{
			InfoHash: ih, PeerId: [20]byte{'-', 'M', 'T', id}, Port: 6881, Left: left, Event: ev,
		}, httpTracker.AnnounceOpt{})
		return err
	}
	for _, a := range []struct {
		left int64
		ev   udp.AnnounceEvent
	}{{size, shared.Started}, {0, shared.Completed}} {
		if err := httpAnnounce(ih, 1, a.left, a.ev); err != nil {
			t.Fatalf("HTTP announce: %v", err)
		}
	}
	if err := httpAnnounce(infohash.T{0xee}, 2, size, shared.Started); err == nil {
		t.Fatal("HTTP announce of an unknown torrent: got nil error")
	}
	udpCl, err := udp.NewConnClient(udp.NewConnClientOpts{Network: "udp4", Host: app.udp.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer udpCl.Close()
	udpCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// More UDP than HTTP requests, so that counts swapped between the
	// transports show.
	for _, ev := range []udp.AnnounceEvent{shared.Started, shared.None, shared.None, shared.None, shared.None} {
		if _, _, err := udpCl.Announce(udpCtx, udp.AnnounceRequest{
			InfoHash: ih, PeerId: [20]byte{'-', 'M', 'T', 3}, Left: size, Event: ev, NumWant: -1, Port: 6882,
		}, udp.Options{}); err != nil {
			t.Fatalf("UDP announce: %v", err)
		}
	}
	for range 2 {
		if sr, err := udpCl.Client.Scrape(udpCtx, []udp.InfoHash{ih}); err != nil {
			t.Fatalf("UDP scrape: %v", err)
		} else if want := (udp.ScrapeInfohashResult{Seeders: 2, Completed: 1, Leechers: 1}); len(sr) != 1 || sr[0] != want {
			t.Errorf("UDP scrape: got %+v, want [%+v]", sr, want)
		}
	}
	var scrape struct {
		Files map[string]struct {
			Complete   int `bencode:"complete"`
			Incomplete int `bencode:"incomplete"`
			Downloaded int `bencode:"downloaded"`
		} `bencode:"files"`
	}
	body := httpGet(t, app.URLs().Base+"/scrape?info_hash="+url.QueryEscape(string(ih[:])))
	if err := bencode.Unmarshal(body, &scrape); err != nil {
		t.Fatalf("HTTP scrape %q: %v", body, err)
	}
	if got := scrape.Files[string(ih[:])]; len(scrape.Files) != 1 || got.Complete != 2 || got.Incomplete != 1 || got.Downloaded != 1 {
		t.Errorf("HTTP scrape: got %+v, want one torrent with complete 2, incomplete 1, downloaded 1", scrape.Files)
	}

	// podseed serves 1000 bytes of its copy as a web seed (a HEAD counts
	// none); the count is complete once the handler returned.
	tor, err := app.Store().FindTorrentByInfoHash(ctx, ihHex)
	if err != nil {
		t.Fatal(err)
	}
	if part := httpGetRange(t, app.URLs().WebSeed(ihHex, tor.Name), "bytes=0-999"); len(part) != 1000 {
		t.Fatalf("web seed range: got %d bytes, want 1000", len(part))
	}
	if head, err := http.Head(app.URLs().WebSeed(ihHex, tor.Name)); err != nil || head.StatusCode != http.StatusOK {
		t.Fatalf("web seed HEAD: %v, %v", head, err)
	} else {
		head.Body.Close()
	}
	waitFor(t, 10*time.Second, "the web seed count", func() bool { return app.webSeeded.Total() >= 1000 })

	resp, err := http.Get(app.URLs().Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}

	feedID := fmt.Sprintf("feed_id=%d", f.ID)
	counter, gauge, histogram := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	anyValue := func(float64) bool { return true }
	want := map[string]metricsWant{
		"podseed_feed_polls_total":           {counter, map[string]func(float64) bool{feedID + ",result=ok": metricsEq(1)}},
		"podseed_feed_poll_duration_seconds": {histogram, map[string]func(float64) bool{feedID: metricsEq(1)}},
		"podseed_ingests_total":              {counter, map[string]func(float64) bool{"result=ok": metricsEq(1)}},
		"podseed_ingest_bytes_total":         {counter, map[string]func(float64) bool{"": metricsEq(size)}},
		"podseed_ingest_duration_seconds":    {histogram, map[string]func(float64) bool{"": metricsEq(1)}},
		"podseed_torrents_seeding":           {gauge, map[string]func(float64) bool{"": metricsEq(1)}},
		"podseed_swarm_seeders":              {gauge, map[string]func(float64) bool{"": metricsEq(2)}},
		"podseed_swarm_leechers":             {gauge, map[string]func(float64) bool{"": metricsEq(1)}},
		"podseed_swarm_completed_total":      {counter, map[string]func(float64) bool{"": metricsEq(1)}},
		// Nobody downloaded piece data from podseed: the leechers above
		// only announced.
		"podseed_uploaded_bytes_total": {counter, map[string]func(float64) bool{"": metricsEq(0)}},
		"podseed_peers_connected":      {gauge, map[string]func(float64) bool{"": anyValue}},
		"podseed_peer_connections":     {gauge, map[string]func(float64) bool{"": anyValue}},
		// startApp's Config leaves MaxConns at 0: no cap, nothing refused.
		"podseed_peer_connections_max":           {gauge, map[string]func(float64) bool{"": metricsEq(0)}},
		"podseed_peer_connections_refused_total": {counter, map[string]func(float64) bool{"": metricsEq(0)}},
		"podseed_web_seed_bytes_total":           {counter, map[string]func(float64) bool{"": metricsEq(1000)}},
		// Two announces of ours plus podseed's own over HTTP; five of
		// ours plus podseed's over UDP.
		"podseed_tracker_announces_total": {counter, map[string]func(float64) bool{
			"transport=http": metricsAtLeast(3), "transport=udp": metricsAtLeast(6),
		}},
		// Only this test scrapes.
		"podseed_tracker_scrapes_total": {counter, map[string]func(float64) bool{
			"transport=http": metricsEq(1), "transport=udp": metricsEq(2),
		}},
		// Ours, and any announce podseed's client made before the torrent
		// was registered as seeding.
		"podseed_tracker_failures_total": {counter, map[string]func(float64) bool{"": metricsAtLeast(1)}},
	}
	var got []string
	for name := range families {
		if strings.HasPrefix(name, "podseed_") {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	var names []string
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("podseed families: got %v, want %v", got, names)
	}
	for _, name := range names {
		w := want[name]
		mf, ok := families[name]
		if !ok {
			continue // reported above
		}
		if mf.GetType() != w.typ {
			t.Errorf("%s: type %v, want %v", name, mf.GetType(), w.typ)
		}
		seen := map[string]bool{}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(labels)
			key := strings.Join(labels, ",")
			var v float64
			switch mf.GetType() {
			case counter:
				v = m.GetCounter().GetValue()
			case gauge:
				v = m.GetGauge().GetValue()
			case histogram:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			check, ok := w.series[key]
			if !ok {
				t.Errorf("%s{%s} = %v: unexpected series", name, key, v)
				continue
			}
			seen[key] = true
			if !check(v) {
				t.Errorf("%s{%s} = %v: not the value this run makes", name, key, v)
			}
		}
		for key := range w.series {
			if !seen[key] {
				t.Errorf("%s{%s}: missing", name, key)
			}
		}
	}
	// The Go and process collectors are registered too.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// seedingInfoHashes returns the hex infohashes of a feed's episodes that
// podseed seeds, none on a store error (for polling).
func seedingInfoHashes(ctx context.Context, a *runningApp, feedID int64) []string {
	eps, err := a.Store().ListEpisodesByFeed(ctx, feedID)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range eps {
		if e.InfoHash != "" {
			if _, ok := a.seeding.Load(e.InfoHash); ok {
				out = append(out, e.InfoHash)
			}
		}
	}
	return out
}
