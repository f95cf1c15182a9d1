package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ingestTestOrigin is an enclosure host on 127.0.0.1 counting GETs.
type ingestTestOrigin struct {
	*httptest.Server
	gets      atomic.Int64
	userAgent atomic.Value // string, of the last request
}

func newIngestTestOrigin(tb testing.TB, h http.HandlerFunc) *ingestTestOrigin {
	tb.Helper()
	o := &ingestTestOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			o.gets.Add(1)
		}
		o.userAgent.Store(r.UserAgent())
		h(w, r)
	}))
	tb.Cleanup(o.Close)
	return o
}

// ingestServeContent serves data with http.ServeContent (Content-Length, Range).
func ingestServeContent(data []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}
}

// ingestServeChunked serves data without Content-Length, flushing every 64 KiB.
func ingestServeChunked(data []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			rest = rest[n:]
		}
	}
}

// ingestTestRequest returns a request for url with fresh directories.
func ingestTestRequest(t *testing.T, url string) IngestRequest {
	t.Helper()
	dir := t.TempDir()
	return IngestRequest{
		URL:          url,
		TmpDir:       filepath.Join(dir, "tmp"),
		FilesDir:     filepath.Join(dir, "files"),
		AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}, {"udp://127.0.0.1:2/announce"}},
		CreatedBy:    "podseed/test",
		UserAgent:    "podseed-test/1",
		Now:          func() time.Time { return time.Unix(1700000000, 0) },
	}
}

// checkIngestNoFiles fails t if any regular file is left below the dirs.
func checkIngestNoFiles(t *testing.T, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if !d.IsDir() {
				t.Errorf("file left behind: %s", p)
			}
			return nil
		})
		if err != nil {
			t.Errorf("walk %s: %v", dir, err)
		}
	}
}

// checkIngested compares res with the origin bytes data served at req.URL.
func checkIngested(t *testing.T, req IngestRequest, res *Ingested, data []byte) {
	t.Helper()
	got, err := os.ReadFile(res.DataPath)
	if err != nil {
		t.Fatal(err)
	}
	wantSum := sha256.Sum256(data)
	if gotSum := sha256.Sum256(got); gotSum != wantSum {
		t.Errorf("file SHA-256 %x, want %x (origin)", gotSum, wantSum)
	}
	if want := "sha256-" + base64.StdEncoding.EncodeToString(wantSum[:]); res.SRI != want {
		t.Errorf("SRI = %q, want %q", res.SRI, want)
	}

	// Same torrent as hashing the origin file afterwards.
	originFile := mustWriteIngestFile(t, t.TempDir(), "origin", data)
	_, wantIH, err := BuildMetainfo(originFile, MetainfoOptions{Name: res.Name})
	if err != nil {
		t.Fatal(err)
	}
	if res.InfoHash != wantIH {
		t.Errorf("infohash = %s, want %s (BuildMetainfo of the origin file)", res.InfoHash, wantIH)
	}
	absFiles, _ := filepath.Abs(req.FilesDir)
	if want := filepath.Join(absFiles, res.InfoHash, res.Name); res.DataPath != want {
		t.Errorf("DataPath = %q, want %q", res.DataPath, want)
	}
	if res.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", res.Size, len(data))
	}
	if want := PieceLengthFor(int64(len(data))); res.PieceLength != want {
		t.Errorf("PieceLength = %d, want %d", res.PieceLength, want)
	}

	m, info := mustLoadMetainfo(t, res.Metainfo)
	if gotIH := m.HashInfoBytes().HexString(); gotIH != res.InfoHash {
		t.Errorf("metainfo infohash = %s, want %s", gotIH, res.InfoHash)
	}
	if !slices.Equal(m.UrlList, []string{req.URL}) {
		t.Errorf("url-list = %q, want [%q]", m.UrlList, req.URL)
	}
	if m.Announce != req.AnnounceList[0][0] || len(m.AnnounceList) != len(req.AnnounceList) {
		t.Errorf("announce = %q, announce-list = %q, want from %q", m.Announce, m.AnnounceList, req.AnnounceList)
	}
	if m.CreatedBy != req.CreatedBy || m.CreationDate != req.Now().Unix() {
		t.Errorf("created by %q at %d, want %q at %d", m.CreatedBy, m.CreationDate, req.CreatedBy, req.Now().Unix())
	}
	if info.Name != res.Name || info.Length != res.Size || info.PieceLength != res.PieceLength {
		t.Errorf("info = {%q %d %d}, want {%q %d %d}", info.Name, info.Length, info.PieceLength, res.Name, res.Size, res.PieceLength)
	}
	if got, want := bencodeKeys(t, m.InfoBytes), []string{"length", "name", "piece length", "pieces"}; !slices.Equal(got, want) {
		t.Errorf("info keys = %q, want %q", got, want)
	}
	checkIngestNoFiles(t, req.TmpDir)
}

func TestIngest(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		chunked  bool
		declared func(size int) int64
	}{
		{"one byte", 1, false, nil},
		{"exact piece multiple", 4 * 16 << 10, false, nil},
		{"5 MiB non-multiple", 5<<20 + 12345, false, nil},
		{"33 MiB needs 32 KiB pieces", 33<<20 + 1, false, nil},
		{"wrong declared length ignored with content-length", 5<<20 + 1, false, func(int) int64 { return 1 << 30 }},
		{"chunked one byte", 1, true, nil},
		{"chunked declared length matches", 5<<20 + 12345, true, func(n int) int64 { return int64(n) }},
		{"chunked declared length unknown (re-hash)", 5<<20 + 12345, true, nil},
		{"chunked body longer than declared (re-hash)", 5<<20 + 12345, true, func(int) int64 { return 1000 }},
		{"chunked body shorter than declared (re-hash)", 5<<20 + 12345, true, func(int) int64 { return 1 << 30 }},
		{"chunked guess right", 40 << 20, true, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := ingestTestData(tt.size, uint64(i))
			h := ingestServeContent(data)
			if tt.chunked {
				h = ingestServeChunked(data)
			}
			origin := newIngestTestOrigin(t, h)
			req := ingestTestRequest(t, origin.URL+"/shows/ep%20"+strconv.Itoa(i)+".mp3?token=x")
			if tt.declared != nil {
				req.DeclaredLength = tt.declared(tt.size)
			}
			res, err := Ingest(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if want := "ep " + strconv.Itoa(i) + ".mp3"; res.Name != want {
				t.Errorf("Name = %q, want %q", res.Name, want)
			}
			if res.FinalURL != req.URL {
				t.Errorf("FinalURL = %q, want %q", res.FinalURL, req.URL)
			}
			checkIngested(t, req, res, data)
			if n := origin.gets.Load(); n != 1 {
				t.Errorf("origin saw %d GETs, want 1", n)
			}
			if ua := origin.userAgent.Load(); ua != req.UserAgent {
				t.Errorf("User-Agent = %q, want %q", ua, req.UserAgent)
			}
		})
	}
}

func TestIngestRedirect(t *testing.T) {
	data := ingestTestData(100_000, 1)
	var finalGets atomic.Int64
	origin := newIngestTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed/ep.mp3" {
			http.Redirect(w, r, "/cdn/abc/real.mp3", http.StatusFound)
			return
		}
		finalGets.Add(1)
		ingestServeContent(data)(w, r)
	})
	req := ingestTestRequest(t, origin.URL+"/feed/ep.mp3")
	res, err := Ingest(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkIngested(t, req, res, data) // url-list is the original URL
	if want := origin.URL + "/cdn/abc/real.mp3"; res.FinalURL != want {
		t.Errorf("FinalURL = %q, want %q", res.FinalURL, want)
	}
	if res.Name != "ep.mp3" {
		t.Errorf("Name = %q, want %q (from the enclosure URL)", res.Name, "ep.mp3")
	}
	if n := finalGets.Load(); n != 1 {
		t.Errorf("final URL saw %d GETs, want 1", n)
	}
}

func TestIngestName(t *testing.T) {
	data := []byte("some audio")
	origin := newIngestTestOrigin(t, ingestServeContent(data))
	tests := []struct {
		name, reqName, want string
	}{
		{"given", "Episode 1: Hello.mp3", "Episode 1_ Hello.mp3"},
		{"traversal", "../../evil/x.mp3", "_._evil_x.mp3"},
		{"from url", "", "a.mp3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ingestTestRequest(t, origin.URL+"/x/a.mp3")
			req.Name = tt.reqName
			res, err := Ingest(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Name != tt.want {
				t.Errorf("Name = %q, want %q", res.Name, tt.want)
			}
			checkIngested(t, req, res, data)
		})
	}
}

func TestIngestTwiceSameBytes(t *testing.T) {
	data := ingestTestData(300_000, 2)
	origin := newIngestTestOrigin(t, ingestServeContent(data))
	req := ingestTestRequest(t, origin.URL+"/ep.mp3")
	first, err := Ingest(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Ingest(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.InfoHash != second.InfoHash || first.DataPath != second.DataPath {
		t.Errorf("second ingest gave %s at %s, want %s at %s", second.InfoHash, second.DataPath, first.InfoHash, first.DataPath)
	}
	checkIngested(t, req, second, data)
	entries, err := os.ReadDir(filepath.Dir(second.DataPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("%d entries in %s, want 1", len(entries), filepath.Dir(second.DataPath))
	}
}

func TestIngestErrors(t *testing.T) {
	big := ingestTestData(2<<20, 3)
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		maxBytes int64
		wantErr  error  // errors.Is target, if any
		wantMsg  string // substring of the error, if any
		wantGets int64
	}{
		{
			name: "content-length larger than body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				w.Write(big[:len(big)/2])
			},
			wantErr: ErrLengthMismatch, wantGets: 1,
		},
		{
			name:     "content-length above max bytes",
			handler:  ingestServeContent(big),
			maxBytes: 1 << 20, wantErr: ErrTooLarge, wantGets: 1,
		},
		{
			name:     "chunked body above max bytes",
			handler:  ingestServeChunked(big),
			maxBytes: 1 << 20, wantErr: ErrTooLarge, wantGets: 1,
		},
		{
			name:     "chunked body one byte above max bytes",
			handler:  ingestServeChunked(big),
			maxBytes: int64(len(big)) - 1, wantErr: ErrTooLarge, wantGets: 1,
		},
		{
			name:    "empty with content-length",
			handler: ingestServeContent(nil),
			wantErr: ErrEmptyFile, wantGets: 1,
		},
		{
			name:    "empty chunked",
			handler: ingestServeChunked(nil),
			wantErr: ErrEmptyFile, wantGets: 1,
		},
		{
			name:    "not found",
			handler: http.NotFound,
			wantMsg: "404 Not Found", wantGets: 1,
		},
		{
			name: "server error",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "oops", http.StatusServiceUnavailable)
			},
			wantMsg: "503", wantGets: 1,
		},
		{
			name: "partial content without range",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusPartialContent)
				w.Write(big[:10])
			},
			wantMsg: "206", wantGets: 1,
		},
		{
			name: "compressed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(big[:100])
			},
			wantMsg: "content-encoding", wantGets: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin := newIngestTestOrigin(t, tt.handler)
			req := ingestTestRequest(t, origin.URL+"/ep.mp3")
			req.MaxBytes = tt.maxBytes
			res, err := Ingest(t.Context(), req)
			if err == nil {
				t.Fatalf("got %+v, want error", res)
			}
			if res != nil {
				t.Errorf("got result %+v with error %v", res, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantMsg)
			}
			if n := origin.gets.Load(); n != tt.wantGets {
				t.Errorf("origin saw %d GETs, want %d", n, tt.wantGets)
			}
			checkIngestNoFiles(t, req.TmpDir, req.FilesDir)
		})
	}
}

func TestIngestMaxBytesBoundary(t *testing.T) {
	data := ingestTestData(100_000, 4)
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			h := ingestServeContent(data)
			if chunked {
				h = ingestServeChunked(data)
			}
			origin := newIngestTestOrigin(t, h)
			req := ingestTestRequest(t, origin.URL+"/ep.mp3")
			req.MaxBytes = int64(len(data))
			res, err := Ingest(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkIngested(t, req, res, data)
		})
	}
}

func TestIngestStatusError(t *testing.T) {
	origin := newIngestTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	})
	req := ingestTestRequest(t, origin.URL+"/ep.mp3")
	_, err := Ingest(t.Context(), req)
	var se *IngestStatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusGone {
		t.Errorf("got %v, want *IngestStatusError with 410", err)
	}
}

func TestIngestErrorHidesCredentials(t *testing.T) {
	origin := newIngestTestOrigin(t, http.NotFound)
	u := strings.Replace(origin.URL, "http://", "http://alice:hunter2@", 1) + "/private/ep.mp3?auth=tok3n"
	for _, tt := range []struct{ name, url string }{
		{"status error", u},
		{"bad scheme", strings.Replace(u, "http://", "ftp://", 1)},
		{"unreachable", "http://alice:hunter2@127.0.0.1:1/ep.mp3?auth=tok3n"},
		{"invalid url", "http://alice:hunter2@127.0.0.1:1/%zz?auth=tok3n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := ingestTestRequest(t, tt.url)
			_, err := Ingest(t.Context(), req)
			if err == nil {
				t.Fatal("got nil error, want error")
			}
			for _, secret := range []string{"hunter2", "tok3n", "alice"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
		})
	}
}

func TestIngestRejectsURL(t *testing.T) {
	origin := newIngestTestOrigin(t, ingestServeContent([]byte("x")))
	host := strings.TrimPrefix(origin.URL, "http://")
	for _, u := range []string{
		"", "ep.mp3", "/ep.mp3", "//" + host + "/ep.mp3", "ftp://" + host + "/ep.mp3",
		"file:///etc/passwd", "gopher://" + host + "/", "http:///ep.mp3", "javascript:alert(1)",
	} {
		t.Run(u, func(t *testing.T) {
			req := ingestTestRequest(t, u)
			if res, err := Ingest(t.Context(), req); err == nil {
				t.Errorf("Ingest(%q) = %+v, want error", u, res)
			}
			checkIngestNoFiles(t, req.TmpDir, req.FilesDir)
		})
	}
	if n := origin.gets.Load(); n != 0 {
		t.Errorf("origin saw %d GETs, want 0", n)
	}
}

func TestIngestRequiresDirs(t *testing.T) {
	origin := newIngestTestOrigin(t, ingestServeContent([]byte("x")))
	req := ingestTestRequest(t, origin.URL+"/ep.mp3")
	req.FilesDir = ""
	if _, err := Ingest(t.Context(), req); err == nil {
		t.Error("got nil error, want error for missing FilesDir")
	}
	if n := origin.gets.Load(); n != 0 {
		t.Errorf("origin saw %d GETs, want 0", n)
	}
}

// ingestBlockingOrigin serves half of data, then signals started and waits
// for the client to go away.
func ingestBlockingOrigin(t *testing.T, data []byte, withLength bool) (*ingestTestOrigin, <-chan struct{}) {
	t.Helper()
	started := make(chan struct{})
	var once atomic.Bool
	origin := newIngestTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if withLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		}
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-r.Context().Done()
	})
	return origin, started
}

func TestIngestContextCanceledMidBody(t *testing.T) {
	data := ingestTestData(4<<20, 5)
	for _, withLength := range []bool{true, false} {
		t.Run("content-length="+strconv.FormatBool(withLength), func(t *testing.T) {
			origin, started := ingestBlockingOrigin(t, data, withLength)
			req := ingestTestRequest(t, origin.URL+"/ep.mp3")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan struct{})
			defer close(done)
			go func() {
				select {
				case <-started:
					cancel()
				case <-done:
				}
			}()
			res, err := Ingest(ctx, req)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %+v, %v, want %v", res, err, context.Canceled)
			}
			checkIngestNoFiles(t, req.TmpDir, req.FilesDir)
		})
	}
}

func TestIngestStall(t *testing.T) {
	data := ingestTestData(1<<20, 6)
	origin, _ := ingestBlockingOrigin(t, data, true)
	req := ingestTestRequest(t, origin.URL+"/ep.mp3")
	u, err := ingestParseURL(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := ingest(t.Context(), req, u, ingestStall{window: 200 * time.Millisecond, minBytes: 1})
	if err == nil || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("got %+v, %v, want a stall error", res, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stall detected after %s, want about 200ms", d)
	}
	checkIngestNoFiles(t, req.TmpDir, req.FilesDir)
}

// TestIngestTrickle: an origin that keeps sending a few bytes at a time
// (slow loris) is cut off like a silent one, since it makes less than the
// least progress per window; an origin sending at a normal rate under the
// same policy completes.
func TestIngestTrickle(t *testing.T) {
	data := ingestTestData(1<<20, 9)
	trickle := newIngestTestOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		for i := 0; i < len(data); i += 16 {
			if _, err := w.Write(data[i : i+16]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
	policy := ingestStall{window: 300 * time.Millisecond, minBytes: 64 << 10}
	req := ingestTestRequest(t, trickle.URL+"/ep.mp3")
	u, err := ingestParseURL(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ingest(t.Context(), req, u, policy)
	if err == nil || !strings.Contains(err.Error(), "stalled: less than 65536 bytes received in 300ms") {
		t.Fatalf("trickling origin: got %+v, %v, want a stall error", res, err)
	}
	checkIngestNoFiles(t, req.TmpDir, req.FilesDir)

	fast := newIngestTestOrigin(t, ingestServeContent(data))
	req = ingestTestRequest(t, fast.URL+"/ep.mp3")
	if u, err = ingestParseURL(req.URL); err != nil {
		t.Fatal(err)
	}
	res, err = ingest(t.Context(), req, u, policy)
	if err != nil {
		t.Fatalf("origin at a normal rate: %v", err)
	}
	checkIngested(t, req, res, data)
}

func TestIngestCustomClient(t *testing.T) {
	data := ingestTestData(10_000, 8)
	origin := newIngestTestOrigin(t, ingestServeContent(data))
	req := ingestTestRequest(t, origin.URL+"/ep.mp3")
	req.Client = origin.Client()
	res, err := Ingest(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkIngested(t, req, res, data)
}

func BenchmarkIngest(b *testing.B) {
	const size = 64 << 20
	data := ingestTestData(size, 1)
	srv := httptest.NewServer(ingestServeContent(data))
	defer srv.Close()
	dir := b.TempDir()
	req := IngestRequest{
		URL:      srv.URL + "/ep.mp3",
		TmpDir:   filepath.Join(dir, "tmp"),
		FilesDir: filepath.Join(dir, "files"),
		Client:   srv.Client(),
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		res, err := Ingest(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(res.DataPath); err != nil {
			b.Fatal(err)
		}
	}
}
