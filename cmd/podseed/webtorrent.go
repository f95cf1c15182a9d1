package main

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/podseed/podseed/seed"
)

// wsAnnounceURL is the WebSocket (WebTorrent) tracker's announce URL: the
// base URL's /announce with http → ws and https → wss. Browsers announce
// there; the same path over plain HTTP is the BEP 3 tracker.
func wsAnnounceURL(base string) (string, error) {
	u, err := url.Parse(base + "/announce")
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("base URL %q: want http:// or https://", base)
	}
	return u.String(), nil
}

// announceHandler serves GET /announce: a WebSocket upgrade goes to the
// WebTorrent tracker, anything else to next (the BEP 3 HTTP tracker).
func (a *App) announceHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seed.IsWebSocketUpgrade(r) {
			a.wsTracker.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// swarms merges the HTTP/UDP and WebSocket trackers' swarm counts.
func (a *App) swarms() seed.Swarms {
	return seed.Swarms{Tracker: a.tracker, WS: a.wsTracker}
}
