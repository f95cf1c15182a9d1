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

// joinWebTorrentSwarm makes podseed's client announce a torrent (by binary
// infohash) to the WebSocket tracker, once a browser asks for it. Torrents
// nobody asks for in a browser stay out of WebSocket swarms: anacrolix keeps
// a pending WebRTC offer, with its sockets and goroutines, per torrent it
// announces there.
func (a *App) joinWebTorrentSwarm(infoHash [20]byte) {
	ih := fmt.Sprintf("%x", infoHash)
	if err := a.client.AddTrackers(ih, []string{a.wsAnnounce}); err != nil {
		a.log.Debug("join WebTorrent swarm", "infohash", ih, "err", err)
	}
}

// swarms merges the HTTP/UDP and WebSocket trackers' swarm counts.
func (a *App) swarms() seed.Swarms {
	return seed.Swarms{Tracker: a.tracker, WS: a.wsTracker}
}
