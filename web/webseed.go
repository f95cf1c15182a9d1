package web

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// The web seed endpoint, /webseed/{infohash}/{name}: podseed's own copy of
// a torrent's single file over plain HTTP, usable as a BEP 19 web seed
// (url-list) by BitTorrent clients and, through CORS, by WebTorrent in a
// browser. See docs/api.md, "Web seed".

// copyWriteIdle is how long a copy may go without a byte written before
// the connection is cut. It replaces the server's WriteTimeout, which is
// sized for feeds and .torrent files, not for enclosures on slow links.
const copyWriteIdle = 60 * time.Second

// setWebSeedCORS lets any page read the copy and the range headers a
// WebTorrent web seed needs (Fetch standard, CORS protocol).
func setWebSeedCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range, ETag")
}

// handleWebSeedPreflight answers a CORS preflight (OPTIONS) for the web
// seed: GET and HEAD with Range and conditional headers, and the
// Cache-Control and User-Agent headers WebTorrent's range requests send
// (without them the browser refuses every request), cached a day.
func (s *Server) handleWebSeedPreflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	setWebSeedCORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, If-Range, If-None-Match, If-Modified-Since, Cache-Control, User-Agent")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Allow", "GET, HEAD, OPTIONS")
	w.WriteHeader(http.StatusNoContent)
}

// handleWebSeed serves /webseed/{infohash}/{name}: the file of the torrent
// with that infohash, whose info-dictionary name must be {name}, with the
// Content-Type its newest episode's feed declares (else by extension); with
// a `torrent` query parameter (as S3's `?torrent`), its .torrent instead.
// Unknown torrents and wrong names are 404.
func (s *Server) handleWebSeed(w http.ResponseWriter, r *http.Request) {
	setWebSeedCORS(w.Header())
	ih := strings.ToLower(r.PathValue("infohash"))
	if !isHexInfoHash(ih) {
		s.writeError(w, r, fmt.Errorf("%w: torrent %q", store.ErrNotFound, r.PathValue("infohash")))
		return
	}
	t, err := s.catalog.FindTorrentByInfoHash(r.Context(), ih)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if name := r.PathValue("name"); name != t.Name {
		s.writeError(w, r, fmt.Errorf("%w: torrent %s has no file %q", store.ErrNotFound, ih, name))
		return
	}
	if r.URL.Query().Has("torrent") {
		s.serveTorrent(w, r, t.InfoHash, t.Name+".torrent")
		return
	}
	// The feed's declared type, since Go's extension table lacks most
	// media types unless the system has a mime.types file.
	ets, err := s.catalog.LookupEpisodeTorrents(r.Context(), Lookup{InfoHash: t.InfoHash})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	contentType := ""
	if len(ets) > 0 {
		contentType = ets[0].Episode.EnclosureType
	}
	if err := s.serveCopy(w, r, t, contentType); err != nil {
		s.writeError(w, r, err)
	}
}

// serveCopy serves podseed's copy of t's file (t.DataPath) with
// http.ServeContent: HEAD, single and multiple byte ranges (RFC 9110 §14),
// If-Range and If-None-Match against the strong ETag "<infohash>" (the
// bytes of a torrent never change), Last-Modified from the torrent's
// creation. contentType "" means by the name's extension. The body bytes
// count in s.webSeeded (webseed_count.go). It returns an
// error, having written nothing, if the copy is missing or its size is not
// t.Size.
func (s *Server) serveCopy(w http.ResponseWriter, r *http.Request, t store.Torrent, contentType string) error {
	f, err := os.Open(t.DataPath)
	if err != nil {
		return fmt.Errorf("open copy of %s: %w", t.InfoHash, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat copy of %s: %w", t.InfoHash, err)
	}
	if fi.Size() != t.Size {
		return fmt.Errorf("copy of %s has %d bytes, want %d", t.InfoHash, fi.Size(), t.Size)
	}
	h := w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("ETag", `"`+t.InfoHash+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	rc := http.NewResponseController(w)
	cw := &countingWriter{ResponseWriter: w, n: s.webSeeded.counter(t.InfoHash)}
	http.ServeContent(cw, r, t.Name, t.CreatedAt, &idleDeadlineReader{ReadSeeker: f, rc: rc})
	return nil
}

// idleDeadlineReader pushes the response's write deadline copyWriteIdle
// ahead before every read, so a long download is cut only when it stalls.
type idleDeadlineReader struct {
	io.ReadSeeker
	rc *http.ResponseController
}

func (d *idleDeadlineReader) Read(p []byte) (int, error) {
	// ErrNotSupported (a wrapped writer without deadlines) leaves the
	// server's own timeout in force.
	_ = d.rc.SetWriteDeadline(time.Now().Add(copyWriteIdle))
	return d.ReadSeeker.Read(p)
}
