package web

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// HTTP negotiation on /episodes/{id} (docs/api.md, "Negotiation"): one URL
// per episode that works for a browser, a BitTorrent client and a podcast
// app alike.

// episodeRepresentation is what an /episodes/{id} request gets.
type episodeRepresentation int

const (
	// reprEnclosure: a redirect to the original enclosure, or podseed's
	// copy of its bytes when the origin is unusable.
	reprEnclosure episodeRepresentation = iota
	// reprPage: the HTML dashboard page.
	reprPage
	// reprTorrent: the .torrent file.
	reprTorrent
)

// negotiateEpisode picks the representation of an episode for r: the
// .torrent for a `torrent` query parameter (as S3's `?torrent`) or an
// Accept header (RFC 9110 §12.5.1) that names application/x-bittorrent at
// least as high as anything else; the page for an Accept header naming
// text/html (or application/xhtml+xml) at least as high as any other type it
// names; the enclosure otherwise. Wildcards (*/*) say nothing: browsers
// send "text/html,…,*/*;q=0.8" and get the page, podcast apps and audio
// elements send "*/*", "audio/*" or nothing and get the enclosure.
// Malformed ranges and q values are ignored.
func negotiateEpisode(r *http.Request) episodeRepresentation {
	if r.URL.Query().Has("torrent") {
		return reprTorrent
	}
	var qHTML, qTorrent, qOther float64
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			switch mt {
			case "application/x-bittorrent":
				qTorrent = max(qTorrent, q)
			case "text/html", "application/xhtml+xml":
				qHTML = max(qHTML, q)
			case "*/*":
			default:
				qOther = max(qOther, q)
			}
		}
	}
	switch {
	case qTorrent > 0 && qTorrent >= qHTML && qTorrent >= qOther:
		return reprTorrent
	case qHTML > 0 && qHTML >= qOther:
		return reprPage
	default:
		return reprEnclosure
	}
}

// handleEpisode serves /episodes/{id} by negotiateEpisode. Every answer
// varies by Accept, so caches keep the page, the torrent and the redirect
// apart.
func (s *Server) handleEpisode(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	switch negotiateEpisode(r) {
	case reprPage:
		s.handleEpisodePage(w, r)
	case reprTorrent:
		s.serveEpisodeTorrent(w, r)
	default:
		s.serveEpisodeEnclosure(w, r)
	}
}

// findEpisode reads the episode of the request's {id}.
func (s *Server) findEpisode(r *http.Request) (store.Episode, error) {
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		return store.Episode{}, err
	}
	return s.catalog.FindEpisodeByID(r.Context(), id)
}

// serveEpisodeTorrent answers the episode's .torrent; 404 until it is
// ready.
func (s *Server) serveEpisodeTorrent(w http.ResponseWriter, r *http.Request) {
	e, err := s.findEpisode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if e.InfoHash == "" {
		s.writeError(w, r, fmt.Errorf("%w: episode %d has no torrent yet", store.ErrNotFound, e.ID))
		return
	}
	t, err := s.catalog.FindTorrentByInfoHash(r.Context(), e.InfoHash)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveTorrent(w, r, t.InfoHash, t.Name+".torrent")
}

// serveTorrent answers the .torrent of a hex infohash as an attachment
// named filename (RFC 6266; non-ASCII names RFC 8187-encoded). Any page may
// fetch it (CORS), as WebTorrent in a browser does.
func (s *Server) serveTorrent(w http.ResponseWriter, r *http.Request, infoHash, filename string) {
	mi, err := s.catalog.TorrentFile(r.Context(), infoHash)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-bittorrent")
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
	if disposition == "" {
		disposition = fmt.Sprintf(`attachment; filename="%s.torrent"`, infoHash)
	}
	h.Set("Content-Disposition", disposition)
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(mi))
}

// serveEpisodeEnclosure redirects (302) to the original enclosure, so the
// publisher's CDN and download statistics see the request, unless the
// episode is ready and Catalog.OriginUnusable says the origin is down or
// unstable: then podseed serves its own copy (Range, CORS; webseed.go). An
// episode without a torrent always redirects: podseed has no copy. A copy
// that cannot be read is logged and redirected too.
func (s *Server) serveEpisodeEnclosure(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, err := s.findEpisode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if e.InfoHash != "" {
		t, err := s.catalog.FindTorrentByInfoHash(ctx, e.InfoHash)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if reason := s.catalog.OriginUnusable(ctx, e, t); reason != "" {
			err := s.serveCopy(w, r, t, e.EnclosureType)
			if err == nil {
				return
			}
			s.log.Error("serve copy instead of origin", "episode_id", e.ID, "infohash", t.InfoHash,
				"origin_unusable", reason, "err", err)
		}
	}
	h.Set("Cache-Control", "no-cache") // the origin's health may change
	http.Redirect(w, r, e.EnclosureURL, http.StatusFound)
}
