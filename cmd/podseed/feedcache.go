package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// feedCacheMaxBytes bounds the memory the rendered-feed cache holds (bodies
// plus their gzip encodings); the least recently used feeds go first.
const feedCacheMaxBytes = 64 << 20

// feedCacheKind tells the republished feed from the torrent feed.
type feedCacheKind uint8

const (
	feedCacheRSS feedCacheKind = iota + 1
	feedCacheTorrentRSS
)

type feedCacheKey struct {
	kind   feedCacheKind
	feedID int64
}

type feedCacheEntry struct {
	inputs   [sha256.Size]byte // hash of everything the rendering read
	rendered *web.Rendered
	used     uint64 // feedCache.clock at the last hit or store
}

// feedCache keeps each feed's last rendering, keyed by a content hash of
// its inputs, so an unchanged feed is rendered once however often it is
// fetched. A changed input (a poll's new body, a new torrent, a new base
// URL or announce list) changes the hash and the next request renders
// anew. It is safe for concurrent use; two requests missing at once may
// both render.
type feedCache struct {
	mu       sync.Mutex
	entries  map[feedCacheKey]*feedCacheEntry
	size     int64 // bytes held
	maxBytes int64
	clock    uint64
}

func newFeedCache(maxBytes int64) *feedCache {
	return &feedCache{entries: map[feedCacheKey]*feedCacheEntry{}, maxBytes: maxBytes}
}

// get returns the rendering of key if it was made from the same inputs.
func (c *feedCache) get(key feedCacheKey, inputs [sha256.Size]byte) (*web.Rendered, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.inputs != inputs {
		return nil, false
	}
	c.clock++
	e.used = c.clock
	return e.rendered, true
}

// put stores a rendering, replacing key's previous one, then drops the
// least recently used entries beyond maxBytes (never the new one).
func (c *feedCache) put(key feedCacheKey, inputs [sha256.Size]byte, r *web.Rendered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.size -= old.rendered.Size()
	}
	c.clock++
	c.entries[key] = &feedCacheEntry{inputs: inputs, rendered: r, used: c.clock}
	c.size += r.Size()
	for c.size > c.maxBytes && len(c.entries) > 1 {
		var oldest feedCacheKey
		var oldestUsed uint64
		for k, e := range c.entries {
			if k != key && (oldestUsed == 0 || e.used < oldestUsed) {
				oldest, oldestUsed = k, e.used
			}
		}
		c.size -= c.entries[oldest].rendered.Size()
		delete(c.entries, oldest)
	}
}

// drop forgets a feed's renderings (the feed is gone).
func (c *feedCache) drop(feedID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, kind := range []feedCacheKind{feedCacheRSS, feedCacheTorrentRSS} {
		k := feedCacheKey{kind, feedID}
		if e, ok := c.entries[k]; ok {
			c.size -= e.rendered.Size()
			delete(c.entries, k)
		}
	}
}

// feedInputs hashes what rendering feed f as kind reads: podseed's URLs
// and announce list, the feed's URL and body (republished feed) or title and
// last fetch time (torrent feed), and its ready episodes with their
// (immutable) torrents' infohashes (store.WriteFeedRenderInputs).
func (a *App) feedInputs(ctx context.Context, kind feedCacheKind, f store.Feed) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte{byte(kind)})
	field([]byte(a.urls.Base))
	field(fmt.Appendf(nil, "%q", a.announceList()))
	field([]byte(f.URL))
	switch kind {
	case feedCacheRSS:
		field(f.Body)
	case feedCacheTorrentRSS:
		field([]byte(f.Title))
		field(f.LastFetchedAt.AppendFormat(nil, time.RFC3339Nano))
	}
	if err := a.store.WriteFeedRenderInputs(ctx, f.ID, h); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// rendered returns kind's rendering of feed feedID from the cache, or
// renders it with render and caches it. The inputs are read first: if they
// change while render runs, the cached rendering is newer than its key, and
// the next request, seeing other inputs, renders again.
func (c catalog) rendered(ctx context.Context, kind feedCacheKind, feedID int64, render func(context.Context, int64) ([]byte, error)) (*web.Rendered, error) {
	f, err := c.a.store.FindFeedByID(ctx, feedID)
	if err != nil {
		c.a.feeds.drop(feedID)
		return nil, err
	}
	key := feedCacheKey{kind, feedID}
	inputs, err := c.a.feedInputs(ctx, kind, f)
	if err != nil {
		return nil, err
	}
	if r, ok := c.a.feeds.get(key, inputs); ok {
		return r, nil
	}
	body, err := render(ctx, feedID)
	if err != nil {
		return nil, err
	}
	r, err := web.NewRendered(body)
	if err != nil {
		return nil, err
	}
	c.a.feeds.put(key, inputs, r)
	return r, nil
}

// RenderedFeedRSS is FeedRSS through the rendered-feed cache.
func (c catalog) RenderedFeedRSS(ctx context.Context, feedID int64) (*web.Rendered, error) {
	return c.rendered(ctx, feedCacheRSS, feedID, c.FeedRSS)
}

// RenderedTorrentFeedRSS is TorrentFeedRSS through the rendered-feed cache.
func (c catalog) RenderedTorrentFeedRSS(ctx context.Context, feedID int64) (*web.Rendered, error) {
	return c.rendered(ctx, feedCacheTorrentRSS, feedID, c.TorrentFeedRSS)
}
