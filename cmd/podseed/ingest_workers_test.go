package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestIngestWorkersCapDownloads: with --ingest-workers=N, at most N
// enclosures download at once, and N do. The origin holds every whole-file
// GET (the download; the web seed check's ranged GETs are answered at
// once) until the test releases it, one at a time, and records the most
// it held at once. If the cap let more through, the extra downloads would
// pile up behind the held ones.
func TestIngestWorkersCapDownloads(t *testing.T) {
	const workers, episodes = 3, 7
	data := make([]byte, 40_000)
	_, _ = rand.NewChaCha8([32]byte{4, 3}).Read(data)

	var (
		mu            sync.Mutex
		held, maxHeld int
	)
	release := make(chan struct{})
	heldNow := func() int { mu.Lock(); defer mu.Unlock(); return held }
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			var items strings.Builder
			for i := range episodes {
				fmt.Fprintf(&items, `<item><guid>ep-%d</guid><title>ep %d</title><enclosure url="%s/ep%d.mp3" length="%d" type="audio/mpeg"/></item>`,
					i, i, srv.URL, i, len(data))
			}
			_, _ = fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>workers</title>%s</channel></rss>`, items.String())
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/ep") {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Range") == "" {
			mu.Lock()
			held++
			maxHeld = max(maxHeld, held)
			mu.Unlock()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			mu.Lock()
			held--
			mu.Unlock()
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()

	var c cli
	parser, err := newParser(&c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse([]string{"--data-dir", t.TempDir(), "serve", "--listen", "127.0.0.1:0",
		"--allow-private-addresses", "--ingest-workers=" + strconv.Itoa(workers)}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Serve.config(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BTListenHost = "127.0.0.1"
	a, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	f, _, err := a.Store().CreateFeed(t.Context(), srv.URL+"/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	a.pollFeeds(t.Context(), true)

	done := make(chan struct{})
	go func() { defer close(done); a.ingestPending(t.Context()) }()
	for released := range episodes {
		want := min(workers, episodes-released)
		waitFor(t, 20*time.Second, fmt.Sprintf("%d held downloads", want), func() bool { return heldNow() >= want })
		release <- struct{}{}
	}
	<-done

	mu.Lock()
	got := maxHeld
	mu.Unlock()
	if got != workers {
		t.Errorf("at most %d enclosure downloads at once, want %d (--ingest-workers)", got, workers)
	}
	if n := len(readyEpisodes(t, a.Store(), f.ID)); n != episodes {
		t.Errorf("%d ready episodes, want %d", n, episodes)
	}
}
