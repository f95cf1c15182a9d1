package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hexHash returns a valid 40-character hex infohash derived from n.
func hexHash(n int) string { return fmt.Sprintf("%040x", n) }

// testTorrent returns a valid Torrent with the given infohash for episode
// episodeID.
func testTorrent(infoHash string, episodeID int64) Torrent {
	return Torrent{
		InfoHash:    infoHash,
		EpisodeID:   episodeID,
		Name:        "episode.mp3",
		Metainfo:    []byte("d4:infod6:lengthi12345e4:name11:episode.mp3ee"),
		PieceLength: 16384,
		Size:        12345,
		DataPath:    "/data/files/" + infoHash + "/episode.mp3",
		SRI:         "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		CreatedAt:   time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// mustCreateTorrent records t.
func mustCreateTorrent(tb testing.TB, s *Store, t Torrent) {
	tb.Helper()
	if err := s.CreateTorrent(tb.Context(), t); err != nil {
		tb.Fatalf("CreateTorrent(%s, episode %d): %v", t.InfoHash, t.EpisodeID, err)
	}
}

// torrentCount returns the number of rows in torrents.
func torrentCount(tb testing.TB, s *Store) int {
	tb.Helper()
	var n int
	if err := s.db.QueryRowContext(tb.Context(), "SELECT count(*) FROM torrents").Scan(&n); err != nil {
		tb.Fatalf("count torrents: %v", err)
	}
	return n
}

func TestCreateTorrent(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	eps := mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "e", EnclosureURL: "https://a.example/1.mp3"})
	if err := s.MarkEpisodeFailed(ctx, eps[0].ID, "timeout", time.Now()); err != nil {
		t.Fatalf("MarkEpisodeFailed: %v", err)
	}

	want := testTorrent(hexHash(0xabc), eps[0].ID)
	want.Metainfo = []byte("d8:announce\x00\xff...e") // any bytes survive
	mustCreateTorrent(t, s, want)

	got, err := s.FindTorrentByInfoHash(ctx, want.InfoHash)
	if err != nil {
		t.Fatalf("FindTorrentByInfoHash: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindTorrentByInfoHash: got %+v, want %+v", got, want)
	}
	if got, err := s.FindTorrentByInfoHash(ctx, strings.ToUpper(want.InfoHash)); err != nil || got.InfoHash != want.InfoHash {
		t.Errorf("FindTorrentByInfoHash(upper case): got %+v, %v, want %s", got, err, want.InfoHash)
	}
	e := mustFindEpisode(t, s, eps[0].ID)
	if e.State != EpisodeReady || e.InfoHash != want.InfoHash || e.LastError != "" || !e.NextAttemptAt.IsZero() {
		t.Errorf("episode: got %+v, want ready with %s, no error, no retry time", e, want.InfoHash)
	}

	// Same call again: nothing changes.
	mustCreateTorrent(t, s, want)
	if n := torrentCount(t, s); n != 1 {
		t.Errorf("torrents after repeating CreateTorrent: got %d, want 1", n)
	}

	// A zero CreatedAt is stamped by the store's clock.
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	fixedClock(s, now)
	eps2 := mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "e2", EnclosureURL: "https://a.example/2.mp3"})
	t2 := testTorrent(hexHash(0xdef), eps2[0].ID)
	t2.CreatedAt = time.Time{}
	mustCreateTorrent(t, s, t2)
	if got, err := s.FindTorrentByInfoHash(ctx, t2.InfoHash); err != nil || !got.CreatedAt.Equal(now) {
		t.Errorf("CreatedAt: got %v, %v, want %v", got.CreatedAt, err, now)
	}
}

// TestCreateTorrentTransactional checks that a CreateTorrent that fails
// leaves neither a torrent row nor a changed episode behind.
func TestCreateTorrentTransactional(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	eps := mustUpsertEpisodes(t, s, f.ID,
		Episode{GUID: "pending", EnclosureURL: "https://a.example/1.mp3"},
		Episode{GUID: "ready", EnclosureURL: "https://a.example/2.mp3"},
	)
	mustCreateTorrent(t, s, testTorrent(hexHash(1), eps[1].ID))

	with := func(mod func(*Torrent)) Torrent {
		tr := testTorrent(hexHash(2), eps[0].ID)
		mod(&tr)
		return tr
	}
	tests := []struct {
		name     string
		t        Torrent
		notFound bool
	}{
		{name: "unknown episode", t: with(func(t *Torrent) { t.EpisodeID = 999 }), notFound: true},
		{name: "episode ready with another torrent", t: with(func(t *Torrent) { t.EpisodeID = eps[1].ID })},
		{name: "upper-case infohash", t: with(func(t *Torrent) { t.InfoHash = strings.ToUpper(strings.Repeat("ab", 20)) })},
		{name: "short infohash", t: with(func(t *Torrent) { t.InfoHash = "abc" })},
		{name: "non-hex infohash", t: with(func(t *Torrent) { t.InfoHash = strings.Repeat("g", 40) })},
		{name: "no episode", t: with(func(t *Torrent) { t.EpisodeID = 0 })},
		{name: "no name", t: with(func(t *Torrent) { t.Name = "" })},
		{name: "no metainfo", t: with(func(t *Torrent) { t.Metainfo = nil })},
		{name: "zero piece length", t: with(func(t *Torrent) { t.PieceLength = 0 })},
		{name: "negative size", t: with(func(t *Torrent) { t.Size = -1 })},
		{name: "relative data path", t: with(func(t *Torrent) { t.DataPath = "files/x/episode.mp3" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateTorrent(ctx, tt.t)
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("got %v, want ErrNotFound: %v", err, tt.notFound)
			}
			if _, err := s.FindTorrentByInfoHash(ctx, tt.t.InfoHash); !errors.Is(err, ErrNotFound) {
				t.Errorf("torrent row of the failed call: got %v, want ErrNotFound", err)
			}
			if n := torrentCount(t, s); n != 1 {
				t.Errorf("torrent rows: got %d, want 1", n)
			}
			if e := mustFindEpisode(t, s, eps[0].ID); e.State != EpisodePending || e.InfoHash != "" {
				t.Errorf("pending episode: got state %s, infohash %q, want it untouched", e.State, e.InfoHash)
			}
			if e := mustFindEpisode(t, s, eps[1].ID); e.InfoHash != hexHash(1) {
				t.Errorf("ready episode: got infohash %q, want %q", e.InfoHash, hexHash(1))
			}
		})
	}
}

func TestCreateTorrentSharedInfoHash(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	a := mustCreateFeed(t, s, "https://a.example/")
	b := mustCreateFeed(t, s, "https://b.example/")
	aEps := mustUpsertEpisodes(t, s, a.ID, Episode{GUID: "a", EnclosureURL: "https://a.example/1.mp3"})
	bEps := mustUpsertEpisodes(t, s, b.ID, Episode{GUID: "b", EnclosureURL: "https://b.example/same.mp3"})

	first := testTorrent(hexHash(7), aEps[0].ID)
	mustCreateTorrent(t, s, first)
	second := testTorrent(hexHash(7), bEps[0].ID)
	second.DataPath = "/elsewhere/episode.mp3"
	second.CreatedAt = first.CreatedAt.Add(time.Hour)
	mustCreateTorrent(t, s, second)

	if n := torrentCount(t, s); n != 1 {
		t.Fatalf("torrent rows: got %d, want 1", n)
	}
	got, err := s.FindTorrentByInfoHash(ctx, first.InfoHash)
	if err != nil {
		t.Fatalf("FindTorrentByInfoHash: %v", err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Errorf("shared torrent: got %+v, want the first one kept, %+v", got, first)
	}
	for _, id := range []int64{aEps[0].ID, bEps[0].ID} {
		if e := mustFindEpisode(t, s, id); e.State != EpisodeReady || e.InfoHash != first.InfoHash {
			t.Errorf("episode %d: got state %s, infohash %q, want ready with %s", id, e.State, e.InfoHash, first.InfoHash)
		}
	}
	bTorrents, err := s.ListTorrentsByFeed(ctx, b.ID)
	if err != nil {
		t.Fatalf("ListTorrentsByFeed: %v", err)
	}
	if len(bTorrents) != 1 || bTorrents[0].EpisodeID != bEps[0].ID {
		t.Errorf("ListTorrentsByFeed(b): got %+v, want the shared torrent with EpisodeID %d", bTorrents, bEps[0].ID)
	}
}

func TestListTorrents(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	a := mustCreateFeed(t, s, "https://a.example/")
	b := mustCreateFeed(t, s, "https://b.example/")
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	aEps := mustUpsertEpisodes(t, s, a.ID,
		Episode{GUID: "a-old", EnclosureURL: "https://a.example/1.mp3", PublishedAt: day(1)},
		Episode{GUID: "a-new", EnclosureURL: "https://a.example/2.mp3", PublishedAt: day(9)},
		Episode{GUID: "a-pending", EnclosureURL: "https://a.example/3.mp3", PublishedAt: day(10)},
		Episode{GUID: "a-mid", EnclosureURL: "https://a.example/4.mp3", PublishedAt: day(5)},
	)
	bEps := mustUpsertEpisodes(t, s, b.ID, Episode{GUID: "b", EnclosureURL: "https://b.example/1.mp3"})

	// Torrents are created in another order than the episodes were published.
	var want []Torrent
	for i, c := range []struct {
		hash int
		ep   int64
	}{{3, aEps[1].ID}, {1, aEps[0].ID}, {2, aEps[3].ID}, {4, bEps[0].ID}} {
		tr := testTorrent(hexHash(c.hash), c.ep)
		tr.CreatedAt = day(20 + i)
		mustCreateTorrent(t, s, tr)
		want = append(want, tr)
	}

	all, err := s.ListTorrents(ctx)
	if err != nil {
		t.Fatalf("ListTorrents: %v", err)
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("ListTorrents: got %+v, want %+v", all, want)
	}

	byFeed, err := s.ListTorrentsByFeed(ctx, a.ID)
	if err != nil {
		t.Fatalf("ListTorrentsByFeed: %v", err)
	}
	if !reflect.DeepEqual(byFeed, want[:3]) {
		t.Errorf("ListTorrentsByFeed(a): got %+v, want %+v", byFeed, want[:3])
	}

	ets, err := s.ListFeedTorrents(ctx, a.ID)
	if err != nil {
		t.Fatalf("ListFeedTorrents: %v", err)
	}
	var got []string
	for _, et := range ets {
		got = append(got, et.Episode.GUID+"="+et.Torrent.InfoHash)
		if et.Torrent.EpisodeID != et.Episode.ID || et.Episode.InfoHash != et.Torrent.InfoHash || et.Episode.State != EpisodeReady {
			t.Errorf("%s: episode %+v does not match torrent %+v", et.Episode.GUID, et.Episode, et.Torrent)
		}
		if len(et.Torrent.Metainfo) == 0 {
			t.Errorf("%s: Metainfo not loaded", et.Episode.GUID)
		}
	}
	wantPairs := []string{"a-new=" + hexHash(3), "a-mid=" + hexHash(2), "a-old=" + hexHash(1)}
	if fmt.Sprint(got) != fmt.Sprint(wantPairs) {
		t.Errorf("ListFeedTorrents(a): got %v, want %v", got, wantPairs)
	}

	for _, call := range []struct {
		name string
		n    func() (int, error)
	}{
		{"ListTorrentsByFeed", func() (int, error) { ts, err := s.ListTorrentsByFeed(ctx, 999); return len(ts), err }},
		{"ListFeedTorrents", func() (int, error) { ts, err := s.ListFeedTorrents(ctx, 999); return len(ts), err }},
	} {
		if n, err := call.n(); n != 0 || err != nil {
			t.Errorf("%s(unknown feed): got %d, %v, want 0, nil", call.name, n, err)
		}
	}
}

// TestWebSeedWithheldRoundTrip: the reason a web seed was left out is
// stored with the torrent and read back by every lookup.
func TestWebSeedWithheldRoundTrip(t *testing.T) {
	for _, reason := range []string{"", "bytes differ at offset 1048576"} {
		t.Run(fmt.Sprintf("%q", reason), func(t *testing.T) {
			s := mustOpenStore(t)
			ctx := context.Background()
			f, _, err := s.CreateFeed(ctx, "https://example.com/f.xml")
			if err != nil {
				t.Fatal(err)
			}
			eps, err := s.UpsertEpisodes(ctx, f.ID, []Episode{{GUID: "g", EnclosureURL: "https://example.com/e.mp3"}})
			if err != nil {
				t.Fatal(err)
			}
			tor := testTorrent(hexHash(1), eps[0].ID)
			tor.WebSeedWithheld = reason
			mustCreateTorrent(t, s, tor)
			got, err := s.FindTorrentByInfoHash(ctx, tor.InfoHash)
			if err != nil {
				t.Fatal(err)
			}
			if got.WebSeedWithheld != reason {
				t.Errorf("FindTorrentByInfoHash: got %q, want %q", got.WebSeedWithheld, reason)
			}
			ets, err := s.ListFeedTorrents(ctx, f.ID)
			if err != nil || len(ets) != 1 || ets[0].Torrent.WebSeedWithheld != reason {
				t.Errorf("ListFeedTorrents: got %+v (%v), want reason %q", ets, err, reason)
			}
		})
	}
}
