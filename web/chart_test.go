package web

import (
	"math"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

func TestNewLineChart(t *testing.T) {
	t0 := time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	// A 100×50 plot area at (10, 10): x 10…110, y 60 (zero) … 10 (max).
	spec := chartSpec{width: 120, height: 70, left: 10, top: 10, right: 10, bottom: 10, series: []seriesSpec{seedersSeries, leechersSeries}}

	for _, tt := range []struct {
		name     string
		samples  []store.SwarmSample
		from, to time.Time
		want     []string // points of seeders, leechers
	}{
		{
			name:    "spread over the window",
			samples: []store.SwarmSample{{At: at(0), Seeders: 0, Leechers: 4}, {At: at(5), Seeders: 2, Leechers: 1}, {At: at(10), Seeders: 4}},
			from:    at(0), to: at(10),
			want: []string{"10.0,60.0 60.0,35.0 110.0,10.0", "10.0,10.0 60.0,47.5 110.0,60.0"},
		},
		{
			name:    "all zero: the bottom line, no division by zero",
			samples: []store.SwarmSample{{At: at(1)}, {At: at(3)}},
			from:    at(0), to: at(4),
			want: []string{"35.0,60.0 85.0,60.0", "35.0,60.0 85.0,60.0"},
		},
		{
			name:    "one sample, empty window: the middle",
			samples: []store.SwarmSample{{At: at(2), Seeders: 3, Leechers: 3}},
			from:    at(2), to: at(2),
			want: []string{"60.0,10.0", "60.0,10.0"},
		},
		{
			name:    "outside the window: at the nearer edge",
			samples: []store.SwarmSample{{At: at(-3), Seeders: 1}, {At: at(9), Seeders: 2}},
			from:    at(0), to: at(4),
			want: []string{"10.0,35.0 110.0,10.0", "10.0,60.0 110.0,60.0"},
		},
		{
			name: "no samples",
			from: at(0), to: at(4),
			want: []string{"", ""},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newLineChart(spec, tt.samples, tt.from, tt.to)
			if len(c.Series) != 2 {
				t.Fatalf("got %d series, want 2", len(c.Series))
			}
			for i, s := range c.Series {
				if s.Points != tt.want[i] {
					t.Errorf("%s: got points %q, want %q", s.Class, s.Points, tt.want[i])
				}
			}
			if c.XLabels != nil || c.YLabels != nil {
				t.Errorf("got labels on a chart without axes")
			}
		})
	}

	t.Run("axes", func(t *testing.T) {
		spec := spec
		spec.axes = true
		c := newLineChart(spec, []store.SwarmSample{{At: at(0), Seeders: 7}, {At: at(1), Leechers: 9}}, at(0), at(2))
		var got []string
		for _, l := range append(c.YLabels, c.XLabels...) {
			got = append(got, l.Text)
		}
		want := []string{"0", "9", "2025-03-17 00:00 UTC", "2025-03-17 02:00 UTC"}
		if len(got) != len(want) {
			t.Fatalf("got labels %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("label %d: got %q, want %q", i, got[i], want[i])
			}
		}
	})
}

func TestBitTorrentBytes(t *testing.T) {
	for _, tt := range []struct {
		completed int
		size      int64
		want      int64
	}{
		{0, 40_000, 0},
		{233, 40_000, 9_320_000},
		{3, 0, 0},
		{-1, 10, 0},
		{1 << 40, 1 << 40, math.MaxInt64}, // saturates
	} {
		if got := bittorrentBytes(tt.completed, tt.size); got != tt.want {
			t.Errorf("bittorrentBytes(%d, %d): got %d, want %d", tt.completed, tt.size, got, tt.want)
		}
	}
}

func TestURLsPodcastFeed(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"https://podseed.example.net", "podcast://podseed.example.net/feeds/7.rss"},
		{"http://localhost:8080/podseed", "podcast://localhost:8080/podseed/feeds/7.rss"},
		{"", ""},
	} {
		if got := (URLs{Base: tt.base}).PodcastFeed(7); got != tt.want {
			t.Errorf("PodcastFeed with base %q: got %q, want %q", tt.base, got, tt.want)
		}
	}
}
