package web

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// WebSeedBytes counts, per torrent, the response-body bytes podseed served
// over HTTP from its own copy of the torrent's file: the web seed endpoint
// /webseed/{infohash}/{name} and /episodes/{id} when it serves the copy
// instead of redirecting to the origin (serveCopy). Only bodies of 200 and
// 206 answers count, as written to the connection (a client that goes away
// mid-way counts what was written); HEAD, 304, 412 and 416 answers count
// 0. A multipart/byteranges answer counts its part headers and boundaries
// too (some dozens of bytes per range).
//
// The counts are cumulative: Restore starts them from what an earlier run
// recorded, so they survive restarts when the caller saves them (the
// sampler stores them in the swarm samples each minute). The zero value is
// ready; it is safe for concurrent use.
type WebSeedBytes struct {
	counts sync.Map // lower-case hex infohash → *atomic.Int64
}

// counter returns infoHash's counter, creating it at 0.
func (c *WebSeedBytes) counter(infoHash string) *atomic.Int64 {
	ih := strings.ToLower(infoHash)
	if v, ok := c.counts.Load(ih); ok {
		return v.(*atomic.Int64)
	}
	v, _ := c.counts.LoadOrStore(ih, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// Bytes returns the bytes served for the torrent with the given hex
// infohash (either case): restored plus served since; 0 if none.
func (c *WebSeedBytes) Bytes(infoHash string) int64 {
	if v, ok := c.counts.Load(strings.ToLower(infoHash)); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Total returns the sum of Bytes over every torrent counted since the
// process started, restored counts included. It only grows.
func (c *WebSeedBytes) Total() int64 {
	var total int64
	c.counts.Range(func(_, v any) bool {
		total += v.(*atomic.Int64).Load()
		return true
	})
	return total
}

// Restore raises each torrent's count (by hex infohash) to the given
// number of bytes, as an earlier run recorded them; a count that is higher
// already, or a negative number, is left alone. Call it before serving.
func (c *WebSeedBytes) Restore(counts map[string]int64) {
	for ih, n := range counts {
		ctr := c.counter(ih)
		for {
			old := ctr.Load()
			if n <= old || ctr.CompareAndSwap(old, n) {
				break
			}
		}
	}
}

// WithWebSeedBytes makes the server count the bytes it serves from its
// copies in c, so that the caller can read and record them; without it the
// server counts into a counter of its own that nobody reads.
func WithWebSeedBytes(c *WebSeedBytes) Option {
	return func(s *Server) { s.webSeeded = c }
}

// countingWriter counts the body bytes of a 200 or 206 answer written
// through it into n. Unwrap lets http.ResponseController reach the
// connection's deadlines.
type countingWriter struct {
	http.ResponseWriter
	n      *atomic.Int64
	status int // 0 until WriteHeader (or the first Write, an implicit 200)
}

func (cw *countingWriter) WriteHeader(code int) {
	if cw.status == 0 && code >= 200 {
		cw.status = code
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	n, err := cw.ResponseWriter.Write(p)
	if cw.status == http.StatusOK || cw.status == http.StatusPartialContent {
		cw.n.Add(int64(n))
	}
	return n, err
}

func (cw *countingWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }
