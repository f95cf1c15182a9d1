package seed

import (
	"context"
	"fmt"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// limitedStorage wraps one torrent's storage so that reads serving peers'
// requests wait on a limiter of limit bytes per second for this torrent
// alone: a per-torrent upload limit, which anacrolix v1.59.1 lacks.
//
// anacrolix reads piece data for a peer's request through
// storage.TorrentImpl.NewReader (when set), on the connection's request
// goroutine, before the data is queued for sending; hash checks read
// through the pieces instead and are not throttled. Data cannot be sent
// before it is read, so over time a torrent uploads no faster than limit;
// the global limiter (ClientConfig.UploadRateLimit) still applies on top.
func (c *Client) limitedStorage(inner storage.ClientImpl, limit int64) storage.ClientImpl {
	return limitedClientImpl{inner: inner, limit: limit, c: c}
}

type limitedClientImpl struct {
	inner storage.ClientImpl
	limit int64
	c     *Client
}

// OpenTorrent opens the inner storage and adds a throttled whole-torrent
// reader; one limiter per torrent.
func (l limitedClientImpl) OpenTorrent(ctx context.Context, info *metainfo.Info, ih metainfo.Hash) (storage.TorrentImpl, error) {
	t, err := l.inner.OpenTorrent(ctx, info, ih)
	if err != nil {
		return t, err
	}
	lim := rate.NewLimiter(rate.Limit(l.limit), clientUploadBurst(l.limit))
	whole := &storage.Torrent{TorrentImpl: t}
	t.NewReader = func() storage.TorrentReader {
		return &limitedReader{t: whole, info: info, lim: lim, c: l.c}
	}
	return t, nil
}

// limitedReader reads a torrent's data at torrent offsets, waiting on lim
// first.
type limitedReader struct {
	t    *storage.Torrent
	info *metainfo.Info
	lim  *rate.Limiter
	c    *Client
}

// ReadAt waits until lim allows len(b) bytes (in bursts), then reads them
// piece by piece. It fails when the Client closes while it waits.
func (r *limitedReader) ReadAt(b []byte, off int64) (int, error) {
	for rest := len(b); rest > 0; {
		n := min(rest, r.lim.Burst())
		if err := r.lim.WaitN(r.c.closing, n); err != nil {
			return 0, fmt.Errorf("per-torrent upload limit: %w", err)
		}
		rest -= n
	}
	r.c.throttledBytes.Add(int64(len(b)))
	var n int
	for n < len(b) {
		pos := off + int64(n)
		if pos >= r.info.TotalLength() {
			return n, fmt.Errorf("read at %d: beyond torrent length %d", pos, r.info.TotalLength())
		}
		p := r.info.Piece(int(pos / r.info.PieceLength))
		pieceOff := pos - p.Offset()
		end := min(len(b), n+int(p.Length()-pieceOff))
		m, err := r.t.PieceWithHash(p, g.Some(p.V1Hash().Unwrap().Bytes())).ReadAt(b[n:end], pieceOff)
		n += m
		if err != nil && n < len(b) {
			return n, err
		}
		if m == 0 {
			return n, fmt.Errorf("read at %d: no progress", pos)
		}
	}
	return n, nil
}

// Close releases nothing: the pieces belong to the torrent's storage.
func (r *limitedReader) Close() error { return nil }

// UploadRateLimits returns the upload limits in force, in bytes per second
// (0: unlimited): across all torrents, and per torrent.
func (c *Client) UploadRateLimits() (global, perTorrent int64) {
	if c.upload != nil {
		global = int64(c.upload.Limit())
	}
	return global, c.torrentUploadLimit
}
