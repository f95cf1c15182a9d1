package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// Accept headers as real clients send them.
const (
	chromeAccept       = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	firefoxAccept      = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	firefoxAudioAccept = "audio/webm,audio/ogg,audio/wav,audio/*;q=0.9,application/ogg;q=0.7,video/*;q=0.6,*/*;q=0.5"
	javaAccept         = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2" // java.net.HttpURLConnection's default
)

// browserAccept is a browser navigation's Accept header: /episodes/{id}
// answers it with the page.
var browserAccept = http.Header{"Accept": {chromeAccept}}

// OriginUnusable reports the torrent's withheld web seed, or, standing in
// for an origin flagged down, the message of c.fail["OriginUnusable"].
func (c *testCatalog) OriginUnusable(_ context.Context, _ store.Episode, t store.Torrent) string {
	if t.WebSeedWithheld != "" {
		return "web seed withheld: " + t.WebSeedWithheld
	}
	if err := c.fail["OriginUnusable"]; err != nil {
		return err.Error()
	}
	return ""
}

func (c *testCatalog) LookupEpisodeTorrents(ctx context.Context, l web.Lookup) ([]store.EpisodeTorrent, error) {
	if err := c.fail["LookupEpisodeTorrents"]; err != nil {
		return nil, err
	}
	switch {
	case l.EnclosureURL != "":
		return c.store.ListEpisodeTorrentsByEnclosureURL(ctx, l.EnclosureURL)
	case l.GUID != "":
		return c.store.ListEpisodeTorrentsByGUID(ctx, l.GUID)
	case l.InfoHash != "":
		return c.store.ListEpisodeTorrentsByInfoHash(ctx, l.InfoHash)
	}
	return nil, errors.New("lookup without a key")
}

func (c *testCatalog) ListRecentEpisodeTorrents(ctx context.Context, limit int) ([]store.EpisodeTorrent, error) {
	if err := c.fail["ListRecentEpisodeTorrents"]; err != nil {
		return nil, err
	}
	return c.store.ListRecentEpisodeTorrents(ctx, limit)
}

// mustWriteCopies writes podseed's copies of fx's ready torrents to their
// data paths, as ingest would have, and returns their bytes by infohash.
func mustWriteCopies(tb testing.TB, fx fixture) map[string][]byte {
	tb.Helper()
	copies := map[string][]byte{}
	for _, r := range []struct {
		ih   string
		ep   store.Episode
		seed uint64
	}{{fx.ready, fx.ep3, 3}, {fx.readyNewer, fx.ep4, 4}} {
		t, err := fx.store.FindTorrentByInfoHash(context.Background(), r.ih)
		if err != nil {
			tb.Fatal(err)
		}
		data := enclosureData(r.seed, int(r.ep.EnclosureLength))
		if err := os.MkdirAll(filepath.Dir(t.DataPath), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(t.DataPath, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		copies[r.ih] = data
	}
	return copies
}

// noRedirects returns a client of srv that reports redirects instead of
// following them (the fixture's origins are not reachable).
func noRedirects(srv interface{ Client() *http.Client }) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// doNoRedirect sends a request with header without following redirects and
// returns the response and its whole body.
func doNoRedirect(t *testing.T, c *http.Client, method, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, buf.Bytes()
}

// TestEpisodeNegotiation is the negotiation matrix of /episodes/{id}:
// browsers get the page, ?torrent and Accept: application/x-bittorrent the
// .torrent, everything else a redirect to the origin, or podseed's copy
// when the origin is unusable.
func TestEpisodeNegotiation(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	copies := mustWriteCopies(t, fx)
	mi := fx.metainfo[fx.ready]
	data := copies[fx.ready]

	type want struct {
		status   int
		ctype    string // Content-Type
		body     []byte // exact, if not nil
		sub      string // substring of the body, if not ""
		location string // Location, if not ""
		header   map[string]string
	}
	page := want{status: 200, ctype: "text/html; charset=utf-8", sub: "<h1>Ep. 3: Seeding the Swarm</h1>"}
	torrent := want{status: 200, ctype: "application/x-bittorrent", body: mi, header: map[string]string{
		"Content-Disposition":         `attachment; filename=ep3.mp3.torrent`,
		"Content-Length":              strconv.Itoa(len(mi)),
		"Access-Control-Allow-Origin": "*",
	}}
	redirect := want{status: 302, location: fx.ep3.EnclosureURL, header: map[string]string{"Access-Control-Allow-Origin": "*"}}
	ep3 := fmt.Sprintf("/episodes/%d", fx.ep3.ID)
	ep1 := fmt.Sprintf("/episodes/%d", fx.ep1.ID)
	accept := func(v string) http.Header { return http.Header{"Accept": {v}} }

	tests := []struct {
		name         string
		method       string
		path         string
		header       http.Header
		originDown   bool
		removeCopies bool
		want         want
	}{
		{name: "chrome", path: ep3, header: accept(chromeAccept), want: page},
		{name: "firefox", path: ep3, header: accept(firefoxAccept), want: page},
		{name: "xhtml only", path: ep3, header: accept("application/xhtml+xml"), want: page},
		{name: "html over torrent", path: ep3, header: accept("application/x-bittorrent;q=0.5, text/html"), want: page},
		{name: "java default", path: ep3, header: accept(javaAccept), want: page},
		{name: "query torrent", path: ep3 + "?torrent", want: torrent},
		{name: "query torrent beats browser accept", path: ep3 + "?torrent", header: accept(chromeAccept), want: torrent},
		{name: "accept torrent", path: ep3, header: accept("application/x-bittorrent"), want: torrent},
		{name: "accept torrent over anything", path: ep3, header: accept("application/x-bittorrent, */*;q=0.1"), want: torrent},
		{name: "accept torrent in two headers", path: ep3, header: http.Header{"Accept": {"text/html;q=0.4", "application/x-bittorrent;q=0.9"}}, want: torrent},
		{name: "torrent HEAD", method: http.MethodHead, path: ep3 + "?torrent", want: want{status: 200, ctype: "application/x-bittorrent", body: []byte{},
			header: map[string]string{"Content-Length": strconv.Itoa(len(mi))}}},
		{name: "no accept", path: ep3, want: redirect},
		{name: "any", path: ep3, header: accept("*/*"), want: redirect},
		{name: "audio", path: ep3, header: accept("audio/*"), want: redirect},
		{name: "firefox audio element", path: ep3, header: accept(firefoxAudioAccept), want: redirect},
		{name: "audio over html", path: ep3, header: accept("text/html;q=0.5, audio/mpeg"), want: redirect},
		{name: "torrent refused", path: ep3, header: accept("application/x-bittorrent;q=0, */*"), want: redirect},
		{name: "malformed accept", path: ep3, header: accept("text/html;q=abc, ;;, audio/*"), want: redirect},
		{name: "redirect HEAD", method: http.MethodHead, path: ep3, want: redirect},
		{name: "pending redirects", path: ep1, header: accept("*/*"), want: want{status: 302, location: fx.ep1.EnclosureURL}},
		{name: "pending redirects though origin down", path: ep1, originDown: true, want: want{status: 302, location: fx.ep1.EnclosureURL}},
		{name: "pending has no torrent", path: ep1 + "?torrent", want: want{status: 404, body: []byte("not found\n")}},
		{name: "unknown", path: "/episodes/99", want: want{status: 404}},
		{name: "unknown torrent", path: "/episodes/99?torrent", want: want{status: 404}},
		{name: "bad id", path: "/episodes/x", header: accept("*/*"), want: want{status: 400}},

		{name: "origin down: copy", path: ep3, originDown: true, want: want{status: 200, ctype: "audio/mpeg", body: data, header: map[string]string{
			"Access-Control-Allow-Origin": "*", "ETag": `"` + fx.ready + `"`, "Accept-Ranges": "bytes",
			"Content-Length": strconv.Itoa(len(data)),
		}}},
		{name: "origin down: range", path: ep3, originDown: true, header: http.Header{"Accept": {"audio/*"}, "Range": {"bytes=1000-1999"}},
			want: want{status: 206, ctype: "audio/mpeg", body: data[1000:2000], header: map[string]string{
				"Content-Range": fmt.Sprintf("bytes 1000-1999/%d", len(data)),
			}}},
		{name: "origin down: HEAD", method: http.MethodHead, path: ep3, originDown: true, want: want{status: 200, body: []byte{},
			header: map[string]string{"Content-Length": strconv.Itoa(len(data))}}},
		{name: "origin down: page still", path: ep3, originDown: true, header: browserAccept, want: page},
		{name: "origin down: torrent still", path: ep3 + "?torrent", originDown: true, want: torrent},
		{name: "origin down, copy missing: redirect", path: ep3, originDown: true, removeCopies: true, want: redirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := newTestCatalog(fx)
			if tt.originDown {
				cat.fail = map[string]error{"OriginUnusable": errors.New("origin flagged down")}
			}
			if tt.removeCopies {
				tor, err := fx.store.FindTorrentByInfoHash(t.Context(), fx.ready)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tor.DataPath, tor.DataPath+".away"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.Rename(tor.DataPath+".away", tor.DataPath) })
			}
			logs := &lockedBuffer{}
			srv := mustServe(t, cat, swarmCounts(fx), logs)
			method := cmpOr(tt.method, http.MethodGet)
			resp, body := doNoRedirect(t, noRedirects(srv), method, srv.URL+tt.path, tt.header)
			if resp.StatusCode != tt.want.status {
				t.Fatalf("got status %d, want %d; body:\n%.300s", resp.StatusCode, tt.want.status, body)
			}
			if got := resp.Header.Values("Vary"); !containsFold(got, "Accept") {
				t.Errorf("Vary: got %q, want Accept", got)
			}
			if tt.want.ctype != "" {
				if got := resp.Header.Get("Content-Type"); got != tt.want.ctype {
					t.Errorf("Content-Type: got %q, want %q", got, tt.want.ctype)
				}
			}
			if tt.want.body != nil && !bytes.Equal(body, tt.want.body) {
				t.Errorf("body: got %d bytes %.60q, want %d bytes %.60q", len(body), body, len(tt.want.body), tt.want.body)
			}
			if tt.want.sub != "" && !bytes.Contains(body, []byte(tt.want.sub)) {
				t.Errorf("body lacks %q", tt.want.sub)
			}
			if got := resp.Header.Get("Location"); got != tt.want.location {
				t.Errorf("Location: got %q, want %q", got, tt.want.location)
			}
			for k, v := range tt.want.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			log := logs.String()
			if tt.removeCopies != strings.Contains(log, "serve copy instead of origin") {
				t.Errorf("log (copy missing %v):\n%s", tt.removeCopies, log)
			}
		})
	}
}

// TestEpisodeTorrentFilename: the .torrent of an episode is named after
// its file, RFC 8187-encoded when not ASCII ("&" is an attr-char and stays).
func TestEpisodeTorrentFilename(t *testing.T) {
	fx := mustPopulate(t, mustOpenStore(t))
	name := "Folge 5: Über & \"mehr\".mp3"
	ih, e := mustAddTorrent(t, fx, "ep5", name, 5, 30_000)
	srv := mustServe(t, newTestCatalog(fx), swarmCounts(fx), &lockedBuffer{})
	for _, path := range []string{fmt.Sprintf("/episodes/%d?torrent", e.ID), web.URLs{}.WebSeed(ih, name) + "?torrent"} {
		resp, _ := doNoRedirect(t, noRedirects(srv), http.MethodGet, srv.URL+path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: got status %d, want 200", path, resp.StatusCode)
		}
		const want = `attachment; filename*=utf-8''Folge%205%3A%20%C3%9Cber%20&%20%22mehr%22.mp3.torrent`
		if got := resp.Header.Get("Content-Disposition"); got != want {
			t.Errorf("GET %s: Content-Disposition: got %q, want %q", path, got, want)
		}
	}
}

// mustAddTorrent adds a ready episode to fx's first feed whose file, named
// name, has n bytes from seed, with its copy written; it returns the
// infohash and the episode.
func mustAddTorrent(tb testing.TB, fx fixture, guid, name string, seed uint64, n int) (string, store.Episode) {
	tb.Helper()
	ctx := context.Background()
	eps, err := fx.store.UpsertEpisodes(ctx, fx.nightShift.ID, []store.Episode{{
		GUID: guid, Title: name, EnclosureURL: "https://cdn.example.org/night-shift/" + guid + ".mp3",
		EnclosureLength: int64(n), EnclosureType: "audio/mpeg",
	}})
	if err != nil || len(eps) != 1 {
		tb.Fatalf("upsert %s: %v", guid, err)
	}
	data := enclosureData(seed, n)
	mi, ih := mustMetainfo(tb, name, data, 16<<10, publicBase+"/announce", eps[0].EnclosureURL)
	p := filepath.Join(tb.TempDir(), ih, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := fx.store.CreateTorrent(ctx, store.Torrent{
		InfoHash: ih, EpisodeID: eps[0].ID, Name: name, Metainfo: mi, PieceLength: 16 << 10,
		Size: int64(n), DataPath: p, SRI: "sha256-x",
	}); err != nil {
		tb.Fatal(err)
	}
	e, err := fx.store.FindEpisodeByID(ctx, eps[0].ID)
	if err != nil {
		tb.Fatal(err)
	}
	return ih, e
}

// cmpOr returns the first of its arguments that is not "".
func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// containsFold reports whether any of the comma-separated values in vs is
// want, ignoring case.
func containsFold(vs []string, want string) bool {
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), want) {
				return true
			}
		}
	}
	return false
}
