package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// TestWebSeedWithheldForUnstableOrigins: an enclosure whose bytes change
// per request (dynamic ad insertion) is still torrentified and seeded, but
// its web seed is withheld (peers would fail hash checks on it); so is one
// whose origin ignores Range. A stable origin keeps its url-list (BEP 19).
func TestWebSeedWithheldForUnstableOrigins(t *testing.T) {
	dir := t.TempDir()
	stable := filepath.Join(dir, "stable.mp3")
	writeRandomFile(t, stable, 2<<20+3, 11)
	body, err := os.ReadFile(stable)
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed.xml":
			item := func(guid string) string {
				return `<item><title>` + guid + `</title><guid>` + guid + `</guid><enclosure url="` + srv.URL + `/` + guid + `.mp3" length="0" type="audio/mpeg"/></item>`
			}
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>` +
				item("stable") + item("dai") + item("norange") + `</channel></rss>`))
		case "/stable.mp3":
			http.ServeFile(w, r, stable)
		case "/dai.mp3":
			// A fresh 4 KiB "ad" before the episode on every request.
			ad := make([]byte, 4096)
			_, _ = rand.Read(ad)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(append(ad, body...)))
		case "/norange.mp3":
			_, _ = w.Write(body) // 200 with the whole body, whatever the Range header says
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	a := openTestApp(t)
	ctx := context.Background()
	f := mustAddAndIngest(t, a, srv.URL+"/feed.xml")
	ets, err := a.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantWithheld := map[string]string{"stable": "", "dai": "different bytes", "norange": "ignores Range"}
	if len(ets) != len(wantWithheld) {
		t.Fatalf("%d torrents, want %d (every episode is still torrentified)", len(ets), len(wantWithheld))
	}
	for _, et := range ets {
		guid, tor := et.Episode.GUID, et.Torrent
		want := wantWithheld[guid]
		if (want == "") != (tor.WebSeedWithheld == "") || !strings.Contains(tor.WebSeedWithheld, want) {
			t.Errorf("%s: web seed withheld %q, want %q", guid, tor.WebSeedWithheld, want)
		}
		raw, err := catalog{a}.TorrentFile(ctx, tor.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		mi, err := metainfo.Load(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(mi.UrlList) > 0; got != (want == "") {
			t.Errorf("%s: .torrent url-list %v, want web seed published %v", guid, mi.UrlList, want == "")
		}
		magnet := catalog{a}.Magnet(ctx, tor.InfoHash)
		if strings.Contains(magnet, "&ws=") != (want == "") {
			t.Errorf("%s: magnet %s, want ws= %v", guid, magnet, want == "")
		}
		if _, ok := a.Client().Stats(tor.InfoHash); !ok {
			t.Errorf("%s: not seeded", guid)
		}
	}
}
