package feed

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDeltaSeconds is the value, in seconds, that RFC 9111, section 1.2.2,
// tells a cache to use for a delta-seconds value too large to represent:
// 2^31 seconds, about 68 years.
const maxDeltaSeconds = 1 << 31

// freshness returns the remaining freshness lifetime of a response received
// at now, following RFC 9111, section 4.2, from a cache's point of view:
//
//   - Cache-Control no-store or no-cache (section 5.2.2.4, 5.2.2.5): 0, the
//     most restrictive directive wins over any max-age.
//   - Cache-Control max-age (section 5.2.2.1), else s-maxage (section
//     5.2.2.10; meant for shared caches, used here only when max-age is
//     missing): that many seconds. An invalid value makes the response
//     stale, so 0.
//   - Otherwise Expires minus Date (section 4.2.1; 5.3); now stands in for a
//     missing or invalid Date. An invalid Expires, such as "0", means
//     already expired.
//
// The Age header (section 5.1), which a CDN in front of the origin adds, is
// subtracted. The apparent age from the Date header is not, since a wrong
// server clock would make it meaningless. The result is never negative.
func freshness(h http.Header, now time.Time) time.Duration {
	cc := parseCacheControl(h.Values("Cache-Control"))
	if _, ok := cc["no-store"]; ok {
		return 0
	}
	if _, ok := cc["no-cache"]; ok {
		return 0
	}

	var lifetime time.Duration
	if v, ok := cc["max-age"]; ok {
		lifetime = parseDeltaSeconds(v)
	} else if v, ok := cc["s-maxage"]; ok {
		lifetime = parseDeltaSeconds(v)
	} else if expires := h.Get("Expires"); expires != "" {
		exp, err := http.ParseTime(strings.TrimSpace(expires))
		if err != nil {
			return 0
		}
		date, err := http.ParseTime(strings.TrimSpace(h.Get("Date")))
		if err != nil {
			date = now
		}
		lifetime = exp.Sub(date)
	}
	if lifetime <= 0 {
		return 0
	}
	if age := parseDeltaSeconds(h.Get("Age")); age > 0 {
		lifetime -= age
	}
	return max(lifetime, 0)
}

// parseCacheControl splits Cache-Control field values (RFC 9111, section
// 5.2) into lower-case directive names and their arguments, unquoted. Only
// the first occurrence of a directive counts (section 4.2.1). A quoted
// argument that contains a comma is split there; no directive read by
// [freshness] takes such an argument.
func parseCacheControl(values []string) map[string]string {
	cc := make(map[string]string)
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(d, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if _, seen := cc[name]; seen {
				continue
			}
			arg = strings.TrimSpace(arg)
			if len(arg) >= 2 && arg[0] == '"' && arg[len(arg)-1] == '"' {
				arg = arg[1 : len(arg)-1]
			}
			cc[name] = arg
		}
	}
	return cc
}

// parseDeltaSeconds parses delta-seconds (RFC 9111, section 1.2.2: one or
// more decimal digits) into a duration. It returns 0 for anything else, and
// 2^31 seconds for a value larger than that.
func parseDeltaSeconds(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxDeltaSeconds {
		n = maxDeltaSeconds // only digits, so err is a range error
	}
	return time.Duration(n) * time.Second
}
