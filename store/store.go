// Package store keeps podseed's state in SQLite: the feeds it polls, the
// episodes found in them, the torrents made from their enclosures and the
// swarm statistics sampled for those torrents.
//
// It owns the schema (embedded, numbered migrations), the record types and
// every SQL statement. Several processes (the serve daemon and the CLI) may
// open the same database file at once: connections use WAL, a busy timeout
// and BEGIN IMMEDIATE for write transactions, never an exclusive locking mode.
//
// Times are stored as unix nanoseconds and returned in UTC; a zero time.Time
// means "never" or "unknown". Times outside the years 1678–2262 (the range of
// int64 nanoseconds) are clamped to it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver; sqlite.Error
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned, wrapped, when a lookup, update or delete finds no
// matching row. Match it with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned, wrapped, when a change would give a row a unique
// key that another row has already, such as a feed URL. Match it with
// errors.Is.
var ErrConflict = errors.New("conflict")

// busyTimeout is how long a connection waits for another connection's (or
// process's) write lock before giving up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Store is the SQLite-backed store. It is safe for concurrent use by multiple
// goroutines, and several Stores (in one or several processes) may use the same
// database file at once.
type Store struct {
	db       *sql.DB
	now      func() time.Time // injectable clock for CreatedAt stamps
	filesDir string           // absolute Options.FilesDir; "" records data paths as given
}

// Options tunes OpenWith.
type Options struct {
	// FilesDir is the directory the torrents' data files lie in
	// (<FilesDir>/<infohash>/<name>). When set, a Torrent's DataPath is
	// recorded relative to it and read back joined with the FilesDir the
	// Store was opened with, so the directory can move between runs;
	// CreateTorrent refuses a DataPath outside it. "" records DataPath as
	// given (absolute).
	FilesDir string
}

// Open opens the SQLite database at path, creating the file and its parent
// directory if they are missing, and applies any pending migrations. The
// caller must Close the returned Store. It is OpenWith with zero Options.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options o.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}

	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	if o.FilesDir != "" {
		if s.filesDir, err = filepath.Abs(o.FilesDir); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open store %q: files directory: %w", path, err)
		}
	}
	if err := ping(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if err := migrate(ctx, db, migrationFS); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return s, nil
}

// ping opens the pool's first connection, which runs the pragmas of dsn.
// Connections opening a fresh database at once (in one process or several)
// race to switch it to WAL, and the loser gets SQLITE_BUSY at once, without
// waiting busy_timeout: the switch upgrades a read lock to a write lock.
// WAL is persistent, so once one connection has switched the file the pragma
// is a no-op; ping retries on SQLITE_BUSY for up to busyTimeout.
func ping(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY ||
			time.Now().Add(delay).After(deadline) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// dsn builds the modernc.org/sqlite data source name for the database file at
// the absolute path abs. The pragmas run on every new connection of the pool.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Write transactions take the write lock at BEGIN, so two writers wait
	// for each other under busy_timeout instead of failing with SQLITE_BUSY
	// when a deferred read lock cannot be upgraded. Read-only transactions
	// still use a plain BEGIN.
	q.Set("_txlock", "immediate")
	// A file: URI keeps '?' and '#' in the path from being read as a query
	// or fragment.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	if u.Path[0] != '/' { // Windows: C:/x → /C:/x
		u.Path = "/" + u.Path
	}
	return u.String()
}

// Close closes the database. It waits for no running queries; callers stop
// using the Store first.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// withTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it if fn
// returns nil; otherwise it rolls back and returns fn's error unchanged.
// fn must use only tx, never s.db, or it would wait on its own write lock.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// Bounds of the times that fit in int64 unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// nanos converts t to a value for an INTEGER time column: NULL for the zero
// time, unix nanoseconds otherwise (clamped to the representable range).
func nanos(t time.Time) any {
	switch {
	case t.IsZero():
		return nil
	case t.Before(minTime):
		return int64(math.MinInt64)
	case t.After(maxTime):
		return int64(math.MaxInt64)
	}
	return t.UnixNano()
}

// fromNanos converts an INTEGER time column back: NULL → zero time, else UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// storedTime returns t as a write and read back would: zero stays zero,
// anything else is clamped, in UTC and without a monotonic clock reading.
func storedTime(t time.Time) time.Time {
	n, ok := nanos(t).(int64)
	return fromNanos(sql.NullInt64{Int64: n, Valid: ok})
}

// CheckWritable takes SQLite's write lock in a transaction and rolls it
// back, proving the database file can be written (for health checks). It
// returns an error if the lock cannot be had within the busy timeout or
// the file is read-only.
func (s *Store) CheckWritable(ctx context.Context) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		// A write that changes nothing: it still needs the RESERVED lock.
		_, err := tx.ExecContext(ctx, "UPDATE feeds SET id = id WHERE 0")
		return err
	})
	if err != nil {
		return fmt.Errorf("check database writable: %w", err)
	}
	return nil
}

// storedDataPath returns how the store records data path p: relative to
// s.filesDir ("<infohash>/<name>", slash-separated), or p itself when the
// Store has no files directory. It refuses a p outside s.filesDir.
func (s *Store) storedDataPath(p string) (string, error) {
	if s.filesDir == "" {
		return p, nil
	}
	rel, ok := s.inFilesDir(p)
	if !ok {
		return "", fmt.Errorf("data path %q is not in the files directory %s", p, s.filesDir)
	}
	return filepath.ToSlash(rel), nil
}

// inFilesDir returns absolute path p relative to s.filesDir, and whether p
// lies strictly inside it (not the directory itself, nothing via "..").
func (s *Store) inFilesDir(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		return "", false
	}
	rel, err := filepath.Rel(s.filesDir, p)
	if err != nil || !filepath.IsLocal(rel) || rel == "." {
		return "", false
	}
	return rel, true
}

// dataPath returns the absolute path of the recorded data path stored: a
// relative one joined with s.filesDir. It returns "" (no file: opening,
// serving and deleting it fail) for a recorded path that would escape
// s.filesDir ("../", absolute outside it), and for a relative one when the
// Store has no files directory. An absolute path is returned as it is when
// the Store has no files directory (rows written so) or it lies inside it.
func (s *Store) dataPath(stored string) string {
	if filepath.IsAbs(stored) {
		if s.filesDir == "" {
			return stored
		}
		if _, ok := s.inFilesDir(stored); ok {
			return stored
		}
		return ""
	}
	local := filepath.FromSlash(stored)
	if s.filesDir == "" || !filepath.IsLocal(local) || filepath.Clean(local) == "." {
		return ""
	}
	return filepath.Join(s.filesDir, local)
}
