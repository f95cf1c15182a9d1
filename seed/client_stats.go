package seed

// TorrentStats is what podseed's own client knows about one torrent. The
// wider swarm (peers connected to each other, not to podseed) is only visible
// to a tracker: see Tracker.Scrape.
type TorrentStats struct {
	// InfoHash is the v1 infohash in lower-case hex.
	InfoHash string
	// Complete reports that every piece is present and verified (or recorded
	// complete), so the torrent can be seeded in full.
	Complete bool
	// BytesCompleted is the number of bytes in complete pieces.
	BytesCompleted int64
	// Size is the torrent's total length in bytes.
	Size int64
	// ActivePeers is the number of established peer connections.
	ActivePeers int
	// ConnectedSeeders is how many of those peers have every piece.
	ConnectedSeeders int
	// BytesUploaded counts piece data sent to peers since the torrent was
	// added to this Client, in bytes, excluding protocol overhead.
	BytesUploaded int64
	// WebSeedBytes counts piece data this Client fetched from BEP 19 web
	// seeds for the torrent, in bytes. podseed seeds from its own verified
	// copy and NewClient strips web seeds, so it stays 0; it is reported
	// so that a regression would show.
	WebSeedBytes int64
	// Availability is the torrent's distributed copies among the connected
	// peers, from their bitfields and have messages, not counting this
	// Client's own copy (see PieceAvailability). Peers that finished
	// rarely stay connected to a seeder (anacrolix drops seed-to-seed
	// connections), so it mostly measures what leechers hold between them.
	Availability float64
}

// Stats returns the statistics of the torrent with the given hex infohash,
// and false if the Client is not seeding it (or the infohash is malformed).
// It takes the client's lock briefly; call it from a sampling job, not from
// page handlers.
func (c *Client) Stats(infoHash string) (TorrentStats, bool) {
	ih, err := clientParseInfoHash(infoHash)
	if err != nil {
		return TorrentStats{}, false
	}
	t, ok := c.cl.Torrent(ih)
	if !ok || t.Info() == nil {
		return TorrentStats{}, false
	}
	s := t.Stats()
	var have []int
	if n := t.NumPieces(); n > 0 {
		have = make([]int, n)
		for _, pc := range t.PeerConns() {
			// PeerPieces is a copy; a peer that sent have-all holds
			// every piece index.
			pc.PeerPieces().Iterate(func(i uint32) bool {
				if int(i) >= n {
					return false
				}
				have[i]++
				return true
			})
		}
	}
	return TorrentStats{
		InfoHash:         ih.HexString(),
		Complete:         t.Complete().Bool(),
		BytesCompleted:   t.BytesCompleted(),
		Size:             t.Length(),
		ActivePeers:      s.ActivePeers,
		ConnectedSeeders: s.ConnectedSeeders,
		BytesUploaded:    s.BytesWrittenData.Int64(),
		WebSeedBytes:     s.WebSeeds.BytesReadData.Int64(),
		Availability:     PieceAvailability(have),
	}, true
}

// PieceAvailability returns the distributed copies of a torrent, given for
// each piece how many peers have it (libtorrent's "distributed copies"):
// the smallest count, plus the share of pieces whose count is higher than
// that. {2, 3, 2, 2} gives 2.25: every piece is on at least two peers, a
// quarter of them on a third one. No pieces (or negative counts, treated
// as 0) give 0 when no peer has a piece. A value below 1 is the share of
// pieces at least one peer has: the connected peers alone could not
// rebuild the file.
func PieceAvailability(have []int) float64 {
	if len(have) == 0 {
		return 0
	}
	low := max(have[0], 0)
	for _, n := range have[1:] {
		low = min(low, max(n, 0))
	}
	above := 0
	for _, n := range have {
		if n > low {
			above++
		}
	}
	return float64(low) + float64(above)/float64(len(have))
}
