package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Torrent is a v1 torrent made from an episode's enclosure. It is immutable:
// changed enclosure bytes mean a new infohash. Episodes with identical bytes
// (even of different feeds) share one Torrent.
type Torrent struct {
	InfoHash string // 40 lower-case hex characters (v1, SHA-1 of the info dictionary)
	// EpisodeID is, for CreateTorrent, the episode made ready. Read back,
	// it is the lowest ID among the episodes using the torrent (within the
	// feed, for ListTorrentsByFeed and ListFeedTorrents).
	EpisodeID   int64
	Name        string // name in the info dictionary (file name)
	Metainfo    []byte // the bencoded .torrent file
	PieceLength int64  // bytes
	Size        int64  // bytes
	// DataPath is the absolute path of the complete file. A Store opened
	// with Options.FilesDir records it relative to that directory and reads
	// it back joined with the directory it was opened with (see dataPath).
	DataPath string
	SRI      string // subresource integrity of the file: "sha256-<base64>"
	// WebSeedWithheld says why the metainfo has no web seed (url-list,
	// BEP 19), e.g. the origin's bytes change per request; "" when it has.
	WebSeedWithheld string
	CreatedAt       time.Time // set by CreateTorrent when zero

	// SourceURL is the enclosure URL the bytes were downloaded from (the
	// web seed, url-list, unless withheld); ResolvedURL is where its
	// redirects ended ("" if unknown or not redirected); ETag is the
	// origin's ETag for the bytes ("" if none was sent).
	SourceURL, ResolvedURL, ETag string

	// RetiredAt is when a newer torrent replaced this one for every
	// episode that used it (zero while it is current); RetiredReason says
	// why. A retired torrent is neither seeded nor published.
	RetiredAt     time.Time
	RetiredReason string

	// WebSeedDeadAt is when the enclosure probe found the origin gone
	// (404, 410, or repeated DNS or connection failures); zero while it is
	// alive. WebSeedDeadReason says what the probe saw. A dead web seed is
	// withheld from the served metainfo and magnet.
	WebSeedDeadAt     time.Time
	WebSeedDeadReason string
	// ProbeFailures counts consecutive probes that failed to reach the
	// origin; ProbedAt is the last probe (zero: never); NextProbeAt is
	// when the next is due (zero: now).
	ProbeFailures         int
	ProbedAt, NextProbeAt time.Time
	// PublisherURL is, for a torrent the feed's publisher made (PeerTube)
	// and podseed verified against the enclosure and seeds, the .torrent
	// URL it came from; "" for torrents podseed made. The republished feed
	// already lists the publisher's torrent, so podseed adds no alternate
	// enclosure for it.
	PublisherURL string
}

// Retired reports whether a newer torrent replaced t.
func (t Torrent) Retired() bool { return !t.RetiredAt.IsZero() }

// ErrGone is returned, wrapped, for a torrent that has been retired (see
// ReplaceTorrent) where a current one is needed. Match it with errors.Is.
var ErrGone = errors.New("gone")

// EpisodeTorrent is a ready episode with its torrent.
type EpisodeTorrent struct {
	Episode Episode
	Torrent Torrent
}

// torrentColumns selects a torrents row aliased t after its info_hash and the
// episode ID column, for torrentDest.
const torrentColumns = `t.name, t.metainfo, t.piece_length, t.size, t.data_path, t.sri, t.web_seed_withheld, t.created_at,
	t.source_url, t.resolved_url, t.etag, t.retired_at, t.retired_reason, t.web_seed_dead_at, t.web_seed_dead_reason,
	t.probe_failures, t.probed_at, t.next_probe_at, t.publisher_url`

// minEpisodeID selects the lowest ID of the episodes using torrent t.
const minEpisodeID = "COALESCE((SELECT MIN(x.id) FROM episodes x WHERE x.info_hash = t.info_hash), 0)"

// torrentDest returns scan destinations for info_hash, an episode ID and
// torrentColumns; call finish after the scan.
func (s *Store) torrentDest(t *Torrent) (dest []any, finish func()) {
	var created, retired, dead, probed, nextProbe sql.NullInt64
	dest = []any{&t.InfoHash, &t.EpisodeID, &t.Name, &t.Metainfo, &t.PieceLength, &t.Size, &t.DataPath, &t.SRI, &t.WebSeedWithheld, &created,
		&t.SourceURL, &t.ResolvedURL, &t.ETag, &retired, &t.RetiredReason, &dead, &t.WebSeedDeadReason,
		&t.ProbeFailures, &probed, &nextProbe, &t.PublisherURL}
	return dest, func() {
		t.DataPath = s.dataPath(t.DataPath)
		t.CreatedAt = fromNanos(created)
		t.RetiredAt = fromNanos(retired)
		t.WebSeedDeadAt = fromNanos(dead)
		t.ProbedAt = fromNanos(probed)
		t.NextProbeAt = fromNanos(nextProbe)
	}
}

// scanTorrent scans info_hash, an episode ID and torrentColumns.
func (s *Store) scanTorrent(row rowScanner) (Torrent, error) {
	var t Torrent
	dest, finish := s.torrentDest(&t)
	if err := row.Scan(dest...); err != nil {
		return Torrent{}, err
	}
	finish()
	return t, nil
}

// validInfoHash reports whether h is 40 lower-case hex characters.
func validInfoHash(h string) bool {
	if len(h) != 40 {
		return false
	}
	for _, c := range []byte(h) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validate checks what CreateTorrent needs of t.
func (t Torrent) validate() error {
	switch {
	case !validInfoHash(t.InfoHash):
		return fmt.Errorf("infohash %q is not 40 lower-case hex characters", t.InfoHash)
	case t.EpisodeID <= 0:
		return fmt.Errorf("invalid episode id %d", t.EpisodeID)
	case t.Name == "":
		return errors.New("empty name")
	case len(t.Metainfo) == 0:
		return errors.New("empty metainfo")
	case t.PieceLength <= 0:
		return fmt.Errorf("invalid piece length %d", t.PieceLength)
	case t.Size < 0:
		return fmt.Errorf("invalid size %d", t.Size)
	case !filepath.IsAbs(t.DataPath):
		return fmt.Errorf("data path %q is not absolute", t.DataPath)
	}
	return nil
}

// insertTorrent inserts t (its DataPath as storedDataPath gives it), or,
// if a retired torrent has its infohash, brings that one back with t's metainfo, data path, URLs and ETag (its
// data was downloaded again); a current torrent with the infohash is kept
// as it is.
func (s *Store) insertTorrent(ctx context.Context, tx *sql.Tx, t Torrent, created time.Time) error {
	dataPath, err := s.storedDataPath(t.DataPath)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO torrents
		(info_hash, name, metainfo, piece_length, size, data_path, sri, web_seed_withheld, created_at,
		 source_url, resolved_url, etag, next_probe_at, publisher_url)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (info_hash) DO UPDATE SET
			metainfo = excluded.metainfo, data_path = excluded.data_path,
			web_seed_withheld = excluded.web_seed_withheld, source_url = excluded.source_url,
			resolved_url = excluded.resolved_url, etag = excluded.etag, next_probe_at = excluded.next_probe_at,
			retired_at = NULL, retired_reason = '', web_seed_dead_at = NULL, web_seed_dead_reason = '',
			probe_failures = 0
		WHERE torrents.retired_at IS NOT NULL`,
		t.InfoHash, t.Name, t.Metainfo, t.PieceLength, t.Size, dataPath, t.SRI, t.WebSeedWithheld, nanos(created),
		t.SourceURL, t.ResolvedURL, t.ETag, nanos(t.NextProbeAt), t.PublisherURL)
	return err
}

// CreateTorrent records torrent t and marks episode t.EpisodeID ready with it
// (clearing its LastError and NextAttemptAt), in one transaction: either both
// happen or neither. Of t's lifecycle fields only SourceURL, ResolvedURL,
// ETag, NextProbeAt and PublisherURL are recorded; retirement and probe results start
// empty. If a torrent with the same InfoHash exists already (two episodes
// with the same bytes), it is kept as it is and the episode points at it;
// if that torrent was retired, it becomes current again with t's metainfo
// and data path. Calling CreateTorrent again for an episode ready with the
// same InfoHash does nothing. It returns an error wrapping ErrNotFound if
// the episode does not exist, and an error if t is invalid or the episode
// is ready with another torrent already (use ReplaceTorrent).
func (s *Store) CreateTorrent(ctx context.Context, t Torrent) error {
	if err := t.validate(); err != nil {
		return fmt.Errorf("create torrent %s: %w", t.InfoHash, err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx,
			"SELECT COALESCE(info_hash, '') FROM episodes WHERE id = ?", t.EpisodeID).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("episode %d: %w", t.EpisodeID, ErrNotFound)
		case err != nil:
			return err
		case current == t.InfoHash:
			return nil
		case current != "":
			return fmt.Errorf("episode %d is ready with torrent %s already", t.EpisodeID, current)
		}
		if err := s.insertTorrent(ctx, tx, t, created); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE episodes
			SET state = 'ready', info_hash = ?, last_error = '', next_attempt_at = NULL
			WHERE id = ?`, t.InfoHash, t.EpisodeID)
		return err
	})
	if err != nil {
		return fmt.Errorf("create torrent %s: %w", t.InfoHash, err)
	}
	return nil
}

// ReplaceTorrent makes t the torrent of episode t.EpisodeID, which must be
// ready with another (older) torrent, because the episode's enclosure
// changed; reason says how, e.g. "enclosure url changed". In one
// transaction it records t (as CreateTorrent does), points the episode at
// it, clears the episode's pending replacement (ReplaceReason, Attempts,
// LastError, NextAttemptAt), notes the replacement for
// ListTorrentReplacements and, if no other episode uses the old torrent any
// more, retires it (RetiredAt now, RetiredReason reason). Until the
// transaction commits the old torrent stays the episode's, so a crash
// leaves it published.
//
// If t has the episode's current InfoHash (the same bytes from a new URL),
// the torrent stays and takes t's Metainfo, SourceURL, ResolvedURL and
// ETag (url-list is outside the info dictionary), its dead web seed mark is
// cleared, and nothing is retired.
//
// retired is the hex infohash of the torrent retired, "" if none was: the
// caller stops seeding it and removes its data. It returns an error
// wrapping ErrNotFound if the episode does not exist, and an error if t is
// invalid or the episode is not ready.
func (s *Store) ReplaceTorrent(ctx context.Context, t Torrent, reason string) (retired string, err error) {
	if err := t.validate(); err != nil {
		return "", fmt.Errorf("replace torrent with %s: %w", t.InfoHash, err)
	}
	now := s.now()
	created := t.CreatedAt
	if created.IsZero() {
		created = now
	}
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx,
			"SELECT COALESCE(info_hash, '') FROM episodes WHERE id = ?", t.EpisodeID).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("episode %d: %w", t.EpisodeID, ErrNotFound)
		case err != nil:
			return err
		case current == "":
			return fmt.Errorf("episode %d is not ready", t.EpisodeID)
		}
		clear := func() error {
			_, err := tx.ExecContext(ctx, `UPDATE episodes
				SET info_hash = ?, replace_reason = '', attempts = 0, last_error = '', next_attempt_at = NULL
				WHERE id = ?`, t.InfoHash, t.EpisodeID)
			return err
		}
		if current == t.InfoHash {
			if _, err := tx.ExecContext(ctx, `UPDATE torrents
				SET metainfo = ?, source_url = ?, resolved_url = ?, etag = ?, web_seed_withheld = ?,
				    web_seed_dead_at = NULL, web_seed_dead_reason = '', probe_failures = 0, next_probe_at = ?
				WHERE info_hash = ?`, t.Metainfo, t.SourceURL, t.ResolvedURL, t.ETag, t.WebSeedWithheld,
				nanos(t.NextProbeAt), t.InfoHash); err != nil {
				return err
			}
			return clear()
		}
		if err := s.insertTorrent(ctx, tx, t, created); err != nil {
			return err
		}
		if err := clear(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO torrent_replacements
			(episode_id, old_info_hash, new_info_hash, reason, replaced_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, t.EpisodeID, current, t.InfoHash, reason, nanos(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE torrents SET retired_at = ?, retired_reason = ?
			WHERE info_hash = ? AND retired_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM episodes WHERE info_hash = ?)`,
			nanos(now), reason, current, current)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			retired = current
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("replace torrent of episode %d with %s: %w", t.EpisodeID, t.InfoHash, err)
	}
	return retired, nil
}

// FindTorrentByInfoHash returns the torrent with the given hex infohash
// (upper case is accepted), or an error wrapping ErrNotFound.
func (s *Store) FindTorrentByInfoHash(ctx context.Context, infoHash string) (Torrent, error) {
	t, err := s.scanTorrent(s.db.QueryRowContext(ctx,
		"SELECT t.info_hash, "+minEpisodeID+", "+torrentColumns+" FROM torrents t WHERE t.info_hash = ?",
		strings.ToLower(infoHash)))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Torrent{}, fmt.Errorf("find torrent %s: %w", infoHash, err)
	}
	return t, nil
}

// ListTorrents returns all torrents, Metainfo included (for re-seeding after a
// restart), oldest first. Retired torrents are included (see
// Torrent.Retired): a restart finishes their cleanup.
func (s *Store) ListTorrents(ctx context.Context) ([]Torrent, error) {
	ts, err := s.queryTorrents(ctx,
		"SELECT t.info_hash, "+minEpisodeID+", "+torrentColumns+" FROM torrents t ORDER BY t.created_at, t.info_hash")
	if err != nil {
		return nil, fmt.Errorf("list torrents: %w", err)
	}
	return ts, nil
}

// ListTorrentsByFeed returns the torrents used by episodes of feed feedID,
// each once, oldest first. An unknown feed has none: the result is empty, not
// an error.
func (s *Store) ListTorrentsByFeed(ctx context.Context, feedID int64) ([]Torrent, error) {
	ts, err := s.queryTorrents(ctx, "SELECT t.info_hash, MIN(e.id), "+torrentColumns+`
		FROM torrents t JOIN episodes e ON e.info_hash = t.info_hash
		WHERE e.feed_id = ?
		GROUP BY t.info_hash
		ORDER BY t.created_at, t.info_hash`, feedID)
	if err != nil {
		return nil, fmt.Errorf("list torrents of feed %d: %w", feedID, err)
	}
	return ts, nil
}

// queryTorrents runs a query selecting info_hash, an episode ID and
// torrentColumns.
func (s *Store) queryTorrents(ctx context.Context, query string, args ...any) ([]Torrent, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []Torrent
	for rows.Next() {
		t, err := s.scanTorrent(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// ListFeedTorrents returns the ready episodes of feed feedID with their
// torrents, newest PublishedAt first (unknown last), then by episode ID
// descending. Each Torrent.EpisodeID is its Episode.ID. An unknown feed has
// none: the result is empty, not an error.
func (s *Store) ListFeedTorrents(ctx context.Context, feedID int64) ([]EpisodeTorrent, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+episodeColumns+", t.info_hash, e.id, "+torrentColumns+`
		FROM episodes e JOIN torrents t ON t.info_hash = e.info_hash
		WHERE e.feed_id = ? AND e.state = 'ready'
		ORDER BY e.published_at DESC NULLS LAST, e.id DESC`, feedID)
	if err != nil {
		return nil, fmt.Errorf("list feed torrents of feed %d: %w", feedID, err)
	}
	defer rows.Close()
	var ets []EpisodeTorrent
	for rows.Next() {
		var t Torrent
		dest, finish := s.torrentDest(&t)
		e, err := scanEpisode(rows, dest...)
		if err != nil {
			return nil, fmt.Errorf("list feed torrents of feed %d: %w", feedID, err)
		}
		finish()
		ets = append(ets, EpisodeTorrent{Episode: e, Torrent: t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list feed torrents of feed %d: %w", feedID, err)
	}
	return ets, nil
}

// ListTorrentsDueForProbe returns up to limit current (not retired)
// torrents with a SourceURL whose NextProbeAt is zero or at or before now,
// the longest overdue first. A limit of 0 or less means no limit.
func (s *Store) ListTorrentsDueForProbe(ctx context.Context, now time.Time, limit int) ([]Torrent, error) {
	if limit <= 0 {
		limit = -1
	}
	ts, err := s.queryTorrents(ctx, "SELECT t.info_hash, "+minEpisodeID+", "+torrentColumns+`
		FROM torrents t
		WHERE t.retired_at IS NULL AND t.source_url <> '' AND (t.next_probe_at IS NULL OR t.next_probe_at <= ?)
		ORDER BY t.next_probe_at NULLS FIRST, t.info_hash LIMIT ?`, nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list torrents due for probe: %w", err)
	}
	return ts, nil
}

// TorrentProbe is the outcome of one probe of a torrent's enclosure, as
// UpdateTorrentProbe records it.
type TorrentProbe struct {
	At          time.Time // when the probe ran
	NextProbeAt time.Time // when the next is due
	// Failures is the new count of consecutive failures to reach the
	// origin (0 after any answer that is not a failure).
	Failures int
	// Dead marks the web seed dead with DeadReason; false clears the mark.
	// A torrent already dead keeps its first WebSeedDeadAt.
	Dead       bool
	DeadReason string
	// ResolvedURL and ETag, when not "", replace the stored ones.
	ResolvedURL, ETag string
}

// UpdateTorrentProbe records a probe of torrent infoHash's enclosure. It
// returns whether the torrent's web seed changed between alive and dead,
// and an error wrapping ErrNotFound if there is no such torrent.
func (s *Store) UpdateTorrentProbe(ctx context.Context, infoHash string, p TorrentProbe) (changed bool, err error) {
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		var dead sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT web_seed_dead_at FROM torrents WHERE info_hash = ?", infoHash).Scan(&dead)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		changed = dead.Valid != p.Dead
		var deadAt any
		reason := ""
		if p.Dead {
			deadAt, reason = nanos(p.At), p.DeadReason
			if dead.Valid {
				deadAt = dead.Int64
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE torrents
			SET probed_at = ?, next_probe_at = ?, probe_failures = ?, web_seed_dead_at = ?, web_seed_dead_reason = ?,
			    resolved_url = CASE WHEN ? <> '' THEN ? ELSE resolved_url END,
			    etag = CASE WHEN ? <> '' THEN ? ELSE etag END
			WHERE info_hash = ?`, nanos(p.At), nanos(p.NextProbeAt), max(p.Failures, 0), deadAt, reason,
			p.ResolvedURL, p.ResolvedURL, p.ETag, p.ETag, infoHash)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("update probe of torrent %s: %w", infoHash, err)
	}
	return changed, nil
}

// MarkReplacementDue asks for a new torrent for every episode that uses
// torrent infoHash and has no replacement due yet, because its enclosure
// changed (reason says how, e.g. "enclosure etag changed"); the torrent
// stays published until the replacement is made. It returns how many
// episodes it marked.
func (s *Store) MarkReplacementDue(ctx context.Context, infoHash, reason string) (int, error) {
	if reason == "" {
		return 0, fmt.Errorf("mark replacement of torrent %s due: empty reason", infoHash)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE episodes
		SET replace_reason = ?, attempts = 0, last_error = '', next_attempt_at = NULL
		WHERE info_hash = ? AND replace_reason = ''`, reason, infoHash)
	if err != nil {
		return 0, fmt.Errorf("mark replacement of torrent %s due: %w", infoHash, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("mark replacement of torrent %s due: %w", infoHash, err)
	}
	return int(n), nil
}

// TorrentReplacement is one earlier torrent of an episode.
type TorrentReplacement struct {
	OldInfoHash, NewInfoHash string // 40 lower-case hex digits each
	Reason                   string // why the enclosure was replaced
	ReplacedAt               time.Time
	// OldRetiredAt is when the old torrent was retired; zero if another
	// episode still uses it, or it became current again.
	OldRetiredAt time.Time
}

// ListTorrentReplacements returns the torrents episode episodeID had
// before its current one, oldest replacement first. An unknown episode has
// none: the result is empty, not an error.
func (s *Store) ListTorrentReplacements(ctx context.Context, episodeID int64) ([]TorrentReplacement, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.old_info_hash, r.new_info_hash, r.reason, r.replaced_at,
		(SELECT t.retired_at FROM torrents t WHERE t.info_hash = r.old_info_hash)
		FROM torrent_replacements r WHERE r.episode_id = ? ORDER BY r.replaced_at, r.old_info_hash`, episodeID)
	if err != nil {
		return nil, fmt.Errorf("list torrent replacements of episode %d: %w", episodeID, err)
	}
	defer rows.Close()
	var rs []TorrentReplacement
	for rows.Next() {
		var (
			r                 TorrentReplacement
			replaced, retired sql.NullInt64
		)
		if err := rows.Scan(&r.OldInfoHash, &r.NewInfoHash, &r.Reason, &replaced, &retired); err != nil {
			return nil, fmt.Errorf("list torrent replacements of episode %d: %w", episodeID, err)
		}
		r.ReplacedAt, r.OldRetiredAt = fromNanos(replaced), fromNanos(retired)
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list torrent replacements of episode %d: %w", episodeID, err)
	}
	return rs, nil
}
