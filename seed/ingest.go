package seed

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// ingestDefaultMaxBytes is the size cap when IngestRequest.MaxBytes is 0.
	ingestDefaultMaxBytes = 4 << 30
	// ingestGuessSize is the size (bytes) whose piece length is used for hashing
	// while downloading when neither Content-Length nor DeclaredLength is known:
	// a one-hour podcast episode is 30–60 MB, so this usually avoids a re-hash.
	ingestGuessSize = 64 << 20
	// ingestStallTimeout ends a download that receives less than
	// ingestStallMinBytes in this long, response headers included: big
	// downloads have no overall timeout, but a silent or trickling
	// (slow-loris) server must not hold an ingest slot forever.
	ingestStallTimeout = 2 * time.Minute
	// ingestStallMinBytes is the least progress (bytes) per
	// ingestStallTimeout: 1 MiB per 2 minutes, about 8.7 KiB/s (70 kbit/s),
	// far below any podcast host, far above a trickle of a few bytes at a
	// time that would otherwise keep a download alive for days.
	ingestStallMinBytes = 1 << 20
	// ingestHeaderTimeout and ingestDialTimeout configure the default client.
	ingestHeaderTimeout = 30 * time.Second
	ingestDialTimeout   = 15 * time.Second
	// ingestCopyBuffer is the size of reads from the response body (bytes).
	ingestCopyBuffer = 256 << 10
	// ingestDirPerm and ingestFilePerm are the modes of created directories and
	// of the published file (enclosures are public data).
	ingestDirPerm  = 0o755
	ingestFilePerm = 0o644
)

var (
	// ErrTooLarge is returned (wrapped) by Ingest when the enclosure is larger
	// than IngestRequest.MaxBytes, by Content-Length before any body is read,
	// or while reading when the size is not known up front.
	ErrTooLarge = errors.New("enclosure too large")
	// ErrLengthMismatch is returned (wrapped) by Ingest when the body ends
	// before the number of bytes the response's Content-Length announced.
	ErrLengthMismatch = errors.New("enclosure length does not match content-length")
)

// IngestStatusError is returned (wrapped) by Ingest when the origin answers
// with a status other than 2xx, or with 206 Partial Content. Callers can use
// errors.As to tell a gone episode (404, 410) from a passing failure (5xx).
type IngestStatusError struct {
	StatusCode int
	Status     string // e.g. "404 Not Found"
}

// Error implements error.
func (e *IngestStatusError) Error() string { return "unexpected http status " + e.Status }

// IngestRequest says what Ingest downloads and where it puts the result.
type IngestRequest struct {
	// URL is the enclosure URL; only http and https are accepted. It becomes
	// the torrent's only web seed (`url-list`, BEP 19) as given, redirects or not.
	URL string
	// DeclaredLength is the length in bytes from the feed's <enclosure>, 0 if
	// unknown. It is only a hint for choosing the piece length while
	// downloading without a Content-Length; feeds often get it wrong, so a
	// different real size is not an error.
	DeclaredLength int64
	// Name is the torrent name and the file name; "" → SanitizeName(URL).
	// A given Name is passed through the same rules (without unescaping).
	Name string
	// TmpDir receives the partial download (*.part); FilesDir receives the
	// complete file as FilesDir/<infohash>/<name>. Both are created if missing
	// and must be on the same file system (the file is renamed, not copied).
	TmpDir, FilesDir string
	// AnnounceList holds tracker tiers (BEP 12); the first URL of the first
	// tier also becomes `announce`.
	AnnounceList [][]string
	// CreatedBy becomes `created by`, e.g. "podseed/dev".
	CreatedBy string
	// MaxBytes caps the enclosure size in bytes; 0 (or less) → 4 GiB.
	// A larger enclosure gives an error wrapping ErrTooLarge.
	MaxBytes int64
	// Client does the GET; nil → a client with connect, TLS handshake and
	// response header timeouts but no overall timeout. Ingest itself also ends
	// a download that receives less than 1 MiB in two minutes (a silent or
	// trickling origin).
	Client *http.Client
	// UserAgent is sent as User-Agent if not empty.
	UserAgent string
	// Now gives the `creation date`; nil → time.Now.
	Now func() time.Time
}

// Ingested describes a downloaded, hashed and published enclosure.
type Ingested struct {
	InfoHash    string // v1 infohash, 40 lower-case hex digits
	Metainfo    []byte // bencoded .torrent (BEP 3)
	Name        string // torrent name and file name
	PieceLength int64  // bytes
	Size        int64  // bytes
	DataPath    string // absolute path FilesDir/<infohash>/<name>
	SRI         string // subresource integrity of the file: "sha256-" + base64(SHA-256)
	FinalURL    string // URL the bytes came from, after redirects (may hold credentials: do not log)
}

// Ingest downloads the enclosure at req.URL exactly once (one GET, no Range)
// and turns it into a seedable single-file v1 torrent (BEP 3) whose web seed
// (`url-list`, BEP 19) is req.URL.
//
// The body streams into a temporary file in req.TmpDir while its pieces are
// SHA-1 hashed and the whole file SHA-256 hashed as bytes arrive. The response
// must be 2xx (not 206; else an error wrapping *IngestStatusError) without a
// Content-Encoding, so that the bytes equal what web seed clients get by Range.
//
// When the size is known up front from Content-Length, the piece length is
// PieceLengthFor(Content-Length), a Content-Length above MaxBytes fails at
// once with ErrTooLarge, and a body ending early fails with ErrLengthMismatch.
// Without Content-Length (chunked), pieces are hashed at
// PieceLengthFor(req.DeclaredLength, or 64 MiB if that is 0) and the body is
// cut off after MaxBytes (ErrTooLarge); if the final size needs a different
// piece length, the file is re-hashed once from disk. Zero bytes give
// ErrEmptyFile.
//
// Only a complete file is fsynced and renamed into
// req.FilesDir/<infohash>/<name> (an existing file there has the same bytes
// and is replaced atomically). On any error, ctx cancellation included, the
// temporary file is removed and nothing is published. Errors never contain
// the URL's user info or query.
func Ingest(ctx context.Context, req IngestRequest) (*Ingested, error) {
	u, err := ingestParseURL(req.URL)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	res, err := ingest(ctx, req, u, ingestStall{window: ingestStallTimeout, minBytes: ingestStallMinBytes})
	if err != nil {
		return nil, fmt.Errorf("ingest %s: %w", ingestRedactURL(u), err)
	}
	return res, nil
}

// ingestParseURL accepts absolute http and https URLs with a host.
func ingestParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid enclosure url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("enclosure url scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("enclosure url has no host")
	}
	return u, nil
}

// ingestRedactURL returns u for error messages and logs: without user info,
// and with the query (often an access token) replaced by "?redacted".
func ingestRedactURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery = ""
	v.ForceQuery = false
	v.Fragment, v.RawFragment = "", ""
	s := v.String()
	if u.RawQuery != "" {
		s += "?redacted"
	}
	return s
}

// ingestNewClient returns the default client: no overall timeout (episodes
// can take long), but bounded connect, TLS handshake and header waits.
func ingestNewClient() (*http.Client, *http.Transport) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: ingestDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = ingestHeaderTimeout
	return &http.Client{Transport: tr}, tr
}

// ingestStall is the progress a download must make: at least minBytes
// (the rest of the body, if shorter) in every window.
type ingestStall struct {
	window   time.Duration
	minBytes int64
}

// ingest does the work of Ingest; stall is the least progress it accepts.
func ingest(ctx context.Context, req IngestRequest, u *url.URL, stall ingestStall) (_ *Ingested, err error) {
	if req.TmpDir == "" || req.FilesDir == "" {
		return nil, errors.New("tmp dir and files dir are required")
	}
	name := SanitizeName(req.URL)
	if req.Name != "" {
		name = sanitizeTorrentName(req.Name)
	}
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = ingestDefaultMaxBytes
	}
	now := req.Now
	if now == nil {
		now = time.Now
	}
	client := req.Client
	if client == nil {
		var tr *http.Transport
		client, tr = ingestNewClient()
		defer tr.CloseIdleConnections()
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errStalled := fmt.Errorf("stalled: less than %d bytes received in %s", stall.minBytes, stall.window)
	watchdog := time.AfterFunc(stall.window, func() { cancel(errStalled) })
	defer watchdog.Stop()
	// ctxErr prefers why ctx ended (stall, caller's cancel or deadline) over
	// the transport's rendering of it.
	ctxErr := func(err error) error {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		return err
	}

	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	if req.UserAgent != "" {
		hreq.Header.Set("User-Agent", req.UserAgent)
	}
	// Ask for the bytes as stored: web seed clients send Range, which servers
	// answer uncompressed, and Go's transport would otherwise ask for gzip.
	hreq.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(hreq)
	if err != nil {
		var ue *url.Error // repeats the URL, maybe a redirect target with credentials
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("get: %w", ctxErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 || resp.StatusCode == http.StatusPartialContent {
		return nil, &IngestStatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, fmt.Errorf("unexpected content-encoding %q", ce)
	}
	known := resp.ContentLength >= 0
	hint := int64(ingestGuessSize)
	switch {
	case known && resp.ContentLength == 0:
		return nil, ErrEmptyFile
	case known && resp.ContentLength > maxBytes:
		return nil, fmt.Errorf("%w: content-length %d exceeds %d bytes", ErrTooLarge, resp.ContentLength, maxBytes)
	case known:
		hint = resp.ContentLength
	case req.DeclaredLength > 0:
		hint = req.DeclaredLength
	}
	pieceLength := PieceLengthFor(hint)

	if err := os.MkdirAll(req.TmpDir, ingestDirPerm); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(req.TmpDir, "ingest-*.part")
	if err != nil {
		return nil, err
	}
	tmpPath := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmpPath)
		}
	}()

	pieces := newMetainfoPieceHasher(pieceLength)
	sum := sha256.New()
	limit := maxBytes
	if known {
		limit = resp.ContentLength
	}
	body := &ingestStallReader{r: io.LimitReader(resp.Body, limit+1), watchdog: watchdog, stall: stall}
	n, err := ingestCopy(f, body, pieces, sum)
	watchdog.Stop()
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("read body: %w", ctxErr(err))
	case err != nil && known && errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrLengthMismatch, n, resp.ContentLength)
	case err != nil:
		return nil, fmt.Errorf("read body: %w", err) // includes write errors (disk full)
	case known && n != resp.ContentLength:
		return nil, fmt.Errorf("%w: got %d of %d bytes", ErrLengthMismatch, n, resp.ContentLength)
	case n > maxBytes:
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	case n == 0:
		return nil, ErrEmptyFile
	}

	pieceHashes := pieces.Pieces()
	if want := PieceLengthFor(n); want != pieceLength {
		// Fallback, only without Content-Length: the size guessed for the
		// piece length was wrong, so hash the pieces again from disk, once.
		pieceLength = want
		if pieceHashes, err = ingestRehash(ctx, f, n, pieceLength); err != nil {
			return nil, fmt.Errorf("re-hash pieces: %w", ctxErr(err))
		}
	}
	if err := f.Chmod(ingestFilePerm); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}

	info := metainfoSingleFileInfo(name, n, pieceLength, pieceHashes)
	mi, infoHash, err := metainfoEncode(info, MetainfoOptions{
		WebSeeds:     []string{req.URL},
		AnnounceList: req.AnnounceList,
		CreatedBy:    req.CreatedBy,
		CreationDate: now(),
	})
	if err != nil {
		return nil, err
	}
	dataPath, err := ingestPublish(tmpPath, req.FilesDir, infoHash, name)
	if err != nil {
		return nil, err
	}
	return &Ingested{
		InfoHash:    infoHash,
		Metainfo:    mi,
		Name:        name,
		PieceLength: pieceLength,
		Size:        n,
		DataPath:    dataPath,
		SRI:         "sha256-" + base64.StdEncoding.EncodeToString(sum.Sum(nil)),
		FinalURL:    resp.Request.URL.String(),
	}, nil
}

// ingestRehash hashes the first size bytes of f at pieceLength.
func ingestRehash(ctx context.Context, f *os.File, size, pieceLength int64) ([]byte, error) {
	h := newMetainfoPieceHasher(pieceLength)
	r := &ingestCtxReader{ctx: ctx, r: io.NewSectionReader(f, 0, size)}
	n, err := io.CopyBuffer(h, r, make([]byte, ingestCopyBuffer))
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, fmt.Errorf("read %d of %d bytes", n, size)
	}
	return h.Pieces(), nil
}

// ingestPublish renames the complete, synced file tmpPath to
// filesDir/<infoHash>/<name>, syncs the directories, and returns the absolute
// path. On error nothing is left at the destination.
func ingestPublish(tmpPath, filesDir, infoHash, name string) (string, error) {
	filesDir, err := filepath.Abs(filesDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(filesDir, infoHash)
	if err := os.MkdirAll(dir, ingestDirPerm); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	if err := os.Rename(tmpPath, dst); err != nil {
		os.Remove(dir) // only if empty
		return "", err
	}
	for _, d := range []string{dir, filesDir} {
		if err := ingestSyncDir(d); err != nil {
			os.Remove(dst)
			os.Remove(dir)
			return "", err
		}
	}
	return dst, nil
}

// ingestSyncDir makes a rename or new entry in dir durable.
func ingestSyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ingestStallReader pushes the watchdog back by stall.window each time
// stall.minBytes more bytes have arrived, so a body that trickles in more
// slowly is cut off like a silent one.
type ingestStallReader struct {
	r        io.Reader
	watchdog *time.Timer
	stall    ingestStall
	progress int64 // bytes since the last push
}

func (s *ingestStallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.progress += int64(n)
	if s.progress >= s.stall.minBytes && n > 0 {
		s.watchdog.Reset(s.stall.window)
		s.progress = 0
	}
	return n, err
}

// ingestCtxReader stops reading once ctx is done.
type ingestCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ingestCtxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
