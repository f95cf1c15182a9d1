package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

const (
	// stableRangeMax is the largest byte range CheckStable fetches (bytes).
	stableRangeMax = 64 << 10
	// stableWholeFileMax is the size (bytes) up to which CheckStable compares
	// the whole file in one range instead of sampling.
	stableWholeFileMax = 1 << 20
	// stableRandomRanges is how many piece-aligned random ranges CheckStable
	// adds to the start, middle and end ranges.
	stableRandomRanges = 2
	// stableRequestTimeout bounds one request of the default client, body
	// included: a request reads at most 1 MiB.
	stableRequestTimeout = 2 * time.Minute
	// stableHeaderTimeout and stableDialTimeout configure the default client.
	stableHeaderTimeout = 30 * time.Second
	stableDialTimeout   = 15 * time.Second
)

// StabilityReport says whether an origin served the same bytes again, i.e.
// whether its URL can serve as a web seed (`url-list`, BEP 19). An origin
// with dynamic ad insertion (DAI) serves different bytes, and often a
// different length, per request; every BitTorrent client then fails the
// piece hash checks of the web seed and never completes from it.
type StabilityReport struct {
	// Stable is true when every compared range equalled the local file and
	// the origin announced the local file's length (or none).
	Stable bool
	// Checked is the number of byte ranges whose bytes were compared with the
	// local file, the one that differed included.
	Checked int
	// Reason says why the origin is unstable, "" when Stable: "length
	// changed: …", "bytes differ at offset N" (N in bytes from the start of
	// the file), "range mismatch: …", "range not satisfiable",
	// "content-encoding …", ….
	Reason string
	// RangeSupported is false when the origin answered a Range request with
	// 200 OK and the whole file, i.e. ignored Range; true when it answered
	// 206 Partial Content (or 416) to every request made. An origin ignoring
	// Range is no reason for Stable to be false, but BEP 19 clients other
	// than anacrolix/torrent cannot use it as a web seed.
	RangeSupported bool
}

// CheckStable re-fetches a few byte ranges of url and compares them with the
// local, complete copy of the same enclosure at dataPath, which must be size
// bytes long. It tells a web seed that serves the same bytes again (BEP 19
// works) from one with dynamic ad insertion (BEP 19 fails for every client).
//
// For a file of at most 1 MiB the whole file is fetched as one range. For a
// larger file CheckStable fetches, one GET with a Range header each and in
// this order: the first 64 KiB, 64 KiB centred on size/2, the last 64 KiB,
// and two ranges of up to 64 KiB starting at piece boundaries (piece length
// PieceLengthFor(size)) at piece indexes drawn with rnd.Int64N(number of
// pieces), one after the other. A seeded rnd therefore makes the requests
// deterministic; nil rnd uses the math/rand/v2 global source. Ranges starting
// at the same offset as an earlier one are fetched once.
//
// Each response decides, and the first unstable one ends the check:
//   - 206 Partial Content: the Content-Range total must be size (a "*" total
//     is accepted) and the range the one asked for; the bytes are compared.
//   - 200 OK: the origin ignored Range. RangeSupported becomes false, a
//     Content-Length other than size is a length change, and the first
//     range (which starts at offset 0) is compared with the start of the
//     body; only that prefix is read and the check stops there, since every
//     further request would download the whole file again.
//   - 416 Range Not Satisfiable: unstable (the origin's file is shorter).
//   - Any other status: an error wrapping *IngestStatusError.
//
// A response with a Content-Encoding other than identity is unstable (its
// bytes are not the file's), and so is a body that ends cleanly before the
// range does. Transport errors, bodies cut off by the connection
// (io.ErrUnexpectedEOF) and ctx ending are errors, not verdicts: the caller
// should retry later. Reads are bounded by the range asked for (plus one
// byte), never the whole body; the local file is only read.
//
// client does the GETs; nil → a client with connect, header and per-request
// (two minutes) timeouts. userAgent is sent as User-Agent if not empty.
// Errors never contain the URL's user info or query.
func CheckStable(ctx context.Context, client *http.Client, userAgent, url, dataPath string, size int64, rnd *rand.Rand) (StabilityReport, error) {
	u, err := ingestParseURL(url)
	if err != nil {
		return StabilityReport{}, fmt.Errorf("check stable: %w", err)
	}
	rep, err := checkStable(ctx, client, userAgent, u.String(), dataPath, size, rnd)
	if err != nil {
		return StabilityReport{}, fmt.Errorf("check stable %s: %w", ingestRedactURL(u), err)
	}
	return rep, nil
}

// checkStable does the work of CheckStable for a parsed url.
func checkStable(ctx context.Context, client *http.Client, userAgent, url, dataPath string, size int64, rnd *rand.Rand) (StabilityReport, error) {
	if size <= 0 {
		return StabilityReport{}, fmt.Errorf("size %d is not positive", size)
	}
	f, err := os.Open(dataPath)
	if err != nil {
		return StabilityReport{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return StabilityReport{}, err
	}
	if fi.Size() != size {
		return StabilityReport{}, fmt.Errorf("local file %s has %d bytes, want %d", dataPath, fi.Size(), size)
	}
	if client == nil {
		var tr *http.Transport
		client, tr = stableNewClient()
		defer tr.CloseIdleConnections()
	}

	ranges := stableRanges(size, rnd)
	first := ranges[0] // starts at 0 and is the longest
	// One byte more than the longest range, to see a body of a 200 answer
	// go on past the local file's end.
	buf := make([]byte, first.Len+1)
	local := make([]byte, first.Len)
	rep := StabilityReport{RangeSupported: true}
	for _, r := range ranges {
		got, err := stableFetch(ctx, client, userAgent, url, size, r, first, buf)
		if err != nil {
			return StabilityReport{}, err
		}
		if got.ignored {
			rep.RangeSupported = false
		}
		if got.reason != "" {
			rep.Reason = got.reason
			return rep, nil
		}
		rep.Checked++
		n := min(int64(len(got.data)), got.want)
		if _, err := f.ReadAt(local[:n], got.off); err != nil {
			return StabilityReport{}, fmt.Errorf("read local file: %w", err)
		}
		if i := stableFirstDiff(local[:n], got.data[:n]); i >= 0 {
			rep.Reason = fmt.Sprintf("bytes differ at offset %d", got.off+int64(i))
			return rep, nil
		}
		switch {
		case got.ignored && int64(len(got.data)) < got.want:
			rep.Reason = fmt.Sprintf("length changed: body ended after %d bytes, local file %d", len(got.data), size)
			return rep, nil
		case got.ignored && int64(len(got.data)) > size:
			rep.Reason = fmt.Sprintf("length changed: body longer than local file (%d bytes)", size)
			return rep, nil
		case int64(len(got.data)) < got.want:
			rep.Reason = fmt.Sprintf("range mismatch: body of bytes %d-%d ended after %d bytes", r.Off, r.Off+r.Len-1, len(got.data))
			return rep, nil
		case got.ignored:
			// Every further request would download the file again from
			// its start; the prefix was the best this origin allows.
			rep.Stable = true
			return rep, nil
		}
	}
	rep.Stable = true
	return rep, nil
}

// stableRange is the byte range [Off, Off+Len) of a file.
type stableRange struct {
	Off, Len int64
}

// stableRanges returns the ranges CheckStable fetches, the first starting at
// offset 0 and being the longest.
func stableRanges(size int64, rnd *rand.Rand) []stableRange {
	if size <= stableWholeFileMax {
		return []stableRange{{0, size}}
	}
	const n = stableRangeMax
	ranges := []stableRange{{0, n}, {size/2 - n/2, n}, {size - n, n}}
	pieceLength := PieceLengthFor(size)
	pieces := metainfoNumPieces(size, pieceLength)
	for range stableRandomRanges {
		var i int64
		if rnd != nil {
			i = rnd.Int64N(pieces)
		} else {
			i = rand.Int64N(pieces)
		}
		r := stableRange{Off: i * pieceLength, Len: min(n, size-i*pieceLength)}
		if !slices.ContainsFunc(ranges, func(q stableRange) bool { return q.Off == r.Off }) {
			ranges = append(ranges, r)
		}
	}
	return ranges
}

// stableFetched is what one Range request gave: either a reason the origin
// is unstable (from the headers alone) or data, the body's bytes from file
// offset off on, of which want were asked for.
type stableFetched struct {
	reason  string
	ignored bool // the origin answered 200: Range ignored
	off     int64
	want    int64
	data    []byte // may be shorter than want (body ended), or longer by one byte (200 only)
}

// stableFetch GETs range r of url into buf (len(buf) > first.Len). On a 200
// answer it reads the first range from the start of the body instead, plus
// one byte when that range is the whole file.
func stableFetch(ctx context.Context, client *http.Client, userAgent, url string, size int64, r, first stableRange, buf []byte) (stableFetched, error) {
	rangeHeader := fmt.Sprintf("bytes=%d-%d", r.Off, r.Off+r.Len-1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return stableFetched{}, fmt.Errorf("new request: %w", err)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	req.Header.Set("Range", rangeHeader)
	// Ask for the stored bytes, as Ingest does; Go would otherwise ask for gzip.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		return stableFetched{}, fmt.Errorf("get %s: %w", rangeHeader, stableErr(ctx, err))
	}
	defer resp.Body.Close()

	got := stableFetched{off: r.Off, want: r.Len}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		start, end, total, ok := stableParseContentRange(cr)
		switch {
		case !ok || start < 0:
			got.reason = fmt.Sprintf("range mismatch: asked for %s, got content-range %q", rangeHeader, cr)
		case total >= 0 && total != size:
			got.reason = fmt.Sprintf("length changed: origin has %d bytes, local file %d", total, size)
		case start != r.Off || end != r.Off+r.Len-1:
			got.reason = fmt.Sprintf("range mismatch: asked for %s, got content-range %q", rangeHeader, cr)
		}
	case http.StatusOK:
		got = stableFetched{ignored: true, off: 0, want: first.Len}
		if resp.ContentLength >= 0 && resp.ContentLength != size {
			got.reason = fmt.Sprintf("length changed: origin has %d bytes, local file %d", resp.ContentLength, size)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if _, _, total, ok := stableParseContentRange(resp.Header.Get("Content-Range")); ok && total >= 0 && total != size {
			got.reason = fmt.Sprintf("length changed: origin has %d bytes, local file %d", total, size)
		} else {
			got.reason = "range not satisfiable: " + rangeHeader
		}
		return got, nil
	default:
		return stableFetched{}, &IngestStatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if got.reason != "" {
		return got, nil
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		got.reason = fmt.Sprintf("content-encoding %q", ce)
		return got, nil
	}

	limit := got.want
	if got.ignored && got.want == size {
		limit++ // see whether the body goes on past the local file's end
	}
	n, err := stableReadFull(resp.Body, buf[:limit])
	if err != nil {
		return stableFetched{}, fmt.Errorf("get %s: read body: %w", rangeHeader, stableErr(ctx, err))
	}
	got.data = buf[:n]
	return got, nil
}

// stableReadFull reads into p until it is full or the body ends; unlike
// io.ReadFull, a clean end of the body is not an error, while a body cut
// short (io.ErrUnexpectedEOF from net/http) is.
func stableReadFull(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// stableParseContentRange parses a Content-Range header (RFC 9110 §14.4):
// "bytes start-end/total", "bytes start-end/*" (total -1) or "bytes */total"
// (start and end -1).
func stableParseContentRange(s string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return -1, -1, total, total >= 0
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// stableFirstDiff returns the index of the first byte where a and b (of
// equal length) differ, or -1.
func stableFirstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// stableErr returns why ctx ended, if it did, instead of the transport's
// rendering of it, and strips *url.Error, which repeats the URL (maybe a
// redirect target with credentials).
func stableErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// stableNewClient returns the default client of CheckStable: every request
// reads at most 1 MiB, so unlike Ingest it has an overall timeout.
func stableNewClient() (*http.Client, *http.Transport) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: stableDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = stableHeaderTimeout
	return &http.Client{Transport: tr, Timeout: stableRequestTimeout}, tr
}

// WithoutWebSeeds returns a copy of the bencoded metainfo mi without
// `url-list` (BEP 19) and `httpseeds` (BEP 17), for an origin CheckStable
// found unstable. The info dictionary is copied byte for byte, so the
// infohash is unchanged, and other keys (announce, created by, …) are kept.
func WithoutWebSeeds(mi []byte) ([]byte, error) {
	return metainfoEdit(mi, "remove web seeds", func(d map[string]bencode.Bytes) error {
		delete(d, "url-list")
		delete(d, "httpseeds")
		return nil
	})
}
