package seed

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestTrackerStats counts requests by transport and outcome.
func TestTrackerStats(t *testing.T) {
	tr := NewTracker(TrackerConfig{Allowed: func(ih [20]byte) bool { return ih != trkIH2 }, Logger: btTestLogger(t)})
	if got := tr.Stats(); got != (TrackerStats{}) {
		t.Fatalf("new tracker: got %+v, want zero", got)
	}

	// HTTP: two announces, one scrape; two refused; one wrong method.
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(1), remote: "192.0.2.1:1", left: "0"})
	trkMustAnnounce(t, tr, trkAnnounce{ih: trkIH1, peerID: trkPeerID(2), remote: "192.0.2.2:1", left: "10"})
	refused := trkAnnounce{ih: trkIH2, peerID: trkPeerID(1), remote: "192.0.2.1:1", port: 1, left: "0"}
	if reply := trkDo(t, tr.ServeAnnounce, "/announce?"+refused.query(), refused.remote); reply["failure reason"] == nil {
		t.Errorf("announce of a torrent not allowed: got %v, want a failure reason", reply)
	}
	trkDo(t, tr.ServeScrape, "/scrape?info_hash="+url.QueryEscape(string(trkIH1[:])), "192.0.2.1:1")
	if reply := trkDo(t, tr.ServeScrape, "/scrape?info_hash=short", "192.0.2.1:1"); reply["failure reason"] == nil {
		t.Errorf("malformed scrape: got %v, want a failure reason", reply)
	}
	w := httptest.NewRecorder()
	tr.ServeAnnounce(w, httptest.NewRequest(http.MethodPost, "/announce", nil))

	// UDP: one announce, two scrapes, one refused announce; connects are
	// not counted.
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	c := trkMustDialUDP(t, server)
	c.announce(trkUDPAnnounce{ih: trkIH1, peerID: trkPeerID(3), left: 0, numWant: -1})
	c.scrape(trkIH1)
	c.scrape(trkIH1, trkIH2)
	if action, _ := c.roundTrip(trkUDPAnnounce{ih: trkIH2, peerID: trkPeerID(3), numWant: -1, port: 1}.packet(c.connect(), c.nextTID())); action != trackerUDPActionError {
		t.Errorf("udp announce of a torrent not allowed: got action %d, want %d", action, trackerUDPActionError)
	}

	want := TrackerStats{HTTPAnnounces: 2, UDPAnnounces: 1, HTTPScrapes: 1, UDPScrapes: 2, Failures: 3}
	if got := tr.Stats(); got != want {
		t.Errorf("Stats: got %+v, want %+v", got, want)
	}
}
