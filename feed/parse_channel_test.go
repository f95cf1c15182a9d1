package feed

import (
	"math"
	"testing"
	"time"
)

// channelHints are the fields of a Feed that readChannelHints fills in.
type channelHints struct {
	TTL             time.Duration
	UpdatePeriod    time.Duration
	UpdateFrequency time.Duration
	NewFeedURL      string
	Locked          bool
	LockedOwner     string
}

func hintsOf(f *Feed) channelHints {
	return channelHints{
		TTL:             f.TTL,
		UpdatePeriod:    f.UpdatePeriod,
		UpdateFrequency: f.UpdateFrequency,
		NewFeedURL:      f.NewFeedURL,
		Locked:          f.Locked,
		LockedOwner:     f.LockedOwner,
	}
}

// TestParseChannelHintsTestdata checks the hints of every testdata feed:
// those listed here, and none in the others.
func TestParseChannelHintsTestdata(t *testing.T) {
	want := map[string]channelHints{
		"top-podcasts/1790620773.xml":                    {TTL: 6 * time.Hour},
		"top-podcasts/987967575.xml":                     {NewFeedURL: "https://feeds.megaphone.fm/ESP3456903052"},
		"feed-rs-podcast-fixtures/rss_2.0_bbc.xml":       {NewFeedURL: "https://podcasts.files.bbci.co.uk/b006qykl.rss"},
		"feed-rs-podcast-fixtures/rss_2.0_nightvale.xml": {TTL: time.Hour},
		"partytime-fixtures/real-world__dk-podcast.xml":  {TTL: 10 * time.Minute},
		// Declared under the GitHub URI of the podcast namespace.
		"partytime-fixtures/real-world__no-agenda.xml": {Locked: true, LockedOwner: "adam@curry.com"},
		// FREQ=WEEKLY;INTERVAL=2;BYDAY=SA, and locked "no" with an owner.
		"partytime-fixtures/real-world__themnshow.xml": {UpdateFrequency: 14 * 24 * time.Hour, LockedOwner: "mike@mikeneumann.show"},
		// The owner in an email attribute.
		"partytime-fixtures/launched.xml": {Locked: true, LockedOwner: "charliemchapman@gmail.com"},
		// Declared under the canonical URI.
		"podcast-namespace-examples/example.xml": {Locked: true, LockedOwner: "podcastowner@example.com"},
		// Undeclared prefixes.
		"podcastparser-tests-data/new_feed_url.rss":        {NewFeedURL: "http://newlocation.com/example.rss"},
		"podcastparser-tests-data/podcast_locked_feed.rss": {Locked: true},
	}
	files := testdataFeeds(t)
	seen := make(map[string]bool, len(want))
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			seen[name] = true
			got := hintsOf(mustParse(t, mustReadTestdata(t, name), testFeedURL))
			if got != want[name] {
				t.Errorf("got %+v, want %+v", got, want[name])
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s: not in testdata", name)
		}
	}
}

func TestParseChannelHintsCrafted(t *testing.T) {
	const (
		podcastDecl = `xmlns:podcast="https://podcastindex.org/namespace/1.0"`
		itunesDecl  = `xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"`
		syDecl      = `xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"`
	)
	tests := []struct {
		name string
		body string
		want channelHints
	}{
		{name: "nothing", body: rssNS("", ""), want: channelHints{}},

		{name: "ttl", body: rssNS("", `<ttl>60</ttl>`), want: channelHints{TTL: time.Hour}},
		{name: "ttl with spaces", body: rssNS("", `<ttl> 15 </ttl>`), want: channelHints{TTL: 15 * time.Minute}},
		{name: "ttl zero", body: rssNS("", `<ttl>0</ttl>`)},
		{name: "ttl negative", body: rssNS("", `<ttl>-5</ttl>`)},
		{name: "ttl fractional", body: rssNS("", `<ttl>1.5</ttl>`)},
		{name: "ttl text", body: rssNS("", `<ttl>an hour</ttl>`)},
		{name: "ttl huge saturates", body: rssNS("", `<ttl>99999999999999999</ttl>`), want: channelHints{TTL: math.MaxInt64}},

		{name: "sy hourly twice", body: rssNS(syDecl, `<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>`), want: channelHints{UpdatePeriod: 30 * time.Minute}},
		{name: "sy daily", body: rssNS(syDecl, `<sy:updatePeriod> daily </sy:updatePeriod>`), want: channelHints{UpdatePeriod: 24 * time.Hour}},
		{name: "sy weekly seven times", body: rssNS(syDecl, `<sy:updatePeriod>weekly</sy:updatePeriod><sy:updateFrequency>7</sy:updateFrequency>`), want: channelHints{UpdatePeriod: 24 * time.Hour}},
		{name: "sy monthly", body: rssNS(syDecl, `<sy:updatePeriod>Monthly</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>`), want: channelHints{UpdatePeriod: 30 * 24 * time.Hour}},
		{name: "sy yearly", body: rssNS(syDecl, `<sy:updatePeriod>yearly</sy:updatePeriod>`), want: channelHints{UpdatePeriod: 365 * 24 * time.Hour}},
		{name: "sy frequency alone is per day", body: rssNS(syDecl, `<sy:updateFrequency>4</sy:updateFrequency>`), want: channelHints{UpdatePeriod: 6 * time.Hour}},
		{name: "sy unknown period", body: rssNS(syDecl, `<sy:updatePeriod>fortnightly</sy:updatePeriod>`)},
		{name: "sy zero frequency", body: rssNS(syDecl, `<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>0</sy:updateFrequency>`)},
		{name: "sy text frequency", body: rssNS(syDecl, `<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>twice</sy:updateFrequency>`)},
		{name: "sy under another prefix", body: rssNS(`xmlns:syn="http://purl.org/rss/1.0/modules/syndication/"`, `<syn:updatePeriod>hourly</syn:updatePeriod>`), want: channelHints{UpdatePeriod: time.Hour}},
		{
			name: "sy in Atom",
			body: `<feed xmlns="http://www.w3.org/2005/Atom" ` + syDecl + `><title>a</title>
				<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency></feed>`,
			want: channelHints{UpdatePeriod: 15 * time.Minute},
		},

		{name: "updateFrequency", body: rssNS(podcastDecl, `<podcast:updateFrequency rrule="FREQ=DAILY">Daily</podcast:updateFrequency>`), want: channelHints{UpdateFrequency: 24 * time.Hour}},
		{name: "updateFrequency complete and dtstart are ignored", body: rssNS(podcastDecl, `<podcast:updateFrequency complete="true" dtstart="2023-01-01T00:00:00.000Z" rrule="FREQ=MONTHLY;INTERVAL=3">Quarterly</podcast:updateFrequency>`), want: channelHints{UpdateFrequency: 90 * 24 * time.Hour}},
		{name: "updateFrequency without rrule", body: rssNS(podcastDecl, `<podcast:updateFrequency>Weekly</podcast:updateFrequency>`)},
		{name: "updateFrequency with a bad rrule", body: rssNS(podcastDecl, `<podcast:updateFrequency rrule="every week">Weekly</podcast:updateFrequency>`)},

		{name: "new-feed-url", body: rssNS(itunesDecl, `<itunes:new-feed-url> https://new.example.com/feed.xml </itunes:new-feed-url>`), want: channelHints{NewFeedURL: "https://new.example.com/feed.xml"}},
		{name: "new-feed-url keeps spelling", body: rssNS(itunesDecl, `<itunes:new-feed-url>HTTP://New.Example.com/a%2Fb?x=1&amp;y=2</itunes:new-feed-url>`), want: channelHints{NewFeedURL: "HTTP://New.Example.com/a%2Fb?x=1&y=2"}},
		{name: "new-feed-url relative", body: rssNS(itunesDecl, `<itunes:new-feed-url>/new.xml</itunes:new-feed-url>`)},
		{name: "new-feed-url protocol-relative", body: rssNS(itunesDecl, `<itunes:new-feed-url>//new.example.com/feed.xml</itunes:new-feed-url>`)},
		{name: "new-feed-url ftp", body: rssNS(itunesDecl, `<itunes:new-feed-url>ftp://new.example.com/feed.xml</itunes:new-feed-url>`)},
		{name: "new-feed-url feed scheme", body: rssNS(itunesDecl, `<itunes:new-feed-url>feed://new.example.com/feed.xml</itunes:new-feed-url>`)},
		{name: "new-feed-url without host", body: rssNS(itunesDecl, `<itunes:new-feed-url>https:///feed.xml</itunes:new-feed-url>`)},
		{name: "new-feed-url empty", body: rssNS(itunesDecl, `<itunes:new-feed-url></itunes:new-feed-url>`)},
		{name: "new-feed-url under it", body: rssNS(`xmlns:it="http://www.itunes.com/dtds/podcast-1.0.dtd"`, `<it:new-feed-url>https://n.test/f</it:new-feed-url>`), want: channelHints{NewFeedURL: "https://n.test/f"}},
		{name: "new-feed-url under gofeed's canonical URI", body: rssNS(`xmlns:i="http://www.itunes.com/DTDs/PodCast-1.0.dtd"`, `<i:new-feed-url>https://n.test/f</i:new-feed-url>`), want: channelHints{NewFeedURL: "https://n.test/f"}},

		{name: "locked", body: rssNS(podcastDecl, `<podcast:locked owner=" owner@example.com ">yes</podcast:locked>`), want: channelHints{Locked: true, LockedOwner: "owner@example.com"}},
		{name: "locked in capitals", body: rssNS(podcastDecl, `<podcast:locked> YES </podcast:locked>`), want: channelHints{Locked: true}},
		{name: "unlocked with owner", body: rssNS(podcastDecl, `<podcast:locked owner="o@example.com">no</podcast:locked>`), want: channelHints{LockedOwner: "o@example.com"}},
		{name: "locked true is not yes", body: rssNS(podcastDecl, `<podcast:locked>true</podcast:locked>`)},
		{name: "owner wins over email", body: rssNS(podcastDecl, `<podcast:locked owner="o@example.com" email="e@example.com">yes</podcast:locked>`), want: channelHints{Locked: true, LockedOwner: "o@example.com"}},
		{name: "email when owner is empty", body: rssNS(podcastDecl, `<podcast:locked owner="" email="e@example.com">yes</podcast:locked>`), want: channelHints{Locked: true, LockedOwner: "e@example.com"}},
		{name: "locked on an item does not count", body: rssNS(podcastDecl, `<item><podcast:locked>yes</podcast:locked><enclosure url="https://e.test/1.mp3"/></item>`)},

		{name: "podcast under pc", body: rssNS(`xmlns:pc="https://podcastindex.org/namespace/1.0"`, `<pc:locked>yes</pc:locked><pc:updateFrequency rrule="FREQ=WEEKLY">Weekly</pc:updateFrequency>`), want: channelHints{Locked: true, UpdateFrequency: 7 * 24 * time.Hour}},
		{name: "podcast GitHub URI under p", body: rssNS(`xmlns:p="https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"`, `<p:locked>yes</p:locked>`), want: channelHints{Locked: true}},
		{name: "podcast URI with a trailing slash", body: rssNS(`xmlns:pc="https://podcastindex.org/namespace/1.0/"`, `<pc:locked>yes</pc:locked>`), want: channelHints{Locked: true}},
		{name: "podcast prefix declared on the channel", body: `<rss version="2.0"><channel xmlns:pc="https://podcastindex.org/namespace/1.0"><title>x</title><pc:locked>yes</pc:locked></channel></rss>`, want: channelHints{Locked: true}},
		{name: "podcast prefix declared on the element", body: rssNS("", `<pc:locked xmlns:pc="https://podcastindex.org/namespace/1.0">yes</pc:locked>`), want: channelHints{Locked: true}},
		{name: "podcast as default namespace", body: rssNS("", `<locked xmlns="https://podcastindex.org/namespace/1.0">yes</locked>`), want: channelHints{Locked: true}},
		{name: "podcast prefix undeclared", body: rssNS("", `<podcast:locked>yes</podcast:locked>`), want: channelHints{Locked: true}},
		{name: "other namespace with the same element", body: rssNS(`xmlns:x="https://example.com/other"`, `<x:locked>yes</x:locked><x:new-feed-url>https://n.test/f</x:new-feed-url>`)},
		{
			// gofeed keys elements of one namespace under one prefix when
			// the feed binds two; here podcast is undeclared.
			name: "conventional prefix first",
			body: rssNS(`xmlns:pc="https://podcastindex.org/namespace/1.0"`, `<pc:locked owner="pc">no</pc:locked><podcast:locked owner="podcast">yes</podcast:locked>`),
			want: channelHints{Locked: true, LockedOwner: "podcast"},
		},
		{
			name: "first element wins",
			body: rssNS(podcastDecl+` `+itunesDecl, `<podcast:locked>yes</podcast:locked><podcast:locked>no</podcast:locked>
				<itunes:new-feed-url>https://a.test/</itunes:new-feed-url><itunes:new-feed-url>https://b.test/</itunes:new-feed-url>`),
			want: channelHints{Locked: true, NewFeedURL: "https://a.test/"},
		},
		{
			name: "all at once in ISO-8859-1",
			body: `<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0" ` + podcastDecl + ` ` + itunesDecl + ` ` + syDecl + `><channel><title>Caf` + "\xe9" + `</title>
				<ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod>
				<podcast:updateFrequency rrule="FREQ=HOURLY;INTERVAL=12"/>
				<itunes:new-feed-url>https://n.test/f</itunes:new-feed-url>
				<podcast:locked owner="o@example.com">yes</podcast:locked></channel></rss>`,
			want: channelHints{
				TTL: 30 * time.Minute, UpdatePeriod: time.Hour, UpdateFrequency: 12 * time.Hour,
				NewFeedURL: "https://n.test/f", Locked: true, LockedOwner: "o@example.com",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hintsOf(mustParse(t, []byte(tt.body), testFeedURL))
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRRule(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		rule string
		want time.Duration
	}{
		{"FREQ=HOURLY", time.Hour},
		{"FREQ=DAILY", day},
		{"FREQ=WEEKLY", 7 * day},
		{"FREQ=MONTHLY", 30 * day},
		{"FREQ=YEARLY", 365 * day},
		{"FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", 14 * day},
		{"INTERVAL=3;FREQ=DAILY", 3 * day},
		{"FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10;UNTIL=20301231T000000Z", 7 * day},
		{" freq = daily ; interval = 2 ", 2 * day},
		{"FREQ=DAILY;", day},
		{"RRULE:FREQ=DAILY", day},
		{"rrule:FREQ=HOURLY;INTERVAL=6", 6 * time.Hour},
		{"FREQ=YEARLY;INTERVAL=9999999999", math.MaxInt64},
		{"", 0},
		{"FREQ=MINUTELY", 0},
		{"FREQ=SECONDLY;INTERVAL=3600", 0},
		{"FREQ=FORTNIGHTLY", 0},
		{"INTERVAL=2", 0},
		{"FREQ=DAILY;INTERVAL=0", 0},
		{"FREQ=DAILY;INTERVAL=-1", 0},
		{"FREQ=DAILY;INTERVAL=two", 0},
		{"FREQ=DAILY;FREQ=WEEKLY", 0},
		{"FREQ=DAILY;weekly", 0},
		{"Every Monday", 0},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if got := parseRRule(tt.rule); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHeaderNamespaces(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{
			name: "root and channel, normalised, first wins",
			body: `<rss xmlns:podcast=" https://PodcastIndex.org/namespace/1.0/ " xmlns:a="urn:a"><channel xmlns:a="urn:other" xmlns:b="urn:b"><title/></channel></rss>`,
			want: map[string]string{"podcast": "https://podcastindex.org/namespace/1.0", "a": "urn:a", "b": "urn:b"},
		},
		{
			name: "declarations in items are not read",
			body: `<rss><channel><item xmlns:i="urn:i"><x:y xmlns:x="urn:x"/></item></channel></rss>`,
			want: map[string]string{},
		},
		{name: "JSON Feed", body: `{"version": "https://jsonfeed.org/version/1.1"}`, want: map[string]string{}},
		{name: "truncated", body: `<rss xmlns:a="urn:a"><chan`, want: map[string]string{"a": "urn:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headerNamespaces([]byte(tt.body))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// rssNS wraps channel elements in an RSS 2.0 document whose root element
// carries the namespace declarations decls.
func rssNS(decls, elems string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" ` + decls + `><channel><title>Crafted</title><link>https://e.test/</link>
` + elems + `
</channel></rss>`
}
