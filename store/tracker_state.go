package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Statements on tracker_swarms and the torrents the tracker serves.
const (
	// upsertTrackerCompleted never lowers a stored count: completed is a
	// counter, and a stale writer must not undo a newer one.
	upsertTrackerCompleted = `INSERT INTO tracker_swarms (info_hash, completed, updated_at)
		VALUES (?1, ?2, ?3)
		ON CONFLICT (info_hash) DO UPDATE SET completed = ?2, updated_at = ?3
		WHERE ?2 > completed`
	listTrackerCompleted  = "SELECT info_hash, completed FROM tracker_swarms WHERE completed > 0"
	listTorrentInfoHashes = "SELECT info_hash FROM torrents"
)

// SaveTrackerCompleted stores the built-in tracker's completed-download
// counts, keyed by lower-case (or upper-case) 40-hex-digit v1 infohash, in
// one transaction: all of them or, on error, none. A count lower than the
// stored one is ignored (counts only grow). It returns an error, writing
// nothing, if a key is not an infohash or a count is negative; and the
// database's error if the write fails (say, a full disk).
func (s *Store) SaveTrackerCompleted(ctx context.Context, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(counts)) // a fixed write order
	for _, ih := range keys {
		if !validInfoHash(strings.ToLower(ih)) {
			return fmt.Errorf("save tracker completed counts: infohash %q is not 40 hex characters", ih)
		}
		if counts[ih] < 0 {
			return fmt.Errorf("save tracker completed counts: negative count %d for %s", counts[ih], ih)
		}
	}
	now := nanos(s.now())
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, upsertTrackerCompleted)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, ih := range keys {
			if _, err := stmt.ExecContext(ctx, strings.ToLower(ih), counts[ih], now); err != nil {
				return fmt.Errorf("torrent %s: %w", ih, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save tracker completed counts: %w", err)
	}
	return nil
}

// ListTrackerCompleted returns every stored non-zero completed-download
// count, keyed by lower-case hex v1 infohash; an empty map, not nil, when
// there are none.
func (s *Store) ListTrackerCompleted(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, listTrackerCompleted)
	if err != nil {
		return nil, fmt.Errorf("list tracker completed counts: %w", err)
	}
	defer rows.Close()
	counts := make(map[string]int)
	for rows.Next() {
		var (
			ih string
			n  int
		)
		if err := rows.Scan(&ih, &n); err != nil {
			return nil, fmt.Errorf("list tracker completed counts: %w", err)
		}
		counts[ih] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tracker completed counts: %w", err)
	}
	return counts, nil
}

// ListTorrentInfoHashes returns the lower-case hex infohash of every stored
// torrent, in no particular order: the torrents podseed should seed and its
// tracker serve. Unlike ListTorrents it reads no metainfo, so it is cheap
// enough to call every few seconds to notice torrents another process
// (`podseed remove`) deleted.
func (s *Store) ListTorrentInfoHashes(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, listTorrentInfoHashes)
	if err != nil {
		return nil, fmt.Errorf("list torrent infohashes: %w", err)
	}
	defer rows.Close()
	var ihs []string
	for rows.Next() {
		var ih string
		if err := rows.Scan(&ih); err != nil {
			return nil, fmt.Errorf("list torrent infohashes: %w", err)
		}
		ihs = append(ihs, ih)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list torrent infohashes: %w", err)
	}
	return ihs, nil
}
