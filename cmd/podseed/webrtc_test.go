package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebRTCPlayer: headless Chromium opens an episode page and its
// in-page player fetches and plays the episode. podseed (the real binary)
// runs in one network namespace, Chromium in another, joined by a veth
// pair; the origin, also in podseed's namespace, serves the feed and the
// enclosure for ingest.
//
//   - from podseed over WebRTC alone: the origin is stopped, so the web
//     seed is dead. podseed's client joins the torrent's WebSocket swarm
//     when the browser's announce arrives. The <audio> element passes 1 s
//     of playback, the player's WebTorrent client lists podseed
//     (anacrolix) as a WebRTC wire that delivered the whole file, and
//     podseed lists the browser as a peer.
//
//   - streaming, from podseed over WebRTC: Chromium treats podseed's origin
//     as secure (as https would be), so the player streams through
//     WebTorrent's service worker instead of waiting for the whole file.
//
//   - from a CORS web seed alone: the origin comes back answering CORS
//     preflights and sending Access-Control-Allow-Origin, and a second
//     Chromium has WebRTC's UDP turned off
//     (--webrtc-ip-handling-policy=disable_non_proxied_udp),
//     so the original URL as web seed (BEP 19) delivers everything.
//
//   - from podseed's web seed endpoint alone: the origin is stopped again
//     and the browser's WebRTC is off, so the only source is the
//     /webseed/{infohash}/{name} URL the player adds as a second web seed.
//
// The player always adds podseed's /webseed/ URL; the first three subtests
// block it in the browser (DevTools Network.setBlockedURLs) so that each
// tests one source alone.
//
// Each saves a screenshot in $PODSEED_ARTIFACT_DIR: episode-webrtc-player.png,
// episode-webrtc-streaming.png, episode-webseed-player.png,
// episode-podseed-webseed-player.png. The log names the browser
// (DevTools Browser.getVersion), the vendored WebTorrent and, per subtest,
// the player's status line at the end.
func TestWebRTCPlayer(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC browser test skipped in -short mode")
	}
	chromiumBin := mustHaveBinary(t, "chromium")
	ns := newTestNetns(t)
	bin := buildCrashBinary(t)

	// The origin, inside podseed's namespace on the veth address.
	wav := sineWAV(20, 16000)
	const feedTitle = "WebRTC test show"
	originLn := netnsListen(t, ns.A, ns.AddrA+":0")
	originAddr := originLn.Addr().String()
	originBase := "http://" + originAddr
	var cors atomic.Bool
	var originMu sync.Mutex
	originHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cors.Load() {
			// WebTorrent's range requests carry Cache-Control and
			// User-Agent headers, so browsers send a preflight first.
			w.Header().Set("Access-Control-Allow-Origin", "*")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD")
				w.Header().Set("Access-Control-Allow-Headers", "Range, Cache-Control, User-Agent")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		switch r.URL.Path {
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>%s</title><link>%s/</link><description>A sine wave.</description>
<item><title>Sine</title><guid>webrtc-sine-1</guid><pubDate>Mon, 17 Mar 2025 06:00:00 GMT</pubDate>
<enclosure url="%s/sine.wav" length="%d" type="audio/wav"/></item>
</channel></rss>`, feedTitle, originBase, originBase, len(wav))
		case "/sine.wav":
			w.Header().Set("Content-Type", "audio/wav")
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(wav))
		default:
			http.NotFound(w, r)
		}
	})
	origin := &http.Server{Handler: originHandler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = origin.Serve(originLn) }()
	t.Cleanup(func() {
		originMu.Lock()
		defer originMu.Unlock()
		_ = origin.Close()
	})

	// podseed, in namespace A: HTTP, trackers and BitTorrent on the veth
	// address.
	dataDir := t.TempDir()
	base := "http://" + ns.AddrA + ":8080"
	podseed := startNetnsPodseed(t, ns.A, bin, dataDir,
		"--listen="+ns.AddrA+":8080", "--base-url="+base, "--bt-port=6881", "--no-dht",
		"--allow-private-addresses", "--udp-tracker=off", originBase+"/feed.xml")
	client := netnsHTTPClient(ns.A)
	pageURL := base + "/episodes/1"
	// noPodseedWebSeed blocks the player's second web seed, podseed's own
	// copy.
	noPodseedWebSeed := []string{base + "/webseed/*"}

	// Wait until the episode is ready.
	var infoHash string
	waitFor(t, 90*time.Second, "the episode to be torrentified", func() bool {
		var f struct {
			Episodes []struct {
				State, InfoHash string
			}
		}
		if err := getJSON(client, base+"/api/v1/feeds/1", &f); err != nil || len(f.Episodes) != 1 || f.Episodes[0].State != "ready" {
			return false
		}
		infoHash = f.Episodes[0].InfoHash
		return true
	})
	// The WebTorrent bundle the player runs, as podseed serves it.
	if v, err := getBody(client, base+"/static/vendor/VERSION"); err != nil {
		t.Errorf("vendored WebTorrent version: %v", err)
	} else {
		t.Logf("vendored WebTorrent: %s", bytes.SplitN(v, []byte("\n"), 2)[0])
	}

	t.Run("webrtc-from-podseed", func(t *testing.T) {
		// The origin goes away: the web seed in the .torrent is now dead.
		originMu.Lock()
		err := origin.Close()
		originMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		st := playInChromium(t, ns.B, chromiumBin, pageURL, "episode-webrtc-player.png", func(st *playerState) bool {
			return st.wire("webrtc", "podseed") != nil
		}, podseed, noPodseedWebSeed)
		if st.Streaming {
			t.Error("the player streamed outside a secure context")
		}
		w := st.wire("webrtc", "podseed")
		if w.Downloaded < int64(len(wav)) {
			t.Errorf("podseed's WebRTC wire delivered %d bytes, want the whole file (%d)", w.Downloaded, len(wav))
		}
		// The status line counts BitTorrent peers apart from web seeds
		// (WebTorrent's numPeers counts both).
		if !strings.Contains(st.Status, " · 1 peer + 2 web seeds") {
			t.Errorf("player status %q, want podseed as the one peer and two web seeds", st.Status)
		}
		if peerID, err := hexASCII(w.PeerID, 8); err != nil || peerID != "-GT0003-" {
			t.Errorf("podseed's wire has peer ID prefix %q (%v), want anacrolix's -GT0003-", peerID, err)
		}
		for _, w := range st.Wires {
			if w.Type == "webSeed" && w.Downloaded > 0 {
				t.Errorf("web seed %s (%s) delivered %d bytes; the origin is dead and podseed's is blocked", w.URL, w.Client, w.Downloaded)
			}
		}
		// podseed's client joined the torrent's WebSocket swarm only when
		// the browser asked for it.
		if log := podseed.out.String(); !strings.Contains(log, "infohash="+infoHash+" event=started seeder=true") {
			t.Errorf("podseed's client never announced to its WebSocket tracker as a seeder:\n%s", lastBytes(log, 8000))
		}
		// podseed sees the browser too: its episode page lists a peer.
		waitFor(t, 10*time.Second, "podseed to list the browser as a peer", func() bool {
			page, err := getBody(client, pageURL)
			return err == nil && bytes.Contains(page, []byte(`<section id="peers">`)) &&
				!bytes.Contains(page, []byte("No peers connected."))
		})
	})

	t.Run("webrtc-streaming", func(t *testing.T) {
		// As if podseed were served over https: the player streams
		// through WebTorrent's service worker.
		st := playInChromium(t, ns.B, chromiumBin, pageURL, "episode-webrtc-streaming.png", func(st *playerState) bool {
			return st.wire("webrtc", "podseed") != nil
		}, podseed, noPodseedWebSeed, "--unsafely-treat-insecure-origin-as-secure="+base)
		if !st.Streaming {
			t.Errorf("the player did not stream in a secure context: %+v", st)
		}
	})

	t.Run("cors-web-seed-alone", func(t *testing.T) {
		// The origin is back, on the same address, allowing CORS.
		cors.Store(true)
		originMu.Lock()
		_ = origin.Close() // closed already unless the first subtest was skipped
		ln := netnsListen(t, ns.A, originAddr)
		origin = &http.Server{Handler: originHandler, ReadHeaderTimeout: 10 * time.Second}
		srv := origin
		originMu.Unlock()
		go func() { _ = srv.Serve(ln) }()
		st := playInChromium(t, ns.B, chromiumBin, pageURL, "episode-webseed-player.png", func(st *playerState) bool {
			return true
		}, podseed, noPodseedWebSeed, "--webrtc-ip-handling-policy=disable_non_proxied_udp")
		w := st.wire("webSeed", "web seed")
		if w == nil || w.Downloaded < int64(len(wav)) || w.URL != originBase+"/sine.wav" {
			t.Errorf("origin web seed wire %+v: want %s/sine.wav delivering the whole file (%d bytes)", w, originBase, len(wav))
		}
		for _, o := range st.Wires {
			if (o.Type != "webSeed" || w == nil || o.URL != w.URL) && o.Downloaded > 0 {
				t.Errorf("%s wire %s delivered %d bytes; want the origin web seed alone", o.Type, o.Client, o.Downloaded)
			}
		}
	})

	t.Run("podseed-web-seed-alone", func(t *testing.T) {
		// The origin goes away again and the browser has no WebRTC: only
		// podseed's /webseed/ endpoint is left.
		originMu.Lock()
		_ = origin.Close()
		originMu.Unlock()
		prefix := base + "/webseed/" + infoHash + "/"
		st := playInChromium(t, ns.B, chromiumBin, pageURL, "episode-podseed-webseed-player.png", func(st *playerState) bool {
			return true
		}, podseed, nil, "--webrtc-ip-handling-policy=disable_non_proxied_udp")
		w := st.wire("webSeed", "podseed")
		if w == nil || !strings.HasPrefix(w.URL, prefix) || w.Downloaded < int64(len(wav)) {
			t.Errorf("podseed web seed wire %+v: want %s<name> delivering the whole file (%d bytes)", w, prefix, len(wav))
		}
		for _, o := range st.Wires {
			if (o.Type != "webSeed" || w == nil || o.URL != w.URL) && o.Downloaded > 0 {
				t.Errorf("%s wire %s (%s) delivered %d bytes; want podseed's web seed alone", o.Type, o.Client, o.URL, o.Downloaded)
			}
		}
	})
}

// playerWire is one of the player's WebTorrent wires (player.js).
type playerWire struct {
	Type, PeerID, Client string
	URL                  string // a web seed's URL
	Downloaded           int64
}

// playerState is what the player reports (window.podseedPlayer) plus its
// <audio> element's position in seconds.
type playerState struct {
	Progress    float64
	Done        bool
	Streaming   bool
	Playing     bool
	Error       string
	Wires       []playerWire
	CurrentTime float64
	Status      string
}

// wire returns the first wire of type typ whose client name starts with
// client, or nil.
func (st *playerState) wire(typ, client string) *playerWire {
	for i, w := range st.Wires {
		if w.Type == typ && strings.HasPrefix(w.Client, client) {
			return &st.Wires[i]
		}
	}
	return nil
}

// playInChromium starts Chromium (fresh profile) in namespace ns, opens
// pageURL with requests to the URL patterns in blocked (DevTools wildcards)
// failing, presses the player's button and waits until the whole file is
// downloaded, the <audio> element is past 1 s and done(state) holds. It
// saves a screenshot as shotName in the artifact directory and returns the
// player's last state.
func playInChromium(t *testing.T, ns, chromiumBin, pageURL, shotName string, done func(*playerState) bool, podseed *crashProc, blocked []string, flags ...string) *playerState {
	t.Helper()
	cdp := startNetnsChromium(t, ns, chromiumBin, flags...)
	var ver struct{ Product, Revision, JSVersion, UserAgent string }
	mustUnmarshal(t, cdp.call(t, "", "Browser.getVersion", map[string]any{}), &ver)
	t.Logf("browser: %s (revision %s, V8 %s), user agent %q", ver.Product, ver.Revision, ver.JSVersion, ver.UserAgent)
	target := cdp.call(t, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	var tid struct{ TargetID string }
	mustUnmarshal(t, target, &tid)
	attach := cdp.call(t, "", "Target.attachToTarget", map[string]any{"targetId": tid.TargetID, "flatten": true})
	var sess struct{ SessionID string }
	mustUnmarshal(t, attach, &sess)
	s := sess.SessionID
	if len(blocked) > 0 {
		cdp.call(t, s, "Network.enable", map[string]any{})
		cdp.call(t, s, "Network.setBlockedURLs", map[string]any{"urls": blocked})
	}
	cdp.call(t, s, "Page.navigate", map[string]any{"url": pageURL})

	const frame = `document.querySelector('iframe.player')`
	waitFor(t, 30*time.Second, "the player to load", func() bool {
		return cdp.eval(t, s, `(() => { const f = `+frame+`; const w = f && f.contentWindow;
			return !!(w && w.podseedPlayer && w.document.querySelector('[data-player-start]')) })()`) == "true"
	})
	cdp.eval(t, s, frame+`.contentDocument.querySelector('[data-player-start]').click()`)

	probe := `(() => { const w = ` + frame + `.contentWindow; const p = w.podseedPlayer; const a = w.document.querySelector('audio');
		return JSON.stringify({progress: p.progress, done: p.done, streaming: p.streaming, playing: p.playing, error: p.error, wires: p.wires,
			currentTime: a.currentTime, status: w.document.querySelector('[data-player-status]').textContent}) })()`
	var st playerState
	lastLog := time.Now()
	waitFor(t, 120*time.Second, "the episode to play", func() bool {
		st = playerState{}
		mustUnmarshal(t, []byte(cdp.eval(t, s, probe)), &st)
		if st.Error != "" {
			t.Fatalf("player error: %s\npodseed log:\n%s", st.Error, lastBytes(podseed.out.String(), 8000))
		}
		if time.Since(lastLog) > 5*time.Second {
			t.Logf("player: %+v", st)
			lastLog = time.Now()
		}
		return st.Done && st.CurrentTime > 1 && done(&st)
	})
	t.Logf("player: %+v", st)
	t.Logf("player status line: %q", st.Status)
	if st.Progress != 1 {
		t.Errorf("progress: got %v, want 1", st.Progress)
	}

	shot := cdp.call(t, s, "Page.captureScreenshot", map[string]any{"format": "png"})
	var img struct{ Data string }
	mustUnmarshal(t, shot, &img)
	png, err := base64.StdEncoding.DecodeString(img.Data)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(artifactDir(t), shotName)
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
	return &st
}

// sineWAV is a PCM WAV file (mono, 16 bit) of a 440 Hz tone.
func sineWAV(seconds, rate int) []byte {
	n := seconds * rate
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(rate))
	le(uint32(2 * rate)) // bytes per second
	le(uint16(2))        // block align
	le(uint16(16))       // bits per sample
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		le(int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

// hexASCII decodes the first n bytes of a hex string as text.
func hexASCII(h string, n int) (string, error) {
	if len(h) < 2*n {
		return "", fmt.Errorf("peer ID %q too short", h)
	}
	var sb strings.Builder
	for i := 0; i < 2*n; i += 2 {
		v, err := strconv.ParseUint(h[i:i+2], 16, 8)
		if err != nil {
			return "", err
		}
		sb.WriteByte(byte(v))
	}
	return sb.String(), nil
}

// getBody GETs url as a browser would (Accept prefers text/html, so an
// /episodes/{id} URL answers its page, not a redirect to the enclosure)
// and wants 200.
func getBody(c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return b, nil
}

func getJSON(c *http.Client, url string, v any) error {
	b, err := getBody(c, url)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// startNetnsPodseed starts `podseed serve args...` inside ns with debug
// logs, and stops it (SIGTERM, then SIGKILL) when the test ends.
func startNetnsPodseed(t *testing.T, ns, bin, dataDir string, args ...string) *crashProc {
	t.Helper()
	ip := mustHaveBinary(t, "ip")
	cmd := exec.Command(ip, append([]string{"netns", "exec", ns, bin, "serve", "--data-dir=" + dataDir}, args...)...)
	cmd.Env = append(os.Environ(), "PODSEED_LOG_LEVEL=debug")
	p := &crashProc{cmd: cmd, out: &crashTail{max: 1 << 20}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start podseed: %v", err)
	}
	p.started = time.Now()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGTERM, 30*time.Second); err != nil {
			t.Errorf("stop podseed: %v\n%s", err, lastBytes(p.out.String(), 4000))
		}
	})
	return p
}

// cdpPipe speaks the Chrome DevTools Protocol over --remote-debugging-pipe:
// NUL-terminated JSON messages, commands on the browser's fd 3, replies
// and events on its fd 4. Calls are sequential; events are skipped.
type cdpPipe struct {
	w      io.Writer
	r      *bufio.Reader
	nextID int
}

// startNetnsChromium starts headless Chromium inside ns with a DevTools
// pipe, autoplay allowed, real host ICE candidates (no mDNS names) and
// extra flags, and kills it and its children when the test ends.
func startNetnsChromium(t *testing.T, ns, chromiumBin string, flags ...string) *cdpPipe {
	t.Helper()
	ip := mustHaveBinary(t, "ip")
	cmdR, cmdW, err := os.Pipe() // browser reads commands from cmdR (fd 3)
	if err != nil {
		t.Fatal(err)
	}
	respR, respW, err := os.Pipe() // browser writes to respW (fd 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	args := []string{"netns", "exec", ns, chromiumBin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--window-size=1280,1400",
		"--remote-debugging-pipe", "--autoplay-policy=no-user-gesture-required",
		"--disable-features=WebRtcHideLocalIpsWithMdns"}
	args = append(append(args, flags...), "about:blank")
	cmd := exec.CommandContext(ctx, ip, args...)
	cmd.ExtraFiles = []*os.File{cmdR, respW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr crashTail
	stderr.max = 64 << 10
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	cmdR.Close()
	respW.Close()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		cancel()
		cmdW.Close()
		respR.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", lastBytes(stderr.String(), 4000))
		}
	})
	return &cdpPipe{w: cmdW, r: bufio.NewReader(respR)}
}

// call sends one command (to the browser if session is "", else to that
// session) and returns its result, failing the test on a protocol error.
func (c *cdpPipe) call(t *testing.T, session, method string, params any) json.RawMessage {
	t.Helper()
	c.nextID++
	id := c.nextID
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.w.Write(append(b, 0)); err != nil {
		t.Fatalf("cdp %s: write: %v", method, err)
	}
	for {
		line, err := c.r.ReadBytes(0)
		if err != nil {
			t.Fatalf("cdp %s: read: %v", method, err)
		}
		var reply struct {
			ID     int
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := json.Unmarshal(line[:len(line)-1], &reply); err != nil {
			t.Fatalf("cdp %s: decode %q: %v", method, line, err)
		}
		if reply.ID != id {
			continue // an event, or a reply nobody waits for
		}
		if reply.Error != nil {
			t.Fatalf("cdp %s: %s", method, reply.Error.Message)
		}
		return reply.Result
	}
}

// eval evaluates a JavaScript expression in the page and returns its value
// as a string (JSON strings decoded); a thrown exception fails the test.
func (c *cdpPipe) eval(t *testing.T, session, expr string) string {
	t.Helper()
	res := c.call(t, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	var r struct {
		Result struct {
			Type  string
			Value json.RawMessage
		}
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	mustUnmarshal(t, res, &r)
	if r.ExceptionDetails != nil {
		t.Fatalf("evaluate %s: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	var s string
	if json.Unmarshal(r.Result.Value, &s) == nil {
		return s
	}
	return string(r.Result.Value)
}

// TestWebTorrentWiring: on podseed's one HTTP port, a WebSocket upgrade of
// /announce reaches the WebTorrent tracker and a plain GET the BEP 3 one;
// the ws URL is in every torrent's announce list; the player's assets are
// served.
func TestWebTorrentWiring(t *testing.T) {
	ra := startApp(t, t.TempDir(), "127.0.0.1:0")
	base := ra.URLs().Base
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/announce"
	if ra.wsAnnounce != wsURL {
		t.Errorf("ws announce URL: got %q, want %q", ra.wsAnnounce, wsURL)
	}
	found := false
	for _, tier := range ra.announceList() {
		found = found || slices.Contains(tier, wsURL)
	}
	if !found {
		t.Errorf("announce list %v lacks %s", ra.announceList(), wsURL)
	}

	ws, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	resp.Body.Close()
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"action": "scrape"}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var reply map[string]any
	if err := ws.ReadJSON(&reply); err != nil {
		t.Fatal(err)
	}
	if reply["action"] != "scrape" {
		t.Errorf("ws scrape reply: got %v", reply)
	}

	// A plain GET is the HTTP tracker: a bencoded failure for a request
	// without parameters.
	body := httpGet(t, base+"/announce")
	if !bytes.Contains(body, []byte("failure reason")) {
		t.Errorf("GET /announce: got %q, want a bencoded failure", body)
	}
	if js := httpGet(t, base+"/static/player.js"); !bytes.Contains(js, []byte("webtorrent.min.js")) {
		t.Errorf("/static/player.js: unexpected body %.100q", js)
	}
	httpGet(t, base+"/static/vendor/webtorrent.min.js")
}
