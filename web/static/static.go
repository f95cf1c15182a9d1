// Package static holds the browser assets podseed serves under /static/:
// the in-page player (player.html and player.js, which episode pages embed
// in an iframe, so the dashboard pages themselves stay script-free) and the vendored WebTorrent browser
// bundle it imports and its service worker (vendor/, with their VERSION
// and LICENSE). They are
// embedded in the binary; podseed loads nothing from a CDN.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

// FS holds the assets, at their paths under /static/.
//
//go:embed player.html player.js vendor/webtorrent.min.js vendor/sw.min.js vendor/LICENSE vendor/VERSION
var FS embed.FS

// Handler serves FS: GET and HEAD of an asset's path relative to
// /static/ (strip the prefix first), with HTTP ranges and conditional
// requests by http.FileServer. Anything but an asset (a directory, an
// unknown path) is 404.
// Answers carry X-Content-Type-Options: nosniff, Cache-Control: no-cache
// (revalidate each time: the assets change with podseed's version) and an
// ETag of the content's SHA-256, so revalidation is a 304.
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	etags := make(map[string]string)
	_ = fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[path] = `"` + hex.EncodeToString(sum[:16]) + `"`
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		etag, ok := etags[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("ETag", etag)
		if r.URL.Path == "/vendor/sw.min.js" {
			// The player registers WebTorrent's service worker for all of
			// /static/, above the script's own directory; its streams are
			// /static/webtorrent/<infohash>/<file>.
			h.Set("Service-Worker-Allowed", "/static/")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		switch {
		case strings.HasSuffix(r.URL.Path, ".html"):
			h.Set("Content-Type", "text/html; charset=utf-8")
		case strings.HasSuffix(r.URL.Path, ".js"):
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		case strings.HasSuffix(r.URL.Path, "LICENSE"), strings.HasSuffix(r.URL.Path, "VERSION"):
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	})
}
