package web_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
	"golang.org/x/net/html/atom"
)

// TestAggregateFeeds parses /torrents.rss, .atom and .json back with
// gofeed: the ready episodes of all feeds, newest first, each with its
// episode page as link and its .torrent as enclosure.
func TestAggregateFeeds(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	logs := &lockedBuffer{}
	srv := mustServe(t, cat, swarmCounts(fx), logs)
	const podcast = nightShiftTitle

	type wantItem struct {
		title, link, torrent, torrentLen string
	}
	var want []wantItem
	for _, r := range []struct {
		ep    int64
		title string
		ih    string
	}{{fx.ep4.ID, "Ep. 4: Trackerless", fx.readyNewer}, {fx.ep3.ID, "Ep. 3: Seeding the Swarm", fx.ready}} {
		want = append(want, wantItem{
			title: podcast + ": " + r.title, link: fmt.Sprintf("%s/episodes/%d", publicBase, r.ep),
			torrent: publicBase + "/torrents/" + r.ih + ".torrent", torrentLen: strconv.Itoa(len(fx.metainfo[r.ih])),
		})
	}
	for _, tt := range []struct {
		path, ctype string
		feedType    string
	}{
		{"/torrents.rss", "application/rss+xml; charset=utf-8", "rss"},
		{"/torrents.atom", "application/atom+xml; charset=utf-8", "atom"},
		{"/torrents.json", "application/feed+json; charset=utf-8", "json"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := mustDo(t, srv, http.MethodGet, tt.path, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("got status %d, want 200:\n%s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type: got %q, want %q", got, tt.ctype)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin: got %q, want *", got)
			}
			if bytes.Contains(body, []byte("<script")) {
				t.Errorf("feed contains unescaped markup:\n%s", body)
			}
			if tt.feedType != "json" {
				mustWellFormedXML(t, body)
			}
			f, err := gofeed.NewParser().ParseString(string(body))
			if err != nil {
				t.Fatalf("gofeed: %v\n%s", err, body)
			}
			if f.FeedType != tt.feedType {
				t.Errorf("feed type: got %q, want %q", f.FeedType, tt.feedType)
			}
			if len(f.Items) != len(want) {
				t.Fatalf("got %d items, want %d:\n%s", len(f.Items), len(want), body)
			}
			for i, it := range f.Items {
				w := want[i]
				if it.Title != w.title || it.Link != w.link {
					t.Errorf("item %d: got title %q link %q, want %q %q", i, it.Title, it.Link, w.title, w.link)
				}
				if len(it.Enclosures) == 0 {
					t.Fatalf("item %d has no enclosure", i)
				}
				e := it.Enclosures[0]
				if e.URL != w.torrent || e.Type != "application/x-bittorrent" || e.Length != w.torrentLen {
					t.Errorf("item %d enclosure: got %+v, want %s (%s bytes, application/x-bittorrent)", i, e, w.torrent, w.torrentLen)
				}
				if it.PublishedParsed == nil {
					t.Errorf("item %d has no date", i)
				}
			}
			if tt.feedType == "json" {
				// The original enclosure is the second attachment.
				if e := f.Items[1].Enclosures; len(e) != 2 || e[1].URL != fx.ep3.EnclosureURL || e[1].Type != "audio/mpeg" || e[1].Length != "40000" {
					t.Errorf("item 1 attachments: got %+v, want the .torrent and %s", e, fx.ep3.EnclosureURL)
				}
			}
		})
	}
	if s := logs.String(); s != "" {
		t.Errorf("errors were logged:\n%s", s)
	}
}

// TestAggregateEmpty: with nothing ready the aggregate feeds are valid and
// empty, and a failing catalog is a 500.
func TestAggregateEmpty(t *testing.T) {
	st := mustOpenStore(t)
	srv := mustServe(t, &testCatalog{store: st, urls: web.URLs{Base: publicBase}}, fakeSwarm{}, &lockedBuffer{})
	for _, p := range []string{"/torrents.rss", "/torrents.atom", "/torrents.json", "/feeds.opml"} {
		resp, body := mustDo(t, srv, http.MethodGet, p, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: got status %d", p, resp.StatusCode)
		}
		if p == "/feeds.opml" {
			if doc := mustParseOPML(t, body); len(doc.Body.Outlines) != 0 || !bytes.Contains(body, []byte("<body>")) {
				t.Errorf("OPML: got %+v, want an empty <body>", doc)
			}
			continue
		}
		if f, err := gofeed.NewParser().ParseString(string(body)); err != nil || len(f.Items) != 0 {
			t.Errorf("GET %s: got %v items, err %v, want an empty feed:\n%s", p, f, err, body)
		}
	}
	logs := &lockedBuffer{}
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	cat.fail = map[string]error{"ListRecentEpisodeTorrents": errors.New("disk on fire")}
	failing := mustServe(t, cat, swarmCounts(fx), logs)
	if resp, body := mustDo(t, failing, http.MethodGet, "/torrents.atom", nil); resp.StatusCode != 500 || string(body) != "internal server error\n" {
		t.Errorf("failing catalog: got %d %q, want 500", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("log lacks the cause:\n%s", logs.String())
	}
}

// opmlDoc is what the tests read of an OPML 2.0 file.
type opmlDoc struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Title   string   `xml:"head>title"`
	Body    struct {
		Outlines []struct {
			Type    string `xml:"type,attr"`
			Text    string `xml:"text,attr"`
			Title   string `xml:"title,attr"`
			XMLURL  string `xml:"xmlUrl,attr"`
			HTMLURL string `xml:"htmlUrl,attr"`
		} `xml:"outline"`
	} `xml:"body"`
}

func mustParseOPML(t *testing.T, body []byte) opmlDoc {
	t.Helper()
	mustWellFormedXML(t, body)
	var doc opmlDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decode OPML: %v\n%s", err, body)
	}
	if doc.Version != "2.0" || doc.Title == "" {
		t.Errorf("OPML version %q title %q, want 2.0 and a title", doc.Version, doc.Title)
	}
	return doc
}

// mustWellFormedXML fails unless body is one well-formed XML document.
func mustWellFormedXML(t *testing.T, body []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, body)
		}
	}
}

// TestOPML lists every feed fetched at least once, never-fetched ones
// left out.
func TestOPML(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	resp, body := mustDo(t, srv, http.MethodGet, "/feeds.opml", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/x-opml; charset=utf-8" {
		t.Fatalf("got %d %q, want 200 text/x-opml", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc := mustParseOPML(t, body)
	if len(doc.Body.Outlines) != 1 {
		t.Fatalf("got %d outlines, want 1 (the broken feed was never fetched):\n%s", len(doc.Body.Outlines), body)
	}
	o := doc.Body.Outlines[0]
	if o.Type != "rss" || o.Text != nightShiftTitle || o.Title != nightShiftTitle ||
		o.XMLURL != fmt.Sprintf("%s/feeds/%d.rss", publicBase, fx.nightShift.ID) ||
		o.HTMLURL != fmt.Sprintf("%s/feeds/%d", publicBase, fx.nightShift.ID) {
		t.Errorf("outline: got %+v", o)
	}
}

// TestDirectory renders /directory: well formed, escaped, one row per
// republished feed with its subscribe links, and the aggregate links.
func TestDirectory(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	doc, page := mustGetPage(t, srv, "/directory")
	row := byID(t, doc, fmt.Sprintf("podcast-%d", fx.nightShift.ID))
	got := map[string]string{}
	for _, a := range find(row, atom.A) {
		got[attr(a, "class")] = attr(a, "href")
	}
	want := map[string]string{
		"":             fmt.Sprintf("%s/feeds/%d", publicBase, fx.nightShift.ID),
		"podcast":      fmt.Sprintf("podcast://podseed.example.net/feeds/%d.rss", fx.nightShift.ID),
		"feed":         fmt.Sprintf("%s/feeds/%d.rss", publicBase, fx.nightShift.ID),
		"torrent-feed": fmt.Sprintf("%s/feeds/%d/torrents.rss", publicBase, fx.nightShift.ID),
	}
	if !mapsEqual(got, want) {
		t.Errorf("links: got %v, want %v", got, want)
	}
	if !strings.Contains(text(row), "Night Shift <script>alert(\"podseed\")</script> Radio") {
		t.Errorf("row text %q lacks the title", text(row))
	}
	if n := len(find(doc, atom.Tr)); n != 2 { // header + one podcast
		t.Errorf("got %d table rows, want 2", n)
	}
	agg := map[string]string{}
	for _, a := range find(byID(t, doc, "aggregate"), atom.A) {
		agg[text(a)] = attr(a, "href")
	}
	if !mapsEqual(agg, map[string]string{
		"RSS": publicBase + "/torrents.rss", "Atom": publicBase + "/torrents.atom",
		"JSON Feed": publicBase + "/torrents.json", "OPML": publicBase + "/feeds.opml",
	}) {
		t.Errorf("aggregate links: got %v", agg)
	}
	if !bytes.Contains(page, []byte("1 more feed has not been fetched yet.")) {
		t.Errorf("page does not mention the never-fetched feed")
	}
}

// TestAggregateFeedsAcrossFeeds: with ready episodes in two feeds whose
// dates interleave, /torrents.rss, .atom and .json list them newest first
// across feeds (not feed by feed, not in the order they were added), an
// episode without a date last, each titled with its own podcast.
func TestAggregateFeedsAcrossFeeds(t *testing.T) {
	ctx := t.Context()
	fx := mustPopulate(t, mustOpenStore(t))
	const dayShiftTitle = "Day Shift"
	dayShift, _, err := fx.store.CreateFeed(ctx, "https://feeds.example.com/day-shift.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.store.UpdateFeedFetched(ctx, dayShift.ID, store.FeedFetch{
		Title: dayShiftTitle, Body: []byte(`<rss version="2.0"><channel><title>Day Shift</title></channel></rss>`),
		FetchedAt: fetchedAt, NextPollAt: nextPoll,
	}); err != nil {
		t.Fatal(err)
	}
	// Night Shift's ready episodes are ep4 (17 March) and ep3 (10 March);
	// Day Shift's fall after, between and (undated) outside them.
	const cdn = "https://cdn.example.com/day-shift/"
	day := func(d int) time.Time { return time.Date(2025, 3, d, 12, 0, 0, 0, time.UTC) }
	eps, err := fx.store.UpsertEpisodes(ctx, dayShift.ID, []store.Episode{
		{GUID: "day-2", Title: "Morning 2", EnclosureURL: cdn + "m2.mp3", EnclosureLength: 30_000, EnclosureType: "audio/mpeg", PublishedAt: day(20)},
		{GUID: "day-1", Title: "Morning 1", EnclosureURL: cdn + "m1.mp3", EnclosureLength: 20_000, EnclosureType: "audio/mpeg", PublishedAt: day(12)},
		{GUID: "day-0", Title: "Morning 0", EnclosureURL: cdn + "m0.mp3", EnclosureLength: 10_000, EnclosureType: "audio/mpeg"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range eps {
		data := enclosureData(uint64(100+i), int(e.EnclosureLength))
		mi, ih := mustMetainfo(t, e.GUID+".mp3", data, 16<<10, publicBase+"/announce", e.EnclosureURL)
		if err := fx.store.CreateTorrent(ctx, store.Torrent{
			InfoHash: ih, EpisodeID: e.ID, Name: e.GUID + ".mp3", Metainfo: mi,
			PieceLength: 16 << 10, Size: int64(len(data)), DataPath: filepath.Join(t.TempDir(), e.GUID+".mp3"),
			SRI: "sha256-x",
		}); err != nil {
			t.Fatal(err)
		}
		fx.metainfo[ih] = mi
	}
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})

	want := []struct {
		title string
		id    int64
	}{
		{dayShiftTitle + ": Morning 2", eps[0].ID},
		{nightShiftTitle + ": Ep. 4: Trackerless", fx.ep4.ID},
		{dayShiftTitle + ": Morning 1", eps[1].ID},
		{nightShiftTitle + ": Ep. 3: Seeding the Swarm", fx.ep3.ID},
		{dayShiftTitle + ": Morning 0", eps[2].ID},
	}
	for _, p := range []string{"/torrents.rss", "/torrents.atom", "/torrents.json"} {
		t.Run(p, func(t *testing.T) {
			resp, body := mustDo(t, srv, http.MethodGet, p, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got status %d, want 200:\n%s", resp.StatusCode, body)
			}
			f, err := gofeed.NewParser().ParseString(string(body))
			if err != nil {
				t.Fatalf("gofeed: %v\n%s", err, body)
			}
			var got, wantTitles []string
			for _, it := range f.Items {
				got = append(got, it.Title+" <"+it.Link+">")
			}
			for _, w := range want {
				wantTitles = append(wantTitles, fmt.Sprintf("%s <%s/episodes/%d>", w.title, publicBase, w.id))
			}
			if !slices.Equal(got, wantTitles) {
				t.Errorf("items:\ngot  %q\nwant %q", got, wantTitles)
			}
		})
	}
}
