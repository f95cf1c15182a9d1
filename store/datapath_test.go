package store

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// mustOpenStoreFiles opens a Store on the database at path with files
// directory filesDir and closes it when the test ends.
func mustOpenStoreFiles(tb testing.TB, path, filesDir string) *Store {
	tb.Helper()
	s, err := OpenWith(tb.Context(), path, Options{FilesDir: filesDir})
	if err != nil {
		tb.Fatalf("OpenWith(%q, FilesDir %q): %v", path, filesDir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// storedDataPathOf returns the data_path column of torrent ih.
func storedDataPathOf(tb testing.TB, db *sql.DB, ih string) string {
	tb.Helper()
	var p string
	if err := db.QueryRowContext(tb.Context(), "SELECT data_path FROM torrents WHERE info_hash = ?", ih).Scan(&p); err != nil {
		tb.Fatalf("data_path of %s: %v", ih, err)
	}
	return p
}

// TestDataPathRelative records a torrent through a Store with a files
// directory, checks the row holds "<infohash>/<name>", and reopens the
// database with another files directory: every read gives the path under
// the new one. A data path outside the files directory is refused.
func TestDataPathRelative(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db := filepath.Join(dir, "podseed.db")
	oldFiles, newFiles := filepath.Join(dir, "old", "files"), filepath.Join(dir, "new", "files")

	s := mustOpenStoreFiles(t, db, oldFiles)
	f := mustCreateFeed(t, s, "https://a.example/")
	eps := mustUpsertEpisodes(t, s, f.ID,
		Episode{GUID: "a", EnclosureURL: "https://a.example/1.mp3"},
		Episode{GUID: "b", EnclosureURL: "https://a.example/2.mp3"})
	tor := testTorrent(hexHash(0xa1), eps[0].ID)
	tor.DataPath = filepath.Join(oldFiles, tor.InfoHash, tor.Name)
	mustCreateTorrent(t, s, tor)
	if got, want := storedDataPathOf(t, s.db, tor.InfoHash), tor.InfoHash+"/"+tor.Name; got != want {
		t.Errorf("data_path column: got %q, want %q", got, want)
	}
	if got := mustFindTorrent(t, s, tor.InfoHash).DataPath; got != tor.DataPath {
		t.Errorf("DataPath read back: got %q, want %q", got, tor.DataPath)
	}
	for _, p := range []string{
		filepath.Join(dir, "elsewhere", hexHash(0xa2), "episode.mp3"),
		filepath.Join(oldFiles, "..", "x", "episode.mp3"),
		hexHash(0xa2) + "/episode.mp3", // relative
		oldFiles,
	} {
		bad := testTorrent(hexHash(0xa2), eps[1].ID)
		bad.DataPath = p
		if err := s.CreateTorrent(ctx, bad); err == nil {
			t.Errorf("CreateTorrent(DataPath %q): no error, want refused", p)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := mustOpenStoreFiles(t, db, newFiles)
	want := filepath.Join(newFiles, tor.InfoHash, tor.Name)
	if got := mustFindTorrent(t, s2, tor.InfoHash).DataPath; got != want {
		t.Errorf("FindTorrentByInfoHash after move: DataPath %q, want %q", got, want)
	}
	ts, err := s2.ListTorrents(ctx)
	if err != nil || len(ts) != 1 || ts[0].DataPath != want {
		t.Errorf("ListTorrents after move: got %+v, %v, want DataPath %q", ts, err, want)
	}
	ets, err := s2.ListFeedTorrents(ctx, f.ID)
	if err != nil || len(ets) != 1 || ets[0].Torrent.DataPath != want {
		t.Errorf("ListFeedTorrents after move: got %+v, %v, want DataPath %q", ets, err, want)
	}
	plan, err := s2.PlanEvictions(ctx, RetentionPolicy{KeepPerFeed: 0, MaxBytes: 1})
	if err != nil || len(plan.Evict) != 1 || plan.Evict[0].DataPath != want {
		t.Errorf("PlanEvictions after move: got %+v, %v, want DataPath %q", plan, err, want)
	}
	if err := s2.MarkTorrentEvicted(ctx, tor.InfoHash, time.Now()); err != nil {
		t.Fatalf("MarkTorrentEvicted: %v", err)
	}
	ev, err := s2.ListEvictedTorrents(ctx)
	if err != nil || len(ev) != 1 || ev[0].DataPath != want {
		t.Errorf("ListEvictedTorrents after move: got %+v, %v, want DataPath %q", ev, err, want)
	}
}

// TestMigrateRelativeDataPaths creates a database with the migrations
// before 0010, holding absolute data paths as those versions wrote them,
// and opens it with this Store and a files directory elsewhere: a path laid
// out <anything>/files/<infohash>/<name> becomes "<infohash>/<name>" and
// reads under the new files directory; any other path stays as it was and
// reads "" (refused), as does a row holding "../".
func TestMigrateRelativeDataPaths(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "podseed.db")
	db := openDBAtVersion(t, path, 9)
	moved, outside, nested, escape := hexHash(0xb1), hexHash(0xb2), hexHash(0xb3), hexHash(0xb4)
	rows := map[string]string{
		moved:   "/var/lib/podseed/files/" + moved + "/episode 1.mp3",
		outside: "/srv/media/" + outside + "/episode.mp3",
		nested:  "/var/lib/podseed/files/" + nested + "/sub/episode.mp3",
		escape:  "../../etc/passwd",
	}
	for ih, p := range rows {
		tor := testTorrent(ih, 1)
		if _, err := db.ExecContext(ctx, `INSERT INTO torrents (info_hash, name, metainfo, piece_length, size, data_path, sri, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ih, tor.Name, tor.Metainfo, tor.PieceLength, tor.Size, p, tor.SRI, tor.CreatedAt.UnixNano()); err != nil {
			t.Fatalf("insert version 9 torrent: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	files := filepath.Join(dir, "restored", "files")
	s := mustOpenStoreFiles(t, path, files)
	if got, want := userVersion(t, s.db), latestVersion(t); got != want {
		t.Errorf("user_version after Open: got %d, want %d", got, want)
	}
	wantStored := map[string]string{
		moved:   moved + "/episode 1.mp3",
		outside: rows[outside],
		nested:  rows[nested],
		escape:  rows[escape],
	}
	wantRead := map[string]string{
		moved:   filepath.Join(files, moved, "episode 1.mp3"),
		outside: "", nested: "", escape: "",
	}
	for ih := range rows {
		if got := storedDataPathOf(t, s.db, ih); got != wantStored[ih] {
			t.Errorf("%s: data_path column %q, want %q", ih, got, wantStored[ih])
		}
		if got := mustFindTorrent(t, s, ih).DataPath; got != wantRead[ih] {
			t.Errorf("%s: DataPath %q, want %q", ih, got, wantRead[ih])
		}
	}
}
