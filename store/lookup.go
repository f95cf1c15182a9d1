package store

import (
	"context"
	"fmt"
)

// ListEpisodeTorrentsByEnclosureURL returns the ready episodes, of any feed,
// whose enclosure URL is exactly url, with their torrents, newest
// PublishedAt first (unknown last), then by episode ID descending. None is
// an empty result, not an error.
func (s *Store) ListEpisodeTorrentsByEnclosureURL(ctx context.Context, url string) ([]EpisodeTorrent, error) {
	ets, err := s.queryEpisodeTorrents(ctx, "e.enclosure_url = ?", -1, url)
	if err != nil {
		return nil, fmt.Errorf("list episode torrents by enclosure url: %w", err)
	}
	return ets, nil
}

// ListEpisodeTorrentsByGUID returns the ready episodes, of any feed, whose
// GUID is exactly guid (an item without a guid is keyed by its enclosure
// URL), with their torrents, in the order of
// ListEpisodeTorrentsByEnclosureURL. None is an empty result.
func (s *Store) ListEpisodeTorrentsByGUID(ctx context.Context, guid string) ([]EpisodeTorrent, error) {
	ets, err := s.queryEpisodeTorrents(ctx, "e.guid = ?", -1, guid)
	if err != nil {
		return nil, fmt.Errorf("list episode torrents by guid: %w", err)
	}
	return ets, nil
}

// ListEpisodeTorrentsByInfoHash returns the ready episodes, of any feed,
// that use the torrent with hex infohash infoHash, in the order of
// ListEpisodeTorrentsByEnclosureURL. None (an unknown torrent) is an empty
// result.
func (s *Store) ListEpisodeTorrentsByInfoHash(ctx context.Context, infoHash string) ([]EpisodeTorrent, error) {
	ets, err := s.queryEpisodeTorrents(ctx, "e.info_hash = ?", -1, infoHash)
	if err != nil {
		return nil, fmt.Errorf("list episode torrents of %s: %w", infoHash, err)
	}
	return ets, nil
}

// ListRecentEpisodeTorrents returns up to limit ready episodes of all feeds
// with their torrents, newest PublishedAt first (unknown last), then by
// episode ID descending. A limit of 0 or less means no limit.
func (s *Store) ListRecentEpisodeTorrents(ctx context.Context, limit int) ([]EpisodeTorrent, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	ets, err := s.queryEpisodeTorrents(ctx, "1", limit)
	if err != nil {
		return nil, fmt.Errorf("list recent episode torrents: %w", err)
	}
	return ets, nil
}

// queryEpisodeTorrents selects ready episodes matching the SQL condition
// where (on episodes e) with their torrents, newest first, at most limit
// (-1: all).
func (s *Store) queryEpisodeTorrents(ctx context.Context, where string, limit int, args ...any) ([]EpisodeTorrent, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+episodeColumns+", t.info_hash, e.id, "+torrentColumns+`
		FROM episodes e JOIN torrents t ON t.info_hash = e.info_hash
		WHERE e.state = 'ready' AND (`+where+`)
		ORDER BY e.published_at DESC NULLS LAST, e.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ets := []EpisodeTorrent{}
	for rows.Next() {
		var t Torrent
		dest, finish := s.torrentDest(&t)
		e, err := scanEpisode(rows, dest...)
		if err != nil {
			return nil, err
		}
		finish()
		ets = append(ets, EpisodeTorrent{Episode: e, Torrent: t})
	}
	return ets, rows.Err()
}
