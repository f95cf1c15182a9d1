package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// retentionFixture makes two feeds:
//
//	A: a1 (t1, ih1), a2 (t2, ih2), a3 (t3, ih3), a4 (t4, ih4), a5 pending
//	B: b1 (t0, ih1, shared with a1), b2 (t5, ih5, web seed withheld)
//
// every torrent 100 bytes.
func retentionFixture(t *testing.T) (*Store, []string) {
	t.Helper()
	s := mustOpenStore(t)
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 24 * time.Hour) }
	a := mustCreateFeed(t, s, "https://a.example/feed.xml")
	b := mustCreateFeed(t, s, "https://b.example/feed.xml")
	var aEps []Episode
	for i := 1; i <= 5; i++ {
		aEps = append(aEps, Episode{GUID: "a" + string(rune('0'+i)), EnclosureURL: "https://a.example/" + string(rune('0'+i)) + ".mp3", PublishedAt: at(i)})
	}
	ae := mustUpsertEpisodes(t, s, a.ID, aEps...)
	be := mustUpsertEpisodes(t, s, b.ID,
		Episode{GUID: "b1", EnclosureURL: "https://b.example/1.mp3", PublishedAt: at(0)},
		Episode{GUID: "b2", EnclosureURL: "https://b.example/2.mp3", PublishedAt: at(5)})
	ih := []string{"", hexHash(1), hexHash(2), hexHash(3), hexHash(4), hexHash(5)}
	mk := func(h string, epID int64, withheld string) {
		tt := testTorrent(h, epID)
		tt.Size = 100
		tt.WebSeedWithheld = withheld
		mustCreateTorrent(t, s, tt)
	}
	for i := 1; i <= 4; i++ {
		mk(ih[i], ae[i-1].ID, "")
	}
	mk(ih[1], be[0].ID, "")
	mk(ih[5], be[1].ID, "origin changes bytes")
	return s, ih
}

func evictedHashes(p RetentionPlan) []string {
	var hs []string
	for _, e := range p.Evict {
		hs = append(hs, e.InfoHash)
	}
	return hs
}

func TestPlanEvictions(t *testing.T) {
	tests := []struct {
		name           string
		policy         RetentionPolicy
		want           []int // infohash numbers, in eviction order
		wantReason     string
		wantKept       int64
		wantOverBudget bool
	}{
		{"disabled", RetentionPolicy{}, nil, "", 500, false},
		// ih1 is a1 (rank 4 in A) but also b1 (rank 2 in B): kept.
		{"keep 2 per feed", RetentionPolicy{KeepPerFeed: 2}, []int{2}, EvictKeepPerFeed, 400, false},
		{"keep 1 per feed", RetentionPolicy{KeepPerFeed: 1}, []int{1, 2, 3}, EvictKeepPerFeed, 200, false},
		{"keep 10 per feed", RetentionPolicy{KeepPerFeed: 10}, nil, "", 500, false},
		{"budget oldest first", RetentionPolicy{MaxBytes: 250}, []int{1, 2, 3}, EvictDiskBudget, 200, false},
		{"budget exact", RetentionPolicy{MaxBytes: 500}, nil, "", 500, false},
		// ih5 has no web seed: never evicted, so the budget cannot be met.
		{"budget below unevictable", RetentionPolicy{MaxBytes: 50}, []int{1, 2, 3, 4}, EvictDiskBudget, 100, true},
		{"budget evicting without web seed", RetentionPolicy{MaxBytes: 50, EvictWithoutWebSeed: true}, []int{1, 2, 3, 4, 5}, EvictDiskBudget, 0, false},
		{"keep 1 without web seed", RetentionPolicy{KeepPerFeed: 1, EvictWithoutWebSeed: true}, []int{1, 2, 3}, EvictKeepPerFeed, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ih := retentionFixture(t)
			plan, err := s.PlanEvictions(t.Context(), tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tt.want {
				want = append(want, ih[i])
			}
			if got := evictedHashes(plan); !reflect.DeepEqual(got, want) {
				t.Errorf("evicted: got %v, want %v", got, want)
			}
			for _, e := range plan.Evict {
				if e.Reason != tt.wantReason || e.Size != 100 || e.DataPath != "/data/files/"+e.InfoHash+"/episode.mp3" {
					t.Errorf("eviction %+v: want reason %q, size 100 and its data path", e, tt.wantReason)
				}
			}
			if plan.KeptBytes != tt.wantKept || plan.OverBudget != tt.wantOverBudget {
				t.Errorf("kept %d bytes, over budget %v: want %d, %v", plan.KeptBytes, plan.OverBudget, tt.wantKept, tt.wantOverBudget)
			}
		})
	}
}

func TestPlanEvictionsCombined(t *testing.T) {
	s, ih := retentionFixture(t)
	// keep 2 per feed evicts ih2; the budget of 250 then evicts ih1 and ih3.
	plan, err := s.PlanEvictions(t.Context(), RetentionPolicy{KeepPerFeed: 2, MaxBytes: 250})
	if err != nil {
		t.Fatal(err)
	}
	want := []PlannedEviction{
		{InfoHash: ih[2], DataPath: "/data/files/" + ih[2] + "/episode.mp3", Size: 100, Reason: EvictKeepPerFeed},
		{InfoHash: ih[1], DataPath: "/data/files/" + ih[1] + "/episode.mp3", Size: 100, Reason: EvictDiskBudget},
		{InfoHash: ih[3], DataPath: "/data/files/" + ih[3] + "/episode.mp3", Size: 100, Reason: EvictDiskBudget},
	}
	if !reflect.DeepEqual(plan.Evict, want) || plan.KeptBytes != 200 {
		t.Errorf("got %+v, want %+v with 200 bytes kept", plan, want)
	}
	if _, err := s.PlanEvictions(t.Context(), RetentionPolicy{KeepPerFeed: -1}); err == nil {
		t.Error("negative policy: got nil error")
	}
}

func TestTorrentEvictionLifecycle(t *testing.T) {
	s, ih := retentionFixture(t)
	ctx := t.Context()
	t1 := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	if at, err := s.FindTorrentEviction(ctx, ih[2]); err != nil || !at.IsZero() {
		t.Fatalf("FindTorrentEviction before: got %v, %v; want zero time", at, err)
	}
	if err := s.MarkTorrentEvicted(ctx, ih[2], t1); err != nil {
		t.Fatal(err)
	}
	// Marking again keeps the first time.
	if err := s.MarkTorrentEvicted(ctx, ih[2], t1.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if at, err := s.FindTorrentEviction(ctx, ih[2]); err != nil || !at.Equal(t1) {
		t.Fatalf("FindTorrentEviction: got %v, %v; want %v", at, err, t1)
	}
	got, err := s.ListEvictedTorrents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []EvictedTorrent{{InfoHash: ih[2], DataPath: "/data/files/" + ih[2] + "/episode.mp3", EvictedAt: t1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListEvictedTorrents: got %+v, want %+v", got, want)
	}

	// An evicted torrent is neither planned again nor counted; it stays in
	// the feed's torrents (it is still published).
	plan, err := s.PlanEvictions(ctx, RetentionPolicy{KeepPerFeed: 2, MaxBytes: 250})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := evictedHashes(plan), []string{ih[1], ih[3]}; !reflect.DeepEqual(got, want) || plan.KeptBytes != 200 {
		t.Errorf("plan after eviction: got %v (%d bytes kept), want %v (200)", got, plan.KeptBytes, want)
	}
	ets, err := s.ListFeedTorrents(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ets) != 4 {
		t.Errorf("feed torrents after eviction: got %d, want 4", len(ets))
	}

	if err := s.ClearTorrentEviction(ctx, ih[2]); err != nil {
		t.Fatal(err)
	}
	if at, err := s.FindTorrentEviction(ctx, ih[2]); err != nil || !at.IsZero() {
		t.Errorf("FindTorrentEviction after clear: got %v, %v; want zero time", at, err)
	}
	if got, err := s.ListEvictedTorrents(ctx); err != nil || len(got) != 0 {
		t.Errorf("ListEvictedTorrents after clear: got %v, %v; want none", got, err)
	}

	unknown := hexHash(99)
	for name, err := range map[string]error{
		"mark":  s.MarkTorrentEvicted(ctx, unknown, t1),
		"clear": s.ClearTorrentEviction(ctx, unknown),
		"find": func() error {
			_, err := s.FindTorrentEviction(ctx, unknown)
			return err
		}(),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s unknown torrent: got %v, want ErrNotFound", name, err)
		}
	}
}
