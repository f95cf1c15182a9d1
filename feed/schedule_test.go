package feed

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// newRand returns a seeded source, so that jittered tests are repeatable.
func newRand() *rand.Rand {
	return rand.New(rand.NewPCG(1, 2))
}

func TestNextPoll(t *testing.T) {
	scheduleNow := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	const base = 15 * time.Minute
	tests := []struct {
		name string
		base time.Duration
		res  Result
		feed *Feed
		want time.Duration
	}{
		{name: "no hints", base: base, feed: &Feed{}, want: base},
		{name: "304 without hints", base: base, res: Result{NotModified: true}, want: base},
		{name: "max-age below base", base: base, res: Result{MaxAge: 5 * time.Minute}, feed: &Feed{}, want: base},
		{name: "max-age above base", base: base, res: Result{MaxAge: time.Hour}, feed: &Feed{}, want: time.Hour},
		{name: "304 with max-age", base: base, res: Result{NotModified: true, MaxAge: 2 * time.Hour}, want: 2 * time.Hour},
		{name: "ttl", base: base, feed: &Feed{TTL: 6 * time.Hour}, want: 6 * time.Hour},
		{name: "sy period", base: base, feed: &Feed{UpdatePeriod: 30 * time.Minute}, want: 30 * time.Minute},
		{name: "updateFrequency capped", base: base, feed: &Feed{UpdateFrequency: 14 * 24 * time.Hour}, want: MaxPollHint},
		{name: "huge ttl capped", base: base, feed: &Feed{TTL: math.MaxInt64}, want: MaxPollHint},
		{
			name: "largest hint wins",
			base: base,
			res:  Result{MaxAge: 2 * time.Hour},
			feed: &Feed{TTL: time.Hour, UpdatePeriod: 3 * time.Hour, UpdateFrequency: 30 * time.Minute},
			want: 3 * time.Hour,
		},
		{name: "hints never shorten base", base: 48 * time.Hour, res: Result{MaxAge: time.Hour}, feed: &Feed{TTL: 30 * 24 * time.Hour}, want: 48 * time.Hour},
		{name: "negative hints are ignored", base: base, res: Result{MaxAge: -time.Hour}, feed: &Feed{TTL: -time.Hour}, want: base},
		{name: "zero base", base: 0, feed: &Feed{}, want: 0},
		{name: "zero base with a hint", base: 0, feed: &Feed{TTL: time.Hour}, want: time.Hour},
		{name: "negative base", base: -time.Hour, feed: &Feed{}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextPoll(scheduleNow, tt.base, tt.res, tt.feed, nil)
			if want := scheduleNow.Add(tt.want); !got.Equal(want) {
				t.Errorf("got %v, want %v", got.Sub(scheduleNow), tt.want)
			}
		})
	}
}

func TestNextPollJitter(t *testing.T) {
	scheduleNow := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		base     time.Duration
		feed     *Feed
		min, max time.Duration // bounds every draw must keep
		spread   bool          // some draws must fall below base
	}{
		{name: "no hint: ±10 % of base", base: time.Hour, feed: &Feed{}, min: 54 * time.Minute, max: 66 * time.Minute, spread: true},
		{name: "hint binds: never below it", base: 15 * time.Minute, feed: &Feed{TTL: time.Hour}, min: time.Hour, max: 66 * time.Minute},
		{name: "hint just below base", base: time.Hour, feed: &Feed{TTL: 57 * time.Minute}, min: 57 * time.Minute, max: 66 * time.Minute, spread: true},
		{name: "capped hint", base: time.Minute, feed: &Feed{UpdateFrequency: 7 * 24 * time.Hour}, min: MaxPollHint, max: MaxPollHint + MaxPollHint/10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rnd := newRand()
			lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
			for range 2000 {
				d := NextPoll(scheduleNow, tt.base, Result{}, tt.feed, rnd).Sub(scheduleNow)
				lo, hi = min(lo, d), max(hi, d)
			}
			if lo < tt.min || hi > tt.max {
				t.Errorf("got draws in [%v, %v], want within [%v, %v]", lo, hi, tt.min, tt.max)
			}
			if hi-lo < (tt.max-tt.min)*9/10 {
				t.Errorf("got draws in [%v, %v], want them spread over [%v, %v]", lo, hi, tt.min, tt.max)
			}
			if tt.spread && lo >= tt.base {
				t.Errorf("got no draw below base %v (lowest %v)", tt.base, lo)
			}
		})
	}

	// The same seed gives the same schedule.
	a := NextPoll(scheduleNow, time.Hour, Result{}, nil, newRand())
	b := NextPoll(scheduleNow, time.Hour, Result{}, nil, newRand())
	if !a.Equal(b) {
		t.Errorf("same seed: got %v and %v, want equal", a, b)
	}
}

func TestBackoff(t *testing.T) {
	scheduleNow := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	const base = time.Minute
	wrap := func(err error) error { return fmt.Errorf("fetch feed %q: %w", "https://e.test/feed", err) }
	tests := []struct {
		name     string
		base     time.Duration
		failures int
		err      error
		want     time.Duration
	}{
		{name: "first failure", base: base, failures: 1, err: errors.New("connection refused"), want: base},
		{name: "second failure", base: base, failures: 2, err: errors.New("connection refused"), want: 2 * base},
		{name: "fourth failure", base: base, failures: 4, err: wrap(ErrTooLarge), want: 8 * base},
		{name: "zero failures count as one", base: base, failures: 0, want: base},
		{name: "negative failures count as one", base: base, failures: -3, want: base},
		{name: "capped", base: base, failures: 20, want: MaxBackoff},
		{name: "capped without overflow", base: base, failures: math.MaxInt, want: MaxBackoff},
		{name: "base above the cap", base: 48 * time.Hour, failures: 1, want: MaxBackoff},
		{name: "zero base", base: 0, failures: 5, want: 0},
		{name: "404", base: base, failures: 3, err: wrap(&HTTPStatusError{StatusCode: http.StatusNotFound}), want: 4 * base},
		{name: "503 without Retry-After", base: base, failures: 3, err: wrap(&HTTPStatusError{StatusCode: http.StatusServiceUnavailable}), want: 4 * base},
		{name: "429 without Retry-After", base: base, failures: 2, err: wrap(&HTTPStatusError{StatusCode: http.StatusTooManyRequests}), want: 2 * base},
		{
			name: "Retry-After wins over exponential", base: base, failures: 6,
			err:  wrap(&HTTPStatusError{StatusCode: http.StatusServiceUnavailable, RetryAfter: 2 * time.Minute}),
			want: 2 * time.Minute,
		},
		{
			name: "Retry-After longer than exponential", base: base, failures: 1,
			err:  wrap(&HTTPStatusError{StatusCode: http.StatusTooManyRequests, RetryAfter: 90 * time.Minute}),
			want: 90 * time.Minute,
		},
		{
			name: "Retry-After capped", base: base, failures: 1,
			err:  wrap(&HTTPStatusError{StatusCode: http.StatusServiceUnavailable, RetryAfter: 72 * time.Hour}),
			want: MaxBackoff,
		},
		{
			name: "unwrapped status error", base: base, failures: 1,
			err:  &HTTPStatusError{StatusCode: http.StatusServiceUnavailable, RetryAfter: time.Hour},
			want: time.Hour,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Backoff(scheduleNow, tt.base, tt.failures, tt.err, nil)
			if want := scheduleNow.Add(tt.want); !got.Equal(want) {
				t.Errorf("got %v, want %v", got.Sub(scheduleNow), tt.want)
			}
		})
	}
}

func TestBackoffJitter(t *testing.T) {
	scheduleNow := time.Date(2025, time.February, 1, 12, 0, 0, 0, time.UTC)
	retryAfter := func(d time.Duration) error {
		return &HTTPStatusError{StatusCode: http.StatusServiceUnavailable, RetryAfter: d}
	}
	tests := []struct {
		name     string
		failures int
		err      error
		min, max time.Duration
	}{
		{name: "exponential: ±10 %", failures: 3, min: 36 * time.Minute, max: 44 * time.Minute},
		{name: "at the cap: only below it", failures: 30, min: MaxBackoff - MaxBackoff/10, max: MaxBackoff},
		{name: "Retry-After: only above it", failures: 3, err: retryAfter(time.Hour), min: time.Hour, max: 66 * time.Minute},
		{name: "Retry-After near the cap", failures: 1, err: retryAfter(23 * time.Hour), min: 23 * time.Hour, max: MaxBackoff},
		{name: "Retry-After beyond the cap", failures: 1, err: retryAfter(48 * time.Hour), min: MaxBackoff, max: MaxBackoff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rnd := newRand()
			lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
			for range 2000 {
				d := Backoff(scheduleNow, 10*time.Minute, tt.failures, tt.err, rnd).Sub(scheduleNow)
				lo, hi = min(lo, d), max(hi, d)
			}
			if lo < tt.min || hi > tt.max {
				t.Errorf("got draws in [%v, %v], want within [%v, %v]", lo, hi, tt.min, tt.max)
			}
			if hi-lo < (tt.max-tt.min)*9/10 {
				t.Errorf("got draws in [%v, %v], want them spread over [%v, %v]", lo, hi, tt.min, tt.max)
			}
		})
	}
}
