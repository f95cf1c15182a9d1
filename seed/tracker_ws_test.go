package seed

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsTestServer serves tr on a loopback httptest server and returns its
// ws:// announce URL. The tracker is closed before the server.
func wsTestServer(t *testing.T, tr *WSTracker) string {
	t.Helper()
	srv := httptest.NewServer(tr)
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Errorf("close ws tracker: %v", err)
		}
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/announce"
}

// wsTestConn is a raw WebSocket tracker client.
type wsTestConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func wsTestDial(t *testing.T, u string) *wsTestConn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return &wsTestConn{t: t, ws: ws}
}

func (c *wsTestConn) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recv reads the next message as a JSON object.
func (c *wsTestConn) recv() map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

// recvNone asserts that nothing arrives within a short while (a relayed
// message would arrive at once on loopback). The connection cannot be
// read afterwards.
func (c *wsTestConn) recvNone() {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, b, err := c.ws.ReadMessage(); err == nil {
		c.t.Fatalf("got unexpected message %s", b)
	}
}

func bin(b [20]byte) string { return wsTrackerBinary(b[:]) }

func TestWSTrackerParse20(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"bytes", wsTrackerBinary([]byte{0, 1, 0x7f, 0x80, 0xff, 0xfe, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}), true},
		{"ascii", "-WW0208-abcdefghijkl", true},
		{"short", "abc", false},
		{"long", strings.Repeat("a", 21), false},
		{"not a byte", strings.Repeat("a", 19) + "€", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wsTrackerParse20(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("got err %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && wsTrackerBinary(b[:]) != tt.in {
				t.Errorf("round trip: got %q, want %q", wsTrackerBinary(b[:]), tt.in)
			}
		})
	}
}

// TestWSTrackerSignalling: a seeder and a leecher announce; the leecher's
// offers reach the seeder (one offer, one peer), the seeder's answer
// reaches the leecher, counts follow announces, "completed" and closing.
func TestWSTrackerSignalling(t *testing.T) {
	tr := NewWSTracker(WSTrackerConfig{Logger: btTestLogger(t)})
	u := wsTestServer(t, tr)
	ih := trkIH2 // bytes above 0x7f and 0
	ihHex := hex.EncodeToString(ih[:])
	seedID, leechID := trkPeerID(1), trkPeerID(2)

	seeder := wsTestDial(t, u)
	seeder.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(seedID),
		"event": "started", "left": 0, "numwant": 1,
		"offers": []any{map[string]any{"offer_id": "seeder-offer-00000001", "offer": map[string]string{"type": "offer", "sdp": "v=0 seeder"}}}})
	r := seeder.recv()
	if r["action"] != "announce" || r["info_hash"] != bin(ih) || r["complete"] != 1.0 || r["incomplete"] != 0.0 || r["interval"] != 120.0 {
		t.Fatalf("seeder reply: got %v", r)
	}
	if got := tr.Scrape(ihHex); got != (SwarmCounts{Seeders: 1}) {
		t.Fatalf("Scrape after seeder: got %+v", got)
	}

	leecher := wsTestDial(t, u)
	offer := map[string]string{"type": "offer", "sdp": "v=0 leecher"}
	leecher.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(leechID),
		"event": "started", "left": 1000, "numwant": 2,
		"offers": []any{
			map[string]any{"offer_id": wsTrackerBinary([]byte("offer-one-\x00\xff-345678")), "offer": offer},
			map[string]any{"offer_id": "offer-two-0123456789", "offer": offer},
		}})
	r = leecher.recv()
	if r["complete"] != 1.0 || r["incomplete"] != 1.0 {
		t.Fatalf("leecher reply: got %v", r)
	}
	// Only one other peer: exactly one offer is relayed.
	r = seeder.recv()
	if r["action"] != "announce" || r["peer_id"] != bin(leechID) || r["info_hash"] != bin(ih) {
		t.Fatalf("relayed offer: got %v", r)
	}
	if o, _ := r["offer"].(map[string]any); o["sdp"] != "v=0 leecher" {
		t.Fatalf("relayed offer body: got %v", r["offer"])
	}
	offerID, _ := r["offer_id"].(string)
	if offerID != wsTrackerBinary([]byte("offer-one-\x00\xff-345678")) && offerID != "offer-two-0123456789" {
		t.Fatalf("relayed offer_id: got %q", offerID)
	}
	if s := tr.Stats(); s.OffersRelayed != 1 || s.Announces != 2 || s.Conns != 2 {
		t.Fatalf("stats: got %+v", s)
	}

	// The seeder answers; the answer reaches the leecher with the seeder's
	// peer ID, and the seeder gets no reply.
	seeder.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(seedID),
		"to_peer_id": bin(leechID), "offer_id": offerID, "answer": map[string]string{"type": "answer", "sdp": "v=0 answer"}})
	r = leecher.recv()
	if r["peer_id"] != bin(seedID) || r["offer_id"] != offerID || r["info_hash"] != bin(ih) {
		t.Fatalf("relayed answer: got %v", r)
	}
	if a, _ := r["answer"].(map[string]any); a["sdp"] != "v=0 answer" {
		t.Fatalf("relayed answer body: got %v", r["answer"])
	}

	// The leecher completes, then scrapes.
	leecher.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(leechID),
		"event": "completed", "left": 0, "offers": []any{}})
	if r := leecher.recv(); r["complete"] != 2.0 || r["incomplete"] != 0.0 {
		t.Fatalf("completed reply: got %v", r)
	}
	leecher.send(map[string]any{"action": "scrape", "info_hash": bin(ih)})
	r = leecher.recv()
	files, _ := r["files"].(map[string]any)
	f, _ := files[bin(ih)].(map[string]any)
	if r["action"] != "scrape" || f["complete"] != 2.0 || f["incomplete"] != 0.0 || f["downloaded"] != 1.0 {
		t.Fatalf("scrape: got %v", r)
	}

	// Closing the leecher's connection takes it out of the swarm; the
	// completed count stays.
	leecher.ws.Close()
	btWaitUntil(t, 10*time.Second, "leecher to leave", func() bool {
		return tr.Scrape(ihHex) == SwarmCounts{Seeders: 1, Completed: 1}
	})
	// A stopped event takes the seeder out. Its reply is the next message
	// the seeder gets: no second offer, no reply to its answer.
	seeder.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(seedID), "event": "stopped", "left": 0})
	if r := seeder.recv(); r["complete"] != 0.0 {
		t.Fatalf("stopped reply: got %v", r)
	}
	if got := tr.Scrape(ihHex); got != (SwarmCounts{Completed: 1}) {
		t.Fatalf("Scrape after stop: got %+v", got)
	}
}

// TestWSTrackerSeederOffersGoToLeechers: a seeder's offers are never
// relayed to another seeder.
func TestWSTrackerSeederOffersGoToLeechers(t *testing.T) {
	tr := NewWSTracker(WSTrackerConfig{})
	u := wsTestServer(t, tr)
	a, b := wsTestDial(t, u), wsTestDial(t, u)
	offers := []any{map[string]any{"offer_id": "o-000000000000000001", "offer": map[string]string{"type": "offer", "sdp": "x"}}}
	a.send(map[string]any{"action": "announce", "info_hash": bin(trkIH1), "peer_id": bin(trkPeerID(1)), "left": 0, "offers": offers})
	a.recv()
	b.send(map[string]any{"action": "announce", "info_hash": bin(trkIH1), "peer_id": bin(trkPeerID(2)), "left": 0, "offers": offers})
	b.recv()
	a.recvNone()
	if s := tr.Stats(); s.OffersRelayed != 0 {
		t.Fatalf("offers relayed between seeders: %d", s.OffersRelayed)
	}
}

func TestWSTrackerRefusals(t *testing.T) {
	allowed := trkIH1
	tr := NewWSTracker(WSTrackerConfig{Allowed: func(ih [20]byte) bool { return ih == allowed }})
	u := wsTestServer(t, tr)
	tests := []struct {
		name    string
		msg     string
		reason  string
		hasHash bool
	}{
		{"not json", `{"action":`, "malformed message", false},
		{"bad action", `{"action":"connect"}`, `invalid action "connect"`, false},
		{"short info_hash", `{"action":"announce","info_hash":"abc","peer_id":"-PS0001-000000000001"}`, "invalid info_hash", false},
		{"info_hash not a string", `{"action":"announce","info_hash":5,"peer_id":"-PS0001-000000000001"}`, "invalid info_hash", false},
		{"bad peer_id", `{"action":"announce","info_hash":` + strings.TrimSpace(mustJSON(t, bin(trkIH1))) + `,"peer_id":"x"}`, "invalid peer_id", true},
		{"unregistered", `{"action":"announce","info_hash":` + mustJSON(t, bin(trkIH2)) + `,"peer_id":"-PS0001-000000000001","left":0}`, "unregistered torrent", true},
		{"bad left", `{"action":"announce","info_hash":` + mustJSON(t, bin(trkIH1)) + `,"peer_id":"-PS0001-000000000001","left":-1}`, "invalid left", true},
		{"answer without to_peer_id", `{"action":"announce","info_hash":` + mustJSON(t, bin(trkIH1)) + `,"peer_id":"-PS0001-000000000001","answer":{"sdp":"x"}}`, "invalid to_peer_id", true},
		{"bad scrape", `{"action":"scrape","info_hash":["short"]}`, "invalid info_hash", false},
	}
	c := wsTestDial(t, u)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte(tt.msg)); err != nil {
				t.Fatal(err)
			}
			r := c.recv()
			reason, _ := r["failure reason"].(string)
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("failure reason: got %q, want it to contain %q", reason, tt.reason)
			}
			if _, ok := r["info_hash"]; ok != tt.hasHash {
				t.Errorf("reply %v: info_hash present = %v, want %v", r, ok, tt.hasHash)
			}
		})
	}
	// The connection survives refusals, and a scrape of everything leaves
	// out torrents that are not allowed.
	c.send(map[string]any{"action": "announce", "info_hash": bin(trkIH1), "peer_id": bin(trkPeerID(1)), "left": 0})
	c.recv()
	c.send(map[string]any{"action": "scrape"})
	r := c.recv()
	if files, _ := r["files"].(map[string]any); len(files) != 1 || files[bin(trkIH1)] == nil {
		t.Fatalf("scrape all: got %v", r)
	}
	if s := tr.Stats(); s.Failures != uint64(len(tests)) {
		t.Errorf("failures: got %d, want %d", s.Failures, len(tests))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWSTrackerHTTPAndLimits(t *testing.T) {
	tr := NewWSTracker(WSTrackerConfig{MaxConns: 1})
	u := wsTestServer(t, tr)
	httpURL := "http" + strings.TrimPrefix(u, "ws")
	resp, err := http.Get(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET: got %d, want 400", resp.StatusCode)
	}
	wsTestDial(t, u)
	_, resp, err = websocket.DefaultDialer.Dial(u, nil)
	if err == nil {
		t.Fatal("second connection over MaxConns=1 accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second connection: got %v, want 503", resp)
	}
	resp.Body.Close()
	// After Close, connections are closed and new ones refused.
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.Conns != 0 {
		t.Fatalf("conns after Close: %d", s.Conns)
	}
	_, resp, err = websocket.DefaultDialer.Dial(u, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: err %v, resp %v", err, resp)
	}
	resp.Body.Close()
}

// TestWSTrackerPeersShareConn: several peers of one torrent on one
// connection (the npm client pools connections) are all in the swarm, and
// closing the connection leaves none behind.
func TestWSTrackerPeersShareConn(t *testing.T) {
	tr := NewWSTracker(WSTrackerConfig{})
	u := wsTestServer(t, tr)
	ihHex := hex.EncodeToString(trkIH1[:])
	c := wsTestDial(t, u)
	for i := range 3 {
		c.send(map[string]any{"action": "announce", "info_hash": bin(trkIH1), "peer_id": bin(trkPeerID(i)), "left": 5})
		if r := c.recv(); r["incomplete"] != float64(i+1) {
			t.Fatalf("announce %d: got %v, want %d leechers", i, r, i+1)
		}
	}
	c.ws.Close()
	btWaitUntil(t, 10*time.Second, "the swarm to empty", func() bool {
		return tr.Scrape(ihHex) == SwarmCounts{}
	})

	// MaxTorrentsPerConn bounds the pairs one connection may announce.
	limited := NewWSTracker(WSTrackerConfig{MaxTorrentsPerConn: 2})
	c = wsTestDial(t, wsTestServer(t, limited))
	for i := range 3 {
		c.send(map[string]any{"action": "announce", "info_hash": bin(trkIH1), "peer_id": bin(trkPeerID(i)), "left": 5})
		r := c.recv()
		if reason, _ := r["failure reason"].(string); (i == 2) != strings.Contains(reason, "too many") {
			t.Errorf("announce %d over MaxTorrentsPerConn=2: got %v", i, r)
		}
	}
}

// TestSwarmsMergesPeerIDs: a peer announcing to both trackers counts once.
func TestSwarmsMergesPeerIDs(t *testing.T) {
	httpTr := NewTracker(TrackerConfig{})
	ws := NewWSTracker(WSTrackerConfig{})
	u := wsTestServer(t, ws)
	ihHex := hex.EncodeToString(trkIH1[:])
	both, wsOnly, httpOnly := trkPeerID(1), trkPeerID(2), trkPeerID(3)
	for _, a := range []trkAnnounce{
		{ih: trkIH1, peerID: both, remote: "10.0.0.1:5000", port: 6881, left: "0"},
		{ih: trkIH1, peerID: httpOnly, remote: "10.0.0.2:5000", port: 6881, left: "10"},
	} {
		rec := httptest.NewRecorder()
		httpTr.ServeAnnounce(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/announce?"+a.query(), nil))
	}
	c := wsTestDial(t, u)
	for _, id := range [][20]byte{both, wsOnly} {
		c.send(map[string]any{"action": "announce", "info_hash": bin(trkIH1), "peer_id": bin(id), "left": map[bool]int{true: 0, false: 5}[id == both]})
		c.recv()
	}
	got := Swarms{Tracker: httpTr, WS: ws}.Scrape(ihHex)
	if want := (SwarmCounts{Seeders: 1, Leechers: 2}); got != want {
		t.Fatalf("merged: got %+v, want %+v", got, want)
	}
	if got := (Swarms{Tracker: httpTr}).Scrape(ihHex); got != (SwarmCounts{Seeders: 1, Leechers: 1}) {
		t.Fatalf("HTTP only: got %+v", got)
	}
}

// TestWSTrackerAnacrolixClient: podseed's own Client, seeding a torrent
// whose announce URL is ws://, announces to the WSTracker through
// anacrolix's WebTorrent tracker client and is counted as a seeder.
func TestWSTrackerAnacrolixClient(t *testing.T) {
	tr := NewWSTracker(WSTrackerConfig{Logger: btTestLogger(t)})
	u := wsTestServer(t, tr)
	dir := t.TempDir()
	dataPath := dir + "/episode.mp3"
	btMustWriteRandomFile(t, dataPath, 100<<10)
	mi := btMustMakeTorrent(t, dataPath, 16<<10, u)
	c := btMustNewClient(t, dir)
	ih, err := c.AddTorrent(t.Context(), mi, dataPath, true)
	if err != nil {
		t.Fatal(err)
	}
	btWaitUntil(t, 30*time.Second, "anacrolix to announce as a seeder", func() bool {
		return tr.Scrape(ih).Seeders == 1
	})
	if s := tr.Stats(); s.Conns != 1 || s.Failures != 0 {
		t.Fatalf("stats: got %+v", s)
	}
	// Dropping the torrent sends "stopped".
	if err := c.DropTorrent(ih); err != nil {
		t.Fatal(err)
	}
	btWaitUntil(t, 30*time.Second, "anacrolix to stop", func() bool {
		return tr.Scrape(ih) == SwarmCounts{}
	})
}

// TestWSTrackerJoinOnLeecher: a Client seeding without any tracker joins
// the WebSocket swarm when OnLeecher reports a leecher (Client.AddTrackers),
// and its WebRTC offer, made by anacrolix, reaches the waiting leecher.
func TestWSTrackerJoinOnLeecher(t *testing.T) {
	var c *Client
	var u string
	joined := make(chan string, 16)
	tr := NewWSTracker(WSTrackerConfig{Logger: btTestLogger(t), OnLeecher: func(ih [20]byte) {
		h := hex.EncodeToString(ih[:])
		joined <- h
		if err := c.AddTrackers(h, []string{u}); err != nil {
			t.Errorf("add trackers: %v", err)
		}
	}})
	u = wsTestServer(t, tr)
	dir := t.TempDir()
	dataPath := dir + "/episode.mp3"
	btMustWriteRandomFile(t, dataPath, 100<<10)
	mi := btMustMakeTorrent(t, dataPath, 16<<10, "")
	c = btMustNewClient(t, dir)
	ihHex, err := c.AddTorrent(t.Context(), mi, dataPath, true)
	if err != nil {
		t.Fatal(err)
	}
	var ih [20]byte
	if _, err := hex.Decode(ih[:], []byte(ihHex)); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTrackers(strings.Repeat("0", 40), []string{u}); !errors.Is(err, ErrUnknownTorrent) {
		t.Errorf("AddTrackers for an unknown torrent: got %v, want ErrUnknownTorrent", err)
	}

	// A seeder's announce does not call OnLeecher.
	other := wsTestDial(t, u)
	other.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(trkPeerID(9)), "left": 0})
	other.recv()

	leecher := wsTestDial(t, u)
	leecher.send(map[string]any{"action": "announce", "info_hash": bin(ih), "peer_id": bin(trkPeerID(1)),
		"event": "started", "left": 100 << 10, "offers": []any{}})
	if r := leecher.recv(); r["incomplete"] != 1.0 {
		t.Fatalf("leecher reply: got %v", r)
	}
	select {
	case got := <-joined:
		if got != ihHex {
			t.Fatalf("OnLeecher: got %s, want %s", got, ihHex)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnLeecher not called for a leecher")
	}
	// podseed's client announces as a seeder with one offer, relayed to
	// the only leecher.
	r := leecher.recv()
	for r["offer"] == nil { // skip anything else, such as replies
		r = leecher.recv()
	}
	peerID, _ := r["peer_id"].(string)
	if !strings.HasPrefix(peerID, "-GT0003-") {
		t.Errorf("offer from peer %q, want anacrolix's -GT0003-", peerID)
	}
	// A WebRTC data channel offer.
	if o, _ := r["offer"].(map[string]any); o["type"] != "offer" || !strings.Contains(fmt.Sprint(o["sdp"]), "m=application") {
		t.Errorf("offer: got %v", r["offer"])
	}
	if got := tr.Scrape(ihHex); got.Seeders != 2 || got.Leechers != 1 {
		t.Errorf("counts: got %+v, want 2 seeders (podseed's client and the other) and 1 leecher", got)
	}
	if len(joined) != 0 {
		t.Errorf("OnLeecher called %d more times", len(joined))
	}
}

// FuzzWSTrackerMessage feeds arbitrary messages to the WebSocket tracker
// from two connections: it must never panic, and everything it sends is a
// JSON object with an "action" or a "failure reason".
func FuzzWSTrackerMessage(f *testing.F) {
	ih := wsTrackerBinary(trkIH2[:])
	for _, s := range []string{
		`{"action":"announce","info_hash":` + strconv.Quote(ih) + `,"peer_id":"-WW0208-abcdefghijkl","left":0,"offers":[{"offer_id":"x","offer":{"type":"offer","sdp":"v=0"}}]}`,
		`{"action":"announce","info_hash":` + strconv.Quote(ih) + `,"peer_id":"-WW0208-abcdefghijkl","to_peer_id":"-WW0208-000000000000","offer_id":"x","answer":{"type":"answer"}}`,
		`{"action":"announce","info_hash":` + strconv.Quote(ih) + `,"peer_id":"-WW0208-abcdefghijkl","event":"stopped","left":"5"}`,
		`{"action":"scrape","info_hash":[` + strconv.Quote(ih) + `]}`,
		`{"action":"scrape"}`,
		`{"action":"announce","info_hash":"\u0100bcdefghijklmnopqrs"}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		tr := NewWSTracker(WSTrackerConfig{MaxTorrentsPerConn: 2, OnLeecher: func([20]byte) {}})
		conns := make([]*wsTrackerConn, 2)
		for i := range conns {
			conns[i] = &wsTrackerConn{send: make(chan []byte, 1024), done: make(chan struct{}), peers: make(map[wsTrackerPeerRef]struct{})}
		}
		// A leecher with an offer, so that relays happen.
		tr.handle(conns[1], []byte(`{"action":"announce","info_hash":`+strconv.Quote(ih)+`,"peer_id":"-WW0208-000000000000","left":9}`))
		tr.handle(conns[0], msg)
		tr.handle(conns[0], msg)
		for _, c := range conns {
			for len(c.send) > 0 {
				out := <-c.send
				var m map[string]any
				if err := json.Unmarshal(out, &m); err != nil {
					t.Fatalf("sent invalid JSON %q: %v", out, err)
				}
				if m["action"] == nil && m["failure reason"] == nil {
					t.Fatalf("sent %q: neither action nor failure reason", out)
				}
			}
			tr.dropConn(c)
		}
		if s := tr.Scrape(hex.EncodeToString(trkIH2[:])); s.Seeders != 0 || s.Leechers != 0 {
			t.Fatalf("peers left after their connections dropped: %+v", s)
		}
	})
}
