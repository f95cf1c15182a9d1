package web_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
	"github.com/podseed/podseed/web/static"
)

// checkDefs fails the test unless each <dt> of want is in got with a <dd>
// of that text.
func checkDefs(t *testing.T, what string, got map[string]*html.Node, want map[string]string) {
	t.Helper()
	for dt, w := range want {
		if dd, ok := got[dt]; !ok {
			t.Errorf("%s: no %q", what, dt)
		} else if text(dd) != w {
			t.Errorf("%s %q: got %q, want %q", what, dt, text(dd), w)
		}
	}
}

func TestEpisodePage(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	mustAddSamples(t, fx)
	cat := newTestCatalog(fx)
	srv := mustServe(t, cat, swarmCounts(fx), &lockedBuffer{}, atSampleNow())
	ep3Torrent, err := fx.store.FindTorrentByInfoHash(t.Context(), fx.ready)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ready with history", func(t *testing.T) {
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", fx.ep3.ID))
		if got, want := text(find(doc, atom.H1)[0]), "Ep. 3: Seeding the Swarm"; got != want {
			t.Errorf("<h1>: got %q, want %q", got, want)
		}
		nav := find(doc, atom.P)[0]
		if got, want := links(nav, nil), map[string]string{
			"All feeds":     publicBase + "/",
			nightShiftTitle: fmt.Sprintf("%s/feeds/%d", publicBase, fx.nightShift.ID),
		}; !mapsEqual(got, want) {
			t.Errorf("navigation: got %q, want %q", got, want)
		}

		ep := defs(byID(t, doc, "episode"))
		checkDefs(t, "episode", ep, map[string]string{
			"State":           "ready",
			"Published":       "2025-03-10 05:00:00 UTC",
			"GUID":            "night-shift-ep3",
			"Enclosure":       "https://cdn.example.org/night-shift/ep3.mp3",
			"Type":            "audio/mpeg",
			"Declared length": "39.1 KiB (40000 bytes)",
			"JSON":            fmt.Sprintf("%s/api/v1/episodes/%d", publicBase, fx.ep3.ID),
		})
		if a := find(ep["Enclosure"], atom.A); len(a) != 1 || attr(a[0], "href") != "https://cdn.example.org/night-shift/ep3.mp3" {
			t.Errorf("the enclosure is not a link")
		}

		tor := defs(byID(t, doc, "torrent"))
		checkDefs(t, "torrent", tor, map[string]string{
			"Infohash":           fx.ready,
			"Name":               "ep3.mp3",
			"Web seed (BEP 19)":  "https://cdn.example.org/night-shift/ep3.mp3",
			"Size":               "39.1 KiB (40000 bytes)",
			"Piece length":       "16.0 KiB (16384 bytes), 3 pieces",
			"SRI":                ep3Torrent.SRI,
			"Get":                ".torrent · magnet",
			"podseed's web seed": publicBase + "/webseed/" + fx.ready + "/ep3.mp3 (podseed's copy over HTTP, with Range and CORS)",
		})
		if a := find(tor["podseed's web seed"], atom.A); len(a) != 1 || attr(a[0], "href") != publicBase+"/webseed/"+fx.ready+"/ep3.mp3" {
			t.Errorf("podseed's web seed is not a link to its copy")
		}
		if got, want := links(tor["Get"], nil), map[string]string{
			".torrent": publicBase + "/torrents/" + fx.ready + ".torrent",
			"magnet":   cat.Magnet(t.Context(), fx.ready),
		}; !mapsEqual(got, want) {
			t.Errorf("get links: got %q, want %q", got, want)
		}

		swarm := byID(t, doc, "swarm")
		sd := defs(swarm)
		checkDefs(t, "swarm", sd, map[string]string{
			// Live counts from the swarm, not the samples.
			"Seeders":   "17",
			"Leechers":  "4",
			"Completed": "233",
			// The newest sample: 14 × 1 000 003 bytes, an hour ago.
			"Uploaded by podseed": "13.4 MiB (as of 2025-03-17 06:00:00 UTC)",
			// The newest sample's: 13 × 2000 bytes.
			"Served by podseed's web seed": "25.4 KiB (26000 bytes) (as of 2025-03-17 06:00:00 UTC)",
			// The newest sample's, the 14th: 13 / 4.
			"Availability": "3.25 (distributed copies among the peers connected to podseed, not counting podseed's own copy)",
		})
		// 233 completed × 40 000 bytes.
		if got, want := text(sd["Downloads via BitTorrent"]), "8.9 MiB (9320000 bytes) (estimate: completed × size"; !strings.HasPrefix(got, want) {
			t.Errorf("downloads via BitTorrent: got %q, want it to start with %q", got, want)
		}
		// Within 30 days: 52 downloads completed (the counter went from
		// 181 to 233) × 40000 bytes; podseed's counters grew by 13 ×
		// 1000003 and 13 × 2000 bytes, more than the estimate: the rest is 0.
		delivery := byID(t, doc, "delivery")
		checkDefs(t, "delivery", defs(delivery), map[string]string{
			"Delivered to completed downloads (estimate)": "2.0 MiB (2080000 bytes) (52 completed × size)",
			"of which podseed uploaded over BitTorrent":   "12.4 MiB (13000039 bytes)",
			"served by podseed's web seed":                "25.4 KiB (26000 bytes)",
			"from other peers or the origin's web seed":   "0 B",
		})
		if got := text(delivery); !strings.Contains(got, "the origin, whose own web seed traffic podseed cannot see") {
			t.Errorf("delivery section lacks the note on the origin's web seed: %q", got)
		}
		if got := text(swarm); !strings.Contains(got, "14 samples") {
			t.Errorf("swarm section lacks the sample count: %q", got)
		}

		svgs := find(swarm, atom.Svg)
		if len(svgs) != 1 {
			t.Fatalf("got %d charts, want 1", len(svgs))
		}
		svg := svgs[0]
		var labels []string
		for _, tx := range elements(svg, "text") {
			labels = append(labels, text(tx))
		}
		// y: 0 and the most seeders; x: the oldest sample and the clock.
		if want := []string{"0", "16", "2025-03-16 01:00 UTC", "2025-03-17 07:00 UTC"}; !slices.Equal(labels, want) {
			t.Errorf("axis labels: got %q, want %q", labels, want)
		}
		if n := len(elements(svg, "line")); n != 2 {
			t.Errorf("got %d axis lines, want 2", n)
		}
		pls := elements(svg, "polyline")
		if len(pls) != 2 || attr(pls[0], "class") != "seeders" || attr(pls[1], "class") != "leechers" {
			t.Fatalf("want a seeders and a leechers polyline, got %d", len(pls))
		}
		seeders, leechers := polylinePoints(t, svg, pls[0]), polylinePoints(t, svg, pls[1])
		if len(seeders) != 14 || len(leechers) != 14 {
			t.Fatalf("got %d and %d points, want 14 each (every sample, older than 24 h too)", len(seeders), len(leechers))
		}
		// Seeders grow from 3 to 16, the top of the plot area.
		for i := 1; i < len(seeders); i++ {
			if seeders[i].y >= seeders[i-1].y {
				t.Errorf("seeders point %d at y %g, not above point %d at y %g", i, seeders[i].y, i-1, seeders[i-1].y)
			}
		}
		if top := seeders[13].y; top != 12 {
			t.Errorf("16 seeders at y %g, want the top, 12", top)
		}
		if x0, y0 := leechers[0].x, leechers[0].y; x0 != 48 || y0 != 192 {
			t.Errorf("the oldest sample's 0 leechers at (%g, %g), want the origin (48, 192)", x0, y0)
		}
		for i := range seeders {
			if seeders[i].x != leechers[i].x {
				t.Errorf("point %d: seeders at x %g, leechers at x %g", i, seeders[i].x, leechers[i].x)
			}
		}
	})

	t.Run("ready, samples within the hour", func(t *testing.T) {
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", fx.ep4.ID))
		svg := find(byID(t, doc, "swarm"), atom.Svg)
		if len(svg) != 1 {
			t.Fatalf("got %d charts, want 1", len(svg))
		}
		for _, pl := range elements(svg[0], "polyline") {
			if n := len(polylinePoints(t, svg[0], pl)); n != 3 {
				t.Errorf("%s: got %d points, want 3", attr(pl, "class"), n)
			}
		}
		checkDefs(t, "swarm", defs(byID(t, doc, "swarm")), map[string]string{
			"Completed":           "1",
			"Uploaded by podseed": "136.7 KiB (as of 2025-03-17 06:50:00 UTC)",
		})
	})

	t.Run("delivery from other peers", func(t *testing.T) {
		// 10 downloads of 30000 bytes within 30 days (the tracker's live
		// count is 0 for this torrent: the samples' count stands); podseed
		// uploaded 100000 and served 50000 of them over HTTP. The sample
		// 40 days ago is outside the window.
		ih, e := mustAddTorrent(t, fx, "ep5", "ep5.mp3", 5, 30_000)
		if err := fx.store.CreateSwarmSamples(t.Context(), []store.SwarmSample{
			{InfoHash: ih, At: sampleNow.Add(-40 * 24 * time.Hour), BytesUploaded: 7, BytesWebSeeded: 7},
			{InfoHash: ih, At: sampleNow.Add(-29 * 24 * time.Hour), Completed: 2, BytesUploaded: 10_000, BytesWebSeeded: 20_000},
			{InfoHash: ih, At: sampleNow.Add(-time.Hour), Completed: 12, BytesUploaded: 110_000, BytesWebSeeded: 70_000},
		}); err != nil {
			t.Fatal(err)
		}
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", e.ID))
		checkDefs(t, "delivery", defs(byID(t, doc, "delivery")), map[string]string{
			"Delivered to completed downloads (estimate)": "293.0 KiB (300000 bytes) (10 completed × size)",
			"of which podseed uploaded over BitTorrent":   "97.7 KiB (100000 bytes)",
			"served by podseed's web seed":                "48.8 KiB (50000 bytes)",
			"from other peers or the origin's web seed":   "146.5 KiB (150000 bytes)",
		})
		checkDefs(t, "swarm", defs(byID(t, doc, "swarm")), map[string]string{
			"Served by podseed's web seed": "68.4 KiB (70000 bytes) (as of 2025-03-17 06:00:00 UTC)",
		})
	})

	t.Run("failed", func(t *testing.T) {
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", fx.ep2.ID))
		if got := text(find(doc, atom.H1)[0]); got != scriptEpTitle {
			t.Errorf("<h1>: got %q, want %q", got, scriptEpTitle)
		}
		checkDefs(t, "episode", defs(byID(t, doc, "episode")), map[string]string{
			"State":           "failed " + failedEpError + " (next attempt 2025-03-17 06:30:00 UTC)",
			"Declared length": "50.0 MiB (52428800 bytes)",
		})
		if want := "No torrent yet: the download failed and will be retried."; !strings.Contains(text(doc), want) {
			t.Errorf("page lacks %q", want)
		}
		for d := range doc.Descendants() {
			if id := attr(d, "id"); id == "torrent" || id == "swarm" {
				t.Errorf("a failed episode has a #%s section", id)
			}
		}
		if n := len(find(doc, atom.Svg)); n != 0 {
			t.Errorf("got %d charts, want none", n)
		}
	})

	t.Run("no guid, title or date", func(t *testing.T) {
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", fx.bonus.ID))
		const u = "https://cdn.example.org/night-shift/bonus.mp3"
		if got := text(find(doc, atom.H1)[0]); got != u {
			t.Errorf("<h1>: got %q, want the enclosure URL", got)
		}
		checkDefs(t, "episode", defs(byID(t, doc, "episode")), map[string]string{
			"State": "pending", "Published": "unknown", "GUID": u, "Declared length": "1000 B",
		})
	})

	t.Run("web seed withheld", func(t *testing.T) {
		// Ep. 1's origin changes its bytes per request: its torrent has
		// no url-list.
		data := enclosureData(1, 5000)
		mi, ih := mustMetainfo(t, "ep1.mp3", data, 16<<10, publicBase+"/announce", fx.ep1.EnclosureURL)
		const why = "origin served different bytes on a second request"
		if err := fx.store.CreateTorrent(t.Context(), store.Torrent{
			InfoHash: ih, EpisodeID: fx.ep1.ID, Name: "ep1.mp3", Metainfo: mi, PieceLength: 16 << 10,
			Size: int64(len(data)), DataPath: "/var/lib/podseed/files/ep1.mp3", SRI: "sha256-x", WebSeedWithheld: why,
		}); err != nil {
			t.Fatal(err)
		}
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", fx.ep1.ID))
		tor := defs(byID(t, doc, "torrent"))
		checkDefs(t, "torrent", tor, map[string]string{"Web seed (BEP 19)": "withheld: " + why, "Size": "4.9 KiB (5000 bytes)"})
		if n := len(find(tor["Web seed (BEP 19)"], atom.A)); n != 0 {
			t.Errorf("a withheld web seed has %d links", n)
		}
		if n := len(find(byID(t, doc, "swarm"), atom.Svg)); n != 0 {
			t.Errorf("got %d charts for a torrent without samples, want none", n)
		}
	})

	t.Run("feed without a title", func(t *testing.T) {
		// An episode page links to its feed by URL until the feed has a title.
		st := fx.store
		eps, err := st.UpsertEpisodes(t.Context(), fx.broken.ID, []store.Episode{{GUID: "x", Title: "Lone", EnclosureURL: "https://broken.example.net/x.mp3"}})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", eps[0].ID))
		if got, want := links(find(doc, atom.P)[0], nil)["https://broken.example.net/feed.xml"], fmt.Sprintf("%s/feeds/%d", publicBase, fx.broken.ID); got != want {
			t.Errorf("feed link: got %q, want %q", got, want)
		}
	})
}

func TestEpisodePageWithoutSamples(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", fx.ep3.ID))
	swarm := byID(t, doc, "swarm")
	if n := len(find(swarm, atom.Svg)); n != 0 {
		t.Errorf("got %d charts, want none", n)
	}
	if !strings.Contains(text(swarm), "No swarm samples yet.") {
		t.Errorf("swarm section lacks %q: %q", "No swarm samples yet.", text(swarm))
	}
	checkDefs(t, "swarm", defs(swarm), map[string]string{
		"Seeders":             "17",
		"Uploaded by podseed": "0 B (no samples yet)",
		"Availability":        "no samples yet",
	})
}

// tableRows returns the text of each <td> of each <tr> under n that has
// any, row by row.
func tableRows(n *html.Node) [][]string {
	var rows [][]string
	for _, tr := range find(n, atom.Tr) {
		var cells []string
		for _, td := range find(tr, atom.Td) {
			cells = append(cells, text(td))
		}
		if cells != nil {
			rows = append(rows, cells)
		}
	}
	return rows
}

// episodePeers are the fake client's peers of a torrent: a Transmission
// leecher, a qBittorrent seeder on IPv6 and a nameless peer whose IPv4
// address came as IPv4-mapped IPv6.
var episodePeers = []web.Peer{
	{Addr: netip.MustParseAddrPort("203.0.113.77:51413"), ClientName: "Transmission 4.0.6", Progress: 0.25, UploadRate: 1.5 * (1 << 20)},
	{Addr: netip.MustParseAddrPort("[2001:db8:abcd:12::5]:6881"), ClientName: "qBittorrent/4.6.5", Progress: 1},
	{Addr: netip.MustParseAddrPort("[::ffff:198.51.100.9]:6881"), Progress: 0.5, DownloadRate: 10, UploadRate: 2048},
}

// mustAddWindowSamples records 35 days of ep3's swarm history with two
// restarts of podseed (the tracker's Completed count back to 0), and
// downsamples it as the hourly job would.
func mustAddWindowSamples(t *testing.T, fx fixture) {
	t.Helper()
	const day = 24 * time.Hour
	var samples []store.SwarmSample
	for _, s := range []struct {
		ago       time.Duration
		completed int
	}{
		{35 * day, 100},
		{29 * day, 110},       // +10 straddles the 30-day window's start
		{20 * day, 130},       // +20
		{10 * day, 135},       // +5
		{6 * day, 3},          // restarted, 3 since: +3
		{5 * day, 10},         // +7
		{2 * day, 12},         // +2
		{20 * time.Hour, 15},  // +3
		{10 * time.Hour, 0},   // restarted: +0
		{9 * time.Hour, 4},    // +4
		{time.Hour, 9},        // +5
		{10 * time.Minute, 9}, // +0
	} {
		samples = append(samples, store.SwarmSample{
			InfoHash: fx.ready, At: sampleNow.Add(-s.ago), Seeders: 2, Leechers: 1, Completed: s.completed,
		})
	}
	if err := fx.store.CreateSwarmSamples(t.Context(), samples); err != nil {
		t.Fatal(err)
	}
	if err := fx.store.DownsampleSwarmSamples(t.Context(), sampleNow); err != nil {
		t.Fatal(err)
	}
}

func TestEpisodePagePeersAndCompleted(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	mustAddWindowSamples(t, fx)
	cat := newTestCatalog(fx)
	cat.peers = map[string][]web.Peer{fx.ready: episodePeers}
	// The tracker's live counter is 2 ahead of the latest sample (9): two
	// downloads completed since the sampler last ran.
	swarm := swarmCounts(fx)
	live := swarm[fx.ready]
	live.Completed = 11
	swarm[fx.ready] = live
	masked := mustServe(t, cat, swarm, &lockedBuffer{}, atSampleNow())
	full := mustServe(t, cat, swarm, &lockedBuffer{}, atSampleNow(), web.WithFullPeerAddresses())

	t.Run("completed windows", func(t *testing.T) {
		doc, _ := mustGetPage(t, masked, fmt.Sprintf("/episodes/%d", fx.ep3.ID))
		checkDefs(t, "completed", defs(byID(t, doc, "completed-windows")), map[string]string{
			"Last 1 day":   "11", // 0 + 4 + 5 + 0, + 2 live
			"Last 7 days":  "23", // 7 + 2 + 3 + 0 + 4 + 5 + 0, + 2 live
			"Last 30 days": "51", // 20 + 5 + 3 + 21, + 2 live
		})
	})

	for _, tt := range []struct {
		name string
		srv  *httptest.Server
		want [][]string
		hide []string // addresses the page must not contain
	}{
		{
			name: "masked", srv: masked,
			want: [][]string{
				{"unknown", "198.51.100.0/24", "50.0%", "10 B/s", "2.0 KiB/s"},
				{"Transmission 4.0.6", "203.0.113.0/24", "25.0%", "0 B/s", "1.5 MiB/s"},
				{"qBittorrent/4.6.5", "2001:db8:abcd::/48", "100.0%", "0 B/s", "0 B/s"},
			},
			hide: []string{"203.0.113.77", "198.51.100.9", "2001:db8:abcd:12::5", "51413"},
		},
		{
			name: "full addresses", srv: full,
			want: [][]string{
				{"unknown", "198.51.100.9:6881", "50.0%", "10 B/s", "2.0 KiB/s"},
				{"Transmission 4.0.6", "203.0.113.77:51413", "25.0%", "0 B/s", "1.5 MiB/s"},
				{"qBittorrent/4.6.5", "[2001:db8:abcd:12::5]:6881", "100.0%", "0 B/s", "0 B/s"},
			},
		},
	} {
		t.Run("peers, "+tt.name, func(t *testing.T) {
			doc, page := mustGetPage(t, tt.srv, fmt.Sprintf("/episodes/%d", fx.ep3.ID))
			peers := byID(t, doc, "peers")
			var heads []string
			for _, th := range find(peers, atom.Th) {
				heads = append(heads, text(th))
			}
			if want := []string{"Client", "Address", "Progress", "Down", "Up"}; !slices.Equal(heads, want) {
				t.Errorf("peer table head: got %q, want %q", heads, want)
			}
			if got := tableRows(peers); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("peer rows: got %q, want %q", got, tt.want)
			}
			for _, h := range tt.hide {
				if bytes.Contains(page, []byte(h)) {
					t.Errorf("page contains the full address part %q", h)
				}
			}
		})
	}

	t.Run("no peers", func(t *testing.T) {
		doc, _ := mustGetPage(t, masked, fmt.Sprintf("/episodes/%d", fx.ep4.ID))
		peers := byID(t, doc, "peers")
		if n := len(find(peers, atom.Table)); n != 0 {
			t.Errorf("got %d peer tables, want none", n)
		}
		if got, want := text(peers), "Peers No peers connected."; got != want {
			t.Errorf("peers section: got %q, want %q", got, want)
		}
		// Ep. 4 has no samples: no windows either.
		for d := range doc.Descendants() {
			if attr(d, "id") == "completed-windows" {
				t.Error("a torrent without samples has completed windows")
			}
		}
	})
}

// TestEpisodePagePlayer: the page of an episode with a torrent embeds the
// in-page player (templates/player.html) in an iframe whose src, resolved
// against the page's URL, is podseed's /static/player.html (an asset of
// web/static) with the episode's infohash, and the page itself carries no
// script; an episode without a torrent has no player.
func TestEpisodePagePlayer(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{}, atSampleNow())
	for _, tt := range []struct {
		ep       store.Episode
		infoHash string
	}{{fx.ep3, fx.ready}, {fx.ep4, fx.readyNewer}} {
		page := fmt.Sprintf("/episodes/%d", tt.ep.ID)
		doc, body := mustGetPage(t, srv, page)
		if bytes.Contains(body, []byte("<script")) {
			t.Errorf("%s: the page carries a script; the player belongs in its iframe", page)
		}
		frames := find(byID(t, doc, "player"), atom.Iframe)
		if len(frames) != 1 {
			t.Fatalf("%s: #player has %d iframes, want 1", page, len(frames))
		}
		src, err := url.Parse(attr(frames[0], "src"))
		if err != nil {
			t.Fatalf("%s: player src: %v", page, err)
		}
		base, err := url.Parse(srv.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		u := base.ResolveReference(src)
		if u.Host != base.Host || u.Path != "/static/player.html" || u.Query().Get("infohash") != tt.infoHash {
			t.Errorf("%s: player src %q resolves to %s, want same-origin /static/player.html?infohash=%s", page, src, u, tt.infoHash)
		}
		if _, err := fs.Stat(static.FS, strings.TrimPrefix(u.Path, "/static/")); err != nil {
			t.Errorf("%s: the player page is not an embedded asset: %v", page, err)
		}
		if attr(frames[0], "title") == "" {
			t.Errorf("%s: the player iframe has no title (accessible name)", page)
		}
	}
	for _, e := range []store.Episode{fx.ep2, fx.ep1} { // failed, pending
		doc, _ := mustGetPage(t, srv, fmt.Sprintf("/episodes/%d", e.ID))
		if n := len(find(doc, atom.Iframe)); n != 0 {
			t.Errorf("episode %d (%s) without a torrent has %d iframes, want no player", e.ID, e.State, n)
		}
	}
}
