package web

import (
	"context"
	"time"
)

// Evictions is implemented by a Catalog that knows which torrents'
// data podseed's retention policy deleted. An evicted torrent stays
// published (feeds, .torrent, magnet) but podseed no longer seeds it: the web
// seed and other peers serve it. Catalogs without it show nothing evicted.
type Evictions interface {
	// TorrentEvictedAt returns when the torrent with a hex infohash was
	// evicted, or the zero time if podseed seeds it (or it is unknown).
	TorrentEvictedAt(ctx context.Context, infoHash string) time.Time
}

// OnDemandSeeding is implemented by a Catalog that can seed evicted
// torrents without a local copy (--on-demand-seeding): pieces are fetched
// from the origin with Range requests when a peer asks, verified against the
// piece hashes, and cached.
type OnDemandSeeding interface {
	// TorrentSeededOnDemand reports whether podseed seeds the torrent with
	// a hex infohash on demand from its origin now.
	TorrentSeededOnDemand(ctx context.Context, infoHash string) bool
}

// seededOnDemand asks the catalog, if it seeds on demand, whether it seeds
// the torrent that way now; false otherwise.
func (s *Server) seededOnDemand(ctx context.Context, infoHash string) bool {
	if od, ok := s.catalog.(OnDemandSeeding); ok {
		return od.TorrentSeededOnDemand(ctx, infoHash)
	}
	return false
}

// evictedAt asks the catalog, if it knows evictions, when a torrent was
// evicted; the zero time otherwise.
func (s *Server) evictedAt(ctx context.Context, infoHash string) time.Time {
	if ev, ok := s.catalog.(Evictions); ok {
		return ev.TorrentEvictedAt(ctx, infoHash)
	}
	return time.Time{}
}
