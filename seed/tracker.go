package seed

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// Tracker defaults.
const (
	defaultTrackerInterval   = 5 * time.Minute
	defaultTrackerMaxNumWant = 50
	// defaultTrackerNumWant is BEP 3's default when a client sends no numwant.
	defaultTrackerNumWant = 50
)

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	// Interval is the announce interval told to clients; 0 means 5 minutes.
	// "min interval" is half of it. A peer that has not announced for two
	// intervals is forgotten.
	Interval time.Duration
	// MaxNumWant caps how many peers one announce returns, whatever the
	// client's numwant; 0 means 50. UDP replies are also capped to fit one
	// datagram (see ServeUDP).
	MaxNumWant int
	// Allowed reports whether the tracker serves a v1 infohash. Announces for
	// other torrents fail with "unregistered torrent"; HTTP scrapes leave
	// them out and UDP scrapes report zeros (a BEP 15 reply is positional).
	// It is called for every announce and scrape, concurrently and
	// without the Tracker's lock held. nil allows every torrent (an open
	// tracker).
	Allowed func(infoHash [20]byte) bool
	// SelfPeerID and SelfSeeds describe the BitTorrent client of the
	// tracker's own process (podseed's seeder): SelfPeerID is its peer ID
	// (BEP 3) and SelfSeeds reports whether it has the whole torrent of a
	// v1 infohash. With SelfSeeds set, the first announce carrying
	// SelfPeerID (HTTP or UDP, any torrent, any event but "stopped") tells
	// the tracker where that client is reached: the announce's source
	// address with its port parameter, one per address family, updated by
	// each later such announce. From then on every swarm it seeds lists it
	// as a seeder at that address (announce replies, scrapes,
	// SwarmCounts) without waiting for its own announce of that torrent,
	// which after a restart with thousands of torrents can come minutes
	// late (anacrolix sends at most two at a time per tracker URL). Its
	// own announces still refresh or remove the entry as for any peer.
	// SelfSeeds is called with the tracker's lock held: it must be quick
	// and must not call the Tracker. nil leaves the tracker unaware of its
	// own process.
	SelfPeerID [20]byte
	SelfSeeds  func(infoHash [20]byte) bool
	// SelfHost reports whether an address is one of this host's. Only an
	// announce with SelfPeerID from such an address tells the tracker
	// where its own client is: peer IDs are not secret (every peer sees
	// one in the handshake, BEP 3), and a remote peer announcing with
	// podseed's would otherwise be listed as podseed in every swarm. nil
	// means loopback or an address of one of the host's network interfaces
	// (net.InterfaceAddrs, read again at most once a minute).
	SelfHost func(addr netip.Addr) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a debug record per announce and rejected request; nil
	// discards them.
	Logger *slog.Logger
}

// Tracker is a BitTorrent tracker keeping its swarms in memory. Over HTTP it
// serves BEP 3 announce with BEP 23 compact and BEP 7 IPv6 peer lists, and
// BEP 48 scrape (ServeAnnounce, ServeScrape); over UDP, BEP 15 (ServeUDP).
// Both share the same swarms.
// Expired peers are swept when announces and scrapes come in, so an idle
// Tracker does no work. Its peer lists do not survive a restart; clients
// re-announce within one interval. Completed counts can: the owner saves
// CompletedChanges periodically (off the announce path) and hands them to
// RestoreCompleted at the next start.
//
// A peer's address is the request's remote address (for UDP, the
// datagram's source); the "ip", "ipv4" and "ipv6" parameters and BEP 15's
// "IP address" field are ignored, since honouring them would let anyone
// point a swarm at a third party. Behind a reverse proxy, rewrite
// http.Request.RemoteAddr from a trusted header before calling the handlers.
//
// A Tracker is safe for concurrent use.
type Tracker struct {
	interval   time.Duration
	maxNumWant int
	allowed    func([20]byte) bool
	now        func() time.Time
	logger     *slog.Logger
	// udpSecret keys the HMAC that makes BEP 15 connection IDs.
	udpSecret [32]byte
	// selfID and selfSeeds are TrackerConfig.SelfPeerID and SelfSeeds.
	selfID    [20]byte
	selfSeeds func([20]byte) bool
	selfHost  func(netip.Addr) bool
	// hostAddrs caches the interface addresses for the default selfHost,
	// under hostMu (not mu: listing them is a system call).
	hostMu      sync.Mutex
	hostAddrs   map[netip.Addr]bool
	hostAddrsAt time.Time

	// counters are the cumulative request counts that Stats reports.
	counters trackerCounters

	mu        sync.Mutex
	swarms    map[[20]byte]*trackerSwarm
	nextSweep time.Time // when to sweep every swarm, not only the one announced to
	// selfAddr is where the own client was last seen announcing from,
	// [0] over IPv4 and [1] over IPv6; invalid until it has announced.
	selfAddr [2]netip.AddrPort
}

// SwarmCounts is a torrent's swarm as the tracker sees it.
type SwarmCounts struct {
	// Seeders is the number of peers with the whole torrent (left=0).
	Seeders int
	// Leechers is the number of peers still downloading.
	Leechers int
	// Completed counts downloads completed, at most one per peer: a
	// "completed" event, or a peer first seen with left>0 announcing left=0
	// (also when stopping). It starts from the count given to
	// RestoreCompleted, if any, else from zero when the tracker starts.
	Completed int
}

// TrackerStats are a tracker's cumulative request counts since it was made,
// by transport.
type TrackerStats struct {
	// HTTPAnnounces and UDPAnnounces are announces answered with peers.
	HTTPAnnounces, UDPAnnounces uint64
	// HTTPScrapes and UDPScrapes are scrapes answered with counts.
	HTTPScrapes, UDPScrapes uint64
	// Failures are requests over either transport refused with a BEP 3
	// "failure reason" or a BEP 15 error: malformed, for a torrent not
	// Allowed, or with an expired UDP connection ID. Requests with the
	// wrong HTTP method, UDP connects and dropped datagrams are not
	// counted anywhere.
	Failures uint64
}

// trackerCounters back TrackerStats; they are atomic so that handlers
// need not take the tracker's lock to count.
type trackerCounters struct {
	httpAnnounces, udpAnnounces atomic.Uint64
	httpScrapes, udpScrapes     atomic.Uint64
	failures                    atomic.Uint64
}

// Stats returns the tracker's cumulative request counts.
func (t *Tracker) Stats() TrackerStats {
	c := &t.counters
	return TrackerStats{
		HTTPAnnounces: c.httpAnnounces.Load(), UDPAnnounces: c.udpAnnounces.Load(),
		HTTPScrapes: c.httpScrapes.Load(), UDPScrapes: c.udpScrapes.Load(),
		Failures: c.failures.Load(),
	}
}

// NewTracker returns an empty Tracker.
func NewTracker(cfg TrackerConfig) *Tracker {
	t := &Tracker{
		interval:   cfg.Interval,
		maxNumWant: cfg.MaxNumWant,
		allowed:    cfg.Allowed,
		now:        cfg.Now,
		logger:     cfg.Logger,
		selfID:     cfg.SelfPeerID,
		selfSeeds:  cfg.SelfSeeds,
		selfHost:   cfg.SelfHost,
		swarms:     make(map[[20]byte]*trackerSwarm),
	}
	if t.interval <= 0 {
		t.interval = defaultTrackerInterval
	}
	if t.maxNumWant <= 0 {
		t.maxNumWant = defaultTrackerMaxNumWant
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	// crypto/rand.Read never fails (Go 1.24+).
	_, _ = rand.Read(t.udpSecret[:])
	return t
}

// trackerEvent is the "event" parameter of an announce.
type trackerEvent int

const (
	trackerEventNone trackerEvent = iota
	trackerEventStarted
	trackerEventStopped
	trackerEventCompleted
)

// trackerAnnounceRequest is a parsed announce.
type trackerAnnounceRequest struct {
	infoHash [20]byte
	peerID   [20]byte
	addr     netip.AddrPort
	left     int64 // -1 when the client did not say
	event    trackerEvent
	numWant  int
	compact  bool
	noPeerID bool
}

// trackerError is a request the tracker refuses; its message becomes the
// "failure reason".
type trackerError struct{ reason string }

func (e *trackerError) Error() string { return e.reason }

func trackerFailf(format string, args ...any) error {
	return &trackerError{reason: fmt.Sprintf(format, args...)}
}

// ServeAnnounce handles GET /announce (BEP 3). Parameters: info_hash and
// peer_id (20 raw bytes each, URL-escaped), port (1–65535), left (bytes;
// 0 makes the peer a seeder), event (started, stopped, completed or none),
// numwant (capped at MaxNumWant, default 50), compact (default 1; 0 returns
// a list of dictionaries with "peer id", "ip" and "port", which no_peer_id=1
// drops). A compact reply carries IPv4 peers in "peers" (BEP 23) and IPv6
// peers in "peers6" (BEP 7). Every reply has "interval" and "min interval"
// in seconds and the swarm's "complete" and "incomplete" counts. A stopped
// peer is removed and gets no peers; a peer never gets itself.
//
// A refused announce (malformed parameters, unregistered torrent) is a
// bencoded dictionary with only a non-empty "failure reason", sent with
// status 200 as clients expect. Success replies never carry "failure
// reason": aria2c treats even an empty one as a failure.
func (t *Tracker) ServeAnnounce(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, err := t.parseAnnounce(r)
	if err != nil {
		t.writeFailure(w, r, err)
		return
	}
	t.counters.httpAnnounces.Add(1)
	trackerWriteBencode(w, t.announce(req))
}

// parseAnnounce validates an announce request.
func (t *Tracker) parseAnnounce(r *http.Request) (trackerAnnounceRequest, error) {
	var req trackerAnnounceRequest
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, trackerFailf("malformed query")
	}
	if req.infoHash, err = trackerParam20(q, "info_hash"); err != nil {
		return req, err
	}
	if t.allowed != nil && !t.allowed(req.infoHash) {
		return req, trackerFailf("unregistered torrent")
	}
	if req.peerID, err = trackerParam20(q, "peer_id"); err != nil {
		return req, err
	}
	if q.Get("port") == "" {
		return req, trackerFailf("missing port")
	}
	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return req, trackerFailf("invalid port")
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return req, trackerFailf("cannot determine peer address")
	}
	req.addr = netip.AddrPortFrom(remote.Addr().Unmap().WithZone(""), uint16(port))

	req.left = -1
	if s := q.Get("left"); s != "" {
		if req.left, err = strconv.ParseInt(s, 10, 64); err != nil || req.left < 0 {
			return req, trackerFailf("invalid left")
		}
	}
	switch q.Get("event") {
	case "started":
		req.event = trackerEventStarted
	case "stopped":
		req.event = trackerEventStopped
	case "completed":
		req.event = trackerEventCompleted
	default: // "", "empty" and anything unknown mean a regular announce.
		req.event = trackerEventNone
	}
	req.numWant = min(defaultTrackerNumWant, t.maxNumWant)
	if s := q.Get("numwant"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			req.numWant = min(n, t.maxNumWant)
		}
	}
	req.compact = q.Get("compact") != "0"
	req.noPeerID = q.Get("no_peer_id") == "1"
	return req, nil
}

// trackerParam20 returns the single 20-byte value of the parameter name.
func trackerParam20(q url.Values, name string) (v [20]byte, err error) {
	vs, ok := q[name]
	switch {
	case !ok:
		return v, trackerFailf("missing %s", name)
	case len(vs) != 1:
		return v, trackerFailf("repeated %s", name)
	case len(vs[0]) != len(v):
		return v, trackerFailf("invalid %s: want 20 bytes, got %d", name, len(vs[0]))
	}
	copy(v[:], vs[0])
	return v, nil
}

// announce applies an HTTP announce to its swarm and returns the reply.
func (t *Tracker) announce(req trackerAnnounceRequest) map[string]any {
	counts, peers := t.announceSwarm(req, nil)
	t.logger.Debug("announce",
		"infohash", hex.EncodeToString(req.infoHash[:]),
		"peer", req.addr.String(),
		"left", req.left,
		"event", req.event.String(),
		"peers_returned", len(peers))
	return trackerAnnounceReply(t.interval, counts, peers, req.compact, req.noPeerID)
}

// announceSwarm applies req to its swarm, the same for HTTP and UDP, and
// returns the swarm's counts after it and copies of up to req.numWant other
// peers for req's peer (none when it stops). keep, if not nil, restricts the
// peers to the addresses it accepts (a UDP reply carries one address family
// only).
func (t *Tracker) announceSwarm(req trackerAnnounceRequest, keep func(netip.Addr) bool) (SwarmCounts, []trackerPeer) {
	now := t.now()
	key := trackerPeerKey{id: req.peerID, ip6: req.addr.Addr().Is6()}
	seeder := req.left == 0
	// The own client announcing from this host: where to list it.
	self := t.selfSeeds != nil && req.peerID == t.selfID && t.isSelfHost(req.addr.Addr(), now)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeSweepAllLocked(now)
	s := t.swarms[req.infoHash]
	if s == nil {
		s = newTrackerSwarm()
		t.swarms[req.infoHash] = s
	}
	s.sweep(now)
	var peers []trackerPeer
	if req.event == trackerEventStopped {
		s.stop(key, seeder)
	} else {
		s.update(key, req.addr, seeder, req.event == trackerEventCompleted, now.Add(2*t.interval))
		if self {
			t.selfAddr[trackerFamily(req.addr.Addr())] = req.addr
		}
		t.addSelfLocked(req.infoHash, s, now)
		for _, p := range s.pick(key, req.addr, seeder, req.numWant, keep) {
			peers = append(peers, *p)
		}
	}
	counts := s.counts()
	if s.empty() {
		delete(t.swarms, req.infoHash)
	}
	return counts, peers
}

func (e trackerEvent) String() string {
	switch e {
	case trackerEventStarted:
		return "started"
	case trackerEventStopped:
		return "stopped"
	case trackerEventCompleted:
		return "completed"
	default:
		return ""
	}
}

// trackerAnnounceReply builds a successful HTTP announce reply.
func trackerAnnounceReply(interval time.Duration, c SwarmCounts, peers []trackerPeer, compact, noPeerID bool) map[string]any {
	reply := map[string]any{
		"interval":     int64(interval / time.Second),
		"min interval": int64(interval / 2 / time.Second),
		"complete":     c.Seeders,
		"incomplete":   c.Leechers,
	}
	if !compact {
		list := make([]map[string]any, 0, len(peers))
		for _, p := range peers {
			d := map[string]any{
				"ip":   p.addr.Addr().String(),
				"port": int(p.addr.Port()),
			}
			if !noPeerID {
				d["peer id"] = string(p.id[:])
			}
			list = append(list, d)
		}
		reply["peers"] = list
		return reply
	}
	var v4, v6 []byte
	for _, p := range peers {
		a := p.addr.Addr()
		port := p.addr.Port()
		if a.Is4() {
			b := a.As4()
			v4 = append(v4, b[:]...)
			v4 = append(v4, byte(port>>8), byte(port))
		} else {
			b := a.As16()
			v6 = append(v6, b[:]...)
			v6 = append(v6, byte(port>>8), byte(port))
		}
	}
	reply["peers"] = string(v4)
	if len(v6) > 0 {
		reply["peers6"] = string(v6)
	}
	return reply
}

// maybeSweepAllLocked sweeps every swarm at most once per interval, so
// swarms nobody announces to any more are forgotten too.
func (t *Tracker) maybeSweepAllLocked(now time.Time) {
	if now.Before(t.nextSweep) {
		return
	}
	t.nextSweep = now.Add(t.interval)
	for ih, s := range t.swarms {
		s.sweep(now)
		if s.empty() {
			delete(t.swarms, ih)
		}
	}
}

// RestoreCompleted adds counts (completed downloads per v1 infohash, as
// saved from CompletedChanges by an earlier run) to the tracker's swarms, so
// BEP 48 "downloaded" and SwarmCounts.Completed go on from where they were.
// Restored counts count as saved: CompletedChanges does not report them
// until they change. Call it before serving requests; negative and zero
// counts are ignored. Restoring ignores Allowed, like Scrape.
func (t *Tracker) RestoreCompleted(counts map[[20]byte]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ih, n := range counts {
		if n <= 0 {
			continue
		}
		s := t.swarms[ih]
		if s == nil {
			s = newTrackerSwarm()
			t.swarms[ih] = s
		}
		s.complete += n
		s.saved += n
	}
}

// CompletedChanges returns the completed-download count of every swarm
// whose count changed since it was last restored or marked saved, keyed
// by v1 infohash; an empty map, not nil, when nothing changed. The counts
// are absolute (not increments) and never decrease. It takes the tracker's
// lock for one pass over the swarms and does no I/O: a periodic job calls
// it, writes the counts, then calls MarkCompletedSaved.
func (t *Tracker) CompletedChanges() map[[20]byte]int {
	changed := make(map[[20]byte]int)
	t.mu.Lock()
	defer t.mu.Unlock()
	for ih, s := range t.swarms {
		if s.complete != s.saved {
			changed[ih] = s.complete
		}
	}
	return changed
}

// MarkCompletedSaved records that counts (as returned by CompletedChanges)
// are persisted. A swarm whose count grew again since is still reported
// by the next CompletedChanges. After a failed write, do not call it: the
// same changes are reported again.
func (t *Tracker) MarkCompletedSaved(counts map[[20]byte]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ih, n := range counts {
		if s := t.swarms[ih]; s != nil && n > s.saved {
			s.saved = n
		}
	}
}

// trackerScrapeFile is one torrent's entry in a BEP 48 scrape reply.
type trackerScrapeFile struct {
	Complete   int `bencode:"complete"`
	Incomplete int `bencode:"incomplete"`
	Downloaded int `bencode:"downloaded"`
}

// ServeScrape handles GET /scrape (BEP 48). Each info_hash parameter (20 raw
// bytes, URL-escaped, repeatable) asks for one torrent; with none, every
// allowed torrent the tracker has seen is listed. The reply is
// {"files": {<20-byte infohash>: {"complete", "incomplete", "downloaded"}}};
// torrents that are not allowed are left out, allowed ones without peers
// have zero counts. A malformed info_hash gets a "failure reason" reply with
// status 200.
func (t *Tracker) ServeScrape(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		t.writeFailure(w, r, trackerFailf("malformed query"))
		return
	}
	var want [][20]byte
	for _, v := range q["info_hash"] {
		if len(v) != 20 {
			t.writeFailure(w, r, trackerFailf("invalid info_hash: want 20 bytes, got %d", len(v)))
			return
		}
		want = append(want, [20]byte([]byte(v)))
	}

	all := len(want) == 0
	// Allowed may be slow (a database lookup): call it outside the lock.
	if !all && t.allowed != nil {
		want = slices.DeleteFunc(want, func(ih [20]byte) bool { return !t.allowed(ih) })
	}
	counts := make(map[[20]byte]SwarmCounts)
	now := t.now()
	t.mu.Lock()
	t.maybeSweepAllLocked(now)
	if all {
		for ih := range t.swarms {
			want = append(want, ih)
		}
	}
	for _, ih := range want {
		counts[ih] = t.countsLocked(ih, now)
	}
	t.mu.Unlock()

	files := make(map[string]trackerScrapeFile, len(counts))
	for ih, c := range counts {
		if all && t.allowed != nil && !t.allowed(ih) {
			continue
		}
		files[string(ih[:])] = trackerScrapeFileOf(c)
	}
	t.counters.httpScrapes.Add(1)
	trackerWriteBencode(w, map[string]any{"files": files})
}

func trackerScrapeFileOf(c SwarmCounts) trackerScrapeFile {
	return trackerScrapeFile{Complete: c.Seeders, Incomplete: c.Leechers, Downloaded: c.Completed}
}

// Scrape returns the swarm counts for a hex infohash (40 digits, either
// case), zero for a torrent the tracker has no peers or completions for, or
// for a malformed infohash. Unlike ServeScrape it ignores Allowed.
func (t *Tracker) Scrape(infoHash string) SwarmCounts {
	var ih [20]byte
	if len(infoHash) != hex.EncodedLen(len(ih)) {
		return SwarmCounts{}
	}
	if _, err := hex.Decode(ih[:], []byte(infoHash)); err != nil {
		return SwarmCounts{}
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeSweepAllLocked(now)
	return t.countsLocked(ih, now)
}

// countsLocked sweeps and counts one swarm, the own client included
// (addSelfLocked).
func (t *Tracker) countsLocked(ih [20]byte, now time.Time) SwarmCounts {
	s := t.swarms[ih]
	if s != nil {
		s.sweep(now)
	}
	if s = t.addSelfLocked(ih, s, now); s == nil {
		return SwarmCounts{}
	}
	c := s.counts()
	if s.empty() {
		delete(t.swarms, ih)
	}
	return c
}

// isSelfHost is TrackerConfig.SelfHost, by default loopback or an address
// of the host's interfaces (cached for a minute; an error listing them
// leaves loopback only).
func (t *Tracker) isSelfHost(a netip.Addr, now time.Time) bool {
	a = a.Unmap()
	if t.selfHost != nil {
		return t.selfHost(a)
	}
	if a.IsLoopback() {
		return true
	}
	t.hostMu.Lock()
	defer t.hostMu.Unlock()
	if t.hostAddrs == nil || now.Sub(t.hostAddrsAt) > time.Minute {
		t.hostAddrs, t.hostAddrsAt = map[netip.Addr]bool{}, now
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			t.logger.Warn("tracker: list interface addresses", "err", err)
		}
		for _, ia := range addrs {
			if n, ok := ia.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					t.hostAddrs[ip.Unmap()] = true
				}
			}
		}
	}
	return t.hostAddrs[a]
}

// trackerFamily indexes Tracker.selfAddr: 0 for IPv4, 1 for IPv6.
func trackerFamily(a netip.Addr) int {
	if a.Is6() {
		return 1
	}
	return 0
}

// addSelfLocked lists the own client (TrackerConfig.SelfSeeds) as a seeder
// of swarm s of ih at each address it has announced from, unless s has it
// already under that family (its own announces then decide), and returns
// s, created when it was nil and the own client seeds ih. The entry
// expires like an announce's, two intervals from now; the client's own
// announces renew it, and once expired the next request that touches the
// swarm adds it again if the client still seeds ih.
func (t *Tracker) addSelfLocked(ih [20]byte, s *trackerSwarm, now time.Time) *trackerSwarm {
	if t.selfSeeds == nil {
		return s
	}
	checked := false
	for fam, addr := range t.selfAddr {
		if !addr.IsValid() {
			continue
		}
		key := trackerPeerKey{id: t.selfID, ip6: fam == 1}
		if s != nil {
			if _, ok := s.peers[key]; ok {
				continue
			}
		}
		if !checked {
			if !t.selfSeeds(ih) {
				return s
			}
			checked = true
		}
		if s == nil {
			s = newTrackerSwarm()
			t.swarms[ih] = s
		}
		s.update(key, addr, true, false, now.Add(2*t.interval))
	}
	return s
}

// writeFailure replies to a refused request with a BEP 3 "failure reason"
// and status 200.
func (t *Tracker) writeFailure(w http.ResponseWriter, r *http.Request, err error) {
	reason := "internal error"
	var te *trackerError
	if errors.As(err, &te) {
		reason = te.reason
	}
	t.counters.failures.Add(1)
	t.logger.Debug("tracker request refused", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "reason", reason)
	trackerWriteBencode(w, map[string]any{"failure reason": reason})
}

// trackerWriteBencode writes v bencoded with status 200.
func trackerWriteBencode(w http.ResponseWriter, v any) {
	b, err := bencode.Marshal(v)
	if err != nil {
		// Only the fixed reply types above are encoded; this cannot fail.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}
