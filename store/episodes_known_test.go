package store

import (
	"testing"
	"time"
)

// TestUpsertEpisodesKnownChanges checks that UpsertEpisodes, which writes
// only what changed for known episodes, still applies each kind of change:
// a new title alone, a publication time removed, one added, and nothing
// when nothing changed.
func TestUpsertEpisodesKnownChanges(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f, _, err := s.CreateFeed(ctx, "https://feeds.example/known.rss")
	if err != nil {
		t.Fatal(err)
	}
	pub := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	first := []Episode{
		{GUID: "a", Title: "A", EnclosureURL: "https://a.example/a.mp3", PublishedAt: pub},
		{GUID: "b", Title: "B", EnclosureURL: "https://a.example/b.mp3", PublishedAt: pub},
		{GUID: "c", Title: "C", EnclosureURL: "https://a.example/c.mp3"},
	}
	if _, err := s.UpsertEpisodes(ctx, f.ID, first); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		eps  []Episode
		want map[string]Episode // by GUID: Title and PublishedAt
	}{
		{"unchanged", first, map[string]Episode{
			"a": {Title: "A", PublishedAt: pub}, "b": {Title: "B", PublishedAt: pub}, "c": {Title: "C"},
		}},
		{"changes", []Episode{
			{GUID: "a", Title: "A renamed", EnclosureURL: "https://a.example/a.mp3", PublishedAt: pub},
			{GUID: "b", Title: "B", EnclosureURL: "https://a.example/b.mp3"},
			{GUID: "c", Title: "C", EnclosureURL: "https://a.example/c.mp3", PublishedAt: pub.Add(time.Hour)},
		}, map[string]Episode{
			"a": {Title: "A renamed", PublishedAt: pub}, "b": {Title: "B"}, "c": {Title: "C", PublishedAt: pub.Add(time.Hour)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, err := s.UpsertEpisodes(ctx, f.ID, tt.eps)
			if err != nil {
				t.Fatal(err)
			}
			if len(added) != 0 {
				t.Errorf("got %d new episodes, want 0", len(added))
			}
			eps, err := s.ListEpisodesByFeed(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(eps) != len(tt.want) {
				t.Fatalf("got %d episodes, want %d", len(eps), len(tt.want))
			}
			for _, e := range eps {
				w := tt.want[e.GUID]
				if e.Title != w.Title || !e.PublishedAt.Equal(w.PublishedAt) {
					t.Errorf("guid %q: got %q %v, want %q %v", e.GUID, e.Title, e.PublishedAt, w.Title, w.PublishedAt)
				}
			}
		})
	}
}
