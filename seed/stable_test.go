package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

const stableTestUserAgent = "podseed-test/1"

// stableTestData returns size deterministic pseudo-random bytes.
func stableTestData(size int, seed uint64) []byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	s[8] = 's'
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// mustWriteStableFile writes data to a new file in a temporary directory and
// returns its path.
func mustWriteStableFile(tb testing.TB, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "episode.mp3")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// stableTestOrigin is an enclosure host on 127.0.0.1 recording the Range,
// User-Agent and Accept-Encoding of every request. Its handler gets the
// request number, from 1.
type stableTestOrigin struct {
	*httptest.Server
	mu       sync.Mutex
	ranges   []string
	agents   []string
	encoding []string
}

func newStableTestOrigin(tb testing.TB, h func(w http.ResponseWriter, r *http.Request, n int)) *stableTestOrigin {
	tb.Helper()
	o := &stableTestOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.ranges = append(o.ranges, r.Header.Get("Range"))
		o.agents = append(o.agents, r.UserAgent())
		o.encoding = append(o.encoding, r.Header.Get("Accept-Encoding"))
		n := len(o.ranges)
		o.mu.Unlock()
		h(w, r, n)
	}))
	tb.Cleanup(o.Close)
	return o
}

// Ranges returns the Range headers received so far.
func (o *stableTestOrigin) Ranges() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ranges)
}

// stableServe serves data with Range support (http.ServeContent).
func stableServe(data []byte) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}
}

// stableServeDAI serves, per request n, an ad of adLen(n) bytes whose
// content depends on n, followed by episode; Range is honoured.
func stableServeDAI(episode []byte, adLen func(n int) int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		body := append(stableTestData(adLen(n), uint64(1000+n)), episode...)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}
}

// stableDAIBody is what stableServeDAI serves for request n.
func stableDAIBody(episode []byte, adLen func(n int) int, n int) []byte {
	return append(stableTestData(adLen(n), uint64(1000+n)), episode...)
}

// stableServeIgnoringRange answers every request with 200 and body(n) in
// full; with Content-Length unless chunked.
func stableServeIgnoringRange(body func(n int) []byte, chunked bool) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		b := body(n)
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		w.WriteHeader(http.StatusOK)
		if chunked {
			w.(http.Flusher).Flush()
		}
		_, _ = w.Write(b)
	}
}

// stableFlip returns a copy of data with the bytes at offsets inverted.
func stableFlip(data []byte, offsets ...int) []byte {
	out := slices.Clone(data)
	for _, off := range offsets {
		out[off] ^= 0xff
	}
	return out
}

func TestCheckStable(t *testing.T) {
	const (
		large = 3<<20 + 12345 // bytes, sampled
		small = 200 << 10     // bytes, compared whole
	)
	largeData := stableTestData(large, 1)
	smallData := stableTestData(small, 2)
	episode := stableTestData(large-4000, 3)
	growingAd := func(n int) int { return 4000 + 517*n }
	sameAd := func(int) int { return 4000 }
	tests := []struct {
		name        string
		local       []byte
		handler     func(http.ResponseWriter, *http.Request, int)
		wantStable  bool
		wantRange   bool   // RangeSupported
		wantChecked int    // -1: at least 3
		wantReason  string // prefix
	}{
		{
			name:        "stable origin",
			local:       largeData,
			handler:     stableServe(largeData),
			wantStable:  true,
			wantRange:   true,
			wantChecked: -1,
		},
		{
			name:        "DAI ad length changes per request",
			local:       stableDAIBody(episode, growingAd, 0),
			handler:     stableServeDAI(episode, growingAd),
			wantRange:   true,
			wantChecked: 0,
			wantReason:  fmt.Sprintf("length changed: origin has %d bytes, local file %d", large+517, large),
		},
		{
			name:        "DAI same ad length, different bytes",
			local:       stableDAIBody(episode, sameAd, 0),
			handler:     stableServeDAI(episode, sameAd),
			wantRange:   true,
			wantChecked: 1,
			wantReason:  "bytes differ at offset ",
		},
		{
			name:        "DAI ignoring range, length changes",
			local:       stableDAIBody(episode, growingAd, 0),
			handler:     stableServeIgnoringRange(func(n int) []byte { return stableDAIBody(episode, growingAd, n) }, false),
			wantChecked: 0,
			wantReason:  "length changed: origin has ",
		},
		{
			name:        "DAI ignoring range, chunked, same length",
			local:       stableDAIBody(episode, sameAd, 0),
			handler:     stableServeIgnoringRange(func(n int) []byte { return stableDAIBody(episode, sameAd, n) }, true),
			wantChecked: 1,
			wantReason:  "bytes differ at offset ",
		},
		{
			name:        "range ignored, same bytes",
			local:       largeData,
			handler:     stableServeIgnoringRange(func(int) []byte { return largeData }, false),
			wantStable:  true,
			wantChecked: 1,
		},
		{
			name:        "only the middle differs",
			local:       largeData,
			handler:     stableServe(stableFlip(largeData, large/2)),
			wantRange:   true,
			wantChecked: 2, // start, then middle
			wantReason:  fmt.Sprintf("bytes differ at offset %d", large/2),
		},
		{
			name:        "only the last byte differs",
			local:       largeData,
			handler:     stableServe(stableFlip(largeData, large-1)),
			wantRange:   true,
			wantChecked: 3, // start, middle, end
			wantReason:  fmt.Sprintf("bytes differ at offset %d", large-1),
		},
		{
			name:        "small file, stable",
			local:       smallData,
			handler:     stableServe(smallData),
			wantStable:  true,
			wantRange:   true,
			wantChecked: 1,
		},
		{
			name:        "small file, one byte in the middle differs",
			local:       smallData,
			handler:     stableServe(stableFlip(smallData, small/3)),
			wantRange:   true,
			wantChecked: 1,
			wantReason:  fmt.Sprintf("bytes differ at offset %d", small/3),
		},
		{
			name:        "small file, range ignored, chunked, same bytes",
			local:       smallData,
			handler:     stableServeIgnoringRange(func(int) []byte { return smallData }, true),
			wantStable:  true,
			wantChecked: 1,
		},
		{
			name:        "small file, range ignored, chunked, longer",
			local:       smallData,
			handler:     stableServeIgnoringRange(func(int) []byte { return append(slices.Clone(smallData), "ad"...) }, true),
			wantChecked: 1,
			wantReason:  "length changed: body longer than local file",
		},
		{
			name:        "small file, range ignored, chunked, shorter",
			local:       smallData,
			handler:     stableServeIgnoringRange(func(int) []byte { return smallData[:small-1] }, true),
			wantChecked: 1,
			wantReason:  fmt.Sprintf("length changed: body ended after %d bytes", small-1),
		},
		{
			name:  "origin file shorter: 416 with length",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Range", "bytes */100")
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			},
			wantRange:  true,
			wantReason: fmt.Sprintf("length changed: origin has 100 bytes, local file %d", large),
		},
		{
			name:  "416 without length",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			},
			wantRange:  true,
			wantReason: "range not satisfiable: bytes=0-65535",
		},
		{
			name:  "other range than asked for",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 1-65536/%d", large))
				w.WriteHeader(http.StatusPartialContent)
				_, _ = w.Write(largeData[1:65537])
			},
			wantRange:  true,
			wantReason: `range mismatch: asked for bytes=0-65535, got content-range "bytes 1-65536/`,
		},
		{
			name:  "range body ends early",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-65535/%d", large))
				w.WriteHeader(http.StatusPartialContent)
				w.(http.Flusher).Flush() // chunked: no Content-Length to break
				_, _ = w.Write(largeData[:1000])
			},
			wantRange:   true,
			wantChecked: 1,
			wantReason:  "range mismatch: body of bytes 0-65535 ended after 1000 bytes",
		},
		{
			name:  "malformed content-range",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Range", "0-65535")
				w.WriteHeader(http.StatusPartialContent)
				_, _ = w.Write(largeData[:65536])
			},
			wantRange:  true,
			wantReason: `range mismatch: asked for bytes=0-65535, got content-range "0-65535"`,
		},
		{
			name:  "range honoured once, then ignored",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if n > 1 {
					r.Header.Del("Range")
				}
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(largeData))
			},
			wantStable:  true,
			wantChecked: 2, // start by Range, then the start of the whole body
		},
		{
			name:  "content-range with unknown total",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				var start, end int
				if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &start, &end); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", start, end))
				w.WriteHeader(http.StatusPartialContent)
				_, _ = w.Write(largeData[start : end+1])
			},
			wantStable:  true,
			wantRange:   true,
			wantChecked: -1,
		},
		{
			name:  "compressed answer",
			local: largeData,
			handler: func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("Content-Encoding", "gzip")
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(largeData))
			},
			wantRange:  true,
			wantReason: `content-encoding "gzip"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin := newStableTestOrigin(t, tt.handler)
			path := mustWriteStableFile(t, tt.local)
			rep, err := CheckStable(t.Context(), nil, stableTestUserAgent, origin.URL+"/ep.mp3", path, int64(len(tt.local)), rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatalf("CheckStable: %v", err)
			}
			t.Logf("report %+v, ranges %q", rep, origin.Ranges())
			if rep.Stable != tt.wantStable {
				t.Errorf("Stable = %v, want %v (reason %q)", rep.Stable, tt.wantStable, rep.Reason)
			}
			if rep.RangeSupported != tt.wantRange {
				t.Errorf("RangeSupported = %v, want %v", rep.RangeSupported, tt.wantRange)
			}
			if tt.wantChecked < 0 {
				if rep.Checked < 3 {
					t.Errorf("Checked = %d, want at least 3", rep.Checked)
				}
				if got := len(origin.Ranges()); rep.Checked != got {
					t.Errorf("Checked = %d, want %d (one per request)", rep.Checked, got)
				}
			} else if rep.Checked != tt.wantChecked {
				t.Errorf("Checked = %d, want %d", rep.Checked, tt.wantChecked)
			}
			if tt.wantStable && rep.Reason != "" {
				t.Errorf("Reason = %q, want empty", rep.Reason)
			}
			if !tt.wantStable && !strings.HasPrefix(rep.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want prefix %q", rep.Reason, tt.wantReason)
			}
			origin.mu.Lock()
			defer origin.mu.Unlock()
			for i := range origin.agents {
				if origin.agents[i] != stableTestUserAgent {
					t.Errorf("request %d: User-Agent = %q, want %q", i, origin.agents[i], stableTestUserAgent)
				}
				if origin.encoding[i] != "identity" {
					t.Errorf("request %d: Accept-Encoding = %q, want identity", i, origin.encoding[i])
				}
				if !strings.HasPrefix(origin.ranges[i], "bytes=") {
					t.Errorf("request %d: Range = %q, want bytes=…", i, origin.ranges[i])
				}
			}
		})
	}
}

func TestCheckStableRanges(t *testing.T) {
	t.Run("small file is one range", func(t *testing.T) {
		data := stableTestData(stableWholeFileMax, 4)
		origin := newStableTestOrigin(t, stableServe(data))
		rep, err := CheckStable(t.Context(), nil, "", origin.URL, mustWriteStableFile(t, data), int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("bytes=0-%d", len(data)-1)}
		if got := origin.Ranges(); !slices.Equal(got, want) || !rep.Stable {
			t.Errorf("ranges %q, stable %v; want %q, true", got, rep.Stable, want)
		}
	})

	t.Run("start, middle, end, then random pieces", func(t *testing.T) {
		const size = 8<<20 + 999
		data := stableTestData(size, 5)
		path := mustWriteStableFile(t, data)
		pieceLength := PieceLengthFor(size)
		pieces := metainfoNumPieces(size, pieceLength)
		// Find a seed whose two draws are distinct pieces away from the
		// fixed ranges, so that each gives its own request.
		var seed uint64
		var draws [2]int64
		for seed = 1; ; seed++ {
			r := rand.New(rand.NewPCG(seed, seed))
			draws = [2]int64{r.Int64N(pieces), r.Int64N(pieces)}
			if draws[0] != draws[1] && draws[0] > 8 && draws[1] > 8 && draws[0] < pieces-8 && draws[1] < pieces-8 &&
				draws[0] != size/2/pieceLength && draws[1] != size/2/pieceLength {
				break
			}
		}
		var want []string
		for _, off := range []int64{0, size/2 - 32<<10, size - 64<<10, draws[0] * pieceLength, draws[1] * pieceLength} {
			want = append(want, fmt.Sprintf("bytes=%d-%d", off, off+64<<10-1))
		}

		// The same seed gives the same requests, and a byte changed in the
		// second random range (only) is found there.
		changed := draws[1]*pieceLength + 7
		for run := range 2 {
			origin := newStableTestOrigin(t, stableServe(stableFlip(data, int(changed))))
			rep, err := CheckStable(t.Context(), nil, "", origin.URL, path, size, rand.New(rand.NewPCG(seed, seed)))
			if err != nil {
				t.Fatal(err)
			}
			if got := origin.Ranges(); !slices.Equal(got, want) {
				t.Errorf("run %d: ranges %q, want %q", run, got, want)
			}
			wantRep := StabilityReport{Checked: 5, RangeSupported: true, Reason: fmt.Sprintf("bytes differ at offset %d", changed)}
			if rep != wantRep {
				t.Errorf("run %d: report %+v, want %+v", run, rep, wantRep)
			}
		}
	})

	t.Run("nil rnd", func(t *testing.T) {
		data := stableTestData(2<<20, 6)
		origin := newStableTestOrigin(t, stableServe(data))
		rep, err := CheckStable(t.Context(), nil, "", origin.URL, mustWriteStableFile(t, data), int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Stable || rep.Checked < 3 || rep.Checked > 5 {
			t.Errorf("report %+v, want stable with 3 to 5 ranges checked", rep)
		}
	})
}

// TestCheckStableBoundedRead: an origin ignoring Range whose body never ends
// must not be read past the prefix that is compared.
func TestCheckStableBoundedRead(t *testing.T) {
	const size = 256 << 20 // bytes, a sparse local file of zeros
	path := filepath.Join(t.TempDir(), "big.mp3")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	origin := newStableTestOrigin(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 1<<20))
		w.(http.Flusher).Flush()
		select { // the rest never comes
		case <-r.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) }) // runs before origin.Close
	client := &http.Client{Timeout: 30 * time.Second}
	rep, err := CheckStable(t.Context(), client, "", origin.URL, path, size, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := StabilityReport{Stable: true, Checked: 1, RangeSupported: false}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
}

func TestCheckStableErrors(t *testing.T) {
	data := stableTestData(300<<10, 7)
	path := mustWriteStableFile(t, data)
	size := int64(len(data))

	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr + "/ep.mp3"
	}()
	status := func(code int) string {
		return newStableTestOrigin(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Error(w, "nope", code)
		}).URL + "/ep.mp3?token=secret"
	}
	cutShort := newStableTestOrigin(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", size-1, size))
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(data[:1000])
	}).URL
	ok := newStableTestOrigin(t, stableServe(data)).URL

	tests := []struct {
		name       string
		url        string
		path       string
		size       int64
		wantStatus int // IngestStatusError.StatusCode, 0: none
	}{
		{"500", status(http.StatusInternalServerError), path, size, 500},
		{"404", status(http.StatusNotFound), path, size, 404},
		{"connection refused", refused, path, size, 0},
		{"body cut short", cutShort, path, size, 0},
		{"local file missing", ok, path + ".missing", size, 0},
		{"local file of other size", ok, path, size + 1, 0},
		{"zero size", ok, path, 0, 0},
		{"not http", "ftp://127.0.0.1/ep.mp3", path, size, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := CheckStable(t.Context(), nil, "", tt.url, tt.path, tt.size, rand.New(rand.NewPCG(1, 1)))
			if err == nil {
				t.Fatalf("got report %+v, want error", rep)
			}
			t.Log(err)
			if rep != (StabilityReport{}) {
				t.Errorf("report %+v, want zero with an error", rep)
			}
			var se *IngestStatusError
			if got := errors.As(err, &se); got != (tt.wantStatus != 0) || (got && se.StatusCode != tt.wantStatus) {
				t.Errorf("error %v: status error %v, want status %d", err, se, tt.wantStatus)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q reveals the query", err)
			}
		})
	}
}

func TestCheckStableContextCanceled(t *testing.T) {
	data := stableTestData(2<<20, 8)
	path := mustWriteStableFile(t, data)
	size := int64(len(data))

	t.Run("before", func(t *testing.T) {
		origin := newStableTestOrigin(t, stableServe(data))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := CheckStable(ctx, nil, "", origin.URL, path, size, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if got := len(origin.Ranges()); got != 0 {
			t.Errorf("%d requests, want 0", got)
		}
	})

	for _, midBody := range []bool{false, true} {
		t.Run(fmt.Sprintf("waiting, mid body %v", midBody), func(t *testing.T) {
			started := make(chan struct{})
			origin := newStableTestOrigin(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if midBody {
					w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-65535/%d", size))
					w.Header().Set("Content-Length", "65536")
					w.WriteHeader(http.StatusPartialContent)
					_, _ = w.Write(data[:1000])
					w.(http.Flusher).Flush()
				}
				close(started)
				<-r.Context().Done()
			})
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-started
				cancel()
			}()
			_, err := CheckStable(ctx, nil, "", origin.URL, path, size, nil)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
		})
	}
}

func TestWithoutWebSeeds(t *testing.T) {
	dataPath := mustWriteStableFile(t, stableTestData(100_000, 9))
	withSeeds, ih, err := BuildMetainfo(dataPath, MetainfoOptions{
		WebSeeds:     []string{"https://cdn.example.com/ep.mp3", "https://mirror.example.com/ep.mp3"},
		AnnounceList: [][]string{{"https://tracker.example.com/announce"}},
		CreatedBy:    "podseed/test",
		CreationDate: time.Unix(1_700_000_000, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Add BEP 17 `httpseeds` too.
	var d map[string]bencode.Bytes
	if err := bencode.Unmarshal(withSeeds, &d); err != nil {
		t.Fatal(err)
	}
	if d["httpseeds"], err = bencode.Marshal([]string{"https://cdn.example.com/seed.php"}); err != nil {
		t.Fatal(err)
	}
	if withSeeds, err = bencode.Marshal(d); err != nil {
		t.Fatal(err)
	}
	withoutSeeds, _, err := BuildMetainfo(dataPath, MetainfoOptions{})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		mi   []byte
	}{
		{"with url-list and httpseeds", withSeeds},
		{"without web seeds", withoutSeeds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.mi)
			out, err := WithoutWebSeeds(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, tc.mi) {
				t.Error("input modified")
			}
			before, err := metainfo.Load(bytes.NewReader(tc.mi))
			if err != nil {
				t.Fatal(err)
			}
			after, err := metainfo.Load(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := after.HashInfoBytes().HexString(), ih; got != want {
				t.Errorf("infohash = %s, want %s", got, want)
			}
			if !bytes.Equal(after.InfoBytes, before.InfoBytes) {
				t.Error("info dictionary changed")
			}
			if len(after.UrlList) != 0 {
				t.Errorf("url-list = %q, want none", after.UrlList)
			}
			if after.Announce != before.Announce || after.CreatedBy != before.CreatedBy || after.CreationDate != before.CreationDate {
				t.Errorf("announce, created by, creation date = %q, %q, %d; want %q, %q, %d",
					after.Announce, after.CreatedBy, after.CreationDate, before.Announce, before.CreatedBy, before.CreationDate)
			}
			var keys map[string]bencode.Bytes
			if err := bencode.Unmarshal(out, &keys); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"url-list", "httpseeds"} {
				if _, ok := keys[k]; ok {
					t.Errorf("key %q kept", k)
				}
			}
			again, err := WithoutWebSeeds(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("second WithoutWebSeeds changed the metainfo (err %v)", err)
			}
		})
	}

	for _, bad := range []string{"", "not bencode", "le", "d3:fooi1ee"} {
		if _, err := WithoutWebSeeds([]byte(bad)); err == nil {
			t.Errorf("WithoutWebSeeds(%q): got no error", bad)
		}
	}
}
