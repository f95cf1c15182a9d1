package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/podseed/podseed/store"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// apiLookup mirrors the lookup answer (docs/api.md), decoded strictly.
type (
	apiLookup struct {
		Results []apiLookupTorrent `json:"results"`
	}
	apiLookupTorrent struct {
		InfoHash   string             `json:"infohash"`
		Name       string             `json:"name"`
		Size       int64              `json:"size"`
		SRI        string             `json:"sri"`
		TorrentURL string             `json:"torrent_url"`
		Magnet     string             `json:"magnet"`
		WebSeedURL string             `json:"web_seed_url"`
		Seeders    int                `json:"seeders"`
		Leechers   int                `json:"leechers"`
		Completed  int                `json:"completed"`
		Episodes   []apiLookupEpisode `json:"episodes"`
	}
	apiLookupEpisode struct {
		ID           int64      `json:"id"`
		FeedID       int64      `json:"feed_id"`
		GUID         string     `json:"guid"`
		Title        string     `json:"title"`
		PublishedAt  *time.Time `json:"published_at"`
		EnclosureURL string     `json:"enclosure_url"`
		PageURL      string     `json:"page_url"`
	}
)

// TestAPILookup finds torrents by enclosure URL, GUID and infohash, and
// answers bad and unmatched queries with the API's errors, all with CORS.
func TestAPILookup(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	logs := &lockedBuffer{}
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), logs)
	q := func(k, v string) string { return "/api/v1/lookup?" + url.Values{k: {v}}.Encode() }

	tor, err := fx.store.FindTorrentByInfoHash(t.Context(), fx.ready)
	if err != nil {
		t.Fatal(err)
	}
	want := apiLookup{Results: []apiLookupTorrent{{
		InfoHash: fx.ready, Name: "ep3.mp3", Size: 40_000, SRI: tor.SRI,
		TorrentURL: publicBase + "/torrents/" + fx.ready + ".torrent",
		Magnet:     newTestCatalog(fx).Magnet(t.Context(), fx.ready),
		WebSeedURL: publicBase + "/webseed/" + fx.ready + "/ep3.mp3",
		Seeders:    17, Leechers: 4, Completed: 233,
		Episodes: []apiLookupEpisode{{
			ID: fx.ep3.ID, FeedID: fx.nightShift.ID, GUID: "night-shift-ep3", Title: "Ep. 3: Seeding the Swarm",
			PublishedAt: ptr(fx.ep3.PublishedAt), EnclosureURL: fx.ep3.EnclosureURL,
			PageURL: publicBase + "/episodes/" + itoa(fx.ep3.ID),
		}},
	}}}
	for _, path := range []string{
		q("enclosure", fx.ep3.EnclosureURL),
		q("guid", "night-shift-ep3"),
		q("infohash", fx.ready),
		q("infohash", strings.ToUpper(fx.ready)),
	} {
		t.Run(path, func(t *testing.T) {
			var got apiLookup
			mustGetJSON(t, srv, path, 200, &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}

	// One torrent shared by two feeds' episodes is one result listing both.
	other, _, err := fx.store.CreateFeed(t.Context(), "https://mirror.example/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	eps, err := fx.store.UpsertEpisodes(t.Context(), other.ID, []store.Episode{{GUID: "night-shift-ep3", EnclosureURL: fx.ep3.EnclosureURL}})
	if err != nil {
		t.Fatal(err)
	}
	tor.EpisodeID = eps[0].ID
	if err := fx.store.CreateTorrent(t.Context(), tor); err != nil {
		t.Fatal(err)
	}
	var shared apiLookup
	mustGetJSON(t, srv, q("guid", "night-shift-ep3"), 200, &shared)
	if len(shared.Results) != 1 || len(shared.Results[0].Episodes) != 2 {
		t.Errorf("shared torrent: got %+v, want one result with two episodes", shared)
	}

	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{q("enclosure", fx.ep1.EnclosureURL), 404, "not found"}, // pending: no torrent
		{q("enclosure", "https://cdn.example.org/nope.mp3"), 404, "not found"},
		{q("guid", "nope"), 404, "not found"},
		{q("infohash", "0123456789abcdef0123456789abcdef01234567"), 404, "not found"},
		{q("infohash", fx.ready[:39]), 400, "bad request"},
		{q("enclosure", ""), 400, "bad request"},
		{"/api/v1/lookup", 400, "bad request"},
		{"/api/v1/lookup?guid=a&guid=b", 400, "bad request"},
		{"/api/v1/lookup?guid=a&infohash=" + fx.ready, 400, "bad request"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			var got apiError
			mustGetJSON(t, srv, tt.path, tt.status, &got)
			if got.Error != tt.want {
				t.Errorf("error: got %q, want %q", got.Error, tt.want)
			}
		})
	}
	if s := logs.String(); s != "" {
		t.Errorf("client errors were logged:\n%s", s)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestNewEndpointsFailures: a failing catalog is a logged 500 with a
// generic body on every endpoint of negotiate.go, webseed.go, lookup.go,
// aggregate.go and directory.go; a client that went away gets no answer
// and nothing is logged.
func TestNewEndpointsFailures(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	mustWriteCopies(t, fx)
	secret := errors.New("/var/lib/podseed/podseed.db: database disk image is malformed")
	ep3 := fmt.Sprintf("/episodes/%d", fx.ep3.ID)
	seed := "/webseed/" + fx.ready + "/ep3.mp3"
	for _, tt := range []struct {
		method, path string
		header       http.Header
	}{
		{"FindEpisodeByID", ep3, http.Header{"Accept": {"*/*"}}},
		{"FindEpisodeByID", ep3 + "?torrent", nil},
		{"FindTorrentByInfoHash", ep3, http.Header{"Accept": {"*/*"}}},
		{"TorrentFile", ep3 + "?torrent", nil},
		{"FindTorrentByInfoHash", seed, nil},
		{"LookupEpisodeTorrents", seed, nil},
		{"TorrentFile", seed + "?torrent", nil},
		{"LookupEpisodeTorrents", "/api/v1/lookup?guid=night-shift-ep3", nil},
		{"ListRecentEpisodeTorrents", "/torrents.rss", nil},
		{"ListFeeds", "/torrents.json", nil},
		{"TorrentFile", "/torrents.atom", nil},
		{"ListFeeds", "/feeds.opml", nil},
		{"ListFeeds", "/directory", nil},
		{"ListEpisodesByFeed", "/directory", nil},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			cat := newTestCatalog(fx)
			cat.fail = map[string]error{tt.method: secret}
			logs := &lockedBuffer{}
			srv := mustServe(t, cat, swarmCounts(fx), logs)
			resp, body := doNoRedirect(t, noRedirects(srv), http.MethodGet, srv.URL+tt.path, tt.header)
			want := "internal server error\n"
			if strings.HasPrefix(tt.path, "/api/") {
				want = `{"error":"internal server error"}` + "\n"
			}
			if resp.StatusCode != 500 || string(body) != want {
				t.Errorf("got %d %q, want 500 %q", resp.StatusCode, body, want)
			}
			if !strings.Contains(logs.String(), "malformed") {
				t.Errorf("log lacks the cause:\n%s", logs.String())
			}
		})
	}

	for _, path := range []string{ep3, ep3 + "?torrent", seed, "/api/v1/lookup?guid=night-shift-ep3",
		"/torrents.rss", "/feeds.opml", "/directory"} {
		t.Run("client gone "+path, func(t *testing.T) {
			logs := &lockedBuffer{}
			h := mustNewHandler(t, newTestCatalog(fx), swarmCounts(fx), logs)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://podseed.test"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := &recordingWriter{header: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != 0 || w.written != 0 {
				t.Errorf("got status %d and %d bytes, want no answer", w.status, w.written)
			}
			if s := logs.String(); s != "" {
				t.Errorf("got log %q, want none", s)
			}
		})
	}
}
