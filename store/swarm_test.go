package store

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mustCreateTorrents creates a feed with n ready episodes and returns the
// infohashes of their torrents, hexHash(base+1) … hexHash(base+n).
func mustCreateTorrents(tb testing.TB, s *Store, base, n int) []string {
	tb.Helper()
	f := mustCreateFeed(tb, s, fmt.Sprintf("https://torrents-%d.example/feed.xml", base))
	var hashes []string
	for i := range n {
		eps := mustUpsertEpisodes(tb, s, f.ID, Episode{GUID: fmt.Sprint(i), EnclosureURL: fmt.Sprintf("%s/%d.mp3", f.URL, i)})
		h := hexHash(base + i + 1)
		mustCreateTorrent(tb, s, testTorrent(h, eps[0].ID))
		hashes = append(hashes, h)
	}
	return hashes
}

// mustCreateSwarmSamples records samples.
func mustCreateSwarmSamples(tb testing.TB, s *Store, samples ...SwarmSample) {
	tb.Helper()
	if err := s.CreateSwarmSamples(tb.Context(), samples); err != nil {
		tb.Fatalf("CreateSwarmSamples: %v", err)
	}
}

// mustDownsample runs DownsampleSwarmSamples at now.
func mustDownsample(tb testing.TB, s *Store, now time.Time) {
	tb.Helper()
	if err := s.DownsampleSwarmSamples(tb.Context(), now); err != nil {
		tb.Fatalf("DownsampleSwarmSamples(%v): %v", now, err)
	}
}

// point is a stored sample with its resolution in seconds (60 or 3600).
type point struct {
	SwarmSample
	Res int
}

func (p point) String() string {
	return fmt.Sprintf("%s/%d{S%d L%d C%d P%d B%d A%g W%d}", p.At.Format("01-02T15:04"), p.Res,
		p.Seeders, p.Leechers, p.Completed, p.Peers, p.BytesUploaded, p.Availability, p.BytesWebSeeded)
}

// mustListPoints returns ListSwarmSamples(infoHash, all time), each with the
// resolution stored for it.
func mustListPoints(tb testing.TB, s *Store, infoHash string) []point {
	tb.Helper()
	samples, err := s.ListSwarmSamples(tb.Context(), infoHash, time.Time{})
	if err != nil {
		tb.Fatalf("ListSwarmSamples(%s): %v", infoHash, err)
	}
	rows, err := s.db.QueryContext(tb.Context(),
		"SELECT at, resolution FROM swarm_samples WHERE info_hash = ?", infoHash)
	if err != nil {
		tb.Fatalf("read resolutions: %v", err)
	}
	defer rows.Close()
	res := map[int64]int{}
	for rows.Next() {
		var at int64
		var r int
		if err := rows.Scan(&at, &r); err != nil {
			tb.Fatalf("read resolutions: %v", err)
		}
		res[at] = r
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("read resolutions: %v", err)
	}
	points := []point{}
	for _, sm := range samples {
		points = append(points, point{sm, res[sm.At.UnixNano()]})
	}
	return points
}

// sample returns a SwarmSample with the counts in the order of the struct.
func sample(infoHash string, at time.Time, seeders, leechers, completed, peers int, bytes int64) SwarmSample {
	return SwarmSample{InfoHash: infoHash, At: at, Seeders: seeders, Leechers: leechers,
		Completed: completed, Peers: peers, BytesUploaded: bytes}
}

func TestSwarmSamplesRoundTrip(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	hs := mustCreateTorrents(t, s, 0, 3)
	a, b, none := hs[0], hs[1], hs[2]
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	zone := time.FixedZone("UTC+2", 2*3600)

	// Out of order, with seconds, upper case and another zone.
	mustCreateSwarmSamples(t, s,
		sample(a, minute(2).Add(59*time.Second+999*time.Millisecond), 3, 1, 7, 2, 3000),
		sample(strings.ToUpper(a), minute(0).In(zone), 1, 0, 5, 1, 1000),
		sample(b, minute(1).Add(30*time.Second), 9, 9, 9, 9, 9),
		sample(a, minute(1), 2, 2, 6, 0, 2000),
	)
	// The same minute again, twice in one batch: the last one wins.
	mustCreateSwarmSamples(t, s,
		sample(a, minute(1).Add(10*time.Second), 100, 100, 100, 100, 100),
		sample(a, minute(1).Add(20*time.Second), 2, 3, 6, 1, 2500),
	)

	want := []SwarmSample{
		sample(a, minute(0), 1, 0, 5, 1, 1000),
		sample(a, minute(1), 2, 3, 6, 1, 2500),
		sample(a, minute(2), 3, 1, 7, 2, 3000),
	}
	tests := []struct {
		name     string
		infoHash string
		since    time.Time
		want     []SwarmSample
	}{
		{name: "all", infoHash: a, want: want},
		{name: "upper case", infoHash: strings.ToUpper(a), want: want},
		{name: "since is inclusive", infoHash: a, since: minute(1), want: want[1:]},
		{name: "since between points", infoHash: a, since: minute(1).Add(time.Second), want: want[2:]},
		{name: "since after all", infoHash: a, since: minute(3), want: nil},
		{name: "other torrent", infoHash: b, want: []SwarmSample{sample(b, minute(1), 9, 9, 9, 9, 9)}},
		{name: "torrent without samples", infoHash: none, want: nil},
		{name: "unknown torrent", infoHash: hexHash(999), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListSwarmSamples(ctx, tt.infoHash, tt.since)
			if err != nil {
				t.Fatalf("ListSwarmSamples: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	latest, err := s.LatestSwarmSamples(ctx)
	if err != nil {
		t.Fatalf("LatestSwarmSamples: %v", err)
	}
	wantLatest := map[string]SwarmSample{a: want[2], b: sample(b, minute(1), 9, 9, 9, 9, 9)}
	if !reflect.DeepEqual(latest, wantLatest) {
		t.Errorf("LatestSwarmSamples: got %+v, want %+v", latest, wantLatest)
	}

	if err := s.CreateSwarmSamples(ctx, nil); err != nil {
		t.Errorf("CreateSwarmSamples(nil): got %v, want nil", err)
	}
}

func TestLatestSwarmSamplesEmpty(t *testing.T) {
	s := mustOpenStore(t)
	mustCreateTorrents(t, s, 0, 1)
	got, err := s.LatestSwarmSamples(t.Context())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %v (nil: %v), %v, want an empty map", got, got == nil, err)
	}
}

// TestCreateSwarmSamplesRejects checks that a batch with one bad sample
// writes nothing.
func TestCreateSwarmSamplesRejects(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	h := mustCreateTorrents(t, s, 0, 1)[0]
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	good := sample(h, at, 1, 1, 1, 1, 1)
	with := func(mod func(*SwarmSample)) SwarmSample {
		sm := sample(h, at.Add(time.Minute), 1, 1, 1, 1, 1)
		mod(&sm)
		return sm
	}
	tests := []struct {
		name     string
		bad      SwarmSample
		notFound bool
	}{
		{name: "unknown torrent", bad: with(func(sm *SwarmSample) { sm.InfoHash = hexHash(999) }), notFound: true},
		{name: "short infohash", bad: with(func(sm *SwarmSample) { sm.InfoHash = "abc" })},
		{name: "non-hex infohash", bad: with(func(sm *SwarmSample) { sm.InfoHash = strings.Repeat("g", 40) })},
		{name: "zero time", bad: with(func(sm *SwarmSample) { sm.At = time.Time{} })},
		{name: "negative seeders", bad: with(func(sm *SwarmSample) { sm.Seeders = -1 })},
		{name: "negative leechers", bad: with(func(sm *SwarmSample) { sm.Leechers = -1 })},
		{name: "negative completed", bad: with(func(sm *SwarmSample) { sm.Completed = -1 })},
		{name: "negative peers", bad: with(func(sm *SwarmSample) { sm.Peers = -1 })},
		{name: "negative bytes uploaded", bad: with(func(sm *SwarmSample) { sm.BytesUploaded = -1 })},
		{name: "negative bytes web seeded", bad: with(func(sm *SwarmSample) { sm.BytesWebSeeded = -1 })},
		{name: "negative availability", bad: with(func(sm *SwarmSample) { sm.Availability = -0.5 })},
		{name: "NaN availability", bad: with(func(sm *SwarmSample) { sm.Availability = math.NaN() })},
		{name: "infinite availability", bad: with(func(sm *SwarmSample) { sm.Availability = math.Inf(1) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateSwarmSamples(ctx, []SwarmSample{good, tt.bad})
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("got %v, want ErrNotFound: %v", err, tt.notFound)
			}
			if got := mustListPoints(t, s, h); len(got) != 0 {
				t.Errorf("samples after a rejected batch: got %v, want none", got)
			}
		})
	}
	if err := s.DownsampleSwarmSamples(ctx, time.Time{}); err == nil {
		t.Error("DownsampleSwarmSamples(zero time): got nil error, want one")
	}
}

func TestDownsampleSwarmSamples(t *testing.T) {
	s := mustOpenStore(t)
	hs := mustCreateTorrents(t, s, 0, 2)
	a, b := hs[0], hs[1]
	day0 := time.Date(2025, 6, 9, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	minute := func(sm SwarmSample) point { return point{sm, 60} }
	hourly := func(sm SwarmSample) point { return point{sm, 3600} }

	// At now = at(36, 30), minute points before at(12, 30) are old.
	mustCreateSwarmSamples(t, s,
		sample(a, at(10, 0), 5, 1, 10, 2, 100),
		sample(a, at(10, 15), 9, 0, 11, 1, 150),
		sample(a, at(10, 59), 3, 4, 12, 3, 200),
		sample(a, at(11, 30), 1, 1, 13, 1, 250),
		sample(a, at(12, 0), 2, 7, 14, 0, 300),
		sample(a, at(12, 29), 4, 2, 15, 5, 350),
		sample(a, at(12, 30), 6, 1, 16, 1, 400), // exactly 24 h old: kept
		sample(a, at(12, 45), 1, 3, 17, 9, 450),
		sample(a, at(36, 0), 7, 0, 20, 2, 900),
		sample(b, at(10, 30), 1, 1, 1, 1, 1),
		sample(b, at(36, 29), 2, 2, 2, 2, 2),
	)
	firstFold := map[string][]point{
		a: {
			hourly(sample(a, at(10, 59), 9, 4, 12, 3, 200)), // max S L P, last C B
			hourly(sample(a, at(11, 30), 1, 1, 13, 1, 250)),
			hourly(sample(a, at(12, 29), 4, 7, 15, 5, 350)), // the old part of hour 12
			minute(sample(a, at(12, 30), 6, 1, 16, 1, 400)),
			minute(sample(a, at(12, 45), 1, 3, 17, 9, 450)),
			minute(sample(a, at(36, 0), 7, 0, 20, 2, 900)),
		},
		b: {
			hourly(sample(b, at(10, 30), 1, 1, 1, 1, 1)),
			minute(sample(b, at(36, 29), 2, 2, 2, 2, 2)),
		},
	}

	steps := []struct {
		name string
		add  []SwarmSample
		now  time.Time
		want map[string][]point
	}{
		{name: "first fold", now: at(36, 30), want: firstFold},
		{name: "same now again", now: at(36, 30), want: firstFold},
		{name: "earlier now", now: at(35, 0), want: firstFold},
		{
			name: "rest of hour 12 and late samples",
			add: []SwarmSample{
				// Late, inside hour 12: its gauges count, its counters
				// are older than at(12, 45)'s.
				sample(a, at(12, 10), 20, 0, 99, 0, 9999),
				// Late, at the minute of an hourly point: dropped.
				sample(a, at(10, 59), 100, 100, 100, 100, 100),
			},
			now: at(37, 0),
			want: map[string][]point{
				a: {
					hourly(sample(a, at(10, 59), 9, 4, 12, 3, 200)),
					hourly(sample(a, at(11, 30), 1, 1, 13, 1, 250)),
					hourly(sample(a, at(12, 45), 20, 7, 17, 9, 450)), // merged with the first fold
					minute(sample(a, at(36, 0), 7, 0, 20, 2, 900)),
				},
				b: firstFold[b],
			},
		},
		{
			name: "late sample older than its hourly point",
			// Only its peers count: the hourly point's counters are newer.
			add: []SwarmSample{sample(a, at(12, 5), 0, 0, 1, 50, 1)},
			now: at(37, 0),
			want: map[string][]point{
				a: {
					hourly(sample(a, at(10, 59), 9, 4, 12, 3, 200)),
					hourly(sample(a, at(11, 30), 1, 1, 13, 1, 250)),
					hourly(sample(a, at(12, 45), 20, 7, 17, 50, 450)),
					minute(sample(a, at(36, 0), 7, 0, 20, 2, 900)),
				},
				b: firstFold[b],
			},
		},
	}
	for _, st := range steps {
		if len(st.add) > 0 {
			mustCreateSwarmSamples(t, s, st.add...)
		}
		mustDownsample(t, s, st.now)
		for _, h := range []string{a, b} {
			if got := mustListPoints(t, s, h); fmt.Sprint(got) != fmt.Sprint(st.want[h]) {
				t.Errorf("%s: %s:\n got %v\nwant %v", st.name, h[36:], got, st.want[h])
			}
		}
	}

	latest, err := s.LatestSwarmSamples(t.Context())
	if err != nil {
		t.Fatalf("LatestSwarmSamples: %v", err)
	}
	want := map[string]SwarmSample{a: sample(a, at(36, 0), 7, 0, 20, 2, 900), b: sample(b, at(36, 29), 2, 2, 2, 2, 2)}
	if !reflect.DeepEqual(latest, want) {
		t.Errorf("LatestSwarmSamples: got %+v, want %+v", latest, want)
	}

	// Once every minute point is old, the newest sample is an hourly one.
	mustDownsample(t, s, at(72, 0))
	latest, err = s.LatestSwarmSamples(t.Context())
	if err != nil {
		t.Fatalf("LatestSwarmSamples: %v", err)
	}
	if !reflect.DeepEqual(latest, want) {
		t.Errorf("LatestSwarmSamples after folding all: got %+v, want %+v", latest, want)
	}
	if got := mustListPoints(t, s, a); got[len(got)-1].Res != 3600 {
		t.Errorf("newest point of a after folding all: got %v, want an hourly point", got[len(got)-1])
	}
}

func TestDownsampleSwarmSamplesExpiry(t *testing.T) {
	s := mustOpenStore(t)
	now := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	tests := []struct {
		name      string
		age       time.Duration // of the one sample, at now
		want      int           // resolution after downsampling at now; 0: deleted
		wantLater int           // after downsampling at now + 1 h as well
	}{
		{name: "90 days and a minute", age: 90*day + time.Minute, want: 0, wantLater: 0},
		{name: "90 days", age: 90 * day, want: 3600, wantLater: 0},
		{name: "30 days", age: 30 * day, want: 3600, wantLater: 3600},
		{name: "24 hours and a minute", age: day + time.Minute, want: 3600, wantLater: 3600},
		{name: "24 hours", age: day, want: 60, wantLater: 3600},
		{name: "a minute", age: time.Minute, want: 60, wantLater: 60},
	}
	hashes := mustCreateTorrents(t, s, 0, len(tests))
	for i, tt := range tests {
		mustCreateSwarmSamples(t, s, sample(hashes[i], now.Add(-tt.age), 1, 2, 3, 4, 5))
	}
	for _, step := range []struct {
		now  time.Time
		want func(i int) int
	}{
		{now, func(i int) int { return tests[i].want }},
		{now.Add(time.Hour), func(i int) int { return tests[i].wantLater }},
	} {
		mustDownsample(t, s, step.now)
		for i, tt := range tests {
			t.Run(fmt.Sprintf("%s/at now+%v", tt.name, step.now.Sub(now)), func(t *testing.T) {
				want := []point{}
				if res := step.want(i); res != 0 {
					want = append(want, point{sample(hashes[i], now.Add(-tt.age), 1, 2, 3, 4, 5), res})
				}
				if got := mustListPoints(t, s, hashes[i]); !reflect.DeepEqual(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			})
		}
	}
}

func TestSwarmSamplesCascadeFromDeleteFeed(t *testing.T) {
	s := mustOpenStore(t)
	ctx := t.Context()
	a := mustCreateFeed(t, s, "https://a.example/")
	b := mustCreateFeed(t, s, "https://b.example/")
	aEps := mustUpsertEpisodes(t, s, a.ID,
		Episode{GUID: "a1", EnclosureURL: "https://a.example/1.mp3"},
		Episode{GUID: "a2", EnclosureURL: "https://a.example/2.mp3"},
	)
	bEps := mustUpsertEpisodes(t, s, b.ID, Episode{GUID: "b1", EnclosureURL: "https://b.example/1.mp3"})
	onlyA, shared := hexHash(1), hexHash(2)
	mustCreateTorrent(t, s, testTorrent(onlyA, aEps[0].ID))
	mustCreateTorrent(t, s, testTorrent(shared, aEps[1].ID))
	mustCreateTorrent(t, s, testTorrent(shared, bEps[0].ID))
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, h := range []string{onlyA, shared} {
		mustCreateSwarmSamples(t, s, sample(h, t0, 1, 1, 1, 1, 1), sample(h, t0.Add(48*time.Hour), 2, 2, 2, 2, 2))
	}
	mustDownsample(t, s, t0.Add(49*time.Hour)) // one hourly and one minute point each

	steps := []struct {
		name      string
		deleteID  int64
		wantCount map[string]int
	}{
		{name: "delete a", deleteID: a.ID, wantCount: map[string]int{onlyA: 0, shared: 2}},
		{name: "delete b", deleteID: b.ID, wantCount: map[string]int{onlyA: 0, shared: 0}},
	}
	for _, st := range steps {
		if err := s.DeleteFeed(ctx, st.deleteID); err != nil {
			t.Fatalf("%s: DeleteFeed: %v", st.name, err)
		}
		latest, err := s.LatestSwarmSamples(ctx)
		if err != nil {
			t.Fatalf("%s: LatestSwarmSamples: %v", st.name, err)
		}
		for h, want := range st.wantCount {
			if got := len(mustListPoints(t, s, h)); got != want {
				t.Errorf("%s: samples of %s: got %d, want %d", st.name, h, got, want)
			}
			if _, ok := latest[h]; ok != (want > 0) {
				t.Errorf("%s: LatestSwarmSamples has %s: got %v, want %v", st.name, h, ok, want > 0)
			}
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM swarm_samples").Scan(&n); err != nil {
		t.Fatalf("count swarm_samples: %v", err)
	}
	if n != 0 {
		t.Errorf("swarm_samples rows after deleting every feed: got %d, want 0", n)
	}
}

// TestSwarmSampleQueriesUseIndexes checks that no statement on swarm_samples
// reads the whole table: they go through the primary key (info_hash, at) or
// the (resolution, at) index.
func TestSwarmSampleQueriesUseIndexes(t *testing.T) {
	s := mustOpenStore(t)
	h := hexHash(1)
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"upsertMinuteSample", upsertMinuteSample, []any{h, 1, 1, 1, 1, 1, 1, 0.5, 1}},
		{"listSwarmSamples", listSwarmSamples, []any{h, 1}},
		{"latestSwarmSamples", latestSwarmSamples, nil},
		{"selectMinutesToFold", selectMinutesToFold, []any{1}},
		{"deleteMinutesToFold", deleteMinutesToFold, []any{1}},
		{"selectHourPoint", selectHourPoint, []any{h, 1, 2}},
		{"deleteHourPoint", deleteHourPoint, []any{h, 1, 2}},
		{"deleteExpiredHours", deleteExpiredHours, []any{1}},
		{"cascade from torrents", "DELETE FROM swarm_samples WHERE info_hash = ?", []any{h}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatalf("EXPLAIN QUERY PLAN: %v", err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatalf("scan plan: %v", err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("read plan: %v", err)
			}
			for _, step := range plan {
				for _, alias := range []string{"swarm_samples", "s", "x"} {
					if step == "SCAN "+alias || strings.HasPrefix(step, "SCAN "+alias+" ") {
						t.Errorf("full scan of swarm_samples: plan %q", plan)
					}
				}
			}
		})
	}
}

// TestSwarmSampleAvailability stores fractional availability, reads it
// back, and folds it into hourly points as a gauge (the hour's maximum).
func TestSwarmSampleAvailability(t *testing.T) {
	s := mustOpenStore(t)
	h := mustCreateTorrents(t, s, 0, 1)[0]
	day0 := time.Date(2025, 6, 9, 0, 0, 0, 0, time.UTC)
	at := func(hour, m int) time.Time {
		return day0.Add(time.Duration(hour)*time.Hour + time.Duration(m)*time.Minute)
	}
	withAvail := func(sm SwarmSample, a float64) SwarmSample { sm.Availability = a; return sm }
	mustCreateSwarmSamples(t, s,
		withAvail(sample(h, at(10, 0), 1, 1, 1, 2, 10), 1.25),
		withAvail(sample(h, at(10, 30), 1, 1, 2, 3, 20), 2.5),
		withAvail(sample(h, at(10, 59), 1, 1, 3, 1, 30), 0.75),
		withAvail(sample(h, at(36, 0), 1, 1, 4, 1, 40), 1.0/3),
	)
	got := mustListPoints(t, s, h)
	want := []float64{1.25, 2.5, 0.75, 1.0 / 3}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %d points", got, len(want))
	}
	for i, p := range got {
		if p.Availability != want[i] {
			t.Errorf("point %d: availability %v, want %v", i, p.Availability, want[i])
		}
	}
	mustDownsample(t, s, at(36, 30))
	got = mustListPoints(t, s, h)
	wantPoints := []point{
		{withAvail(sample(h, at(10, 59), 1, 1, 3, 3, 30), 2.5), 3600},
		{withAvail(sample(h, at(36, 0), 1, 1, 4, 1, 40), 1.0/3), 60},
	}
	if fmt.Sprint(got) != fmt.Sprint(wantPoints) {
		t.Errorf("after folding:\n got %v\nwant %v", got, wantPoints)
	}
}

// TestSwarmSampleWebSeeded stores BytesWebSeeded, reads it back (series
// and latest sample), replaces it with a second sample of the same minute,
// and folds it into hourly points as a counter: the newest minute point's
// value, not the hour's maximum or sum.
func TestSwarmSampleWebSeeded(t *testing.T) {
	s := mustOpenStore(t)
	h := mustCreateTorrents(t, s, 0, 1)[0]
	day0 := time.Date(2025, 6, 9, 0, 0, 0, 0, time.UTC)
	at := func(hour, m int) time.Time {
		return day0.Add(time.Duration(hour)*time.Hour + time.Duration(m)*time.Minute)
	}
	withWeb := func(sm SwarmSample, n int64) SwarmSample { sm.BytesWebSeeded = n; return sm }
	mustCreateSwarmSamples(t, s,
		withWeb(sample(h, at(10, 0), 1, 1, 1, 2, 10), 1000),
		withWeb(sample(h, at(10, 30), 1, 1, 2, 3, 20), 999), // replaced below
		withWeb(sample(h, at(10, 30), 1, 1, 2, 3, 20), 5000),
		// Lower than before: a counter that restarted (say, an older
		// version); the hourly point must still take the newest value.
		withWeb(sample(h, at(10, 59), 1, 1, 3, 1, 30), 4000),
		withWeb(sample(h, at(36, 0), 1, 1, 4, 1, 40), 1<<40),
	)
	got := mustListPoints(t, s, h)
	want := []int64{1000, 5000, 4000, 1 << 40}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %d points", got, len(want))
	}
	for i, p := range got {
		if p.BytesWebSeeded != want[i] {
			t.Errorf("point %d: bytes web seeded %d, want %d", i, p.BytesWebSeeded, want[i])
		}
	}
	latest, err := s.LatestSwarmSamples(t.Context())
	if err != nil {
		t.Fatalf("LatestSwarmSamples: %v", err)
	}
	if got := latest[h].BytesWebSeeded; got != 1<<40 {
		t.Errorf("latest sample: bytes web seeded %d, want %d", got, int64(1<<40))
	}
	mustDownsample(t, s, at(36, 30))
	got = mustListPoints(t, s, h)
	wantPoints := []point{
		{withWeb(sample(h, at(10, 59), 1, 1, 3, 3, 30), 4000), 3600},
		{withWeb(sample(h, at(36, 0), 1, 1, 4, 1, 40), 1<<40), 60},
	}
	if fmt.Sprint(got) != fmt.Sprint(wantPoints) {
		t.Errorf("after folding:\n got %v\nwant %v", got, wantPoints)
	}
}
