package feed

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	gofeedrss "github.com/mmcdole/gofeed/rss"
)

// Namespaces of the channel extension elements that [Parse] reads.
const (
	// syndicationNS is the RSS 1.0 Syndication module (sy:updatePeriod,
	// sy:updateFrequency), https://web.resource.org/rss/1.0/modules/syndication/.
	syndicationNS = "http://purl.org/rss/1.0/modules/syndication/"
	// itunesNS is Apple's podcast namespace (itunes:new-feed-url).
	itunesNS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
	// podcastNS is the Podcasting 2.0 namespace (podcast:locked,
	// podcast:updateFrequency), https://podcastindex.org/namespace/1.0.
	podcastNS = "https://podcastindex.org/namespace/1.0"
	// podcastGitHubNS is the older address that some feeds (No Agenda
	// among them) still declare for the same namespace.
	podcastGitHubNS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
)

const (
	day   = 24 * time.Hour
	month = 30 * day  // RSS Syndication "monthly", RFC 5545 MONTHLY
	year  = 365 * day // RSS Syndication "yearly", RFC 5545 YEARLY
)

// readChannelHints fills in the polling and relocation hints of f from the
// parsed feed and, to map prefixes to namespaces, the feed's bytes.
func readChannelHints(f *Feed, parsed *gofeed.Feed, body []byte) {
	if orig, ok := parsed.OriginalFeed().(*gofeedrss.Feed); ok && orig != nil {
		f.TTL = parseTTL(orig.TTL)
	}
	if len(parsed.Extensions) == 0 {
		return
	}
	c := channelExtensions{exts: parsed.Extensions, bound: headerNamespaces(body)}

	period, hasPeriod := c.first("updatePeriod", "sy", syndicationNS)
	freq, hasFreq := c.first("updateFrequency", "sy", syndicationNS)
	if hasPeriod || hasFreq {
		f.UpdatePeriod = parseUpdatePeriod(period.Value, freq.Value)
	}
	if e, ok := c.first("updateFrequency", "podcast", podcastNS, podcastGitHubNS); ok {
		f.UpdateFrequency = parseRRule(e.Attrs["rrule"])
	}
	if e, ok := c.first("new-feed-url", "itunes", itunesNS); ok {
		f.NewFeedURL = parseNewFeedURL(e.Value)
	}
	if e, ok := c.first("locked", "podcast", podcastNS, podcastGitHubNS); ok {
		f.Locked = strings.EqualFold(strings.TrimSpace(e.Value), "yes")
		f.LockedOwner = strings.TrimSpace(e.Attrs["owner"])
		if f.LockedOwner == "" {
			f.LockedOwner = strings.TrimSpace(e.Attrs["email"])
		}
	}
}

// channelExtensions finds channel-level extension elements by namespace
// rather than by prefix.
//
// gofeed keys [ext.Extensions] by prefix: its own canonical prefix for the
// namespaces it knows (sy, but not podcast, nor itunes under its usual
// lower-case URI), else the prefix the feed declared, else the raw prefix of
// an undeclared one, and the namespace URI itself for an element in a
// default namespace. It does not say which URI a declared prefix stands for,
// so bound holds the declarations found in the feed's header.
type channelExtensions struct {
	exts ext.Extensions
	// bound maps each prefix declared before the first item or entry to its
	// namespace URI, normalised by normNS.
	bound map[string]string
}

// first returns the first element called name in the namespace known by
// the conventional prefix and the URIs uris. It looks under the
// conventional prefix first, then under every other key that is one of uris
// or a prefix bound to one of them, in sorted order.
func (c channelExtensions) first(name, prefix string, uris ...string) (ext.Extension, bool) {
	isNS := func(uri string) bool {
		n := normNS(uri)
		return slices.ContainsFunc(uris, func(u string) bool { return normNS(u) == n })
	}
	keys := []string{prefix}
	var others []string
	for key := range c.exts {
		if key == prefix {
			continue
		}
		if uri, ok := c.bound[key]; (ok && isNS(uri)) || isNS(key) {
			others = append(others, key)
		}
	}
	slices.Sort(others)
	keys = append(keys, others...)

	for _, key := range keys {
		if elems := c.exts[key][name]; len(elems) > 0 {
			return elems[0], true
		}
	}
	return ext.Extension{}, false
}

// normNS normalises a namespace URI for comparison: trimmed, lower case,
// without a trailing slash. Namespace names are compared as exact strings
// in XML, but feeds misspell them in exactly these ways, and gofeed itself
// knows the iTunes namespace in two spellings.
func normNS(uri string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(uri)), "/")
}

// headerNamespaces returns the namespace prefixes declared on the elements
// before the first RSS <item> or Atom <entry> (where channel extensions
// live), mapped to their URIs normalised by normNS. For a prefix declared
// twice the first declaration wins. It reads the raw tokens of body without
// decoding its charset, which does not matter for the ASCII of element
// names and namespace URIs, and returns what it has found at the first
// error, for example for a JSON Feed or a UTF-16 document.
func headerNamespaces(body []byte) map[string]string {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	bound := make(map[string]string)
	for {
		tok, err := d.RawToken()
		if err != nil {
			return bound
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if start.Name.Local == "item" || start.Name.Local == "entry" {
			return bound
		}
		for _, a := range start.Attr {
			if a.Name.Space != "xmlns" || a.Name.Local == "" {
				continue
			}
			if _, seen := bound[a.Name.Local]; !seen {
				bound[a.Name.Local] = normNS(a.Value)
			}
		}
	}
}

// parseTTL parses an RSS 2.0 <ttl>, a number of minutes; 0 if it is not a
// positive integer.
func parseTTL(s string) time.Duration {
	n, ok := parsePositive(s)
	if !ok {
		return 0
	}
	return mulDuration(n, time.Minute)
}

// parseUpdatePeriod turns the values of <sy:updatePeriod> and
// <sy:updateFrequency> into the interval between updates: the period
// (daily when empty) divided by the frequency (1 when empty). It returns 0
// for an unknown period or a frequency that is not a positive integer.
func parseUpdatePeriod(period, frequency string) time.Duration {
	var d time.Duration
	switch strings.ToLower(strings.TrimSpace(period)) {
	case "hourly":
		d = time.Hour
	case "daily", "":
		d = day
	case "weekly":
		d = 7 * day
	case "monthly":
		d = month
	case "yearly":
		d = year
	default:
		return 0
	}
	if strings.TrimSpace(frequency) == "" {
		return d
	}
	n, ok := parsePositive(frequency)
	if !ok {
		return 0
	}
	return d / time.Duration(n)
}

// parseRRule returns the interval of an RFC 5545 recurrence rule (section
// 3.3.10): FREQ times INTERVAL. Only FREQ values from HOURLY to YEARLY are
// understood; other rule parts are skipped. A leading "RRULE:", as in an
// iCalendar property, is allowed. It returns 0 when FREQ is missing,
// repeated or not understood, when INTERVAL is not a positive integer, and
// when a part is not NAME=VALUE.
func parseRRule(rule string) time.Duration {
	rule = strings.TrimSpace(rule)
	if len(rule) >= len("RRULE:") && strings.EqualFold(rule[:len("RRULE:")], "RRULE:") {
		rule = rule[len("RRULE:"):]
	}
	var unit time.Duration
	interval := int64(1)
	for part := range strings.SplitSeq(rule, ";") {
		if strings.TrimSpace(part) == "" {
			continue // a trailing ";"
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return 0
		}
		switch strings.ToUpper(strings.TrimSpace(name)) {
		case "FREQ":
			if unit != 0 {
				return 0
			}
			switch strings.ToUpper(strings.TrimSpace(value)) {
			case "HOURLY":
				unit = time.Hour
			case "DAILY":
				unit = day
			case "WEEKLY":
				unit = 7 * day
			case "MONTHLY":
				unit = month
			case "YEARLY":
				unit = year
			default:
				return 0
			}
		case "INTERVAL":
			if interval, ok = parsePositive(value); !ok {
				return 0
			}
		}
	}
	if unit == 0 {
		return 0
	}
	return mulDuration(interval, unit)
}

// parseNewFeedURL returns s trimmed if it is an absolute http or https URL
// with a host, else "".
func parseNewFeedURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return ""
	}
	return s
}

// parsePositive parses a positive decimal integer, allowing surrounding
// white space.
func parsePositive(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// mulDuration returns n times unit for a positive n and unit, saturating at
// the largest duration instead of overflowing.
func mulDuration(n int64, unit time.Duration) time.Duration {
	if n > math.MaxInt64/int64(unit) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(n) * unit
}
