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
	DataPath    string // absolute path of the complete file
	SRI         string // subresource integrity of the file: "sha256-<base64>"
	// WebSeedWithheld says why the metainfo has no web seed (url-list,
	// BEP 19), e.g. the origin's bytes change per request; "" when it has.
	WebSeedWithheld string
	CreatedAt       time.Time // set by CreateTorrent when zero
}

// EpisodeTorrent is a ready episode with its torrent.
type EpisodeTorrent struct {
	Episode Episode
	Torrent Torrent
}

// torrentColumns selects a torrents row aliased t after its info_hash and the
// episode ID column, for torrentDest.
const torrentColumns = "t.name, t.metainfo, t.piece_length, t.size, t.data_path, t.sri, t.web_seed_withheld, t.created_at"

// minEpisodeID selects the lowest ID of the episodes using torrent t.
const minEpisodeID = "COALESCE((SELECT MIN(x.id) FROM episodes x WHERE x.info_hash = t.info_hash), 0)"

// torrentDest returns scan destinations for info_hash, an episode ID and
// torrentColumns; call finish after the scan.
func torrentDest(t *Torrent) (dest []any, finish func()) {
	var created sql.NullInt64
	dest = []any{&t.InfoHash, &t.EpisodeID, &t.Name, &t.Metainfo, &t.PieceLength, &t.Size, &t.DataPath, &t.SRI, &t.WebSeedWithheld, &created}
	return dest, func() { t.CreatedAt = fromNanos(created) }
}

// scanTorrent scans info_hash, an episode ID and torrentColumns.
func scanTorrent(row rowScanner) (Torrent, error) {
	var t Torrent
	dest, finish := torrentDest(&t)
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

// CreateTorrent records torrent t and marks episode t.EpisodeID ready with it
// (clearing its LastError and NextAttemptAt), in one transaction: either both
// happen or neither. If a torrent with the same InfoHash exists already (two
// episodes with the same bytes), it is kept as it is and the episode points at
// it. Calling CreateTorrent again for an episode ready with the same InfoHash
// does nothing. It returns an error wrapping ErrNotFound if the episode does
// not exist, and an error if t is invalid or the episode is ready with
// another torrent already.
func (s *Store) CreateTorrent(ctx context.Context, t Torrent) error {
	if err := t.validate(); err != nil {
		return fmt.Errorf("create torrent %s: %w", t.InfoHash, err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO torrents
			(info_hash, name, metainfo, piece_length, size, data_path, sri, web_seed_withheld, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (info_hash) DO NOTHING`,
			t.InfoHash, t.Name, t.Metainfo, t.PieceLength, t.Size, t.DataPath, t.SRI, t.WebSeedWithheld, nanos(created)); err != nil {
			return err
		}
		var current string
		err := tx.QueryRowContext(ctx,
			"SELECT COALESCE(info_hash, '') FROM episodes WHERE id = ?", t.EpisodeID).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("episode %d: %w", t.EpisodeID, ErrNotFound) // rolls the insert back
		case err != nil:
			return err
		case current == t.InfoHash:
			return nil
		case current != "":
			// TODO: replacing a ready episode's torrent (changed enclosure)
			// is a later issue.
			return fmt.Errorf("episode %d is ready with torrent %s already", t.EpisodeID, current)
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

// FindTorrentByInfoHash returns the torrent with the given hex infohash
// (upper case is accepted), or an error wrapping ErrNotFound.
func (s *Store) FindTorrentByInfoHash(ctx context.Context, infoHash string) (Torrent, error) {
	t, err := scanTorrent(s.db.QueryRowContext(ctx,
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
// restart), oldest first.
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
		t, err := scanTorrent(rows)
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
		dest, finish := torrentDest(&t)
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
