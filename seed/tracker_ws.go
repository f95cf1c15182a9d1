package seed

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocket tracker defaults.
const (
	// defaultWSTrackerInterval is the announce interval told to WebTorrent
	// clients; the npm bittorrent-tracker server tells 2 minutes too.
	defaultWSTrackerInterval = 2 * time.Minute
	// defaultWSTrackerMaxOffers caps the offers relayed per announce
	// (browsers send at most 5, anacrolix 1).
	defaultWSTrackerMaxOffers = 10
	// defaultWSTrackerMaxConns caps open WebSocket connections.
	defaultWSTrackerMaxConns = 1024
	// defaultWSTrackerMaxTorrentsPerConn caps the torrents one connection
	// may announce; podseed's own client announces every torrent it seeds
	// over one connection.
	defaultWSTrackerMaxTorrentsPerConn = 1 << 16
	// wsTrackerReadLimit is the largest message accepted, in bytes: an
	// announce with a few SDP offers is a few KiB.
	wsTrackerReadLimit = 256 << 10
	// wsTrackerPingEvery is how often the tracker pings each connection;
	// a connection silent (no message, no pong) for wsTrackerIdle is
	// closed and its peers leave their swarms.
	wsTrackerPingEvery = 30 * time.Second
	wsTrackerIdle      = 75 * time.Second
	// wsTrackerWriteTimeout bounds one message write.
	wsTrackerWriteTimeout = 10 * time.Second
	// wsTrackerSendQueue is how many messages may wait for a slow
	// connection; a connection whose queue is full is closed.
	wsTrackerSendQueue = 64
)

// WSTrackerConfig configures a WSTracker.
type WSTrackerConfig struct {
	// Interval is the announce interval told to clients; 0 means 2 minutes.
	// Peers stay in their swarms for as long as their connection is open,
	// whatever the interval: anacrolix announces only when it starts and
	// after each answered offer.
	Interval time.Duration
	// MaxOffers caps the WebRTC offers relayed from one announce; 0 means 10.
	MaxOffers int
	// MaxConns caps the open WebSocket connections; further upgrades get
	// 503 Service Unavailable. 0 means 1024.
	MaxConns int
	// MaxTorrentsPerConn caps the (torrent, peer ID) pairs one connection
	// may announce; 0 means 65536.
	MaxTorrentsPerConn int
	// Allowed reports whether the tracker serves a v1 infohash, as in
	// TrackerConfig; nil allows every torrent.
	Allowed func(infoHash [20]byte) bool
	// OnLeecher, if not nil, is called after each announce (other than
	// "stopped") from a peer that is not a seeder, with the torrent's
	// infohash, from the announcing connection's goroutine and without the
	// tracker's lock; it must return quickly. podseed uses it to join the
	// swarm with its own client only when a browser wants the torrent.
	OnLeecher func(infoHash [20]byte)
	// Logger receives a debug record per announce, refused message and
	// closed connection; nil discards them.
	Logger *slog.Logger
}

// WSTracker is a WebTorrent tracker: the protocol of the npm
// bittorrent-tracker server's WebSocket side, which browsers (WebTorrent)
// and anacrolix/torrent's ws:// tracker client speak. It serves one
// WebSocket connection per ServeHTTP call and keeps its swarms in memory.
//
// Messages are JSON text frames. Infohashes, peer IDs and offer IDs are
// "binary strings": 20 characters, each one byte (U+0000–U+00FF).
//
//   - announce: {"action":"announce","info_hash","peer_id","event"
//     ("started", "stopped", "completed" or absent),"left" (bytes; 0 makes
//     the peer a seeder),"offers":[{"offer_id","offer"}]}. The reply is
//     {"action":"announce","info_hash","interval" (seconds),"complete",
//     "incomplete"}. Each offer (at most MaxOffers) is then relayed to a
//     different peer of the swarm, chosen at random, never the announcer
//     (a seeder's offers go to leechers only), as {"action":"announce",
//     "info_hash","peer_id" (the offerer),"offer_id","offer"}.
//   - answer: an announce with "answer", "to_peer_id" and "offer_id" is
//     relayed to to_peer_id as {"action":"announce","info_hash","peer_id"
//     (the answerer),"offer_id","answer"}; it gets no reply.
//   - scrape: {"action":"scrape","info_hash"} with one infohash, a list,
//     or none (every allowed torrent) is answered with {"action":"scrape",
//     "files":{<infohash>:{"complete","incomplete","downloaded"}},"flags":
//     {"min_request_interval"}}.
//
// A malformed message or a torrent not Allowed gets {"failure reason",
// "action","info_hash" (when it parsed)}. A peer is in a swarm from its
// announce until it stops or its connection closes; the tracker pings every
// connection and closes silent ones. Offers and answers are relayed
// verbatim (SDP inside JSON); the tracker never learns peers' addresses.
//
// A WSTracker is safe for concurrent use. Close it to close its
// connections: http.Server.Shutdown does not wait for hijacked ones.
type WSTracker struct {
	interval           time.Duration
	maxOffers          int
	maxConns           int
	maxTorrentsPerConn int
	allowed            func([20]byte) bool
	onLeecher          func([20]byte)
	logger             *slog.Logger
	upgrader           websocket.Upgrader

	counters wsTrackerCounters
	wg       sync.WaitGroup // one per served connection

	mu     sync.Mutex
	closed bool
	conns  map[*wsTrackerConn]struct{}
	swarms map[[20]byte]*wsTrackerSwarm
}

// WSTrackerStats are a WebSocket tracker's cumulative counts since it was
// made.
type WSTrackerStats struct {
	// Announces are announces answered (answers relayed are not counted).
	Announces uint64
	// Scrapes are scrapes answered.
	Scrapes uint64
	// OffersRelayed and AnswersRelayed count WebRTC signalling messages
	// passed on to a peer.
	OffersRelayed, AnswersRelayed uint64
	// Failures are messages refused with a "failure reason".
	Failures uint64
	// Conns is the number of connections open now.
	Conns int
}

type wsTrackerCounters struct {
	announces, scrapes, offers, answers, failures atomic.Uint64
}

// wsTrackerSwarm is one torrent's WebSocket peers. The WSTracker's mutex
// guards it.
type wsTrackerSwarm struct {
	peers     map[[20]byte]*wsTrackerPeer
	seeders   int
	completed int
}

type wsTrackerPeer struct {
	conn      *wsTrackerConn
	seeder    bool
	completed bool // its completed download has been counted
}

// wsTrackerConn is one WebSocket connection. peers holds each (torrent,
// peer ID) announced on it: clients in one page share a connection (the npm
// bittorrent-tracker client pools them by URL). The WSTracker's mutex
// guards it.
type wsTrackerConn struct {
	ws    *websocket.Conn
	send  chan []byte
	done  chan struct{} // closed when the connection is being torn down
	once  sync.Once
	peers map[wsTrackerPeerRef]struct{}
}

// wsTrackerPeerRef names a peer in a swarm.
type wsTrackerPeerRef struct{ infoHash, peerID [20]byte }

// NewWSTracker returns an empty WSTracker.
func NewWSTracker(cfg WSTrackerConfig) *WSTracker {
	t := &WSTracker{
		interval:           cfg.Interval,
		maxOffers:          cfg.MaxOffers,
		maxConns:           cfg.MaxConns,
		maxTorrentsPerConn: cfg.MaxTorrentsPerConn,
		allowed:            cfg.Allowed,
		onLeecher:          cfg.OnLeecher,
		logger:             cfg.Logger,
		conns:              make(map[*wsTrackerConn]struct{}),
		swarms:             make(map[[20]byte]*wsTrackerSwarm),
	}
	if t.interval <= 0 {
		t.interval = defaultWSTrackerInterval
	}
	if t.maxOffers <= 0 {
		t.maxOffers = defaultWSTrackerMaxOffers
	}
	if t.maxConns <= 0 {
		t.maxConns = defaultWSTrackerMaxConns
	}
	if t.maxTorrentsPerConn <= 0 {
		t.maxTorrentsPerConn = defaultWSTrackerMaxTorrentsPerConn
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	t.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  4 << 10,
		// WebTorrent pages on any origin announce here, as to any public
		// WebTorrent tracker; the tracker holds no credentials.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return t
}

// IsWebSocketUpgrade reports whether r asks for a WebSocket connection
// (RFC 6455 §4.1), so one URL can serve HTTP announces and WebSocket ones.
func IsWebSocketUpgrade(r *http.Request) bool {
	return websocket.IsWebSocketUpgrade(r)
}

// Stats returns the tracker's cumulative counts.
func (t *WSTracker) Stats() WSTrackerStats {
	t.mu.Lock()
	n := len(t.conns)
	t.mu.Unlock()
	c := &t.counters
	return WSTrackerStats{
		Announces: c.announces.Load(), Scrapes: c.scrapes.Load(),
		OffersRelayed: c.offers.Load(), AnswersRelayed: c.answers.Load(),
		Failures: c.failures.Load(), Conns: n,
	}
}

// ServeHTTP upgrades a GET request to a WebSocket connection and serves
// the WebTorrent tracker protocol on it until either side closes it. A
// request that is not a WebSocket upgrade gets 400 Bad Request; one over
// MaxConns, or after Close, gets 503 Service Unavailable.
func (t *WSTracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "websocket upgrade required", http.StatusBadRequest)
		return
	}
	t.mu.Lock()
	full := t.closed || len(t.conns) >= t.maxConns
	var c *wsTrackerConn
	if !full {
		// Reserve the slot before upgrading so that Close waits for it.
		c = &wsTrackerConn{
			send: make(chan []byte, wsTrackerSendQueue), done: make(chan struct{}),
			peers: make(map[wsTrackerPeerRef]struct{}),
		}
		t.conns[c] = struct{}{}
		t.wg.Add(1)
	}
	t.mu.Unlock()
	if full {
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	defer t.wg.Done()
	ws, err := t.upgrader.Upgrade(w, r, nil) // answers a failed handshake itself
	if err != nil {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		t.logger.Debug("websocket tracker: upgrade", "remote_addr", r.RemoteAddr, "err", err)
		return
	}
	t.mu.Lock()
	c.ws = ws
	closed := t.closed
	t.mu.Unlock()
	if closed { // Close ran between the reservation and the upgrade
		c.shutdown()
	}
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		c.writeLoop()
	}()
	err = t.readLoop(c)
	c.shutdown()
	writer.Wait()
	t.dropConn(c)
	t.logger.Debug("websocket tracker: connection closed", "remote_addr", r.RemoteAddr, "err", err)
}

// Close closes every connection and waits for their handlers to return.
// Later upgrades are refused. It always returns nil.
func (t *WSTracker) Close() error {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		if c.ws != nil {
			c.shutdown()
		}
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// shutdown starts tearing c down: the write loop stops and the socket is
// closed, which ends the read loop.
func (c *wsTrackerConn) shutdown() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// enqueue queues msg for c without blocking; a connection too slow to
// keep up is shut down. The WSTracker's mutex may be held.
func (c *wsTrackerConn) enqueue(msg []byte) {
	select {
	case c.send <- msg:
	default:
		c.shutdown()
	}
}

// writeLoop writes queued messages and pings until c shuts down.
func (c *wsTrackerConn) writeLoop() {
	ping := time.NewTicker(wsTrackerPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case msg := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(wsTrackerWriteTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.shutdown()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsTrackerWriteTimeout)); err != nil {
				c.shutdown()
				return
			}
		}
	}
}

// readLoop handles c's messages until the connection fails or closes.
func (t *WSTracker) readLoop(c *wsTrackerConn) error {
	c.ws.SetReadLimit(wsTrackerReadLimit)
	alive := func() { _ = c.ws.SetReadDeadline(time.Now().Add(wsTrackerIdle)) }
	alive()
	c.ws.SetPongHandler(func(string) error { alive(); return nil })
	for {
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		alive()
		if typ != websocket.TextMessage {
			t.fail(c, "", nil, errors.New("want a JSON text message"))
			continue
		}
		t.handle(c, msg)
	}
}

// dropConn removes c's peers from their swarms once c has closed.
func (t *WSTracker) dropConn(c *wsTrackerConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	for ref := range c.peers {
		s := t.swarms[ref.infoHash]
		if s == nil {
			continue
		}
		if p := s.peers[ref.peerID]; p != nil && p.conn == c {
			s.remove(ref.peerID)
		}
		if s.empty() {
			delete(t.swarms, ref.infoHash)
		}
	}
	c.peers = nil
}

// wsTrackerRequest is a message from a client. Binary strings stay Go
// strings until parsed (wsTrackerParse20).
type wsTrackerRequest struct {
	Action   string           `json:"action"`
	InfoHash json.RawMessage  `json:"info_hash"` // a string, or a list for scrape
	PeerID   string           `json:"peer_id"`
	Event    string           `json:"event"`
	Left     json.RawMessage  `json:"left"`
	Offers   []wsTrackerOffer `json:"offers"`
	Answer   json.RawMessage  `json:"answer"`
	ToPeerID string           `json:"to_peer_id"`
	OfferID  json.RawMessage  `json:"offer_id"`
}

type wsTrackerOffer struct {
	OfferID json.RawMessage `json:"offer_id"`
	Offer   json.RawMessage `json:"offer"`
}

// wsTrackerRelay is an offer or answer passed on to a peer.
type wsTrackerRelay struct {
	Action   string          `json:"action"`
	InfoHash string          `json:"info_hash"`
	PeerID   string          `json:"peer_id"`
	OfferID  json.RawMessage `json:"offer_id"`
	Offer    json.RawMessage `json:"offer,omitempty"`
	Answer   json.RawMessage `json:"answer,omitempty"`
}

// wsTrackerAnnounceReply answers an announce.
type wsTrackerAnnounceReply struct {
	Action     string `json:"action"`
	InfoHash   string `json:"info_hash"`
	Interval   int64  `json:"interval"`
	Complete   int    `json:"complete"`
	Incomplete int    `json:"incomplete"`
}

// handle serves one message.
func (t *WSTracker) handle(c *wsTrackerConn, msg []byte) {
	var req wsTrackerRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		t.fail(c, "", nil, fmt.Errorf("malformed message: %w", err))
		return
	}
	switch req.Action {
	case "announce":
		t.handleAnnounce(c, &req)
	case "scrape":
		t.handleScrape(c, &req)
	default:
		t.fail(c, "", nil, fmt.Errorf("invalid action %q", req.Action))
	}
}

func (t *WSTracker) handleAnnounce(c *wsTrackerConn, req *wsTrackerRequest) {
	var ihs string
	if err := json.Unmarshal(req.InfoHash, &ihs); err != nil {
		t.fail(c, "announce", nil, errors.New("invalid info_hash"))
		return
	}
	ih, err := wsTrackerParse20(ihs)
	if err != nil {
		t.fail(c, "announce", nil, fmt.Errorf("invalid info_hash: %w", err))
		return
	}
	id, err := wsTrackerParse20(req.PeerID)
	if err != nil {
		t.fail(c, "announce", &ih, fmt.Errorf("invalid peer_id: %w", err))
		return
	}
	if t.allowed != nil && !t.allowed(ih) {
		t.fail(c, "announce", &ih, errors.New("unregistered torrent"))
		return
	}
	if len(req.Answer) > 0 && string(req.Answer) != "null" {
		t.relayAnswer(c, req, ih, id)
		return
	}
	left, err := wsTrackerLeft(req.Left)
	if err != nil {
		t.fail(c, "announce", &ih, err)
		return
	}
	seeder := left == 0

	ref := wsTrackerPeerRef{ih, id}
	t.mu.Lock()
	if _, ok := c.peers[ref]; !ok && len(c.peers) >= t.maxTorrentsPerConn {
		t.mu.Unlock()
		t.fail(c, "announce", &ih, errors.New("too many torrents on one connection"))
		return
	}
	s := t.swarms[ih]
	if s == nil {
		s = &wsTrackerSwarm{peers: make(map[[20]byte]*wsTrackerPeer)}
		t.swarms[ih] = s
	}
	var targets []*wsTrackerConn
	if req.Event == "stopped" {
		if p := s.peers[id]; p != nil && p.conn == c {
			if !p.seeder && seeder && !p.completed {
				s.completed++
			}
			s.remove(id)
		}
		delete(c.peers, ref)
	} else {
		s.update(id, c, seeder, req.Event == "completed")
		c.peers[ref] = struct{}{}
		targets = s.pick(id, seeder, min(len(req.Offers), t.maxOffers))
	}
	reply := wsTrackerAnnounceReply{
		Action: "announce", InfoHash: wsTrackerBinary(ih[:]),
		Interval: int64(t.interval / time.Second),
		Complete: s.seeders, Incomplete: len(s.peers) - s.seeders,
	}
	if s.empty() {
		delete(t.swarms, ih)
	}
	c.enqueue(wsTrackerMarshal(reply))
	for i, to := range targets {
		to.enqueue(wsTrackerMarshal(wsTrackerRelay{
			Action: "announce", InfoHash: reply.InfoHash, PeerID: wsTrackerBinary(id[:]),
			OfferID: req.Offers[i].OfferID, Offer: req.Offers[i].Offer,
		}))
	}
	t.mu.Unlock()
	t.counters.announces.Add(1)
	t.counters.offers.Add(uint64(len(targets)))
	t.logger.Debug("websocket announce",
		"infohash", hex.EncodeToString(ih[:]),
		"event", req.Event,
		"seeder", seeder,
		"offers", len(req.Offers),
		"offers_relayed", len(targets))
	if t.onLeecher != nil && !seeder && req.Event != "stopped" {
		t.onLeecher(ih)
	}
}

// relayAnswer passes an answer to the peer whose offer it answers.
func (t *WSTracker) relayAnswer(c *wsTrackerConn, req *wsTrackerRequest, ih, from [20]byte) {
	to, err := wsTrackerParse20(req.ToPeerID)
	if err != nil {
		t.fail(c, "announce", &ih, fmt.Errorf("invalid to_peer_id: %w", err))
		return
	}
	msg := wsTrackerMarshal(wsTrackerRelay{
		Action: "announce", InfoHash: wsTrackerBinary(ih[:]), PeerID: wsTrackerBinary(from[:]),
		OfferID: req.OfferID, Answer: req.Answer,
	})
	t.mu.Lock()
	var p *wsTrackerPeer
	if s := t.swarms[ih]; s != nil {
		p = s.peers[to]
	}
	if p != nil {
		p.conn.enqueue(msg)
	}
	t.mu.Unlock()
	if p == nil {
		// The offerer has left; the answerer's peer connection times out.
		t.logger.Debug("websocket tracker: answer for a peer not in the swarm",
			"infohash", hex.EncodeToString(ih[:]))
		return
	}
	t.counters.answers.Add(1)
}

// wsTrackerScrapeFile is one torrent's entry in a scrape reply.
type wsTrackerScrapeFile struct {
	Complete   int `json:"complete"`
	Incomplete int `json:"incomplete"`
	Downloaded int `json:"downloaded"`
}

func (t *WSTracker) handleScrape(c *wsTrackerConn, req *wsTrackerRequest) {
	var list []string
	switch {
	case len(req.InfoHash) == 0 || string(req.InfoHash) == "null":
	case req.InfoHash[0] == '"':
		var s string
		if err := json.Unmarshal(req.InfoHash, &s); err != nil {
			t.fail(c, "scrape", nil, errors.New("invalid info_hash"))
			return
		}
		list = []string{s}
	default:
		if err := json.Unmarshal(req.InfoHash, &list); err != nil {
			t.fail(c, "scrape", nil, errors.New("invalid info_hash"))
			return
		}
	}
	all := len(list) == 0
	want := make([][20]byte, 0, len(list))
	for _, s := range list {
		ih, err := wsTrackerParse20(s)
		if err != nil {
			t.fail(c, "scrape", nil, fmt.Errorf("invalid info_hash: %w", err))
			return
		}
		if t.allowed == nil || t.allowed(ih) {
			want = append(want, ih)
		}
	}
	counts := make(map[[20]byte]SwarmCounts)
	t.mu.Lock()
	if all {
		for ih := range t.swarms {
			want = append(want, ih)
		}
	}
	for _, ih := range want {
		counts[ih] = t.countsLocked(ih)
	}
	t.mu.Unlock()
	files := make(map[string]wsTrackerScrapeFile, len(counts))
	for ih, n := range counts {
		if all && t.allowed != nil && !t.allowed(ih) {
			continue
		}
		files[wsTrackerBinary(ih[:])] = wsTrackerScrapeFile{Complete: n.Seeders, Incomplete: n.Leechers, Downloaded: n.Completed}
	}
	c.enqueue(wsTrackerMarshal(map[string]any{
		"action": "scrape", "files": files,
		"flags": map[string]int64{"min_request_interval": int64(t.interval / time.Second)},
	}))
	t.counters.scrapes.Add(1)
}

// fail answers a refused message with a "failure reason".
func (t *WSTracker) fail(c *wsTrackerConn, action string, ih *[20]byte, err error) {
	t.counters.failures.Add(1)
	t.logger.Debug("websocket tracker: message refused", "reason", err.Error())
	reply := map[string]string{"failure reason": err.Error()}
	if action != "" {
		reply["action"] = action
	}
	if ih != nil {
		reply["info_hash"] = wsTrackerBinary(ih[:])
	}
	c.enqueue(wsTrackerMarshal(reply))
}

// Scrape returns the WebSocket swarm's counts for a hex infohash (40
// digits, either case); zero for an unknown or malformed one. It ignores
// Allowed.
func (t *WSTracker) Scrape(infoHash string) SwarmCounts {
	var ih [20]byte
	if len(infoHash) != hex.EncodedLen(len(ih)) {
		return SwarmCounts{}
	}
	if _, err := hex.Decode(ih[:], []byte(infoHash)); err != nil {
		return SwarmCounts{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.countsLocked(ih)
}

func (t *WSTracker) countsLocked(ih [20]byte) SwarmCounts {
	s := t.swarms[ih]
	if s == nil {
		return SwarmCounts{}
	}
	return SwarmCounts{Seeders: s.seeders, Leechers: len(s.peers) - s.seeders, Completed: s.completed}
}

// peers returns the peer IDs in a swarm, each with whether it seeds.
func (t *WSTracker) peers(ih [20]byte) map[[20]byte]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.swarms[ih]
	if s == nil {
		return nil
	}
	m := make(map[[20]byte]bool, len(s.peers))
	for id, p := range s.peers {
		m[id] = p.seeder
	}
	return m
}

func (s *wsTrackerSwarm) empty() bool { return len(s.peers) == 0 && s.completed == 0 }

func (s *wsTrackerSwarm) remove(id [20]byte) {
	if p := s.peers[id]; p != nil {
		if p.seeder {
			s.seeders--
		}
		delete(s.peers, id)
	}
}

// update records an announce from peer id on c. A peer ID announced again
// from another connection moves to it. A completed download is counted
// once per peer: a "completed" event, or a leecher that now has everything.
func (s *wsTrackerSwarm) update(id [20]byte, c *wsTrackerConn, seeder, completed bool) {
	p := s.peers[id]
	if p == nil {
		p = &wsTrackerPeer{seeder: seeder}
		if seeder {
			s.seeders++
		}
		s.peers[id] = p
	}
	if !p.seeder && seeder {
		completed = true
	}
	if p.seeder != seeder {
		if seeder {
			s.seeders++
		} else {
			s.seeders--
		}
	}
	p.conn, p.seeder = c, seeder
	if completed && !p.completed {
		p.completed = true
		s.completed++
	}
}

// pick returns the connections of up to n random peers other than self;
// a seeder gets leechers only.
func (s *wsTrackerSwarm) pick(self [20]byte, seeder bool, n int) []*wsTrackerConn {
	if n <= 0 {
		return nil
	}
	cands := make([]*wsTrackerConn, 0, len(s.peers))
	for id, p := range s.peers {
		if id == self || (seeder && p.seeder) {
			continue
		}
		cands = append(cands, p.conn)
	}
	n = min(n, len(cands))
	for i := range n {
		j := i + rand.IntN(len(cands)-i)
		cands[i], cands[j] = cands[j], cands[i]
	}
	return cands[:n]
}

// wsTrackerParse20 decodes a 20-byte binary string: 20 characters, each
// U+0000–U+00FF.
func wsTrackerParse20(s string) ([20]byte, error) {
	var b [20]byte
	i := 0
	for _, r := range s {
		if r > 0xff {
			return b, fmt.Errorf("character U+%04X is not a byte", r)
		}
		if i == len(b) {
			return b, errors.New("longer than 20 bytes")
		}
		b[i] = byte(r)
		i++
	}
	if i != len(b) {
		return b, fmt.Errorf("want 20 bytes, got %d", i)
	}
	return b, nil
}

// wsTrackerBinary encodes bytes as a binary string.
func wsTrackerBinary(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// wsTrackerLeft parses "left": a number of bytes, or absent/null (unknown,
// not a seeder).
func wsTrackerLeft(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return math.Inf(1), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		// Some clients send numbers as strings.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, errors.New("invalid left")
		}
		n = json.Number(s)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f < 0 {
		return 0, errors.New("invalid left")
	}
	return f, nil
}

// wsTrackerMarshal encodes one of the tracker's own reply types, which
// cannot fail.
func wsTrackerMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"failure reason":"internal error"}`)
	}
	return b
}
