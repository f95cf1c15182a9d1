package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// TestNegotiationAndWebSeed runs the real app on an origin with a stable
// episode and one with dynamic ad insertion (web seed withheld): the
// negotiation of /episodes/{id}, then aria2c downloading from podseed's
// /webseed/ endpoint alone, with the origin down and podseed's own
// BitTorrent client unknown to it (no tracker, DHT, PEX or LPD).
func TestNegotiationAndWebSeed(t *testing.T) {
	dir := t.TempDir()
	stable := filepath.Join(dir, "stable.mp3")
	writeRandomFile(t, stable, 3<<20+77, 21)
	body, err := os.ReadFile(stable)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	var origin *httptest.Server
	origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/feed.xml":
			item := func(guid string) string {
				return `<item><title>` + guid + `</title><guid>` + guid + `</guid><enclosure url="` + origin.URL + `/` + guid + `.mp3" length="0" type="audio/mpeg"/></item>`
			}
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>` +
				item("stable") + item("dai") + `</channel></rss>`))
		case "/stable.mp3":
			http.ServeFile(w, r, stable)
		case "/dai.mp3":
			ad := make([]byte, 4096) // a fresh "ad" on every request
			_, _ = rand.Read(ad)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(append(ad, body...)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer origin.Close()

	a := openTestApp(t)
	ctx := context.Background()
	f := mustAddAndIngest(t, a, origin.URL+"/feed.xml")
	ets, err := a.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ets) != 2 {
		t.Fatalf("%d torrents, want 2", len(ets))
	}
	var webSeedGETs, preflights atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/webseed/") {
			if r.Method == http.MethodOptions {
				preflights.Add(1)
			} else {
				webSeedGETs.Add(1)
			}
		}
		a.srv.Handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(t *testing.T, path string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	for _, et := range ets {
		e, tor := et.Episode, et.Torrent
		copyBytes, err := os.ReadFile(tor.DataPath)
		if err != nil {
			t.Fatal(err)
		}
		page := "/episodes/" + strconv.FormatInt(e.ID, 10)
		t.Run(e.GUID+" negotiation", func(t *testing.T) {
			resp, b := get(t, page, http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}})
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<!DOCTYPE html>")) {
				t.Errorf("browser: got %d, want the page", resp.StatusCode)
			}
			_, want := get(t, "/torrents/"+tor.InfoHash+".torrent", nil)
			for _, h := range []struct {
				path   string
				header http.Header
			}{{page + "?torrent", nil}, {page, http.Header{"Accept": {"application/x-bittorrent"}}}} {
				resp, b := get(t, h.path, h.header)
				if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-bittorrent" || !bytes.Equal(b, want) {
					t.Errorf("%s %v: got %d %q, want the .torrent", h.path, h.header, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
			}
			resp, b = get(t, page, http.Header{"Accept": {"*/*"}})
			if e.GUID == "stable" {
				if resp.StatusCode != 302 || resp.Header.Get("Location") != e.EnclosureURL {
					t.Errorf("podcast app: got %d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), e.EnclosureURL)
				}
				return
			}
			// The origin's bytes change per request: podseed serves its copy.
			if resp.StatusCode != 200 || !bytes.Equal(b, copyBytes) || resp.Header.Get("Content-Type") != "audio/mpeg" {
				t.Errorf("podcast app, unstable origin: got %d %q, %d bytes, want podseed's %d-byte copy",
					resp.StatusCode, resp.Header.Get("Content-Type"), len(b), len(copyBytes))
			}
			resp, b = get(t, page, http.Header{"Range": {"bytes=100-199"}})
			if resp.StatusCode != 206 || !bytes.Equal(b, copyBytes[100:200]) {
				t.Errorf("range of the copy: got %d, %d bytes", resp.StatusCode, len(b))
			}
		})
	}

	// A page on another origin reads podseed's copy through CORS in
	// Chromium: a plain range request, and one with If-Range, which is not
	// CORS-safelisted and so needs the preflight.
	t.Run("chromium reads the web seed cross-origin", func(t *testing.T) {
		tor := ets[0].Torrent
		data, err := os.ReadFile(tor.DataPath)
		if err != nil {
			t.Fatal(err)
		}
		seedURL := srv.URL + a.URLs().WebSeed(tor.InfoHash, tor.Name)[len(a.URLs().Base):]
		page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, `<!DOCTYPE html><html><head><title>web seed</title></head><body><pre id="out">pending</pre><script>
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
(async () => {
  const out = [];
  for (const headers of [{Range: "bytes=100-199"}, {Range: "bytes=100-199", "If-Range": '"`+tor.InfoHash+`"'}]) {
    const r = await fetch(`+strconv.Quote(seedURL)+`, {headers});
    const b = new Uint8Array(await r.arrayBuffer());
    out.push([r.status, r.headers.get("Content-Range"), r.headers.get("ETag"), hex(b)].join(" "));
  }
  document.getElementById("out").textContent = out.join("\n");
})().catch((e) => { document.getElementById("out").textContent = "error " + e; });
</script></body></html>`)
		}))
		defer page.Close()
		before := preflights.Load()
		dom := string(chromium(t, page.URL+"/", "--dump-dom", "--virtual-time-budget=15000"))
		want := fmt.Sprintf("206 bytes 100-199/%d \"%s\" %s", len(data), tor.InfoHash, hex.EncodeToString(data[100:200]))
		if got := strings.Count(dom, want); got != 2 {
			t.Errorf("page read %d good answers, want 2 lines %q; DOM:\n%s", got, want, dom)
		}
		if preflights.Load() == before {
			t.Errorf("Chromium sent no CORS preflight for If-Range")
		}
	})

	// Origin down; aria2c knows no tracker and no peer: only the web seeds.
	down.Store(true)
	for _, et := range ets {
		tor := et.Torrent
		t.Run(et.Episode.GUID+" aria2c from podseed's web seed", func(t *testing.T) {
			_, raw := get(t, "/torrents/"+tor.InfoHash+".torrent", nil)
			mi, err := metainfo.Load(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			// The original (down) first where it was published, then podseed's copy.
			mi.UrlList = append(mi.UrlList, srv.URL+a.URLs().WebSeed(tor.InfoHash, tor.Name)[len(a.URLs().Base):])
			mi.Announce, mi.AnnounceList = "", nil
			p := filepath.Join(t.TempDir(), "webseed.torrent")
			var buf bytes.Buffer
			if err := mi.Write(&buf); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := mi.HashInfoBytes().HexString(); got != tor.InfoHash {
				t.Fatalf("rewritten torrent has infohash %s, want %s", got, tor.InfoHash)
			}
			out := t.TempDir()
			before := webSeedGETs.Load()
			aria2cDownload(t, p, out)
			if webSeedGETs.Load() == before {
				t.Errorf("aria2c completed without asking podseed's web seed")
			}
			if got, want := fileSHA256(t, filepath.Join(out, tor.Name)), fileSHA256(t, tor.DataPath); got != want {
				t.Errorf("aria2c result SHA-256 %s, want %s", got, want)
			}
		})
	}
}
