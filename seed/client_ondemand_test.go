package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// onDemandOrigin serves one file with Range support and records every
// request's Range header ("" for a GET without one).
type onDemandTestOrigin struct {
	srv *httptest.Server
	url string

	mu     sync.Mutex
	data   []byte        // what it serves; tests may change it
	ranges []string      // Range header of each GET, in order
	hold   chan struct{} // when not nil, requests wait for it to close
}

func newOnDemandTestOrigin(t testing.TB, data []byte) *onDemandTestOrigin {
	t.Helper()
	o := &onDemandTestOrigin{data: data}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.ranges = append(o.ranges, r.Header.Get("Range"))
		data, hold := o.data, o.hold
		o.mu.Unlock()
		if hold != nil {
			<-hold
		}
		http.ServeContent(w, r, "episode.mp3", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(o.srv.Close)
	o.url = o.srv.URL + "/episode.mp3"
	return o
}

// requests returns a copy of the Range headers seen so far.
func (o *onDemandTestOrigin) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.ranges...)
}

// onDemandFixture is an on-demand torrent's storage opened directly, as
// anacrolix opens it, over a test origin.
type onDemandFixture struct {
	origin *onDemandTestOrigin
	cache  *PieceCache
	info   *metainfo.Info
	t      *storage.Torrent
	data   []byte
}

// newOnDemandFixture makes a file of size random bytes with pieceLength
// pieces, serves it from a test origin and opens on-demand storage for it
// with a cache of budget bytes.
func newOnDemandFixture(t *testing.T, size, pieceLength, budget int64) onDemandFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "episode.mp3")
	btMustWriteRandomFile(t, path, size)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info := &metainfo.Info{PieceLength: pieceLength}
	if err := info.BuildFromFilePath(path); err != nil {
		t.Fatal(err)
	}
	o := newOnDemandTestOrigin(t, data)
	cache, err := NewPieceCache(budget)
	if err != nil {
		t.Fatal(err)
	}
	closing, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &Client{logger: btTestLogger(t), closing: closing, cancel: cancel}
	impl := onDemandClientImpl{
		src:   onDemandOrigin{url: o.url, redacted: o.url, client: o.srv.Client(), userAgent: "podseed-test"},
		cache: cache, c: c,
	}
	ti, err := impl.OpenTorrent(t.Context(), info, metainfo.HashBytes([]byte(path)))
	if err != nil {
		t.Fatal(err)
	}
	return onDemandFixture{origin: o, cache: cache, info: info, t: &storage.Torrent{TorrentImpl: ti}, data: data}
}

// piece returns piece i's storage, as anacrolix asks for it.
func (fx onDemandFixture) piece(i int) storage.Piece {
	p := fx.info.Piece(i)
	return fx.t.PieceWithHash(p, g.Some(p.V1Hash().Unwrap().Bytes()))
}

// rangeOf is the Range header that fetches piece i whole.
func (fx onDemandFixture) rangeOf(i int) string {
	p := fx.info.Piece(i)
	return fmt.Sprintf("bytes=%d-%d", p.Offset(), p.Offset()+p.Length()-1)
}

// mustRead reads n bytes at off of piece i and checks them against the file.
func (fx onDemandFixture) mustRead(t *testing.T, i int, off, n int64) {
	t.Helper()
	b := make([]byte, n)
	got, err := fx.piece(i).ReadAt(b, off)
	if err != nil || int64(got) != n {
		t.Fatalf("piece %d: ReadAt(%d bytes at %d): got %d, %v; want %d, nil", i, n, off, got, err, n)
	}
	start := fx.info.Piece(i).Offset() + off
	if !bytes.Equal(b, fx.data[start:start+n]) {
		t.Fatalf("piece %d: ReadAt(%d bytes at %d): bytes differ from the file", i, n, off)
	}
}

// TestOnDemandPiecesFetchedByRangeAndCached: a read fetches its whole piece
// with one Range request and serves the file's bytes; further reads of the
// piece come from the cache; the cache stays within its budget, dropping
// the least recently used piece, which a later read fetches again; the
// short last piece is fetched with its own length; every piece reports
// complete and writes are refused.
func TestOnDemandPiecesFetchedByRangeAndCached(t *testing.T) {
	const pl = 32 << 10
	fx := newOnDemandFixture(t, 4*pl+1000, pl, 2*pl) // pieces 0..3 whole, 4 of 1000 bytes
	fx.mustRead(t, 0, 16<<10, 16<<10)
	fx.mustRead(t, 0, 0, 16<<10)
	fx.mustRead(t, 0, 100, 5)
	if got, want := fx.origin.requests(), []string{fx.rangeOf(0)}; !slices.Equal(got, want) {
		t.Fatalf("origin requests after three reads of piece 0: got %q, want %q", got, want)
	}
	fx.mustRead(t, 1, 0, 16<<10)
	fx.mustRead(t, 0, 0, 16<<10) // piece 0 is now the most recently used
	fx.mustRead(t, 2, 0, 16<<10) // evicts piece 1
	if st := fx.cache.Stats(); st.Bytes > 2*pl || st.Pieces != 2 {
		t.Errorf("cache: got %d bytes in %d pieces, want at most %d bytes in 2", st.Bytes, st.Pieces, 2*pl)
	}
	fx.mustRead(t, 0, 0, 1)      // still cached
	fx.mustRead(t, 1, 0, 16<<10) // fetched again
	fx.mustRead(t, 4, 0, 1000)
	want := []string{fx.rangeOf(0), fx.rangeOf(1), fx.rangeOf(2), fx.rangeOf(1), fx.rangeOf(4)}
	if got := fx.origin.requests(); !slices.Equal(got, want) {
		t.Errorf("origin requests: got %q, want %q", got, want)
	}
	if want := "bytes=131072-132071"; fx.rangeOf(4) != want {
		t.Errorf("last piece range: got %s, want %s", fx.rangeOf(4), want)
	}
	st := fx.cache.Stats()
	if st.Fetches != 5 || st.Hits != 4 || st.Mismatches != 0 || st.Bytes > st.MaxBytes {
		t.Errorf("cache stats: got %+v, want 5 fetches, 4 hits, no mismatch, within budget", st)
	}
	for i := range fx.info.NumPieces() {
		if c := fx.piece(i).Completion(); !c.Ok || !c.Complete || c.Err != nil {
			t.Errorf("piece %d completion: got %+v, want ok and complete", i, c)
		}
	}
	if n, err := fx.piece(3).WriteAt(make([]byte, 10), 0); n != 0 || err == nil {
		t.Errorf("WriteAt: got %d, %v; want 0 and an error", n, err)
	}
}

// TestOnDemandOriginChanged: when the origin's bytes no longer hash to the
// piece (origin replaced the file, or inserts ads), the read fails with
// ErrPieceMismatch and not one byte is served; the failure is remembered,
// so the chunk reads that follow do not refetch; pieces the origin still
// serves unchanged are served. An origin that ignores Range (200) or
// answers an error is an error too.
func TestOnDemandOriginChanged(t *testing.T) {
	const pl = 32 << 10
	fx := newOnDemandFixture(t, 3*pl, pl, 3*pl)
	changed := bytes.Clone(fx.data)
	changed[pl+77] ^= 0xff // one byte of piece 1
	fx.origin.mu.Lock()
	fx.origin.data = changed
	fx.origin.mu.Unlock()

	for range 3 {
		b := bytes.Repeat([]byte{0xAA}, 16<<10)
		n, err := fx.piece(1).ReadAt(b, 0)
		if !errors.Is(err, ErrPieceMismatch) || n != 0 {
			t.Fatalf("read of changed piece: got %d, %v; want 0, ErrPieceMismatch", n, err)
		}
		if !bytes.Equal(b, bytes.Repeat([]byte{0xAA}, 16<<10)) {
			t.Fatal("read of changed piece wrote into the buffer")
		}
	}
	if got, want := fx.origin.requests(), []string{fx.rangeOf(1)}; !slices.Equal(got, want) {
		t.Errorf("origin requests: got %q, want %q (one fetch, the failure remembered)", got, want)
	}
	if st := fx.cache.Stats(); st.Mismatches != 1 || st.Pieces != 0 {
		t.Errorf("cache stats: got %+v, want 1 mismatch and nothing cached", st)
	}
	fx.mustRead(t, 0, 0, 16<<10) // unchanged piece still served

	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"range ignored", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(fx.data) }, "200 OK"},
		{"not found", http.NotFound, "404"},
		{"wrong range", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", pl-1, len(fx.data)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(fx.data[:pl])
		}, "content-range"},
		{"short body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", 2*pl, 3*pl-1, len(fx.data)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(fx.data[2*pl : 2*pl+100])
		}, "body has 100 bytes, want 32768"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			cache, err := NewPieceCache(3 * pl)
			if err != nil {
				t.Fatal(err)
			}
			ti, err := onDemandClientImpl{src: onDemandOrigin{url: srv.URL, client: srv.Client()}, cache: cache,
				c: &Client{logger: btTestLogger(t), closing: t.Context()}}.OpenTorrent(t.Context(), fx.info, metainfo.Hash{1})
			if err != nil {
				t.Fatal(err)
			}
			p := fx.info.Piece(2)
			n, err := (&storage.Torrent{TorrentImpl: ti}).PieceWithHash(p, g.Some(p.V1Hash().Unwrap().Bytes())).ReadAt(make([]byte, 10), 0)
			if n != 0 || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadAt: got %d, %v; want 0 and an error mentioning %q", n, err, tc.want)
			}
		})
	}
}

// TestOnDemandConcurrentReadsFetchOnce: reads of one piece that arrive
// while it is being fetched wait for that fetch instead of starting their
// own: one origin request for eight readers, each served the right bytes.
func TestOnDemandConcurrentReadsFetchOnce(t *testing.T) {
	const pl = 64 << 10
	fx := newOnDemandFixture(t, 2*pl, pl, 2*pl)
	hold := make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release) // before the origin's Close, which waits for held requests
	fx.origin.mu.Lock()
	fx.origin.hold = hold
	fx.origin.mu.Unlock()

	const readers = 8
	errs := make(chan error, readers)
	for i := range readers {
		go func() {
			off := int64(i) * (pl / readers)
			b := make([]byte, pl/readers)
			n, err := fx.piece(1).ReadAt(b, off)
			switch {
			case err != nil:
				errs <- err
			case n != len(b) || !bytes.Equal(b, fx.data[pl+off:pl+off+int64(n)]):
				errs <- fmt.Errorf("reader %d: got %d bytes, not the file's", i, n)
			default:
				errs <- nil
			}
		}()
	}
	// All but the fetching reader join the fetch in flight.
	btWaitUntil(t, 10*time.Second, "readers to join the fetch", func() bool {
		fx.cache.mu.Lock()
		defer fx.cache.mu.Unlock()
		for _, fl := range fx.cache.flights {
			return fl.waiters == readers-1
		}
		return false
	})
	release()
	for range readers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got, want := fx.origin.requests(), []string{fx.rangeOf(1)}; !slices.Equal(got, want) {
		t.Errorf("origin requests: got %q, want %q", got, want)
	}
	if st := fx.cache.Stats(); st.Fetches != 1 || st.Hits != readers-1 {
		t.Errorf("cache stats: got %+v, want 1 fetch and %d hits", st, readers-1)
	}
}

// TestAddTorrentOnDemandErrors: what AddTorrentOnDemand refuses.
func TestAddTorrentOnDemandErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "episode.mp3")
	btMustWriteRandomFile(t, path, 100<<10)
	mi := btMustMakeTorrent(t, path, 32<<10, "")
	c := btMustNewClient(t, dir)
	small, err := NewPieceCache(16 << 10)
	if err != nil {
		t.Fatal(err)
	}
	big, err := NewPieceCache(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		mi    []byte
		url   string
		cache *PieceCache
		want  string
	}{
		{"nil cache", mi, "http://127.0.0.1/x", nil, "nil piece cache"},
		{"piece larger than the cache", mi, "http://127.0.0.1/x", small, "exceeds the piece cache"},
		{"bad scheme", mi, "ftp://127.0.0.1/x", big, "scheme"},
		{"bad metainfo", []byte("not bencode"), "http://127.0.0.1/x", big, "decode metainfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.AddTorrentOnDemand(t.Context(), tc.mi, OnDemandSource{URL: tc.url}, tc.cache)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := NewPieceCache(0); err == nil {
		t.Error("NewPieceCache(0): got nil error")
	}
}

// TestClientOnDemandAria2c: aria2c downloads the whole file from podseed's
// on-demand torrent while podseed's client has no copy of it (its data
// directory holds no episode file): every piece comes from the origin by a
// Range request, fetched once each with a cache that holds the file, and
// the torrent has no web seed, so aria2c's only source is podseed.
func TestClientOnDemandAria2c(t *testing.T) {
	btRequireBinary(t, "aria2c")
	const size = 6<<20 + 12345
	src := t.TempDir()
	path := filepath.Join(src, "episode-0001.mp3")
	btMustWriteRandomFile(t, path, size)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	origin := newOnDemandTestOrigin(t, data)
	tr, announce := btMustStartTracker(t)
	// Pieces of 16 chunks: a piece served without the cache would be
	// fetched once per chunk a peer asks for.
	mi := btMustMakeTorrent(t, path, 256<<10, announce)
	torrentPath := filepath.Join(t.TempDir(), "episode-0001.torrent")
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	c := btMustNewClient(t, dataDir)
	cache, err := NewPieceCache(size + 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ih, err := c.AddTorrentOnDemand(t.Context(), mi,
		OnDemandSource{URL: origin.url, HTTPClient: origin.srv.Client(), UserAgent: "podseed-test"}, cache)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := c.Stats(ih); !ok || !st.Complete || st.BytesCompleted != size {
		t.Fatalf("Stats after add: got %+v, %v; want complete", st, ok)
	}
	if err := os.Remove(path); err != nil { // no copy anywhere but the origin's memory
		t.Fatal(err)
	}

	fx := btSeedFixture{client: c, tracker: tr, infoHash: ih, torrentPath: torrentPath,
		dataPath: path, size: size}
	res := clientAria2cDownload(t, fx, 3*time.Minute)
	got, err := os.ReadFile(res.path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded file differs from the origin's (%d bytes, want %d)", len(got), len(data))
	}
	info, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		t.Fatal(err)
	}
	inf, err := info.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	reqs := origin.requests()
	seen := map[string]int{}
	for _, r := range reqs {
		seen[r]++
	}
	for i := range inf.NumPieces() {
		p := inf.Piece(i)
		if r := fmt.Sprintf("bytes=%d-%d", p.Offset(), p.Offset()+p.Length()-1); seen[r] != 1 {
			t.Errorf("piece %d: origin served %s %d times, want once", i, r, seen[r])
		}
	}
	if len(reqs) != inf.NumPieces() {
		t.Errorf("origin requests: got %d, want %d (one per piece, all with Range)", len(reqs), inf.NumPieces())
	}
	if st, _ := c.Stats(ih); st.BytesUploaded < size {
		t.Errorf("BytesUploaded: got %d, want >= %d", st.BytesUploaded, size)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != clientPieceCompletionDir {
			t.Errorf("data directory holds %q, want only the piece completion database", e.Name())
		}
	}
	t.Logf("aria2c: %d bytes in %v, %d Range requests", size, res.run.Round(time.Millisecond), len(reqs))
}
