package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// TestFeedCacheRendersOnce: an unchanged feed is served from one rendering
// (the same *web.Rendered), revalidates with 304, and a new episode gives a
// new rendering with a new ETag, for both the republished and torrent feed.
func TestFeedCacheRendersOnce(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	items := []string{"one"}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			mu.Lock()
			defer mu.Unlock()
			var b strings.Builder
			b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>cache</title>`)
			for _, it := range items {
				fmt.Fprintf(&b, `<item><title>%[1]s</title><guid>%[1]s</guid><enclosure url="%[2]s/%[1]s.mp3" length="0" type="audio/mpeg"/></item>`, it, srv.URL)
			}
			b.WriteString(`</channel></rss>`)
			_, _ = w.Write([]byte(b.String()))
			return
		}
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	}))
	defer srv.Close()
	for i, name := range []string{"one", "two"} {
		writeRandomFile(t, filepath.Join(dir, name+".mp3"), 100<<10+int64(i), uint64(60+i))
	}

	a := openTestApp(t)
	ctx := t.Context()
	f := mustAddAndIngest(t, a, srv.URL+"/feed.xml")

	c := catalog{a}
	kinds := []struct {
		name   string
		get    func() (*web.Rendered, error)
		target string
	}{
		{"republished", func() (*web.Rendered, error) { return c.RenderedFeedRSS(ctx, f.ID) }, fmt.Sprintf("/feeds/%d.rss", f.ID)},
		{"torrent feed", func() (*web.Rendered, error) { return c.RenderedTorrentFeedRSS(ctx, f.ID) }, fmt.Sprintf("/feeds/%d/torrents.rss", f.ID)},
	}
	first := map[string]*web.Rendered{}
	for _, k := range kinds {
		r1, err := k.get()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := k.get()
		if err != nil {
			t.Fatal(err)
		}
		if r1 != r2 {
			t.Errorf("%s: rendered twice for unchanged inputs", k.name)
		}
		direct, err := map[string]func() ([]byte, error){
			"republished":  func() ([]byte, error) { return c.FeedRSS(ctx, f.ID) },
			"torrent feed": func() ([]byte, error) { return c.TorrentFeedRSS(ctx, f.ID) },
		}[k.name]()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r1.Body, direct) {
			t.Errorf("%s: cached body differs from a fresh rendering", k.name)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, k.target, nil)
		req.Header.Set("If-None-Match", r1.ETag)
		a.srv.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Errorf("%s: If-None-Match current ETag: status %d, want 304", k.name, rec.Code)
		}
		first[k.name] = r1
	}

	// A new episode: new inputs, new rendering, new ETag.
	mu.Lock()
	items = append([]string{"two"}, items...)
	mu.Unlock()
	a.pollFeeds(ctx, true)
	a.ingestPending(ctx)
	ets, err := a.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ets) != 2 {
		t.Fatalf("%d ready episodes after the second poll, want 2", len(ets))
	}
	for _, k := range kinds {
		r, err := k.get()
		if err != nil {
			t.Fatal(err)
		}
		if r == first[k.name] || r.ETag == first[k.name].ETag {
			t.Errorf("%s: same rendering (ETag %s) after a new episode", k.name, r.ETag)
		}
		for _, et := range ets {
			if !bytes.Contains(r.Body, []byte(et.Torrent.InfoHash)) {
				t.Errorf("%s: %s missing from the new rendering", k.name, et.Torrent.InfoHash)
			}
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, k.target, nil)
		req.Header.Set("If-None-Match", first[k.name].ETag)
		a.srv.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") != r.ETag {
			t.Errorf("%s: old ETag: status %d, ETag %q; want 200 with %q", k.name, rec.Code, rec.Header().Get("ETag"), r.ETag)
		}
	}

	// A removed feed's renderings are dropped.
	if err := c.RemoveFeed(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RenderedFeedRSS(ctx, f.ID); err == nil {
		t.Error("removed feed: got a rendering")
	}
	if _, err := c.RenderedTorrentFeedRSS(ctx, f.ID); err == nil {
		t.Error("removed feed: got a torrent feed rendering")
	}
	if n := len(a.feeds.entries); n != 0 {
		t.Errorf("cache entries after the feed was removed: %d, want 0", n)
	}
}

// TestFeedCacheBound: beyond its byte bound the cache drops the least
// recently used renderings, never the one just stored.
func TestFeedCacheBound(t *testing.T) {
	mk := func(n int) *web.Rendered {
		r, err := web.NewRendered(bytes.Repeat([]byte{byte(n)}, 1000))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1, r2, r3 := mk(1), mk(2), mk(3)
	c := newFeedCache(r1.Size() + r2.Size() + r3.Size()/2) // room for two
	in := func(n byte) [sha256.Size]byte { return [sha256.Size]byte{n} }
	k := func(id int64) feedCacheKey { return feedCacheKey{feedCacheRSS, id} }
	c.put(k(1), in(1), r1)
	c.put(k(2), in(2), r2)
	if _, ok := c.get(k(1), in(1)); !ok { // 1 is now more recent than 2
		t.Fatal("entry 1 missing")
	}
	if _, ok := c.get(k(1), in(9)); ok {
		t.Error("entry 1 returned for other inputs")
	}
	c.put(k(3), in(3), r3)
	if _, ok := c.get(k(2), in(2)); ok {
		t.Error("least recently used entry 2 kept beyond the bound")
	}
	for _, id := range []int64{1, 3} {
		if _, ok := c.get(k(id), in(byte(id))); !ok {
			t.Errorf("entry %d dropped", id)
		}
	}
	if want := r1.Size() + r3.Size(); c.size != want {
		t.Errorf("size %d, want %d", c.size, want)
	}
	// One rendering larger than the bound is still kept (alone).
	big, err := web.NewRendered(bytes.Repeat([]byte("x"), 10000))
	if err != nil {
		t.Fatal(err)
	}
	c.put(k(4), in(4), big)
	if _, ok := c.get(k(4), in(4)); !ok || len(c.entries) != 1 {
		t.Errorf("oversized entry: kept %v, %d entries; want kept alone", ok, len(c.entries))
	}
}

// BenchmarkFeedRSS3000 republishes a 3,000-item feed: rendered afresh
// (what every request cost before the cache), from the cache (inputs read
// and hashed, rendering reused), and as a conditional GET answered 304.
func BenchmarkFeedRSS3000(b *testing.B) {
	const items = 3000
	a, err := Open(context.Background(), Config{DataDir: b.TempDir(), Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	f, _, err := a.Store().CreateFeed(ctx, "https://cdn.example/feed.xml")
	if err != nil {
		b.Fatal(err)
	}
	var body strings.Builder
	body.WriteString(`<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>bench</title>`)
	eps := make([]store.Episode, items)
	for i := range items {
		u := fmt.Sprintf("https://cdn.example/ep%d.mp3", i)
		fmt.Fprintf(&body, `<item><title>Episode %d</title><guid>g%d</guid><itunes:duration>3600</itunes:duration><description>Notes for episode %d.</description><enclosure url="%s" length="1048576" type="audio/mpeg"/></item>`, i, i, i, u)
		eps[i] = store.Episode{GUID: fmt.Sprintf("g%d", i), Title: fmt.Sprintf("Episode %d", i), EnclosureURL: u, EnclosureType: "audio/mpeg",
			PublishedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)}
	}
	body.WriteString(`</channel></rss>`)
	now := time.Now()
	if err := a.Store().UpdateFeedFetched(ctx, f.ID, store.FeedFetch{Title: "bench", Body: []byte(body.String()), FetchedAt: now, NextPollAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	created, err := a.Store().UpsertEpisodes(ctx, f.ID, eps)
	if err != nil {
		b.Fatal(err)
	}
	for i, e := range created {
		// 1,024 pieces: a 64 MiB episode with 64 KiB pieces, a 20 KiB
		// metainfo, as podseed makes them.
		pieces := make([]byte, 20*1024)
		binary.BigEndian.PutUint64(pieces, uint64(i))
		infoBytes, err := bencode.Marshal(metainfo.Info{Name: fmt.Sprintf("ep%d.mp3", i), Length: 64 << 20, PieceLength: 1 << 16, Pieces: pieces})
		if err != nil {
			b.Fatal(err)
		}
		mi := metainfo.MetaInfo{InfoBytes: infoBytes, UrlList: []string{e.EnclosureURL}}
		var buf bytes.Buffer
		if err := mi.Write(&buf); err != nil {
			b.Fatal(err)
		}
		ih := mi.HashInfoBytes().HexString()
		if err := a.Store().CreateTorrent(ctx, store.Torrent{
			InfoHash: ih, EpisodeID: e.ID, Name: fmt.Sprintf("ep%d.mp3", i), Metainfo: buf.Bytes(),
			PieceLength: 1 << 16, Size: 64 << 20, DataPath: filepath.Join(a.cfg.filesDir(), ih, "ep.mp3"), SRI: "sha256-x", // missing file
		}); err != nil {
			b.Fatal(err)
		}
	}
	c := catalog{a}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.FeedRSS(ctx, f.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		if _, err := c.RenderedFeedRSS(ctx, f.ID); err != nil { // the one rendering
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.RenderedFeedRSS(ctx, f.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	r, err := c.RenderedFeedRSS(ctx, f.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("feed: %d items, %d bytes, %d gzipped", items, len(r.Body), len(r.Gzip))
	b.Run("http-304", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/feeds/%d.rss", f.ID), nil)
			req.Header.Set("If-None-Match", r.ETag)
			a.srv.Handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
