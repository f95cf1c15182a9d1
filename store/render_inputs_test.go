package store

import (
	"bytes"
	"strings"
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
	// A dead web seed changes what the feeds show (its web seed is
	// withheld), and so does its revival.
	if _, err := s.UpdateTorrentProbe(ctx, ih[3], TorrentProbe{At: time.Now(), Dead: true, DeadReason: "404"}); err != nil {
		t.Fatal(err)
	}
	dead := renderInputs(t, s, 1)
	if bytes.Equal(dead, a0) {
		t.Error("dead web seed: inputs unchanged")
	}
	if _, err := s.UpdateTorrentProbe(ctx, ih[3], TorrentProbe{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := renderInputs(t, s, 1); !bytes.Equal(got, a0) {
		t.Error("revived web seed: inputs differ from before")
	}
	if _, err := s.UpdateTorrentProbe(ctx, ih[3], TorrentProbe{At: time.Now(), ResolvedURL: "https://cdn.example/1.mp3"}); err != nil {
		t.Fatal(err)
	}
	if got := renderInputs(t, s, 1); bytes.Equal(got, a0) {
		t.Error("new resolved URL: inputs unchanged")
	}
	a0 = renderInputs(t, s, 1)
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

// TestWriteFeedRenderInputsCoveringIndex: the torrent columns come from the
// covering index, so a cache key never reads a metainfo blob.
func TestWriteFeedRenderInputsCoveringIndex(t *testing.T) {
	s, _ := retentionFixture(t)
	rows, err := s.db.QueryContext(t.Context(), `EXPLAIN QUERY PLAN SELECT t.web_seed_withheld, t.source_url,
		t.resolved_url, t.web_seed_dead_at, t.retired_at, t.publisher_url
		FROM episodes e LEFT JOIN torrents t INDEXED BY torrents_render_inputs ON t.info_hash = e.info_hash
		WHERE e.feed_id = 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(plan, "\n"); !strings.Contains(joined, "COVERING INDEX torrents_render_inputs") {
		t.Errorf("query plan does not read torrents from the covering index:\n%s", joined)
	}
}
