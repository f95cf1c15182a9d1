package seed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// btTestLogger returns a logger writing warnings and errors to the test log
// until the test's cleanups have run (anacrolix goroutines may log late).
func btTestLogger(tb testing.TB) *slog.Logger {
	tb.Helper()
	w := &btTestLogWriter{tb: tb}
	tb.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	level := slog.LevelWarn
	if os.Getenv("SEED_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type btTestLogWriter struct {
	mu   sync.Mutex
	tb   testing.TB
	done bool
}

func (w *btTestLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// btMustWriteRandomFile writes size pseudo-random bytes to path.
func btMustWriteRandomFile(tb testing.TB, path string, size int64) {
	tb.Helper()
	var seed [32]byte
	copy(seed[:], path)
	src := rand.NewChaCha8(seed)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.CopyN(f, src, size); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// btMustMakeTorrent hashes the file at path into a single-file v1 torrent
// announcing to announce (if not empty), with no web seed, and returns the
// bencoded metainfo.
func btMustMakeTorrent(tb testing.TB, path string, pieceLength int64, announce string) []byte {
	tb.Helper()
	info := metainfo.Info{PieceLength: pieceLength}
	if err := info.BuildFromFilePath(path); err != nil {
		tb.Fatal(err)
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		tb.Fatal(err)
	}
	mi := metainfo.MetaInfo{Announce: announce, InfoBytes: infoBytes}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// btInfoHash returns the hex v1 infohash of a bencoded metainfo.
func btInfoHash(tb testing.TB, mi []byte) string {
	tb.Helper()
	m, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		tb.Fatal(err)
	}
	return m.HashInfoBytes().HexString()
}

// btMustNewClient starts a loopback-only Client without DHT and closes it
// when the test ends.
func btMustNewClient(tb testing.TB, dataDir string) *Client {
	tb.Helper()
	c, err := NewClient(ClientConfig{
		DataDir:    dataDir,
		ListenHost: "127.0.0.1",
		DisableDHT: true,
		Logger:     btTestLogger(tb),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("close client: %v", err)
		}
	})
	return c
}

// btMustStartTracker serves a Tracker on loopback and returns it with its
// announce URL.
func btMustStartTracker(tb testing.TB) (*Tracker, string) {
	tb.Helper()
	tr := NewTracker(TrackerConfig{Interval: time.Minute, Logger: btTestLogger(tb)})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /announce", tr.ServeAnnounce)
	mux.HandleFunc("GET /scrape", tr.ServeScrape)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return tr, srv.URL + "/announce"
}

// btWaitUntil polls cond until it holds or timeout passes.
func btWaitUntil(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// btRequireBinary returns the path of an external program, skipping the
// test if it is missing (failing it on CI).
func btRequireBinary(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is required on CI: %v", name, err)
		}
		tb.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// btFileSHA256 returns the hex SHA-256 of a file, or "" if it cannot be read.
func btFileSHA256(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// btSeedFixture is a random file seeded by a Client and announced to a
// loopback Tracker.
type btSeedFixture struct {
	client      *Client
	tracker     *Tracker
	infoHash    string
	torrentPath string
	dataPath    string
	sha256      string
	size        int64
}

// btMustSeed writes a random file of size bytes, makes its torrent
// announcing to a fresh loopback tracker, and seeds it from a new Client
// with verified=true.
func btMustSeed(tb testing.TB, size int64) btSeedFixture {
	tb.Helper()
	dir := tb.TempDir()
	dataPath := filepath.Join(dir, "files", "episode-0001.mp3")
	if err := os.MkdirAll(filepath.Dir(dataPath), 0o755); err != nil {
		tb.Fatal(err)
	}
	btMustWriteRandomFile(tb, dataPath, size)
	tr, announce := btMustStartTracker(tb)
	mi := btMustMakeTorrent(tb, dataPath, btPieceLength(size), announce)
	torrentPath := filepath.Join(dir, "episode-0001.torrent")
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		tb.Fatal(err)
	}
	c := btMustNewClient(tb, dir)
	ih, err := c.AddTorrent(tb.Context(), mi, dataPath, true)
	if err != nil {
		tb.Fatal(err)
	}
	return btSeedFixture{
		client:      c,
		tracker:     tr,
		infoHash:    ih,
		torrentPath: torrentPath,
		dataPath:    dataPath,
		sha256:      btFileSHA256(tb, dataPath),
		size:        size,
	}
}

// btPieceLength mirrors the design's rule (at most 2048 pieces, 16 KiB to
// 16 MiB) without depending on PieceLengthFor.
func btPieceLength(size int64) int64 {
	l := int64(16 << 10)
	for l < 16<<20 && (size+l-1)/l > 2048 {
		l *= 2
	}
	return l
}
