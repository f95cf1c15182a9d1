package seed

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// ErrPieceMismatch means the origin's bytes for a piece did not hash to
// the torrent's piece hash: the origin changed its file (or inserts ads per
// request). Such bytes are never served.
var ErrPieceMismatch = errors.New("origin bytes do not match the piece hash")

// errOnDemandReadOnly is returned to anacrolix for writes: an on-demand
// torrent never downloads from peers.
var errOnDemandReadOnly = errors.New("on-demand storage is read-only")

// onDemandFetchTimeout bounds one piece's fetch from the origin (at most a
// few MiB): a stuck origin must not hold a peer's request forever.
const onDemandFetchTimeout = time.Minute

// onDemandFailureTTL is how long a failed piece fetch is remembered and
// answered from memory. anacrolix asks for a piece in 16 KiB chunks, each
// a separate read; without this, every chunk request of every peer would
// fetch the whole piece again from an origin that just failed.
const onDemandFailureTTL = 30 * time.Second

// OnDemandSource is where an on-demand torrent's bytes come from.
type OnDemandSource struct {
	// URL is the single file's http or https URL (the web seed); it must
	// answer Range requests with the torrent's bytes.
	URL string
	// HTTPClient fetches the pieces; nil uses http.DefaultClient. podseed
	// passes its SSRF-guarded client.
	HTTPClient *http.Client
	// UserAgent is sent with every request when not empty.
	UserAgent string
}

// AddTorrentOnDemand starts seeding mi, a bencoded single-file v1 (or
// hybrid) .torrent, without a local copy: every piece is reported complete
// to peers, and a peer's request is served by fetching the whole piece from
// src.URL with one HTTP Range request, checking its SHA-1 against the
// metainfo before any byte of it is served, and keeping it in cache (shared
// by all on-demand torrents, least recently used first out). Concurrent
// requests for one piece fetch it once. A piece that fails (status, length,
// or ErrPieceMismatch when the origin's bytes changed) is logged and its
// error returned to anacrolix, which rejects (or chokes) the request; the
// failure is remembered for 30 s. Writes are refused: this torrent never
// downloads.
//
// Use it only where the origin's bytes are stable (CheckStable): otherwise
// every piece fails. The cache must hold at least one piece. Adding a
// torrent that is already seeded (either way) does nothing. It returns the
// v1 infohash in lower-case hex. The per-torrent upload limit applies as in
// AddTorrent.
func (c *Client) AddTorrentOnDemand(ctx context.Context, mi []byte, src OnDemandSource, cache *PieceCache) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("add on-demand torrent: %w", err)
	}
	if cache == nil {
		return "", errors.New("add on-demand torrent: nil piece cache")
	}
	u, err := ingestParseURL(src.URL)
	if err != nil {
		return "", fmt.Errorf("add on-demand torrent: %w", err)
	}
	m, info, err := clientDecodeSingleFile(mi)
	if err != nil {
		return "", fmt.Errorf("add on-demand torrent: %w", err)
	}
	ih := m.HashInfoBytes()
	ihHex := ih.HexString()
	if info.PieceLength > cache.maxBytes {
		return "", fmt.Errorf("add on-demand torrent %s: piece length %d exceeds the piece cache (%d bytes)", ihHex, info.PieceLength, cache.maxBytes)
	}
	if _, ok := c.cl.Torrent(ih); ok {
		return ihHex, nil
	}
	client := src.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	st := onDemandClientImpl{
		src:   onDemandOrigin{url: src.URL, redacted: ingestRedactURL(u), client: client, userAgent: src.UserAgent},
		cache: cache, c: c,
	}
	if err := c.addSeedOnly(m, st); err != nil {
		return "", fmt.Errorf("add on-demand torrent %s: %w", ihHex, err)
	}
	c.logger.Debug("seeding torrent on demand", "infohash", ihHex, "web_seed", ingestRedactURL(u))
	return ihHex, nil
}

// onDemandOrigin is one on-demand torrent's source.
type onDemandOrigin struct {
	url       string
	redacted  string // url for logs and errors
	client    *http.Client
	userAgent string
}

// onDemandClientImpl is the storage.ClientImpl of one on-demand torrent.
type onDemandClientImpl struct {
	src   onDemandOrigin
	cache *PieceCache
	c     *Client
}

// OpenTorrent returns pieces that read through the cache; it opens nothing.
func (o onDemandClientImpl) OpenTorrent(_ context.Context, info *metainfo.Info, ih metainfo.Hash) (storage.TorrentImpl, error) {
	t := &onDemandTorrent{src: o.src, cache: o.cache, c: o.c, ih: ih, length: info.TotalLength()}
	return storage.TorrentImpl{
		PieceWithHash: func(p metainfo.Piece, hash g.Option[[]byte]) storage.PieceImpl {
			return onDemandPiece{t: t, p: p, hash: hash}
		},
		Close: func() error { return nil },
	}, nil
}

// onDemandTorrent is what the pieces of one on-demand torrent share.
type onDemandTorrent struct {
	src    onDemandOrigin
	cache  *PieceCache
	c      *Client
	ih     metainfo.Hash
	length int64 // the file's length in bytes
}

// onDemandPiece is one piece of an on-demand torrent.
type onDemandPiece struct {
	t    *onDemandTorrent
	p    metainfo.Piece
	hash g.Option[[]byte] // the v1 SHA-1
}

// ReadAt serves b from the verified piece, fetching it on a cache miss.
func (p onDemandPiece) ReadAt(b []byte, off int64) (int, error) {
	key := pieceCacheKey{ih: p.t.ih, index: p.p.Index()}
	data, err := p.t.cache.get(key, p.fetch)
	if err != nil {
		return 0, err
	}
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(b, data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// fetch GETs the piece's byte range from the origin and verifies it. It
// runs once per cache miss, on behalf of every reader waiting for it, so it
// uses the Client's lifetime, not a reader's.
func (p onDemandPiece) fetch() ([]byte, error) {
	t := p.t
	data, err := p.fetchVerified()
	if err != nil {
		level := slog.LevelWarn
		if t.c.closing.Err() != nil {
			level = slog.LevelDebug // shutting down
		}
		t.c.logger.Log(context.Background(), level, "on-demand piece not served",
			"infohash", t.ih.HexString(), "piece", p.p.Index(), "web_seed", t.src.redacted, "err", err)
		return nil, err
	}
	return data, nil
}

func (p onDemandPiece) fetchVerified() ([]byte, error) {
	t := p.t
	want := p.hash.UnwrapOrZeroValue()
	if !p.hash.Ok || len(want) != sha1.Size {
		return nil, fmt.Errorf("piece %d: no v1 piece hash", p.p.Index())
	}
	ctx, cancel := context.WithTimeout(t.c.closing, onDemandFetchTimeout)
	defer cancel()
	start, n := p.p.Offset(), p.p.Length()
	rangeHeader := fmt.Sprintf("bytes=%d-%d", start, start+n-1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.src.url, nil)
	if err != nil {
		return nil, fmt.Errorf("piece %d: new request: %w", p.p.Index(), onDemandErr(err))
	}
	if t.src.userAgent != "" {
		req.Header.Set("User-Agent", t.src.userAgent)
	}
	req.Header.Set("Range", rangeHeader)
	req.Header.Set("Accept-Encoding", "identity") // the stored bytes, not gzip
	resp, err := t.src.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("piece %d: get %s: %w", p.p.Index(), rangeHeader, onDemandErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("piece %d: get %s: %w", p.p.Index(), rangeHeader,
			&IngestStatusError{StatusCode: resp.StatusCode, Status: resp.Status})
	}
	cr := resp.Header.Get("Content-Range")
	if s, e, total, ok := stableParseContentRange(cr); !ok || s != start || e != start+n-1 || total >= 0 && total != t.length {
		return nil, fmt.Errorf("piece %d: get %s: content-range %q, want %d bytes of %d", p.p.Index(), rangeHeader, cr, n, t.length)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, fmt.Errorf("piece %d: content-encoding %q", p.p.Index(), ce)
	}
	data := make([]byte, n+1) // one more byte shows a body longer than asked
	got, err := stableReadFull(resp.Body, data)
	if err != nil {
		return nil, fmt.Errorf("piece %d: read body: %w", p.p.Index(), onDemandErr(err))
	}
	if int64(got) != n {
		return nil, fmt.Errorf("piece %d: body has %d bytes, want %d", p.p.Index(), got, n) // n+1: longer
	}
	data = data[:n]
	if sum := sha1.Sum(data); !bytes.Equal(sum[:], want) {
		t.cache.mismatches.Add(1)
		return nil, fmt.Errorf("piece %d: %w", p.p.Index(), ErrPieceMismatch)
	}
	return data, nil
}

// onDemandErr strips *url.Error, which repeats the URL (credentials).
func onDemandErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// WriteAt refuses: an on-demand torrent never downloads.
func (onDemandPiece) WriteAt([]byte, int64) (int, error) { return 0, errOnDemandReadOnly }

// MarkComplete does nothing: every piece is complete already.
func (onDemandPiece) MarkComplete() error { return nil }

// MarkNotComplete does nothing: the piece stays available; a failed read
// is an error of that read, and the next may succeed.
func (onDemandPiece) MarkNotComplete() error { return nil }

// Completion reports the piece complete: the origin has it.
func (onDemandPiece) Completion() storage.Completion {
	return storage.Completion{Ok: true, Complete: true}
}

// PieceCache is a bounded in-memory cache of verified pieces of on-demand
// torrents (Client.AddTorrentOnDemand), least recently used out first. It
// also makes concurrent reads of one piece share one fetch. One cache may
// serve many torrents and Clients; it is safe for concurrent use.
type PieceCache struct {
	maxBytes int64

	mu      sync.Mutex
	used    int64
	lru     list.List // of *pieceCacheEntry, most recently used at the front
	entries map[pieceCacheKey]*list.Element
	flights map[pieceCacheKey]*pieceCacheFlight
	failed  map[pieceCacheKey]pieceCacheFailure

	hits, fetches, mismatches atomic.Int64
}

// PieceCacheStats are a PieceCache's counters since it was made.
type PieceCacheStats struct {
	// Bytes and Pieces are what the cache holds now.
	Bytes  int64
	Pieces int
	// MaxBytes is the cache's budget.
	MaxBytes int64
	// Hits counts reads served from the cache (or from a fetch already in
	// flight); Fetches counts pieces fetched from an origin, whatever the
	// outcome; Mismatches counts fetched pieces that failed their hash.
	Hits, Fetches, Mismatches int64
}

type pieceCacheKey struct {
	ih    metainfo.Hash
	index int
}

type pieceCacheEntry struct {
	key  pieceCacheKey
	data []byte
}

// pieceCacheFlight is a fetch in progress; done is closed when data or err
// is set.
type pieceCacheFlight struct {
	done chan struct{}
	data []byte
	err  error
	// waiters counts the reads that joined this fetch (under
	// PieceCache.mu; tests wait on it).
	waiters int
}

type pieceCacheFailure struct {
	err   error
	until time.Time
}

// NewPieceCache returns an empty cache holding at most maxBytes of piece
// data (> 0; it must hold at least one piece of every torrent it serves).
func NewPieceCache(maxBytes int64) (*PieceCache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("new piece cache: budget %d bytes: must be positive", maxBytes)
	}
	return &PieceCache{
		maxBytes: maxBytes,
		entries:  map[pieceCacheKey]*list.Element{},
		flights:  map[pieceCacheKey]*pieceCacheFlight{},
		failed:   map[pieceCacheKey]pieceCacheFailure{},
	}, nil
}

// Stats returns the cache's size and counters.
func (pc *PieceCache) Stats() PieceCacheStats {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return PieceCacheStats{
		Bytes: pc.used, Pieces: len(pc.entries), MaxBytes: pc.maxBytes,
		Hits: pc.hits.Load(), Fetches: pc.fetches.Load(), Mismatches: pc.mismatches.Load(),
	}
}

// get returns key's data: from the cache, from a fetch in flight, or from a
// new call of fetch, whose result is cached (evicting the least recently
// used pieces beyond the budget) or, on error, remembered for
// onDemandFailureTTL. The returned slice must not be modified.
func (pc *PieceCache) get(key pieceCacheKey, fetch func() ([]byte, error)) ([]byte, error) {
	pc.mu.Lock()
	if el, ok := pc.entries[key]; ok {
		pc.lru.MoveToFront(el)
		pc.mu.Unlock()
		pc.hits.Add(1)
		return el.Value.(*pieceCacheEntry).data, nil
	}
	if f, ok := pc.failed[key]; ok {
		if time.Now().Before(f.until) {
			pc.mu.Unlock()
			return nil, f.err
		}
		delete(pc.failed, key)
	}
	if fl, ok := pc.flights[key]; ok {
		fl.waiters++
		pc.mu.Unlock()
		<-fl.done
		if fl.err == nil {
			pc.hits.Add(1)
		}
		return fl.data, fl.err
	}
	fl := &pieceCacheFlight{done: make(chan struct{})}
	pc.flights[key] = fl
	pc.mu.Unlock()

	pc.fetches.Add(1)
	fl.data, fl.err = fetch() // no lock held across I/O

	pc.mu.Lock()
	delete(pc.flights, key)
	if fl.err != nil {
		now := time.Now()
		if len(pc.failed) >= 1024 { // forget expired failures of pieces no one asked for again
			for k, f := range pc.failed {
				if !now.Before(f.until) {
					delete(pc.failed, k)
				}
			}
		}
		pc.failed[key] = pieceCacheFailure{err: fl.err, until: now.Add(onDemandFailureTTL)}
	} else {
		pc.entries[key] = pc.lru.PushFront(&pieceCacheEntry{key: key, data: fl.data})
		pc.used += int64(len(fl.data))
		for pc.used > pc.maxBytes && pc.lru.Len() > 1 {
			old := pc.lru.Remove(pc.lru.Back()).(*pieceCacheEntry)
			delete(pc.entries, old.key)
			pc.used -= int64(len(old.data))
		}
	}
	pc.mu.Unlock()
	close(fl.done)
	return fl.data, fl.err
}
