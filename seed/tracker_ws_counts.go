package seed

import "encoding/hex"

// Swarms merges the counts of the HTTP/UDP tracker and the WebSocket
// (WebTorrent) tracker, which keep separate swarms: a browser announces
// only over WebSocket, a native client only over HTTP or UDP, and a hybrid
// client (podseed's own, WebTorrent desktop) to both.
type Swarms struct {
	// Tracker is the HTTP/UDP tracker; required.
	Tracker *Tracker
	// WS is the WebSocket tracker; nil counts only Tracker.
	WS *WSTracker
}

// Scrape returns a torrent's counts for a hex infohash (40 digits, either
// case). A peer ID in both swarms is counted once (as a seeder if the
// HTTP/UDP tracker counts it so). Completed is the sum of both trackers'
// completed counts, so a hybrid client that reports its completion to both
// counts twice. Zero for an unknown or malformed infohash.
func (s Swarms) Scrape(infoHash string) SwarmCounts {
	c := s.Tracker.Scrape(infoHash)
	if s.WS == nil {
		return c
	}
	var ih [20]byte
	if len(infoHash) != hex.EncodedLen(len(ih)) {
		return c
	}
	if _, err := hex.Decode(ih[:], []byte(infoHash)); err != nil {
		return c
	}
	c.Completed += s.WS.Scrape(infoHash).Completed
	ws := s.WS.peers(ih)
	if len(ws) == 0 {
		return c
	}
	known := s.Tracker.peerIDs(ih)
	for id, seeder := range ws {
		if known[id] {
			continue
		}
		if seeder {
			c.Seeders++
		} else {
			c.Leechers++
		}
	}
	return c
}

// peerIDs returns the IDs of the peers in a torrent's HTTP/UDP swarm.
func (t *Tracker) peerIDs(ih [20]byte) map[[20]byte]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.swarms[ih]
	if s == nil {
		return nil
	}
	m := make(map[[20]byte]bool, len(s.peers))
	for k := range s.peers {
		m[k.id] = true
	}
	return m
}
