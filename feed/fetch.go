package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults used when the corresponding [Fetcher] field is left zero.
const (
	// DefaultUserAgent identifies podseed to feed publishers.
	DefaultUserAgent = "podseed/dev (+https://github.com/podseed/podseed)"
	// DefaultMaxBytes is the largest feed body, in bytes, read by default
	// (20 MiB). The largest chart podcast feeds are a few MiB.
	DefaultMaxBytes int64 = 20 << 20
	// DefaultTimeout bounds a whole fetch by the default client: connecting,
	// following redirects and reading the body.
	DefaultTimeout = 30 * time.Second
	// MaxRedirects is the number of redirects the default client follows
	// before it gives up.
	MaxRedirects = 10
)

// acceptHeader prefers the feed media types and still takes whatever the
// server has: many publishers serve RSS as text/html or application/octet-stream.
const acceptHeader = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"

// ErrTooLarge is returned, wrapped, by [Fetcher.Fetch] when a feed body is
// longer than [Fetcher.MaxBytes]. Match it with errors.Is.
var ErrTooLarge = errors.New("feed too large")

// HTTPStatusError reports a response whose status code is neither 2xx nor
// 304 Not Modified. [Fetcher.Fetch] returns it wrapped; match it with
// errors.As.
type HTTPStatusError struct {
	// URL is the URL that answered (after redirects), without userinfo, so
	// it is safe to log.
	URL string
	// StatusCode is the HTTP status code of the response, for example 404
	// or 503.
	StatusCode int
	// RetryAfter is how long the server asked the client to wait before the
	// next request, from the Retry-After header (RFC 9110, section 10.2.3),
	// given either as delay-seconds or as an HTTP-date. It is 0 when the
	// header is absent, invalid or in the past. Servers send it mostly with
	// 429 Too Many Requests and 503 Service Unavailable.
	RetryAfter time.Duration
}

// Error describes the status without the URL, which the wrapping error of
// [Fetcher.Fetch] already names.
func (e *HTTPStatusError) Error() string {
	msg := "http status " + strconv.Itoa(e.StatusCode)
	if text := http.StatusText(e.StatusCode); text != "" {
		msg += " " + text
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Fetcher fetches feeds with conditional GET requests (RFC 9110, section
// 13.1). The zero value is ready to use. A Fetcher is safe for concurrent
// use as long as its fields are not changed while fetches run.
type Fetcher struct {
	// Client sends the requests. nil means a client with a total timeout of
	// [DefaultTimeout] that follows at most [MaxRedirects] redirects.
	Client *http.Client
	// UserAgent is sent as the User-Agent header. "" means [DefaultUserAgent].
	UserAgent string
	// MaxBytes caps the body, in bytes, after net/http has transparently
	// decoded gzip. A longer body makes Fetch fail with [ErrTooLarge].
	// Zero or negative means [DefaultMaxBytes].
	MaxBytes int64

	// now is the clock used to turn a Retry-After HTTP-date into a delay;
	// nil means time.Now. Tests inject a fixed clock.
	now func() time.Time
}

// Request names the feed to fetch and the validators from the previous
// successful fetch of that feed.
type Request struct {
	// URL is the absolute http or https URL of the feed. It may carry
	// userinfo for private feeds; it is sent as HTTP Basic authentication
	// and is never put into error messages.
	URL string
	// ETag is the entity tag from the previous response, sent as
	// If-None-Match when not empty.
	ETag string
	// LastModified is the Last-Modified value from the previous response,
	// sent verbatim as If-Modified-Since when not empty.
	LastModified string
}

// Result is the outcome of a successful fetch: either a new body or the
// news that the feed has not changed.
type Result struct {
	// NotModified is true when the server answered 304 Not Modified; Body
	// is then empty and the caller has nothing to parse.
	NotModified bool
	// Body holds the bytes exactly as served, after net/http has
	// transparently decoded a gzip Content-Encoding. It is at most
	// [Fetcher.MaxBytes] long.
	Body []byte
	// ETag and LastModified are the validators to send next time. They come
	// from this response, or, for a 304 that omits one, from the request.
	// They are "" when the server sent none.
	ETag         string
	LastModified string
	// FinalURL is the URL that answered, after redirects. Pass it to [Parse]
	// as the base for relative URLs. It keeps any userinfo of the request
	// URL, so do not log it.
	FinalURL string
	// StatusCode is the HTTP status code of the final response (200, 304, …).
	StatusCode int
	// ContentType is the Content-Type header of the final response, "" if
	// none. Its charset parameter may name the body's encoding; see
	// [DeclareCharset].
	ContentType string

	// MaxAge is how long the response stays fresh from now on, by the
	// server's caching headers (RFC 9111, section 4.2): the Cache-Control
	// max-age directive, else s-maxage, else Expires minus Date (minus
	// receipt time when Date is missing or invalid); less the Age header a
	// cache in front of the origin may have added. It is 0 when the
	// response carries none of these, when Cache-Control says no-store or
	// no-cache, and when a value is invalid or already expired. Use it as
	// a hint for the next poll: [NextPoll] does.
	MaxAge time.Duration
	// PermanentRedirect is true when the request was redirected one or
	// more times, every redirect was permanent (301 Moved Permanently or
	// 308 Permanent Redirect) and the final URL differs from the request
	// URL. RFC 9110, sections 15.4.2 and 15.4.9, asks clients to replace
	// references to the old URL then; a 302, 303 or 307 anywhere in the
	// chain means the feed has not moved.
	PermanentRedirect bool
	// MovedTo is the URL the feed has permanently moved to, that is
	// FinalURL when PermanentRedirect is true, and "" otherwise. Like
	// FinalURL it may carry userinfo, so do not log it.
	MovedTo string
}

// Fetch sends a GET request for req.URL with If-None-Match and
// If-Modified-Since set from req's validators, and an Accept header that
// prefers RSS and Atom.
//
// A 2xx response yields its body; a 304 Not Modified yields a Result with
// NotModified set and no body, which is not an error. Any other status
// yields an error wrapping *[HTTPStatusError]. A body longer than MaxBytes
// yields an error wrapping [ErrTooLarge]. Transport errors, timeouts and
// ctx cancellation are returned wrapped as well (errors.Is(err,
// context.Canceled) works). Error messages name the URL without userinfo.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (Result, error) {
	safeURL := redactURL(req.URL)
	res, err := f.fetch(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("fetch feed %q: %w", safeURL, err)
	}
	return res, nil
}

// fetch does the work of Fetch; its errors are not yet wrapped with the URL.
func (f *Fetcher) fetch(ctx context.Context, req Request) (Result, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return Result{}, stripURLError(err)
	}
	httpReq.Header.Set("User-Agent", f.userAgent())
	httpReq.Header.Set("Accept", acceptHeader)
	if req.ETag != "" {
		httpReq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		httpReq.Header.Set("If-Modified-Since", req.LastModified)
	}
	// Accept-Encoding is left to net/http, which then asks for gzip and
	// decodes it transparently.

	resp, err := f.client().Do(httpReq)
	if err != nil {
		return Result{}, stripURLError(err)
	}
	defer resp.Body.Close()

	res := Result{
		StatusCode:   resp.StatusCode,
		ContentType:  resp.Header.Get("Content-Type"),
		FinalURL:     resp.Request.URL.String(),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		MaxAge:       freshness(resp.Header, f.clock()),
	}
	if permanentlyRedirected(resp) && res.FinalURL != httpReq.URL.String() {
		res.PermanentRedirect = true
		res.MovedTo = res.FinalURL
	}

	switch {
	case resp.StatusCode == http.StatusNotModified:
		discard(resp.Body)
		res.NotModified = true
		if res.ETag == "" {
			res.ETag = req.ETag
		}
		if res.LastModified == "" {
			res.LastModified = req.LastModified
		}
		return res, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		discard(resp.Body)
		return Result{}, &HTTPStatusError{
			URL:        redactURL(res.FinalURL),
			StatusCode: resp.StatusCode,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), f.clock()),
		}
	}

	limit := f.maxBytes()
	if resp.ContentLength > limit {
		return Result{}, fmt.Errorf("%w: content length %d bytes, limit %d bytes", ErrTooLarge, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return Result{}, fmt.Errorf("read body: %w", stripURLError(err))
	}
	if int64(len(body)) > limit {
		return Result{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	res.Body = body
	return res, nil
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{
		Timeout: DefaultTimeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects { // via holds the first request and one per redirect followed
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			return nil
		},
	}
}

func (f *Fetcher) userAgent() string {
	if f.UserAgent != "" {
		return f.UserAgent
	}
	return DefaultUserAgent
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxBytes
}

func (f *Fetcher) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// permanentlyRedirected reports whether resp was reached through at least
// one redirect and every redirect on the way was permanent (301 or 308). It
// walks back through Request.Response, which net/http sets on each request
// it makes to follow a redirect, so it works with any [http.Client].
func permanentlyRedirected(resp *http.Response) bool {
	hops := 0
	for req := resp.Request; req != nil && req.Response != nil; req = req.Response.Request {
		switch req.Response.StatusCode {
		case http.StatusMovedPermanently, http.StatusPermanentRedirect:
			hops++
		default:
			return false
		}
	}
	return hops > 0
}

// discard reads a little of an unwanted body so that net/http can reuse the
// connection; the caller closes it.
func discard(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
}

// parseRetryAfter turns a Retry-After value (RFC 9110, section 10.2.3) into a
// delay from now: either delay-seconds or an HTTP-date. It returns 0 for an
// absent, invalid or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}

// stripURLError drops the *url.Error layer that net/http puts around its
// errors: it repeats the URL, which Fetch already names, and keeps the
// userinfo user name (and, for parse errors, the password) of the URL.
func stripURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// redactURL returns raw without userinfo, for error messages and logs. A URL
// that does not parse is returned only if it cannot hold userinfo.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(invalid URL)"
		}
		return raw
	}
	u.User = nil
	return u.String()
}
