package store

import (
	"errors"
	"testing"
	"time"
)

// readyEpisode upserts one episode with guid and makes it ready with a
// torrent of infohash hexHash(n).
func readyEpisode(tb testing.TB, s *Store, feedID int64, guid string, n int) Episode {
	tb.Helper()
	eps := mustUpsertEpisodes(tb, s, feedID, Episode{GUID: guid, EnclosureURL: "https://a.example/" + guid + ".mp3", EnclosureLength: 12345})
	if len(eps) != 1 {
		tb.Fatalf("episode %q exists already", guid)
	}
	tor := testTorrent(hexHash(n), eps[0].ID)
	tor.SourceURL = eps[0].EnclosureURL
	mustCreateTorrent(tb, s, tor)
	return mustFindEpisode(tb, s, eps[0].ID)
}

func mustFindTorrent(tb testing.TB, s *Store, ih string) Torrent {
	tb.Helper()
	t, err := s.FindTorrentByInfoHash(tb.Context(), ih)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestUpsertEpisodesReadyReplacementRules(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	withheld := readyEpisode(t, s, f.ID, "dai", 9)
	if _, err := s.db.ExecContext(ctx, "UPDATE torrents SET web_seed_withheld = 'origin serves different bytes' WHERE info_hash = ?", withheld.InfoHash); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		length      int64 // new declared length; the old is 12345, the torrent's size 12345
		url         string
		guid        string
		wantReplace string
		wantLength  int64
	}{
		{name: "same enclosure", length: 12345, wantLength: 12345},
		{name: "length changed", length: 999, wantReplace: "enclosure length changed from 12345 to 999 bytes", wantLength: 999},
		{name: "length to unknown is only recorded", length: 0, wantLength: 0},
		{name: "url changed", length: 12345, url: "https://cdn.example/x.mp3", wantReplace: "enclosure url changed", wantLength: 12345},
		{name: "withheld web seed: length change ignored", guid: "dai", length: 777, wantLength: 777},
		{name: "withheld web seed: url change counts", guid: "dai", length: 777, url: "https://cdn.example/dai2.mp3",
			wantReplace: "enclosure url changed", wantLength: 777},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guid := tt.guid
			var e Episode
			if guid == "" {
				guid = tt.name
				e = readyEpisode(t, s, f.ID, guid, 100+i)
			} else {
				e = mustFindEpisode(t, s, withheld.ID)
			}
			u := tt.url
			if u == "" {
				u = e.EnclosureURL
			}
			mustUpsertEpisodes(t, s, f.ID, Episode{GUID: guid, EnclosureURL: u, EnclosureLength: tt.length})
			got := mustFindEpisode(t, s, e.ID)
			if got.ReplaceReason != tt.wantReplace || got.EnclosureLength != tt.wantLength || got.EnclosureURL != u ||
				got.State != EpisodeReady || got.InfoHash != e.InfoHash {
				t.Errorf("got %+v, want ready with %s, enclosure %s of %d bytes, replace reason %q",
					got, e.InfoHash, u, tt.wantLength, tt.wantReplace)
			}
		})
	}
}

func TestReplacementPendingAndFailed(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	e := readyEpisode(t, s, f.ID, "g", 1)
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if eps, err := s.ListPendingEpisodes(ctx, now, 0); err != nil || len(eps) != 0 {
		t.Fatalf("pending before the change: got %v, %v, want none", eps, err)
	}
	if err := s.MarkEpisodeFailed(ctx, e.ID, "x", now); err == nil {
		t.Errorf("MarkEpisodeFailed on a ready episode with no replacement due: got nil error")
	}
	mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "g", EnclosureURL: "https://b.example/g.mp3"})
	eps, err := s.ListPendingEpisodes(ctx, now, 0)
	if err != nil || len(eps) != 1 || eps[0].ID != e.ID || eps[0].EnclosureURL != "https://b.example/g.mp3" {
		t.Fatalf("pending after the change: got %+v, %v, want episode %d with the new URL", eps, err, e.ID)
	}
	if err := s.MarkEpisodeFailed(ctx, e.ID, "status 500", now.Add(time.Hour)); err != nil {
		t.Fatalf("MarkEpisodeFailed: %v", err)
	}
	got := mustFindEpisode(t, s, e.ID)
	if got.State != EpisodeReady || got.InfoHash != e.InfoHash || got.Attempts != 1 || got.LastError != "status 500" ||
		!got.NextAttemptAt.Equal(now.Add(time.Hour)) {
		t.Errorf("after a failed replacement: got %+v, want still ready with its torrent, 1 attempt, retry in 1 h", got)
	}
	if eps, _ := s.ListPendingEpisodes(ctx, now, 0); len(eps) != 0 {
		t.Errorf("pending before the retry time: got %d, want none", len(eps))
	}
	if eps, _ := s.ListPendingEpisodes(ctx, now.Add(time.Hour), 0); len(eps) != 1 {
		t.Errorf("pending at the retry time: got %d, want 1", len(eps))
	}
	// The published torrent is still the old one.
	ets, err := s.ListFeedTorrents(ctx, f.ID)
	if err != nil || len(ets) != 1 || ets[0].Torrent.InfoHash != e.InfoHash {
		t.Errorf("feed torrents while replacing: got %v, %v, want the old %s", ets, err, e.InfoHash)
	}
}

func TestReplaceTorrent(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	e := readyEpisode(t, s, f.ID, "g", 1)
	mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "g", EnclosureURL: "https://b.example/g.mp3"})
	if err := s.MarkEpisodeFailed(ctx, e.ID, "boom", time.Now()); err != nil {
		t.Fatal(err)
	}

	newT := testTorrent(hexHash(2), e.ID)
	newT.SourceURL, newT.ResolvedURL, newT.ETag = "https://b.example/g.mp3", "https://cdn.b.example/g.mp3", `"v2"`
	retired, err := s.ReplaceTorrent(ctx, newT, "enclosure url changed")
	if err != nil {
		t.Fatalf("ReplaceTorrent: %v", err)
	}
	if retired != hexHash(1) {
		t.Errorf("retired %q, want %s", retired, hexHash(1))
	}
	got := mustFindEpisode(t, s, e.ID)
	if got.InfoHash != hexHash(2) || got.ReplaceReason != "" || got.Attempts != 0 || got.LastError != "" || !got.NextAttemptAt.IsZero() {
		t.Errorf("episode after replacement: got %+v, want %s, nothing pending", got, hexHash(2))
	}
	old := mustFindTorrent(t, s, hexHash(1))
	if !old.Retired() || old.RetiredReason != "enclosure url changed" {
		t.Errorf("old torrent: got retired at %v (%q), want retired", old.RetiredAt, old.RetiredReason)
	}
	cur := mustFindTorrent(t, s, hexHash(2))
	if cur.Retired() || cur.ResolvedURL != newT.ResolvedURL || cur.ETag != newT.ETag || cur.SourceURL != newT.SourceURL {
		t.Errorf("new torrent: got %+v", cur)
	}
	rs, err := s.ListTorrentReplacements(ctx, e.ID)
	if err != nil || len(rs) != 1 || rs[0].OldInfoHash != hexHash(1) || rs[0].NewInfoHash != hexHash(2) ||
		rs[0].Reason != "enclosure url changed" || rs[0].OldRetiredAt.IsZero() {
		t.Errorf("replacements: got %+v, %v", rs, err)
	}
	// A torrent without a source URL (recorded before 0004, with no
	// episode to take it from) is never due.
	noSource := mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "nosrc", EnclosureURL: "https://a.example/nosrc.mp3"})
	mustCreateTorrent(t, s, testTorrent(hexHash(4), noSource[0].ID))
	due, err := s.ListTorrentsDueForProbe(ctx, time.Now().Add(time.Hour), 0)
	if err != nil || len(due) != 1 || due[0].InfoHash != hexHash(2) {
		t.Errorf("due for probe: got %v, %v, want only the current torrent with a source URL", due, err)
	}

	t.Run("not ready", func(t *testing.T) {
		p := mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "p", EnclosureURL: "https://a.example/p.mp3"})
		if _, err := s.ReplaceTorrent(ctx, testTorrent(hexHash(3), p[0].ID), "x"); err == nil {
			t.Errorf("ReplaceTorrent of a pending episode: got nil error")
		}
		if _, err := s.FindTorrentByInfoHash(ctx, hexHash(3)); !errors.Is(err, ErrNotFound) {
			t.Errorf("torrent of a failed replacement: got %v, want ErrNotFound", err)
		}
		if _, err := s.ReplaceTorrent(ctx, testTorrent(hexHash(3), 9999), "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ReplaceTorrent of an unknown episode: got %v, want ErrNotFound", err)
		}
	})
	t.Run("shared torrent is not retired", func(t *testing.T) {
		a := readyEpisode(t, s, f.ID, "a", 10)
		b := mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "b", EnclosureURL: "https://a.example/b.mp3"})[0]
		mustCreateTorrent(t, s, testTorrent(hexHash(10), b.ID)) // same bytes
		retired, err := s.ReplaceTorrent(ctx, testTorrent(hexHash(11), a.ID), "enclosure etag changed")
		if err != nil || retired != "" {
			t.Errorf("ReplaceTorrent: retired %q, %v, want none (episode b still uses it)", retired, err)
		}
		if mustFindTorrent(t, s, hexHash(10)).Retired() {
			t.Errorf("shared torrent retired")
		}
	})
	t.Run("same infohash from a new URL keeps the torrent", func(t *testing.T) {
		c := readyEpisode(t, s, f.ID, "c", 20)
		if _, err := s.UpdateTorrentProbe(ctx, hexHash(20), TorrentProbe{At: time.Now(), Dead: true, DeadReason: "404"}); err != nil {
			t.Fatal(err)
		}
		mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "c", EnclosureURL: "https://new.example/c.mp3"})
		same := testTorrent(hexHash(20), c.ID)
		same.Metainfo, same.SourceURL = []byte("d8:url-list24:https://new.example/c.mp34:infod6:lengthi1eee"), "https://new.example/c.mp3"
		retired, err := s.ReplaceTorrent(ctx, same, "enclosure url changed")
		if err != nil || retired != "" {
			t.Fatalf("ReplaceTorrent: retired %q, %v, want none", retired, err)
		}
		got := mustFindTorrent(t, s, hexHash(20))
		if string(got.Metainfo) != string(same.Metainfo) || got.SourceURL != same.SourceURL || !got.WebSeedDeadAt.IsZero() || got.Retired() {
			t.Errorf("torrent: got %+v, want new metainfo and source, alive", got)
		}
		if e := mustFindEpisode(t, s, c.ID); e.ReplaceReason != "" {
			t.Errorf("replace reason %q, want none", e.ReplaceReason)
		}
		if rs, _ := s.ListTorrentReplacements(ctx, c.ID); len(rs) != 0 {
			t.Errorf("replacements: got %v, want none", rs)
		}
	})
	t.Run("retired torrent made again comes back", func(t *testing.T) {
		// Episode g goes back to its first bytes.
		back := testTorrent(hexHash(1), e.ID)
		back.DataPath = "/data/files/again/episode.mp3"
		retired, err := s.ReplaceTorrent(ctx, back, "enclosure url changed")
		if err != nil || retired != hexHash(2) {
			t.Fatalf("ReplaceTorrent: retired %q, %v, want %s", retired, err, hexHash(2))
		}
		got := mustFindTorrent(t, s, hexHash(1))
		if got.Retired() || got.DataPath != back.DataPath {
			t.Errorf("torrent: got %+v, want current again with the new data path", got)
		}
		if rs, _ := s.ListTorrentReplacements(ctx, e.ID); len(rs) != 2 || rs[1].OldInfoHash != hexHash(2) || !rs[0].OldRetiredAt.IsZero() {
			t.Errorf("replacements: got %+v, want two, the first's old torrent current again", rs)
		}
	})
}

func TestUpdateTorrentProbe(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	e := readyEpisode(t, s, f.ID, "g", 1)
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		probe       TorrentProbe
		wantChanged bool
		wantDeadAt  time.Time
		wantReason  string
	}{
		{TorrentProbe{At: t0, NextProbeAt: t0.Add(time.Hour), Failures: 1}, false, time.Time{}, ""},
		{TorrentProbe{At: t0.Add(time.Hour), Dead: true, DeadReason: "404 Not Found", ResolvedURL: "https://cdn/x"}, true, t0.Add(time.Hour), "404 Not Found"},
		{TorrentProbe{At: t0.Add(2 * time.Hour), Dead: true, DeadReason: "410 Gone"}, false, t0.Add(time.Hour), "410 Gone"},
		{TorrentProbe{At: t0.Add(3 * time.Hour), ETag: `"e"`}, true, time.Time{}, ""},
	}
	for i, st := range steps {
		changed, err := s.UpdateTorrentProbe(ctx, e.InfoHash, st.probe)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := mustFindTorrent(t, s, e.InfoHash)
		if changed != st.wantChanged || !got.WebSeedDeadAt.Equal(st.wantDeadAt) || got.WebSeedDeadReason != st.wantReason ||
			!got.ProbedAt.Equal(st.probe.At) || got.ProbeFailures != st.probe.Failures {
			t.Errorf("step %d: changed %v, torrent %+v; want changed %v, dead at %v (%q)", i, changed, got, st.wantChanged, st.wantDeadAt, st.wantReason)
		}
	}
	got := mustFindTorrent(t, s, e.InfoHash)
	if got.ResolvedURL != "https://cdn/x" || got.ETag != `"e"` {
		t.Errorf("resolved %q etag %q: empty probe values must not clear them", got.ResolvedURL, got.ETag)
	}
	if _, err := s.UpdateTorrentProbe(ctx, hexHash(99), TorrentProbe{At: t0}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown torrent: got %v, want ErrNotFound", err)
	}
	n, err := s.MarkReplacementDue(ctx, e.InfoHash, "enclosure etag changed")
	if err != nil || n != 1 {
		t.Fatalf("MarkReplacementDue: %d, %v, want 1", n, err)
	}
	if n, _ := s.MarkReplacementDue(ctx, e.InfoHash, "again"); n != 0 {
		t.Errorf("MarkReplacementDue again: %d, want 0 (already due)", n)
	}
	if got := mustFindEpisode(t, s, e.ID); got.ReplaceReason != "enclosure etag changed" {
		t.Errorf("replace reason %q", got.ReplaceReason)
	}
}

func TestFeedLock(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	if l, err := s.FindFeedLock(ctx, f.ID); err != nil || l != (FeedLock{}) {
		t.Errorf("new feed: got %+v, %v, want unlocked", l, err)
	}
	want := FeedLock{Locked: true, Owner: "owner@example.org"}
	if err := s.UpdateFeedLock(ctx, f.ID, want); err != nil {
		t.Fatal(err)
	}
	if l, err := s.FindFeedLock(ctx, f.ID); err != nil || l != want {
		t.Errorf("got %+v, %v, want %+v", l, err, want)
	}
	if err := s.UpdateFeedLock(ctx, 999, want); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown feed: got %v, want ErrNotFound", err)
	}
	if _, err := s.FindFeedLock(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown feed: got %v, want ErrNotFound", err)
	}
}

func TestPublisherTorrentURLs(t *testing.T) {
	s := mustOpenStore(t)
	f := mustCreateFeed(t, s, "https://a.example/")
	eps := mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "g", EnclosureURL: "https://pt.example/g.mp4", PublisherTorrentURL: "https://pt.example/g.torrent"})
	if eps[0].PublisherTorrentURL != "https://pt.example/g.torrent" {
		t.Errorf("inserted: %q", eps[0].PublisherTorrentURL)
	}
	mustUpsertEpisodes(t, s, f.ID, Episode{GUID: "g", EnclosureURL: "https://pt.example/g.mp4", PublisherTorrentURL: "https://pt.example/g2.torrent"})
	if e := mustFindEpisode(t, s, eps[0].ID); e.PublisherTorrentURL != "https://pt.example/g2.torrent" {
		t.Errorf("updated: %q", e.PublisherTorrentURL)
	}
	tor := testTorrent(hexHash(5), eps[0].ID)
	tor.PublisherURL = "https://pt.example/g2.torrent"
	mustCreateTorrent(t, s, tor)
	if got := mustFindTorrent(t, s, hexHash(5)); got.PublisherURL != tor.PublisherURL {
		t.Errorf("torrent publisher url %q, want %q", got.PublisherURL, tor.PublisherURL)
	}
}
