package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Feed is a podcast RSS feed that podseed polls.
type Feed struct {
	ID    int64
	URL   string // as given to CreateFeed; the unique key
	Title string // channel title from the last 200 response; "" until then

	// ETag and LastModified are the validators of the last 200 response,
	// sent back as If-None-Match / If-Modified-Since; "" if absent.
	ETag, LastModified string

	// Body holds the exact bytes of the last fetched feed; nil if the feed
	// was never fetched successfully. ListFeeds leaves it nil.
	Body []byte

	LastFetchedAt time.Time // last poll attempt of any outcome; zero if never
	NextPollAt    time.Time // when the feed is due next; zero means due now
	LastError     string    // "" when the last poll succeeded (or none happened yet)
	// Failures counts the polls that failed in a row since the last
	// successful one (200 or 304); 0 after a success or before any poll.
	Failures  int
	CreatedAt time.Time
}

// FeedFetch is the outcome of a poll that returned 200 OK.
type FeedFetch struct {
	Title              string
	ETag, LastModified string // response validators; "" if absent
	Body               []byte // exact response body
	FetchedAt          time.Time
	NextPollAt         time.Time
}

// Column lists for scanFeed; body is the last column when present.
const (
	feedColumns         = "id, url, title, etag, last_modified, last_fetched_at, next_poll_at, last_error, consecutive_failures, created_at"
	feedColumnsWithBody = feedColumns + ", body, body IS NOT NULL"
)

// scanFeed scans a row selected with feedColumns, or feedColumnsWithBody if
// withBody is true.
func scanFeed(row rowScanner, withBody bool) (Feed, error) {
	var (
		f                     Feed
		fetched, next, create sql.NullInt64
		body                  []byte
		hasBody               bool
	)
	dest := []any{&f.ID, &f.URL, &f.Title, &f.ETag, &f.LastModified, &fetched, &next, &f.LastError, &f.Failures, &create}
	if withBody {
		dest = append(dest, &body, &hasBody)
	}
	if err := row.Scan(dest...); err != nil {
		return Feed{}, err
	}
	f.LastFetchedAt = fromNanos(fetched)
	f.NextPollAt = fromNanos(next)
	f.CreatedAt = fromNanos(create)
	if hasBody {
		if body == nil {
			body = []byte{} // fetched, but empty: keep nil for "never fetched"
		}
		f.Body = body
	}
	return f, nil
}

// CreateFeed adds the feed with the given URL, due for polling at once. It is
// idempotent: if a feed with exactly this URL exists, CreateFeed returns it
// with created false.
func (s *Store) CreateFeed(ctx context.Context, url string) (feed Feed, created bool, err error) {
	if url == "" {
		return Feed{}, false, errors.New("create feed: empty url")
	}
	now := nanos(s.now())
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx,
			`INSERT INTO feeds (url, next_poll_at, created_at) VALUES (?, ?, ?)
			 ON CONFLICT (url) DO NOTHING RETURNING id`,
			url, now, now).Scan(&id)
		switch {
		case err == nil:
			created = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		feed, err = scanFeed(tx.QueryRowContext(ctx,
			"SELECT "+feedColumnsWithBody+" FROM feeds WHERE url = ?", url), true)
		return err
	})
	if err != nil {
		return Feed{}, false, fmt.Errorf("create feed %q: %w", url, err)
	}
	return feed, created, nil
}

// FindFeedByID returns the feed with the given ID, Body included, or an error
// wrapping ErrNotFound.
func (s *Store) FindFeedByID(ctx context.Context, id int64) (Feed, error) {
	f, err := scanFeed(s.db.QueryRowContext(ctx,
		"SELECT "+feedColumnsWithBody+" FROM feeds WHERE id = ?", id), true)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Feed{}, fmt.Errorf("find feed %d: %w", id, err)
	}
	return f, nil
}

// FindFeedByURL returns the feed with exactly the given URL, Body included, or
// an error wrapping ErrNotFound.
func (s *Store) FindFeedByURL(ctx context.Context, url string) (Feed, error) {
	f, err := scanFeed(s.db.QueryRowContext(ctx,
		"SELECT "+feedColumnsWithBody+" FROM feeds WHERE url = ?", url), true)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Feed{}, fmt.Errorf("find feed %q: %w", url, err)
	}
	return f, nil
}

// ListFeeds returns all feeds ordered by ID. Body is not loaded (nil) to keep
// the result light; use FindFeedByID for it.
func (s *Store) ListFeeds(ctx context.Context) ([]Feed, error) {
	feeds, err := s.queryFeeds(ctx, false, "SELECT "+feedColumns+" FROM feeds ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	return feeds, nil
}

// ListDueFeeds returns the feeds whose NextPollAt is at or before now (or
// unset), Body included, the longest overdue first.
func (s *Store) ListDueFeeds(ctx context.Context, now time.Time) ([]Feed, error) {
	feeds, err := s.queryFeeds(ctx, true,
		"SELECT "+feedColumnsWithBody+` FROM feeds
		 WHERE next_poll_at IS NULL OR next_poll_at <= ?
		 ORDER BY next_poll_at, id`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("list due feeds: %w", err)
	}
	return feeds, nil
}

// queryFeeds runs a query selecting feedColumns (or feedColumnsWithBody).
func (s *Store) queryFeeds(ctx context.Context, withBody bool, query string, args ...any) ([]Feed, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var feeds []Feed
	for rows.Next() {
		f, err := scanFeed(rows, withBody)
		if err != nil {
			return nil, err
		}
		feeds = append(feeds, f)
	}
	return feeds, rows.Err()
}

// DeleteFeed deletes the feed with the given ID and its episodes, and the
// torrents of those episodes that no episode of another feed still uses, in
// one transaction. It returns an error wrapping ErrNotFound if there is no
// such feed. Files on disk and running torrents are the caller's business:
// list them with ListTorrentsByFeed before, and check which are gone with
// FindTorrentByInfoHash after.
func (s *Store) DeleteFeed(ctx context.Context, id int64) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		hashes, err := feedInfoHashes(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM feeds WHERE id = ?", id) // cascades to episodes
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx,
				`DELETE FROM torrents WHERE info_hash = ?
				 AND NOT EXISTS (SELECT 1 FROM episodes WHERE info_hash = ?)`, h, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete feed %d: %w", id, err)
	}
	return nil
}

// feedInfoHashes returns the distinct infohashes of the feed's ready episodes.
func feedInfoHashes(ctx context.Context, tx *sql.Tx, feedID int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx,
		"SELECT DISTINCT info_hash FROM episodes WHERE feed_id = ? AND info_hash IS NOT NULL", feedID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return hashes, rows.Err()
}

// UpdateFeedFetched records a poll that returned 200 OK: it sets the title,
// validators, body, LastFetchedAt and NextPollAt from f, clears LastError and
// resets Failures to 0. It returns an error wrapping ErrNotFound if there is
// no such feed.
func (s *Store) UpdateFeedFetched(ctx context.Context, id int64, f FeedFetch) error {
	body := f.Body
	if body == nil {
		body = []byte{} // fetched, even if empty: NULL means never fetched
	}
	err := s.updateFeed(ctx,
		`UPDATE feeds SET title = ?, etag = ?, last_modified = ?, body = ?,
		 last_fetched_at = ?, next_poll_at = ?, last_error = '', consecutive_failures = 0
		 WHERE id = ?`,
		f.Title, f.ETag, f.LastModified, body, nanos(f.FetchedAt), nanos(f.NextPollAt), id)
	if err != nil {
		return fmt.Errorf("update fetched feed %d: %w", id, err)
	}
	return nil
}

// UpdateFeedNotModified records a poll that returned 304 Not Modified: it
// sets LastFetchedAt and NextPollAt, clears LastError and resets Failures to
// 0, keeping the body and validators. It returns an error wrapping ErrNotFound
// if there is no such feed.
func (s *Store) UpdateFeedNotModified(ctx context.Context, id int64, fetchedAt, nextPollAt time.Time) error {
	err := s.updateFeed(ctx,
		`UPDATE feeds SET last_fetched_at = ?, next_poll_at = ?, last_error = '', consecutive_failures = 0
		 WHERE id = ?`,
		nanos(fetchedAt), nanos(nextPollAt), id)
	if err != nil {
		return fmt.Errorf("update not modified feed %d: %w", id, err)
	}
	return nil
}

// UpdateFeedError records a failed poll: it sets LastError to msg and
// LastFetchedAt and NextPollAt and increments Failures, keeping the body and
// validators of the last good fetch. It returns an error wrapping ErrNotFound
// if there is no such feed.
func (s *Store) UpdateFeedError(ctx context.Context, id int64, msg string, fetchedAt, nextPollAt time.Time) error {
	err := s.updateFeed(ctx,
		`UPDATE feeds SET last_error = ?, last_fetched_at = ?, next_poll_at = ?,
		 consecutive_failures = consecutive_failures + 1 WHERE id = ?`,
		msg, nanos(fetchedAt), nanos(nextPollAt), id)
	if err != nil {
		return fmt.Errorf("update failed feed %d: %w", id, err)
	}
	return nil
}

// UpdateFeedURL moves feed id to newURL, for a permanent redirect (301, 308)
// or an itunes:new-feed-url: the next poll fetches newURL, and ETag and
// LastModified are cleared since they belong to the old location. Everything
// else is kept, the ID in particular, so the republished feed's URL
// (/feeds/{id}.rss) stays the same. Record the move before UpdateFeedFetched
// of the same poll, or that response's validators are cleared too.
//
// Moving a feed to the URL it has already is a no-op that keeps the
// validators: a moved feed often goes on naming itself in
// itunes:new-feed-url. It returns an error wrapping ErrNotFound if there is
// no such feed, and one wrapping ErrConflict if another feed has newURL.
func (s *Store) UpdateFeedURL(ctx context.Context, id int64, newURL string) error {
	if newURL == "" {
		return fmt.Errorf("update url of feed %d: empty url", id)
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, "SELECT url FROM feeds WHERE id = ?", id).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case current == newURL:
			return nil
		}
		var other int64
		err = tx.QueryRowContext(ctx, "SELECT id FROM feeds WHERE url = ?", newURL).Scan(&other)
		switch {
		case err == nil:
			return fmt.Errorf("feed %d has that url already: %w", other, ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE feeds SET url = ?, etag = '', last_modified = '' WHERE id = ?", newURL, id)
		return err
	})
	if err != nil {
		// newURL stays out of the message: it may carry credentials.
		return fmt.Errorf("update url of feed %d: %w", id, err)
	}
	return nil
}

// updateFeed runs a single-row UPDATE (atomic on its own) and maps "no row
// changed" to ErrNotFound.
func (s *Store) updateFeed(ctx context.Context, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
