package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

// The JSON API as a client sees it, per docs/api.md; decoding is strict,
// so a field the server adds or renames without these types fails.
type (
	apiFeed struct {
		ID                  int64      `json:"id"`
		URL                 string     `json:"url"`
		Title               string     `json:"title"`
		FeedURL             string     `json:"feed_url"`
		TorrentFeedURL      string     `json:"torrent_feed_url"`
		PodcastURL          string     `json:"podcast_url"`
		PageURL             string     `json:"page_url"`
		LastFetchedAt       *time.Time `json:"last_fetched_at"`
		NextPollAt          *time.Time `json:"next_poll_at"`
		LastError           string     `json:"last_error"`
		ConsecutiveFailures int        `json:"consecutive_failures"`
		Unhealthy           bool       `json:"unhealthy"`
		CreatedAt           *time.Time `json:"created_at"`
		EpisodeCount        int        `json:"episode_count"`
	}
	apiFeedList struct {
		Feeds []apiFeed `json:"feeds"`
	}
	apiFeedDetail struct {
		apiFeed
		Locked      bool         `json:"locked"`
		LockedOwner string       `json:"locked_owner"`
		Episodes    []apiEpisode `json:"episodes"`
	}
	apiEpisode struct {
		ID              int64      `json:"id"`
		FeedID          int64      `json:"feed_id"`
		GUID            string     `json:"guid"`
		Title           string     `json:"title"`
		PublishedAt     *time.Time `json:"published_at"`
		EnclosureURL    string     `json:"enclosure_url"`
		EnclosureLength int64      `json:"enclosure_length"`
		EnclosureType   string     `json:"enclosure_type"`
		State           string     `json:"state"`
		LastError       string     `json:"last_error"`
		NextAttemptAt   *time.Time `json:"next_attempt_at"`
		PageURL         string     `json:"page_url"`
		InfoHash        string     `json:"infohash"`
		TorrentURL      string     `json:"torrent_url"`
		Magnet          string     `json:"magnet"`
		Seeders         int        `json:"seeders"`
		Leechers        int        `json:"leechers"`
		Completed       int        `json:"completed"`
		ReplaceReason   string     `json:"replace_reason"`
	}
	apiEpisodeDetail struct {
		apiEpisode
		Torrent          *apiTorrent          `json:"torrent"`
		ReplacedTorrents []apiReplacedTorrent `json:"replaced_torrents"`
	}
	apiReplacedTorrent struct {
		InfoHash   string     `json:"infohash"`
		TorrentURL string     `json:"torrent_url"`
		Reason     string     `json:"reason"`
		ReplacedBy string     `json:"replaced_by"`
		ReplacedAt *time.Time `json:"replaced_at"`
		RetiredAt  *time.Time `json:"retired_at"`
	}
	// apiDelivery is apiTorrent.Delivery: the delivery split over the
	// last Days days.
	apiDelivery struct {
		Days      int   `json:"days"`
		Completed int   `json:"completed"`
		Delivered int64 `json:"delivered_bytes"`
		Uploaded  int64 `json:"podseed_uploaded_bytes"`
		WebSeeded int64 `json:"podseed_web_seeded_bytes"`
		Other     int64 `json:"other_bytes"`
	}
	apiTorrent struct {
		InfoHash          string      `json:"infohash"`
		Name              string      `json:"name"`
		PieceLength       int64       `json:"piece_length"`
		Size              int64       `json:"size"`
		SRI               string      `json:"sri"`
		WebSeed           string      `json:"web_seed"`
		WebSeedWithheld   string      `json:"web_seed_withheld"`
		CreatedAt         *time.Time  `json:"created_at"`
		SamplesURL        string      `json:"samples_url"`
		BytesUploaded     int64       `json:"bytes_uploaded"`
		BytesUploadedAt   *time.Time  `json:"bytes_uploaded_at"`
		BitTorrentBytes   int64       `json:"bittorrent_bytes_estimate"`
		BytesWebSeeded    int64       `json:"bytes_web_seeded"`
		Delivery          apiDelivery `json:"delivery"`
		SourceURL         string      `json:"source_url"`
		ResolvedURL       string      `json:"resolved_url"`
		WebSeedDeadAt     *time.Time  `json:"web_seed_dead_at"`
		WebSeedDeadReason string      `json:"web_seed_dead_reason"`
		ProbedAt          *time.Time  `json:"probed_at"`
		EvictedAt         *time.Time  `json:"evicted_at"`
		OnDemand          bool        `json:"on_demand"`
	}
	apiSampleList struct {
		InfoHash string      `json:"infohash"`
		Since    *time.Time  `json:"since"`
		Samples  []apiSample `json:"samples"`
	}
	apiSample struct {
		At             time.Time `json:"at"`
		Seeders        int       `json:"seeders"`
		Leechers       int       `json:"leechers"`
		Completed      int       `json:"completed"`
		Peers          int       `json:"peers"`
		BytesUploaded  int64     `json:"bytes_uploaded"`
		Availability   float64   `json:"availability"`
		BytesWebSeeded int64     `json:"bytes_web_seeded"`
	}
	apiError struct {
		Error string `json:"error"`
	}
)

// decodeStrict decodes exactly one JSON value of data into v, refusing
// unknown fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// mustGetJSON GETs path and decodes its answer, which must have status
// want, the JSON content type and the CORS header, into v.
func mustGetJSON(t *testing.T, srv *httptest.Server, path string, want int, v any) []byte {
	t.Helper()
	resp, body := mustDo(t, srv, http.MethodGet, path, http.Header{"Origin": {"https://app.example"}})
	if resp.StatusCode != want {
		t.Fatalf("GET %s: got status %d, want %d; body:\n%s", path, resp.StatusCode, want, body)
	}
	for k, want := range map[string]string{
		"Content-Type":                "application/json",
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if err := decodeStrict(body, v); err != nil {
		t.Fatalf("GET %s: decode %T: %v\n%s", path, v, err, body)
	}
	return body
}

func ptr[T any](v T) *T { return &v }

// timeEqual compares optional times.
func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b) && a.Location() == time.UTC && b.Location() == time.UTC
}

func TestAPIFeeds(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})

	var got apiFeedList
	body := mustGetJSON(t, srv, "/api/v1/feeds", http.StatusOK, &got)

	want := []apiFeed{
		{
			ID: fx.nightShift.ID, URL: "https://feeds.example.org/night-shift.xml", Title: nightShiftTitle,
			FeedURL:        fmt.Sprintf("%s/feeds/%d.rss", publicBase, fx.nightShift.ID),
			TorrentFeedURL: fmt.Sprintf("%s/feeds/%d/torrents.rss", publicBase, fx.nightShift.ID),
			PodcastURL:     fmt.Sprintf("podcast://podseed.example.net/feeds/%d.rss", fx.nightShift.ID),
			PageURL:        fmt.Sprintf("%s/feeds/%d", publicBase, fx.nightShift.ID),
			LastFetchedAt:  ptr(fetchedAt), NextPollAt: ptr(nextPoll), CreatedAt: ptr(fx.nightShift.CreatedAt),
			EpisodeCount: 5,
		},
		{
			ID: fx.broken.ID, URL: "https://broken.example.net/feed.xml",
			FeedURL:        fmt.Sprintf("%s/feeds/%d.rss", publicBase, fx.broken.ID),
			TorrentFeedURL: fmt.Sprintf("%s/feeds/%d/torrents.rss", publicBase, fx.broken.ID),
			PodcastURL:     fmt.Sprintf("podcast://podseed.example.net/feeds/%d.rss", fx.broken.ID),
			PageURL:        fmt.Sprintf("%s/feeds/%d", publicBase, fx.broken.ID),
			NextPollAt:     ptr(fetchedAt.Add(15 * time.Minute)), LastError: brokenFeedError,
			ConsecutiveFailures: 1, CreatedAt: ptr(fx.broken.CreatedAt), EpisodeCount: 0,
		},
	}
	if len(got.Feeds) != len(want) {
		t.Fatalf("got %d feeds, want %d", len(got.Feeds), len(want))
	}
	for i, g := range got.Feeds {
		if !feedEqual(g, want[i]) {
			t.Errorf("feed %d:\ngot  %+v\nwant %+v", i, g, want[i])
		}
	}
	// Times are RFC 3339 in UTC; never is null.
	for _, s := range []string{`"last_fetched_at":"2025-03-17T06:00:00Z"`, `"last_fetched_at":null`, `"next_poll_at":"2025-03-17T06:15:00Z"`} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("body lacks %s:\n%s", s, body)
		}
	}

	t.Run("unhealthy", func(t *testing.T) {
		for range 2 {
			if err := fx.store.UpdateFeedError(t.Context(), fx.broken.ID, "still down", fetchedAt, nextPoll); err != nil {
				t.Fatal(err)
			}
		}
		var got apiFeedList
		mustGetJSON(t, srv, "/api/v1/feeds", http.StatusOK, &got)
		b := got.Feeds[1]
		if b.ConsecutiveFailures != 3 || !b.Unhealthy || b.LastError != "still down" || !timeEqual(b.LastFetchedAt, ptr(fetchedAt)) {
			t.Errorf("got %+v, want 3 failures, unhealthy, the last error and poll", b)
		}
	})

	t.Run("empty store", func(t *testing.T) {
		st := mustOpenStore(t)
		srv := mustServe(t, &testCatalog{store: st, urls: newTestCatalog(fx).urls}, fakeSwarm{}, &lockedBuffer{})
		var got apiFeedList
		body := mustGetJSON(t, srv, "/api/v1/feeds", http.StatusOK, &got)
		if want := `{"feeds":[]}` + "\n"; string(body) != want {
			t.Errorf("got %q, want %q", body, want)
		}
	})
}

func feedEqual(a, b apiFeed) bool {
	return timeEqual(a.LastFetchedAt, b.LastFetchedAt) && timeEqual(a.NextPollAt, b.NextPollAt) && timeEqual(a.CreatedAt, b.CreatedAt) &&
		a.ID == b.ID && a.URL == b.URL && a.Title == b.Title && a.FeedURL == b.FeedURL && a.TorrentFeedURL == b.TorrentFeedURL &&
		a.PodcastURL == b.PodcastURL && a.PageURL == b.PageURL && a.LastError == b.LastError &&
		a.ConsecutiveFailures == b.ConsecutiveFailures && a.Unhealthy == b.Unhealthy && a.EpisodeCount == b.EpisodeCount
}

func episodeEqual(a, b apiEpisode) bool {
	ta, tb := a.PublishedAt, b.PublishedAt
	na, nb := a.NextAttemptAt, b.NextAttemptAt
	a.PublishedAt, b.PublishedAt, a.NextAttemptAt, b.NextAttemptAt = nil, nil, nil, nil
	return timeEqual(ta, tb) && timeEqual(na, nb) && a == b
}

// wantAPIEpisodes is nightShift's episodes as the API shows them, newest
// first.
func wantAPIEpisodes(t *testing.T, fx fixture, cat *testCatalog) []apiEpisode {
	ep := func(e store.Episode, title string, length int64, published *time.Time) apiEpisode {
		return apiEpisode{
			ID: e.ID, FeedID: fx.nightShift.ID, GUID: e.GUID, Title: title, PublishedAt: published,
			EnclosureURL: e.EnclosureURL, EnclosureLength: length, EnclosureType: "audio/mpeg", State: "pending",
			PageURL: fmt.Sprintf("%s/episodes/%d", publicBase, e.ID),
		}
	}
	ready := func(a apiEpisode, ih string, c [3]int) apiEpisode {
		a.State, a.InfoHash = "ready", ih
		a.TorrentURL = publicBase + "/torrents/" + ih + ".torrent"
		a.Magnet = cat.Magnet(t.Context(), ih)
		a.Seeders, a.Leechers, a.Completed = c[0], c[1], c[2]
		return a
	}
	day := func(d int) *time.Time { return ptr(time.Date(2025, 3, d, 5, 0, 0, 0, time.UTC)) }
	ep2 := ep(fx.ep2, scriptEpTitle, 50<<20, day(3))
	ep2.State, ep2.LastError, ep2.NextAttemptAt = "failed", failedEpError, ptr(fetchedAt.Add(30*time.Minute))
	return []apiEpisode{
		ready(ep(fx.ep4, "Ep. 4: Trackerless", 70_000, day(17)), fx.readyNewer, [3]int{1, 0, 1}),
		ready(ep(fx.ep3, "Ep. 3: Seeding the Swarm", 40_000, day(10)), fx.ready, [3]int{17, 4, 233}),
		ep2,
		ep(fx.ep1, "Ep. 1: Pilot", 0, ptr(time.Date(2025, 2, 24, 5, 0, 0, 0, time.UTC))),
		ep(fx.bonus, "", 1000, nil),
	}
}

func TestAPIFeed(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	cat := newTestCatalog(fx)
	srv := mustServe(t, cat, swarmCounts(fx), &lockedBuffer{})

	var got apiFeedDetail
	body := mustGetJSON(t, srv, fmt.Sprintf("/api/v1/feeds/%d", fx.nightShift.ID), http.StatusOK, &got)
	if got.ID != fx.nightShift.ID || got.Title != nightShiftTitle || !timeEqual(got.LastFetchedAt, ptr(fetchedAt)) || got.EpisodeCount != 5 {
		t.Errorf("feed: got %+v", got.apiFeed)
	}
	want := wantAPIEpisodes(t, fx, cat)
	if len(got.Episodes) != len(want) {
		t.Fatalf("got %d episodes, want %d", len(got.Episodes), len(want))
	}
	for i, g := range got.Episodes {
		if !episodeEqual(g, want[i]) {
			t.Errorf("episode %d:\ngot  %+v\nwant %+v", i, g, want[i])
		}
	}
	// Magnet URIs are not HTML-escaped: clients copy them as they are.
	if !bytes.Contains(body, []byte(`"magnet":"magnet:?xt=urn:btih:`+fx.ready+`&dn=ep3.mp3&`)) {
		t.Errorf("body lacks the plain magnet URI:\n%s", body)
	}

	t.Run("never fetched", func(t *testing.T) {
		var got apiFeedDetail
		body := mustGetJSON(t, srv, fmt.Sprintf("/api/v1/feeds/%d", fx.broken.ID), http.StatusOK, &got)
		if got.LastFetchedAt != nil || got.LastError != brokenFeedError || got.Episodes == nil || len(got.Episodes) != 0 || got.EpisodeCount != 0 {
			t.Errorf("got %+v", got)
		}
		if !bytes.Contains(body, []byte(`"episodes":[]`)) {
			t.Errorf("body lacks an empty episode list:\n%s", body)
		}
	})
}

func TestAPIEpisode(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	samples := mustAddSamples(t, fx)
	cat := newTestCatalog(fx)
	srv := mustServe(t, cat, swarmCounts(fx), &lockedBuffer{}, atSampleNow())
	eps := wantAPIEpisodes(t, fx, cat)
	torrent := func(ih string, d apiDelivery) apiTorrent {
		tr, err := fx.store.FindTorrentByInfoHash(t.Context(), ih)
		if err != nil {
			t.Fatal(err)
		}
		ss := samples[ih]
		latest := ss[len(ss)-1]
		c := swarmCounts(fx)[ih]
		return apiTorrent{
			InfoHash: ih, Name: tr.Name, PieceLength: 16 << 10, Size: tr.Size, SRI: tr.SRI,
			WebSeed: "https://cdn.example.org/night-shift/" + tr.Name, CreatedAt: ptr(tr.CreatedAt),
			SamplesURL:    publicBase + "/api/v1/torrents/" + ih + "/samples",
			BytesUploaded: latest.BytesUploaded, BytesUploadedAt: ptr(latest.At),
			BitTorrentBytes: int64(c.Completed) * tr.Size,
			BytesWebSeeded:  latest.BytesWebSeeded, Delivery: d,
		}
	}

	for _, tt := range []struct {
		name        string
		ep          store.Episode
		want        apiEpisode
		wantTorrent *apiTorrent
	}{
		// 52 downloads in 30 days × 40000 bytes; podseed's counters grew
		// by 13 × 1000003 and 13 × 2000 bytes (see mustAddSamples).
		{"ready", fx.ep3, eps[1], ptr(torrent(fx.ready, apiDelivery{30, 52, 2_080_000, 13_000_039, 26_000, 0}))},
		// 2 × 70000; 140000 and 1000.
		{"ready newer", fx.ep4, eps[0], ptr(torrent(fx.readyNewer, apiDelivery{30, 2, 140_000, 140_000, 1000, 0}))},
		{"failed", fx.ep2, eps[2], nil},
		{"no guid, title or date", fx.bonus, eps[4], nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got apiEpisodeDetail
			body := mustGetJSON(t, srv, fmt.Sprintf("/api/v1/episodes/%d", tt.ep.ID), http.StatusOK, &got)
			if !episodeEqual(got.apiEpisode, tt.want) {
				t.Errorf("episode:\ngot  %+v\nwant %+v", got.apiEpisode, tt.want)
			}
			if tt.wantTorrent == nil {
				if got.Torrent != nil || !bytes.Contains(body, []byte(`"torrent":null`)) {
					t.Errorf("torrent: got %s, want null", body)
				}
				return
			}
			if got.Torrent == nil {
				t.Fatalf("torrent: got null, want %+v", *tt.wantTorrent)
			}
			g, w := *got.Torrent, *tt.wantTorrent
			if !timeEqual(g.CreatedAt, w.CreatedAt) || !timeEqual(g.BytesUploadedAt, w.BytesUploadedAt) {
				t.Errorf("torrent times: got %v, %v, want %v, %v", g.CreatedAt, g.BytesUploadedAt, w.CreatedAt, w.BytesUploadedAt)
			}
			g.CreatedAt, g.BytesUploadedAt, w.CreatedAt, w.BytesUploadedAt = nil, nil, nil, nil
			if g != w {
				t.Errorf("torrent:\ngot  %+v\nwant %+v", g, w)
			}
		})
	}

	t.Run("web seed withheld", func(t *testing.T) {
		data := enclosureData(1, 5000)
		mi, ih := mustMetainfo(t, "ep1.mp3", data, 16<<10, publicBase+"/announce", fx.ep1.EnclosureURL)
		const why = "origin served different bytes on a second request"
		if err := fx.store.CreateTorrent(t.Context(), store.Torrent{
			InfoHash: ih, EpisodeID: fx.ep1.ID, Name: "ep1.mp3", Metainfo: mi, PieceLength: 16 << 10,
			Size: int64(len(data)), DataPath: "/var/lib/podseed/files/ep1.mp3", SRI: "sha256-x", WebSeedWithheld: why,
		}); err != nil {
			t.Fatal(err)
		}
		var got apiEpisodeDetail
		mustGetJSON(t, srv, fmt.Sprintf("/api/v1/episodes/%d", fx.ep1.ID), http.StatusOK, &got)
		if got.Torrent == nil || got.Torrent.WebSeed != "" || got.Torrent.WebSeedWithheld != why {
			t.Errorf("torrent: got %+v, want no web seed, withheld because %q", got.Torrent, why)
		}
		if got.Torrent != nil && (got.Torrent.BytesUploadedAt != nil || got.Torrent.BytesUploaded != 0) {
			t.Errorf("torrent without samples: got bytes_uploaded %d at %v, want 0 at null", got.Torrent.BytesUploaded, got.Torrent.BytesUploadedAt)
		}
	})

	t.Run("estimate", func(t *testing.T) {
		var got apiEpisodeDetail
		mustGetJSON(t, srv, fmt.Sprintf("/api/v1/episodes/%d", fx.ep3.ID), http.StatusOK, &got)
		if got, want := got.Torrent.BitTorrentBytes, int64(233*40_000); got != want {
			t.Errorf("bittorrent_bytes_estimate: got %d, want completed × size = %d", got, want)
		}
		if got, want := got.Torrent.BytesUploaded, int64(14*1_000_003); got != want {
			t.Errorf("bytes_uploaded: got %d, want the latest sample's %d", got, want)
		}
	})
}

func TestAPISamples(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	samples := mustAddSamples(t, fx)
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	all := samples[fx.ready]

	for _, tt := range []struct {
		name      string
		query     string
		ih        string
		wantSince *time.Time
		want      []store.SwarmSample
	}{
		{"all", "", fx.ready, nil, all},
		{"last 24 hours", "?since=2025-03-16T07:00:00Z", fx.ready, ptr(sampleNow.Add(-24 * time.Hour)), all[2:]},
		{"since is inclusive", "?since=2025-03-17T06:00:00Z", fx.ready, ptr(sampleNow.Add(-time.Hour)), all[13:]},
		{"since with an offset", "?since=2025-03-17T08:00:00%2B02:00", fx.ready, ptr(sampleNow.Add(-time.Hour)), all[13:]},
		{"since with fractions", "?since=2025-03-17T05:59:59.5Z", fx.ready, ptr(sampleNow.Add(-time.Hour - time.Second/2)), all[13:]},
		{"since in the future", "?since=2030-01-01T00:00:00Z", fx.ready, ptr(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), nil},
		{"upper-case infohash", "", strings.ToUpper(fx.readyNewer), nil, samples[fx.readyNewer]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got apiSampleList
			body := mustGetJSON(t, srv, "/api/v1/torrents/"+tt.ih+"/samples"+tt.query, http.StatusOK, &got)
			if got.InfoHash != strings.ToLower(tt.ih) {
				t.Errorf("infohash: got %q, want %q", got.InfoHash, strings.ToLower(tt.ih))
			}
			if !timeEqual(got.Since, tt.wantSince) {
				t.Errorf("since: got %v, want %v", got.Since, tt.wantSince)
			}
			if got.Samples == nil {
				t.Errorf("samples: got null, want a list:\n%s", body)
			}
			if len(got.Samples) != len(tt.want) {
				t.Fatalf("got %d samples, want %d", len(got.Samples), len(tt.want))
			}
			for i, g := range got.Samples {
				w := tt.want[i]
				if !g.At.Equal(w.At) || g.At.Location() != time.UTC || g.Seeders != w.Seeders || g.Leechers != w.Leechers ||
					g.Completed != w.Completed || g.Peers != w.Peers || g.BytesUploaded != w.BytesUploaded ||
					g.Availability != w.Availability || g.BytesWebSeeded != w.BytesWebSeeded {
					t.Errorf("sample %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestAPIErrors: errors are JSON with the CORS header too, so a browser
// client can read why.
func TestAPIErrors(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/feeds/99", 404, "not found"},
		{"/api/v1/feeds/abc", 400, "bad request"},
		{"/api/v1/episodes/99", 404, "not found"},
		{"/api/v1/episodes/-1", 400, "bad request"},
		{"/api/v1/torrents/0123456789abcdef0123456789abcdef01234567/samples", 404, "not found"},
		{"/api/v1/torrents/" + fx.ready[:39] + "/samples", 404, "not found"},
		{"/api/v1/torrents/" + fx.ready + "/samples?since=2025-03-17", 400, "bad request"},
		{"/api/v1/torrents/" + fx.ready, 404, "not found"},
		{"/api/v1/", 404, "not found"},
		{"/api/", 404, "not found"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			var got apiError
			mustGetJSON(t, srv, tt.path, tt.status, &got)
			if got.Error != tt.want {
				t.Errorf("error: got %q, want %q", got.Error, tt.want)
			}
		})
	}
}

// TestAPIDocExamples checks docs/api.md: every endpoint has an example
// response, and each example decodes strictly into the API's types, so the
// documentation cannot drift from the code unnoticed.
func TestAPIDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]func() any{
		"GET /api/v1/feeds":                             func() any { return new(apiFeedList) },
		"GET /api/v1/feeds/{id}":                        func() any { return new(apiFeedDetail) },
		"GET /api/v1/episodes/{id}":                     func() any { return new(apiEpisodeDetail) },
		"GET /api/v1/torrents/{infohash}/samples":       func() any { return new(apiSampleList) },
		"GET /api/v1/feeds/{id} (not found)":            func() any { return new(apiError) },
		"GET /api/v1/torrents/{infohash}/samples (bad)": func() any { return new(apiError) },
		"GET /api/v1/lookup":                            func() any { return new(apiLookup) },
	}
	// "### `GET …`" headings, each followed by its example's ```json block;
	// an example whose heading has a parenthesised note is an error case.
	heading := regexp.MustCompile("(?m)^### `(GET [^`]+)`(?: \\((not found|bad)[^)]*\\))?$")
	block := regexp.MustCompile("(?s)```json\n(.*?)```")
	seen := map[string]bool{}
	locs := heading.FindAllSubmatchIndex(doc, -1)
	for i, loc := range locs {
		name := string(doc[loc[2]:loc[3]])
		if loc[4] >= 0 {
			name += " (" + string(doc[loc[4]:loc[5]]) + ")"
		}
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		newTarget, ok := targets[name]
		if !ok {
			t.Errorf("docs/api.md documents %q, which the test does not know", name)
			continue
		}
		seen[name] = true
		blocks := block.FindAllSubmatch(doc[loc[1]:end], -1)
		if len(blocks) == 0 {
			t.Errorf("%s: no ```json example", name)
			continue
		}
		v := newTarget()
		if err := decodeStrict(blocks[0][1], v); err != nil {
			t.Errorf("%s: example does not decode into %T: %v", name, v, err)
		}
	}
	for name := range targets {
		if !seen[name] {
			t.Errorf("docs/api.md lacks %q", name)
		}
	}

	// Every route under /api/v1/ in the code is documented.
	src, err := os.ReadFile("web.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`HandleFunc\("(GET /api/v1/[^"]+)"`).FindAllSubmatch(src, -1) {
		if route := string(m[1]); !seen[route] {
			t.Errorf("route %q is not documented in docs/api.md", route)
		}
	}
}
