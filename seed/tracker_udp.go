package seed

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"
)

// BEP 15 wire constants.
const (
	// trackerUDPProtocolID is the connection ID of every connect request.
	trackerUDPProtocolID uint64 = 0x41727101980

	trackerUDPActionConnect  uint32 = 0
	trackerUDPActionAnnounce uint32 = 1
	trackerUDPActionScrape   uint32 = 2
	trackerUDPActionError    uint32 = 3

	// trackerUDPHeaderLen is a request's connection ID (8 bytes), action (4)
	// and transaction ID (4).
	trackerUDPHeaderLen = 16
	// trackerUDPAnnounceLen is an announce request without BEP 41 options,
	// which are ignored.
	trackerUDPAnnounceLen = 98
)

// UDP tracker limits.
const (
	// trackerUDPConnIDBucket is how often, as a clock time slot, the
	// connection ID of an address changes. An ID is accepted in its own
	// slot and the trackerUDPConnIDSlots-1 following ones: 2 to 3 minutes
	// after it was sent, where BEP 15 asks for at least 2 (clients use one
	// for 1 minute).
	trackerUDPConnIDBucket = time.Minute
	trackerUDPConnIDSlots  = 3

	// trackerUDPMaxScrape is how many infohashes one scrape may ask for:
	// BEP 15's "about 74", which keeps the request within 1500 bytes.
	trackerUDPMaxScrape = 74
	// trackerUDPMaxPeers4 and trackerUDPMaxPeers6 cap the peers of one
	// announce reply so that it fits a 1500-byte MTU without fragmenting:
	// (1500 - 20 IPv4 - 8 UDP - 20 reply header) / 6 bytes per peer, and
	// (1500 - 40 IPv6 - 8 UDP - 20) / 18.
	trackerUDPMaxPeers4 = 242
	trackerUDPMaxPeers6 = 79

	// trackerUDPReadBuffer is the largest request read, in bytes; longer
	// datagrams are truncated. A full scrape is 16+74*20 = 1496 bytes.
	trackerUDPReadBuffer = 2048
	// trackerUDPWorkers is how many packets ServeUDP handles at once. A
	// handler may wait for Allowed (a database lookup); meanwhile requests
	// queue in the socket's receive buffer.
	trackerUDPWorkers = 8
)

// trackerUDPLongAgo is a read deadline in the past, to wake blocked reads.
var trackerUDPLongAgo = time.Unix(1, 0)

// ServeUDP answers BEP 15 UDP tracker requests on conn until ctx is done or
// conn is closed, and then returns nil; any other read error ends it with
// that error. It shares its swarms with ServeAnnounce and ServeScrape, so a
// torrent's counts are the same over HTTP and UDP. conn stays the caller's:
// ServeUDP does not close it, but sets its read deadline to the past when
// ctx is done, to stop reading.
//
// The actions:
//   - connect (0): the reply's 64-bit connection ID is an HMAC of the
//     client's IP address and the current minute, keyed with a secret drawn
//     by NewTracker. It stays valid for 2 to 3 minutes; announces and
//     scrapes with a wrong or expired one get an error reply, after which
//     clients connect again. The Tracker keeps no per-client state.
//   - announce (1): as ServeAnnounce, with the peer's address taken from the
//     packet's source (the "IP address" field is ignored) and its port from
//     the packet. left=0 makes the peer a seeder; event 1 is completed, 2
//     started, 3 stopped, anything else none. num_want -1 (or any negative
//     number) means the default of 50; every num_want is capped at
//     MaxNumWant and at what fits one 1500-byte datagram (242 IPv4 or 79
//     IPv6 peers). The reply carries the interval in seconds, leechers,
//     seeders, and peers of the request's address family only: 6 bytes
//     (IPv4, port) each for a client over IPv4, 18 bytes (IPv6, port) over
//     IPv6, as BEP 15's IPv6 section says. A torrent not Allowed gets an
//     error reply "unregistered torrent".
//   - scrape (2): 1 to 74 infohashes of 20 bytes; the reply has seeders,
//     completed and leechers (32 bits each) for every one, in order, zero
//     for torrents unknown or not Allowed.
//
// Malformed requests and unknown actions get an error reply (3) with a
// message; datagrams too short to carry a transaction ID, and connect
// requests without BEP 15's protocol ID, get no reply. No request makes
// the tracker do work beyond its fixed limits. An address that has not
// shown a valid connection ID only ever gets connect replies (16 bytes)
// and error replies (8 bytes and a short message), so spoofed requests are
// barely amplified.
func (t *Tracker) ServeUDP(ctx context.Context, conn net.PacketConn) error {
	return t.serveUDP(ctx, conn, trackerUDPWorkers)
}

// serveUDP is ServeUDP with workers packets handled at once; with one,
// replies go out in the order requests came in.
func (t *Tracker) serveUDP(ctx context.Context, conn net.PacketConn, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Wake blocked reads when ctx is done, or when a reader fails.
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		<-ctx.Done()
		_ = conn.SetReadDeadline(trackerUDPLongAgo)
	}()

	errs := make([]error, workers)
	var readers sync.WaitGroup
	for i := range workers {
		readers.Go(func() {
			if err := t.udpReadLoop(ctx, conn); err != nil {
				errs[i] = err
				cancel()
			}
		})
	}
	readers.Wait()
	cancel()
	<-watcherDone
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serve udp tracker on %v: %w", conn.LocalAddr(), err)
	}
	return nil
}

// udpReadLoop reads and answers requests until ctx is done or conn fails.
func (t *Tracker) udpReadLoop(ctx context.Context, conn net.PacketConn) error {
	buf := make([]byte, trackerUDPReadBuffer)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		from, ok := trackerUDPAddrPort(addr)
		if !ok {
			continue
		}
		reply := t.udpReply(buf[:n], from)
		if reply == nil {
			continue
		}
		if _, err := conn.WriteTo(reply, addr); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// One unreachable client is not the tracker's failure.
			t.logger.Debug("udp tracker reply not sent", "remote_addr", from.String(), "err", err)
		}
	}
}

// trackerUDPAddrPort returns a packet's source as an unmapped address
// without zone.
func trackerUDPAddrPort(addr net.Addr) (netip.AddrPort, bool) {
	var ap netip.AddrPort
	if ua, ok := addr.(*net.UDPAddr); ok {
		ap = ua.AddrPort()
	} else if addr != nil {
		ap, _ = netip.ParseAddrPort(addr.String())
	}
	if !ap.IsValid() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()), true
}

// udpReply handles one request datagram pkt from from (unmapped, without
// zone) and returns the reply datagram, or nil for none.
func (t *Tracker) udpReply(pkt []byte, from netip.AddrPort) []byte {
	if len(pkt) < trackerUDPHeaderLen {
		t.logger.Debug("udp tracker packet dropped", "remote_addr", from.String(), "reason", "short packet", "bytes", len(pkt))
		return nil
	}
	connID := binary.BigEndian.Uint64(pkt[0:8])
	action := binary.BigEndian.Uint32(pkt[8:12])
	tid := binary.BigEndian.Uint32(pkt[12:16])
	body := pkt[trackerUDPHeaderLen:]
	now := t.now()

	var reply []byte
	var err error
	switch action {
	case trackerUDPActionConnect:
		if connID != trackerUDPProtocolID {
			t.logger.Debug("udp tracker packet dropped", "remote_addr", from.String(), "reason", "connect without protocol id")
			return nil
		}
		reply = binary.BigEndian.AppendUint32(nil, trackerUDPActionConnect)
		reply = binary.BigEndian.AppendUint32(reply, tid)
		reply = binary.BigEndian.AppendUint64(reply, t.udpConnID(from.Addr(), now, 0))
		return reply
	case trackerUDPActionAnnounce, trackerUDPActionScrape:
		if !t.udpValidConnID(connID, from.Addr(), now) {
			err = trackerFailf("invalid or expired connection id")
		} else if action == trackerUDPActionAnnounce {
			reply, err = t.udpAnnounce(tid, body, from)
		} else {
			reply, err = t.udpScrape(tid, body, now)
		}
	default:
		err = trackerFailf("unknown action %d", action)
	}
	switch {
	case err != nil:
		t.counters.failures.Add(1)
	case action == trackerUDPActionAnnounce:
		t.counters.udpAnnounces.Add(1)
	default:
		t.counters.udpScrapes.Add(1)
	}
	if err != nil {
		reason := "internal error"
		var te *trackerError
		if errors.As(err, &te) {
			reason = te.reason
		}
		t.logger.Debug("tracker request refused", "transport", "udp", "remote_addr", from.String(), "action", action, "reason", reason)
		reply = binary.BigEndian.AppendUint32(nil, trackerUDPActionError)
		reply = binary.BigEndian.AppendUint32(reply, tid)
		reply = append(reply, reason...)
	}
	return reply
}

// udpConnID is the connection ID of ip in the time slot slotsAgo slots
// before the one holding now.
func (t *Tracker) udpConnID(ip netip.Addr, now time.Time, slotsAgo int64) uint64 {
	slot := now.Unix()/int64(trackerUDPConnIDBucket/time.Second) - slotsAgo
	var msg [8 + 16]byte
	binary.BigEndian.PutUint64(msg[:8], uint64(slot))
	a := ip.As16()
	copy(msg[8:], a[:])
	mac := hmac.New(sha256.New, t.udpSecret[:])
	mac.Write(msg[:])
	return binary.BigEndian.Uint64(mac.Sum(nil))
}

// udpValidConnID reports whether id is a connection ID given to ip in the
// last trackerUDPConnIDSlots time slots.
func (t *Tracker) udpValidConnID(id uint64, ip netip.Addr, now time.Time) bool {
	got := binary.BigEndian.AppendUint64(nil, id)
	for ago := range int64(trackerUDPConnIDSlots) {
		want := binary.BigEndian.AppendUint64(nil, t.udpConnID(ip, now, ago))
		if hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// udpAnnounce handles an announce body (the request after its 16-byte
// header) from from and returns the reply.
func (t *Tracker) udpAnnounce(tid uint32, body []byte, from netip.AddrPort) ([]byte, error) {
	if len(body) < trackerUDPAnnounceLen-trackerUDPHeaderLen {
		return nil, trackerFailf("malformed announce: %d bytes, want %d", len(body)+trackerUDPHeaderLen, trackerUDPAnnounceLen)
	}
	var req trackerAnnounceRequest
	copy(req.infoHash[:], body[0:20])
	if t.allowed != nil && !t.allowed(req.infoHash) {
		return nil, trackerFailf("unregistered torrent")
	}
	copy(req.peerID[:], body[20:40])
	// downloaded body[40:48], uploaded body[56:64], IP address body[68:72]
	// and key body[72:76] are not used.
	req.left = int64(binary.BigEndian.Uint64(body[48:56]))
	if req.left < 0 {
		req.left = -1 // unknown: a leecher
	}
	switch binary.BigEndian.Uint32(body[64:68]) {
	case 1:
		req.event = trackerEventCompleted
	case 2:
		req.event = trackerEventStarted
	case 3:
		req.event = trackerEventStopped
	default:
		req.event = trackerEventNone
	}
	numWant := int32(binary.BigEndian.Uint32(body[76:80]))
	port := binary.BigEndian.Uint16(body[80:82])
	if port == 0 {
		return nil, trackerFailf("invalid port")
	}
	req.addr = netip.AddrPortFrom(from.Addr(), port)
	req.numWant = min(defaultTrackerNumWant, t.maxNumWant)
	if numWant >= 0 {
		req.numWant = min(int(numWant), t.maxNumWant)
	}
	ip4 := from.Addr().Is4()
	if ip4 {
		req.numWant = min(req.numWant, trackerUDPMaxPeers4)
	} else {
		req.numWant = min(req.numWant, trackerUDPMaxPeers6)
	}

	counts, peers := t.announceSwarm(req, func(a netip.Addr) bool { return a.Is4() == ip4 })

	reply := make([]byte, 0, 20+len(peers)*18)
	reply = binary.BigEndian.AppendUint32(reply, trackerUDPActionAnnounce)
	reply = binary.BigEndian.AppendUint32(reply, tid)
	reply = binary.BigEndian.AppendUint32(reply, uint32(min(t.interval/time.Second, math.MaxInt32)))
	reply = binary.BigEndian.AppendUint32(reply, trackerUDPCount(counts.Leechers))
	reply = binary.BigEndian.AppendUint32(reply, trackerUDPCount(counts.Seeders))
	for _, p := range peers {
		reply = append(reply, p.addr.Addr().AsSlice()...)
		reply = binary.BigEndian.AppendUint16(reply, p.addr.Port())
	}

	t.logger.Debug("announce",
		"transport", "udp",
		"infohash", hex.EncodeToString(req.infoHash[:]),
		"peer", req.addr.String(),
		"left", req.left,
		"event", req.event.String(),
		"peers_returned", len(peers))
	return reply, nil
}

// udpScrape handles a scrape body (the request after its 16-byte header:
// 20-byte infohashes) and returns the reply.
func (t *Tracker) udpScrape(tid uint32, body []byte, now time.Time) ([]byte, error) {
	if len(body) == 0 || len(body)%20 != 0 {
		return nil, trackerFailf("malformed scrape: %d bytes of infohashes, want a multiple of 20", len(body))
	}
	n := len(body) / 20
	if n > trackerUDPMaxScrape {
		return nil, trackerFailf("scrape of %d torrents, at most %d", n, trackerUDPMaxScrape)
	}
	ihs := make([][20]byte, n)
	allowed := make([]bool, n)
	for i := range ihs {
		ihs[i] = [20]byte(body[i*20 : (i+1)*20])
		// Allowed may be slow (a database lookup): call it outside the lock.
		allowed[i] = t.allowed == nil || t.allowed(ihs[i])
	}
	counts := make([]SwarmCounts, n)
	t.mu.Lock()
	t.maybeSweepAllLocked(now)
	for i, ih := range ihs {
		if allowed[i] {
			counts[i] = t.countsLocked(ih, now)
		}
	}
	t.mu.Unlock()

	reply := make([]byte, 0, 8+12*n)
	reply = binary.BigEndian.AppendUint32(reply, trackerUDPActionScrape)
	reply = binary.BigEndian.AppendUint32(reply, tid)
	for _, c := range counts {
		reply = binary.BigEndian.AppendUint32(reply, trackerUDPCount(c.Seeders))
		reply = binary.BigEndian.AppendUint32(reply, trackerUDPCount(c.Completed))
		reply = binary.BigEndian.AppendUint32(reply, trackerUDPCount(c.Leechers))
	}
	return reply, nil
}

// trackerUDPCount is a count as BEP 15's 32-bit signed integer.
func trackerUDPCount(n int) uint32 {
	return uint32(min(max(n, 0), math.MaxInt32))
}
