package store

// Store benchmarks (issue 6): the statements a poll cycle, an ingest and a
// restart run, on a real SQLite file. They assert nothing about time;
// bench/run reports them. Run with
//
//	go test -run '^$' -bench . -benchmem ./store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchEpisodes returns n episodes of one feed, newest first, the newest
// numbered from+n-1.
func benchEpisodes(feedID int64, from, n int) []Episode {
	eps := make([]Episode, 0, n)
	for j := from + n - 1; j >= from; j-- {
		eps = append(eps, Episode{
			FeedID: feedID, GUID: fmt.Sprintf("show-episode-%d", j), Title: fmt.Sprintf("Episode %d", j),
			EnclosureURL:    fmt.Sprintf("https://cdn.example.com/show/episode-%d.mp3", j),
			EnclosureLength: 52428800, EnclosureType: "audio/mpeg",
			PublishedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j) * time.Hour),
		})
	}
	return eps
}

// mustBenchFeed creates a feed in s.
func mustBenchFeed(b *testing.B, s *Store, i int) Feed {
	b.Helper()
	f, _, err := s.CreateFeed(context.Background(), fmt.Sprintf("https://feeds.example.com/%d.rss", i))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkUpsertEpisodes300OneNew is what a poll of a changed 300-item
// feed stores: 299 known episodes and one new one.
func BenchmarkUpsertEpisodes300OneNew(b *testing.B) {
	s := mustOpenStore(b)
	f := mustBenchFeed(b, s, 1)
	ctx := context.Background()
	if _, err := s.UpsertEpisodes(ctx, f.ID, benchEpisodes(f.ID, 1, 299)); err != nil {
		b.Fatal(err)
	}
	next := 300
	b.ReportAllocs()
	for b.Loop() {
		added, err := s.UpsertEpisodes(ctx, f.ID, benchEpisodes(f.ID, next-299, 300))
		if err != nil {
			b.Fatal(err)
		}
		if len(added) != 1 {
			b.Fatalf("added %d episodes, want 1", len(added))
		}
		next++
	}
}

// BenchmarkUpdateFeedNotModified is what a 304 answer stores.
func BenchmarkUpdateFeedNotModified(b *testing.B) {
	s := mustOpenStore(b)
	f := mustBenchFeed(b, s, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		if err := s.UpdateFeedNotModified(ctx, f.ID, now, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListDueFeeds1000 lists 1,000 due feeds with their 30 KB bodies,
// as the start of a poll cycle does.
func BenchmarkListDueFeeds1000(b *testing.B) {
	s := mustOpenStore(b)
	ctx := context.Background()
	body := make([]byte, 30<<10)
	for i := range 1000 {
		f := mustBenchFeed(b, s, i)
		if err := s.UpdateFeedFetched(ctx, f.ID, FeedFetch{Title: "t", ETag: `"x"`, Body: body,
			FetchedAt: time.Now(), NextPollAt: time.Now().Add(-time.Minute)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		feeds, err := s.ListDueFeeds(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if len(feeds) != 1000 {
			b.Fatalf("got %d due feeds, want 1000", len(feeds))
		}
	}
}

// BenchmarkCreateTorrent records one torrent and marks its episode ready,
// as every ingest does.
func BenchmarkCreateTorrent(b *testing.B) {
	s := mustOpenStore(b)
	f := mustBenchFeed(b, s, 1)
	ctx := context.Background()
	added, err := s.UpsertEpisodes(ctx, f.ID, benchEpisodes(f.ID, 1, 20000))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == len(added) {
			b.Fatal("out of episodes")
		}
		if err := s.CreateTorrent(ctx, testTorrent(hexHash(i+1), added[i].ID)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkListTorrents10000 lists 10,000 torrents with their metainfo, as
// a restart does before resuming seeding.
func BenchmarkListTorrents10000(b *testing.B) {
	s := mustOpenStore(b)
	f := mustBenchFeed(b, s, 1)
	ctx := context.Background()
	added, err := s.UpsertEpisodes(ctx, f.ID, benchEpisodes(f.ID, 1, 10000))
	if err != nil {
		b.Fatal(err)
	}
	for i, e := range added {
		if err := s.CreateTorrent(ctx, testTorrent(hexHash(i+1), e.ID)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ts, err := s.ListTorrents(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ts) != 10000 {
			b.Fatalf("got %d torrents, want 10000", len(ts))
		}
	}
}
