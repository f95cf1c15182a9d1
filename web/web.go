// Package web serves podseed over HTTP: the republished feeds, the BEP 36
// torrent feeds, .torrent files, the built-in tracker's announce and scrape
// endpoints, the HTML dashboard (index, feed and episode pages), the JSON
// API under /api/v1/ (see docs/api.md) and, with an admin token, actions
// that add and remove feeds (admin.go). /episodes/{id} is negotiated
// between page, .torrent and enclosure (negotiate.go); podseed's copies are
// a CORS web seed (webseed.go); aggregate feeds, OPML and a directory page
// cover all feeds (aggregate.go, directory.go); the lookup API finds
// torrents by enclosure, GUID or infohash (lookup.go).
//
// It reads through small interfaces it declares (Catalog, Swarm), so it can
// be tested with real stores and fake swarms. Live swarm counts come from
// Swarm; history (charts, bytes uploaded) from the swarm samples a separate
// job records in the store, so page views never block on the torrent client.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/templates"
)

// Catalog is what web needs to read: the store's records plus the
// renderings that cmd composes from publish and seed.
type Catalog interface {
	// ListFeeds returns every feed (without bodies).
	ListFeeds(ctx context.Context) ([]store.Feed, error)
	// ListEpisodesByFeed returns a feed's episodes, newest first.
	ListEpisodesByFeed(ctx context.Context, feedID int64) ([]store.Episode, error)
	// FeedRSS returns the republished feed bytes; store.ErrNotFound if the
	// feed is unknown or has never been fetched.
	FeedRSS(ctx context.Context, feedID int64) ([]byte, error)
	// TorrentFeedRSS returns the BEP 36 torrent feed; store.ErrNotFound if
	// the feed is unknown.
	TorrentFeedRSS(ctx context.Context, feedID int64) ([]byte, error)
	// TorrentFile returns the bencoded .torrent for a hex infohash;
	// store.ErrNotFound if unknown.
	TorrentFile(ctx context.Context, infoHash string) ([]byte, error)
	// Magnet returns the magnet URI for a hex infohash, "" if unknown.
	Magnet(ctx context.Context, infoHash string) string
	// FindFeedByID returns a feed; store.ErrNotFound if unknown.
	FindFeedByID(ctx context.Context, id int64) (store.Feed, error)
	// FindEpisodeByID returns an episode; store.ErrNotFound if unknown.
	FindEpisodeByID(ctx context.Context, id int64) (store.Episode, error)
	// FindTorrentByInfoHash returns the torrent with a hex infohash;
	// store.ErrNotFound if unknown.
	FindTorrentByInfoHash(ctx context.Context, infoHash string) (store.Torrent, error)
	// ListSwarmSamples returns a torrent's swarm samples at or after since
	// (zero: all), oldest first; none for an unknown torrent.
	ListSwarmSamples(ctx context.Context, infoHash string, since time.Time) ([]store.SwarmSample, error)
	// Peers returns the peers connected to podseed's client for a hex
	// infohash, with full addresses (web masks them); none for an unknown
	// torrent. It asks the torrent client, briefly, on every episode page
	// view.
	Peers(ctx context.Context, infoHash string) []Peer
	// URLs gives the public URLs web links to.
	URLs() URLs

	// AddFeed adds a feed by URL, an absolute http or https URL that web
	// has checked and trimmed; created is false if it existed already.
	AddFeed(ctx context.Context, url string) (feed store.Feed, created bool, err error)
	// RemoveFeed removes a feed with its episodes and the torrents no other
	// feed shares; store.ErrNotFound if the feed is unknown.
	RemoveFeed(ctx context.Context, id int64) error

	// OriginUnusable says why podseed should serve a ready episode's
	// bytes itself rather than redirect to its enclosure URL (the origin
	// is down, or its bytes are unstable: t.WebSeedWithheld); "" when a
	// redirect to the origin is fine. It must not do network I/O.
	OriginUnusable(ctx context.Context, e store.Episode, t store.Torrent) string
	// LookupEpisodeTorrents returns the ready episodes, of any feed,
	// matching l, with their torrents, newest first; none is an empty
	// result (webseed.go, lookup.go).
	LookupEpisodeTorrents(ctx context.Context, l Lookup) ([]store.EpisodeTorrent, error)
	// ListRecentEpisodeTorrents returns up to limit ready episodes of all
	// feeds with their torrents, newest first (aggregate.go).
	ListRecentEpisodeTorrents(ctx context.Context, limit int) ([]store.EpisodeTorrent, error)
}

// Lookup selects episodes by exactly one key: EnclosureURL (exact match),
// GUID (exact match; an item without a guid is keyed by its enclosure
// URL) or InfoHash (40 lower-case hex digits).
type Lookup struct {
	EnclosureURL, GUID, InfoHash string
}

// URLs builds podseed's public URLs from its base URL.
type URLs struct {
	// Base is the public base URL without a trailing slash, e.g.
	// "http://localhost:8080".
	Base string
}

// Feed is the URL of a republished feed.
func (u URLs) Feed(id int64) string { return fmt.Sprintf("%s/feeds/%d.rss", u.Base, id) }

// TorrentFeed is the URL of a feed's BEP 36 torrent feed.
func (u URLs) TorrentFeed(id int64) string {
	return fmt.Sprintf("%s/feeds/%d/torrents.rss", u.Base, id)
}

// Torrent is the URL of a .torrent file by hex infohash.
func (u URLs) Torrent(infoHash string) string {
	return fmt.Sprintf("%s/torrents/%s.torrent", u.Base, infoHash)
}

// Announce is the built-in tracker's announce URL (BEP 3).
func (u URLs) Announce() string { return u.Base + "/announce" }

// FeedPage is the URL of a feed's dashboard page.
func (u URLs) FeedPage(id int64) string { return fmt.Sprintf("%s/feeds/%d", u.Base, id) }

// EpisodePage is the URL of an episode's dashboard page.
func (u URLs) EpisodePage(id int64) string { return fmt.Sprintf("%s/episodes/%d", u.Base, id) }

// PodcastFeed is the republished feed's URL with its scheme replaced by
// podcast:, which podcast apps register to subscribe in one click; "" if
// Base has no scheme.
func (u URLs) PodcastFeed(id int64) string {
	_, rest, ok := strings.Cut(u.Feed(id), "://")
	if !ok {
		return ""
	}
	return "podcast://" + rest
}

// APIFeed is the JSON API URL of a feed.
func (u URLs) APIFeed(id int64) string { return fmt.Sprintf("%s/api/v1/feeds/%d", u.Base, id) }

// APIEpisode is the JSON API URL of an episode.
func (u URLs) APIEpisode(id int64) string { return fmt.Sprintf("%s/api/v1/episodes/%d", u.Base, id) }

// APISamples is the JSON API URL of a torrent's swarm samples.
func (u URLs) APISamples(infoHash string) string {
	return fmt.Sprintf("%s/api/v1/torrents/%s/samples", u.Base, infoHash)
}

// WebSeed is the URL of podseed's own copy of a torrent's file (webseed.go):
// /webseed/{infohash}/{name}, name path-escaped.
func (u URLs) WebSeed(infoHash, name string) string {
	return fmt.Sprintf("%s/webseed/%s/%s", u.Base, infoHash, url.PathEscape(name))
}

// SwarmCounts are a tracker's counts for one torrent (BEP 48 scrape).
type SwarmCounts struct {
	Seeders, Leechers, Completed int
}

// Swarm reports swarm counts by hex infohash.
type Swarm interface {
	Scrape(infoHash string) SwarmCounts
}

// Tracker is the built-in tracker's HTTP side.
type Tracker interface {
	ServeAnnounce(w http.ResponseWriter, r *http.Request)
	ServeScrape(w http.ResponseWriter, r *http.Request)
}

// Server holds the handlers' dependencies.
type Server struct {
	catalog Catalog
	swarm   Swarm
	tracker Tracker
	log     *slog.Logger
	pages   *template.Template
	// now is the clock the charts' time windows end at and admin sessions
	// expire by.
	now func() time.Time
	// adminToken guards the admin actions (admin.go); "" disables them.
	adminToken string
	// fullPeerAddrs shows peers' full addresses instead of their
	// networks (WithFullPeerAddresses).
	fullPeerAddrs bool
	// webSeeded counts the bytes served from podseed's copies
	// (WithWebSeedBytes; webseed_count.go).
	webSeeded *WebSeedBytes
}

// Option configures New.
type Option func(*Server)

// WithClock makes the server read the time from now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// New returns the HTTP handler for podseed. It returns an error only if the
// embedded templates do not parse.
func New(catalog Catalog, swarm Swarm, tracker Tracker, log *slog.Logger, opts ...Option) (http.Handler, error) {
	pages, err := template.ParseFS(templates.FS, "*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	s := &Server{catalog: catalog, swarm: swarm, tracker: tracker, log: log, pages: pages, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.webSeeded == nil {
		s.webSeeded = new(WebSeedBytes)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	// {file} is "{id}.rss" (the republished feed) or "{id}" (its page).
	mux.HandleFunc("GET /feeds/{file}", s.handleFeed)
	mux.HandleFunc("GET /feeds/{id}/torrents.rss", s.handleTorrentFeed)
	mux.HandleFunc("GET /episodes/{id}", s.handleEpisode) // negotiate.go
	mux.HandleFunc("GET /webseed/{infohash}/{name}", s.handleWebSeed)
	mux.HandleFunc("OPTIONS /webseed/{infohash}/{name}", s.handleWebSeedPreflight)
	mux.HandleFunc("GET /torrents.rss", s.handleAggregate)
	mux.HandleFunc("GET /torrents.atom", s.handleAggregate)
	mux.HandleFunc("GET /torrents.json", s.handleAggregate)
	mux.HandleFunc("GET /feeds.opml", s.handleOPML)
	mux.HandleFunc("GET /directory", s.handleDirectory)
	mux.HandleFunc("GET /api/v1/lookup", s.handleAPILookup)
	mux.HandleFunc("GET /torrents/{file}", s.handleTorrentFile)
	mux.HandleFunc("GET /api/v1/feeds", s.handleAPIFeeds)
	mux.HandleFunc("GET /api/v1/feeds/{id}", s.handleAPIFeed)
	mux.HandleFunc("GET /api/v1/episodes/{id}", s.handleAPIEpisode)
	mux.HandleFunc("GET /api/v1/torrents/{infohash}/samples", s.handleAPISamples)
	mux.HandleFunc("GET /api/", s.handleAPINotFound)
	mux.HandleFunc("GET /announce", tracker.ServeAnnounce)
	mux.HandleFunc("GET /scrape", tracker.ServeScrape)
	// Admin actions (admin.go); every other route is read-only and public.
	mux.HandleFunc("GET /admin/login", s.handleLoginPage)
	mux.HandleFunc("POST /admin/login", s.handleLogin)
	mux.HandleFunc("POST /admin/logout", s.handleLogout)
	mux.HandleFunc("POST /admin/feeds", s.handleAddFeed)
	mux.HandleFunc("POST /admin/feeds/{id}/delete", s.handleRemoveFeed)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux, nil
}

// errBadRequest marks client errors in URLs.
var errBadRequest = errors.New("bad request")

// statusOf is the one place that maps an error to an HTTP status. It
// returns 0 when the client went away and there is nothing to answer.
func statusOf(r *http.Request, err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrGone):
		return http.StatusGone
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// Any other cancellation is a server error: answering nothing
		// would send an empty 200.
		return 0
	default:
		return http.StatusInternalServerError
	}
}

// errorStatus returns err's status, logging the cause of a 5xx, whose
// body stays generic.
func (s *Server) errorStatus(r *http.Request, err error) int {
	code := statusOf(r, err)
	if code >= 500 {
		s.log.Error("http request", "path", r.URL.Path, "err", err)
	}
	return code
}

// writeError answers err as plain text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if code := s.errorStatus(r, err); code != 0 {
		http.Error(w, errorText(code), code)
	}
}

// errorText is the generic body of an error status.
func errorText(code int) string {
	if code == http.StatusInternalServerError {
		return "internal server error"
	}
	return strings.ToLower(http.StatusText(code))
}

// parseID parses s, with an optional suffix that must be present, as a
// positive feed or episode ID.
func parseID(s, suffix string) (int64, error) {
	if suffix != "" {
		var ok bool
		if s, ok = strings.CutSuffix(s, suffix); !ok {
			return 0, fmt.Errorf("%w: want %q suffix", store.ErrNotFound, suffix)
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: id %q", errBadRequest, s)
	}
	return id, nil
}

// handleFeed serves /feeds/{id}.rss, the republished feed, and /feeds/{id},
// the feed's page; any other suffix is not found.
func (s *Server) handleFeed(w http.ResponseWriter, r *http.Request) {
	if file := r.PathValue("file"); strings.Contains(file, ".") {
		s.serveFeedRSS(w, r, file)
	} else {
		s.serveFeedPage(w, r, file)
	}
}

func (s *Server) serveFeedRSS(w http.ResponseWriter, r *http.Request, file string) {
	id, err := parseID(file, ".rss")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rd, err := s.renderedFeedRSS(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// No charset parameter: the republished feed keeps the publisher's
	// bytes and XML declaration, which then names the encoding (RFC 7303
	// §3.2; an ISO-8859-1 feed served as charset=utf-8 would be misread).
	serveRendered(w, r, "application/rss+xml", rd)
}

func (s *Server) handleTorrentFeed(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rd, err := s.renderedTorrentFeedRSS(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	serveRendered(w, r, "application/rss+xml; charset=utf-8", rd)
}

// serveXML serves body with its content type; http.ServeContent adds HEAD
// and Range support.
func serveXML(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// isHexInfoHash reports whether s is a 40-digit lower-case hex v1 infohash.
func isHexInfoHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Server) handleTorrentFile(w http.ResponseWriter, r *http.Request) {
	ih, ok := strings.CutSuffix(r.PathValue("file"), ".torrent")
	ih = strings.ToLower(ih)
	if !ok || !isHexInfoHash(ih) {
		s.writeError(w, r, fmt.Errorf("%w: torrent %q", store.ErrNotFound, r.PathValue("file")))
		return
	}
	mi, err := s.catalog.TorrentFile(r.Context(), ih)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-bittorrent")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.torrent"`, ih))
	// WebTorrent in any page may fetch it (a magnet's xs, a lookup's torrent_url).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(mi))
}
