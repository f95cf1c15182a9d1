package web

import (
	"context"
	"time"

	"github.com/podseed/podseed/store"
)

// Lifecycle is what a Catalog may also offer about an enclosure's life
// after its torrent was made: a feed's <podcast:locked>, the web seeds
// podseed serves, and the torrents an episode had before. Pages and the
// API show these when the Catalog implements it.
type Lifecycle interface {
	// FeedLock returns a feed's <podcast:locked>; store.ErrNotFound if the
	// feed is unknown.
	FeedLock(ctx context.Context, feedID int64) (store.FeedLock, error)
	// WebSeeds returns the url-list (BEP 19) of the .torrent served for a
	// hex infohash: none when withheld, the enclosure dead, or the torrent
	// unknown or retired.
	WebSeeds(ctx context.Context, infoHash string) []string
	// ListTorrentReplacements returns the torrents an episode had before
	// its current one, oldest first.
	ListTorrentReplacements(ctx context.Context, episodeID int64) ([]store.TorrentReplacement, error)
}

// lifecycle returns the catalog's Lifecycle, nil if it has none.
func (s *Server) lifecycle() Lifecycle {
	l, _ := s.catalog.(Lifecycle)
	return l
}

// webSeedOf is the web seed the pages show for torrent t of episode e:
// the first URL of the served url-list, or "" when none is served.
func (s *Server) webSeedOf(ctx context.Context, e store.Episode, t store.Torrent) string {
	if l := s.lifecycle(); l != nil {
		if ws := l.WebSeeds(ctx, t.InfoHash); len(ws) > 0 {
			return ws[0]
		}
		return ""
	}
	if t.WebSeedWithheld != "" || !t.WebSeedDeadAt.IsZero() {
		return ""
	}
	if t.SourceURL != "" {
		return t.SourceURL
	}
	return e.EnclosureURL
}

// replacedTorrent is an earlier torrent of an episode, for pages.
type replacedTorrent struct {
	InfoHash, TorrentURL, Reason string
	ReplacedAt, RetiredAt        string // RetiredAt "" if still used elsewhere
}

// replacedTorrents lists episode id's earlier torrents, newest first.
func (s *Server) replacedTorrents(ctx context.Context, id int64) ([]store.TorrentReplacement, error) {
	l := s.lifecycle()
	if l == nil {
		return nil, nil
	}
	rs, err := l.ListTorrentReplacements(ctx, id)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs, nil
}

// apiReplacedTorrent is an earlier torrent of an episode in the API.
type apiReplacedTorrent struct {
	InfoHash   string     `json:"infohash"`
	TorrentURL string     `json:"torrent_url"`
	Reason     string     `json:"reason"`
	ReplacedBy string     `json:"replaced_by"`
	ReplacedAt *time.Time `json:"replaced_at"`
	RetiredAt  *time.Time `json:"retired_at"`
}
