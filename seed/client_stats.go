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
	return TorrentStats{
		InfoHash:         ih.HexString(),
		Complete:         t.Complete().Bool(),
		BytesCompleted:   t.BytesCompleted(),
		Size:             t.Length(),
		ActivePeers:      s.ActivePeers,
		ConnectedSeeders: s.ConnectedSeeders,
		BytesUploaded:    s.BytesWrittenData.Int64(),
	}, true
}
