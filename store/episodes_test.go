package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// mustUpsertEpisodes upserts eps into feed feedID and returns the new ones.
func mustUpsertEpisodes(tb testing.TB, s *Store, feedID int64, eps ...Episode) []Episode {
	tb.Helper()
	got, err := s.UpsertEpisodes(tb.Context(), feedID, eps)
	if err != nil {
		tb.Fatalf("UpsertEpisodes: %v", err)
	}
	return got
}

// mustFindEpisode returns episode id.
func mustFindEpisode(tb testing.TB, s *Store, id int64) Episode {
	tb.Helper()
	e, err := s.FindEpisodeByID(tb.Context(), id)
	if err != nil {
		tb.Fatalf("FindEpisodeByID(%d): %v", id, err)
	}
	return e
}

// guids returns the GUIDs of eps.
func guids(eps []Episode) []string {
	out := []string{}
	for _, e := range eps {
		out = append(out, e.GUID)
	}
	return out
}

func TestUpsertEpisodesReturnsOnlyNew(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	created := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	fixedClock(s, created)
	f := mustCreateFeed(t, s, "https://a.example/")
	other := mustCreateFeed(t, s, "https://b.example/")
	pub := func(day int) time.Time { return time.Date(2025, 2, day, 0, 0, 0, 0, time.UTC) }

	ep1 := Episode{GUID: "g1", Title: "One", EnclosureURL: "https://a.example/1.mp3", EnclosureLength: 1000, EnclosureType: "audio/mpeg", PublishedAt: pub(1)}
	ep2 := Episode{GUID: "g2", Title: "Two", EnclosureURL: "https://a.example/2.mp3", PublishedAt: pub(2)}
	noGUID := Episode{Title: "No GUID", EnclosureURL: "https://a.example/3.mp3"}
	ep4 := Episode{GUID: "g4", Title: "Four", EnclosureURL: "https://a.example/4.mp3", PublishedAt: pub(4)}
	renamed := ep1
	renamed.Title, renamed.PublishedAt = "One (remastered)", pub(5)
	dupe := ep4
	dupe.Title = "Four, again in the same feed"

	steps := []struct {
		name      string
		feedID    int64
		eps       []Episode
		wantGUIDs []string
	}{
		{name: "first poll", feedID: f.ID, eps: []Episode{ep1, ep2, noGUID}, wantGUIDs: []string{"g1", "g2", "https://a.example/3.mp3"}},
		{name: "same poll again", feedID: f.ID, eps: []Episode{ep1, ep2, noGUID}, wantGUIDs: []string{}},
		{name: "one new, one renamed, one duplicated", feedID: f.ID, eps: []Episode{ep4, renamed, ep2, dupe}, wantGUIDs: []string{"g4"}},
		{name: "nothing", feedID: f.ID, eps: nil, wantGUIDs: []string{}},
		{name: "same GUIDs in another feed are new", feedID: other.ID, eps: []Episode{ep1, ep2}, wantGUIDs: []string{"g1", "g2"}},
	}
	for _, st := range steps {
		got, err := s.UpsertEpisodes(ctx, st.feedID, st.eps)
		if err != nil {
			t.Fatalf("%s: UpsertEpisodes: %v", st.name, err)
		}
		if g := guids(got); fmt.Sprint(g) != fmt.Sprint(st.wantGUIDs) {
			t.Errorf("%s: new GUIDs: got %v, want %v", st.name, g, st.wantGUIDs)
		}
		for _, e := range got {
			if e.ID == 0 {
				t.Errorf("%s: %s: ID not set", st.name, e.GUID)
			}
			if stored := mustFindEpisode(t, s, e.ID); !reflect.DeepEqual(stored, e) {
				t.Errorf("%s: returned %+v, stored %+v", st.name, e, stored)
			}
		}
	}

	eps, err := s.ListEpisodesByFeed(ctx, f.ID)
	if err != nil {
		t.Fatalf("ListEpisodesByFeed: %v", err)
	}
	if got, want := guids(eps), []string{"g1", "g4", "g2", "https://a.example/3.mp3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ListEpisodesByFeed: got %v, want %v", got, want)
	}
	want := Episode{
		ID: eps[0].ID, FeedID: f.ID, GUID: "g1", Title: "One (remastered)",
		EnclosureURL: "https://a.example/1.mp3", EnclosureLength: 1000, EnclosureType: "audio/mpeg",
		PublishedAt: pub(5), State: EpisodePending, CreatedAt: created,
	}
	if !reflect.DeepEqual(eps[0], want) {
		t.Errorf("renamed episode: got %+v, want %+v", eps[0], want)
	}
	if eps[1].Title != "Four" {
		t.Errorf("duplicated GUID: got title %q, want the first one's, %q", eps[1].Title, "Four")
	}
}

func TestUpsertEpisodesRejects(t *testing.T) {
	s := mustOpenStore(t)
	f := mustCreateFeed(t, s, "https://a.example/")
	tests := []struct {
		name     string
		feedID   int64
		eps      []Episode
		notFound bool
	}{
		{name: "unknown feed", feedID: f.ID + 100, eps: []Episode{{GUID: "g", EnclosureURL: "https://a.example/1.mp3"}}, notFound: true},
		{name: "no enclosure", feedID: f.ID, eps: []Episode{{GUID: "ok", EnclosureURL: "https://a.example/1.mp3"}, {GUID: "g"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UpsertEpisodes(t.Context(), tt.feedID, tt.eps)
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("got %v, want ErrNotFound: %v", err, tt.notFound)
			}
		})
	}
	eps, err := s.ListEpisodesByFeed(t.Context(), f.ID)
	if err != nil {
		t.Fatalf("ListEpisodesByFeed: %v", err)
	}
	if len(eps) != 0 {
		t.Errorf("episodes after rejected upserts: got %v, want none", guids(eps))
	}
}

func TestUpsertEpisodesChangedEnclosure(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	orig := func(guid string) Episode {
		return Episode{GUID: guid, EnclosureURL: "https://a.example/" + guid + ".mp3", EnclosureLength: 10, EnclosureType: "audio/mpeg"}
	}
	moved := func(guid string) Episode {
		return Episode{GUID: guid, EnclosureURL: "https://cdn.example/" + guid + ".m4a", EnclosureLength: 20, EnclosureType: "audio/mp4"}
	}
	eps := mustUpsertEpisodes(t, s, f.ID, orig("pending"), orig("failed"), orig("ready"))
	next := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.MarkEpisodeFailed(ctx, eps[1].ID, "404", next); err != nil {
		t.Fatalf("MarkEpisodeFailed: %v", err)
	}
	mustCreateTorrent(t, s, testTorrent(hexHash(1), eps[2].ID))

	if got := mustUpsertEpisodes(t, s, f.ID, moved("pending"), moved("failed"), moved("ready")); len(got) != 0 {
		t.Fatalf("new episodes: got %v, want none", guids(got))
	}

	tests := []struct {
		name        string
		id          int64
		want        Episode // fields compared: enclosure, state, attempts, error, retry time, infohash, replace reason
		wantHash    string
		wantReplace string
	}{
		{name: "pending gets the new enclosure", id: eps[0].ID, want: moved("pending")},
		{name: "failed gets the new enclosure and a fresh start", id: eps[1].ID, want: moved("failed")},
		// Its torrent stays published until a replacement is made.
		{name: "ready gets the new enclosure, keeps its torrent, replacement due", id: eps[2].ID, want: moved("ready"),
			wantHash: hexHash(1), wantReplace: "enclosure url changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustFindEpisode(t, s, tt.id)
			wantState := EpisodePending
			if tt.wantHash != "" {
				wantState = EpisodeReady
			}
			got := Episode{GUID: e.GUID, EnclosureURL: e.EnclosureURL, EnclosureLength: e.EnclosureLength, EnclosureType: e.EnclosureType,
				State: e.State, Attempts: e.Attempts, LastError: e.LastError, NextAttemptAt: e.NextAttemptAt, InfoHash: e.InfoHash,
				ReplaceReason: e.ReplaceReason}
			want := tt.want
			want.State, want.InfoHash, want.ReplaceReason = wantState, tt.wantHash, tt.wantReplace
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestListEpisodesByFeedOrder(t *testing.T) {
	s := mustOpenStore(t)
	f := mustCreateFeed(t, s, "https://a.example/")
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	mustUpsertEpisodes(t, s, f.ID,
		Episode{GUID: "unknown-date", EnclosureURL: "https://a.example/0.mp3"},
		Episode{GUID: "jan2-a", EnclosureURL: "https://a.example/1.mp3", PublishedAt: day(2)},
		Episode{GUID: "jan3", EnclosureURL: "https://a.example/2.mp3", PublishedAt: day(3)},
		Episode{GUID: "jan1", EnclosureURL: "https://a.example/3.mp3", PublishedAt: day(1)},
		Episode{GUID: "jan2-b", EnclosureURL: "https://a.example/4.mp3", PublishedAt: day(2)},
	)
	eps, err := s.ListEpisodesByFeed(t.Context(), f.ID)
	if err != nil {
		t.Fatalf("ListEpisodesByFeed: %v", err)
	}
	want := []string{"jan3", "jan2-b", "jan2-a", "jan1", "unknown-date"}
	if got := guids(eps); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}

	none, err := s.ListEpisodesByFeed(t.Context(), f.ID+100)
	if err != nil || len(none) != 0 {
		t.Errorf("unknown feed: got %v, %v, want no episodes and no error", guids(none), err)
	}
}

func TestListPendingEpisodes(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f := mustCreateFeed(t, s, "https://a.example/")
	g := mustCreateFeed(t, s, "https://b.example/")
	eps := mustUpsertEpisodes(t, s, f.ID,
		Episode{GUID: "pending-1", EnclosureURL: "https://a.example/1.mp3"},
		Episode{GUID: "failed-due", EnclosureURL: "https://a.example/2.mp3"},
		Episode{GUID: "failed-later", EnclosureURL: "https://a.example/3.mp3"},
		Episode{GUID: "ready", EnclosureURL: "https://a.example/4.mp3"},
		Episode{GUID: "failed-exactly-now", EnclosureURL: "https://a.example/5.mp3"},
	)
	mustUpsertEpisodes(t, s, g.ID, Episode{GUID: "pending-other-feed", EnclosureURL: "https://b.example/1.mp3"})
	for _, m := range []struct {
		i    int
		next time.Time
	}{{1, now.Add(-time.Minute)}, {2, now.Add(time.Minute)}, {4, now}} {
		if err := s.MarkEpisodeFailed(ctx, eps[m.i].ID, "timeout", m.next); err != nil {
			t.Fatalf("MarkEpisodeFailed: %v", err)
		}
	}
	mustCreateTorrent(t, s, testTorrent(hexHash(1), eps[3].ID))

	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []string
	}{
		{"now", now, 0, []string{"pending-1", "failed-due", "failed-exactly-now", "pending-other-feed"}},
		{"limit", now, 2, []string{"pending-1", "failed-due"}},
		{"negative limit is none", now, -1, []string{"pending-1", "failed-due", "failed-exactly-now", "pending-other-feed"}},
		{"later", now.Add(time.Hour), 0, []string{"pending-1", "failed-due", "failed-later", "failed-exactly-now", "pending-other-feed"}},
		{"earlier", now.Add(-time.Hour), 0, []string{"pending-1", "pending-other-feed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListPendingEpisodes(ctx, tt.now, tt.limit)
			if err != nil {
				t.Fatalf("ListPendingEpisodes: %v", err)
			}
			if g := guids(got); fmt.Sprint(g) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
		})
	}
}

func TestMarkEpisodeFailed(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/")
	eps := mustUpsertEpisodes(t, s, f.ID,
		Episode{GUID: "e", EnclosureURL: "https://a.example/1.mp3"},
		Episode{GUID: "ready", EnclosureURL: "https://a.example/2.mp3"},
	)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		msg          string
		next         time.Time
		wantAttempts int
	}{
		{"connection reset", t0.Add(time.Minute), 1},
		{"status 500", t0.Add(time.Hour), 2},
		{"length mismatch", t0.Add(24 * time.Hour), 3},
	}
	for _, st := range steps {
		if err := s.MarkEpisodeFailed(ctx, eps[0].ID, st.msg, st.next); err != nil {
			t.Fatalf("MarkEpisodeFailed(%q): %v", st.msg, err)
		}
		e := mustFindEpisode(t, s, eps[0].ID)
		if e.State != EpisodeFailed || e.Attempts != st.wantAttempts || e.LastError != st.msg || !e.NextAttemptAt.Equal(st.next) {
			t.Errorf("after %q: got state %s, attempts %d, error %q, next %v; want failed, %d, %q, %v",
				st.msg, e.State, e.Attempts, e.LastError, e.NextAttemptAt, st.wantAttempts, st.msg, st.next)
		}
	}

	mustCreateTorrent(t, s, testTorrent(hexHash(1), eps[0].ID))
	e := mustFindEpisode(t, s, eps[0].ID)
	if e.State != EpisodeReady || e.LastError != "" || !e.NextAttemptAt.IsZero() || e.Attempts != 3 {
		t.Errorf("after CreateTorrent: got %+v, want ready, no error, no retry time, attempts kept", e)
	}
	if err := s.MarkEpisodeFailed(ctx, eps[0].ID, "late failure", t0); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("MarkEpisodeFailed of a ready episode: got %v, want an error other than ErrNotFound", err)
	}
	if e2 := mustFindEpisode(t, s, eps[0].ID); !reflect.DeepEqual(e2, e) {
		t.Errorf("ready episode changed by a rejected MarkEpisodeFailed: got %+v, want %+v", e2, e)
	}
}
