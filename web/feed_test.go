package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// mustGetPage GETs path, expects a well-formed HTML page and parses it.
func mustGetPage(t *testing.T, srv *httptest.Server, path string) (*html.Node, []byte) {
	t.Helper()
	resp, page := mustDo(t, srv, http.MethodGet, path, browserAccept)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200; body:\n%s", resp.StatusCode, page)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Errorf("Content-Type: got %q, want %q", got, want)
	}
	checkWellFormed(t, page)
	checkEscaped(t, page)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return doc, page
}

// checkEscaped fails the test if page lets any of the fixture's markup
// through or has a URL html/template rejected.
func checkEscaped(t *testing.T, page []byte) {
	t.Helper()
	for _, s := range []string{"<script", nightShiftTitle, scriptEpTitle, failedEpError, brokenFeedError, "ZgotmplZ", "javascript:"} {
		if bytes.Contains(page, []byte(s)) {
			t.Errorf("page contains %q", s)
		}
	}
}

// byID returns the element with the given id attribute, or fails.
func byID(t *testing.T, n *html.Node, id string) *html.Node {
	t.Helper()
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && attr(d, "id") == id {
			return d
		}
	}
	t.Fatalf("no element with id %q", id)
	return nil
}

// defs maps a definition list's <dt> texts to their <dd> elements.
func defs(n *html.Node) map[string]*html.Node {
	m := map[string]*html.Node{}
	for _, dt := range find(n, atom.Dt) {
		dd := dt.NextSibling
		for dd != nil && dd.Type != html.ElementNode {
			dd = dd.NextSibling
		}
		if dd != nil && dd.DataAtom == atom.Dd {
			m[text(dt)] = dd
		}
	}
	return m
}

// elements returns n's descendant elements named name, for the SVG ones
// that have no atom.
func elements(n *html.Node, name string) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == name {
			found = append(found, d)
		}
	}
	return found
}

// point is a polyline vertex.
type point struct{ x, y float64 }

// polylinePoints parses a polyline's points and checks they lie inside
// its SVG's viewBox, left to right.
func polylinePoints(t *testing.T, svg, pl *html.Node) []point {
	t.Helper()
	var w, h float64
	if _, err := fmt.Sscanf(attr(svg, "viewBox"), "0 0 %g %g", &w, &h); err != nil {
		t.Fatalf("viewBox %q: %v", attr(svg, "viewBox"), err)
	}
	var pts []point
	for f := range strings.FieldsSeq(attr(pl, "points")) {
		xs, ys, ok := strings.Cut(f, ",")
		x, errX := strconv.ParseFloat(xs, 64)
		y, errY := strconv.ParseFloat(ys, 64)
		if !ok || errX != nil || errY != nil {
			t.Fatalf("bad point %q in %q", f, attr(pl, "points"))
		}
		if x < 0 || x > w || y < 0 || y > h {
			t.Errorf("point %q outside the %gx%g viewBox", f, w, h)
		}
		if n := len(pts); n > 0 && x <= pts[n-1].x {
			t.Errorf("point %q not right of the previous one (x %g)", f, pts[n-1].x)
		}
		pts = append(pts, point{x, y})
	}
	return pts
}

func TestFeedPage(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	samples := mustAddSamples(t, fx)
	cat := newTestCatalog(fx)
	srv := mustServe(t, cat, swarmCounts(fx), &lockedBuffer{}, atSampleNow())

	t.Run("fetched feed", func(t *testing.T) {
		id := strconv.FormatInt(fx.nightShift.ID, 10)
		doc, _ := mustGetPage(t, srv, "/feeds/"+id)

		if got := text(find(doc, atom.Title)[0]); got != nightShiftTitle {
			t.Errorf("<title>: got %q, want %q", got, nightShiftTitle)
		}
		if h1 := find(doc, atom.H1); len(h1) != 1 || text(h1[0]) != nightShiftTitle {
			t.Errorf("<h1>: got %d, want one with %q", len(h1), nightShiftTitle)
		}

		health := defs(byID(t, doc, "health"))
		for dt, want := range map[string]string{
			"Source":                   "https://feeds.example.org/night-shift.xml",
			"Last poll":                "2025-03-17 06:00:00 UTC",
			"Next poll":                "2025-03-17 07:00:00 UTC",
			"Consecutive failed polls": "0",
			"Last error":               "none",
		} {
			if dd, ok := health[dt]; !ok || text(dd) != want {
				t.Errorf("health %q: got %q, want %q", dt, textOf(dd), want)
			}
		}

		sub := defs(byID(t, doc, "subscribe"))
		for dt, want := range map[string]string{
			"Republished feed":      publicBase + "/feeds/" + id + ".rss",
			"Torrent feed (BEP 36)": publicBase + "/feeds/" + id + "/torrents.rss",
			"Podcast app":           "podcast://podseed.example.net/feeds/" + id + ".rss",
			"JSON":                  publicBase + "/api/v1/feeds/" + id,
		} {
			dd, ok := sub[dt]
			if !ok {
				t.Errorf("no subscribe helper %q", dt)
				continue
			}
			if as := find(dd, atom.A); len(as) != 1 || attr(as[0], "href") != want || text(as[0]) != want {
				t.Errorf("subscribe %q: got %q, want a link to %q", dt, text(dd), want)
			}
		}

		// Episode, Published, State, Size, Seeders, Leechers, Completed,
		// Last 24 h, Get; newest first, undated last.
		for _, tt := range []struct {
			ep         store.Episode
			cells      []string
			links      map[string]string
			sparkPts   int // points of the sparkline; 0: no sparkline
			sparkMaxAt int // index of the sample with most seeders + leechers
		}{
			{fx.ep4, []string{"Ep. 4: Trackerless", "2025-03-17", "ready", "68.4 KiB", "1", "0", "1", "", ".torrent · magnet"},
				map[string]string{".torrent": publicBase + "/torrents/" + fx.readyNewer + ".torrent", "magnet": cat.Magnet(t.Context(), fx.readyNewer)},
				3, 0},
			// Two of Ep. 3's samples are older than 24 hours.
			{fx.ep3, []string{"Ep. 3: Seeding the Swarm", "2025-03-10", "ready", "39.1 KiB", "17", "4", "233", "", ".torrent · magnet"},
				map[string]string{".torrent": publicBase + "/torrents/" + fx.ready + ".torrent", "magnet": cat.Magnet(t.Context(), fx.ready)},
				12, 10},
			{fx.ep2, []string{scriptEpTitle, "2025-03-03", "failed (error)", "50.0 MiB", "0", "0", "0", "", ""}, map[string]string{}, 0, 0},
			{fx.ep1, []string{"Ep. 1: Pilot", "2025-02-24", "pending", "", "0", "0", "0", "", ""}, map[string]string{}, 0, 0},
			{fx.bonus, []string{"https://cdn.example.org/night-shift/bonus.mp3", "", "pending", "1000 B", "0", "0", "0", "", ""}, map[string]string{}, 0, 0},
		} {
			t.Run(tt.cells[0], func(t *testing.T) {
				tr := byID(t, doc, fmt.Sprintf("episode-%d", tt.ep.ID))
				tds := find(tr, atom.Td)
				var cells []string
				for _, td := range tds {
					cells = append(cells, text(td))
				}
				if !slices.Equal(cells, tt.cells) {
					t.Errorf("cells: got %q, want %q", cells, tt.cells)
				}
				title := find(tds[0], atom.A)
				if want := fmt.Sprintf("%s/episodes/%d", publicBase, tt.ep.ID); len(title) != 1 || attr(title[0], "href") != want {
					t.Errorf("title does not link to the episode page %q", want)
				}
				if got := links(tds[len(tds)-1], nil); !mapsEqual(got, tt.links) {
					t.Errorf("links: got %q, want %q", got, tt.links)
				}

				svgs := find(tr, atom.Svg)
				if tt.sparkPts == 0 {
					if len(svgs) != 0 {
						t.Errorf("got %d sparklines, want none", len(svgs))
					}
					return
				}
				if len(svgs) != 1 {
					t.Fatalf("got %d sparklines, want 1", len(svgs))
				}
				pls := elements(svgs[0], "polyline")
				if len(pls) != 1 {
					t.Fatalf("got %d polylines, want 1", len(pls))
				}
				pts := polylinePoints(t, svgs[0], pls[0])
				if len(pts) != tt.sparkPts {
					t.Errorf("got %d points, want %d", len(pts), tt.sparkPts)
				}
				// The busiest sample reaches the top of the plot area.
				for i, p := range pts {
					if top := i == tt.sparkMaxAt; top != (p.y == pts[tt.sparkMaxAt].y) || (top && p.y != 2) {
						t.Errorf("point %d at y %g; busiest is %d at y %g, want 2", i, p.y, tt.sparkMaxAt, pts[tt.sparkMaxAt].y)
					}
				}
			})
		}
		// The sparkline's window is the 24 hours before the clock: the
		// newest of Ep. 3's samples, an hour old, is 23/24 of the way.
		ih := samples[fx.ready]
		if got := ih[len(ih)-1].At; !got.Equal(sampleNow.Add(-time.Hour)) {
			t.Fatalf("newest sample at %v, want an hour before %v", got, sampleNow)
		}
		svg := find(byID(t, doc, fmt.Sprintf("episode-%d", fx.ep3.ID)), atom.Svg)[0]
		pts := polylinePoints(t, svg, elements(svg, "polyline")[0])
		if got, want := pts[len(pts)-1].x, 1+118*23.0/24; got < want-0.1 || got > want+0.1 {
			t.Errorf("newest point at x %g, want %.1f", got, want)
		}
	})

	t.Run("never fetched feed", func(t *testing.T) {
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/feeds/%d", fx.broken.ID))
		if h1 := text(find(doc, atom.H1)[0]); h1 != "https://broken.example.net/feed.xml" {
			t.Errorf("<h1>: got %q, want the feed URL", h1)
		}
		health := defs(byID(t, doc, "health"))
		for dt, want := range map[string]string{
			"Last poll":                "never",
			"Next poll":                "2025-03-17 06:15:00 UTC",
			"Consecutive failed polls": "1",
			"Last error":               brokenFeedError,
		} {
			if got := textOf(health[dt]); got != want {
				t.Errorf("health %q: got %q, want %q", dt, got, want)
			}
		}
		if txt := text(byID(t, doc, "episodes")); txt != "Episodes No episodes yet." {
			t.Errorf("episodes: got %q", txt)
		}
	})
}

// textOf is text(n), "" for nil.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	return text(n)
}

// TestFeedPageStates renders the feed page in other states.
func TestFeedPageStates(t *testing.T) {
	t.Run("no samples", func(t *testing.T) {
		fx := mustPopulate(t, mustOpenStore(t))
		srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/feeds/%d", fx.nightShift.ID))
		if n := len(find(doc, atom.Svg)); n != 0 {
			t.Errorf("got %d sparklines, want none", n)
		}
		if got := strings.Count(text(doc), "no samples"); got != 2 {
			t.Errorf(`got %d "no samples", want one per ready episode (2)`, got)
		}
	})

	t.Run("samples older than a day", func(t *testing.T) {
		fx := mustPopulate(t, mustOpenStore(t))
		mustAddSamples(t, fx)
		later := web.WithClock(func() time.Time { return sampleNow.Add(48 * time.Hour) })
		srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{}, later)
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/feeds/%d", fx.nightShift.ID))
		if n := len(find(doc, atom.Svg)); n != 0 {
			t.Errorf("got %d sparklines, want none", n)
		}
	})

	t.Run("unhealthy", func(t *testing.T) {
		st := mustOpenStore(t)
		fx := mustPopulate(t, st)
		for range 2 {
			if err := st.UpdateFeedError(context.Background(), fx.broken.ID, "still down", fetchedAt, nextPoll); err != nil {
				t.Fatal(err)
			}
		}
		srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/feeds/%d", fx.broken.ID))
		health := defs(byID(t, doc, "health"))
		if got, want := textOf(health["Consecutive failed polls"]), "3 Unhealthy (retrying with backoff)"; got != want {
			t.Errorf("failed polls: got %q, want %q", got, want)
		}
		if got, want := textOf(health["Last error"]), "still down"; got != want {
			t.Errorf("last error: got %q, want %q", got, want)
		}
	})
}
