package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// Enclosure probe schedule (docs/design.md, "Dead enclosures"). Each
// current torrent's enclosure is probed with a 1-byte Range GET about once
// a day; sooner after a failure to reach it, and every few hours while it
// is dead, so that a return is noticed.
const (
	// probeEvery is how often the probe job looks for due torrents.
	probeEvery = time.Minute
	// probeInterval is the time between two probes of a live enclosure.
	probeInterval = 24 * time.Hour
	// probeDeadInterval is the time between two probes of a dead one.
	probeDeadInterval = 6 * time.Hour
	// probeRetryBase is the wait after a failure to reach the origin; it
	// doubles per consecutive failure up to probeInterval.
	probeRetryBase = time.Hour
	// probeDeadAfter consecutive DNS failures, refused connections or
	// broken redirect chains mark an enclosure dead.
	probeDeadAfter = 3
	// probeBatch bounds the torrents one run probes; the rest wait for the
	// next run.
	probeBatch = 256
	// probeHosts bounds the hosts probed at once; probes of one host run
	// one after the other, at least App.probeSpacing apart.
	probeHosts = 4
	// probeHostSpacing is the default App.probeSpacing.
	probeHostSpacing = 2 * time.Second
	// probeTimeout bounds one probe (redirects and headers; the body is
	// one byte).
	probeTimeout = 30 * time.Second
)

// probeVerdict is what one probe concluded.
type probeVerdict int

const (
	probeAlive       probeVerdict = iota // 2xx: the enclosure is there
	probeGone                            // 404, 410, or an address the SSRF guard refuses: dead now
	probeUnreachable                     // DNS name not found, connection refused, broken redirects: dead when repeated
	probeTransient                       // anything else (5xx, 429, timeouts, 403 …): no conclusion
)

// probeResult is one probe of an enclosure URL.
type probeResult struct {
	verdict probeVerdict
	reason  string // what was seen, for logs and the dead reason
	// For probeAlive: the chain's final URL ("" without redirects), its
	// ETag and the file's size from Content-Range (-1 if unknown).
	resolved, etag string
	size           int64
}

// probeEnclosures probes every current torrent's enclosure that is due at
// now: at most probeBatch, probeHosts hosts at once, one probe at a time
// per host, probeSpacing apart. Results are recorded in the store; a dead
// enclosure's web seed is then withheld from what podseed serves, and a
// changed enclosure gets a replacement torrent.
func (a *App) probeEnclosures(ctx context.Context, now time.Time) {
	ts, err := a.store.ListTorrentsDueForProbe(ctx, now, probeBatch)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("list torrents due for probe", "err", err)
		}
		return
	}
	byHost := map[string][]store.Torrent{}
	var hosts []string
	for _, t := range ts {
		h := hostOf(t.SourceURL)
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], t)
	}
	var g errgroup.Group
	g.SetLimit(probeHosts)
	var changed atomic.Bool
	for _, h := range hosts {
		g.Go(func() error {
			for i, t := range byHost[h] {
				if i > 0 && !sleepCtx(ctx, a.probeSpacing) {
					return nil
				}
				if a.probeTorrent(ctx, t) {
					changed.Store(true)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	if changed.Load() {
		a.wakeIngest()
	}
}

// hostOf is u's host (with port), "" if it does not parse.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

// sleepCtx waits d unless ctx ends first; it reports whether ctx is alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// probeTorrent probes t's enclosure and records the result. It reports
// whether a replacement torrent became due (the enclosure changed).
func (a *App) probeTorrent(ctx context.Context, t store.Torrent) (replacementDue bool) {
	if t.SourceURL == "" {
		return false
	}
	log := a.log.With("infohash", t.InfoHash)
	now := time.Now()
	res := a.probeURL(ctx, t.SourceURL)
	if ctx.Err() != nil {
		return false
	}
	p := store.TorrentProbe{At: now, Failures: t.ProbeFailures, Dead: !t.WebSeedDeadAt.IsZero(), DeadReason: t.WebSeedDeadReason}
	switch res.verdict {
	case probeAlive:
		p.Failures, p.Dead, p.DeadReason = 0, false, ""
		p.ResolvedURL, p.ETag = res.resolved, res.etag
		p.NextProbeAt = now.Add(jitter(probeInterval))
	case probeGone:
		p.Failures, p.Dead, p.DeadReason = t.ProbeFailures+1, true, res.reason
	case probeUnreachable:
		p.Failures = t.ProbeFailures + 1
		if p.Failures >= probeDeadAfter {
			p.Dead, p.DeadReason = true, fmt.Sprintf("%s (%d probes in a row)", res.reason, p.Failures)
		}
	case probeTransient:
	}
	if res.verdict != probeAlive {
		if p.Dead {
			p.NextProbeAt = now.Add(jitter(probeDeadInterval))
		} else {
			p.NextProbeAt = now.Add(jitter(min(probeRetryBase<<min(p.Failures, 10), probeInterval)))
		}
	}
	// An enclosure that changed in place (same URL): its bytes are
	// checked before a new torrent is made. Origins whose web seed is
	// withheld (dynamic ad insertion) change on every request and are
	// left alone.
	var changed string
	if res.verdict == probeAlive && t.WebSeedWithheld == "" {
		var same bool
		changed, same = a.enclosureChange(ctx, t, res)
		if !same {
			p.ETag = "" // the replacement records its own; or ask again next time
		}
	}
	flipped, err := a.store.UpdateTorrentProbe(ctx, t.InfoHash, p)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("record enclosure probe", "err", err)
		}
		return false
	}
	switch {
	case flipped && p.Dead:
		log.Warn("enclosure dead: web seed withheld", "enclosure_url", redactURL(t.SourceURL), "reason", p.DeadReason)
		a.stopOnDemand(t.InfoHash, "enclosure dead")
	case flipped:
		log.Info("enclosure back: web seed published again", "enclosure_url", redactURL(t.SourceURL))
	case res.verdict != probeAlive:
		log.Debug("enclosure probe", "verdict", res.verdict, "reason", res.reason, "failures", p.Failures)
	}
	if changed == "" {
		return false
	}
	n, err := a.store.MarkReplacementDue(ctx, t.InfoHash, changed)
	if err != nil {
		log.Error("mark replacement due", "err", err)
		return false
	}
	log.Info("enclosure changed: replacement due", "reason", changed, "episodes", n)
	return n > 0
}

// enclosureChange says how t's enclosure changed according to an alive
// probe, "" if it did not: a different size, or a different ETag with
// different bytes (a re-fetch of a few ranges, seed.CheckStable, tells an
// origin that merely renamed its ETag, as CDNs do across edge servers).
// same reports that the probe's ETag may be recorded as t's: no change,
// and the bytes are known to be the same.
func (a *App) enclosureChange(ctx context.Context, t store.Torrent, res probeResult) (changed string, same bool) {
	if res.size >= 0 && res.size != t.Size {
		return fmt.Sprintf("enclosure size changed from %d to %d bytes", t.Size, res.size), false
	}
	if t.ETag == "" || res.etag == "" || res.etag == t.ETag {
		return "", true // nothing to compare, or no change
	}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(t.Size)))
	rep, err := seed.CheckStable(ctx, a.ingestHTTP, a.cfg.userAgent(), t.SourceURL, t.DataPath, t.Size, rnd)
	switch {
	case err != nil:
		return "", false // cannot tell now: the next probe asks again
	case rep.Stable:
		return "", true
	}
	return "enclosure etag changed and its bytes differ: " + rep.Reason, false
}

// probeURL asks u for its first byte (Range: bytes=0-0) through its
// redirects: a cheap probe that hosts refusing HEAD (405) answer too, and
// that podcast measurement (IAB v2, which counts a download from a minute
// of audio on) does not count.
func (a *App) probeURL(ctx context.Context, u string) probeResult {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	client, rec := recordingClient(a.ingestHTTP)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return probeResult{verdict: probeGone, reason: "invalid enclosure url"}
	}
	req.Header.Set("Range", "bytes=0-0")
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", a.cfg.userAgent())
	resp, err := client.Do(req)
	if err != nil {
		return classifyProbeError(err)
	}
	// One byte at most; a 200 (Range ignored) is not read further.
	_, _ = io.CopyN(io.Discard, resp.Body, 1)
	resp.Body.Close()
	res := probeResult{size: -1, etag: resp.Header.Get("ETag")}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return probeResult{verdict: probeGone, reason: "origin answered " + resp.Status}
	case resp.StatusCode == http.StatusPartialContent:
		res.size = contentRangeTotal(resp.Header.Get("Content-Range"))
	case resp.StatusCode == http.StatusOK:
		res.size = resp.ContentLength
	default:
		return probeResult{verdict: probeTransient, reason: "origin answered " + resp.Status}
	}
	res.verdict = probeAlive
	if hops := rec.Hops(); len(hops) > 1 {
		_, res.resolved = webSeedFor(u, hops)
	}
	return res
}

// contentRangeTotal is the complete length of "bytes 0-0/1234" (RFC 9110
// §14.4), -1 if it is "*" or the header does not parse.
func contentRangeTotal(h string) int64 {
	_, total, ok := strings.Cut(h, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// classifyProbeError sorts a failed request: refused by the SSRF guard is
// gone, a name that does not resolve, a refused connection or a broken
// redirect chain is unreachable, anything else (timeouts, resets, TLS) is
// transient.
func classifyProbeError(err error) probeResult {
	var dnsErr *net.DNSError
	var ue *url.Error
	msg := err.Error()
	if errors.As(err, &ue) {
		msg = ue.Err.Error() // without the URL, which may hold credentials
	}
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return probeResult{verdict: probeGone, reason: msg}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return probeResult{verdict: probeUnreachable, reason: "host not found: " + dnsErr.Name}
	case errors.Is(err, syscall.ECONNREFUSED):
		return probeResult{verdict: probeUnreachable, reason: "connection refused"}
	case strings.Contains(msg, "redirect"):
		return probeResult{verdict: probeUnreachable, reason: msg}
	}
	return probeResult{verdict: probeTransient, reason: msg}
}
