package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReplacementSurvivesKill kills the real podseed process (SIGKILL)
// while it downloads the new enclosure of a ready episode: the old torrent
// stays current in the store and published after the restart, and the
// replacement completes afterwards, retiring the old torrent (410 Gone).
func TestReplacementSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test skipped in -short mode")
	}
	bin := buildCrashBinary(t)
	ctx := context.Background()
	o := newLifecycleOrigin(t)
	v1, v2 := randomBytes(t, 400_000, 21), randomBytes(t, 600_000, 22)
	o.setFile("/v1.mp3", v1, `"1"`)
	o.setFile("/v2.mp3", v2, `"2"`)
	o.setItems(lifecycleItem("ep", "/v1.mp3", len(v1)))
	dataDir, listen := t.TempDir(), crashListenAddr(t)
	base := "http://" + listen
	feeds := []string{o.URL("/feed.xml")}

	get := func(path string) (int, string) {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	episode := func() (infoHash, replace string) {
		code, body := get("/api/v1/feeds/1")
		if code != http.StatusOK {
			return "", ""
		}
		var f struct {
			Episodes []struct {
				InfoHash      string `json:"infohash"`
				ReplaceReason string `json:"replace_reason"`
			} `json:"episodes"`
		}
		if json.Unmarshal([]byte(body), &f) != nil || len(f.Episodes) != 1 {
			return "", ""
		}
		return f.Episodes[0].InfoHash, f.Episodes[0].ReplaceReason
	}
	start := func() *crashProc {
		p := startCrashProc(t, bin, dataDir, listen, feeds)
		if !p.waitServingUntil(base, time.Now().Add(time.Minute)) {
			t.Fatalf("podseed did not serve:\n%s", p.out.String())
		}
		return p
	}
	waitStarted := func(p *crashProc) {
		select {
		case <-o.started:
		case <-time.After(2 * time.Minute):
			t.Fatalf("the new enclosure was never requested:\n%s", p.out.String())
		}
	}

	p := start()
	var oldIH string
	waitFor(t, 2*time.Minute, "the episode to be torrentified", func() bool {
		oldIH, _ = episode()
		return oldIH != ""
	})

	// The feed moves the episode to new bytes; the new download stalls.
	gate := make(chan struct{})
	o.mu.Lock()
	o.gate["/v2.mp3"] = gate
	o.mu.Unlock()
	o.setItems(lifecycleItem("ep", "/v2.mp3", len(v2)))
	p.kill(t) // a restart polls at once
	p = start()
	waitStarted(p)
	p.kill(t) // mid-replacement

	s, err := Config{DataDir: dataDir}.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := s.ListEpisodesByFeed(ctx, 1)
	s.Close()
	if err != nil || len(eps) != 1 || eps[0].InfoHash != oldIH || eps[0].ReplaceReason == "" {
		t.Fatalf("store after the kill: %+v, %v; want the old torrent %s current, replacement due", eps, err, oldIH)
	}

	p = start()
	waitStarted(p) // downloading again; the old torrent is what is published
	if code, body := get("/feeds/1.rss"); code != http.StatusOK || !strings.Contains(body, oldIH) {
		t.Errorf("republished feed during the replacement: status %d, want the old torrent %s", code, oldIH)
	}
	if code, _ := get("/torrents/" + oldIH + ".torrent"); code != http.StatusOK {
		t.Errorf("old .torrent during the replacement: status %d, want 200", code)
	}
	close(gate)
	var newIH string
	waitFor(t, 2*time.Minute, "the replacement", func() bool {
		ih, replace := episode()
		newIH = ih
		return ih != "" && ih != oldIH && replace == ""
	})
	if code, body := get("/feeds/1.rss"); !strings.Contains(body, newIH) || strings.Contains(body, oldIH) {
		t.Errorf("republished feed after the replacement (status %d): want %s and not %s", code, newIH, oldIH)
	}
	if code, _ := get("/torrents/" + oldIH + ".torrent"); code != http.StatusGone {
		t.Errorf("old .torrent after the replacement: status %d, want 410", code)
	}
	if err := p.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("stop podseed: %v\n%s", err, p.out.String())
	}
}
