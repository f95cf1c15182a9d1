// Package web serves podseed over HTTP: the republished feeds, the BEP 36
// torrent feeds, .torrent files, the built-in tracker's announce and scrape
// endpoints, and the HTML index of feeds and episodes.
//
// It reads through small interfaces it declares (Catalog, Swarm), so it can
// be tested with real stores and fake swarms.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
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
	// URLs gives the public URLs web links to.
	URLs() URLs
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
}

// New returns the HTTP handler for podseed. It returns an error only if the
// embedded templates do not parse.
func New(catalog Catalog, swarm Swarm, tracker Tracker, log *slog.Logger) (http.Handler, error) {
	pages, err := template.ParseFS(templates.FS, "*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	s := &Server{catalog: catalog, swarm: swarm, tracker: tracker, log: log, pages: pages}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /feeds/{file}", s.handleFeedRSS)
	mux.HandleFunc("GET /feeds/{id}/torrents.rss", s.handleTorrentFeed)
	mux.HandleFunc("GET /torrents/{file}", s.handleTorrentFile)
	mux.HandleFunc("GET /announce", tracker.ServeAnnounce)
	mux.HandleFunc("GET /scrape", tracker.ServeScrape)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux, nil
}

// errBadRequest marks client errors in URLs.
var errBadRequest = errors.New("bad request")

// writeError maps err to an HTTP status; 5xx bodies stay generic and the
// cause is logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "not found", http.StatusNotFound)
	case errors.Is(err, errBadRequest):
		http.Error(w, "bad request", http.StatusBadRequest)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nothing to answer. Any other cancellation
		// is a server error: answering nothing would send an empty 200.
	default:
		s.log.Error("http request", "path", r.URL.Path, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
	}
}

// parseID parses s, with an optional suffix that must be present, as a
// positive feed ID.
func parseID(s, suffix string) (int64, error) {
	if suffix != "" {
		var ok bool
		if s, ok = strings.CutSuffix(s, suffix); !ok {
			return 0, fmt.Errorf("%w: want %q suffix", store.ErrNotFound, suffix)
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: feed id %q", errBadRequest, s)
	}
	return id, nil
}

func (s *Server) handleFeedRSS(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("file"), ".rss")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.catalog.FeedRSS(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	serveXML(w, r, "application/rss+xml; charset=utf-8", body)
}

func (s *Server) handleTorrentFeed(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.catalog.TorrentFeedRSS(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	serveXML(w, r, "application/rss+xml; charset=utf-8", body)
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
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(mi))
}
