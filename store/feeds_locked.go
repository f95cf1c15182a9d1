package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FeedLock is a feed's Podcasting 2.0 <podcast:locked> as of its last
// successful fetch.
type FeedLock struct {
	// Locked is true for <podcast:locked>yes</podcast:locked>: the
	// publisher asks hosting platforms not to import the feed.
	Locked bool
	// Owner is the tag's owner (or email) attribute, "" if none.
	Owner string
}

// UpdateFeedLock records feed id's <podcast:locked>. It returns an error
// wrapping ErrNotFound if there is no such feed.
func (s *Store) UpdateFeedLock(ctx context.Context, id int64, l FeedLock) error {
	res, err := s.db.ExecContext(ctx, "UPDATE feeds SET locked = ?, locked_owner = ? WHERE id = ?", l.Locked, l.Owner, id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("update lock of feed %d: %w", id, err)
	}
	return nil
}

// FindFeedLock returns feed id's <podcast:locked>, or an error wrapping
// ErrNotFound if there is no such feed.
func (s *Store) FindFeedLock(ctx context.Context, id int64) (FeedLock, error) {
	var l FeedLock
	err := s.db.QueryRowContext(ctx, "SELECT locked, locked_owner FROM feeds WHERE id = ?", id).Scan(&l.Locked, &l.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return FeedLock{}, fmt.Errorf("find lock of feed %d: %w", id, err)
	}
	return l, nil
}
