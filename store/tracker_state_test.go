package store

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTrackerCompleted saves counts, reads them back through a second
// Store on the same file (as a restarted podseed would), and checks that
// counts never go down and bad input writes nothing.
func TestTrackerCompleted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podseed.db")
	s := mustOpenStoreAt(t, path)
	ctx := t.Context()
	a, b, c := hexHash(1), hexHash(2), hexHash(3)

	got, err := s.ListTrackerCompleted(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty store: got %v, %v, want an empty map", got, err)
	}
	steps := []struct {
		name    string
		save    map[string]int
		wantErr bool
		want    map[string]int
	}{
		{"first save", map[string]int{a: 3, strings.ToUpper(b): 1, c: 0}, false, map[string]int{a: 3, b: 1}},
		{"counts grow", map[string]int{a: 5}, false, map[string]int{a: 5, b: 1}},
		{"a lower count is ignored", map[string]int{a: 2, b: 4}, false, map[string]int{a: 5, b: 4}},
		{"bad infohash writes nothing", map[string]int{c: 9, "xyz": 1}, true, map[string]int{a: 5, b: 4}},
		{"negative count writes nothing", map[string]int{c: 9, a: -1}, true, map[string]int{a: 5, b: 4}},
		{"nothing to save", nil, false, map[string]int{a: 5, b: 4}},
	}
	for _, st := range steps {
		err := s.SaveTrackerCompleted(ctx, st.save)
		if (err != nil) != st.wantErr {
			t.Errorf("%s: err %v, want error %v", st.name, err, st.wantErr)
		}
		got, err := s.ListTrackerCompleted(ctx)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !maps.Equal(got, st.want) {
			t.Errorf("%s: got %v, want %v", st.name, got, st.want)
		}
	}

	// A second Store on the same file sees the counts.
	s2 := mustOpenStoreAt(t, path)
	if got, err := s2.ListTrackerCompleted(ctx); err != nil || !maps.Equal(got, map[string]int{a: 5, b: 4}) {
		t.Errorf("second store: got %v, %v", got, err)
	}
}

func TestListTorrentInfoHashes(t *testing.T) {
	s := mustOpenStore(t)
	got, err := s.ListTorrentInfoHashes(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: got %v, %v, want none", got, err)
	}
	want := mustCreateTorrents(t, s, 10, 3)
	got, err = s.ListTorrentInfoHashes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
