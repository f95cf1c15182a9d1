package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// feedMaxAge is how long clients and shared caches may reuse a feed
// without asking again (Cache-Control max-age): short, since a new episode
// should reach subscribers within a poll interval; revalidation with
// If-None-Match is cheap (304).
const feedMaxAge = 60 * time.Second

// Rendered is a feed rendered once and served many times: its bytes, their
// gzip encoding and strong entity tags (RFC 9110 §8.8.3) for both.
type Rendered struct {
	// Body is the feed document.
	Body []byte
	// Gzip is Body gzip-compressed (RFC 1952); nil when that is not
	// smaller.
	Gzip []byte
	// ETag is the quoted strong entity tag of Body: a hash of its bytes.
	ETag string
	// GzipETag is the quoted strong entity tag of Gzip, a different
	// representation of the same content.
	GzipETag string
}

// NewRendered hashes and compresses body. It fails only if compression
// does, which writing to memory does not.
func NewRendered(body []byte) (*Rendered, error) {
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:18])
	r := &Rendered{Body: body, ETag: `"` + tag + `"`, GzipETag: `"` + tag + `-gzip"`}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("gzip feed: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip feed: %w", err)
	}
	if buf.Len() < len(body) {
		r.Gzip = buf.Bytes()
	}
	return r, nil
}

// Size is the memory r holds, in bytes.
func (r *Rendered) Size() int64 { return int64(len(r.Body) + len(r.Gzip)) }

// RenderedFeeds is implemented by a Catalog that caches its rendered feeds,
// so unchanged feeds are not rendered again per request. Without it, web
// renders on every request through FeedRSS and TorrentFeedRSS.
type RenderedFeeds interface {
	// RenderedFeedRSS is FeedRSS, rendered; errors as FeedRSS.
	RenderedFeedRSS(ctx context.Context, feedID int64) (*Rendered, error)
	// RenderedTorrentFeedRSS is TorrentFeedRSS, rendered; errors as
	// TorrentFeedRSS.
	RenderedTorrentFeedRSS(ctx context.Context, feedID int64) (*Rendered, error)
}

// renderedFeedRSS returns the republished feed, from the catalog's cache
// if it has one.
func (s *Server) renderedFeedRSS(ctx context.Context, feedID int64) (*Rendered, error) {
	if rf, ok := s.catalog.(RenderedFeeds); ok {
		return rf.RenderedFeedRSS(ctx, feedID)
	}
	body, err := s.catalog.FeedRSS(ctx, feedID)
	if err != nil {
		return nil, err
	}
	return NewRendered(body)
}

// renderedTorrentFeedRSS returns the torrent feed, from the catalog's cache
// if it has one.
func (s *Server) renderedTorrentFeedRSS(ctx context.Context, feedID int64) (*Rendered, error) {
	if rf, ok := s.catalog.(RenderedFeeds); ok {
		return rf.RenderedTorrentFeedRSS(ctx, feedID)
	}
	body, err := s.catalog.TorrentFeedRSS(ctx, feedID)
	if err != nil {
		return nil, err
	}
	return NewRendered(body)
}

// serveRendered serves a rendered feed: gzip-encoded when the client
// accepts it (Vary: Accept-Encoding), with the representation's strong
// ETag, a short max-age, and 304 Not Modified when If-None-Match names
// either representation's tag (same content; the 304 carries the tag of
// the representation this request would get). http.ServeContent adds HEAD
// and Range (over the representation sent).
func serveRendered(w http.ResponseWriter, r *http.Request, contentType string, rd *Rendered) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(feedMaxAge.Seconds())))
	h.Add("Vary", "Accept-Encoding")
	body, etag := rd.Body, rd.ETag
	if rd.Gzip != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body, etag = rd.Gzip, rd.GzipETag
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		etagListMatches(inm, rd.ETag, rd.GzipETag) {
		h.Del("Content-Type")
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// etagListMatches reports whether an If-None-Match value ("*" or a list of
// entity tags) matches one of tags by weak comparison (RFC 9110 §13.1.2).
func etagListMatches(list string, tags ...string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		for _, want := range tags {
			if t == want {
				return true
			}
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value (RFC 9110 §12.5.3)
// accepts gzip: listed (or "*") with a non-zero q.
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
