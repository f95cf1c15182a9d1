package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RetentionPolicy says which torrents' data podseed keeps in files/. A
// torrent whose data is dropped ("evicted") stays published: its .torrent,
// magnet and web seed (BEP 19) remain in the republished feeds.
type RetentionPolicy struct {
	// KeepPerFeed keeps the data of the newest KeepPerFeed ready episodes
	// of each feed (by PublishedAt, unknown oldest, then by episode ID, as
	// ListFeedTorrents orders them); a torrent that any feed keeps is kept.
	// 0 keeps every episode.
	KeepPerFeed int
	// MaxBytes bounds the total Size, in bytes, of the torrents whose data
	// is kept; beyond it the torrents whose newest episode is oldest are
	// evicted first. 0 is no budget.
	MaxBytes int64
	// EvictWithoutWebSeed allows evicting torrents whose web seed is
	// withheld (Torrent.WebSeedWithheld != ""). Without it they are never
	// evicted: podseed's copy may be their only source. They still count
	// against MaxBytes.
	EvictWithoutWebSeed bool
}

// Enabled reports whether the policy evicts anything at all.
func (p RetentionPolicy) Enabled() bool { return p.KeepPerFeed > 0 || p.MaxBytes > 0 }

// Eviction reasons, in PlannedEviction.Reason.
const (
	EvictKeepPerFeed = "keep-per-feed"
	EvictDiskBudget  = "disk-budget"
)

// PlannedEviction is a torrent whose data a RetentionPolicy drops.
type PlannedEviction struct {
	InfoHash string // 40 lower-case hex characters
	DataPath string // absolute path of the data file, as Torrent.DataPath
	Size     int64  // bytes
	Reason   string // EvictKeepPerFeed or EvictDiskBudget
}

// RetentionPlan is the outcome of PlanEvictions.
type RetentionPlan struct {
	// Evict lists the torrents to evict, in the order chosen.
	Evict []PlannedEviction
	// KeptBytes is the total Size of the torrents kept after Evict, bytes.
	KeptBytes int64
	// OverBudget is set when KeptBytes exceeds MaxBytes because only
	// torrents without a web seed (not evictable) remain.
	OverBudget bool
}

// retentionRow is one kept (not evicted) torrent with its rank.
type retentionRow struct {
	PlannedEviction
	withheld bool
	rank     int64 // best (lowest) rank of its episodes within their feeds, 1 = newest
	recency  int64 // newest PublishedAt (or CreatedAt) of its episodes, unix ns
	created  int64
}

// PlanEvictions returns which kept torrents p evicts; it changes nothing.
// Torrents evicted already are neither listed nor counted. A torrent that
// no ready episode uses is left alone. With a policy that is not Enabled,
// the plan is empty.
func (s *Store) PlanEvictions(ctx context.Context, p RetentionPolicy) (RetentionPlan, error) {
	var plan RetentionPlan
	if p.KeepPerFeed < 0 || p.MaxBytes < 0 {
		return plan, fmt.Errorf("plan evictions: negative policy %+v", p)
	}
	rows, err := s.db.QueryContext(ctx, `WITH ranked AS (
			SELECT e.info_hash,
				ROW_NUMBER() OVER (PARTITION BY e.feed_id ORDER BY e.published_at DESC NULLS LAST, e.id DESC) AS rank,
				COALESCE(e.published_at, e.created_at) AS recency
			FROM episodes e WHERE e.state = 'ready'
		)
		SELECT t.info_hash, t.data_path, t.size, t.web_seed_withheld <> '', MIN(r.rank), MAX(r.recency), t.created_at
		FROM torrents t JOIN ranked r ON r.info_hash = t.info_hash
		WHERE t.evicted_at IS NULL
		GROUP BY t.info_hash`)
	if err != nil {
		return plan, fmt.Errorf("plan evictions: %w", err)
	}
	defer rows.Close()
	var kept []retentionRow
	for rows.Next() {
		var r retentionRow
		if err := rows.Scan(&r.InfoHash, &r.DataPath, &r.Size, &r.withheld, &r.rank, &r.recency, &r.created); err != nil {
			return plan, fmt.Errorf("plan evictions: %w", err)
		}
		r.DataPath = s.dataPath(r.DataPath)
		kept = append(kept, r)
	}
	if err := rows.Err(); err != nil {
		return plan, fmt.Errorf("plan evictions: %w", err)
	}
	// Oldest first: the order both rules evict in.
	slices.SortFunc(kept, func(a, b retentionRow) int {
		return cmp.Or(cmp.Compare(a.recency, b.recency), cmp.Compare(a.created, b.created), strings.Compare(a.InfoHash, b.InfoHash))
	})
	evictable := func(r retentionRow) bool { return !r.withheld || p.EvictWithoutWebSeed }
	if p.KeepPerFeed > 0 {
		rest := kept[:0:0]
		for _, r := range kept {
			if r.rank > int64(p.KeepPerFeed) && evictable(r) {
				r.Reason = EvictKeepPerFeed
				plan.Evict = append(plan.Evict, r.PlannedEviction)
				continue
			}
			rest = append(rest, r)
		}
		kept = rest
	}
	for _, r := range kept {
		plan.KeptBytes += r.Size
	}
	if p.MaxBytes > 0 {
		for _, r := range kept {
			if plan.KeptBytes <= p.MaxBytes {
				break
			}
			if !evictable(r) {
				continue
			}
			r.Reason = EvictDiskBudget
			plan.Evict = append(plan.Evict, r.PlannedEviction)
			plan.KeptBytes -= r.Size
		}
		plan.OverBudget = plan.KeptBytes > p.MaxBytes
	}
	return plan, nil
}

// MarkTorrentEvicted records that the torrent's data was dropped at at. Its
// row, episodes and samples stay. Marking an evicted torrent again keeps the
// first time. It returns an error wrapping ErrNotFound for an unknown
// torrent.
func (s *Store) MarkTorrentEvicted(ctx context.Context, infoHash string, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	res, err := s.db.ExecContext(ctx,
		"UPDATE torrents SET evicted_at = COALESCE(evicted_at, ?) WHERE info_hash = ?", nanos(at), strings.ToLower(infoHash))
	if err == nil {
		err = wantOneRow(res)
	}
	if err != nil {
		return fmt.Errorf("mark torrent %s evicted: %w", infoHash, err)
	}
	return nil
}

// ClearTorrentEviction records that podseed keeps the torrent's data again
// (the same bytes were ingested anew). It returns an error wrapping
// ErrNotFound for an unknown torrent.
func (s *Store) ClearTorrentEviction(ctx context.Context, infoHash string) error {
	res, err := s.db.ExecContext(ctx,
		"UPDATE torrents SET evicted_at = NULL WHERE info_hash = ?", strings.ToLower(infoHash))
	if err == nil {
		err = wantOneRow(res)
	}
	if err != nil {
		return fmt.Errorf("clear eviction of torrent %s: %w", infoHash, err)
	}
	return nil
}

// wantOneRow turns an update that matched no row into ErrNotFound.
func wantOneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// EvictedTorrent is a torrent whose data retention dropped.
type EvictedTorrent struct {
	InfoHash  string    // 40 lower-case hex characters
	DataPath  string    // absolute path the data file had, as Torrent.DataPath
	EvictedAt time.Time // UTC
}

// ListEvictedTorrents returns every evicted torrent, oldest eviction first.
func (s *Store) ListEvictedTorrents(ctx context.Context) ([]EvictedTorrent, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT info_hash, data_path, evicted_at FROM torrents WHERE evicted_at IS NOT NULL ORDER BY evicted_at, info_hash")
	if err != nil {
		return nil, fmt.Errorf("list evicted torrents: %w", err)
	}
	defer rows.Close()
	var ts []EvictedTorrent
	for rows.Next() {
		var t EvictedTorrent
		var at sql.NullInt64
		if err := rows.Scan(&t.InfoHash, &t.DataPath, &at); err != nil {
			return nil, fmt.Errorf("list evicted torrents: %w", err)
		}
		t.DataPath = s.dataPath(t.DataPath)
		t.EvictedAt = fromNanos(at)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list evicted torrents: %w", err)
	}
	return ts, nil
}

// FindTorrentEviction returns when the torrent was evicted, or the zero time
// if podseed keeps its data. It returns an error wrapping ErrNotFound for an
// unknown torrent.
func (s *Store) FindTorrentEviction(ctx context.Context, infoHash string) (time.Time, error) {
	var at sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		"SELECT evicted_at FROM torrents WHERE info_hash = ?", strings.ToLower(infoHash)).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("find eviction of torrent %s: %w", infoHash, err)
	}
	return fromNanos(at), nil
}
