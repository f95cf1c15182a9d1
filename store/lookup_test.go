package store

import (
	"slices"
	"testing"
	"time"
)

// TestListEpisodeTorrentsLookups: the lookups find ready episodes of every
// feed by enclosure URL, GUID and infohash, newest first, and never pending
// ones; ListRecentEpisodeTorrents orders all feeds' ready episodes and
// honours its limit.
func TestListEpisodeTorrentsLookups(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	a := mustCreateFeed(t, s, "https://a.example/feed.xml")
	b := mustCreateFeed(t, s, "https://b.example/feed.xml")
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	const shared = "https://cdn.example/shared.mp3"
	ea := mustUpsertEpisodes(t, s, a.ID,
		Episode{GUID: "a1", EnclosureURL: "https://a.example/1.mp3", PublishedAt: day(1)},
		Episode{GUID: "same-guid", EnclosureURL: shared, PublishedAt: day(3)},
		Episode{GUID: "a-pending", EnclosureURL: "https://a.example/pending.mp3", PublishedAt: day(9)},
	)
	eb := mustUpsertEpisodes(t, s, b.ID,
		Episode{GUID: "same-guid", EnclosureURL: shared, PublishedAt: day(5)},
		Episode{GUID: "b-undated", EnclosureURL: "https://b.example/x.mp3"},
	)
	mustCreateTorrent(t, s, testTorrent(hexHash(1), ea[0].ID))
	mustCreateTorrent(t, s, testTorrent(hexHash(2), ea[1].ID))
	mustCreateTorrent(t, s, testTorrent(hexHash(2), eb[0].ID)) // same bytes: shared torrent
	mustCreateTorrent(t, s, testTorrent(hexHash(3), eb[1].ID))

	ids := func(ets []EpisodeTorrent, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, et := range ets {
			if et.Torrent.InfoHash != et.Episode.InfoHash || et.Torrent.Name == "" {
				t.Errorf("episode %d: torrent %+v does not match infohash %s", et.Episode.ID, et.Torrent, et.Episode.InfoHash)
			}
			out = append(out, et.Episode.ID)
		}
		return out
	}
	tests := []struct {
		name string
		got  []int64
		want []int64
	}{
		{"enclosure shared", ids(s.ListEpisodeTorrentsByEnclosureURL(ctx, shared)), []int64{eb[0].ID, ea[1].ID}},
		{"enclosure one", ids(s.ListEpisodeTorrentsByEnclosureURL(ctx, "https://a.example/1.mp3")), []int64{ea[0].ID}},
		{"enclosure pending", ids(s.ListEpisodeTorrentsByEnclosureURL(ctx, "https://a.example/pending.mp3")), []int64{}},
		{"enclosure unknown", ids(s.ListEpisodeTorrentsByEnclosureURL(ctx, "https://nowhere.example/")), []int64{}},
		{"guid shared", ids(s.ListEpisodeTorrentsByGUID(ctx, "same-guid")), []int64{eb[0].ID, ea[1].ID}},
		{"guid pending", ids(s.ListEpisodeTorrentsByGUID(ctx, "a-pending")), []int64{}},
		{"infohash shared", ids(s.ListEpisodeTorrentsByInfoHash(ctx, hexHash(2))), []int64{eb[0].ID, ea[1].ID}},
		{"infohash unknown", ids(s.ListEpisodeTorrentsByInfoHash(ctx, hexHash(99))), []int64{}},
		{"recent all", ids(s.ListRecentEpisodeTorrents(ctx, 0)), []int64{eb[0].ID, ea[1].ID, ea[0].ID, eb[1].ID}},
		{"recent limit", ids(s.ListRecentEpisodeTorrents(ctx, 2)), []int64{eb[0].ID, ea[1].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("got episodes %v, want %v", tt.got, tt.want)
			}
		})
	}
}
