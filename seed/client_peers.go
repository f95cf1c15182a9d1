package seed

import (
	"net/netip"
	"strings"
)

// PeerInfo is one peer connected to podseed's client, as the client sees it.
type PeerInfo struct {
	// Addr is the peer's remote address, IPv4 addresses unmapped; the zero
	// value if the connection's address is not an IP and port (not seen
	// with TCP or uTP).
	Addr netip.AddrPort
	// ClientName is the "v" of the peer's extended handshake (BEP 10), such
	// as "Transmission 4.0.6"; "" until the peer sent one, or if it never
	// does.
	ClientName string
	// Progress is the share of the torrent's pieces the peer has, 0 to 1,
	// from its bitfield and have messages (or have-all).
	Progress float64
	// DownloadRate is the rate of useful piece data podseed received from
	// the peer, in bytes per second, averaged over the time podseed
	// expected data from it. podseed only seeds, so it is 0 in practice.
	DownloadRate float64
	// UploadRate is the rate of piece data podseed sent the peer, in bytes
	// per second, during its latest write to the connection (anacrolix's
	// LastWriteUploadRate): an instantaneous rate, not an average, and 0
	// after a write without piece data, such as a keep-alive.
	UploadRate float64
	// WebSeed reports a BEP 19 web seed rather than a BitTorrent peer.
	// Always false: Peers lists peer connections, and the Client does not
	// use web seeds (see NewClient).
	WebSeed bool
}

// Peers returns the peers connected for the torrent with the given hex
// infohash, in no particular order, and false if the Client is not seeding
// it (or the infohash is malformed). Like Stats it takes the client's lock
// briefly for each peer.
func (c *Client) Peers(infoHash string) ([]PeerInfo, bool) {
	ih, err := clientParseInfoHash(infoHash)
	if err != nil {
		return nil, false
	}
	t, ok := c.cl.Torrent(ih)
	if !ok || t.Info() == nil {
		return nil, false
	}
	pieces := t.NumPieces()
	conns := t.PeerConns()
	peers := make([]PeerInfo, 0, len(conns))
	for _, pc := range conns {
		s := pc.Stats()
		p := PeerInfo{
			DownloadRate: s.DownloadRate,
			UploadRate:   s.LastWriteUploadRate,
		}
		if pc.RemoteAddr != nil {
			if ap, err := netip.ParseAddrPort(pc.RemoteAddr.String()); err == nil {
				p.Addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			}
		}
		if name, ok := pc.PeerClientName.Load().(string); ok {
			p.ClientName = strings.TrimSpace(name)
		}
		if pieces > 0 {
			p.Progress = min(float64(s.RemotePieceCount)/float64(pieces), 1)
		}
		peers = append(peers, p)
	}
	return peers, true
}
