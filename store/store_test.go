package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// mustOpenStore opens a Store on a fresh database in tb.TempDir() and closes
// it when the test ends.
func mustOpenStore(tb testing.TB) *Store {
	tb.Helper()
	return mustOpenStoreAt(tb, filepath.Join(tb.TempDir(), "podseed.db"))
}

// mustOpenStoreAt opens a Store on the database at path and closes it when the
// test ends.
func mustOpenStoreAt(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// userVersion returns PRAGMA user_version of db.
func userVersion(tb testing.TB, db *sql.DB) int {
	tb.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		tb.Fatalf("read user_version: %v", err)
	}
	return v
}

// latestVersion is the newest embedded migration.
func latestVersion(tb testing.TB) int {
	tb.Helper()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		tb.Fatalf("loadMigrations: %v", err)
	}
	return len(ms)
}

func TestOpenCreatesFileAndParentDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "podseed.db")
	mustOpenStoreAt(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stat database file: %v", err)
	}
}

func TestOpenPathWithURISpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space?and#hash%20")
	path := filepath.Join(dir, "podseed.db")
	s := mustOpenStoreAt(t, path)
	if _, _, err := s.CreateFeed(t.Context(), "https://example.com/feed.xml"); err != nil {
		t.Fatalf("CreateFeed: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stat database file: %v", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Fatal("Open(\"\"): got nil error, want one")
	}
}

func TestConnectionPragmas(t *testing.T) {
	s := mustOpenStore(t)
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL
		{"locking_mode", "normal"},
	}
	// Hold two connections at once so the pragmas are checked on more than
	// the first connection of the pool.
	ctx := t.Context()
	var conns []*sql.Conn
	for range 2 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("conn%d/%s", i, tt.pragma), func(t *testing.T) {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
				}
				if got != tt.want {
					t.Errorf("PRAGMA %s: got %q, want %q", tt.pragma, got, tt.want)
				}
			})
		}
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "podseed.db")
	want := latestVersion(t)

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	feed, _, err := s.CreateFeed(ctx, "https://example.com/feed.xml")
	if err != nil {
		t.Fatalf("CreateFeed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if got := userVersion(t, s.db); got != want {
			t.Errorf("reopen %d: user_version: got %d, want %d", i, got, want)
		}
		got, err := s.FindFeedByID(ctx, feed.ID)
		if err != nil {
			t.Errorf("reopen %d: FindFeedByID: %v", i, err)
		} else if got.URL != feed.URL {
			t.Errorf("reopen %d: feed URL: got %q, want %q", i, got.URL, feed.URL)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "podseed.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema: got nil error, want one")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: got %v, want an error saying it is newer", err)
	}
}

func TestConcurrentOpenOfFreshDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podseed.db")
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		if got, want := userVersion(t, stores[i].db), latestVersion(t); got != want {
			t.Errorf("Open %d: user_version: got %d, want %d", i, got, want)
		}
		if err := stores[i].Close(); err != nil {
			t.Errorf("Close %d: %v", i, err)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int
		wantErr bool
	}{
		{
			name: "ordered by number, not by name",
			fsys: fstest.MapFS{
				"migrations/0010_ten.sql":  file("x"),
				"migrations/0002_two.sql":  file("x"),
				"migrations/0001_init.sql": file("x"),
				"migrations/3_three.sql":   file("x"),
				"migrations/0004_four.sql": file("x"),
				"migrations/0005_a.sql":    file("x"),
				"migrations/0006_b.sql":    file("x"),
				"migrations/0007_c.sql":    file("x"),
				"migrations/0008_d.sql":    file("x"),
				"migrations/0009_e.sql":    file("x"),
				"migrations/README.md":     file("ignored"),
			},
			want: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		},
		{name: "none", fsys: fstest.MapFS{}, want: []int{}},
		{
			name:    "gap",
			fsys:    fstest.MapFS{"migrations/0001_a.sql": file("x"), "migrations/0003_c.sql": file("x")},
			wantErr: true,
		},
		{
			name:    "duplicate",
			fsys:    fstest.MapFS{"migrations/0001_a.sql": file("x"), "migrations/0001_b.sql": file("x")},
			wantErr: true,
		},
		{name: "no number", fsys: fstest.MapFS{"migrations/init.sql": file("x")}, wantErr: true},
		{name: "zero", fsys: fstest.MapFS{"migrations/0000_init.sql": file("x")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fsys)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", ms)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadMigrations: %v", err)
			}
			got := []int{}
			for _, m := range ms {
				got = append(got, m.version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("versions: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	if got := latestVersion(t); got < 1 {
		t.Errorf("embedded migrations: got %d, want at least 1", got)
	}
}

func TestMigrateAppliesPendingInOrderAndRollsBackFailures(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "m.db")))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()

	v1 := fstest.MapFS{"migrations/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")}}
	v2 := fstest.MapFS{
		"migrations/0001_a.sql": v1["migrations/0001_a.sql"],
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1);")},
	}
	bad := fstest.MapFS{
		"migrations/0001_a.sql": v1["migrations/0001_a.sql"],
		"migrations/0002_b.sql": v2["migrations/0002_b.sql"],
		"migrations/0003_c.sql": {Data: []byte("CREATE TABLE c (x INTEGER); INSERT INTO nope VALUES (1);")},
	}
	tableExists := func(name string) bool {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name).Scan(&n); err != nil {
			t.Fatalf("query sqlite_schema: %v", err)
		}
		return n == 1
	}

	steps := []struct {
		name        string
		fsys        fstest.MapFS
		wantErr     bool
		wantVersion int
		wantRowsInA int
	}{
		{name: "first", fsys: v1, wantVersion: 1},
		{name: "first again", fsys: v1, wantVersion: 1},
		{name: "second", fsys: v2, wantVersion: 2, wantRowsInA: 1},
		{name: "second again", fsys: v2, wantVersion: 2, wantRowsInA: 1},
		{name: "failing third", fsys: bad, wantErr: true, wantVersion: 2, wantRowsInA: 1},
		{name: "older binary", fsys: v1, wantErr: true, wantVersion: 2, wantRowsInA: 1},
	}
	for _, st := range steps {
		err := migrate(ctx, db, st.fsys)
		if gotErr := err != nil; gotErr != st.wantErr {
			t.Fatalf("%s: migrate: got error %v, want error %v", st.name, err, st.wantErr)
		}
		if got := userVersion(t, db); got != st.wantVersion {
			t.Errorf("%s: user_version: got %d, want %d", st.name, got, st.wantVersion)
		}
		var rows int
		if err := db.QueryRow("SELECT count(*) FROM a").Scan(&rows); err != nil {
			t.Fatalf("%s: count a: %v", st.name, err)
		}
		if rows != st.wantRowsInA {
			t.Errorf("%s: rows in a: got %d, want %d", st.name, rows, st.wantRowsInA)
		}
	}
	if tableExists("c") {
		t.Error("table c of the failed migration exists, want it rolled back")
	}
}

// TestTwoStoresWriteConcurrently writes through two Stores on the same file
// from many goroutines at once: WAL, busy_timeout and BEGIN IMMEDIATE must
// make every write succeed.
func TestTwoStoresWriteConcurrently(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "podseed.db")
	stores := []*Store{mustOpenStoreAt(t, path), mustOpenStoreAt(t, path)}

	const (
		workers = 8
		feeds   = 5 // per worker
	)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		created int
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	for w := range workers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			// Every worker also races to create the same feed.
			_, c, err := s.CreateFeed(ctx, "https://example.com/shared.xml")
			if err != nil {
				fail(err)
				return
			}
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
			for i := range feeds {
				url := fmt.Sprintf("https://example.com/w%d/f%d.xml", w, i)
				f, _, err := s.CreateFeed(ctx, url)
				if err != nil {
					fail(err)
					return
				}
				now := time.Now()
				if err := s.UpdateFeedFetched(ctx, f.ID, FeedFetch{
					Title: url, Body: []byte("<rss/>"), FetchedAt: now, NextPollAt: now.Add(time.Hour),
				}); err != nil {
					fail(err)
					return
				}
				eps, err := s.UpsertEpisodes(ctx, f.ID, []Episode{
					{GUID: "1", EnclosureURL: url + "/1.mp3"},
					{GUID: "2", EnclosureURL: url + "/2.mp3"},
				})
				if err != nil {
					fail(err)
					return
				}
				hash := fmt.Sprintf("%040x", w*feeds+i+1)
				if err := s.CreateTorrent(ctx, testTorrent(hash, eps[0].ID)); err != nil {
					fail(err)
					return
				}
				if err := s.MarkEpisodeFailed(ctx, eps[1].ID, "boom", now.Add(time.Minute)); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if created != 1 {
		t.Errorf("concurrent CreateFeed of one URL: got %d created, want 1", created)
	}

	for i, s := range stores {
		fs, err := s.ListFeeds(ctx)
		if err != nil {
			t.Fatalf("store %d: ListFeeds: %v", i, err)
		}
		if got, want := len(fs), workers*feeds+1; got != want {
			t.Errorf("store %d: feeds: got %d, want %d", i, got, want)
		}
		ts, err := s.ListTorrents(ctx)
		if err != nil {
			t.Fatalf("store %d: ListTorrents: %v", i, err)
		}
		if got, want := len(ts), workers*feeds; got != want {
			t.Errorf("store %d: torrents: got %d, want %d", i, got, want)
		}
	}
}

func TestNotFoundIsWrapped(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	now := time.Now()
	tests := []struct {
		name string
		call func() error
	}{
		{"FindFeedByID", func() error { _, err := s.FindFeedByID(ctx, 42); return err }},
		{"FindFeedByURL", func() error { _, err := s.FindFeedByURL(ctx, "https://nope.example/"); return err }},
		{"DeleteFeed", func() error { return s.DeleteFeed(ctx, 42) }},
		{"UpdateFeedFetched", func() error { return s.UpdateFeedFetched(ctx, 42, FeedFetch{FetchedAt: now}) }},
		{"UpdateFeedNotModified", func() error { return s.UpdateFeedNotModified(ctx, 42, now, now) }},
		{"UpdateFeedError", func() error { return s.UpdateFeedError(ctx, 42, "x", now, now) }},
		{"UpsertEpisodes", func() error {
			_, err := s.UpsertEpisodes(ctx, 42, []Episode{{GUID: "g", EnclosureURL: "https://e/1.mp3"}})
			return err
		}},
		{"FindEpisodeByID", func() error { _, err := s.FindEpisodeByID(ctx, 42); return err }},
		{"MarkEpisodeFailed", func() error { return s.MarkEpisodeFailed(ctx, 42, "x", now) }},
		{"CreateTorrent", func() error { return s.CreateTorrent(ctx, testTorrent(strings.Repeat("a", 40), 42)) }},
		{"FindTorrentByInfoHash", func() error { _, err := s.FindTorrentByInfoHash(ctx, strings.Repeat("a", 40)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNotFound) {
				t.Errorf("got %v, want an error wrapping ErrNotFound", err)
			}
		})
	}
}

func TestTimeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"utc", time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC), time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)},
		{"other zone", time.Date(2024, 5, 6, 9, 8, 9, 0, time.FixedZone("x", 2*3600)), time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)},
		{"before 1678 clamps", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), minTime},
		{"after 2262 clamps", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), maxTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := storedTime(tt.in)
			if !got.Equal(tt.want) || got.Location() != tt.want.Location() {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckWritable(t *testing.T) {
	s := mustOpenStore(t)
	if err := s.CheckWritable(context.Background()); err != nil {
		t.Fatalf("writable store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWritable(context.Background()); err == nil {
		t.Errorf("closed store: CheckWritable succeeded, want an error")
	}
}
