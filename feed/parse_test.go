package feed

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testFeedURL is the base URL the testdata feeds are parsed against.
const testFeedURL = "https://feeds.example.org/show/rss.xml"

func mustReadTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustParse(tb testing.TB, body []byte, baseURL string) *Feed {
	tb.Helper()
	f, err := Parse(body, baseURL)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return f
}

func TestParseTestdata(t *testing.T) {
	tests := []struct {
		file        string
		title       string
		episodes    int   // items that carry an enclosure
		zeroLengths int   // episodes declaring no usable length
		totalLength int64 // sum of declared lengths in bytes
		first       Episode
	}{
		{
			file:        "top-podcasts/1488434518.xml",
			title:       "Trump 100",
			episodes:    16,
			totalLength: 290654253,
			first: Episode{
				GUID:      "vnid://episodes/64121500?media_id=48920063",
				Title:     "Day 14: Q&A: Trump, NATO, Farage and the Diet Coke button",
				Link:      "https://www.spreaker.com/episode/day-14-q-a-trump-nato-farage-and-the-diet-coke-button--64121500",
				Published: time.Date(2025, time.February, 2, 6, 0, 7, 0, time.UTC),
				Enclosure: Enclosure{
					URL:    "https://api.spreaker.com/download/episode/64121500/t100_day_14_mix_v2_mixdown.mp3",
					Length: 16888955,
					Type:   "audio/mpeg",
				},
			},
		},
		{
			file:        "top-podcasts/987967575.xml",
			title:       "20/20",
			episodes:    30,
			zeroLengths: 30,
			first: Episode{
				GUID:      "a6dd91ec-960c-11ef-8bf7-83989fc544ae",
				Title:     "Run, Run, Run",
				Published: time.Date(2025, time.February, 1, 15, 52, 15, 0, time.UTC),
				Enclosure: Enclosure{
					URL:  "https://www.podtrac.com/pts/redirect.mp3/pscrb.fm/rss/p/prfx.byspotify.com/e/traffic.megaphone.fm/ESP2878520976.mp3?updated=1738425932",
					Type: "audio/mpeg",
				},
			},
		},
		{
			file:        "top-podcasts/1790620773.xml",
			title:       "Somnoversum - Besser schlafen mit Liefers und Fietze | WDR",
			episodes:    3,
			totalLength: 100858368,
			first: Episode{
				// A GUID is opaque: it is not resolved like a URL.
				GUID:      "/somnoversum__besser_schlafen_mit_liefers_und_fietze__wdr_20250131_8831dea7.mp3",
				Title:     "Welche Schlafstörungen gibt es?",
				Link:      "https://www1.wdr.de/mediathek/audio/wdr/somnoversum/audio-welche-schlafstoerungen-gibt-es-100.html",
				Published: time.Date(2025, time.January, 31, 0, 11, 39, 0, time.UTC),
				Enclosure: Enclosure{
					URL:    "https://wdrmedien-a.akamaihd.net/medp/podcast/weltweit/fsk0/324/3243893/3243893_60984692.mp3",
					Length: 50678496,
					Type:   "audio/mpeg",
				},
			},
		},
		{
			file:        "partytime-fixtures/real-world__no-agenda.xml",
			title:       "No Agenda",
			episodes:    29,
			totalLength: 4219907581,
			first: Episode{
				GUID:      "http://1393.noagendanotes.com",
				Title:     `1393: "Space Wake"`,
				Link:      "http://1393.noagendanotes.com",
				Published: time.Date(2021, time.October, 24, 20, 22, 24, 0, time.UTC),
				Enclosure: Enclosure{
					URL:    "https://mp3s.nashownotes.com/NA-1393-2021-10-24-Final.mp3",
					Length: 138752044,
					Type:   "audio/mpeg",
				},
			},
		},
		{
			file:        "feed-rs-podcast-fixtures/rss_2.0_ch9.xml",
			title:       "Azure Friday (HD) - Channel 9",
			episodes:    1,
			totalLength: 126659374,
			first: Episode{
				GUID:      "https://channel9.msdn.com/Shows/Azure-Friday/Troubleshoot-AKS-cluster-issues-with-AKS-Diagnostics-and-AKS-Periscope",
				Title:     "Troubleshoot AKS cluster issues with AKS Diagnostics and AKS Periscope",
				Link:      "https://channel9.msdn.com/Shows/Azure-Friday/Troubleshoot-AKS-cluster-issues-with-AKS-Diagnostics-and-AKS-Periscope",
				Published: time.Date(2021, time.February, 26, 20, 0, 0, 0, time.UTC),
				Enclosure: Enclosure{
					URL:    "https://sec.ch9.ms/ch9/075d/6e61e6c6-3890-4172-a617-fa0c4b38075d/azfr663_high.mp4",
					Length: 126659374,
					Type:   "video/mp4",
				},
			},
		},
		{
			file:        "podcastparser-tests-data/no_guid.rss",
			episodes:    1,
			totalLength: 3000000,
			first: Episode{
				GUID: "http://example.com/test.ogg", // the enclosure URL
				Link: "http://example.com/episode/1",
				Enclosure: Enclosure{
					URL:    "http://example.com/test.ogg",
					Length: 3000000,
					Type:   "audio/ogg",
				},
			},
		},
		{
			file:        "podcastparser-tests-data/multi_enclosures.rss",
			title:       "Foo",
			episodes:    1,
			totalLength: 28413787,
			first: Episode{
				GUID:      "http://cdn.example.org/foo.mp3",
				Title:     "Bar",
				Published: time.Date(2011, time.April, 27, 7, 0, 0, 0, time.UTC),
				Enclosure: Enclosure{
					URL:    "http://cdn.example.org/foo.mp3",
					Length: 28413787,
					Type:   "audio/mpeg",
				},
			},
		},
		{
			file:        "podcastparser-tests-data/no_title_multi_enclosure.rss",
			episodes:    1,
			totalLength: 4000000,
			first: Episode{
				GUID: "episode::1",
				Enclosure: Enclosure{
					URL:    "http://example.com/test.mp3",
					Length: 4000000,
					Type:   "audio/mpeg",
				},
			},
		},
		{
			file:        "podcastparser-tests-data/image_and_audio.rss",
			title:       "Podcast",
			episodes:    1,
			zeroLengths: 1,
			first: Episode{
				GUID:      "episode::x",
				Title:     "Episode",
				Enclosure: Enclosure{URL: "http://example.net/audio.mp3", Type: "audio/mpeg"},
			},
		},
		{
			file:        "podcastparser-tests-data/leading_space_url.rss",
			episodes:    1,
			zeroLengths: 1,
			first: Episode{
				GUID:      "http://example.com/example.mp3",
				Title:     "Episode",
				Enclosure: Enclosure{URL: "http://example.com/example.mp3"},
			},
		},
		{
			file:        "podcastparser-tests-data/relative.rss",
			episodes:    1,
			zeroLengths: 1,
			first: Episode{
				GUID:      "https://feeds.example.org/show/example.mp3",
				Title:     "Episode",
				Enclosure: Enclosure{URL: "https://feeds.example.org/show/example.mp3"},
			},
		},
		{
			file:        "podcastparser-tests-data/no_enclosure.rss",
			episodes:    2,
			zeroLengths: 2,
			first: Episode{
				GUID:      "https://feeds.example.org/show/test.mp3",
				Title:     "A",
				Enclosure: Enclosure{URL: "https://feeds.example.org/show/test.mp3"},
			},
		},
		{file: "podcastparser-tests-data/no_url.rss"},
		{file: "podcastparser-tests-data/atom_content_encoded.rss", title: "Example Feed"},
		{file: "podcastparser-tests-data/empty.rss"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := mustParse(t, mustReadTestdata(t, tt.file), testFeedURL)
			if f.Title != tt.title {
				t.Errorf("Title: got %q, want %q", f.Title, tt.title)
			}
			if got := len(f.Episodes); got != tt.episodes {
				t.Fatalf("episodes: got %d, want %d", got, tt.episodes)
			}
			var zero, total int64
			for _, ep := range f.Episodes {
				if ep.Enclosure.Length == 0 {
					zero++
				}
				total += ep.Enclosure.Length
			}
			if zero != int64(tt.zeroLengths) {
				t.Errorf("episodes without length: got %d, want %d", zero, tt.zeroLengths)
			}
			if total != tt.totalLength {
				t.Errorf("total length: got %d, want %d", total, tt.totalLength)
			}
			if tt.episodes == 0 {
				return
			}
			if got := f.Episodes[0]; !reflect.DeepEqual(got, tt.first) {
				t.Errorf("first episode:\ngot  %#v\nwant %#v", got, tt.first)
			}
		})
	}
}

// TestParseTestdataInvariants checks, over every testdata feed, what callers
// rely on: every episode has a GUID, unique within the feed, and an absolute
// enclosure URL without surrounding space.
func TestParseTestdataInvariants(t *testing.T) {
	files := testdataFeeds(t)
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, mustReadTestdata(t, name), testFeedURL)
			checkInvariants(t, f, true)
		})
	}
}

func TestParseFeedFields(t *testing.T) {
	f := mustParse(t, mustReadTestdata(t, "partytime-fixtures/real-world__no-agenda.xml"), testFeedURL)
	tests := []struct {
		field, got, want string
	}{
		{"Title", f.Title, "No Agenda"},
		{"Link", f.Link, "http://noagendashow.com"},
		{"Description", f.Description, "A show about politics with No Agenda, by Adam Curry and John C. Dvorak"},
		{"Language", f.Language, "en"},
		{"ImageURL", f.ImageURL, "https://noagendaassets.com/enc/1635105347.022_na-1393-art-feed.png"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.field, tt.got, tt.want)
		}
	}

	// A relative channel image resolves against the base URL.
	atom := mustParse(t, mustReadTestdata(t, "podcastparser-tests-data/atom_content_encoded.rss"), testFeedURL)
	if atom.Link != "http://example.org/" {
		t.Errorf("Atom Link: got %q, want %q", atom.Link, "http://example.org/")
	}
	rel := mustParse(t, []byte(rss(`<image><url>/art.jpg</url></image>`)), testFeedURL)
	if want := "https://feeds.example.org/art.jpg"; rel.ImageURL != want {
		t.Errorf("relative ImageURL: got %q, want %q", rel.ImageURL, want)
	}
}

func TestParseCrafted(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		baseURL string
		want    []Episode
	}{
		{
			name: "duplicate GUID keeps the first",
			body: rss(`<item><guid> a </guid><enclosure url="https://e.test/1.mp3" length="1" type="audio/mpeg"/></item>
				<item><guid>a</guid><enclosure url="https://e.test/2.mp3" length="2" type="audio/mpeg"/></item>
				<item><guid>b</guid><enclosure url="https://e.test/3.mp3" length="3" type="audio/mpeg"/></item>`),
			want: []Episode{
				{GUID: "a", Enclosure: Enclosure{URL: "https://e.test/1.mp3", Length: 1, Type: "audio/mpeg"}},
				{GUID: "b", Enclosure: Enclosure{URL: "https://e.test/3.mp3", Length: 3, Type: "audio/mpeg"}},
			},
		},
		{
			name: "duplicate enclosure URL without GUID keeps the first",
			body: rss(`<item><title>one</title><enclosure url="https://e.test/1.mp3"/></item>
				<item><title>again</title><guid>  </guid><enclosure url=" https://e.test/1.mp3 "/></item>`),
			want: []Episode{
				{GUID: "https://e.test/1.mp3", Title: "one", Enclosure: Enclosure{URL: "https://e.test/1.mp3"}},
			},
		},
		{
			name: "GUID equal to another item's enclosure URL is a duplicate",
			body: rss(`<item><enclosure url="https://e.test/1.mp3"/></item>
				<item><guid>https://e.test/1.mp3</guid><enclosure url="https://e.test/2.mp3"/></item>`),
			want: []Episode{
				{GUID: "https://e.test/1.mp3", Enclosure: Enclosure{URL: "https://e.test/1.mp3"}},
			},
		},
		{
			name: "invalid lengths become 0",
			body: rss(`<item><guid>neg</guid><enclosure url="https://e.test/1.mp3" length="-5"/></item>
				<item><guid>text</guid><enclosure url="https://e.test/2.mp3" length="12 MB"/></item>
				<item><guid>huge</guid><enclosure url="https://e.test/3.mp3" length="99999999999999999999"/></item>
				<item><guid>spaced</guid><enclosure url="https://e.test/4.mp3" length=" 42 " type=" audio/mpeg "/></item>`),
			want: []Episode{
				{GUID: "neg", Enclosure: Enclosure{URL: "https://e.test/1.mp3"}},
				{GUID: "text", Enclosure: Enclosure{URL: "https://e.test/2.mp3"}},
				{GUID: "huge", Enclosure: Enclosure{URL: "https://e.test/3.mp3"}},
				{GUID: "spaced", Enclosure: Enclosure{URL: "https://e.test/4.mp3", Length: 42, Type: "audio/mpeg"}},
			},
		},
		{
			name: "no audio or video: first enclosure with a URL",
			body: rss(`<item><guid>x</guid><enclosure url="" type="application/pdf"/>
				<enclosure url="https://e.test/a.pdf" type="application/pdf"/>
				<enclosure url="https://e.test/b.jpg" type="image/jpeg"/></item>`),
			want: []Episode{
				{GUID: "x", Enclosure: Enclosure{URL: "https://e.test/a.pdf", Type: "application/pdf"}},
			},
		},
		{
			name: "video after image wins, type case-insensitive",
			body: rss(`<item><guid>x</guid><enclosure url="https://e.test/c.jpg" type="image/jpeg"/>
				<enclosure url="https://e.test/v.mp4" type="Video/MP4"/></item>`),
			want: []Episode{
				{GUID: "x", Enclosure: Enclosure{URL: "https://e.test/v.mp4", Type: "Video/MP4"}},
			},
		},
		{
			name:    "relative and protocol-relative URLs resolve against the base",
			baseURL: "https://host.test/feeds/show.xml",
			body: rss(`<item><link>/ep/1</link><enclosure url="media/1.mp3"/></item>
				<item><enclosure url="//cdn.test/2.mp3"/></item>
				<item><enclosure url="../3.mp3"/></item>`),
			want: []Episode{
				{GUID: "https://host.test/feeds/media/1.mp3", Link: "https://host.test/ep/1", Enclosure: Enclosure{URL: "https://host.test/feeds/media/1.mp3"}},
				{GUID: "https://cdn.test/2.mp3", Enclosure: Enclosure{URL: "https://cdn.test/2.mp3"}},
				{GUID: "https://host.test/3.mp3", Enclosure: Enclosure{URL: "https://host.test/3.mp3"}},
			},
		},
		{
			name: "absolute URL keeps the publisher's spelling",
			body: rss(`<item><enclosure url="HTTPS://E.test/a%2fb/c d.mp3?x=1&amp;y=2"/></item>`),
			want: []Episode{
				{GUID: "HTTPS://E.test/a%2fb/c d.mp3?x=1&y=2", Enclosure: Enclosure{URL: "HTTPS://E.test/a%2fb/c d.mp3?x=1&y=2"}},
			},
		},
		{
			name:    "empty base leaves a relative URL alone",
			baseURL: "",
			body:    rss(`<item><enclosure url=" ep.mp3"/></item>`),
			want:    []Episode{{GUID: "ep.mp3", Enclosure: Enclosure{URL: "ep.mp3"}}},
		},
		{
			name: "RSS pubDate with offset",
			body: rss(`<item><guid>t</guid><pubDate>Tue, 03 Jun 2003 09:39:21 +0200</pubDate><enclosure url="https://e.test/t.mp3"/></item>
				<item><guid>bad</guid><pubDate>sometime soon</pubDate><enclosure url="https://e.test/u.mp3"/></item>`),
			want: []Episode{
				{GUID: "t", Published: time.Date(2003, time.June, 3, 9, 39, 21, 0, time.FixedZone("", 2*60*60)), Enclosure: Enclosure{URL: "https://e.test/t.mp3"}},
				{GUID: "bad", Enclosure: Enclosure{URL: "https://e.test/u.mp3"}},
			},
		},
		{
			name:    "Atom enclosure links",
			baseURL: "https://host.test/atom.xml",
			body: `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom cast</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2003-12-13T18:30:02Z</updated>
  <entry>
    <title>Published</title>
    <id> urn:uuid:1 </id>
    <published>2003-12-13T08:29:29-04:00</published>
    <updated>2003-12-14T18:30:02Z</updated>
    <link href="/1.html"/>
    <link rel="enclosure" href="/1.mp3" length="1337" type="audio/mpeg"/>
  </entry>
  <entry>
    <title>Updated only</title>
    <id>urn:uuid:2</id>
    <updated>2003-12-15T18:30:02Z</updated>
    <link rel="enclosure" href="https://cdn.test/2.ogg" type="audio/ogg"/>
  </entry>
  <entry>
    <title>No enclosure</title>
    <id>urn:uuid:3</id>
    <updated>2003-12-16T18:30:02Z</updated>
  </entry>
</feed>`,
			want: []Episode{
				{
					GUID: "urn:uuid:1", Title: "Published", Link: "https://host.test/1.html",
					Published: time.Date(2003, time.December, 13, 8, 29, 29, 0, time.FixedZone("", -4*60*60)),
					Enclosure: Enclosure{URL: "https://host.test/1.mp3", Length: 1337, Type: "audio/mpeg"},
				},
				{
					GUID: "urn:uuid:2", Title: "Updated only",
					Published: time.Date(2003, time.December, 15, 18, 30, 2, 0, time.UTC),
					Enclosure: Enclosure{URL: "https://cdn.test/2.ogg", Type: "audio/ogg"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.baseURL
			if base == "" && !strings.HasPrefix(tt.name, "empty base") {
				base = testFeedURL
			}
			f := mustParse(t, []byte(tt.body), base)
			if len(f.Episodes) != len(tt.want) {
				t.Fatalf("episodes: got %d, want %d:\n%#v", len(f.Episodes), len(tt.want), f.Episodes)
			}
			for i, got := range f.Episodes {
				want := tt.want[i]
				if !got.Published.Equal(want.Published) {
					t.Errorf("episode %d Published: got %v, want %v", i, got.Published, want.Published)
				}
				got.Published, want.Published = time.Time{}, time.Time{}
				if got != want {
					t.Errorf("episode %d:\ngot  %#v\nwant %#v", i, got, want)
				}
			}
		})
	}
}

func TestParseCharset(t *testing.T) {
	// ISO-8859-1: 0xE9 is "é".
	body := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" +
		"<rss version=\"2.0\"><channel><title>Caf\xe9</title>" +
		"<item><title>\xc9pisode</title><enclosure url=\"https://e.test/1.mp3\"/></item></channel></rss>")
	f := mustParse(t, body, testFeedURL)
	if f.Title != "Café" {
		t.Errorf("Title: got %q, want %q", f.Title, "Café")
	}
	if len(f.Episodes) != 1 || f.Episodes[0].Title != "Épisode" {
		t.Errorf("episodes: got %+v, want one titled %q", f.Episodes, "Épisode")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "empty", body: ""},
		{name: "HTML", body: "<!DOCTYPE html><html><head><title>Not a feed</title></head><body></body></html>"},
		{name: "plain text", body: "404 page not found"},
		{name: "truncated RSS", body: `<rss version="2.0"><channel><title>cut`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.body), testFeedURL)
			if err == nil {
				t.Fatalf("got feed %+v, want error", f)
			}
			if !strings.HasPrefix(err.Error(), "parse feed: ") {
				t.Errorf("error: got %q, want prefix %q", err, "parse feed: ")
			}
		})
	}
}

func TestNew(t *testing.T) {
	f := &Feed{Episodes: []Episode{{GUID: "a"}, {GUID: "b"}, {GUID: "c"}}}
	tests := []struct {
		name  string
		feed  *Feed
		known map[string]bool
		want  []string
	}{
		{name: "nothing known", feed: f, known: nil, want: []string{"a", "b", "c"}},
		{name: "some known", feed: f, known: map[string]bool{"b": true, "z": true}, want: []string{"a", "c"}},
		{name: "false means unknown", feed: f, known: map[string]bool{"a": false, "c": true}, want: []string{"a", "b"}},
		{name: "all known", feed: f, known: map[string]bool{"a": true, "b": true, "c": true}, want: nil},
		{name: "nil feed", feed: nil, known: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ep := range New(tt.feed, tt.known) {
				got = append(got, ep.GUID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	// Seeds are the testdata feeds up to 64 KiB; TestParseTestdata covers the
	// larger ones. The fuzzer minimises every new interesting input for up to
	// a minute, which stalls the search on inputs of several KiB, so run it as
	//   go test -run '^$' -fuzz FuzzParse -fuzzminimizetime 3s ./feed/
	const maxSeed = 64 << 10
	for _, name := range testdataFeeds(f) {
		if b := mustReadTestdata(f, name); len(b) <= maxSeed {
			f.Add(b, testFeedURL)
		}
	}
	f.Add([]byte(rss(`<item><guid>a</guid><enclosure url="x.mp3" length="-1"/></item>`)), "")
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="enclosure" href="a"/></entry></feed>`), "http://[::1]:80/%zz")
	f.Fuzz(func(t *testing.T, body []byte, baseURL string) {
		feed, err := Parse(body, baseURL)
		if err != nil {
			if feed != nil {
				t.Fatalf("got feed %+v with error %v", feed, err)
			}
			return
		}
		checkInvariants(t, feed, false)
	})
}

// checkInvariants fails t unless every episode has a non-empty GUID, unique
// in f, and a trimmed, non-empty enclosure URL with a non-negative length,
// no polling hint is negative and NewFeedURL is empty or absolute.
// With absolute set, enclosure URLs must also be absolute.
func checkInvariants(t *testing.T, f *Feed, absolute bool) {
	t.Helper()
	if f == nil {
		t.Fatal("got nil feed without error")
	}
	seen := make(map[string]bool, len(f.Episodes))
	for i, ep := range f.Episodes {
		if ep.GUID == "" {
			t.Errorf("episode %d: empty GUID", i)
		}
		if seen[ep.GUID] {
			t.Errorf("episode %d: duplicate GUID %q", i, ep.GUID)
		}
		seen[ep.GUID] = true
		u := ep.Enclosure.URL
		if u == "" || u != strings.TrimSpace(u) {
			t.Errorf("episode %d: enclosure URL %q is empty or untrimmed", i, u)
		}
		if absolute && !strings.Contains(u, "://") {
			t.Errorf("episode %d: enclosure URL %q is not absolute", i, u)
		}
		if ep.Enclosure.Length < 0 {
			t.Errorf("episode %d: negative length %d", i, ep.Enclosure.Length)
		}
	}
	if f.TTL < 0 || f.UpdatePeriod < 0 || f.UpdateFrequency < 0 {
		t.Errorf("negative hint: TTL %v, UpdatePeriod %v, UpdateFrequency %v", f.TTL, f.UpdatePeriod, f.UpdateFrequency)
	}
	if u := f.NewFeedURL; u != "" && (u != strings.TrimSpace(u) || !strings.Contains(u, "://")) {
		t.Errorf("NewFeedURL %q is untrimmed or not absolute", u)
	}
	if got := New(f, nil); len(got) != len(f.Episodes) {
		t.Errorf("New with nothing known: got %d episodes, want %d", len(got), len(f.Episodes))
	}
}

// testdataFeeds lists the feed files under testdata, relative to it, with
// forward slashes.
func testdataFeeds(tb testing.TB) []string {
	tb.Helper()
	var names []string
	for _, pattern := range []string{"testdata/*/*.xml", "testdata/*/*.rss"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range matches {
			rel, err := filepath.Rel("testdata", m)
			if err != nil {
				tb.Fatal(err)
			}
			names = append(names, filepath.ToSlash(rel))
		}
	}
	if len(names) == 0 {
		tb.Fatal("no testdata feeds")
	}
	return names
}

// rss wraps items in a minimal RSS 2.0 document.
func rss(items string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Crafted</title><link>https://e.test/</link>
` + items + `
</channel></rss>`
}

func BenchmarkParse(b *testing.B) {
	body := mustReadTestdata(b, "partytime-fixtures/real-world__no-agenda.xml")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body, testFeedURL); err != nil {
			b.Fatal(err)
		}
	}
}
