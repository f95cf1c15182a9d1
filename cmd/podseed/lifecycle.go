package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// An enclosure's life after its torrent is made (docs/design.md, "Enclosure
// lifecycle"): its URL may redirect (both ends are recorded), it may change
// under the same GUID (a new torrent replaces the old, which is retired),
// and its origin may go away (the web seed is withheld while it is dead).

// checkEnclosureRedirect is the redirect policy for enclosure downloads and
// probes: at most maxRedirects hops, http and https only, and no loops (a
// URL visited before in the same chain is refused at once rather than
// followed until the bound).
func checkEnclosureRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects { // via holds the first request and one per redirect followed
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s URL refused", req.URL.Scheme)
	}
	next := req.URL.String()
	for _, r := range via {
		if r.URL.String() == next {
			return fmt.Errorf("redirect loop after %d hops", len(via))
		}
	}
	return nil
}

// fetchHop is one response of a request's redirect chain.
type fetchHop struct {
	URL    string // the URL requested (may hold credentials: do not log)
	Status int    // the HTTP status answered
	ETag   string // the ETag header, "" if none
}

// fetchRecord collects the hops of one request, for recordingClient.
type fetchRecord struct {
	mu   sync.Mutex
	hops []fetchHop
}

// Hops returns the hops recorded so far, first request first.
func (r *fetchRecord) Hops() []fetchHop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fetchHop(nil), r.hops...)
}

type recordingTransport struct {
	base http.RoundTripper
	rec  *fetchRecord
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		t.rec.mu.Lock()
		t.rec.hops = append(t.rec.hops, fetchHop{URL: req.URL.String(), Status: resp.StatusCode, ETag: resp.Header.Get("ETag")})
		t.rec.mu.Unlock()
	}
	return resp, err
}

var _ web.Lifecycle = catalog{}

// recordingClient returns a copy of base that records every response of
// its redirect chains (use it for one request) and follows redirects by
// checkEnclosureRedirect.
func recordingClient(base *http.Client) (*http.Client, *fetchRecord) {
	rec := &fetchRecord{}
	c := *base
	tr := base.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	c.Transport = recordingTransport{base: tr, rec: rec}
	c.CheckRedirect = checkEnclosureRedirect
	return &c, rec
}

// isPermanentRedirect reports whether status says a resource moved for
// good (RFC 9110 §15.4.2, RFC 9110 §15.4.9).
func isPermanentRedirect(status int) bool {
	return status == http.StatusMovedPermanently || status == http.StatusPermanentRedirect
}

// webSeedFor chooses the web seed (url-list, BEP 19) of an enclosure that
// was fetched from source through hops, and the resolved URL to record.
//
// The original URL is kept, since tracking prefixes (Podtrac, Chartable,
// OP3, …) count downloads with it and resolved CDN URLs are often signed
// and expire; only when every redirect of the chain was permanent (301 or
// 308: the publisher moved the file) does the final URL become the web
// seed, which spares clients a redirect per range request. resolved is the
// chain's final URL, "" without redirects.
func webSeedFor(source string, hops []fetchHop) (webSeed, resolved string) {
	if len(hops) < 2 {
		return source, ""
	}
	last := hops[len(hops)-1]
	resolved = last.URL
	for _, h := range hops[:len(hops)-1] {
		if !isPermanentRedirect(h.Status) {
			return source, resolved
		}
	}
	return resolved, resolved
}

// servedMetainfo is the .torrent podseed serves for t: its stored metainfo
// with podseed's current announce list, and without its web seed while the
// enclosure is dead (url-list is outside the info dictionary, so the
// infohash is the same). A retired torrent gives an error wrapping
// store.ErrGone.
func (a *App) servedMetainfo(t store.Torrent) ([]byte, error) {
	if t.Retired() {
		return nil, fmt.Errorf("torrent %s retired (%s): %w", t.InfoHash, t.RetiredReason, store.ErrGone)
	}
	mi := t.Metainfo
	if !t.WebSeedDeadAt.IsZero() {
		var err error
		if mi, err = seed.WithoutWebSeeds(mi); err != nil {
			return nil, err
		}
	}
	return seed.WithAnnounceList(mi, a.announceFor(t.Metainfo, t.PublisherURL != ""))
}

// retireTorrent stops seeding and tracking a torrent the store has
// retired, and removes its data file and directory. Run again (at the next
// start) it finishes what a crash interrupted.
func (a *App) retireTorrent(t store.Torrent) {
	a.seeding.Delete(t.InfoHash) // the tracker stops tracking it
	a.onDemand.Delete(t.InfoHash)
	if err := a.client.DropTorrent(t.InfoHash); err != nil {
		a.log.Error("retire torrent: stop seeding", "infohash", t.InfoHash, "err", err)
	}
	if err := removeTorrentData(a.cfg.filesDir(), t); err != nil {
		a.log.Error("retire torrent: remove data", "infohash", t.InfoHash, "err", err)
		return
	}
	a.log.Info("retired torrent", "infohash", t.InfoHash, "reason", t.RetiredReason)
}

// removeTorrentData removes t's data file and its directory
// filesDir/<infohash>/, if empty, refusing paths outside filesDir.
// Missing files are no error.
func removeTorrentData(filesDir string, t store.Torrent) error {
	dir := filepath.Dir(t.DataPath)
	abs, err := filepath.Abs(filesDir)
	if err != nil {
		return err
	}
	if filepath.Dir(dir) != abs || filepath.Base(dir) != t.InfoHash {
		return fmt.Errorf("data path %q is not in %s/%s/", t.DataPath, abs, t.InfoHash)
	}
	if err := os.Remove(t.DataPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// FeedLock implements web.Lifecycle.
func (c catalog) FeedLock(ctx context.Context, feedID int64) (store.FeedLock, error) {
	return c.a.store.FindFeedLock(ctx, feedID)
}

// WebSeeds implements web.Lifecycle: the url-list of the .torrent served
// for infoHash; none if it is withheld, dead, retired or unknown.
func (c catalog) WebSeeds(ctx context.Context, infoHash string) []string {
	t, err := c.a.store.FindTorrentByInfoHash(ctx, infoHash)
	if err != nil || t.Retired() || !t.WebSeedDeadAt.IsZero() {
		return nil
	}
	m, err := metainfo.Load(bytes.NewReader(t.Metainfo))
	if err != nil {
		return nil
	}
	return m.UrlList
}

// ListTorrentReplacements implements web.Lifecycle.
func (c catalog) ListTorrentReplacements(ctx context.Context, episodeID int64) ([]store.TorrentReplacement, error) {
	return c.a.store.ListTorrentReplacements(ctx, episodeID)
}
