package store

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

// TestMigrateFromVersion1 creates a database with only 0001_init.sql, as a
// podseed from before 0002 left it, and opens it with this Store: the
// schema is migrated and the data is intact.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "podseed.db")
	initSQL, err := fs.ReadFile(migrationFS, "migrations/0001_init.sql")
	if err != nil {
		t.Fatalf("read 0001: %v", err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	if err := migrate(ctx, db, fstest.MapFS{"migrations/0001_init.sql": {Data: initSQL}}); err != nil {
		t.Fatalf("migrate to 0001: %v", err)
	}
	if got := userVersion(t, db); got != 1 {
		t.Fatalf("user_version: got %d, want 1", got)
	}

	// Rows as the version 1 store wrote them.
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hash := hexHash(0xabc)
	tor := testTorrent(hash, 1)
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO feeds (id, url, title, etag, last_modified, body, last_fetched_at, next_poll_at, last_error, created_at)
		  VALUES (1, 'https://a.example/feed.xml', 'Show', '"v1"', 'Wed, 01 Jan 2025 00:00:00 GMT', ?, ?, ?, 'status 503', ?)`,
			[]any{[]byte("<rss/>"), t0.UnixNano(), t0.Add(time.Hour).UnixNano(), t0.UnixNano()}},
		{`INSERT INTO torrents (info_hash, name, metainfo, piece_length, size, data_path, sri, created_at)
		  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{hash, tor.Name, tor.Metainfo, tor.PieceLength, tor.Size, tor.DataPath, tor.SRI, tor.CreatedAt.UnixNano()}},
		{`INSERT INTO episodes (id, feed_id, guid, title, enclosure_url, state, info_hash, created_at)
		  VALUES (1, 1, 'g1', 'One', 'https://a.example/1.mp3', 'ready', ?, ?)`,
			[]any{hash, t0.UnixNano()}},
	} {
		if _, err := db.ExecContext(ctx, q.query, q.args...); err != nil {
			t.Fatalf("insert version 1 rows: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// The torrent's data path lies in /data/files (0010 records it
	// relative to the files directory).
	s := mustOpenStoreFiles(t, path, "/data/files")
	if got, want := userVersion(t, s.db), latestVersion(t); got != want {
		t.Errorf("user_version after Open: got %d, want %d", got, want)
	}
	wantFeed := Feed{
		ID: 1, URL: "https://a.example/feed.xml", Title: "Show",
		ETag: `"v1"`, LastModified: "Wed, 01 Jan 2025 00:00:00 GMT", Body: []byte("<rss/>"),
		LastFetchedAt: t0, NextPollAt: t0.Add(time.Hour), LastError: "status 503",
		Failures: 0, CreatedAt: t0,
	}
	if got, err := s.FindFeedByID(ctx, 1); err != nil || !reflect.DeepEqual(got, wantFeed) {
		t.Errorf("feed: got %+v, %v, want %+v", got, err, wantFeed)
	}
	// The enclosure_lifecycle migration fills the source URL from the episode.
	wantTor := tor
	wantTor.SourceURL = "https://a.example/1.mp3"
	if got, err := s.FindTorrentByInfoHash(ctx, hash); err != nil || !reflect.DeepEqual(got, wantTor) {
		t.Errorf("torrent: got %+v, %v, want %+v", got, err, wantTor)
	}
	if e, err := s.FindEpisodeByID(ctx, 1); err != nil || e.State != EpisodeReady || e.InfoHash != hash {
		t.Errorf("episode: got %+v, %v, want it ready with %s", e, err, hash)
	}

	// The new columns and tables work on the old rows.
	if err := s.UpdateFeedError(ctx, 1, "status 503", t0, t0); err != nil {
		t.Fatalf("UpdateFeedError: %v", err)
	}
	if got, err := s.FindFeedByID(ctx, 1); err != nil || got.Failures != 1 {
		t.Errorf("Failures after an error: got %d, %v, want 1", got.Failures, err)
	}
	mustCreateSwarmSamples(t, s, sample(hash, t0, 1, 2, 3, 4, 5))
	if got := mustListPoints(t, s, hash); len(got) != 1 {
		t.Errorf("swarm samples of the old torrent: got %v, want one", got)
	}
}

// openDBAtVersion creates the database at path with the migrations up to
// version (user_version) and returns it open; the caller closes it.
func openDBAtVersion(tb testing.TB, path string, version int) *sql.DB {
	tb.Helper()
	old := fstest.MapFS{}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		tb.Fatalf("loadMigrations: %v", err)
	}
	for _, m := range ms {
		if m.version <= version {
			old["migrations/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
		}
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		tb.Fatalf("sql.Open: %v", err)
	}
	if err := migrate(tb.Context(), db, old); err != nil {
		tb.Fatalf("migrate to %04d: %v", version, err)
	}
	if got := userVersion(tb, db); got != version {
		tb.Fatalf("user_version: got %d, want %d", got, version)
	}
	return db
}

// TestMigrateWebSeeded creates a database with the migrations before 0009,
// holding a swarm sample as that version wrote it, and opens it with this
// Store: the sample reads BytesWebSeeded 0 with its other counts intact,
// and new samples keep the column.
func TestMigrateWebSeeded(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "podseed.db")
	db := openDBAtVersion(t, path, 8)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hash := hexHash(0xdef)
	tor := testTorrent(hash, 1)
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO feeds (id, url, created_at) VALUES (1, 'https://a.example/feed.xml', ?)`, []any{t0.UnixNano()}},
		{`INSERT INTO torrents (info_hash, name, metainfo, piece_length, size, data_path, sri, created_at)
		  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{hash, tor.Name, tor.Metainfo, tor.PieceLength, tor.Size, tor.DataPath, tor.SRI, tor.CreatedAt.UnixNano()}},
		{`INSERT INTO swarm_samples (info_hash, at, resolution, seeders, leechers, completed, peers, bytes_uploaded, availability)
		  VALUES (?, ?, 60, 1, 2, 3, 4, 5, 1.5)`, []any{hash, t0.UnixNano()}},
	} {
		if _, err := db.ExecContext(ctx, q.query, q.args...); err != nil {
			t.Fatalf("insert version 8 rows: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s := mustOpenStoreAt(t, path)
	if got, want := userVersion(t, s.db), latestVersion(t); got != want {
		t.Errorf("user_version after Open: got %d, want %d", got, want)
	}
	want := SwarmSample{InfoHash: hash, At: t0, Seeders: 1, Leechers: 2, Completed: 3, Peers: 4, BytesUploaded: 5, Availability: 1.5}
	got, err := s.ListSwarmSamples(ctx, hash, time.Time{})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("old sample: got %+v, %v, want [%+v]", got, err, want)
	}
	next := want
	next.At, next.BytesWebSeeded = t0.Add(time.Minute), 12345
	mustCreateSwarmSamples(t, s, next)
	latest, err := s.LatestSwarmSamples(ctx)
	if err != nil || latest[hash].BytesWebSeeded != 12345 {
		t.Errorf("new sample: got %+v, %v, want bytes web seeded 12345", latest[hash], err)
	}
}
