package feed

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

const (
	// MaxPollHint caps how far a hint from the server (Cache-Control,
	// Expires) or the publisher (ttl, sy:updatePeriod,
	// podcast:updateFrequency) can push the next poll out, so that a wrong
	// or hostile hint delays a feed by a day at most, not for weeks.
	MaxPollHint = 24 * time.Hour
	// MaxBackoff caps the wait after failed fetches, a Retry-After included,
	// so that a feed that fails for a while is still tried once a day.
	MaxBackoff = 24 * time.Hour
	// JitterFraction is the relative spread of the jitter [NextPoll] and
	// [Backoff] add: ±10 %. Jitter keeps feeds that were added together, or
	// that failed together, from being fetched in lockstep.
	JitterFraction = 0.1
)

// NextPoll returns when to poll a feed again after a successful fetch at now.
//
// The interval is base, the configured poll interval, unless the server or
// the publisher asks for a longer one: never sooner than the largest of
// res.MaxAge and, when f is not nil, f.TTL, f.UpdatePeriod and
// f.UpdateFrequency, each a hint capped at [MaxPollHint]. A hint never makes
// the interval shorter than base. Pass f nil after a 304 Not Modified, when
// there is nothing to parse; res.MaxAge still counts.
//
// When rnd is not nil the interval is drawn uniformly from ±[JitterFraction]
// around itself, leaving out the part below the hint: when a hint sets the
// interval, the jitter only lengthens it. rnd nil means no jitter, for
// deterministic results. A *rand.Rand is not safe for concurrent use; give
// each goroutine its own or serialise the calls.
func NextPoll(now time.Time, base time.Duration, res Result, f *Feed, rnd *rand.Rand) time.Time {
	hint := res.MaxAge
	if f != nil {
		hint = max(hint, f.TTL, f.UpdatePeriod, f.UpdateFrequency)
	}
	hint = min(max(hint, 0), MaxPollHint)
	d := max(base, hint)
	return now.Add(jitter(d, hint, math.MaxInt64, rnd))
}

// Backoff returns when to try a feed again after the failures-th failed
// fetch in a row at now, err being the error of that fetch.
//
// When err wraps an *[HTTPStatusError] whose RetryAfter is positive, as a
// 429 Too Many Requests or 503 Service Unavailable may carry (RFC 9110,
// section 10.2.3), the server's wish wins: now plus RetryAfter, capped at
// [MaxBackoff]. Any other failure, a 429 or 503 without Retry-After
// included, backs off exponentially: base (the delay after the first
// failure) times 2^(failures-1), capped at [MaxBackoff]. failures below 1
// counts as 1.
//
// When rnd is not nil the delay is drawn uniformly from ±[JitterFraction]
// around itself, leaving out what lies below a Retry-After or above
// [MaxBackoff]. rnd nil means no jitter. A *rand.Rand is not safe for
// concurrent use.
func Backoff(now time.Time, base time.Duration, failures int, err error, rnd *rand.Rand) time.Time {
	var statusErr *HTTPStatusError
	if errors.As(err, &statusErr) && statusErr.RetryAfter > 0 {
		d := min(statusErr.RetryAfter, MaxBackoff)
		return now.Add(jitter(d, d, MaxBackoff, rnd))
	}
	return now.Add(jitter(exponential(base, failures), 0, MaxBackoff, rnd))
}

// exponential returns base × 2^(failures-1), capped at MaxBackoff, for
// failures of at least 1; 0 for a base that is not positive.
func exponential(base time.Duration, failures int) time.Duration {
	if base <= 0 {
		return 0
	}
	d := min(base, MaxBackoff)
	for i := 1; i < failures && d < MaxBackoff; i++ {
		d *= 2 // d < MaxBackoff, so this cannot overflow
	}
	return min(d, MaxBackoff)
}

// jitter returns a duration drawn by rnd uniformly from d ± JitterFraction,
// restricted to [lo, hi]; d itself, restricted likewise, when rnd is nil.
// Restricting the range rather than clamping the draw keeps results spread
// instead of piling up on a bound.
func jitter(d, lo, hi time.Duration, rnd *rand.Rand) time.Duration {
	if rnd == nil {
		return min(max(d, lo), hi)
	}
	from := max(float64(d)*(1-JitterFraction), float64(lo))
	to := min(float64(d)*(1+JitterFraction), float64(hi))
	if to <= from {
		return min(max(d, lo), hi)
	}
	return durationOf(from + rnd.Float64()*(to-from))
}

// durationOf converts x nanoseconds to a duration, saturating at 0 and at
// the largest duration.
func durationOf(x float64) time.Duration {
	switch {
	case x <= 0:
		return 0
	case x >= math.MaxInt64: // 2^63 as a float64
		return math.MaxInt64
	}
	return time.Duration(x)
}
