package seed

import (
	"log/slog"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

// connCapAdmitBit is a BEP 4 reserved-bit position no extension uses. The
// cap sets it in ClientConfig.MinPeerExtensions and on the handshake bits
// of each admitted connection, and clears it on refused ones, so that
// anacrolix v1.59.1 itself rejects a refused connection (runHandshookConn's
// minimum-extensions check) before adding it to a torrent: it is never
// established, and anacrolix closes its socket. anacrolix has no hook that
// can veto a connection otherwise (it opens its own listeners and dials
// its own sockets).
const connCapAdmitBit pp.ExtensionBit = 51

// connCapPendingTimeout is how long a slot taken at the BitTorrent
// handshake waits for anacrolix to add the connection to a torrent
// (PeerConnAdded) before it is given back. anacrolix v1.59.1 drops some
// handshaken connections without PeerConnClosed: an incoming one for an
// infohash it does not have (runReceivedConn), an outgoing one whose peer
// answers with another infohash (doProtocolHandshakeOnDialResult). Without
// the timeout each would hold a slot until restart, and a few hundred
// stray handshakes would lock every peer out. Adding a connection follows
// its handshake within milliseconds.
const connCapPendingTimeout = 10 * time.Second

// connCap counts established peer connections across all torrents and
// refuses those past max (ClientConfig.MaxEstablishedConns).
type connCap struct {
	max    int
	logger *slog.Logger
	// pendingTimeout is connCapPendingTimeout (shorter in tests); now is
	// the clock.
	pendingTimeout time.Duration
	now            func() time.Time

	mu sync.Mutex
	// slots holds the connections admitted and not yet closed: a slot is
	// taken when the BitTorrent handshake completes (before anacrolix adds
	// the connection to its torrent), pending until PeerConnAdded (zero
	// time: added) and given back when it closes or when it was still
	// pending after pendingTimeout.
	slots   map[*torrent.PeerConn]time.Time
	refused int64
	peak    int
}

// install wires the cap into tc's callbacks. Call it once, before
// torrent.NewClient.
func (k *connCap) install(tc *torrent.ClientConfig) {
	k.slots = make(map[*torrent.PeerConn]time.Time)
	if k.pendingTimeout <= 0 {
		k.pendingTimeout = connCapPendingTimeout
	}
	if k.now == nil {
		k.now = time.Now
	}
	tc.MinPeerExtensions.SetBit(connCapAdmitBit, true)
	prevHandshake := tc.Callbacks.CompletedHandshake
	tc.Callbacks.CompletedHandshake = func(pc *torrent.PeerConn, ih torrent.InfoHash) {
		if prevHandshake != nil {
			prevHandshake(pc, ih)
		}
		pc.PeerExtensionBytes.SetBit(connCapAdmitBit, k.admit(pc))
	}
	tc.Callbacks.PeerConnAdded = append(tc.Callbacks.PeerConnAdded, k.added)
	prevClosed := tc.Callbacks.PeerConnClosed
	tc.Callbacks.PeerConnClosed = func(pc *torrent.PeerConn) {
		k.release(pc)
		if prevClosed != nil {
			prevClosed(pc)
		}
	}
}

// sweepLocked gives back the slots still pending after pendingTimeout.
func (k *connCap) sweepLocked() {
	deadline := k.now().Add(-k.pendingTimeout)
	for pc, at := range k.slots {
		if !at.IsZero() && at.Before(deadline) {
			delete(k.slots, pc)
		}
	}
}

// admit takes a pending slot for pc and reports whether there was one.
func (k *connCap) admit(pc *torrent.PeerConn) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.max > 0 && len(k.slots) >= k.max {
		k.sweepLocked()
	}
	if k.max > 0 && len(k.slots) >= k.max {
		k.refused++
		k.logger.Debug("peer connection refused: established connection cap reached",
			"remote", pc.RemoteAddr, "cap", k.max)
		return false
	}
	k.slots[pc] = k.now()
	k.peak = max(k.peak, len(k.slots))
	return true
}

// added marks pc's slot as held by a connection of a torrent: from now on
// only its close gives it back. A connection whose pending slot timed out
// is counted again (it is established after all; the cap may be exceeded
// by such late ones, never by new handshakes).
func (k *connCap) added(pc *torrent.PeerConn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.slots[pc] = time.Time{}
	k.peak = max(k.peak, len(k.slots))
}

// release gives back pc's slot, if it had one.
func (k *connCap) release(pc *torrent.PeerConn) {
	k.mu.Lock()
	delete(k.slots, pc)
	k.mu.Unlock()
}

// ConnStats is the Client's count of peer connections across all torrents.
type ConnStats struct {
	// Established is the number of peer connections admitted under
	// ClientConfig.MaxEstablishedConns and not yet closed, incoming and
	// outgoing, TCP, uTP and WebRTC. It includes connections whose
	// BitTorrent handshake has just completed and that anacrolix is about
	// to add to a torrent, so it is never below the sum of
	// TorrentStats.ActivePeers.
	Established int
	// Max is ClientConfig.MaxEstablishedConns; 0 means no cap.
	Max int
	// Refused counts the connections refused at the cap since the Client
	// started.
	Refused int64
	// Peak is the highest Established since the Client started.
	Peak int
}

// ConnStats returns the established peer connections across all torrents
// and the cap on them (ClientConfig.MaxEstablishedConns).
func (c *Client) ConnStats() ConnStats {
	k := c.conns
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepLocked()
	return ConnStats{Established: len(k.slots), Max: k.max, Refused: k.refused, Peak: k.peak}
}
