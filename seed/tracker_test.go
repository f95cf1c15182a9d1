package seed

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"
	"github.com/anacrolix/torrent/tracker/shared"
	"github.com/anacrolix/torrent/tracker/udp"
	"github.com/anacrolix/torrent/types/infohash"
)

var (
	trkIH1 = [20]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	trkIH2 = [20]byte{'+', ' ', '%', '&', '=', 0, 0xff, 0x80}
)

// trkPeerID returns a distinct 20-byte peer ID.
func trkPeerID(n int) [20]byte {
	var id [20]byte
	copy(id[:], fmt.Sprintf("-PS0001-%012d", n))
	return id
}

// trkAnnounce is one announce's parameters; zero fields are left out.
type trkAnnounce struct {
	ih       [20]byte
	peerID   [20]byte
	remote   string // RemoteAddr, host:port
	port     int
	left     string
	event    string
	numWant  string
	compact  string
	noPeerID bool
	extra    url.Values
}

func (a trkAnnounce) query() string {
	q := url.Values{}
	q.Set("info_hash", string(a.ih[:]))
	q.Set("peer_id", string(a.peerID[:]))
	if a.port != 0 {
		q.Set("port", strconv.Itoa(a.port))
	}
	if a.left != "" {
		q.Set("left", a.left)
	}
	if a.event != "" {
		q.Set("event", a.event)
	}
	if a.numWant != "" {
		q.Set("numwant", a.numWant)
	}
	if a.compact != "" {
		q.Set("compact", a.compact)
	}
	if a.noPeerID {
		q.Set("no_peer_id", "1")
	}
	for k, vs := range a.extra {
		q[k] = vs
	}
	return q.Encode()
}

// trkDo calls handler with a GET of target from remote and decodes the
// bencoded reply, which must come with status 200.
func trkDo(t *testing.T, handler http.HandlerFunc, target, remote string) map[string]any {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	handler(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", w.Code)
	}
	var reply map[string]any
	if err := bencode.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		t.Fatalf("decode reply %q: %v", w.Body.String(), err)
	}
	return reply
}

// trkMustAnnounce announces and fails the test on a failure reply.
func trkMustAnnounce(t *testing.T, tr *Tracker, a trkAnnounce) map[string]any {
	t.Helper()
	if a.port == 0 {
		a.port = 6881
	}
	reply := trkDo(t, tr.ServeAnnounce, "/announce?"+a.query(), a.remote)
	if fr, ok := reply["failure reason"]; ok {
		t.Fatalf("announce failed: %v", fr)
	}
	return reply
}

// trkCompactPeers decodes a compact peer string of entries of size 6 or 18.
func trkCompactPeers(t *testing.T, v any, entry int) []netip.AddrPort {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("compact peers: got %T, want string", v)
	}
	if len(s)%entry != 0 {
		t.Fatalf("compact peers: length %d not a multiple of %d", len(s), entry)
	}
	var out []netip.AddrPort
	for b := []byte(s); len(b) > 0; b = b[entry:] {
		ip, _ := netip.AddrFromSlice(b[:entry-2])
		out = append(out, netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[entry-2:entry])))
	}
	slices.SortFunc(out, netip.AddrPort.Compare)
	return out
}

func trkInt(t *testing.T, reply map[string]any, key string) int64 {
	t.Helper()
	v, ok := reply[key].(int64)
	if !ok {
		t.Fatalf("%q: got %T (%v), want integer", key, reply[key], reply[key])
	}
	return v
}

func TestTrackerAnnounceCompactIPv4(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:40000", port: 6881, left: "0", event: "started"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:40000", port: 51413, left: "100", event: "started"})
	// An IPv4-mapped IPv6 remote address is an IPv4 peer.
	reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(3), remote: "[::ffff:192.0.2.3]:40000", port: 7000, left: "100", compact: "1"})

	if _, ok := reply["failure reason"]; ok {
		t.Errorf("success reply has a failure reason: %v", reply)
	}
	if got, want := trkInt(t, reply, "interval"), int64(300); got != want {
		t.Errorf("interval: got %d, want %d", got, want)
	}
	if got, want := trkInt(t, reply, "min interval"), int64(150); got != want {
		t.Errorf("min interval: got %d, want %d", got, want)
	}
	if got, want := trkInt(t, reply, "complete"), int64(1); got != want {
		t.Errorf("complete: got %d, want %d", got, want)
	}
	if got, want := trkInt(t, reply, "incomplete"), int64(2); got != want {
		t.Errorf("incomplete: got %d, want %d", got, want)
	}
	got := trkCompactPeers(t, reply["peers"], 6)
	want := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:6881"),
		netip.MustParseAddrPort("192.0.2.2:51413"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("peers: got %v, want %v", got, want)
	}
	if _, ok := reply["peers6"]; ok {
		t.Errorf("peers6 present without IPv6 peers: %q", reply["peers6"])
	}
}

func TestTrackerAnnounceCompactIPv6(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "[2001:db8::1]:40000", port: 6881, left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "[fe80::2%eth0]:40000", port: 6882, left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(3), remote: "198.51.100.7:1", port: 6883, left: "0"})
	reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(4), remote: "[2001:db8::4]:40000", port: 6884, left: "5"})

	got4 := trkCompactPeers(t, reply["peers"], 6)
	if want := []netip.AddrPort{netip.MustParseAddrPort("198.51.100.7:6883")}; !slices.Equal(got4, want) {
		t.Errorf("peers: got %v, want %v", got4, want)
	}
	got6 := trkCompactPeers(t, reply["peers6"], 18)
	want6 := []netip.AddrPort{
		netip.MustParseAddrPort("[2001:db8::1]:6881"),
		netip.MustParseAddrPort("[fe80::2]:6882"),
	}
	if !slices.Equal(got6, want6) {
		t.Errorf("peers6: got %v, want %v", got6, want6)
	}
}

func TestTrackerAnnounceDictPeers(t *testing.T) {
	tests := []struct {
		name     string
		noPeerID bool
	}{
		{"with peer id", false},
		{"no_peer_id", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(TrackerConfig{})
			trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", port: 6881, left: "0"})
			trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "[2001:db8::2]:1", port: 6882, left: "0"})
			reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(3), remote: "192.0.2.3:1", left: "9", compact: "0", noPeerID: tt.noPeerID})
			list, ok := reply["peers"].([]any)
			if !ok {
				t.Fatalf("peers: got %T, want list", reply["peers"])
			}
			var got []string
			for _, e := range list {
				d := e.(map[string]any)
				id, hasID := d["peer id"]
				if hasID == tt.noPeerID {
					t.Errorf("peer id present: got %v, want %v", hasID, !tt.noPeerID)
				}
				got = append(got, fmt.Sprintf("%v %v %v", d["ip"], d["port"], id))
			}
			slices.Sort(got)
			id1, id2 := trkPeerID(1), trkPeerID(2)
			var want1, want2 any = string(id1[:]), string(id2[:])
			if tt.noPeerID {
				want1, want2 = nil, nil
			}
			want := []string{
				fmt.Sprintf("192.0.2.1 6881 %v", want1),
				fmt.Sprintf("2001:db8::2 6882 %v", want2),
			}
			if !slices.Equal(got, want) {
				t.Errorf("peers: got %q, want %q", got, want)
			}
		})
	}
}

func TestTrackerNumWant(t *testing.T) {
	tr := NewTracker(TrackerConfig{MaxNumWant: 20})
	for i := range 60 {
		trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(i), remote: fmt.Sprintf("10.0.%d.%d:1", i/200, i%200+1), left: "1"})
	}
	tests := []struct {
		name    string
		numWant string
		want    int
	}{
		{"absent uses default capped", "", 20},
		{"above cap", "1000", 20},
		{"below cap", "5", 5},
		{"zero", "0", 0},
		{"negative uses default", "-1", 20},
		{"garbage uses default", "lots", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1000), remote: "10.9.9.9:1", left: "1", numWant: tt.numWant})
			if got := len(trkCompactPeers(t, reply["peers"], 6)); got != tt.want {
				t.Errorf("peers: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTrackerNeverReturnsSelf(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	a := trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "1"}
	trkMustAnnounce(t, tr, a)
	if got := trkCompactPeers(t, trkMustAnnounce(t, tr, a)["peers"], 6); len(got) != 0 {
		t.Errorf("peers for the only peer: got %v, want none", got)
	}
	// The same client over IPv6 is not its own peer either.
	a6 := a
	a6.remote = "[2001:db8::1]:1"
	reply := trkMustAnnounce(t, tr, a6)
	if got := trkCompactPeers(t, reply["peers"], 6); len(got) != 0 {
		t.Errorf("peers for the same peer id over IPv6: got %v, want none", got)
	}
	// A different peer ID at the same address and port is the same peer.
	b := a
	b.peerID = trkPeerID(2)
	if got := trkCompactPeers(t, trkMustAnnounce(t, tr, b)["peers"], 6); len(got) != 0 {
		t.Errorf("peers for a new peer id at the same address: got %v, want none", got)
	}
}

func TestTrackerSeederGetsOnlyLeechers(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "10"})
	reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(3), remote: "192.0.2.3:1", left: "0"})
	got := trkCompactPeers(t, reply["peers"], 6)
	if want := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.2:6881")}; !slices.Equal(got, want) {
		t.Errorf("peers: got %v, want %v", got, want)
	}
}

func TestTrackerStoppedRemovesPeer(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	a := trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0", event: "started"}
	trkMustAnnounce(t, tr, a)
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "3"})
	if got, want := tr.Scrape(fmt.Sprintf("%x", trkIH1)), (SwarmCounts{Seeders: 1, Leechers: 1}); got != want {
		t.Fatalf("before stop: got %+v, want %+v", got, want)
	}
	a.event = "stopped"
	reply := trkMustAnnounce(t, tr, a)
	if got := trkCompactPeers(t, reply["peers"], 6); len(got) != 0 {
		t.Errorf("peers for a stopped peer: got %v, want none", got)
	}
	if got, want := trkInt(t, reply, "complete"), int64(0); got != want {
		t.Errorf("complete after stop: got %d, want %d", got, want)
	}
	if got, want := tr.Scrape(fmt.Sprintf("%x", trkIH1)), (SwarmCounts{Leechers: 1}); got != want {
		t.Errorf("after stop: got %+v, want %+v", got, want)
	}
	// The leecher no longer gets the stopped seeder.
	reply = trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "3"})
	if got := trkCompactPeers(t, reply["peers"], 6); len(got) != 0 {
		t.Errorf("peers after the seeder stopped: got %v, want none", got)
	}
}

func TestTrackerCompletedCountedOncePerPeer(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	ih := fmt.Sprintf("%x", trkIH1)
	steps := []struct {
		name string
		a    trkAnnounce
		want SwarmCounts
	}{
		{"seeder starts", trkAnnounce{peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0", event: "started"}, SwarmCounts{Seeders: 1}},
		{"leecher starts", trkAnnounce{peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "50", event: "started"}, SwarmCounts{Seeders: 1, Leechers: 1}},
		{"leecher progresses", trkAnnounce{peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "10"}, SwarmCounts{Seeders: 1, Leechers: 1}},
		{"leecher completes", trkAnnounce{peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "0", event: "completed"}, SwarmCounts{Seeders: 2, Completed: 1}},
		{"completed resent", trkAnnounce{peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "0", event: "completed"}, SwarmCounts{Seeders: 2, Completed: 1}},
		{"regular announce", trkAnnounce{peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "0"}, SwarmCounts{Seeders: 2, Completed: 1}},
		{"another completes", trkAnnounce{peerID: trkPeerID(3), remote: "192.0.2.3:1", left: "0", event: "completed"}, SwarmCounts{Seeders: 3, Completed: 2}},
		{"one stops", trkAnnounce{peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "0", event: "stopped"}, SwarmCounts{Seeders: 2, Completed: 2}},
		{"leecher 4 starts", trkAnnounce{peerID: trkPeerID(4), remote: "192.0.2.4:1", left: "50", event: "started"}, SwarmCounts{Seeders: 2, Leechers: 1, Completed: 2}},
		{"leecher 4 done without event", trkAnnounce{peerID: trkPeerID(4), remote: "192.0.2.4:1", left: "0"}, SwarmCounts{Seeders: 3, Completed: 3}},
		{"seeder 4 sends completed late", trkAnnounce{peerID: trkPeerID(4), remote: "192.0.2.4:1", left: "0", event: "completed"}, SwarmCounts{Seeders: 3, Completed: 3}},
		{"leecher 5 starts", trkAnnounce{peerID: trkPeerID(5), remote: "192.0.2.5:1", left: "50", event: "started"}, SwarmCounts{Seeders: 3, Leechers: 1, Completed: 3}},
		{"leecher 5 stops done (aria2c --seed-time=0)", trkAnnounce{peerID: trkPeerID(5), remote: "192.0.2.5:1", left: "0", event: "stopped"}, SwarmCounts{Seeders: 3, Completed: 4}},
		{"leecher 6 starts", trkAnnounce{peerID: trkPeerID(6), remote: "192.0.2.6:1", left: "50", event: "started"}, SwarmCounts{Seeders: 3, Leechers: 1, Completed: 4}},
		{"leecher 6 gives up", trkAnnounce{peerID: trkPeerID(6), remote: "192.0.2.6:1", left: "20", event: "stopped"}, SwarmCounts{Seeders: 3, Completed: 4}},
	}
	for _, s := range steps {
		s.a.ih = trkIH1
		trkMustAnnounce(t, tr, s.a)
		if got := tr.Scrape(ih); got != s.want {
			t.Errorf("%s: got %+v, want %+v", s.name, got, s.want)
		}
	}
}

func TestTrackerPeersExpire(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := NewTracker(TrackerConfig{Interval: time.Minute, Now: func() time.Time { return now }})
	ih1, ih2 := fmt.Sprintf("%x", trkIH1), fmt.Sprintf("%x", trkIH2)
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})

	now = now.Add(90 * time.Second)
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "7"})
	if got, want := tr.Scrape(ih1), (SwarmCounts{Seeders: 1, Leechers: 1}); got != want {
		t.Errorf("before expiry: got %+v, want %+v", got, want)
	}

	now = now.Add(30*time.Second - time.Nanosecond) // just under 2 intervals after the first announce
	if got, want := tr.Scrape(ih1), (SwarmCounts{Seeders: 1, Leechers: 1}); got != want {
		t.Errorf("just before expiry: got %+v, want %+v", got, want)
	}
	now = now.Add(time.Nanosecond)
	if got, want := tr.Scrape(ih1), (SwarmCounts{Leechers: 1}); got != want {
		t.Errorf("at expiry: got %+v, want %+v", got, want)
	}
	reply := trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "7"})
	if got := trkCompactPeers(t, reply["peers"], 6); len(got) != 0 {
		t.Errorf("peers after expiry: got %v, want none", got)
	}
	// Nobody announced to ih2 again: within one more interval the periodic
	// sweep forgets it.
	now = now.Add(time.Minute)
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "7"})
	tr.mu.Lock()
	_, kept := tr.swarms[trkIH2]
	tr.mu.Unlock()
	if kept {
		t.Errorf("expired swarm %s still held", ih2)
	}
	if got := tr.Scrape(ih2); got != (SwarmCounts{}) {
		t.Errorf("expired swarm: got %+v, want zero", got)
	}
}

func TestTrackerAnnounceFailures(t *testing.T) {
	good := trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", port: 6881, left: "0"}
	tests := []struct {
		name   string
		target string
		remote string
	}{
		{"no parameters", "/announce", good.remote},
		{"missing info_hash", "/announce?peer_id=" + url.QueryEscape(string(good.peerID[:])) + "&port=1", good.remote},
		{"short info_hash", "/announce?info_hash=abc&peer_id=" + url.QueryEscape(string(good.peerID[:])) + "&port=1", good.remote},
		{"long info_hash", "/announce?info_hash=" + url.QueryEscape(string(trkIH1[:])+"x") + "&peer_id=" + url.QueryEscape(string(good.peerID[:])) + "&port=1", good.remote},
		{"repeated info_hash", "/announce?" + good.query() + "&info_hash=" + url.QueryEscape(string(trkIH2[:])), good.remote},
		{"missing peer_id", "/announce?info_hash=" + url.QueryEscape(string(trkIH1[:])) + "&port=1", good.remote},
		{"short peer_id", "/announce?info_hash=" + url.QueryEscape(string(trkIH1[:])) + "&peer_id=x&port=1", good.remote},
		{"missing port", "/announce?info_hash=" + url.QueryEscape(string(trkIH1[:])) + "&peer_id=" + url.QueryEscape(string(good.peerID[:])), good.remote},
		{"port zero", "/announce?" + func() string { a := good; a.port = 0; return a.query() }() + "&port=0", good.remote},
		{"port too big", "/announce?" + func() string { a := good; a.port = 70000; return a.query() }(), good.remote},
		{"negative left", "/announce?" + func() string { a := good; a.left = "-5"; return a.query() }(), good.remote},
		{"bad escape", "/announce?info_hash=%zz", good.remote},
		{"unusable remote address", "/announce?" + good.query(), "@unix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(TrackerConfig{})
			reply := trkDo(t, tr.ServeAnnounce, tt.target, tt.remote)
			fr, ok := reply["failure reason"].(string)
			if !ok || fr == "" {
				t.Fatalf("failure reason: got %#v, want non-empty string (reply %v)", reply["failure reason"], reply)
			}
			if len(reply) != 1 {
				t.Errorf("failure reply keys: got %v, want only failure reason", reply)
			}
			if got := tr.Scrape(fmt.Sprintf("%x", trkIH1)); got != (SwarmCounts{}) {
				t.Errorf("swarm after refused announce: got %+v, want zero", got)
			}
		})
	}
}

func TestTrackerAllowed(t *testing.T) {
	tr := NewTracker(TrackerConfig{Allowed: func(ih [20]byte) bool { return ih == trkIH1 }})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	a := trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", port: 1, left: "0"}
	reply := trkDo(t, tr.ServeAnnounce, "/announce?"+a.query(), a.remote)
	if got, want := reply["failure reason"], "unregistered torrent"; got != want {
		t.Errorf("failure reason: got %v, want %q", got, want)
	}
}

func TestTrackerMethodNotAllowed(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	for _, h := range []http.HandlerFunc{tr.ServeAnnounce, tr.ServeScrape} {
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodPost, "/announce", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST: got %d, want %d", w.Code, http.StatusMethodNotAllowed)
		}
	}
}

func TestTrackerScrapeBEP48(t *testing.T) {
	trkIH3 := [20]byte{3}
	tr := NewTracker(TrackerConfig{Allowed: func(ih [20]byte) bool { return ih != trkIH3 }})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "0", event: "completed"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(3), remote: "192.0.2.3:1", left: "4"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "9"})
	trkIH4 := [20]byte{4}

	files := func(ihs ...[20]byte) map[string]any {
		m := map[string]any{}
		for _, ih := range ihs {
			m[string(ih[:])] = nil
		}
		return m
	}
	tests := []struct {
		name  string
		query url.Values
		want  map[string]any
	}{
		{"one", url.Values{"info_hash": {string(trkIH1[:])}}, files(trkIH1)},
		{"repeated", url.Values{"info_hash": {string(trkIH1[:]), string(trkIH2[:])}}, files(trkIH1, trkIH2)},
		{"unknown allowed has zeros", url.Values{"info_hash": {string(trkIH4[:])}}, files(trkIH4)},
		{"not allowed left out", url.Values{"info_hash": {string(trkIH3[:]), string(trkIH2[:])}}, files(trkIH2)},
		{"only not allowed", url.Values{"info_hash": {string(trkIH3[:])}}, files()},
		{"all", nil, files(trkIH1, trkIH2)},
	}
	wantCounts := map[[20]byte][3]int64{
		trkIH1: {2, 1, 1},
		trkIH2: {0, 1, 0},
		trkIH4: {0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := trkDo(t, tr.ServeScrape, "/scrape?"+tt.query.Encode(), "127.0.0.1:1")
			got, ok := reply["files"].(map[string]any)
			if !ok {
				t.Fatalf("files: got %T (%v), want dictionary", reply["files"], reply)
			}
			if len(got) != len(tt.want) {
				t.Errorf("files: got %d entries, want %d", len(got), len(tt.want))
			}
			for k := range tt.want {
				e, ok := got[k].(map[string]any)
				if !ok {
					t.Errorf("files[%x]: got %v, want dictionary", k, got[k])
					continue
				}
				w := wantCounts[[20]byte([]byte(k))]
				g := [3]int64{e["complete"].(int64), e["incomplete"].(int64), e["downloaded"].(int64)}
				if g != w {
					t.Errorf("files[%x] complete/incomplete/downloaded: got %v, want %v", k, g, w)
				}
			}
		})
	}

	reply := trkDo(t, tr.ServeScrape, "/scrape?info_hash=short", "127.0.0.1:1")
	if fr, _ := reply["failure reason"].(string); fr == "" {
		t.Errorf("scrape with a short info_hash: got %v, want a failure reason", reply)
	}
}

func TestTrackerScrapeHex(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	tests := []struct {
		name string
		ih   string
		want SwarmCounts
	}{
		{"lower case", fmt.Sprintf("%x", trkIH1), SwarmCounts{Seeders: 1}},
		{"upper case", fmt.Sprintf("%X", trkIH1), SwarmCounts{Seeders: 1}},
		{"unknown", fmt.Sprintf("%x", trkIH2), SwarmCounts{}},
		{"short", "0102", SwarmCounts{}},
		{"not hex", "zz02030405060708090a0b0c0d0e0f1011121314", SwarmCounts{}},
		{"too long", fmt.Sprintf("%x00", trkIH1), SwarmCounts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.Scrape(tt.ih); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTrackerConcurrentAnnounces(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				a := trkAnnounce{ih: trkIH1, peerID: trkPeerID(g*1000 + i%10), remote: fmt.Sprintf("10.0.%d.%d:1", g, i%10+1), port: 6881, left: strconv.Itoa(i % 2)}
				r := httptest.NewRequest(http.MethodGet, "/announce?"+a.query(), nil)
				r.RemoteAddr = a.remote
				tr.ServeAnnounce(httptest.NewRecorder(), r)
				tr.ServeScrape(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/scrape", nil))
				tr.Scrape(fmt.Sprintf("%x", trkIH1))
			}
		})
	}
	wg.Wait()
	if got := tr.Scrape(fmt.Sprintf("%x", trkIH1)); got.Seeders+got.Leechers != 80 {
		t.Errorf("peers: got %+v, want 80 in all", got)
	}
}

// TestTrackerAnacrolixHTTPClient checks the wire format with another
// implementation: anacrolix's HTTP tracker client, over loopback.
func TestTrackerAnacrolixHTTPClient(t *testing.T) {
	tr := NewTracker(TrackerConfig{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /announce", tr.ServeAnnounce)
	mux.HandleFunc("GET /scrape", tr.ServeScrape)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	announce := func(id [20]byte, port uint16, left int64) httpTracker.AnnounceResponse {
		t.Helper()
		cl := httpTracker.NewClient(trkMustParseURL(t, srv.URL+"/announce"), httpTracker.NewClientOpts{})
		defer cl.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := cl.Announce(ctx, httpTracker.AnnounceRequest{
			InfoHash: trkIH2, PeerId: id, Port: port, Left: left, Event: shared.Started,
		}, httpTracker.AnnounceOpt{})
		if err != nil {
			t.Fatalf("announce: %v", err)
		}
		return resp
	}
	announce(trkPeerID(1), 1111, 0)
	resp := announce(trkPeerID(2), 2222, 10)
	if got, want := resp.Interval, int32(300); got != want {
		t.Errorf("interval: got %d, want %d", got, want)
	}
	if resp.Seeders != 1 || resp.Leechers != 1 {
		t.Errorf("seeders/leechers: got %d/%d, want 1/1", resp.Seeders, resp.Leechers)
	}
	if len(resp.Peers) != 1 || resp.Peers[0].Port != 1111 || !resp.Peers[0].IP.IsLoopback() {
		t.Errorf("peers: got %v, want 127.0.0.1:1111", resp.Peers)
	}

	cl := httpTracker.NewClient(trkMustParseURL(t, srv.URL+"/announce"), httpTracker.NewClientOpts{})
	defer cl.Close()
	sr, err := cl.Scrape(t.Context(), []infohash.T{trkIH2})
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	if want := (udp.ScrapeInfohashResult{Seeders: 1, Leechers: 1}); len(sr) != 1 || sr[0] != want {
		t.Errorf("scrape: got %+v, want [%+v]", sr, want)
	}
}

func trkMustParseURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
