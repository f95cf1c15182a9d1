package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/mmcdole/gofeed"
	"golang.org/x/time/rate"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// crashSizes are the enclosure sizes in bytes of the crash test's three
// feeds, three episodes each: small enough to keep the test quick, large
// enough that, at crashBytesPerSecond, a download takes up to a second.
var crashSizes = [][]int64{
	{3<<20 + 12345, 5<<20 + 1, 1<<20 + 777},
	{4<<20 + 99, 2<<20 + 512<<10, 6 << 20},
	{1<<20 + 3, 3<<20 + 512<<10, 2<<20 + 4321},
}

// crashBytesPerSecond throttles each enclosure download of the crash test's
// origin, so that kills land mid-download.
const crashBytesPerSecond = 6 << 20

// crashMaxKillDelay bounds the random time between a start and its kill.
const crashMaxKillDelay = 1500 * time.Millisecond

// TestCrashRecovery starts the real podseed binary against a slow loopback
// origin and SIGKILLs it at random points, restarting it on the same data
// directory each time. With the process dead it checks that the store and
// the data directory are consistent: a ready episode has a torrent whose
// file is complete and correct; files/ holds only complete files; tmp/ only
// partial downloads, which the next start removes; nothing is downloaded
// twice in one run, and nothing ready is downloaded again. After each
// restart, once the process serves, the HTML pages (/, /feeds/{id},
// /episodes/{id}) of every feed and episode the last kill left in the
// store must render 200, whatever state the rows were left in. A last run
// without kill must torrentify everything and publish it.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	iterations := 8
	if s := os.Getenv("PODSEED_CRASH_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PODSEED_CRASH_ITERATIONS=%q: want a positive integer", s)
		}
		iterations = n
	}
	seedValue := uint64(time.Now().UnixNano())
	if s := os.Getenv("PODSEED_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PODSEED_CRASH_SEED=%q: %v", s, err)
		}
		seedValue = n
	}
	t.Logf("kill schedule seed %d (set PODSEED_CRASH_SEED to repeat it)", seedValue)
	rnd := rand.New(rand.NewPCG(seedValue, 0x9e3779b97f4a7c15))

	bin := buildCrashBinary(t)
	origin := newCrashOrigin(t, crashSizes, crashBytesPerSecond)
	dataDir := t.TempDir()
	listen := crashListenAddr(t)
	base := "http://" + listen

	total := 0
	for _, sizes := range crashSizes {
		total += len(sizes)
	}
	wasted := map[string]int{} // enclosure path → full downloads lost to a kill
	var prev crashSnapshot
	pagesRendered := 0 // pages that rendered after restarts, before the next kill
	for i := range iterations {
		before := origin.counts()
		origin.drainSent()
		p := startCrashProc(t, bin, dataDir, listen, origin.feedURLs())
		serving := false
		var delay time.Duration
		// Once the restarted process serves, the pages of everything the
		// last kill left in the store must render; fetched beside the kill
		// schedule so as not to move it.
		var pages crashPageCheck
		var pagesDone sync.WaitGroup
		checkPages := func() {
			pagesDone.Add(1)
			go func() { defer pagesDone.Done(); pages = fetchCrashPages(base, prev.pages) }()
		}
		if i%2 == 0 || len(prev.ready) == total {
			// Anywhere: while opening, polling, downloading, hashing …
			delay = time.Duration(rnd.Int64N(int64(crashMaxKillDelay) + 1))
			deadline := p.started.Add(delay)
			if serving = p.waitServingUntil(base, deadline); serving {
				checkPages()
			}
			p.waitUntil(deadline)
		} else {
			// Just after an enclosure's last byte left the origin: while
			// podseed syncs, renames, records and starts seeding it.
			if serving = p.waitServingUntil(base, time.Now().Add(30*time.Second)); serving {
				checkPages()
			}
			select {
			case <-origin.sent:
			case <-time.After(30 * time.Second):
				t.Errorf("iteration %d: no enclosure download completed within 30 s", i)
			case <-p.done:
			}
			// Half the time within 3 ms: the window before the torrent is
			// recorded is that short.
			maxDelay := 30 * time.Millisecond
			if rnd.IntN(2) == 0 {
				maxDelay = 3 * time.Millisecond
			}
			delay = time.Duration(rnd.Int64N(int64(maxDelay) + 1))
			p.waitUntil(time.Now().Add(delay))
		}
		killedAt := time.Now()
		p.kill(t)
		pagesDone.Wait()
		pages.check(t, i, killedAt)
		pagesRendered += pages.rendered
		snap := checkCrashInvariants(t, dataDir, origin)
		t.Logf("iteration %d: killed %v after start (serving: %v, %d of %d pages rendered before): %d of %d episodes ready, %d partial downloads, %d orphan files",
			i, time.Since(p.started).Round(time.Millisecond), serving, pages.rendered, len(prev.pages), len(snap.ready), total, len(snap.parts), len(snap.orphans))
		if serving {
			// The run got as far as serving HTTP: Open had cleared tmp/.
			for _, name := range prev.parts {
				if _, err := os.Stat(filepath.Join(dataDir, "tmp", name)); err == nil {
					t.Errorf("iteration %d: partial download %s of an earlier run survived a start", i, name)
				}
			}
		}
		checkCrashRun(t, i, before, origin.counts(), prev, snap, wasted)
		prev = snap
		if t.Failed() {
			t.Logf("podseed output (tail):\n%s", p.out.String())
			t.FailNow()
		}
	}

	// An orphan file (no torrent recorded) must never be published.
	orphanIH := plantCrashOrphan(t, dataDir)

	// The last run: no kill. Everything gets ready and published.
	before := origin.counts()
	p := startCrashProc(t, bin, dataDir, listen, origin.feedURLs())
	if !p.waitServingUntil(base, time.Now().Add(30*time.Second)) {
		t.Fatalf("podseed did not serve within 30 s:\n%s", p.out.String())
	}
	// Every page of what the kills left renders, before and after the
	// work is done.
	final := fetchCrashPages(base, prev.pages)
	final.check(t, iterations, time.Now())
	if final.rendered != len(prev.pages) {
		t.Errorf("final run: %d of %d pages rendered", final.rendered, len(prev.pages))
	}
	feedIDs := waitCrashAllReady(t, p, filepath.Join(dataDir, "podseed.db"), total)
	published := checkCrashPublished(t, base, origin, feedIDs)
	all := listCrashPages(t, filepath.Join(dataDir, "podseed.db"))
	done := fetchCrashPages(base, all)
	done.check(t, iterations, time.Now())
	if done.rendered != len(all) {
		t.Errorf("final run, all ready: %d of %d pages rendered", done.rendered, len(all))
	}
	t.Logf("%d pages rendered after restarts before their kill; %d after the last restart", pagesRendered, final.rendered+done.rendered)
	// Orphans left by kills got recorded when downloaded again; any that
	// were not, and the planted one, must not be served.
	for _, ih := range append(prev.orphans, orphanIH) {
		if published[ih] {
			continue
		}
		resp, err := http.Get(base + "/torrents/" + ih + ".torrent")
		if err != nil {
			t.Errorf("orphan %s: %v", ih, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("orphan file %s (no torrent recorded): /torrents/%s.torrent status %d, want 404", ih, ih, resp.StatusCode)
		}
	}
	if err := p.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Errorf("podseed after SIGTERM: %v\n%s", err, p.out.String())
	}
	snap := checkCrashInvariants(t, dataDir, origin)
	if len(snap.ready) != total {
		t.Errorf("%d episodes ready in the store, want %d", len(snap.ready), total)
	}
	if len(snap.parts) != 0 {
		t.Errorf("partial downloads left after a clean shutdown: %v", snap.parts)
	}
	checkCrashRun(t, iterations, before, origin.counts(), prev, snap, wasted)

	// Each enclosure was downloaded in full once, plus once per kill that
	// caught it downloaded but not yet recorded.
	after := origin.counts()
	if len(after.started) != total {
		t.Errorf("origin served %d distinct enclosures, want %d", len(after.started), total)
	}
	gets := 0
	for p, n := range after.started {
		gets += n
		if want := 1 + wasted[p]; after.completed[p] != want {
			t.Errorf("%s: downloaded in full %d times, want %d (1 + %d lost to kills)", p, after.completed[p], want, wasted[p])
		}
	}
	// With two ingest workers a kill interrupts at most two downloads.
	if limit := 2*iterations + total; gets > limit {
		t.Errorf("origin served %d enclosure GETs, want at most %d (2 per kill + 1 per episode)", gets, limit)
	}
	t.Logf("%d iterations: %d enclosure GETs for %d episodes, %d full downloads lost to kills", iterations, gets, total, sumCounts(wasted))
	if t.Failed() {
		t.Logf("podseed output (tail):\n%s", p.out.String())
	}
}

// TestGracefulShutdown sends SIGTERM to podseed while it downloads: it must
// exit with status 0 within 15 s, leave no partial download behind and keep
// the episode pending, not failed.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("graceful shutdown test skipped in -short mode")
	}
	bin := buildCrashBinary(t)
	// 1 MiB/s: the 6 MiB enclosure is mid-download for seconds.
	origin := newCrashOrigin(t, [][]int64{{6 << 20}}, 1<<20)
	dataDir := t.TempDir()
	listen := crashListenAddr(t)
	p := startCrashProc(t, bin, dataDir, listen, origin.feedURLs())
	deadline := time.Now().Add(30 * time.Second)
	for origin.counts().sent < 1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("no enclosure download under way after 30 s:\n%s", p.out.String())
		}
		if p.waitUntil(time.Now().Add(20 * time.Millisecond)) {
			t.Fatalf("podseed exited: %v\n%s", p.err, p.out.String())
		}
	}
	start := time.Now()
	if err := p.stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("podseed after SIGTERM mid-download: %v\n%s", err, p.out.String())
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if n := origin.counts().completed; sumCounts(n) != 0 {
		t.Fatalf("enclosure download completed before SIGTERM (%v): make the origin slower", n)
	}
	snap := checkCrashInvariants(t, dataDir, origin)
	if len(snap.parts) != 0 {
		t.Errorf("partial downloads left after SIGTERM: %v", snap.parts)
	}
	if len(snap.ready) != 0 {
		t.Errorf("episodes ready after an interrupted download: %v", snap.ready)
	}
	s, err := Config{DataDir: dataDir}.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	feeds, err := s.ListFeeds(context.Background())
	if err != nil || len(feeds) != 1 {
		t.Fatalf("feeds %v, %v: want one", feeds, err)
	}
	eps, err := s.ListEpisodesByFeed(context.Background(), feeds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		if e.State != store.EpisodePending || e.Attempts != 0 || e.LastError != "" {
			t.Errorf("episode %s: state %s, attempts %d, error %q after shutdown; want pending, untouched",
				e.GUID, e.State, e.Attempts, e.LastError)
		}
	}
	if t.Failed() {
		t.Logf("podseed output (tail):\n%s", p.out.String())
	}
}

// buildCrashBinary builds cmd/podseed into a temporary directory, with the
// race detector when the test binary has it (the packages are then in the
// build cache already).
func buildCrashBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "podseed")
	args := []string{"build", "-o", bin}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// crashListenAddr returns a 127.0.0.1 address with a port that was free a
// moment ago, for podseed's --listen.
func crashListenAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
}

// crashFile is one enclosure the crash origin serves.
type crashFile struct {
	path   string // local file
	size   int64
	sha256 string // hex
}

// crashCounts are the origin's enclosure request counters by URL path.
type crashCounts struct {
	started, completed map[string]int
	sent               int64 // enclosure bytes written
}

// crashOrigin is a podcast host on 127.0.0.1 serving several feeds (copies
// of testdata/megaphone-3-items.xml with their own GUIDs and enclosure
// names) and their enclosures, each download throttled so that it takes
// long enough to be interrupted. It counts GETs begun and GETs whose last
// byte was written.
type crashOrigin struct {
	srv   *httptest.Server
	feeds map[string][]byte // URL path → feed body
	files map[string]crashFile
	rate  int // bytes per second per download
	// sent receives an enclosure's URL path when its last byte was written
	// (dropped when nobody listens).
	sent chan string

	mu    sync.Mutex
	count crashCounts
}

var crashGUID = regexp.MustCompile(`<guid isPermaLink="false"><!\[CDATA\[([^\]]+)\]\]></guid>`)

// newCrashOrigin serves one feed per element of sizes, each with
// len(sizes[k]) enclosures of those sizes in bytes (at most three: the
// template's items).
func newCrashOrigin(t *testing.T, sizes [][]int64, bytesPerSecond int) *crashOrigin {
	t.Helper()
	template, err := os.ReadFile("testdata/megaphone-3-items.xml")
	if err != nil {
		t.Fatal(err)
	}
	o := &crashOrigin{
		feeds: map[string][]byte{}, files: map[string]crashFile{}, rate: bytesPerSecond,
		sent:  make(chan string, 1),
		count: crashCounts{started: map[string]int{}, completed: map[string]int{}},
	}
	// Fill in the feeds and files before serving: the race detector sees
	// no order between this goroutine and podseed's requests.
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	base := "http://" + o.srv.Listener.Addr().String()
	dir := t.TempDir()
	for k, feedSizes := range sizes {
		body := bytes.ReplaceAll(template, []byte("https://traffic.megaphone.fm/"), []byte(fmt.Sprintf("%s/media/f%d-", base, k)))
		if k > 0 {
			// Copies are other shows: other GUIDs.
			body = crashGUID.ReplaceAll(body, []byte(fmt.Sprintf(`<guid isPermaLink="false"><![CDATA[${1}-copy%d]]></guid>`, k)))
		}
		// Drop the items beyond len(feedSizes), so every item has a file.
		for bytes.Count(body, []byte("<item>")) > len(feedSizes) {
			i := bytes.LastIndex(body, []byte("<item>"))
			j := bytes.Index(body[i:], []byte("</item>"))
			body = append(body[:i:i], body[i+j+len("</item>"):]...)
		}
		o.feeds[fmt.Sprintf("/feed%d.xml", k)] = body
		rest := body
		for i, size := range feedSizes {
			_, after, ok := bytes.Cut(rest, []byte(`<enclosure url="`+base+"/media/"))
			if !ok {
				t.Fatalf("feed %d has fewer than %d enclosures", k, len(feedSizes))
			}
			name, _, _ := bytes.Cut(after, []byte("?"))
			rest = after
			p := filepath.Join(dir, string(name))
			writeRandomFile(t, p, size, uint64(100*k+i+1))
			o.files["/media/"+string(name)] = crashFile{path: p, size: size, sha256: fileSHA256(t, p)}
		}
	}
	o.srv.Start()
	if o.srv.URL != base {
		t.Fatalf("origin serves at %s, want %s", o.srv.URL, base)
	}
	return o
}

func (o *crashOrigin) feedURLs() []string {
	var urls []string
	for p := range o.feeds {
		urls = append(urls, o.srv.URL+p)
	}
	slices.Sort(urls)
	return urls
}

// fileFor returns the enclosure behind an enclosure URL.
func (o *crashOrigin) fileFor(enclosureURL string) (string, crashFile, bool) {
	p := strings.TrimPrefix(enclosureURL, o.srv.URL)
	p, _, _ = strings.Cut(p, "?")
	f, ok := o.files[p]
	return p, f, ok
}

// counts returns a copy of the counters.
func (o *crashOrigin) counts() crashCounts {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := crashCounts{started: map[string]int{}, completed: map[string]int{}, sent: o.count.sent}
	for p, n := range o.count.started {
		c.started[p] = n
	}
	for p, n := range o.count.completed {
		c.completed[p] = n
	}
	return c
}

// drainSent forgets completions signalled before now.
func (o *crashOrigin) drainSent() {
	for {
		select {
		case <-o.sent:
		default:
			return
		}
	}
}

func (o *crashOrigin) serve(w http.ResponseWriter, r *http.Request) {
	p := path.Clean(r.URL.Path)
	if body, ok := o.feeds[p]; ok {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("ETag", `"crash-v1"`)
		http.ServeContent(w, r, "", time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), bytes.NewReader(body))
		return
	}
	f, ok := o.files[p]
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Range") != "" {
		http.ServeFile(w, r, f.path) // web seed clients; podseed itself never asks for a range
		return
	}
	o.mu.Lock()
	o.count.started[p]++
	o.mu.Unlock()
	file, err := os.Open(f.path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer file.Close()
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("Content-Length", strconv.FormatInt(f.size, 10))
	const chunk = 32 << 10
	lim := rate.NewLimiter(rate.Limit(o.rate), chunk)
	buf := make([]byte, chunk)
	rc := http.NewResponseController(w)
	for {
		n, rerr := file.Read(buf)
		if n > 0 {
			if err := lim.WaitN(r.Context(), n); err != nil {
				return // the client went away
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			_ = rc.Flush()
			o.mu.Lock()
			o.count.sent += int64(n)
			o.mu.Unlock()
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return
		}
	}
	o.mu.Lock()
	o.count.completed[p]++
	o.mu.Unlock()
	select {
	case o.sent <- p:
	default:
	}
}

// crashProc is one `podseed serve` child process.
type crashProc struct {
	cmd     *exec.Cmd
	out     *crashTail
	started time.Time
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, once done is closed
}

// startCrashProc starts `podseed serve` on dataDir, HTTP on listen,
// BitTorrent on a free port, DHT and UDP tracker off, two ingest workers
// (TestCrashRecovery counts the downloads a kill interrupts), debug logs.
func startCrashProc(t *testing.T, bin, dataDir, listen string, feedURLs []string) *crashProc {
	t.Helper()
	args := append([]string{"serve", "--data-dir=" + dataDir, "--listen=" + listen, "--bt-port=0",
		"--no-dht", "--allow-private-addresses", "--udp-tracker=off", "--ingest-workers=2"}, feedURLs...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PODSEED_LOG_LEVEL=debug")
	p := &crashProc{cmd: cmd, out: &crashTail{max: 256 << 10}, done: make(chan struct{})}
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
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitUntil waits until deadline or until the process exits, and reports
// whether it exited.
func (p *crashProc) waitUntil(deadline time.Time) bool {
	timer := time.NewTimer(max(0, time.Until(deadline)))
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		return false
	}
}

// waitServingUntil polls base/healthz until it answers 200 (true), the
// deadline passes or the process exits (false).
func (p *crashProc) waitServingUntil(base string, deadline time.Time) bool {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		next := time.Now().Add(10 * time.Millisecond)
		if next.After(deadline) {
			next = deadline
		}
		if time.Now().After(deadline) || p.waitUntil(next) {
			return false
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone. The process
// must not have exited on its own before.
func (p *crashProc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("podseed exited on its own before the kill: %v\n%s", p.err, p.out.String())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill podseed: %v", err)
	}
	<-p.done
	if p.out.sawRace() {
		t.Errorf("podseed reported a data race:\n%s", p.out.String())
	}
}

// stop sends sig and waits up to timeout for a clean exit (status 0).
func (p *crashProc) stop(sig os.Signal, timeout time.Duration) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	if !p.waitUntil(time.Now().Add(timeout)) {
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("still running %v after %v", timeout, sig)
	}
	if p.out.sawRace() {
		return errors.New("data race reported")
	}
	if p.err != nil {
		return fmt.Errorf("exit: %w", p.err)
	}
	return nil
}

// crashTail keeps the last max bytes written to it, and whether a race
// detector report went through.
type crashTail struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	race bool
}

func (w *crashTail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("WARNING: DATA RACE")) {
		w.race = true
	}
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *crashTail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

func (w *crashTail) sawRace() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.race
}

// crashSnapshot is the data directory as found with podseed dead.
type crashSnapshot struct {
	ready   map[string]string // enclosure URL path → infohash
	parts   []string          // names in tmp/
	orphans []string          // infohashes in files/ without a torrent row
	pages   []string          // HTML pages of the feeds and episodes in the store: "/", "/feeds/1", "/episodes/1" …
}

// checkCrashInvariants checks, with podseed dead, what must hold whenever
// it stops, however abruptly, and returns what it found.
func checkCrashInvariants(t *testing.T, dataDir string, origin *crashOrigin) crashSnapshot {
	t.Helper()
	snap := crashSnapshot{ready: map[string]string{}, pages: []string{"/"}}
	ctx := context.Background()
	dbPath := filepath.Join(dataDir, "podseed.db")
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		// Killed before the store was created: nothing may be published.
		if entries, _ := os.ReadDir(filepath.Join(dataDir, "files")); len(entries) > 0 {
			t.Errorf("files/ has %d entries but there is no store", len(entries))
		}
		return snap
	}
	checkCrashSQLiteIntegrity(t, dbPath)
	s, err := Config{DataDir: filepath.Dir(dbPath)}.openStore(ctx)
	if err != nil {
		t.Fatalf("open store after kill: %v", err)
	}
	defer s.Close()

	feeds, err := s.ListFeeds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{} // infohash → has a torrent row
	for _, f := range feeds {
		snap.pages = append(snap.pages, fmt.Sprintf("/feeds/%d", f.ID))
		eps, err := s.ListEpisodesByFeed(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range eps {
			snap.pages = append(snap.pages, fmt.Sprintf("/episodes/%d", e.ID))
			if e.State != store.EpisodeReady {
				if e.InfoHash != "" {
					t.Errorf("episode %s is %s with infohash %s", e.GUID, e.State, e.InfoHash)
				}
				continue
			}
			p, file, ok := origin.fileFor(e.EnclosureURL)
			if !ok {
				t.Errorf("ready episode %s has an enclosure URL %q the origin does not serve", e.GUID, e.EnclosureURL)
				continue
			}
			tor, err := s.FindTorrentByInfoHash(ctx, e.InfoHash)
			if err != nil {
				t.Errorf("ready episode %s: %v", e.GUID, err)
				continue
			}
			recorded[tor.InfoHash] = true
			snap.ready[p] = tor.InfoHash
			checkCrashTorrent(t, e, tor, file)
		}
	}

	// files/<infohash>/<name>: only complete files, each hashing to its
	// directory's infohash, recorded or not.
	filesDir := filepath.Join(dataDir, "files")
	dirs, err := os.ReadDir(filesDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, d := range dirs {
		ih := d.Name()
		entries, err := os.ReadDir(filepath.Join(filesDir, ih))
		if err != nil || len(entries) != 1 || !entries[0].Type().IsRegular() {
			t.Errorf("files/%s: want one regular file, got %v (%v)", ih, entries, err)
			continue
		}
		name := entries[0].Name()
		fp := filepath.Join(filesDir, ih, name)
		fi, err := os.Stat(fp)
		if err != nil {
			t.Error(err)
			continue
		}
		_, got, err := seed.BuildMetainfo(fp, seed.MetainfoOptions{Name: name, PieceLength: seed.PieceLengthFor(fi.Size())})
		if err != nil || got != ih {
			t.Errorf("files/%s/%s (%d bytes) hashes to infohash %s (%v): a partial or corrupt file was published", ih, name, fi.Size(), got, err)
		}
		if !recorded[ih] {
			snap.orphans = append(snap.orphans, ih)
			t.Logf("orphan files/%s/%s: complete, no torrent recorded", ih, name)
		}
	}

	// tmp/: partial downloads only.
	entries, err := os.ReadDir(filepath.Join(dataDir, "tmp"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".part") {
			t.Errorf("tmp/%s: want only *.part files", e.Name())
		}
		snap.parts = append(snap.parts, e.Name())
	}
	return snap
}

// checkCrashTorrent checks a ready episode's torrent against the origin's
// file: size, data, SHA-256, metainfo and infohash.
func checkCrashTorrent(t *testing.T, e store.Episode, tor store.Torrent, file crashFile) {
	t.Helper()
	if tor.Size != file.size {
		t.Errorf("torrent %s: size %d, want %d", tor.InfoHash, tor.Size, file.size)
	}
	fi, err := os.Stat(tor.DataPath)
	if err != nil {
		t.Errorf("torrent %s: data file: %v", tor.InfoHash, err)
		return
	}
	if fi.Size() != file.size {
		t.Errorf("torrent %s: data file has %d bytes, want %d", tor.InfoHash, fi.Size(), file.size)
	}
	if got := fileSHA256(t, tor.DataPath); got != file.sha256 {
		t.Errorf("torrent %s: data SHA-256 %s, want the origin's %s", tor.InfoHash, got, file.sha256)
	}
	sum, _ := hex.DecodeString(file.sha256)
	if want := "sha256-" + base64.StdEncoding.EncodeToString(sum); tor.SRI != want {
		t.Errorf("torrent %s: SRI %s, want %s", tor.InfoHash, tor.SRI, want)
	}
	mi, err := metainfo.Load(bytes.NewReader(tor.Metainfo))
	if err != nil {
		t.Errorf("torrent %s: metainfo: %v", tor.InfoHash, err)
		return
	}
	if got := mi.HashInfoBytes().HexString(); got != tor.InfoHash {
		t.Errorf("torrent %s: metainfo infohash %s", tor.InfoHash, got)
	}
	if !slices.Contains(mi.UrlList, e.EnclosureURL) {
		t.Errorf("torrent %s: url-list %v lacks the enclosure URL %s", tor.InfoHash, mi.UrlList, e.EnclosureURL)
	}
	// The pieces are the data's: hashing the file again gives the infohash.
	if _, got, err := seed.BuildMetainfo(tor.DataPath, seed.MetainfoOptions{Name: tor.Name, PieceLength: tor.PieceLength}); err != nil || got != tor.InfoHash {
		t.Errorf("torrent %s: its data hashes to infohash %s (%v)", tor.InfoHash, got, err)
	}
}

// checkCrashSQLiteIntegrity runs SQLite's own consistency check.
func checkCrashSQLiteIntegrity(t *testing.T, dbPath string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(dbPath)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("SQLite integrity check after kill: %q, %v", res, err)
	}
}

// checkCrashRun checks the origin's counters over run i: no enclosure was
// downloaded twice in one run, none ready before the run was downloaded
// again, and ready episodes stayed ready with the same torrent. It adds,
// per enclosure, the downloads completed in the run but not recorded
// (lost to the kill) to wasted.
func checkCrashRun(t *testing.T, i int, before, after crashCounts, prev, snap crashSnapshot, wasted map[string]int) {
	t.Helper()
	for p, n := range after.started {
		started := n - before.started[p]
		completed := after.completed[p] - before.completed[p]
		if started > 1 {
			t.Errorf("run %d: %s requested %d times in one run, want at most once", i, p, started)
		}
		if _, ok := prev.ready[p]; ok && started > 0 {
			t.Errorf("run %d: %s downloaded again although ready", i, p)
		}
		if _, ok := snap.ready[p]; completed > 0 && !ok {
			wasted[p] += completed
		}
	}
	for p, ih := range prev.ready {
		if snap.ready[p] != ih {
			t.Errorf("run %d: %s was ready with %s, now %q", i, p, ih, snap.ready[p])
		}
	}
}

// plantCrashOrphan puts a complete file under files/<infohash>/ with no
// torrent recorded for it, as a kill between rename and record leaves one.
func plantCrashOrphan(t *testing.T, dataDir string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "orphan.mp3")
	writeRandomFile(t, src, 100<<10, 999)
	_, ih, err := seed.BuildMetainfo(src, seed.MetainfoOptions{Name: "orphan.mp3", PieceLength: seed.PieceLengthFor(100 << 10)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dataDir, "files", ih)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src, filepath.Join(dir, "orphan.mp3")); err != nil {
		t.Fatal(err)
	}
	return ih
}

// waitCrashAllReady waits, reading the store while podseed runs (SQLite
// WAL allows it), until want episodes are ready, and returns the feed IDs.
func waitCrashAllReady(t *testing.T, p *crashProc, dbPath string, want int) []int64 {
	t.Helper()
	ctx := context.Background()
	s, err := Config{DataDir: filepath.Dir(dbPath)}.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		feeds, err := s.ListFeeds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		ready := 0
		for _, f := range feeds {
			ids = append(ids, f.ID)
			eps, err := s.ListEpisodesByFeed(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range eps {
				if e.State == store.EpisodeReady {
					ready++
				}
			}
		}
		if ready == want {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d episodes ready after 2 min:\n%s", ready, want, p.out.String())
		}
		if p.waitUntil(time.Now().Add(100 * time.Millisecond)) {
			t.Fatalf("podseed exited: %v\n%s", p.err, p.out.String())
		}
	}
}

func crashGET(url string) ([]byte, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return body, nil
}

// checkCrashPublished checks what the final run publishes: every feed's
// republished and torrent feeds parse, every item has one alternate
// enclosure, and its .torrent is served with the infohash in its URL and
// the enclosure's length. It returns the infohashes published.
func checkCrashPublished(t *testing.T, base string, origin *crashOrigin, feedIDs []int64) map[string]bool {
	t.Helper()
	published := map[string]bool{}
	for _, id := range feedIDs {
		body, err := crashGET(fmt.Sprintf("%s/feeds/%d.rss", base, id))
		if err != nil {
			t.Errorf("republished feed %d: %v", id, err)
			continue
		}
		parsed, err := gofeed.NewParser().ParseString(string(body))
		if err != nil {
			t.Errorf("parse republished feed %d: %v", id, err)
			continue
		}
		for _, it := range parsed.Items {
			alts := it.Extensions["podcast"]["alternateEnclosure"]
			if len(alts) != 1 || len(it.Enclosures) != 1 {
				t.Errorf("feed %d item %q: %d alternate enclosures and %d enclosures, want 1 each", id, it.Title, len(alts), len(it.Enclosures))
				continue
			}
			var torrentURL string
			for _, s := range alts[0].Children["source"] {
				if s.Attrs["contentType"] == "application/x-bittorrent" {
					torrentURL = s.Attrs["uri"]
				}
			}
			mi, err := crashGET(torrentURL)
			if err != nil {
				t.Errorf("feed %d item %q: torrent %q: %v", id, it.Title, torrentURL, err)
				continue
			}
			m, err := metainfo.Load(bytes.NewReader(mi))
			if err != nil {
				t.Errorf("feed %d item %q: %v", id, it.Title, err)
				continue
			}
			ih := m.HashInfoBytes().HexString()
			published[ih] = true
			if torrentURL != base+"/torrents/"+ih+".torrent" {
				t.Errorf("feed %d item %q: %s serves infohash %s", id, it.Title, torrentURL, ih)
			}
			_, file, ok := origin.fileFor(it.Enclosures[0].URL)
			if !ok {
				t.Errorf("feed %d item %q: enclosure %s unknown", id, it.Title, it.Enclosures[0].URL)
				continue
			}
			if info, err := m.UnmarshalInfo(); err != nil || info.Length != file.size {
				t.Errorf("feed %d item %q: torrent length %d, want %d (%v)", id, it.Title, info.Length, file.size, err)
			}
		}
		tf, err := crashGET(fmt.Sprintf("%s/feeds/%d/torrents.rss", base, id))
		if err != nil {
			t.Errorf("torrent feed %d: %v", id, err)
			continue
		}
		if parsedTF, err := gofeed.NewParser().ParseString(string(tf)); err != nil || len(parsedTF.Items) != len(parsed.Items) {
			t.Errorf("torrent feed %d: %v, want %d items", id, err, len(parsed.Items))
		}
	}
	return published
}

// crashPageCheck is what fetchCrashPages saw.
type crashPageCheck struct {
	rendered int       // pages answered 200 with HTML
	bad      []string  // pages answered otherwise, with the status
	err      error     // the transport error that ended the check, if any
	errAt    time.Time // when it happened
}

// fetchCrashPages GETs each page from base as a browser would (Accept:
// text/html), until the first transport error: the process being killed
// under it ends the check.
func fetchCrashPages(base string, pages []string) crashPageCheck {
	var c crashPageCheck
	client := &http.Client{Timeout: 10 * time.Second}
	for _, p := range pages {
		req, err := http.NewRequest(http.MethodGet, base+p, nil)
		if err != nil {
			c.err, c.errAt = err, time.Now()
			return c
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		resp, err := client.Do(req)
		if err != nil {
			c.err, c.errAt = err, time.Now()
			return c
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		switch {
		case err != nil:
			c.err, c.errAt = err, time.Now()
			return c
		case resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/html"):
			c.bad = append(c.bad, fmt.Sprintf("%s: %d %s", p, resp.StatusCode, ct))
		default:
			c.rendered++
		}
	}
	return c
}

// check fails the test for every page that did not render and for a
// transport error before the process was killed at killedAt (a handler
// that crashed the process, or hung).
func (c crashPageCheck) check(t *testing.T, i int, killedAt time.Time) {
	t.Helper()
	for _, b := range c.bad {
		t.Errorf("run %d: page %s, want 200 text/html", i, b)
	}
	if c.err != nil && c.errAt.Before(killedAt) {
		t.Errorf("run %d: pages: %v before the kill", i, c.err)
	}
}

// listCrashPages returns the HTML pages of every feed and episode in the
// store at dbPath, which the running process has open too.
func listCrashPages(t *testing.T, dbPath string) []string {
	t.Helper()
	s, err := Config{DataDir: filepath.Dir(dbPath)}.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pages := []string{"/"}
	feeds, err := s.ListFeeds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range feeds {
		pages = append(pages, fmt.Sprintf("/feeds/%d", f.ID))
		eps, err := s.ListEpisodesByFeed(context.Background(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range eps {
			pages = append(pages, fmt.Sprintf("/episodes/%d", e.ID))
		}
	}
	return pages
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
