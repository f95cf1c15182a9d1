package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

func TestWebSeedFor(t *testing.T) {
	const src = "https://track.example/p/cdn.example/ep.mp3"
	tests := []struct {
		name                   string
		hops                   []fetchHop
		wantSeed, wantResolved string
	}{
		{"no redirect", []fetchHop{{URL: src, Status: 200}}, src, ""},
		{"temporary chain keeps the original", []fetchHop{{URL: src, Status: 302}, {URL: "https://b/", Status: 307},
			{URL: "https://cdn/ep.mp3", Status: 200}}, src, "https://cdn/ep.mp3"},
		{"permanent chain moves", []fetchHop{{URL: src, Status: 301}, {URL: "https://b/", Status: 308},
			{URL: "https://cdn/ep.mp3", Status: 200}}, "https://cdn/ep.mp3", "https://cdn/ep.mp3"},
		{"one temporary hop keeps the original", []fetchHop{{URL: src, Status: 301}, {URL: "https://b/", Status: 302},
			{URL: "https://cdn/ep.mp3", Status: 200}}, src, "https://cdn/ep.mp3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed, resolved := webSeedFor(src, tt.hops)
			if seed != tt.wantSeed || resolved != tt.wantResolved {
				t.Errorf("got %q, %q, want %q, %q", seed, resolved, tt.wantSeed, tt.wantResolved)
			}
		})
	}
}

// TestEnclosureRedirectChains: podseed follows an enclosure's redirect
// chain (bounded; loops refused), records the original and the final URL,
// and publishes the original as web seed unless every hop was permanent.
// aria2c and transmission complete a download from the web seed alone
// (podseed closed) through a 3-hop loopback redirect chain, and from the
// resolved URL.
func TestEnclosureRedirectChains(t *testing.T) {
	if testing.Short() {
		t.Skip("real clients skipped in -short mode")
	}
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	chain, perm := randomBytes(t, 2<<20+4321, 7), randomBytes(t, 300_000, 8)
	o.setFile("/media/chain.mp3", chain, `"c"`)
	o.setFile("/media/perm.mp3", perm, "")
	o.redirects["/t1"] = originRedirect{http.StatusFound, "/t2"}
	o.redirects["/t2"] = originRedirect{http.StatusFound, "/t3"}
	o.redirects["/t3"] = originRedirect{http.StatusTemporaryRedirect, "/media/chain.mp3"}
	o.redirects["/p1"] = originRedirect{http.StatusMovedPermanently, "/p2"}
	o.redirects["/p2"] = originRedirect{http.StatusPermanentRedirect, "/media/perm.mp3"}
	o.redirects["/loop1"] = originRedirect{http.StatusFound, "/loop2"}
	o.redirects["/loop2"] = originRedirect{http.StatusFound, "/loop1"}
	o.setItems(lifecycleItem("chain", "/t1", 0), lifecycleItem("perm", "/p1", 0), lifecycleItem("loop", "/loop1", 0))

	a, closeApp := openLifecycleApp(t, "")
	f := mustAddAndIngest(t, a, o.URL("/feed.xml"))

	loop := mustEpisodeByGUID(t, a, f.ID, "loop")
	if loop.State != store.EpisodeFailed || !strings.Contains(loop.LastError, "redirect loop") {
		t.Errorf("loop: %+v, want failed with a redirect loop", loop)
	}
	if n := o.count("/loop1"); n > 2 {
		t.Errorf("loop: /loop1 requested %d times, want the loop refused at once", n)
	}
	torrentOf := func(guid string) store.Torrent {
		e := mustEpisodeByGUID(t, a, f.ID, guid)
		if e.State != store.EpisodeReady {
			t.Fatalf("%s: %+v, want ready", guid, e)
		}
		tor, err := a.Store().FindTorrentByInfoHash(ctx, e.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		return tor
	}
	served := func(ih string) ([]byte, *metainfo.MetaInfo) {
		raw := mustServeApp(t, a, "/torrents/"+ih+".torrent")
		mi, err := metainfo.Load(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return raw, mi
	}
	chainT, permT := torrentOf("chain"), torrentOf("perm")
	for _, c := range []struct {
		tor                           store.Torrent
		source, resolved, wantWebSeed string
	}{
		{chainT, o.URL("/t1"), o.URL("/media/chain.mp3"), o.URL("/t1")},
		{permT, o.URL("/p1"), o.URL("/media/perm.mp3"), o.URL("/media/perm.mp3")},
	} {
		if c.tor.SourceURL != c.source || c.tor.ResolvedURL != c.resolved {
			t.Errorf("%s: source %q resolved %q, want %q, %q", c.tor.Name, c.tor.SourceURL, c.tor.ResolvedURL, c.source, c.resolved)
		}
		if _, mi := served(c.tor.InfoHash); len(mi.UrlList) != 1 || mi.UrlList[0] != c.wantWebSeed {
			t.Errorf("%s: url-list %v, want [%s]", c.tor.Name, mi.UrlList, c.wantWebSeed)
		}
	}
	page := mustServeApp(t, a, fmt.Sprintf("/episodes/%d", chainT.EpisodeID))
	if !bytes.Contains(page, []byte("redirects to")) {
		t.Errorf("episode page does not show where the enclosure redirects")
	}

	// The .torrent as served (web seed: the original chain) and one with
	// the resolved URL instead; then podseed goes away.
	dir := t.TempDir()
	origRaw, _ := served(chainT.InfoHash)
	resolvedRaw, err := seed.WithWebSeeds(origRaw, []string{chainT.ResolvedURL})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"original": filepath.Join(dir, "original.torrent"), "resolved": filepath.Join(dir, "resolved.torrent")}
	for k, raw := range map[string][]byte{"original": origRaw, "resolved": resolvedRaw} {
		if err := os.WriteFile(files[k], raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	closeApp()
	sum := sha256.Sum256(chain)
	want := hex.EncodeToString(sum[:])

	for _, client := range []string{"aria2c", "transmission"} {
		for _, variant := range []string{"original", "resolved"} {
			t.Run(client+" from the "+variant+" URL", func(t *testing.T) {
				out := t.TempDir()
				before, beforeMedia := o.count("/t1"), o.count("/media/chain.mp3")
				switch client {
				case "aria2c":
					aria2cDownload(t, files[variant], out)
					if got := fileSHA256(t, filepath.Join(out, chainT.Name)); got != want {
						t.Errorf("SHA-256 %s, want %s", got, want)
					}
				case "transmission":
					transmissionDownload(t, files[variant], out, chainT.Name, want, nil)
				}
				hops, media := o.count("/t1")-before, o.count("/media/chain.mp3")-beforeMedia
				t.Logf("%s, %s URL: %d requests to the chain's start, %d to the file", client, variant, hops, media)
				if variant == "original" && hops == 0 {
					t.Errorf("the redirect chain was never requested")
				}
				if variant == "resolved" && hops != 0 {
					t.Errorf("%d requests to the chain's start, want none with the resolved URL", hops)
				}
				if media == 0 {
					t.Errorf("the file was never requested: not from the web seed")
				}
			})
		}
	}
}
