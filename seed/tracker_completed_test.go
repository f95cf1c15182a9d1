package seed

import (
	"fmt"
	"maps"
	"net/url"
	"testing"
)

// TestTrackerCompletedPersistence walks the save/restore cycle: restored
// counts show in scrapes and go on growing, CompletedChanges reports only
// changed swarms, MarkCompletedSaved clears them unless they grew again,
// and a failed save (no MarkCompletedSaved) reports the same change again.
func TestTrackerCompletedPersistence(t *testing.T) {
	trkIH3 := [20]byte{3}
	tr := NewTracker(TrackerConfig{Logger: btTestLogger(t)})
	tr.RestoreCompleted(map[[20]byte]int{trkIH1: 7, trkIH2: 0, trkIH3: -1})

	if got, want := tr.Scrape(fmt.Sprintf("%x", trkIH1)), (SwarmCounts{Completed: 7}); got != want {
		t.Errorf("restored: got %+v, want %+v", got, want)
	}
	reply := trkDo(t, tr.ServeScrape, "/scrape?info_hash="+url.QueryEscape(string(trkIH1[:])), "192.0.2.1:1")
	files, _ := reply["files"].(map[string]any)
	if f, _ := files[string(trkIH1[:])].(map[string]any); f == nil || f["downloaded"] != int64(7) {
		t.Errorf("BEP 48 scrape after restore: got %v, want downloaded 7", reply)
	}
	if got := tr.CompletedChanges(); len(got) != 0 {
		t.Errorf("changes right after restore: got %v, want none", got)
	}
	if got := tr.Scrape(fmt.Sprintf("%x", trkIH2)); got != (SwarmCounts{}) {
		t.Errorf("zero count restored: got %+v, want zero", got)
	}

	complete := func(ih [20]byte, peer int) {
		t.Helper()
		trkMustAnnounce(t, tr, trkAnnounce{ih: ih, peerID: trkPeerID(peer), remote: fmt.Sprintf("192.0.2.%d:1", peer), left: "0", event: "completed"})
	}
	complete(trkIH1, 1)
	complete(trkIH2, 2)
	want := map[[20]byte]int{trkIH1: 8, trkIH2: 1}
	changes := tr.CompletedChanges()
	if !maps.Equal(changes, want) {
		t.Fatalf("changes: got %v, want %v", changes, want)
	}
	// A failed save: not marked, so the same changes come again.
	if got := tr.CompletedChanges(); !maps.Equal(got, want) {
		t.Errorf("changes after an unmarked save: got %v, want %v", got, want)
	}
	// trkIH1 grows while the save is in flight.
	complete(trkIH1, 3)
	tr.MarkCompletedSaved(changes)
	if got, want := tr.CompletedChanges(), map[[20]byte]int{trkIH1: 9}; !maps.Equal(got, want) {
		t.Errorf("changes after marking a stale save: got %v, want %v", got, want)
	}
	tr.MarkCompletedSaved(map[[20]byte]int{trkIH1: 9, trkIH3: 4}) // trkIH3: no swarm, ignored
	if got := tr.CompletedChanges(); len(got) != 0 {
		t.Errorf("changes after marking everything: got %v, want none", got)
	}
	if got, want := tr.Scrape(fmt.Sprintf("%x", trkIH1)), (SwarmCounts{Seeders: 2, Completed: 9}); got != want {
		t.Errorf("after completions: got %+v, want %+v", got, want)
	}
}
