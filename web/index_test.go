package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// checkWellFormed fails the test unless page starts with a doctype and
// every element other than the void ones is closed, in order.
func checkWellFormed(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var open []string
	first := true
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if err := z.Err(); !errors.Is(err, io.EOF) {
				t.Fatalf("tokenize: %v", err)
			}
			break
		}
		tok := z.Token()
		if first {
			if tt != html.DoctypeToken || tok.Data != "html" {
				t.Errorf("page starts with %v %q, want <!DOCTYPE html>", tt, tok.Data)
			}
			first = false
		}
		switch tt {
		case html.StartTagToken:
			if !voidElements[tok.Data] {
				open = append(open, tok.Data)
			}
		case html.SelfClosingTagToken:
			if !voidElements[tok.Data] {
				t.Errorf("self-closing non-void <%s/>", tok.Data)
			}
		case html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, open)
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) != 0 {
		t.Errorf("unclosed elements %v", open)
	}
}

// text is the whitespace-collapsed text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// find returns the descendants of n that are elements a.
func find(n *html.Node, a atom.Atom) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.DataAtom == a {
			found = append(found, d)
		}
	}
	return found
}

// section is what the index shows of one feed.
type section struct {
	title     string
	titleHref string            // where the title links to
	text      string            // the whole section's text
	links     map[string]string // link text → href, outside the episode table
	rows      []row
}

// row is one episode's table row.
type row struct {
	cells    []string
	errTitle string            // title attribute of the (error) marker
	links    map[string]string // link text → href
}

func links(n *html.Node, skip *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range find(n, atom.A) {
		if skip != nil && slices.Contains(find(skip, atom.A), a) {
			continue
		}
		m[text(a)] = attr(a, "href")
	}
	return m
}

// parseIndex parses the index page into its feed sections by id.
func parseIndex(t *testing.T, page []byte) (*html.Node, map[string]section) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parse index: %v", err)
	}
	sections := map[string]section{}
	for _, sn := range find(doc, atom.Section) {
		var s section
		if h2 := find(sn, atom.H2); len(h2) == 1 {
			s.title = text(h2[0])
			if as := find(h2[0], atom.A); len(as) == 1 {
				s.titleHref = attr(as[0], "href")
			}
		} else {
			t.Errorf("section %q has %d <h2>, want 1", attr(sn, "id"), len(h2))
		}
		s.text = text(sn)
		var table *html.Node
		if tables := find(sn, atom.Table); len(tables) == 1 {
			table = tables[0]
		}
		s.links = links(sn, table)
		for _, tb := range find(sn, atom.Tbody) {
			for _, tr := range find(tb, atom.Tr) {
				r := row{links: links(tr, nil)}
				for _, td := range find(tr, atom.Td) {
					r.cells = append(r.cells, text(td))
				}
				for _, span := range find(tr, atom.Span) {
					r.errTitle = attr(span, "title")
				}
				s.rows = append(s.rows, r)
			}
		}
		sections[attr(sn, "id")] = s
	}
	return doc, sections
}

func TestIndex(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	srv := mustServe(t, cat, swarmCounts(fx), &lockedBuffer{})

	resp, page := mustDo(t, srv, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: got status %d, want 200; body:\n%s", resp.StatusCode, page)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Errorf("Content-Type: got %q, want %q", got, want)
	}
	checkWellFormed(t, page)
	doc, sections := parseIndex(t, page)

	t.Run("escaping", func(t *testing.T) {
		if n := len(find(doc, atom.Script)); n != 0 {
			t.Errorf("got %d <script> elements, want 0", n)
		}
		for _, s := range []string{nightShiftTitle, scriptEpTitle, failedEpError, brokenFeedError, "<script>", "<!DOCTYPE html><title>"} {
			if bytes.Contains(page, []byte(s)) {
				t.Errorf("page contains %q unescaped", s)
			}
		}
		for _, s := range []string{"&lt;script&gt;alert(&#34;podseed&#34;)&lt;/script&gt;", "&lt;!DOCTYPE html&gt;&lt;title&gt;Parked&lt;/title&gt;"} {
			if !bytes.Contains(page, []byte(s)) {
				t.Errorf("page lacks escaped %q", s)
			}
		}
		// html/template replaces URLs it deems unsafe with this marker.
		if bytes.Contains(page, []byte("ZgotmplZ")) {
			t.Errorf("page contains a URL html/template rejected (ZgotmplZ)")
		}
	})

	t.Run("page", func(t *testing.T) {
		txt := text(doc)
		if want := "Tracker: " + publicBase + "/announce"; !strings.Contains(txt, want) {
			t.Errorf("page text lacks %q", want)
		}
		if want := "Feeds: 2 · Episodes: 5 · Seeders: 18 · Leechers: 4 · Completed: 234"; !strings.Contains(txt, want) {
			t.Errorf("page text lacks totals %q:\n%s", want, txt)
		}
		if strings.Contains(txt, "No feeds yet") {
			t.Errorf("page says there are no feeds")
		}
		if got, want := len(sections), 2; got != want {
			t.Errorf("got %d feed sections, want %d", got, want)
		}
	})

	torrentURL := func(ih string) string { return publicBase + "/torrents/" + ih + ".torrent" }
	getLinks := func(ih string) map[string]string {
		return map[string]string{".torrent": torrentURL(ih), "magnet": cat.Magnet(t.Context(), ih)}
	}
	for _, tt := range []struct {
		name       string
		id         int64
		wantTitle  string
		wantText   []string // substrings of the section's text
		wantLinks  map[string]string
		wantRows   [][]string
		wantErrs   []string // the rows' error marker titles
		wantGetURL []map[string]string
	}{
		{
			name:      "fetched feed",
			id:        fx.nightShift.ID,
			wantTitle: nightShiftTitle,
			wantText: []string{
				"Last poll: 2025-03-17 06:00:00 UTC; next poll: 2025-03-17 07:00:00 UTC",
				"torrents.rss Episodes: 5 Last poll:",
			},
			wantLinks: map[string]string{
				"https://feeds.example.org/night-shift.xml":                                        "https://feeds.example.org/night-shift.xml",
				publicBase + "/feeds/" + strconv.FormatInt(fx.nightShift.ID, 10) + ".rss":          publicBase + "/feeds/" + strconv.FormatInt(fx.nightShift.ID, 10) + ".rss",
				publicBase + "/feeds/" + strconv.FormatInt(fx.nightShift.ID, 10) + "/torrents.rss": publicBase + "/feeds/" + strconv.FormatInt(fx.nightShift.ID, 10) + "/torrents.rss",
			},
			// Episode, State, Size, Seeders, Leechers, Completed, Get;
			// newest first, undated last.
			wantRows: [][]string{
				{"Ep. 4: Trackerless", "ready", "68.4 KiB", "1", "0", "1", ".torrent · magnet"},
				{"Ep. 3: Seeding the Swarm", "ready", "39.1 KiB", "17", "4", "233", ".torrent · magnet"},
				{scriptEpTitle, "failed (error)", "50.0 MiB", "0", "0", "0", ""},
				{"Ep. 1: Pilot", "pending", "", "0", "0", "0", ""},
				{"https://cdn.example.org/night-shift/bonus.mp3", "pending", "1000 B", "0", "0", "0", ""},
			},
			wantErrs:   []string{"", "", failedEpError, "", ""},
			wantGetURL: []map[string]string{getLinks(fx.readyNewer), getLinks(fx.ready), {}, {}, {}},
		},
		{
			name:      "never fetched feed with error",
			id:        fx.broken.ID,
			wantTitle: "https://broken.example.net/feed.xml", // no title yet: its URL
			wantText: []string{
				"Last poll: never; next poll: 2025-03-17 06:15:00 UTC",
				"Last error: " + brokenFeedError,
				"torrents.rss Episodes: 0 Last poll:",
			},
			wantLinks: map[string]string{
				"https://broken.example.net/feed.xml":                                          "https://broken.example.net/feed.xml",
				publicBase + "/feeds/" + strconv.FormatInt(fx.broken.ID, 10) + ".rss":          publicBase + "/feeds/" + strconv.FormatInt(fx.broken.ID, 10) + ".rss",
				publicBase + "/feeds/" + strconv.FormatInt(fx.broken.ID, 10) + "/torrents.rss": publicBase + "/feeds/" + strconv.FormatInt(fx.broken.ID, 10) + "/torrents.rss",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := sections[fmt.Sprintf("feed-%d", tt.id)]
			if !ok {
				t.Fatalf("no section feed-%d", tt.id)
			}
			if s.title != tt.wantTitle {
				t.Errorf("title: got %q, want %q", s.title, tt.wantTitle)
			}
			if want := fmt.Sprintf("%s/feeds/%d", publicBase, tt.id); s.titleHref != want {
				t.Errorf("title links to %q, want the feed page %q", s.titleHref, want)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(s.text, want) {
					t.Errorf("section text lacks %q:\n%s", want, s.text)
				}
			}
			for k, want := range tt.wantLinks {
				if got := s.links[k]; got != want {
					t.Errorf("link %q: got href %q, want %q", k, got, want)
				}
			}
			if len(s.rows) != len(tt.wantRows) {
				t.Fatalf("got %d episode rows, want %d", len(s.rows), len(tt.wantRows))
			}
			for i, r := range s.rows {
				if !slices.Equal(r.cells, tt.wantRows[i]) {
					t.Errorf("row %d: got %q, want %q", i, r.cells, tt.wantRows[i])
				}
				if r.errTitle != tt.wantErrs[i] {
					t.Errorf("row %d error: got %q, want %q", i, r.errTitle, tt.wantErrs[i])
				}
				if !mapsEqual(r.links, tt.wantGetURL[i]) {
					t.Errorf("row %d links: got %q, want %q", i, r.links, tt.wantGetURL[i])
				}
			}
		})
	}

	// The magnet link is a real magnet URI for the row's torrent.
	t.Run("magnet", func(t *testing.T) {
		m := sections[fmt.Sprintf("feed-%d", fx.nightShift.ID)].rows[1].links["magnet"]
		for _, want := range []string{"magnet:?xt=urn:btih:" + fx.ready + "&", "dn=ep3.mp3", "xl=40000"} {
			if !strings.Contains(m, want) {
				t.Errorf("magnet %q lacks %q", m, want)
			}
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestIndexStates renders the index for stores in other states.
func TestIndexStates(t *testing.T) {
	for _, tt := range []struct {
		name      string
		populate  bool
		magnet    func(string) string
		want      []string // substrings of the page text
		wantNot   []string
		wantLinks int // <a> elements on the page
	}{
		{
			name:    "empty store",
			want:    []string{"Feeds: 0 · Episodes: 0 · Seeders: 0 · Leechers: 0 · Completed: 0", "No feeds yet. Add one with podseed add FEED_URL."},
			wantNot: []string{"Last poll"},
		},
		{
			// A ready episode whose magnet the catalog cannot make still
			// offers its .torrent, and no magnet link to nowhere.
			name:      "no magnets",
			populate:  true,
			magnet:    func(string) string { return "" },
			want:      []string{".torrent"},
			wantNot:   []string{"magnet", "No feeds yet"},
			wantLinks: 2*4 + 2, // 4 feed links per feed (page, source, 2 feeds), one .torrent per ready episode
		},
		{
			// Only magnet: URIs skip html/template's URL filter.
			name:      "not a magnet URI",
			populate:  true,
			magnet:    func(string) string { return "javascript:alert(document.cookie)" },
			wantNot:   []string{"magnet"},
			wantLinks: 2*4 + 2,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := mustOpenStore(t)
			cat := &testCatalog{store: st, urls: web.URLs{Base: publicBase}}
			swarm := fakeSwarm{}
			if tt.populate {
				fx := mustPopulate(t, st)
				cat, swarm = newTestCatalog(fx), swarmCounts(fx)
			}
			cat.magnet = tt.magnet
			srv := mustServe(t, cat, swarm, &lockedBuffer{})

			resp, page := mustDo(t, srv, http.MethodGet, "/", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got status %d, want 200; body:\n%s", resp.StatusCode, page)
			}
			checkWellFormed(t, page)
			if bytes.Contains(page, []byte("javascript:")) || bytes.Contains(page, []byte("ZgotmplZ")) {
				t.Errorf("page has an unsafe or rejected URL:\n%s", page)
			}
			doc, _ := parseIndex(t, page)
			txt := text(doc)
			for _, want := range tt.want {
				if !strings.Contains(txt, want) {
					t.Errorf("page text lacks %q:\n%s", want, txt)
				}
			}
			for _, not := range tt.wantNot {
				if strings.Contains(txt, not) {
					t.Errorf("page text has %q:\n%s", not, txt)
				}
			}
			// The links to the directory and the aggregate feeds are on
			// every index page; the rest depend on the store.
			var as []*html.Node
			var hrefs []string
			for _, a := range find(doc, atom.A) {
				if p := a.Parent; p != nil && attr(p, "id") == "subscribe-all" {
					hrefs = append(hrefs, attr(a, "href"))
					continue
				}
				as = append(as, a)
			}
			if want := []string{"/directory", "/torrents.rss", "/torrents.atom", "/torrents.json", "/feeds.opml"}; !slices.Equal(hrefs, want) {
				t.Errorf("directory and aggregate feed links %q, want %q", hrefs, want)
			}
			if len(as) != tt.wantLinks {
				t.Errorf("got %d links, want %d", len(as), tt.wantLinks)
			}
			for _, a := range as {
				if attr(a, "href") == "" {
					t.Errorf("link %q has an empty href", text(a))
				}
			}
		})
	}
}

// TestIndexUnhealthy: a feed that keeps failing is shown as unhealthy, not
// dropped; a healthy one is not.
func TestIndexUnhealthy(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures int // failed polls of the broken feed in all
		want     bool
	}{
		{"one failure", 1, false},
		{"two failures", 2, false},
		{"three failures", 3, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := mustOpenStore(t)
			fx := mustPopulate(t, st) // one failed poll of fx.broken already
			for i := 1; i < tt.failures; i++ {
				if err := st.UpdateFeedError(context.Background(), fx.broken.ID, "still down", fetchedAt, nextPoll); err != nil {
					t.Fatal(err)
				}
			}
			srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
			_, page := mustDo(t, srv, http.MethodGet, "/", nil)
			doc, _ := parseIndex(t, page)
			txt := text(doc)
			want := fmt.Sprintf("Unhealthy: %d consecutive failed polls", tt.failures)
			if got := strings.Contains(txt, want); got != tt.want {
				t.Errorf("page shows %q: %v, want %v", want, got, tt.want)
			}
			if n := strings.Count(txt, "Unhealthy:"); n > 1 {
				t.Errorf("%d feeds shown unhealthy, want at most the broken one", n)
			}
		})
	}
}

// TestIndexTotalsShareTorrents: episodes with the same bytes share one
// torrent, whose swarm the totals count once.
func TestIndexTotalsShareTorrents(t *testing.T) {
	st := mustOpenStore(t)
	fx := mustPopulate(t, st)
	shared, err := st.FindTorrentByInfoHash(context.Background(), fx.ready)
	if err != nil {
		t.Fatal(err)
	}
	shared.EpisodeID = fx.ep1.ID // Ep. 1 turns out to be Ep. 3's bytes
	if err := st.CreateTorrent(context.Background(), shared); err != nil {
		t.Fatal(err)
	}
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	_, page := mustDo(t, srv, http.MethodGet, "/", nil)
	doc, sections := parseIndex(t, page)
	if want := "Feeds: 2 · Episodes: 5 · Seeders: 18 · Leechers: 4 · Completed: 234"; !strings.Contains(text(doc), want) {
		t.Errorf("page text lacks totals %q:\n%s", want, text(doc))
	}
	// Both rows still show the shared swarm.
	rows := sections[fmt.Sprintf("feed-%d", fx.nightShift.ID)].rows
	// Ep. 1 declares no length; its size is now that of the shared file.
	if got, want := rows[3].cells[:6], []string{"Ep. 1: Pilot", "ready", "39.1 KiB", "17", "4", "233"}; !slices.Equal(got, want) {
		t.Errorf("Ep. 1 row: got %q, want %q", got, want)
	}
}

// TestIndexDelivery: the index sums every torrent's swarm history into
// completed downloads per window and the byte estimates.
func TestIndexDelivery(t *testing.T) {
	for _, tt := range []struct {
		name    string
		samples bool
		want    []string
	}{
		{
			name: "no samples",
			want: []string{
				"Completed downloads: last 1 day 0 · 7 days 0 · 30 days 0",
				"Delivered to completed downloads, last 30 days (estimate): 0 B",
				"of which podseed uploaded over BitTorrent: 0 B · served by podseed's web seed: 0 B · from other peers or the origin's web seed: 0 B",
			},
		},
		{
			// fx.ready (40000 bytes): Completed 180 + 4i over 14 samples,
			// 12 of them within 24 hours: 44 in a day, 52 in 7 and 30
			// days; uploaded 1000003 more at each of 13 samples after the
			// first, web seeded 2000 more. fx.readyNewer (70000 bytes):
			// Completed 0, 1, 2 within the hour; uploaded 140000, web
			// seeded 1000 in it. Both torrents were created (by the wall
			// clock) after sampleNow: their first samples' values are not
			// in the window.
			name:    "samples",
			samples: true,
			want: []string{
				"Completed downloads: last 1 day 46 · 7 days 54 · 30 days 54",
				// 52 × 40000 + 2 × 70000.
				"Delivered to completed downloads, last 30 days (estimate): 2.1 MiB (2220000 bytes)",
				// 13 × 1000003 + 140000; 13 × 2000 + 1000; podseed's
				// figures exceed the estimate: 0.
				"of which podseed uploaded over BitTorrent: 12.5 MiB (13140039 bytes) · served by podseed's web seed: 26.4 KiB (27000 bytes) · from other peers or the origin's web seed: 0 B",
				"the origin, whose own web seed traffic podseed cannot see",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := mustPopulate(t, mustOpenStore(t))
			if tt.samples {
				mustAddSamples(t, fx)
			}
			srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{}, atSampleNow())
			resp, page := mustDo(t, srv, http.MethodGet, "/", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /: got status %d, want 200", resp.StatusCode)
			}
			checkWellFormed(t, page)
			doc, _ := parseIndex(t, page)
			txt := text(doc)
			for _, want := range tt.want {
				if !strings.Contains(txt, want) {
					t.Errorf("page text lacks %q:\n%s", want, txt)
				}
			}
		})
	}
}

// TestIndexDeliverySharedTorrent: a torrent two episodes share counts once.
func TestIndexDeliverySharedTorrent(t *testing.T) {
	st := mustOpenStore(t)
	fx := mustPopulate(t, st)
	shared, err := st.FindTorrentByInfoHash(context.Background(), fx.ready)
	if err != nil {
		t.Fatal(err)
	}
	shared.EpisodeID = fx.ep1.ID
	if err := st.CreateTorrent(context.Background(), shared); err != nil {
		t.Fatal(err)
	}
	mustAddSamples(t, fx)
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{}, atSampleNow())
	_, page := mustDo(t, srv, http.MethodGet, "/", nil)
	doc, _ := parseIndex(t, page)
	if want := "Completed downloads: last 1 day 46 · 7 days 54 · 30 days 54"; !strings.Contains(text(doc), want) {
		t.Errorf("page text lacks %q:\n%s", want, text(doc))
	}
}

// TestIndexDeliverySplit: over the last 30 days, the index splits
// completed × size into podseed's BitTorrent upload, podseed's web seed and
// the rest, from the counters' growth within the window: a sample older
// than 30 days is not in it, a counter that drops restarted from 0, and
// the rest is never below 0.
func TestIndexDeliverySplit(t *testing.T) {
	type counts struct {
		daysAgo             float64
		completed           int
		uploaded, webSeeded int64
	}
	for _, tt := range []struct {
		name    string
		samples []counts
		want    string
	}{
		{
			// 50 downloads × 40000 = 2000000; uploaded 500000, web
			// seeded 300000 within the window; the rest 1200000.
			name:    "split",
			samples: []counts{{40, 0, 0, 0}, {29, 10, 100_000, 50_000}, {10, 30, 400_000, 150_000}, {1.0 / 24, 60, 600_000, 350_000}},
			want: "Delivered to completed downloads, last 30 days (estimate): 1.9 MiB (2000000 bytes) " +
				"of which podseed uploaded over BitTorrent: 488.3 KiB (500000 bytes) · served by podseed's web seed: 293.0 KiB (300000 bytes) · " +
				"from other peers or the origin's web seed: 1.1 MiB (1200000 bytes)",
		},
		{
			// The upload counter restarted between the second and third
			// sample: 300000 + 50000. The web seed counter went on.
			name:    "restart",
			samples: []counts{{29, 10, 100_000, 50_000}, {10, 30, 400_000, 150_000}, {1.0 / 24, 60, 50_000, 350_000}},
			want: "of which podseed uploaded over BitTorrent: 341.8 KiB (350000 bytes) · served by podseed's web seed: 293.0 KiB (300000 bytes) · " +
				"from other peers or the origin's web seed: 1.3 MiB (1350000 bytes)",
		},
		{
			name:    "podseed's figures exceed the estimate",
			samples: []counts{{29, 10, 0, 0}, {1.0 / 24, 11, 30_000, 20_000}},
			want: "Delivered to completed downloads, last 30 days (estimate): 39.1 KiB (40000 bytes) " +
				"of which podseed uploaded over BitTorrent: 29.3 KiB (30000 bytes) · served by podseed's web seed: 19.5 KiB (20000 bytes) · " +
				"from other peers or the origin's web seed: 0 B",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := mustPopulate(t, mustOpenStore(t))
			var samples []store.SwarmSample
			for _, c := range tt.samples {
				samples = append(samples, store.SwarmSample{
					InfoHash: fx.ready, At: sampleNow.Add(-time.Duration(c.daysAgo * 24 * float64(time.Hour))),
					Completed: c.completed, BytesUploaded: c.uploaded, BytesWebSeeded: c.webSeeded,
				})
			}
			if err := fx.store.CreateSwarmSamples(t.Context(), samples); err != nil {
				t.Fatal(err)
			}
			last := tt.samples[len(tt.samples)-1].completed
			swarm := fakeSwarm{fx.ready: {Seeders: 1, Completed: last}}
			srv := mustServe(t, newTestCatalog(fx), swarm, &lockedBuffer{}, atSampleNow())
			resp, page := mustDo(t, srv, http.MethodGet, "/", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /: got status %d, want 200", resp.StatusCode)
			}
			checkWellFormed(t, page)
			doc, _ := parseIndex(t, page)
			var delivery *html.Node
			for _, p := range find(doc, atom.P) {
				if attr(p, "id") == "delivery" {
					delivery = p
				}
			}
			if delivery == nil {
				t.Fatal("no #delivery paragraph")
			}
			if got := strings.Join(strings.Fields(text(delivery)), " "); !strings.Contains(got, tt.want) {
				t.Errorf("#delivery:\n got %q\nwant it to contain %q", got, tt.want)
			}
		})
	}
}
