package feed

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
)

// Feed is an RSS channel or Atom feed, reduced to what podseed needs.
type Feed struct {
	// Title, Link, Description and Language are the channel's own, trimmed.
	// Link is resolved against the base URL given to [Parse].
	Title       string
	Link        string
	Description string
	Language    string
	// ImageURL is the channel artwork (RSS image, itunes:image or Atom logo
	// or icon), resolved against the base URL; "" if none.
	ImageURL string
	// Episodes are the items that carry an enclosure, in feed order (usually
	// newest first), with unique GUIDs.
	Episodes []Episode

	// TTL is the RSS 2.0 <ttl>: how long the channel may be cached before
	// it is fetched again, given in whole minutes in the feed (saturating
	// at the largest time.Duration). It is 0 when absent or not a positive
	// integer, and for Atom.
	TTL time.Duration
	// UpdatePeriod is how often the publisher says the feed changes, from
	// the RSS 1.0 Syndication module: <sy:updatePeriod> (hourly, daily,
	// weekly, monthly or yearly; daily when only <sy:updateFrequency> is
	// given) divided by <sy:updateFrequency> (a positive integer, 1 when
	// absent). A month counts as 30 days and a year as 365. It is 0 when
	// neither element is present or either is invalid.
	UpdatePeriod time.Duration
	// UpdateFrequency is the interval of the Podcasting 2.0
	// <podcast:updateFrequency rrule="…"> recurrence rule (RFC 5545,
	// section 3.3.10): FREQ (HOURLY, DAILY, WEEKLY, MONTHLY as 30 days or
	// YEARLY as 365 days) times INTERVAL (1 when absent), saturating at the
	// largest time.Duration. Other rule parts (BYDAY, COUNT, UNTIL, …) and
	// the complete and dtstart attributes are ignored, so
	// "FREQ=WEEKLY;BYDAY=MO,TH" yields a week: an upper bound on the time
	// between episodes. It is 0 when the element or its rrule is
	// absent, when FREQ is missing or another value (SECONDLY, MINUTELY),
	// and when the rule does not parse.
	UpdateFrequency time.Duration
	// NewFeedURL is the <itunes:new-feed-url> by which a publisher announces
	// that the feed has moved, trimmed and otherwise as written. It is ""
	// unless it is an absolute http or https URL. Feeds often name their
	// own URL here; comparing it with the URL fetched is the caller's job.
	NewFeedURL string
	// Locked is true when the feed carries <podcast:locked>yes</podcast:locked>:
	// the publisher asks other podcast hosting platforms not to import it.
	// Any other value, "no" included, leaves it false.
	Locked bool
	// LockedOwner is the owner attribute of <podcast:locked>, trimmed: the
	// e-mail address a platform may use to verify ownership. Some feeds
	// (Fireside's, in testdata) put it in an email attribute instead, which
	// is read when owner is missing. It is set whether the feed is locked or
	// not, and "" without one.
	LockedOwner string
}

// Episode is an RSS item or Atom entry that carries an enclosure.
type Episode struct {
	// GUID identifies the episode within its feed: the item's <guid> (Atom:
	// <id>) with surrounding white space trimmed, or, when that is empty,
	// the enclosure URL. It is the key podseed stores episodes under.
	GUID string
	// Title is the item title, trimmed.
	Title string
	// Link is the item's web page, resolved against the base URL; "" if none.
	Link string
	// Published is the item's pubDate (Atom: published, else updated); the
	// zero time if absent or unparseable.
	Published time.Time
	// Enclosure is the media file: the item's first audio/* or video/*
	// enclosure, or its first enclosure if none has such a type. An
	// enclosure of type application/x-bittorrent is not a media file and
	// is never chosen.
	Enclosure Enclosure
	// PublisherTorrent is the URL of a .torrent the publisher offers for
	// Enclosure itself (PeerTube feeds do): from a
	// <podcast:alternateEnclosure> that lists the enclosure URL as a
	// <podcast:source> next to a source of contentType
	// application/x-bittorrent. "" if none.
	PublisherTorrent string
}

// Enclosure is the media file of an episode (RSS <enclosure>, Atom
// <link rel="enclosure">).
type Enclosure struct {
	// URL is trimmed and absolute: a relative URL is resolved against the
	// base URL given to [Parse]. An already absolute URL is kept byte for
	// byte, so it still matches the publisher's feed.
	URL string
	// Length is the declared size in bytes; 0 when missing, invalid or
	// negative. Publishers often declare 0 or a wrong size, so treat it as a
	// hint only.
	Length int64
	// Type is the declared MIME type, trimmed, for example "audio/mpeg";
	// "" if missing.
	Type string
}

// Parse parses the bytes of an RSS 2.0 or Atom feed (JSON Feed also works)
// with gofeed.
//
// Besides the episodes it reads the channel's hints on how often to poll it
// ([Feed.TTL], [Feed.UpdatePeriod], [Feed.UpdateFrequency]) and on where it
// lives ([Feed.NewFeedURL], [Feed.Locked]). Extension elements are found by
// namespace URI, whatever prefix the feed declared for it, so
// <pc:locked xmlns:pc="https://podcastindex.org/namespace/1.0"> counts; the
// conventional prefix (podcast, itunes, sy) counts too, declared or not, and
// is looked at first.
//
// Items with no enclosure that has a URL, or only .torrent enclosures
// (application/x-bittorrent), are omitted: there is nothing to make a
// torrent from. An item whose GUID, after the fallback to
// the enclosure URL, repeats one of an earlier item is omitted too, so the
// first occurrence wins. baseURL, normally [Result.FinalURL], resolves
// relative URLs; if it is "" or not absolute, relative URLs stay relative.
//
// Parse fails when the bytes are not a feed gofeed recognises. A feed with no
// episodes is not an error.
func Parse(body []byte, baseURL string) (*Feed, error) {
	p := gofeed.NewParser()
	// gofeed would otherwise parse every item's HTML description to guess an
	// image; podseed uses no item images, and a guessed channel image is not
	// the publisher's artwork.
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	// The universal feed has no <ttl>; the original RSS feed has.
	p.KeepOriginalFeed = true
	parsed, err := p.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}

	// Without an absolute base, relative URLs are left as they are.
	base, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || !base.IsAbs() {
		base = nil
	}

	f := &Feed{
		Title:       strings.TrimSpace(parsed.Title),
		Link:        resolve(base, parsed.Link),
		Description: strings.TrimSpace(parsed.Description),
		Language:    strings.TrimSpace(parsed.Language),
	}
	if parsed.Image != nil {
		f.ImageURL = resolve(base, parsed.Image.URL)
	}
	readChannelHints(f, parsed, body)
	bound := headerNamespaces(body)

	seen := make(map[string]bool, len(parsed.Items))
	for _, item := range parsed.Items {
		if item == nil {
			continue
		}
		enc, ok := pickEnclosure(item.Enclosures, base)
		if !ok {
			continue
		}
		ep := Episode{
			GUID:      strings.TrimSpace(item.GUID),
			Title:     strings.TrimSpace(item.Title),
			Link:      resolve(base, item.Link),
			Enclosure: enc,
		}
		ep.PublisherTorrent = publisherTorrent(item, bound, base, enc.URL)
		if ep.GUID == "" {
			ep.GUID = enc.URL
		}
		if seen[ep.GUID] {
			continue
		}
		seen[ep.GUID] = true
		if item.PublishedParsed != nil {
			ep.Published = *item.PublishedParsed
		}
		f.Episodes = append(f.Episodes, ep)
	}
	return f, nil
}

// New reports the episodes of f whose GUID is not in known, in feed order.
// It returns nil when f is nil or every episode is known.
func New(f *Feed, known map[string]bool) []Episode {
	if f == nil {
		return nil
	}
	var fresh []Episode
	for _, ep := range f.Episodes {
		if !known[ep.GUID] {
			fresh = append(fresh, ep)
		}
	}
	return fresh
}

// pickEnclosure returns the first audio or video enclosure with a URL, else
// the first enclosure with a URL that is not a .torrent; ok is false if
// there is none.
func pickEnclosure(encs []*gofeed.Enclosure, base *url.URL) (enc Enclosure, ok bool) {
	var first *gofeed.Enclosure
	for _, e := range encs {
		if e == nil || strings.TrimSpace(e.URL) == "" || strings.EqualFold(strings.TrimSpace(e.Type), torrentType) {
			continue
		}
		if first == nil {
			first = e
		}
		if isMedia(e.Type) {
			first = e
			break
		}
	}
	if first == nil {
		return Enclosure{}, false
	}
	return Enclosure{
		URL:    resolve(base, first.URL),
		Length: parseLength(first.Length),
		Type:   strings.TrimSpace(first.Type),
	}, true
}

// isMedia reports whether a MIME type is audio/* or video/*.
func isMedia(mimeType string) bool {
	t := strings.ToLower(strings.TrimSpace(mimeType))
	return strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/")
}

// parseLength parses a declared enclosure length in bytes; 0 if it is not a
// non-negative decimal integer.
func parseLength(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// resolve trims ref and, if it is relative, resolves it against base. An
// absolute ref is returned unchanged (after trimming) so that it keeps the
// publisher's exact spelling; so is a ref that does not parse as a URL.
func resolve(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || base == nil {
		return ref
	}
	u, err := url.Parse(ref)
	if err != nil || u.IsAbs() {
		return ref
	}
	return base.ResolveReference(u).String()
}
