package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// mustCreateFeed creates the feed with the given URL.
func mustCreateFeed(tb testing.TB, s *Store, url string) Feed {
	tb.Helper()
	f, _, err := s.CreateFeed(tb.Context(), url)
	if err != nil {
		tb.Fatalf("CreateFeed(%q): %v", url, err)
	}
	return f
}

// fixedClock makes s stamp CreatedAt with t.
func fixedClock(s *Store, t time.Time) { s.now = func() time.Time { return t } }

func TestCreateFeedIdempotent(t *testing.T) {
	s := mustOpenStore(t)
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	fixedClock(s, created)

	const a, b = "https://a.example/feed.xml", "https://b.example/feed.xml"
	tests := []struct {
		name        string
		url         string
		wantCreated bool
		wantSameAs  string // URL of an earlier step whose feed must be returned
	}{
		{name: "new", url: a, wantCreated: true},
		{name: "same url", url: a, wantCreated: false, wantSameAs: a},
		{name: "other url", url: b, wantCreated: true},
		{name: "same url again", url: a, wantCreated: false, wantSameAs: a},
		{name: "case differs", url: "https://A.example/feed.xml", wantCreated: true},
	}
	ids := map[string]int64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, gotCreated, err := s.CreateFeed(t.Context(), tt.url)
			if err != nil {
				t.Fatalf("CreateFeed: %v", err)
			}
			if gotCreated != tt.wantCreated {
				t.Errorf("created: got %v, want %v", gotCreated, tt.wantCreated)
			}
			if tt.wantSameAs != "" && f.ID != ids[tt.wantSameAs] {
				t.Errorf("ID: got %d, want %d", f.ID, ids[tt.wantSameAs])
			}
			if tt.wantCreated {
				for u, id := range ids {
					if id == f.ID {
						t.Errorf("ID: got %d, the ID of %q", f.ID, u)
					}
				}
				ids[tt.url] = f.ID
			}
			want := Feed{ID: f.ID, URL: tt.url, NextPollAt: created, CreatedAt: created}
			if !reflect.DeepEqual(f, want) {
				t.Errorf("feed: got %+v, want %+v", f, want)
			}
		})
	}

	if _, _, err := s.CreateFeed(t.Context(), ""); err == nil {
		t.Error("CreateFeed(\"\"): got nil error, want one")
	}
}

func TestFindFeed(t *testing.T) {
	s := mustOpenStore(t)
	f := mustCreateFeed(t, s, "https://a.example/feed.xml")
	byID, err := s.FindFeedByID(t.Context(), f.ID)
	if err != nil {
		t.Fatalf("FindFeedByID: %v", err)
	}
	byURL, err := s.FindFeedByURL(t.Context(), f.URL)
	if err != nil {
		t.Fatalf("FindFeedByURL: %v", err)
	}
	if !reflect.DeepEqual(byID, f) || !reflect.DeepEqual(byURL, f) {
		t.Errorf("got %+v and %+v, want %+v", byID, byURL, f)
	}
	if f.Body != nil {
		t.Errorf("Body of a never fetched feed: got %q, want nil", f.Body)
	}
}

func TestUpdateFeedPolls(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	f := mustCreateFeed(t, s, "https://a.example/feed.xml")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	body := []byte("<?xml version=\"1.0\"?>\n<rss xmlns:itunes=\"x\">\x00\xff\xfe</rss>\r\n")

	type want struct {
		title, etag, lastModified, lastError string
		body                                 []byte
		fetched, next                        time.Time
	}
	steps := []struct {
		name   string
		update func() error
		want   want
	}{
		{
			name:   "error before any fetch",
			update: func() error { return s.UpdateFeedError(ctx, f.ID, "dial tcp: refused", at(0), at(5)) },
			want:   want{lastError: "dial tcp: refused", fetched: at(0), next: at(5)},
		},
		{
			name: "200",
			update: func() error {
				return s.UpdateFeedFetched(ctx, f.ID, FeedFetch{
					Title: "Show", ETag: `"v1"`, LastModified: "Wed, 01 Jan 2025 00:00:00 GMT",
					Body: body, FetchedAt: at(10), NextPollAt: at(40),
				})
			},
			want: want{title: "Show", etag: `"v1"`, lastModified: "Wed, 01 Jan 2025 00:00:00 GMT", body: body, fetched: at(10), next: at(40)},
		},
		{
			name:   "error keeps body and validators",
			update: func() error { return s.UpdateFeedError(ctx, f.ID, "status 503", at(40), at(50)) },
			want:   want{title: "Show", etag: `"v1"`, lastModified: "Wed, 01 Jan 2025 00:00:00 GMT", body: body, lastError: "status 503", fetched: at(40), next: at(50)},
		},
		{
			name:   "304 clears error",
			update: func() error { return s.UpdateFeedNotModified(ctx, f.ID, at(50), at(80)) },
			want:   want{title: "Show", etag: `"v1"`, lastModified: "Wed, 01 Jan 2025 00:00:00 GMT", body: body, fetched: at(50), next: at(80)},
		},
		{
			name: "200 with empty body and no validators",
			update: func() error {
				return s.UpdateFeedFetched(ctx, f.ID, FeedFetch{Title: "Show 2", FetchedAt: at(80), NextPollAt: at(110)})
			},
			want: want{title: "Show 2", body: []byte{}, fetched: at(80), next: at(110)},
		},
	}
	for _, st := range steps {
		if err := st.update(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.FindFeedByID(ctx, f.ID)
		if err != nil {
			t.Fatalf("%s: FindFeedByID: %v", st.name, err)
		}
		gotW := want{got.Title, got.ETag, got.LastModified, got.LastError, got.Body, got.LastFetchedAt, got.NextPollAt}
		if !reflect.DeepEqual(gotW, st.want) {
			t.Errorf("%s: got %+v, want %+v", st.name, gotW, st.want)
		}
	}
}

func TestListFeedsOrderedWithoutBody(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	var want []int64
	for _, u := range []string{"https://c.example/", "https://a.example/", "https://b.example/"} {
		f := mustCreateFeed(t, s, u)
		if err := s.UpdateFeedFetched(ctx, f.ID, FeedFetch{Body: []byte("<rss/>"), FetchedAt: time.Now()}); err != nil {
			t.Fatalf("UpdateFeedFetched: %v", err)
		}
		want = append(want, f.ID)
	}
	feeds, err := s.ListFeeds(ctx)
	if err != nil {
		t.Fatalf("ListFeeds: %v", err)
	}
	var got []int64
	for _, f := range feeds {
		got = append(got, f.ID)
		if f.Body != nil {
			t.Errorf("feed %d: Body: got %q, want nil", f.ID, f.Body)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("IDs: got %v, want %v", got, want)
	}
}

func TestListDueFeeds(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	feeds := []struct {
		url  string
		next time.Time
	}{
		{"https://late.example/", now.Add(-time.Hour)},
		{"https://exact.example/", now},
		{"https://future.example/", now.Add(time.Nanosecond)},
		{"https://very-late.example/", now.Add(-48 * time.Hour)},
	}
	for _, f := range feeds {
		created := mustCreateFeed(t, s, f.url)
		if err := s.UpdateFeedFetched(ctx, created.ID, FeedFetch{
			Body: []byte(f.url), FetchedAt: now.Add(-72 * time.Hour), NextPollAt: f.next,
		}); err != nil {
			t.Fatalf("UpdateFeedFetched: %v", err)
		}
	}

	tests := []struct {
		name string
		now  time.Time
		want []string
	}{
		{"now", now, []string{"https://very-late.example/", "https://late.example/", "https://exact.example/"}},
		{"long ago", now.Add(-100 * time.Hour), nil},
		{"later", now.Add(time.Hour), []string{"https://very-late.example/", "https://late.example/", "https://exact.example/", "https://future.example/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, err := s.ListDueFeeds(ctx, tt.now)
			if err != nil {
				t.Fatalf("ListDueFeeds: %v", err)
			}
			var got []string
			for _, f := range due {
				got = append(got, f.URL)
				if string(f.Body) != f.URL {
					t.Errorf("%s: Body: got %q, want %q", f.URL, f.Body, f.URL)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// A new feed is due at once.
	fixedClock(s, now.Add(time.Minute))
	mustCreateFeed(t, s, "https://new.example/")
	due, err := s.ListDueFeeds(ctx, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("ListDueFeeds: %v", err)
	}
	if last := due[len(due)-1]; last.URL != "https://new.example/" || last.Body != nil {
		t.Errorf("last due feed: got %q with body %q, want the new feed, with nil body", last.URL, last.Body)
	}
}

func TestDeleteFeedCascades(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	a := mustCreateFeed(t, s, "https://a.example/")
	b := mustCreateFeed(t, s, "https://b.example/")
	aEps := mustUpsertEpisodes(t, s, a.ID,
		Episode{GUID: "a1", EnclosureURL: "https://a.example/1.mp3"},
		Episode{GUID: "a2", EnclosureURL: "https://a.example/2.mp3"},
		Episode{GUID: "a3", EnclosureURL: "https://a.example/3.mp3"}, // stays pending
	)
	bEps := mustUpsertEpisodes(t, s, b.ID,
		Episode{GUID: "b1", EnclosureURL: "https://b.example/1.mp3"},
	)
	onlyA, shared := hexHash(1), hexHash(2)
	mustCreateTorrent(t, s, testTorrent(onlyA, aEps[0].ID))
	mustCreateTorrent(t, s, testTorrent(shared, aEps[1].ID))
	mustCreateTorrent(t, s, testTorrent(shared, bEps[0].ID)) // same bytes in feed b

	if err := s.DeleteFeed(ctx, a.ID); err != nil {
		t.Fatalf("DeleteFeed(a): %v", err)
	}
	if _, err := s.FindFeedByID(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindFeedByID(a): got %v, want ErrNotFound", err)
	}
	for _, e := range aEps {
		if _, err := s.FindEpisodeByID(ctx, e.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("FindEpisodeByID(%d): got %v, want ErrNotFound", e.ID, err)
		}
	}
	if _, err := s.FindTorrentByInfoHash(ctx, onlyA); !errors.Is(err, ErrNotFound) {
		t.Errorf("torrent only a used: got %v, want ErrNotFound", err)
	}
	tor, err := s.FindTorrentByInfoHash(ctx, shared)
	if err != nil {
		t.Fatalf("torrent shared with b: %v", err)
	}
	if tor.EpisodeID != bEps[0].ID {
		t.Errorf("shared torrent EpisodeID: got %d, want %d (b's episode)", tor.EpisodeID, bEps[0].ID)
	}
	if e, err := s.FindEpisodeByID(ctx, bEps[0].ID); err != nil || e.InfoHash != shared || e.State != EpisodeReady {
		t.Errorf("b's episode: got %+v, %v, want it ready with %s", e, err, shared)
	}

	if err := s.DeleteFeed(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteFeed(a) again: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteFeed(ctx, b.ID); err != nil {
		t.Fatalf("DeleteFeed(b): %v", err)
	}
	ts, err := s.ListTorrents(ctx)
	if err != nil {
		t.Fatalf("ListTorrents: %v", err)
	}
	if len(ts) != 0 {
		t.Errorf("torrents after deleting every feed: got %d, want 0", len(ts))
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM episodes").Scan(&n); err != nil {
		t.Fatalf("count episodes: %v", err)
	}
	if n != 0 {
		t.Errorf("episodes after deleting every feed: got %d, want 0", n)
	}
}

func TestFeedFailures(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fixedClock(s, t0)
	f := mustCreateFeed(t, s, "https://a.example/feed.xml")
	other := mustCreateFeed(t, s, "https://b.example/feed.xml")
	fetched := func() error {
		return s.UpdateFeedFetched(ctx, f.ID, FeedFetch{Body: []byte("<rss/>"), FetchedAt: t0, NextPollAt: t0})
	}
	failed := func() error { return s.UpdateFeedError(ctx, f.ID, "status 503", t0, t0) }
	notModified := func() error { return s.UpdateFeedNotModified(ctx, f.ID, t0, t0) }
	moved := func() error { return s.UpdateFeedURL(ctx, f.ID, "https://a.example/moved.xml") }

	steps := []struct {
		name   string
		update func() error
		want   int
	}{
		{name: "first error", update: failed, want: 1},
		{name: "second error", update: failed, want: 2},
		{name: "third error", update: failed, want: 3},
		{name: "304 resets", update: notModified, want: 0},
		{name: "error after 304", update: failed, want: 1},
		{name: "move keeps the count", update: moved, want: 1},
		{name: "error after move", update: failed, want: 2},
		{name: "200 resets", update: fetched, want: 0},
		{name: "200 again", update: fetched, want: 0},
		{name: "error after 200", update: failed, want: 1},
	}
	for _, st := range steps {
		if err := st.update(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.FindFeedByID(ctx, f.ID)
		if err != nil {
			t.Fatalf("%s: FindFeedByID: %v", st.name, err)
		}
		if got.Failures != st.want {
			t.Errorf("%s: Failures: got %d, want %d", st.name, got.Failures, st.want)
		}
	}

	// Every way of reading feeds carries the count; other feeds keep theirs.
	want := map[int64]int{f.ID: 1, other.ID: 0}
	listed, err := s.ListFeeds(ctx)
	if err != nil {
		t.Fatalf("ListFeeds: %v", err)
	}
	due, err := s.ListDueFeeds(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("ListDueFeeds: %v", err)
	}
	for name, feeds := range map[string][]Feed{"ListFeeds": listed, "ListDueFeeds": due} {
		if len(feeds) != len(want) {
			t.Fatalf("%s: got %d feeds, want %d", name, len(feeds), len(want))
		}
		for _, got := range feeds {
			if got.Failures != want[got.ID] {
				t.Errorf("%s: feed %d: Failures: got %d, want %d", name, got.ID, got.Failures, want[got.ID])
			}
		}
	}
}

func TestUpdateFeedURL(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	const (
		orig  = "https://old.example/feed.xml"
		moved = "https://new.example/feed.xml"
		taken = "https://b.example/feed.xml"
	)
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fixedClock(s, created)
	f := mustCreateFeed(t, s, orig)
	b := mustCreateFeed(t, s, taken)
	fetchedAt := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	body := []byte("<rss/>")

	tests := []struct {
		name           string
		id             int64
		url            string
		wantErr        error // nil, ErrNotFound, ErrConflict, or errOther
		wantURL        string
		wantValidators bool // ETag and LastModified kept
	}{
		{name: "moved", id: f.ID, url: moved, wantURL: moved},
		{name: "same url keeps validators", id: f.ID, url: moved, wantURL: moved, wantValidators: true},
		{name: "url of another feed", id: f.ID, url: taken, wantErr: ErrConflict, wantURL: moved, wantValidators: true},
		{name: "unknown feed", id: b.ID + 100, url: "https://c.example/", wantErr: ErrNotFound, wantURL: moved, wantValidators: true},
		{name: "unknown feed to a taken url", id: b.ID + 100, url: taken, wantErr: ErrNotFound, wantURL: moved, wantValidators: true},
		{name: "empty url", id: f.ID, url: "", wantErr: errOther, wantURL: moved, wantValidators: true},
		{name: "back to the original url", id: f.ID, url: orig, wantURL: orig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case starts from a fetched feed with validators and one
			// failed poll since.
			if err := s.UpdateFeedFetched(ctx, f.ID, FeedFetch{
				Title: "Show", ETag: `"v1"`, LastModified: "Sat, 01 Feb 2025 00:00:00 GMT",
				Body: body, FetchedAt: fetchedAt, NextPollAt: fetchedAt,
			}); err != nil {
				t.Fatalf("UpdateFeedFetched: %v", err)
			}
			if err := s.UpdateFeedError(ctx, f.ID, "status 503", fetchedAt, fetchedAt.Add(time.Hour)); err != nil {
				t.Fatalf("UpdateFeedError: %v", err)
			}

			err := s.UpdateFeedURL(ctx, tt.id, tt.url)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.wantErr == errOther && (err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict)):
				t.Fatalf("got %v, want an error other than ErrNotFound and ErrConflict", err)
			case tt.wantErr != nil && tt.wantErr != errOther && !errors.Is(err, tt.wantErr):
				t.Fatalf("got %v, want an error wrapping %v", err, tt.wantErr)
			}

			want := Feed{
				ID: f.ID, URL: tt.wantURL, Title: "Show", Body: body,
				LastFetchedAt: fetchedAt, NextPollAt: fetchedAt.Add(time.Hour),
				LastError: "status 503", Failures: 1, CreatedAt: created,
			}
			if tt.wantValidators {
				want.ETag, want.LastModified = `"v1"`, "Sat, 01 Feb 2025 00:00:00 GMT"
			}
			got, err := s.FindFeedByURL(ctx, tt.wantURL)
			if err != nil {
				t.Fatalf("FindFeedByURL(%q): %v", tt.wantURL, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("feed: got %+v, want %+v", got, want)
			}
			if got, err := s.FindFeedByID(ctx, b.ID); err != nil || got.URL != taken {
				t.Errorf("other feed: got %q, %v, want %q", got.URL, err, taken)
			}
		})
	}

	// The old URL is free again: adding it makes a new feed.
	if _, err := s.FindFeedByURL(ctx, moved); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindFeedByURL(old url): got %v, want ErrNotFound", err)
	}
	again, isNew, err := s.CreateFeed(ctx, moved)
	if err != nil || !isNew || again.ID == f.ID {
		t.Errorf("CreateFeed(old url): got ID %d, created %v, %v, want a new feed", again.ID, isNew, err)
	}
}

// errOther stands, in a table's wantErr, for an error that is neither
// ErrNotFound nor ErrConflict.
var errOther = errors.New("other error")
