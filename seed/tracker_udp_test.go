package seed

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	httpTracker "github.com/anacrolix/torrent/tracker/http"
	"github.com/anacrolix/torrent/tracker/shared"
	"github.com/anacrolix/torrent/tracker/udp"
	"github.com/anacrolix/torrent/types/infohash"
)

// trkUDPTimeout bounds every wait for a UDP reply.
const trkUDPTimeout = 10 * time.Second

// trkUDPServe serves tr on a new UDP socket at addr ("127.0.0.1:0",
// "[::1]:0") with workers handlers, and stops it when the test ends,
// checking that ServeUDP returned nil. It skips the test if the address
// cannot be bound (no IPv6).
func trkUDPServe(t *testing.T, tr *Tracker, network, addr string, workers int) netip.AddrPort {
	t.Helper()
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		if network == "udp6" {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.serveUDP(ctx, conn, workers) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeUDP: got %v, want nil", err)
			}
		case <-time.After(trkUDPTimeout):
			t.Errorf("ServeUDP did not return within %v of cancel", trkUDPTimeout)
		}
		conn.Close()
	})
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// trkUDPClient is a raw BEP 15 client socket.
type trkUDPClient struct {
	t    *testing.T
	conn *net.UDPConn
	tid  uint32
}

func trkMustDialUDP(t *testing.T, server netip.AddrPort) *trkUDPClient {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(server))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &trkUDPClient{t: t, conn: conn, tid: rand.Uint32()}
}

// port is the client's UDP port.
func (c *trkUDPClient) port() uint16 {
	return c.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}

func (c *trkUDPClient) nextTID() uint32 {
	c.tid++
	return c.tid
}

func (c *trkUDPClient) send(pkt []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(pkt); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// recv returns the next datagram, failing the test after trkUDPTimeout.
func (c *trkUDPClient) recv() []byte {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(trkUDPTimeout)); err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := c.conn.Read(buf)
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return buf[:n]
}

// roundTrip sends pkt and returns the reply carrying pkt's transaction ID,
// checking its action and transaction ID.
func (c *trkUDPClient) roundTrip(pkt []byte) (action uint32, body []byte) {
	c.t.Helper()
	c.send(pkt)
	reply := c.recv()
	if len(reply) < 8 {
		c.t.Fatalf("reply of %d bytes, want at least 8", len(reply))
	}
	if got, want := binary.BigEndian.Uint32(reply[4:8]), binary.BigEndian.Uint32(pkt[12:16]); got != want {
		c.t.Fatalf("transaction id: got %d, want %d", got, want)
	}
	return binary.BigEndian.Uint32(reply[0:4]), reply[8:]
}

// connect returns a connection ID.
func (c *trkUDPClient) connect() uint64 {
	c.t.Helper()
	action, body := c.roundTrip(trkUDPConnectPkt(c.nextTID()))
	if action != trackerUDPActionConnect || len(body) != 8 {
		c.t.Fatalf("connect reply: got action %d with %d bytes (%q), want 0 with 8", action, len(body), body)
	}
	return binary.BigEndian.Uint64(body)
}

// trkUDPAnnounceReply is a decoded announce reply.
type trkUDPAnnounceReply struct {
	interval, leechers, seeders int32
	peers                       []netip.AddrPort // sorted
}

// announce connects and announces a, failing on an error reply.
func (c *trkUDPClient) announce(a trkUDPAnnounce) trkUDPAnnounceReply {
	c.t.Helper()
	if a.port == 0 {
		a.port = c.port()
	}
	action, body := c.roundTrip(a.packet(c.connect(), c.nextTID()))
	if action != trackerUDPActionAnnounce {
		c.t.Fatalf("announce reply: got action %d (%q), want 1", action, body)
	}
	return trkUDPParseAnnounce(c.t, body, c.conn.RemoteAddr().(*net.UDPAddr).AddrPort().Addr().Is6())
}

// scrape connects and scrapes ihs, failing on an error reply.
func (c *trkUDPClient) scrape(ihs ...[20]byte) []SwarmCounts {
	c.t.Helper()
	action, body := c.roundTrip(trkUDPScrapePkt(c.connect(), c.nextTID(), ihs...))
	if action != trackerUDPActionScrape {
		c.t.Fatalf("scrape reply: got action %d (%q), want 2", action, body)
	}
	if len(body) != 12*len(ihs) {
		c.t.Fatalf("scrape reply: got %d bytes, want %d", len(body), 12*len(ihs))
	}
	var out []SwarmCounts
	for b := body; len(b) > 0; b = b[12:] {
		out = append(out, SwarmCounts{
			Seeders:   int(binary.BigEndian.Uint32(b[0:4])),
			Completed: int(binary.BigEndian.Uint32(b[4:8])),
			Leechers:  int(binary.BigEndian.Uint32(b[8:12])),
		})
	}
	return out
}

func trkUDPParseAnnounce(t *testing.T, body []byte, ip6 bool) trkUDPAnnounceReply {
	t.Helper()
	entry := 6
	if ip6 {
		entry = 18
	}
	if len(body) < 12 || (len(body)-12)%entry != 0 {
		t.Fatalf("announce reply body of %d bytes: want 12 + n*%d", len(body), entry)
	}
	r := trkUDPAnnounceReply{
		interval: int32(binary.BigEndian.Uint32(body[0:4])),
		leechers: int32(binary.BigEndian.Uint32(body[4:8])),
		seeders:  int32(binary.BigEndian.Uint32(body[8:12])),
	}
	for b := body[12:]; len(b) > 0; b = b[entry:] {
		ip, _ := netip.AddrFromSlice(b[:entry-2])
		r.peers = append(r.peers, netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[entry-2:entry])))
	}
	slices.SortFunc(r.peers, netip.AddrPort.Compare)
	return r
}

func trkUDPHeader(connID uint64, action, tid uint32) []byte {
	b := binary.BigEndian.AppendUint64(nil, connID)
	b = binary.BigEndian.AppendUint32(b, action)
	return binary.BigEndian.AppendUint32(b, tid)
}

func trkUDPConnectPkt(tid uint32) []byte {
	return trkUDPHeader(trackerUDPProtocolID, trackerUDPActionConnect, tid)
}

// trkUDPAnnounce is one UDP announce's fields.
type trkUDPAnnounce struct {
	ih      [20]byte
	peerID  [20]byte
	left    int64
	event   uint32 // 0 none, 1 completed, 2 started, 3 stopped
	ip      [4]byte
	numWant int32
	port    uint16 // 0: the client socket's port
}

func (a trkUDPAnnounce) packet(connID uint64, tid uint32) []byte {
	b := trkUDPHeader(connID, trackerUDPActionAnnounce, tid)
	b = append(b, a.ih[:]...)
	b = append(b, a.peerID[:]...)
	b = binary.BigEndian.AppendUint64(b, 1234) // downloaded
	b = binary.BigEndian.AppendUint64(b, uint64(a.left))
	b = binary.BigEndian.AppendUint64(b, 5678) // uploaded
	b = binary.BigEndian.AppendUint32(b, a.event)
	b = append(b, a.ip[:]...)
	b = binary.BigEndian.AppendUint32(b, 0xfeedbeef) // key
	b = binary.BigEndian.AppendUint32(b, uint32(a.numWant))
	return binary.BigEndian.AppendUint16(b, a.port)
}

func trkUDPScrapePkt(connID uint64, tid uint32, ihs ...[20]byte) []byte {
	b := trkUDPHeader(connID, trackerUDPActionScrape, tid)
	for _, ih := range ihs {
		b = append(b, ih[:]...)
	}
	return b
}

// TestTrackerUDPConnectAnnounceScrape walks two raw clients on 127.0.0.1
// through connect, announces with every event, and scrape.
func TestTrackerUDPConnectAnnounceScrape(t *testing.T) {
	tr := NewTracker(TrackerConfig{Interval: time.Minute, Logger: btTestLogger(t)})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	c1, c2 := trkMustDialUDP(t, server), trkMustDialUDP(t, server)
	lo := netip.MustParseAddr("127.0.0.1")
	c1Peer := netip.AddrPortFrom(lo, 1111)
	c2Peer := netip.AddrPortFrom(lo, c2.port())

	steps := []struct {
		name      string
		c         *trkUDPClient
		a         trkUDPAnnounce
		wantPeers []netip.AddrPort
		wantSwarm SwarmCounts // scraped after the announce
	}{
		{"seeder starts", c1, trkUDPAnnounce{peerID: trkPeerID(1), left: 0, event: 2, port: 1111, numWant: -1}, nil, SwarmCounts{Seeders: 1}},
		// The IP address field is ignored: the peer is the packet's source.
		{"leecher starts claiming another ip", c2, trkUDPAnnounce{peerID: trkPeerID(2), left: 100, event: 2, ip: [4]byte{192, 0, 2, 9}, numWant: -1}, []netip.AddrPort{c1Peer}, SwarmCounts{Seeders: 1, Leechers: 1}},
		{"seeder gets the leecher", c1, trkUDPAnnounce{peerID: trkPeerID(1), left: 0, port: 1111, numWant: 50}, []netip.AddrPort{c2Peer}, SwarmCounts{Seeders: 1, Leechers: 1}},
		{"leecher with numwant 0", c2, trkUDPAnnounce{peerID: trkPeerID(2), left: 50, numWant: 0}, nil, SwarmCounts{Seeders: 1, Leechers: 1}},
		{"leecher completes", c2, trkUDPAnnounce{peerID: trkPeerID(2), left: 0, event: 1, numWant: -1}, nil, SwarmCounts{Seeders: 2, Completed: 1}},
		{"completed resent", c2, trkUDPAnnounce{peerID: trkPeerID(2), left: 0, event: 1, numWant: -1}, nil, SwarmCounts{Seeders: 2, Completed: 1}},
		{"unknown event is none", c2, trkUDPAnnounce{peerID: trkPeerID(2), left: 0, event: 9, numWant: -1}, nil, SwarmCounts{Seeders: 2, Completed: 1}},
		{"seeder stops", c1, trkUDPAnnounce{peerID: trkPeerID(1), left: 0, event: 3, port: 1111, numWant: -1}, nil, SwarmCounts{Seeders: 1, Completed: 1}},
		{"negative left is a leecher", c1, trkUDPAnnounce{peerID: trkPeerID(1), left: -1, event: 2, port: 1111, numWant: -1}, []netip.AddrPort{c2Peer}, SwarmCounts{Seeders: 1, Leechers: 1, Completed: 1}},
	}
	for _, s := range steps {
		s.a.ih = trkIH1
		r := s.c.announce(s.a)
		if r.interval != 60 {
			t.Errorf("%s: interval got %d, want 60", s.name, r.interval)
		}
		if !slices.Equal(r.peers, s.wantPeers) {
			t.Errorf("%s: peers got %v, want %v", s.name, r.peers, s.wantPeers)
		}
		if got, want := (SwarmCounts{Seeders: int(r.seeders), Leechers: int(r.leechers), Completed: s.wantSwarm.Completed}), s.wantSwarm; got != want {
			t.Errorf("%s: announce reply counts got %+v, want %+v", s.name, got, want)
		}
		got := c1.scrape(trkIH1, trkIH2)
		if want := []SwarmCounts{s.wantSwarm, {}}; !slices.Equal(got, want) {
			t.Errorf("%s: scrape got %+v, want %+v", s.name, got, want)
		}
		if got := tr.Scrape(fmt.Sprintf("%x", trkIH1)); got != s.wantSwarm {
			t.Errorf("%s: Tracker.Scrape got %+v, want %+v", s.name, got, s.wantSwarm)
		}
	}
}

// TestTrackerUDPMalformed sends bad datagrams to a one-worker server, so
// replies come in request order: a request that must get no reply is
// followed by a connect, whose reply must come first.
func TestTrackerUDPMalformed(t *testing.T) {
	tr := NewTracker(TrackerConfig{Logger: btTestLogger(t)})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", 1)
	c := trkMustDialUDP(t, server)
	good := trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(1), left: 0, numWant: -1, port: 6881}
	many := make([][20]byte, trackerUDPMaxScrape+1)
	for i := range many {
		many[i] = [20]byte{byte(i), 1}
	}

	tests := []struct {
		name string
		// pkt makes the datagram from a valid connection ID.
		pkt func(connID uint64) []byte
		// wantErr is a substring of the error reply's message; "" means no
		// reply at all.
		wantErr string
	}{
		{"empty datagram", func(uint64) []byte { return nil }, ""},
		{"one byte", func(uint64) []byte { return []byte{0} }, ""},
		{"15 bytes", func(uint64) []byte { return trkUDPConnectPkt(7)[:15] }, ""},
		{"connect without protocol id", func(uint64) []byte { return trkUDPHeader(42, trackerUDPActionConnect, 7) }, ""},
		{"unknown action", func(id uint64) []byte { return trkUDPHeader(id, 7, 7) }, "unknown action"},
		{"error action from a client", func(id uint64) []byte { return trkUDPHeader(id, trackerUDPActionError, 7) }, "unknown action"},
		{"negative action", func(id uint64) []byte { return trkUDPHeader(id, 0xffffffff, 7) }, "unknown action"},
		{"announce with zero connection id", func(uint64) []byte { return good.packet(0, 7) }, "connection id"},
		{"announce with the protocol id", func(uint64) []byte { return good.packet(trackerUDPProtocolID, 7) }, "connection id"},
		{"announce with a flipped connection id", func(id uint64) []byte { return good.packet(id^1, 7) }, "connection id"},
		{"scrape with a wrong connection id", func(id uint64) []byte { return trkUDPScrapePkt(id+1, 7, trkIH1) }, "connection id"},
		{"announce header only", func(id uint64) []byte { return trkUDPHeader(id, trackerUDPActionAnnounce, 7) }, "malformed announce"},
		{"announce one byte short", func(id uint64) []byte { return good.packet(id, 7)[:trackerUDPAnnounceLen-1] }, "malformed announce"},
		{"announce port 0", func(id uint64) []byte { a := good; a.port = 0; return a.packet(id, 7) }, "invalid port"},
		{"scrape without infohashes", func(id uint64) []byte { return trkUDPScrapePkt(id, 7) }, "malformed scrape"},
		{"scrape with a partial infohash", func(id uint64) []byte { return append(trkUDPScrapePkt(id, 7, trkIH1), 1, 2, 3) }, "malformed scrape"},
		{"scrape of 75 torrents", func(id uint64) []byte { return trkUDPScrapePkt(id, 7, many...) }, "at most 74"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.send(tt.pkt(c.connect()))
			if tt.wantErr == "" {
				// Nothing may come back before the reply to this connect.
				c.connect()
				return
			}
			reply := c.recv()
			if len(reply) < 8 {
				t.Fatalf("reply of %d bytes, want an error reply", len(reply))
			}
			if got := binary.BigEndian.Uint32(reply[0:4]); got != trackerUDPActionError {
				t.Fatalf("action: got %d, want 3 (error)", got)
			}
			if got := binary.BigEndian.Uint32(reply[4:8]); got != 7 {
				t.Errorf("transaction id: got %d, want 7", got)
			}
			if msg := string(reply[8:]); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("message: got %q, want one containing %q", msg, tt.wantErr)
			}
		})
	}
	c.t = t
	if got := tr.Scrape(fmt.Sprintf("%x", trkIH1)); got != (SwarmCounts{}) {
		t.Errorf("swarm after refused announces: got %+v, want zero", got)
	}

	// Requests that are longer than needed are fine: BEP 41 options after
	// an announce are ignored, and 74 infohashes is a full scrape.
	withOptions := append(good.packet(c.connect(), c.nextTID()), 2, 9, '/', 'a', 'n', 'n', 'o', 'u', 'n', 'c', 'e', 0)
	if action, body := c.roundTrip(withOptions); action != trackerUDPActionAnnounce {
		t.Errorf("announce with BEP 41 options: got action %d (%q), want 1", action, body)
	}
	if got := c.scrape(many[:trackerUDPMaxScrape]...); len(got) != trackerUDPMaxScrape {
		t.Errorf("scrape of 74: got %d results", len(got))
	}
}

// trkClock is a settable clock safe for concurrent use.
type trkClock struct{ ns atomic.Int64 }

func (c *trkClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *trkClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *trkClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// TestTrackerUDPConnectionIDLifetime checks BEP 15's "accept the
// connection ID until two minutes after it has been sent" at both ends of
// a one-minute slot, and that IDs expire after that.
func TestTrackerUDPConnectionIDLifetime(t *testing.T) {
	var clock trkClock
	tr := NewTracker(TrackerConfig{Interval: time.Hour, Now: clock.now, Logger: btTestLogger(t)})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", 1)
	c := trkMustDialUDP(t, server)
	minute := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name      string
		connectAt time.Duration // after a minute boundary
		useAfter  time.Duration // after connecting
		wantOK    bool
	}{
		{"at once", 0, 0, true},
		{"slot start, 1 minute", 0, time.Minute, true},
		{"slot start, 2 minutes", 0, 2 * time.Minute, true},
		{"slot start, just under 3 minutes", 0, 3*time.Minute - time.Nanosecond, true},
		{"slot start, 3 minutes", 0, 3 * time.Minute, false},
		{"slot end, 2 minutes", time.Minute - time.Nanosecond, 2 * time.Minute, true},
		{"slot end, 2 minutes and 1 ns", time.Minute - time.Nanosecond, 2*time.Minute + time.Nanosecond, false},
		{"an hour later", 30 * time.Second, time.Hour, false},
		{"clock went back a minute", 30 * time.Second, -time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			clock.set(minute.Add(tt.connectAt))
			id := c.connect()
			clock.add(tt.useAfter)
			action, body := c.roundTrip(trkUDPScrapePkt(id, c.nextTID(), trkIH1))
			if got := action == trackerUDPActionScrape; got != tt.wantOK {
				t.Errorf("scrape accepted: got %v (action %d, %q), want %v", got, action, body, tt.wantOK)
			}
		})
	}
}

// TestTrackerUDPConnectionIDBinding checks which sources a connection ID is
// good for: the IP address it was given to, on any port (a client may
// announce from another socket), and only with the Tracker that gave it.
func TestTrackerUDPConnectionIDBinding(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	other := NewTracker(TrackerConfig{})
	from := netip.MustParseAddrPort("192.0.2.1:4000")
	reply := tr.udpReply(trkUDPConnectPkt(1), from)
	if len(reply) != 16 {
		t.Fatalf("connect reply: got %d bytes, want 16", len(reply))
	}
	id := binary.BigEndian.Uint64(reply[8:16])

	tests := []struct {
		name   string
		tr     *Tracker
		from   string
		wantOK bool
	}{
		{"same address", tr, "192.0.2.1:4000", true},
		{"other port", tr, "192.0.2.1:5000", true},
		{"other ip", tr, "192.0.2.2:4000", false},
		{"ipv6 with the same low bytes", tr, "[::c000:201]:4000", false},
		{"other tracker", other, "192.0.2.1:4000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := tt.tr.udpReply(trkUDPScrapePkt(id, 2, trkIH1), netip.MustParseAddrPort(tt.from))
			if len(reply) < 8 {
				t.Fatalf("reply of %d bytes", len(reply))
			}
			if got := binary.BigEndian.Uint32(reply[0:4]) == trackerUDPActionScrape; got != tt.wantOK {
				t.Errorf("accepted: got %v (%q), want %v", got, reply, tt.wantOK)
			}
		})
	}
}

// TestTrackerUDPNumWant checks num_want against MaxNumWant and the
// datagram-size caps; peers of the other address family never count.
func TestTrackerUDPNumWant(t *testing.T) {
	type step struct {
		numWant int32
		want    int
	}
	tests := []struct {
		name       string
		maxNumWant int
		peers4     int // IPv4 peers announced over HTTP
		peers6     int // IPv6 peers announced over HTTP
		from       string
		steps      []step
	}{
		{"ipv4 capped by MaxNumWant", 20, 60, 30, "198.51.100.1:1", []step{
			{-1, 20}, {-7, 20}, {1000, 20}, {5, 5}, {0, 0}, {20, 20},
		}},
		{"ipv4 default is 50", 0, 60, 0, "198.51.100.1:1", []step{{-1, 50}, {60, 50}}},
		{"ipv4 fits a datagram", 1000, 300, 0, "198.51.100.1:1", []step{{-1, 50}, {1000, trackerUDPMaxPeers4}}},
		{"ipv6 fits a datagram", 1000, 10, 300, "[2001:db8:ffff::1]:1", []step{{-1, 50}, {1000, trackerUDPMaxPeers6}, {3, 3}}},
		{"ipv6 gets only ipv6", 1000, 100, 4, "[2001:db8:ffff::1]:1", []step{{-1, 4}}},
		{"ipv4 gets only ipv4", 1000, 4, 100, "198.51.100.1:1", []step{{-1, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(TrackerConfig{MaxNumWant: tt.maxNumWant})
			for i := range tt.peers4 {
				trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(i), remote: fmt.Sprintf("10.0.%d.%d:1", i/200, i%200+1), left: "1"})
			}
			for i := range tt.peers6 {
				trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(10000 + i), remote: fmt.Sprintf("[2001:db8::%x]:1", i+1), left: "1"})
			}
			from := netip.MustParseAddrPort(tt.from)
			connID := binary.BigEndian.Uint64(tr.udpReply(trkUDPConnectPkt(1), from)[8:])
			for _, s := range tt.steps {
				a := trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(99999), left: 1, numWant: s.numWant, port: 6881}
				reply := tr.udpReply(a.packet(connID, 2), from)
				if got := binary.BigEndian.Uint32(reply[0:4]); got != trackerUDPActionAnnounce {
					t.Fatalf("numwant %d: action got %d (%q), want 1", s.numWant, got, reply[8:])
				}
				r := trkUDPParseAnnounce(t, reply[8:], from.Addr().Is6())
				if len(r.peers) != s.want {
					t.Errorf("numwant %d: got %d peers, want %d", s.numWant, len(r.peers), s.want)
				}
				for _, p := range r.peers {
					if p.Addr().Is4() == from.Addr().Is6() || p.Addr().Is4In6() {
						t.Errorf("numwant %d: peer %v of the other family", s.numWant, p)
					}
				}
				if len(reply) > 1500-20-8 {
					t.Errorf("numwant %d: reply of %d bytes does not fit one 1500-byte packet", s.numWant, len(reply))
				}
			}
		})
	}
}

// TestTrackerUDPAllowed checks that announces for torrents not Allowed are
// refused and that scrapes report zeros for them, in place.
func TestTrackerUDPAllowed(t *testing.T) {
	tr := NewTracker(TrackerConfig{Allowed: func(ih [20]byte) bool { return ih != trkIH2 }, Logger: btTestLogger(t)})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	c := trkMustDialUDP(t, server)
	c.announce(trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(1), left: 0, numWant: -1})

	action, body := c.roundTrip(trkUDPAnnounce{ih: trkIH2, peerID: trkPeerID(1), numWant: -1, port: 1}.packet(c.connect(), c.nextTID()))
	if action != trackerUDPActionError || string(body) != "unregistered torrent" {
		t.Errorf("announce of a torrent not allowed: got action %d %q, want 3 %q", action, body, "unregistered torrent")
	}
	got := c.scrape(trkIH2, trkIH1, trkIH2)
	if want := []SwarmCounts{{}, {Seeders: 1}, {}}; !slices.Equal(got, want) {
		t.Errorf("scrape: got %+v, want %+v", got, want)
	}
}

// TestTrackerUDPIPv6 runs one Tracker on [::1] and 127.0.0.1 at once: over
// IPv6 peers are 18 bytes and IPv6 only, over IPv4 6 bytes and IPv4 only.
func TestTrackerUDPIPv6(t *testing.T) {
	tr := NewTracker(TrackerConfig{Logger: btTestLogger(t)})
	server6 := trkUDPServe(t, tr, "udp6", "[::1]:0", trackerUDPWorkers)
	server4 := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	// Peers that announced over HTTP, one of each family.
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "[2001:db8::2]:1", left: "0"})

	a6, b6, c4 := trkMustDialUDP(t, server6), trkMustDialUDP(t, server6), trkMustDialUDP(t, server4)
	lo6 := netip.MustParseAddr("::1")
	steps := []struct {
		name      string
		c         *trkUDPClient
		a         trkUDPAnnounce
		wantPeers []netip.AddrPort
	}{
		{"first ipv6 leecher", a6, trkUDPAnnounce{peerID: trkPeerID(3), left: 5, port: 3333, numWant: -1},
			[]netip.AddrPort{netip.MustParseAddrPort("[2001:db8::2]:6881")}},
		{"second ipv6 leecher", b6, trkUDPAnnounce{peerID: trkPeerID(4), left: 5, port: 4444, numWant: -1},
			[]netip.AddrPort{netip.AddrPortFrom(lo6, 3333), netip.MustParseAddrPort("[2001:db8::2]:6881")}},
		{"ipv4 leecher", c4, trkUDPAnnounce{peerID: trkPeerID(5), left: 5, port: 5555, numWant: -1},
			[]netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:6881")}},
		{"ipv6 seeder gets ipv6 leechers", a6, trkUDPAnnounce{peerID: trkPeerID(3), left: 0, port: 3333, numWant: -1},
			[]netip.AddrPort{netip.AddrPortFrom(lo6, 4444)}},
		{"ipv4 leecher again", c4, trkUDPAnnounce{peerID: trkPeerID(5), left: 5, port: 5555, numWant: -1},
			[]netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:6881")}},
	}
	for _, s := range steps {
		s.a.ih = trkIH1
		if got := s.c.announce(s.a).peers; !slices.Equal(got, s.wantPeers) {
			t.Errorf("%s: peers got %v, want %v", s.name, got, s.wantPeers)
		}
	}
	want := SwarmCounts{Seeders: 3, Leechers: 2, Completed: 1}
	for _, c := range []*trkUDPClient{a6, c4} {
		if got := c.scrape(trkIH1); !slices.Equal(got, []SwarmCounts{want}) {
			t.Errorf("scrape from %v: got %+v, want [%+v]", c.conn.LocalAddr(), got, want)
		}
	}
}

// trkAnacrolixUDPClient returns anacrolix's UDP tracker client for server,
// closed when the test ends.
func trkAnacrolixUDPClient(t *testing.T, network string, server netip.AddrPort) *udp.ConnClient {
	t.Helper()
	cc, err := udp.NewConnClient(udp.NewConnClientOpts{Network: network, Host: server.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestTrackerUDPAnacrolixClient checks the wire format with another
// implementation: anacrolix's UDP tracker client, over IPv4 and IPv6.
func TestTrackerUDPAnacrolixClient(t *testing.T) {
	tests := []struct {
		network, listen string
		lo              netip.Addr
	}{
		{"udp4", "127.0.0.1:0", netip.MustParseAddr("127.0.0.1")},
		{"udp6", "[::1]:0", netip.MustParseAddr("::1")},
	}
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			tr := NewTracker(TrackerConfig{Interval: 90 * time.Second, Logger: btTestLogger(t)})
			server := trkUDPServe(t, tr, tt.network, tt.listen, trackerUDPWorkers)
			announce := func(id [20]byte, port uint16, left int64, ev udp.AnnounceEvent) (udp.AnnounceResponseHeader, []netip.AddrPort) {
				t.Helper()
				cc := trkAnacrolixUDPClient(t, tt.network, server)
				ctx, cancel := context.WithTimeout(t.Context(), trkUDPTimeout)
				defer cancel()
				h, peers, err := cc.Announce(ctx, udp.AnnounceRequest{
					InfoHash: trkIH2, PeerId: id, Left: left, Event: ev, NumWant: -1, Port: port,
				}, udp.Options{RequestUri: "/announce?x=1"})
				if err != nil {
					t.Fatalf("announce: %v", err)
				}
				var out []netip.AddrPort
				for _, na := range peers.NodeAddrs() {
					ip, _ := netip.AddrFromSlice(na.IP)
					out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(na.Port)))
				}
				slices.SortFunc(out, netip.AddrPort.Compare)
				return h, out
			}
			announce(trkPeerID(1), 1111, 0, shared.Started)
			announce(trkPeerID(2), 2222, 0, shared.Started)
			h, peers := announce(trkPeerID(3), 3333, 10, shared.Started)
			if want := (udp.AnnounceResponseHeader{Interval: 90, Seeders: 2, Leechers: 1}); h != want {
				t.Errorf("announce header: got %+v, want %+v", h, want)
			}
			if want := []netip.AddrPort{netip.AddrPortFrom(tt.lo, 1111), netip.AddrPortFrom(tt.lo, 2222)}; !slices.Equal(peers, want) {
				t.Errorf("peers: got %v, want %v", peers, want)
			}
			h, _ = announce(trkPeerID(3), 3333, 0, shared.Completed)
			if want := (udp.AnnounceResponseHeader{Interval: 90, Seeders: 3}); h != want {
				t.Errorf("announce header after completing: got %+v, want %+v", h, want)
			}

			// One client for both requests: it connects once and reuses its
			// connection ID.
			cc := trkAnacrolixUDPClient(t, tt.network, server)
			for i := range 2 {
				sr, err := cc.Client.Scrape(t.Context(), []udp.InfoHash{trkIH2, trkIH1})
				if err != nil {
					t.Fatalf("scrape %d: %v", i, err)
				}
				if want := (udp.ScrapeResponse{{Seeders: 3, Completed: 1}, {}}); !slices.Equal(sr, want) {
					t.Errorf("scrape %d: got %+v, want %+v", i, sr, want)
				}
			}
		})
	}
}

// TestTrackerUDPSharesHTTPSwarm announces into one swarm over HTTP and
// UDP: each side's peers reach the other, and the HTTP scrape, the UDP
// scrape and Tracker.Scrape agree.
func TestTrackerUDPSharesHTTPSwarm(t *testing.T) {
	tr := NewTracker(TrackerConfig{Logger: btTestLogger(t)})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /announce", tr.ServeAnnounce)
	mux.HandleFunc("GET /scrape", tr.ServeScrape)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	lo := netip.MustParseAddr("127.0.0.1")

	httpAnnounce := func(id [20]byte, port uint16, left int64, ev udp.AnnounceEvent) []netip.AddrPort {
		t.Helper()
		cl := httpTracker.NewClient(trkMustParseURL(t, srv.URL+"/announce"), httpTracker.NewClientOpts{})
		defer cl.Close()
		resp, err := cl.Announce(t.Context(), httpTracker.AnnounceRequest{
			InfoHash: trkIH1, PeerId: id, Port: port, Left: left, Event: ev, NumWant: -1,
		}, httpTracker.AnnounceOpt{})
		if err != nil {
			t.Fatalf("http announce: %v", err)
		}
		var out []netip.AddrPort
		for _, p := range resp.Peers {
			ip, _ := netip.AddrFromSlice(p.IP)
			out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(p.Port)))
		}
		slices.SortFunc(out, netip.AddrPort.Compare)
		return out
	}
	udpClient := trkMustDialUDP(t, server)

	// An HTTP seeder, a UDP leecher, an HTTP leecher that completes and a
	// UDP seeder that completes.
	httpAnnounce(trkPeerID(1), 1111, 0, shared.Started)
	r := udpClient.announce(trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(2), left: 7, event: 2, port: 2222, numWant: -1})
	if want := []netip.AddrPort{netip.AddrPortFrom(lo, 1111)}; !slices.Equal(r.peers, want) {
		t.Errorf("UDP leecher's peers: got %v, want %v (the HTTP seeder)", r.peers, want)
	}
	if got := httpAnnounce(trkPeerID(1), 1111, 0, shared.None); !slices.Equal(got, []netip.AddrPort{netip.AddrPortFrom(lo, 2222)}) {
		t.Errorf("HTTP seeder's peers: got %v, want the UDP leecher", got)
	}
	httpAnnounce(trkPeerID(3), 3333, 9, shared.Started)
	httpAnnounce(trkPeerID(3), 3333, 0, shared.Completed)
	udpClient.announce(trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(4), left: 9, event: 2, port: 4444, numWant: -1})
	udpClient.announce(trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(4), left: 0, event: 1, port: 4444, numWant: -1})

	want := SwarmCounts{Seeders: 3, Leechers: 1, Completed: 2}
	if got := tr.Scrape(fmt.Sprintf("%x", trkIH1)); got != want {
		t.Errorf("Tracker.Scrape: got %+v, want %+v", got, want)
	}
	if got := udpClient.scrape(trkIH1); !slices.Equal(got, []SwarmCounts{want}) {
		t.Errorf("UDP scrape: got %+v, want [%+v]", got, want)
	}
	cc := trkAnacrolixUDPClient(t, "udp4", server)
	if got, err := cc.Client.Scrape(t.Context(), []udp.InfoHash{trkIH1}); err != nil || !slices.Equal(got, udp.ScrapeResponse{{Seeders: 3, Leechers: 1, Completed: 2}}) {
		t.Errorf("anacrolix UDP scrape: got %+v, %v", got, err)
	}
	cl := httpTracker.NewClient(trkMustParseURL(t, srv.URL+"/announce"), httpTracker.NewClientOpts{})
	defer cl.Close()
	if got, err := cl.Scrape(t.Context(), []infohash.T{trkIH1}); err != nil || !slices.Equal(got, udp.ScrapeResponse{{Seeders: 3, Leechers: 1, Completed: 2}}) {
		t.Errorf("anacrolix HTTP scrape: got %+v, %v", got, err)
	}
}

// TestTrackerUDPConcurrent mixes UDP announces and scrapes from many
// anacrolix clients with HTTP traffic on one Tracker (run with -race).
func TestTrackerUDPConcurrent(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	const clients, rounds = 8, 20
	var wg sync.WaitGroup
	for g := range clients {
		cc := trkAnacrolixUDPClient(t, "udp4", server)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), trkUDPTimeout)
			defer cancel()
			for i := range rounds {
				req := udp.AnnounceRequest{InfoHash: trkIH1, PeerId: trkPeerID(g), Left: int64(i % 2), NumWant: -1, Port: uint16(7000 + g)}
				if _, _, err := cc.Announce(ctx, req, udp.Options{}); err != nil {
					t.Errorf("client %d announce %d: %v", g, i, err)
					return
				}
				if _, err := cc.Client.Scrape(ctx, []udp.InfoHash{trkIH1, trkIH2}); err != nil {
					t.Errorf("client %d scrape %d: %v", g, i, err)
					return
				}
			}
		})
		wg.Go(func() {
			for i := range rounds {
				a := trkAnnounce{ih: trkIH1, peerID: trkPeerID(1000 + g), remote: fmt.Sprintf("10.0.%d.%d:1", g, i%5+1), port: 6881, left: "1"}
				r := httptest.NewRequest(http.MethodGet, "/announce?"+a.query(), nil)
				r.RemoteAddr = a.remote
				tr.ServeAnnounce(httptest.NewRecorder(), r)
			}
		})
	}
	wg.Wait()
	// Each UDP client is one peer; HTTP peer IDs moved between addresses
	// are one peer each too.
	if got := tr.Scrape(fmt.Sprintf("%x", trkIH1)); got.Seeders+got.Leechers != 2*clients {
		t.Errorf("peers: got %+v, want %d in all", got, 2*clients)
	}
}

// TestTrackerUDPServeReturns checks how ServeUDP ends.
func TestTrackerUDPServeReturns(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancel context.CancelFunc, conn net.PacketConn)
	}{
		{"context canceled", func(cancel context.CancelFunc, _ net.PacketConn) { cancel() }},
		{"conn closed", func(_ context.CancelFunc, conn net.PacketConn) { conn.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(TrackerConfig{})
			conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tr.ServeUDP(ctx, conn) }()
			// Serving: a connect is answered.
			c := trkMustDialUDP(t, conn.LocalAddr().(*net.UDPAddr).AddrPort())
			c.connect()
			tt.stop(cancel, conn)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("ServeUDP: got %v, want nil", err)
				}
			case <-time.After(trkUDPTimeout):
				t.Fatalf("ServeUDP did not return within %v", trkUDPTimeout)
			}
		})
	}

	t.Run("context already canceled", func(t *testing.T) {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := NewTracker(TrackerConfig{}).ServeUDP(ctx, conn); err != nil {
			t.Errorf("ServeUDP: got %v, want nil", err)
		}
	})

	t.Run("read error", func(t *testing.T) {
		conn := &trkFailingPacketConn{err: errors.New("boom")}
		err := NewTracker(TrackerConfig{}).ServeUDP(t.Context(), conn)
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("ServeUDP: got %v, want an error containing %q", err, "boom")
		}
	})
}

// trkFailingPacketConn fails every read with err.
type trkFailingPacketConn struct {
	net.PacketConn
	err error
}

func (c *trkFailingPacketConn) ReadFrom([]byte) (int, net.Addr, error) { return 0, nil, c.err }
func (c *trkFailingPacketConn) SetReadDeadline(time.Time) error        { return nil }
func (c *trkFailingPacketConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}

// FuzzTrackerUDPReply feeds arbitrary datagrams to the request handler,
// optionally with a valid connection ID: it must not panic, and every reply
// must echo the transaction ID with a known action.
func FuzzTrackerUDPReply(f *testing.F) {
	good := trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(1), numWant: -1, port: 6881}
	f.Add(trkUDPConnectPkt(1), false)
	f.Add(good.packet(0, 2), true)
	f.Add(trkUDPScrapePkt(0, 3, trkIH1, trkIH2), true)
	f.Add(trkUDPHeader(0, 9, 4), true)
	f.Add([]byte{1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, pkt []byte, validID bool) {
		tr := NewTracker(TrackerConfig{MaxNumWant: 1000})
		trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(7), remote: "192.0.2.7:1", left: "3"})
		from := netip.MustParseAddrPort("192.0.2.1:4000")
		if validID && len(pkt) >= 8 {
			pkt = bytes.Clone(pkt)
			binary.BigEndian.PutUint64(pkt, tr.udpConnID(from.Addr(), tr.now(), 0))
		}
		reply := tr.udpReply(pkt, from)
		if reply == nil {
			return
		}
		if len(reply) < 8 || len(reply) > 1500 {
			t.Fatalf("reply of %d bytes", len(reply))
		}
		if action := binary.BigEndian.Uint32(reply); action > trackerUDPActionError {
			t.Errorf("reply action %d", action)
		}
		if !bytes.Equal(reply[4:8], pkt[12:16]) {
			t.Errorf("transaction id: got %x, want %x", reply[4:8], pkt[12:16])
		}
	})
}

// TestTrackerUDPTransmission seeds a torrent whose only tracker is
// udp://127.0.0.1:port/announce and downloads it with transmission-cli.
// Both podseed's client and transmission find the swarm through the UDP
// tracker; since transmission ignores 127.0.0.0/8 peers from trackers, the
// seeder dials the address the tracker recorded for it.
func TestTrackerUDPTransmission(t *testing.T) {
	bin := btRequireBinary(t, "transmission-cli")
	tr := NewTracker(TrackerConfig{Interval: time.Minute, Logger: btTestLogger(t)})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)

	dir := t.TempDir()
	dataPath := filepath.Join(dir, "files", "episode-udp.mp3")
	if err := os.MkdirAll(filepath.Dir(dataPath), 0o755); err != nil {
		t.Fatal(err)
	}
	const size = 4 << 20
	btMustWriteRandomFile(t, dataPath, size)
	wantSum := btFileSHA256(t, dataPath)
	mi := btMustMakeTorrent(t, dataPath, btPieceLength(size), fmt.Sprintf("udp://%s/announce", server))
	torrentPath := filepath.Join(dir, "episode-udp.torrent")
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		t.Fatal(err)
	}
	c := btMustNewClient(t, dir)
	ih, err := c.AddTorrent(t.Context(), mi, dataPath, true)
	if err != nil {
		t.Fatal(err)
	}
	// anacrolix announces to the UDP tracker as a seeder.
	btWaitUntil(t, time.Minute, "the seeder to announce over UDP", func() bool {
		return tr.Scrape(ih).Seeders >= 1
	})

	dlDir, port := btStartTransmission(t, bin, torrentPath)

	// The leecher the tracker has seen is transmission, at its peer port.
	var leecher netip.AddrPort
	btWaitUntil(t, time.Minute, "transmission to announce over UDP", func() bool {
		leecher = trkLeecher(tr, ih)
		return leecher.IsValid()
	})
	if want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)); leecher != want {
		t.Fatalf("leecher announced: got %v, want %v", leecher, want)
	}
	if err := c.AddPeers(ih, []netip.AddrPort{leecher}); err != nil {
		t.Fatalf("AddPeers: %v", err)
	}
	got := filepath.Join(dlDir, filepath.Base(dataPath))
	btWaitUntil(t, 2*time.Minute, "transmission to download the file", func() bool {
		fi, err := os.Stat(got)
		return err == nil && fi.Size() == size && btFileSHA256(t, got) == wantSum
	})
	// transmission announces "completed" over UDP.
	btWaitUntil(t, time.Minute, "the tracker to count the completed download", func() bool {
		return tr.Scrape(ih) == SwarmCounts{Seeders: 2, Completed: 1}
	})
}

// trkLeecher returns the address of a leecher in the swarm of the hex
// infohash ih, or the zero AddrPort.
func trkLeecher(tr *Tracker, ih string) netip.AddrPort {
	var key [20]byte
	if _, err := hex.Decode(key[:], []byte(ih)); err != nil {
		return netip.AddrPort{}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if s := tr.swarms[key]; s != nil {
		for _, p := range s.peers {
			if !p.seeder {
				return p.addr
			}
		}
	}
	return netip.AddrPort{}
}
