package web

import (
	"math"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

// TestNewDeliveryBytes checks the counters' growth in a window on its
// edges: samples before since do not count, a drop is a restart from 0,
// a torrent created within the window counts its first sample's value
// (the counters started at 0 in it), and sums saturate.
func TestNewDeliveryBytes(t *testing.T) {
	now := time.Date(2025, 3, 17, 7, 0, 0, 0, time.UTC)
	since := now.Add(-30 * 24 * time.Hour)
	at := func(daysAgo int) time.Time { return now.Add(-time.Duration(daysAgo) * 24 * time.Hour) }
	sm := func(daysAgo int, up, web int64) store.SwarmSample {
		return store.SwarmSample{At: at(daysAgo), BytesUploaded: up, BytesWebSeeded: web}
	}
	tests := []struct {
		name      string
		samples   []store.SwarmSample
		completed int
		created   time.Time
		want      deliveryBytes
		wantOther int64
	}{
		{name: "none", want: deliveryBytes{}},
		{name: "growth in the window", samples: []store.SwarmSample{sm(40, 5, 5), sm(20, 100, 10), sm(1, 300, 60)},
			completed: 3, want: deliveryBytes{Delivered: 3000, Uploaded: 200, WebSeeded: 50}, wantOther: 2750},
		{name: "created in the window", samples: []store.SwarmSample{sm(20, 100, 10), sm(1, 300, 60)},
			completed: 3, created: at(25), want: deliveryBytes{Delivered: 3000, Uploaded: 300, WebSeeded: 60}, wantOther: 2640},
		{name: "created before the window", samples: []store.SwarmSample{sm(20, 100, 10), sm(1, 300, 60)},
			completed: 3, created: at(31), want: deliveryBytes{Delivered: 3000, Uploaded: 200, WebSeeded: 50}, wantOther: 2750},
		{name: "restarts", samples: []store.SwarmSample{sm(20, 100, 10), sm(10, 40, 5), sm(1, 90, 0)},
			completed: 1, want: deliveryBytes{Delivered: 1000, Uploaded: 90, WebSeeded: 5}, wantOther: 905},
		{name: "saturates", samples: []store.SwarmSample{sm(20, 0, 0), sm(10, math.MaxInt64, 1), sm(1, 5, 2)},
			completed: 1, want: deliveryBytes{Delivered: 1000, Uploaded: math.MaxInt64, WebSeeded: 2}, wantOther: 0},
		{name: "both saturate", samples: []store.SwarmSample{sm(20, 0, 0), sm(10, math.MaxInt64, math.MaxInt64)},
			completed: 1, want: deliveryBytes{Delivered: 1000, Uploaded: math.MaxInt64, WebSeeded: math.MaxInt64}, wantOther: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newDeliveryBytes(tt.samples, 1000, tt.completed, since, now, tt.created)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if o := got.Other(); o != tt.wantOther {
				t.Errorf("Other: got %d, want %d", o, tt.wantOther)
			}
		})
	}
	var sum deliveryBytes
	sum.add(deliveryBytes{Delivered: math.MaxInt64, Uploaded: 1, WebSeeded: 2})
	sum.add(deliveryBytes{Delivered: 5, Uploaded: 3, WebSeeded: 4})
	if want := (deliveryBytes{Delivered: math.MaxInt64, Uploaded: 4, WebSeeded: 6}); sum != want {
		t.Errorf("sum: got %+v, want %+v", sum, want)
	}
}
