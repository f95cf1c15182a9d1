package store

import (
	"bytes"
	"testing"
	"time"
)

func renderInputs(t *testing.T, s *Store, feedID int64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteFeedRenderInputs(t.Context(), feedID, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteFeedRenderInputs: the encoding changes exactly when a feed's
// ready episodes or their torrents do.
func TestWriteFeedRenderInputs(t *testing.T) {
	s, ih := retentionFixture(t) // feeds 1 (A) and 2 (B)
	ctx := t.Context()
	a0, b0 := renderInputs(t, s, 1), renderInputs(t, s, 2)
	if len(a0) == 0 || len(b0) == 0 || bytes.Equal(a0, b0) {
		t.Fatalf("inputs: %d and %d bytes, equal %v; want distinct, non-empty", len(a0), len(b0), bytes.Equal(a0, b0))
	}
	if got := renderInputs(t, s, 1); !bytes.Equal(got, a0) {
		t.Error("unchanged feed: inputs differ")
	}
	if got := renderInputs(t, s, 99); len(got) != 0 {
		t.Errorf("unknown feed: %d bytes, want none", len(got))
	}
	// Eviction does not change what the feeds show.
	if err := s.MarkTorrentEvicted(ctx, ih[2], time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := renderInputs(t, s, 1); !bytes.Equal(got, a0) {
		t.Error("eviction changed the render inputs")
	}
	// A changed title changes feed A's inputs, not feed B's.
	mustUpsertEpisodes(t, s, 1, Episode{GUID: "a1", Title: "renamed", EnclosureURL: "https://a.example/1.mp3",
		PublishedAt: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)})
	a1 := renderInputs(t, s, 1)
	if bytes.Equal(a1, a0) {
		t.Error("renamed episode: inputs unchanged")
	}
	if got := renderInputs(t, s, 2); !bytes.Equal(got, b0) {
		t.Error("feed A's change changed feed B's inputs")
	}
	// A newly ready episode changes them.
	ne := mustUpsertEpisodes(t, s, 1, Episode{GUID: "a6", EnclosureURL: "https://a.example/6.mp3"})
	if got := renderInputs(t, s, 1); !bytes.Equal(got, a1) {
		t.Error("a pending episode changed the inputs")
	}
	mustCreateTorrent(t, s, testTorrent(hexHash(6), ne[0].ID))
	if got := renderInputs(t, s, 1); bytes.Equal(got, a1) {
		t.Error("newly ready episode: inputs unchanged")
	}
}
