package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

// diskFullMount mounts a tmpfs of size bytes on a fresh directory and
// unmounts it when the test ends (after cleanups registered later, such
// as closing the app on it). It needs root: it skips otherwise, except
// with CI=true, where it fails.
func diskFullMount(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the disk-full test mounts a tmpfs and needs root in CI")
		}
		t.Skip("the disk-full test mounts a tmpfs and needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs: %v\n%s", err, out)
		}
		t.Skipf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// diskFree returns the bytes available on the file system holding dir.
func diskFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// diskFill writes a file of up to n bytes at p, stopping without error
// when the disk is full; n < 0 fills the disk.
func diskFill(t *testing.T, p string, n int64) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for written := int64(0); n < 0 || written < n; {
		chunk := buf
		if n >= 0 {
			chunk = buf[:min(int64(len(buf)), n-written)]
		}
		m, err := f.Write(chunk)
		written += int64(m)
		if err != nil {
			if strings.Contains(err.Error(), "no space left on device") {
				return
			}
			t.Fatal(err)
		}
	}
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// diskFullOrigin serves one feed, replaceable, and enclosures from memory.
type diskFullOrigin struct {
	srv   *httptest.Server
	feed  atomic.Pointer[[]byte]
	files map[string][]byte

	mu   sync.Mutex
	full map[string]int // URL path → GETs without Range (whole downloads)
}

// fullGETs returns the number of whole-file GETs of an enclosure.
func (o *diskFullOrigin) fullGETs(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.full["/media/"+name]
}

func (o *diskFullOrigin) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/feed.xml" {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write(*o.feed.Load())
		return
	}
	if data, ok := o.files[r.URL.Path]; ok {
		if r.Method == http.MethodGet && r.Header.Get("Range") == "" {
			o.mu.Lock()
			o.full[r.URL.Path]++
			o.mu.Unlock()
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	http.NotFound(w, r)
}

// setFeed serves a feed with the enclosures names (each under /media/)
// and padding bytes of channel description.
func (o *diskFullOrigin) setFeed(padding int, names ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>Full disk</title><description>%s</description>`, strings.Repeat("p", padding))
	for _, n := range names {
		fmt.Fprintf(&b, `<item><title>%s</title><guid>%s</guid><enclosure url="%s/media/%s" length="%d" type="audio/mpeg"/></item>`,
			n, n, o.srv.URL, n, len(o.files["/media/"+n]))
	}
	b.WriteString("</channel></rss>")
	body := []byte(b.String())
	o.feed.Store(&body)
}

// TestDiskFull ingests into a data directory on a small tmpfs. An
// enclosure bigger than the free space fails with a clear, logged and
// recorded error, leaves nothing in tmp/ or files/, publishes nothing and
// is retried later; once space is freed the retry succeeds. Then the disk
// is filled completely: SQLite's write fails with a reported error, and
// the database is intact and writable once space is freed. Last, a full
// disk on which even the failure cannot be recorded: the episode is tried
// once per ingest pass, not in a loop against its origin.
func TestDiskFull(t *testing.T) {
	mnt := diskFullMount(t, 16<<20)
	o := &diskFullOrigin{files: map[string][]byte{}, full: map[string]int{}}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	for i, n := range []string{"big.mp3", "second.mp3"} {
		data := make([]byte, 6<<20+i)
		_, _ = rand.NewChaCha8([32]byte{byte(i), 'd', 'f'}).Read(data)
		o.files["/media/"+n] = data
	}
	o.setFeed(0, "big.mp3")

	var logs lockedBuffer
	ctx := context.Background()
	dataDir := filepath.Join(mnt, "data")
	a, err := Open(ctx, Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1",
		PollInterval: time.Hour, AllowPrivateAddresses: true, UDPTracker: "off",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
		t.Logf("podseed log:\n%s", logs.String())
	})
	f, _, err := a.Store().CreateFeed(ctx, o.srv.URL+"/feed.xml")
	if err != nil {
		t.Fatal(err)
	}

	// Leave 3 MiB free for a 6 MiB enclosure.
	filler := filepath.Join(mnt, "filler")
	diskFill(t, filler, diskFree(t, mnt)-3<<20)
	a.pollFeeds(ctx, true)
	a.ingestPending(ctx)

	eps, err := a.Store().ListEpisodesByFeed(ctx, f.ID)
	if err != nil || len(eps) != 1 {
		t.Fatalf("episodes: %v, %v", eps, err)
	}
	e := eps[0]
	if e.State != store.EpisodeFailed || !strings.Contains(e.LastError, "no space left on device") {
		t.Errorf("episode after a full disk: state %s, error %q; want failed with %q", e.State, e.LastError, "no space left on device")
	}
	if !e.NextAttemptAt.After(time.Now()) {
		t.Errorf("next attempt %v: want a retry later", e.NextAttemptAt)
	}
	if log := logs.String(); !strings.Contains(log, "ingest enclosure") || !strings.Contains(log, "no space left on device") {
		t.Errorf("log lacks the ingest error:\n%s", log)
	}
	diskFullCheckEmpty(t, filepath.Join(dataDir, "tmp"))
	diskFullCheckEmpty(t, filepath.Join(dataDir, "files"))
	if ts, err := a.Store().ListTorrents(ctx); err != nil || len(ts) != 0 {
		t.Errorf("torrents after the failed ingest: %v, %v; want none", ts, err)
	}
	rss := diskFullFeedRSS(t, a, f.ID)
	if strings.Contains(rss, "alternateEnclosure") {
		t.Errorf("republished feed has an alternate enclosure for a failed ingest:\n%s", rss)
	}

	// Space freed, the retry time comes (rewound instead of waited for):
	// the retry succeeds.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	diskFullSQL(t, filepath.Join(dataDir, "podseed.db"), "UPDATE episodes SET next_attempt_at = ? WHERE id = ?", time.Now().Add(-time.Second).UnixNano(), e.ID)
	a.ingestPending(ctx)
	ready := readyEpisodes(t, a.Store(), f.ID)
	if len(ready) != 1 {
		t.Fatalf("after freeing space: %d ready episodes, want 1", len(ready))
	}
	tor, err := a.Store().FindTorrentByInfoHash(ctx, ready[0].InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileSHA256(t, tor.DataPath); got != fmt.Sprintf("%x", sha256.Sum256(o.files["/media/big.mp3"])) {
		t.Errorf("stored file SHA-256 %s differs from the origin's", got)
	}
	if rss := diskFullFeedRSS(t, a, f.ID); !strings.Contains(rss, ready[0].InfoHash) {
		t.Errorf("republished feed lacks the torrent %s", ready[0].InfoHash)
	}

	// A completely full disk: a poll storing a 1 MiB feed body fails in
	// SQLite, with the error reported.
	o.setFeed(1<<20, "big.mp3", "second.mp3")
	diskFill(t, filler, -1)
	before := len(logs.String())
	a.pollFeeds(ctx, true)
	if log := logs.String()[before:]; !strings.Contains(log, "poll feed") || !strings.Contains(log, "full") {
		t.Errorf("log lacks the store's disk-full error:\n%s", log)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	checkCrashSQLiteIntegrity(t, filepath.Join(dataDir, "podseed.db"))
	a.pollFeeds(ctx, true)
	eps, err = a.Store().ListEpisodesByFeed(ctx, f.ID)
	if err != nil || len(eps) != 2 {
		t.Errorf("after freeing space: episodes %v, %v; want 2", eps, err)
	}
	if got := mustFindFeed(t, a.Store(), f.ID); got.LastError != "" || got.Failures != 0 {
		t.Errorf("feed after freeing space: error %q, %d failures; want a recorded success", got.LastError, got.Failures)
	}

	// second.mp3 is pending. The disk fills up completely: the download
	// fails and so does recording the failure. One pass tries it once.
	diskFill(t, filler, -1)
	before = len(logs.String())
	// A hot loop would run until the context ends; the bound only keeps
	// such a failure from hanging the test.
	passCtx, passCancel := context.WithTimeout(ctx, 30*time.Second)
	a.ingestPending(passCtx)
	passCancel()
	if n := o.fullGETs("second.mp3"); n != 1 {
		t.Errorf("one ingest pass on a full disk downloaded second.mp3 %d times, want 1", n)
	}
	if log := logs.String()[before:]; !strings.Contains(log, "record ingest failure") || !strings.Contains(log, "full") {
		t.Errorf("log lacks the unrecorded failure:\n%s", log)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	checkCrashSQLiteIntegrity(t, filepath.Join(dataDir, "podseed.db"))
	a.ingestPending(ctx) // still due: never marked failed
	if ready := readyEpisodes(t, a.Store(), f.ID); len(ready) != 2 {
		t.Errorf("after freeing space again: %d ready episodes, want 2", len(ready))
	}
	diskFullCheckEmpty(t, filepath.Join(dataDir, "tmp"))
}

// diskFullCheckEmpty fails unless dir holds no files (directories may stay).
func diskFullCheckEmpty(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Error(err)
	}
}

// diskFullSQL runs one statement on the database file, through its own
// connection.
func diskFullSQL(t *testing.T, dbPath, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(dbPath)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

// diskFullFeedRSS renders the republished feed as /feeds/{id}.rss serves
// it (the app is open, not running).
func diskFullFeedRSS(t *testing.T, a *App, feedID int64) string {
	t.Helper()
	b, err := catalog{a}.FeedRSS(t.Context(), feedID)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
