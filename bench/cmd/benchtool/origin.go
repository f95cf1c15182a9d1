package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// origin is a podcast publisher on loopback: files under /files/ (Range,
// Last-Modified), synthetic feeds /feed/{i}.rss with ETag and 304, a
// one-item feed /feed/file/{name}.rss per served file, and synthetic
// enclosures /media/{i}/{j}.mp3.
type origin struct {
	dir                string
	feeds, items       int
	bigFeeds, bigItems int
	mediaSize          int64

	gen atomic.Int64 // bumps so far; each adds one newer item to every feed

	mu    sync.Mutex
	cache map[int][]byte // feed → body at cacheGen
	cGen  int64

	feed200, feed304, media atomic.Int64
	first, last             atomic.Int64 // unix ns of the first and last feed request since reset
}

// mediaEpoch dates item 1 of every synthetic feed; item j is j hours later.
var mediaEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func (o *origin) handler() http.Handler {
	mux := http.NewServeMux()
	if o.dir != "" {
		mux.Handle("GET /files/", http.StripPrefix("/files/", http.FileServer(http.Dir(o.dir))))
		mux.HandleFunc("GET /feed/file/{name}", o.handleFileFeed)
	}
	mux.HandleFunc("GET /feed/{file}", o.handleFeed)
	mux.HandleFunc("GET /media/{feed}/{file}", o.handleMedia)
	mux.HandleFunc("POST /bump", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, o.gen.Add(1))
	})
	mux.HandleFunc("POST /reset-stats", func(w http.ResponseWriter, r *http.Request) {
		o.feed200.Store(0)
		o.feed304.Store(0)
		o.media.Store(0)
		o.first.Store(0)
		o.last.Store(0)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{
			"feed_200": o.feed200.Load(), "feed_304": o.feed304.Load(), "media": o.media.Load(),
			"first_ns": o.first.Load(), "last_ns": o.last.Load(),
		})
	})
	return mux
}

func (o *origin) noteFeedRequest() {
	now := time.Now().UnixNano()
	o.first.CompareAndSwap(0, now)
	o.last.Store(now)
}

func (o *origin) handleFeed(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".rss"))
	if err != nil || i < 1 || i > o.feeds {
		http.NotFound(w, r)
		return
	}
	o.noteFeedRequest()
	gen := o.gen.Load()
	etag := fmt.Sprintf(`"g%d"`, gen)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		o.feed304.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	o.feed200.Add(1)
	body := o.feedBody(r.Host, i, gen)
	w.Header().Set("Content-Type", "application/rss+xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// feedBody renders (and caches, per generation) synthetic feed i.
func (o *origin) feedBody(host string, i int, gen int64) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cache == nil || o.cGen != gen {
		o.cache, o.cGen = map[int][]byte{}, gen
	}
	if b, ok := o.cache[i]; ok {
		return b
	}
	n := o.items
	if i <= o.bigFeeds {
		n = o.bigItems
	}
	n += int(gen)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>Bench feed %d</title>
<link>http://%s/</link>
<description>Synthetic feed for podseed benchmarks.</description>
<language>en</language>
<itunes:author>bench</itunes:author>
<itunes:image href="http://%s/cover.jpg"/>
`, i, host, host)
	for j := n; j >= 1; j-- {
		fmt.Fprintf(&b, `<item>
<title>Episode %d of feed %d</title>
<guid isPermaLink="false">bench-%d-%d</guid>
<pubDate>%s</pubDate>
<description><![CDATA[<p>Show notes for episode %d: links, chapters and credits.</p>]]></description>
<itunes:duration>3600</itunes:duration>
<itunes:episode>%d</itunes:episode>
<enclosure url="http://%s/media/%d/%d.mp3" length="%d" type="audio/mpeg"/>
</item>
`, j, i, i, j, mediaEpoch.Add(time.Duration(j)*time.Hour).Format(time.RFC1123Z), j, j, host, i, j, o.mediaSize)
	}
	b.WriteString("</channel>\n</rss>\n")
	o.cache[i] = b.Bytes()
	return o.cache[i]
}

// handleFileFeed serves a one-item feed whose enclosure is /files/{name}.
func (o *origin) handleFileFeed(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("name"), ".rss")
	fi, err := os.Stat(filepath.Join(o.dir, filepath.Base(name)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Bench file %s</title><link>http://%s/</link><description>one file</description>
<item><title>%s</title><guid>file-%s</guid><pubDate>%s</pubDate>
<enclosure url="http://%s/files/%s" length="%d" type="audio/mpeg"/></item>
</channel></rss>
`, name, r.Host, name, name, mediaEpoch.Format(time.RFC1123Z), r.Host, filepath.Base(name), fi.Size())
}

func (o *origin) handleMedia(w http.ResponseWriter, r *http.Request) {
	i, err1 := strconv.Atoi(r.PathValue("feed"))
	j, err2 := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".mp3"))
	if err1 != nil || err2 != nil || i < 1 || j < 1 {
		http.NotFound(w, r)
		return
	}
	o.media.Add(1)
	w.Header().Set("Content-Type", "audio/mpeg")
	http.ServeContent(w, r, "", mediaEpoch, bytes.NewReader(mediaBytes(i, j, o.mediaSize)))
}
