package web

import (
	"net/netip"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

func TestPeerAddr(t *testing.T) {
	for _, tt := range []struct {
		name       string
		addr       string // "" for the zero AddrPort
		full, want string
	}{
		{name: "v4", addr: "203.0.113.77:51413", want: "203.0.113.0/24", full: "203.0.113.77:51413"},
		{name: "v4 network edge", addr: "198.51.100.255:1", want: "198.51.100.0/24", full: "198.51.100.255:1"},
		{name: "v6", addr: "[2001:db8:abcd:12::5]:6881", want: "2001:db8:abcd::/48", full: "[2001:db8:abcd:12::5]:6881"},
		{name: "v6 with zone", addr: "[fe80::1%eth0]:6881", want: "fe80::/48", full: "[fe80::1]:6881"},
		{name: "v4-mapped v6", addr: "[::ffff:198.51.100.9]:6881", want: "198.51.100.0/24", full: "198.51.100.9:6881"},
		{name: "loopback", addr: "127.0.0.1:6881", want: "127.0.0.0/24", full: "127.0.0.1:6881"},
		{name: "unknown", addr: "", want: "", full: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ap netip.AddrPort
			if tt.addr != "" {
				ap = netip.MustParseAddrPort(tt.addr)
			}
			if got := peerAddr(ap, false); got != tt.want {
				t.Errorf("masked: got %q, want %q", got, tt.want)
			}
			if got := peerAddr(ap, true); got != tt.full {
				t.Errorf("full: got %q, want %q", got, tt.full)
			}
		})
	}
}

func TestCompletedSince(t *testing.T) {
	now := time.Date(2025, 3, 17, 7, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const day = 24 * time.Hour
	sm := func(at time.Time, completed int) store.SwarmSample {
		return store.SwarmSample{At: at, Completed: completed}
	}
	for _, tt := range []struct {
		name    string
		samples []store.SwarmSample
		since   time.Time
		// tail is the tracker's live counter minus the latest sample:
		// downloads completed since the sampler last ran.
		tail    int
		created time.Time // zero: unknown
		want    int
	}{
		{name: "no samples", since: ago(day), want: 0},
		{name: "one sample", samples: []store.SwarmSample{sm(ago(time.Hour), 40)}, since: ago(day), want: 0},
		{
			name:    "increments",
			samples: []store.SwarmSample{sm(ago(3*time.Hour), 10), sm(ago(2*time.Hour), 12), sm(ago(time.Hour), 17)},
			since:   ago(day), want: 7,
		},
		{
			name: "only pairs inside the window",
			// 100 → 110 straddles the window's start.
			samples: []store.SwarmSample{sm(ago(2*day), 100), sm(ago(20*time.Hour), 110), sm(ago(time.Hour), 111)},
			since:   ago(day), want: 1,
		},
		{
			name:    "a sample at the window's start is inside",
			samples: []store.SwarmSample{sm(ago(day), 100), sm(ago(time.Hour), 104)},
			since:   ago(day), want: 4,
		},
		{
			name: "reset to 0 then on",
			samples: []store.SwarmSample{
				sm(ago(5*time.Hour), 50), sm(ago(4*time.Hour), 52), // +2
				sm(ago(3*time.Hour), 0),                        // restart: +0
				sm(ago(2*time.Hour), 3), sm(ago(time.Hour), 3), // +3
			},
			since: ago(day), want: 5,
		},
		{
			name: "reset seen only after completions",
			// Restarted, then 4 downloads completed before the next sample.
			samples: []store.SwarmSample{sm(ago(3*time.Hour), 50), sm(ago(2*time.Hour), 4), sm(ago(time.Hour), 6)},
			since:   ago(day), want: 6,
		},
		{
			name:    "live counter ahead of the latest sample",
			samples: []store.SwarmSample{sm(ago(2*time.Hour), 10), sm(ago(time.Minute), 12)},
			since:   ago(day), tail: 3, want: 5,
		},
		{
			name:    "first download before the first sample in the window",
			samples: []store.SwarmSample{sm(ago(time.Minute), 0)},
			since:   ago(day), tail: 1, want: 1,
		},
		{
			name: "live counter ahead of a sample older than the window",
			// Sampling stopped (evicted): when those downloads happened
			// is unknown, so they are not put in the window.
			samples: []store.SwarmSample{sm(ago(3*day), 10)},
			since:   ago(day), tail: 4, want: 0,
		},
		{
			name: "no samples: live counter not counted", since: ago(day), tail: 7, want: 0,
		},
		{
			name: "torrent created in the window: all it counted is in it",
			// Created 2 hours ago; 3 downloads before the first sample
			// (sample times are whole minutes, maybe before creation).
			samples: []store.SwarmSample{sm(ago(time.Hour), 3), sm(ago(time.Minute), 5)},
			since:   ago(day), created: ago(2 * time.Hour), tail: 1, want: 6,
		},
		{
			name:    "creation after now (clock skew): first sample is the baseline",
			samples: []store.SwarmSample{sm(ago(time.Hour), 3), sm(ago(time.Minute), 5)},
			since:   ago(day), created: now.Add(time.Hour), tail: 1, want: 3,
		},
		{
			name:    "torrent created before the window: first sample is the baseline",
			samples: []store.SwarmSample{sm(ago(time.Hour), 3), sm(ago(time.Minute), 5)},
			since:   ago(day), created: ago(2 * day), tail: 1, want: 3,
		},
		{
			name:    "live counter behind the latest sample (crash)",
			samples: []store.SwarmSample{sm(ago(2*time.Hour), 10), sm(ago(time.Minute), 12)},
			since:   ago(day), tail: -1, want: 2,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			live := tt.tail
			if n := len(tt.samples); n > 0 {
				live += tt.samples[n-1].Completed
			}
			if got := completedInWindow(tt.samples, tt.since, now, live, tt.created); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFormatRate(t *testing.T) {
	for _, tt := range []struct {
		bps  float64
		want string
	}{
		{0, "0 B/s"}, {-5, "0 B/s"}, {1023.9, "1023 B/s"}, {1.5 * (1 << 20), "1.5 MiB/s"},
	} {
		if got := formatRate(tt.bps); got != tt.want {
			t.Errorf("formatRate(%g): got %q, want %q", tt.bps, got, tt.want)
		}
	}
}
