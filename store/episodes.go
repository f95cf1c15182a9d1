package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// EpisodeState is where an episode is in the download → torrent pipeline.
type EpisodeState string

// Episode states.
const (
	// EpisodePending episodes wait for their enclosure to be downloaded.
	EpisodePending EpisodeState = "pending"
	// EpisodeReady episodes have a torrent (Episode.InfoHash is set).
	EpisodeReady EpisodeState = "ready"
	// EpisodeFailed episodes failed to download or hash; they are retried
	// from Episode.NextAttemptAt.
	EpisodeFailed EpisodeState = "failed"
)

// Episode is an item of a feed with an enclosure.
type Episode struct {
	ID     int64
	FeedID int64
	// GUID is the item's guid, or its enclosure URL when it has none; it
	// is unique within a feed.
	GUID            string
	Title           string
	EnclosureURL    string
	EnclosureLength int64 // declared by the feed, in bytes; 0 if unknown
	EnclosureType   string
	PublishedAt     time.Time // zero if unknown
	State           EpisodeState
	LastError       string    // last download error; "" if none
	Attempts        int       // failed download attempts so far
	NextAttemptAt   time.Time // when a failed episode may be retried; zero if not failed
	InfoHash        string    // hex infohash of its torrent; "" until ready
	Size            int64     // bytes of its torrent's file; 0 until ready
	CreatedAt       time.Time
	// ReplaceReason is set on a ready episode whose enclosure changed
	// (same GUID, new URL, declared length or ETag): a new torrent is due
	// and InfoHash stays published until it is made. "" when none is due.
	// Failed attempts at it count in Attempts, LastError and NextAttemptAt.
	ReplaceReason string
	// PublisherTorrentURL is the .torrent the feed itself offers for the
	// enclosure (PeerTube feeds), "" if none; podseed seeds that torrent
	// instead of making its own when its pieces match the enclosure.
	PublisherTorrentURL string
}

// episodeColumns selects an episodes row aliased e, for scanEpisode.
const episodeColumns = `e.id, e.feed_id, e.guid, e.title, e.enclosure_url, e.enclosure_length,
	e.enclosure_type, e.published_at, e.state, e.last_error, e.attempts, e.next_attempt_at,
	COALESCE(e.info_hash, ''),
	COALESCE((SELECT ts.size FROM torrents ts WHERE ts.info_hash = e.info_hash), 0), e.created_at,
	e.replace_reason, e.publisher_torrent_url`

// scanEpisode scans a row selected with episodeColumns, followed by columns
// scanned into extra.
func scanEpisode(row rowScanner, extra ...any) (Episode, error) {
	var (
		e                          Episode
		published, next, createdAt sql.NullInt64
	)
	dest := append([]any{&e.ID, &e.FeedID, &e.GUID, &e.Title, &e.EnclosureURL, &e.EnclosureLength,
		&e.EnclosureType, &published, &e.State, &e.LastError, &e.Attempts, &next,
		&e.InfoHash, &e.Size, &createdAt, &e.ReplaceReason, &e.PublisherTorrentURL}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Episode{}, err
	}
	e.PublishedAt = fromNanos(published)
	e.NextAttemptAt = fromNanos(next)
	e.CreatedAt = fromNanos(createdAt)
	return e, nil
}

// UpsertEpisodes records the episodes of feed feedID found by a poll, in one
// transaction, keyed by (feedID, GUID); an empty GUID falls back to the
// enclosure URL, and of several episodes with the same key only the first is
// used. Unknown episodes are inserted as pending and returned, with their
// IDs, in input order. Known episodes get their title and publication time
// updated; if one that is not ready yet has a new enclosure URL, its
// enclosure is replaced and it becomes pending again with no attempts.
//
// A ready episode keeps its torrent, but takes a new enclosure URL, length
// and type, and a replacement torrent becomes due (ReplaceReason, no
// attempts) when the URL changed, or when the declared length changed from
// one positive value to another that is not the torrent's size either,
// unless the torrent's web seed is withheld (an origin whose bytes change
// per request, as with dynamic ad insertion, often declares a new length on
// every poll). A length that changes to 0 or from 0 is only recorded.
// Every episode needs an EnclosureURL. It returns an error wrapping
// ErrNotFound if the feed does not exist.
func (s *Store) UpsertEpisodes(ctx context.Context, feedID int64, eps []Episode) ([]Episode, error) {
	for i, e := range eps {
		if e.EnclosureURL == "" {
			return nil, fmt.Errorf("upsert episodes of feed %d: episode %d (guid %q): empty enclosure url", feedID, i, e.GUID)
		}
	}
	now := s.now()
	var inserted []Episode
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM feeds WHERE id = ?", feedID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}

		insert, err := tx.PrepareContext(ctx, `INSERT INTO episodes
			(feed_id, guid, title, enclosure_url, enclosure_length, enclosure_type, published_at, state, created_at,
			 publisher_torrent_url)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
			ON CONFLICT (feed_id, guid) DO NOTHING RETURNING id`)
		if err != nil {
			return err
		}
		defer insert.Close()
		update, err := tx.PrepareContext(ctx,
			"UPDATE episodes SET title = ?, published_at = ?, publisher_torrent_url = ? WHERE feed_id = ? AND guid = ?")
		if err != nil {
			return err
		}
		defer update.Close()
		updateURL, err := tx.PrepareContext(ctx, `UPDATE episodes
			SET enclosure_url = ?, enclosure_length = ?, enclosure_type = ?,
			    state = 'pending', attempts = 0, last_error = '', next_attempt_at = NULL
			WHERE feed_id = ? AND guid = ? AND state <> 'ready' AND enclosure_url <> ?`)
		if err != nil {
			return err
		}
		defer updateURL.Close()
		readReady, err := tx.PrepareContext(ctx, `SELECT e.enclosure_url, e.enclosure_length, e.replace_reason,
			COALESCE(t.size, 0), COALESCE(t.web_seed_withheld, '')
			FROM episodes e JOIN torrents t ON t.info_hash = e.info_hash
			WHERE e.feed_id = ? AND e.guid = ? AND e.state = 'ready'`)
		if err != nil {
			return err
		}
		defer readReady.Close()
		updateReady, err := tx.PrepareContext(ctx, `UPDATE episodes
			SET enclosure_url = ?, enclosure_length = ?, enclosure_type = ?
			WHERE feed_id = ? AND guid = ?`)
		if err != nil {
			return err
		}
		defer updateReady.Close()
		markReplace, err := tx.PrepareContext(ctx, `UPDATE episodes
			SET replace_reason = ?, attempts = 0, last_error = '', next_attempt_at = NULL
			WHERE feed_id = ? AND guid = ?`)
		if err != nil {
			return err
		}
		defer markReplace.Close()

		// One read of what the feed already has: a poll of a feed with
		// hundreds of known episodes skips every one whose stored columns
		// equal the polled ones, since the statements below would change
		// nothing for it (BenchmarkUpsertEpisodes300OneNew).
		known, err := knownEpisodes(ctx, tx, feedID)
		if err != nil {
			return err
		}

		seen := make(map[string]bool, len(eps))
		for _, e := range eps {
			if e.GUID == "" {
				e.GUID = e.EnclosureURL
			}
			if seen[e.GUID] {
				continue
			}
			seen[e.GUID] = true
			if e.EnclosureLength < 0 {
				e.EnclosureLength = 0
			}
			if k, ok := known[e.GUID]; ok && k.unchanged(e) {
				continue
			}

			var id int64
			err := insert.QueryRowContext(ctx, feedID, e.GUID, e.Title, e.EnclosureURL,
				e.EnclosureLength, e.EnclosureType, nanos(e.PublishedAt), nanos(now), e.PublisherTorrentURL).Scan(&id)
			switch {
			case err == nil:
				inserted = append(inserted, Episode{
					ID:              id,
					FeedID:          feedID,
					GUID:            e.GUID,
					Title:           e.Title,
					EnclosureURL:    e.EnclosureURL,
					EnclosureLength: e.EnclosureLength,
					EnclosureType:   e.EnclosureType,
					PublishedAt:     storedTime(e.PublishedAt),
					State:           EpisodePending,
					CreatedAt:       storedTime(now),

					PublisherTorrentURL: e.PublisherTorrentURL,
				})
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("insert guid %q: %w", e.GUID, err)
			}
			if _, err := update.ExecContext(ctx, e.Title, nanos(e.PublishedAt), e.PublisherTorrentURL, feedID, e.GUID); err != nil {
				return fmt.Errorf("update guid %q: %w", e.GUID, err)
			}
			if _, err := updateURL.ExecContext(ctx, e.EnclosureURL, e.EnclosureLength, e.EnclosureType,
				feedID, e.GUID, e.EnclosureURL); err != nil {
				return fmt.Errorf("update enclosure of guid %q: %w", e.GUID, err)
			}
			var (
				oldURL, oldReason, withheld string
				oldLength, size             int64
			)
			err = readReady.QueryRowContext(ctx, feedID, e.GUID).Scan(&oldURL, &oldLength, &oldReason, &size, &withheld)
			if errors.Is(err, sql.ErrNoRows) {
				continue // not ready
			} else if err != nil {
				return fmt.Errorf("read enclosure of guid %q: %w", e.GUID, err)
			}
			if _, err := updateReady.ExecContext(ctx, e.EnclosureURL, e.EnclosureLength, e.EnclosureType,
				feedID, e.GUID); err != nil {
				return fmt.Errorf("update enclosure of guid %q: %w", e.GUID, err)
			}
			reason := ""
			switch {
			case e.EnclosureURL != oldURL:
				reason = "enclosure url changed"
			case withheld == "" && oldLength > 0 && e.EnclosureLength > 0 &&
				e.EnclosureLength != oldLength && e.EnclosureLength != size:
				reason = fmt.Sprintf("enclosure length changed from %d to %d bytes", oldLength, e.EnclosureLength)
			}
			// A replacement already due for another reason keeps it,
			// unless the URL changed again (then its attempts restart).
			if reason != "" && (oldReason == "" || e.EnclosureURL != oldURL) {
				if _, err := markReplace.ExecContext(ctx, reason, feedID, e.GUID); err != nil {
					return fmt.Errorf("mark replacement of guid %q: %w", e.GUID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("upsert episodes of feed %d: %w", feedID, err)
	}
	return inserted, nil
}

// ListEpisodesByFeed returns the episodes of feed feedID, newest PublishedAt
// first (unknown last), then by ID descending, with InfoHash filled for ready
// ones. An unknown feed has no episodes: the result is empty, not an error.
func (s *Store) ListEpisodesByFeed(ctx context.Context, feedID int64) ([]Episode, error) {
	eps, err := s.queryEpisodes(ctx, "SELECT "+episodeColumns+` FROM episodes e
		WHERE e.feed_id = ? ORDER BY e.published_at DESC NULLS LAST, e.id DESC`, feedID)
	if err != nil {
		return nil, fmt.Errorf("list episodes of feed %d: %w", feedID, err)
	}
	return eps, nil
}

// FindEpisodeByID returns the episode with the given ID or an error wrapping
// ErrNotFound.
func (s *Store) FindEpisodeByID(ctx context.Context, id int64) (Episode, error) {
	e, err := scanEpisode(s.db.QueryRowContext(ctx,
		"SELECT "+episodeColumns+" FROM episodes e WHERE e.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Episode{}, fmt.Errorf("find episode %d: %w", id, err)
	}
	return e, nil
}

// ListPendingEpisodes returns up to limit episodes to download now: pending
// ones, failed ones whose NextAttemptAt is at or before now, and ready ones
// with a replacement due (ReplaceReason) whose NextAttemptAt is zero or at
// or before now. They come
// oldest first, in the order they were discovered (by ID). A limit of 0 or
// less means no limit.
func (s *Store) ListPendingEpisodes(ctx context.Context, now time.Time, limit int) ([]Episode, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	eps, err := s.queryEpisodes(ctx, "SELECT "+episodeColumns+` FROM episodes e
		WHERE e.state = 'pending'
		   OR (e.state = 'failed' AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= ?))
		   OR (e.state = 'ready' AND e.replace_reason <> '' AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= ?))
		ORDER BY e.id LIMIT ?`, nanos(now), nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list pending episodes: %w", err)
	}
	return eps, nil
}

// queryEpisodes runs a query selecting episodeColumns.
func (s *Store) queryEpisodes(ctx context.Context, query string, args ...any) ([]Episode, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var eps []Episode
	for rows.Next() {
		e, err := scanEpisode(rows)
		if err != nil {
			return nil, err
		}
		eps = append(eps, e)
	}
	return eps, rows.Err()
}

// MarkEpisodeFailed records a failed download of episode id: state failed,
// Attempts incremented, LastError msg, retry from nextAttemptAt. A ready
// episode with a replacement due stays ready with its torrent (only the
// attempt is recorded). It returns an error wrapping ErrNotFound if there
// is no such episode, and an error if the episode is ready with no
// replacement due (a ready episode has its torrent).
func (s *Store) MarkEpisodeFailed(ctx context.Context, id int64, msg string, nextAttemptAt time.Time) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var (
			state  EpisodeState
			reason string
		)
		err := tx.QueryRowContext(ctx, "SELECT state, replace_reason FROM episodes WHERE id = ?", id).Scan(&state, &reason)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if state == EpisodeReady {
			if reason == "" {
				return errors.New("episode is ready")
			}
			_, err = tx.ExecContext(ctx, `UPDATE episodes
				SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
				WHERE id = ?`, msg, nanos(nextAttemptAt), id)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE episodes
			SET state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ?
			WHERE id = ?`, msg, nanos(nextAttemptAt), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark episode %d failed: %w", id, err)
	}
	return nil
}

// knownEpisode is what UpsertEpisodes writes of a polled episode, as stored.
type knownEpisode struct {
	title, enclosureURL, enclosureType, publisherTorrentURL string
	enclosureLength                                         int64
	publishedAt                                             sql.NullInt64
}

// unchanged reports whether storing e would write exactly what is stored:
// the same title, publication time, publisher torrent and enclosure URL,
// length and type.
func (k knownEpisode) unchanged(e Episode) bool {
	n, ok := nanos(e.PublishedAt).(int64)
	return k.title == e.Title && k.enclosureURL == e.EnclosureURL && k.enclosureType == e.EnclosureType &&
		k.enclosureLength == e.EnclosureLength && k.publisherTorrentURL == e.PublisherTorrentURL &&
		ok == k.publishedAt.Valid && (!ok || n == k.publishedAt.Int64)
}

// knownEpisodes returns feed feedID's stored episodes by GUID.
func knownEpisodes(ctx context.Context, tx *sql.Tx, feedID int64) (map[string]knownEpisode, error) {
	rows, err := tx.QueryContext(ctx, `SELECT guid, title, published_at, enclosure_url, enclosure_length,
		enclosure_type, publisher_torrent_url FROM episodes WHERE feed_id = ?`, feedID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := make(map[string]knownEpisode)
	for rows.Next() {
		var guid string
		var k knownEpisode
		if err := rows.Scan(&guid, &k.title, &k.publishedAt, &k.enclosureURL, &k.enclosureLength,
			&k.enclosureType, &k.publisherTorrentURL); err != nil {
			return nil, err
		}
		known[guid] = k
	}
	return known, rows.Err()
}
