package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// clientAria2cResult is one aria2c download from a seeded fixture.
type clientAria2cResult struct {
	path string // the downloaded file
	// run is aria2c's whole run: start-up, tracker announce, peer
	// scheduling, transfer, shut-down.
	run time.Duration
	// upload is from the seeder's first uploaded byte to its last, sampled
	// every 10 ms; zero if not measured.
	upload time.Duration
	// peers is the last non-empty list of the seeder's Peers while
	// aria2c ran.
	peers []PeerInfo
}

// clientAria2cCommand returns aria2c (the binary at path aria2c) set to
// download torrentPath into dir and exit once it is complete: no config
// file, DHT, local peer discovery and PEX off (so its only peer source is
// the torrent's tracker), no seeding after completion, and giving up
// after 30 s at zero download speed. The command is killed when ctx ends.
func clientAria2cCommand(ctx context.Context, aria2c, dir, torrentPath string) *exec.Cmd {
	return exec.CommandContext(ctx, aria2c,
		"--no-conf",
		"--enable-dht=false",
		"--enable-dht6=false",
		"--bt-enable-lpd=false",
		"--enable-peer-exchange=false",
		"--seed-time=0",
		"--bt-stop-timeout=30",
		"--summary-interval=0",
		"--console-log-level=warn",
		"--dir="+dir,
		torrentPath,
	)
}

// clientAria2cDownload downloads fx's torrent with aria2c into a fresh
// directory. DHT, local peer discovery and PEX are off, so aria2c's only
// peer source is the loopback tracker.
func clientAria2cDownload(t *testing.T, fx btSeedFixture, timeout time.Duration) clientAria2cResult {
	t.Helper()
	aria2c := btRequireBinary(t, "aria2c")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := clientAria2cCommand(ctx, aria2c, dir, fx.torrentPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Sample the seeder while aria2c runs, to time the transfer apart from
	// aria2c's start-up and shut-down.
	var first, last time.Time
	var peers []PeerInfo
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			st, _ := fx.client.Stats(fx.infoHash)
			if st.BytesUploaded > 0 && first.IsZero() {
				first = time.Now()
			}
			if st.BytesUploaded >= fx.size && last.IsZero() {
				last = time.Now()
			}
			if ps, _ := fx.client.Peers(fx.infoHash); len(ps) > 0 {
				peers = ps
			}
		}
	}
	res := clientAria2cResult{
		path:  filepath.Join(dir, filepath.Base(fx.dataPath)),
		run:   time.Since(start),
		peers: peers,
	}
	if err != nil {
		t.Fatalf("aria2c: %v\n%s", err, out.String())
	}
	if !first.IsZero() && !last.IsZero() {
		res.upload = last.Sub(first)
	}
	return res
}

func clientCheckAria2c(t *testing.T, size int64) {
	fx := btMustSeed(t, size)
	res := clientAria2cDownload(t, fx, 5*time.Minute)
	if h := btFileSHA256(t, res.path); h != fx.sha256 {
		t.Fatalf("downloaded sha256: got %s, want %s", h, fx.sha256)
	}
	mib := float64(size) / (1 << 20)
	t.Logf("aria2c: %.0f MiB, run %v (%.1f MiB/s), upload %v (%.1f MiB/s)",
		mib, res.run.Round(time.Millisecond), mib/res.run.Seconds(),
		res.upload.Round(time.Millisecond), mib/max(res.upload, time.Millisecond).Seconds())

	// aria2c with --seed-time=0 announces "stopped" with left=0, never
	// "completed"; the tracker counts the leecher turned seeder.
	btWaitUntil(t, 10*time.Second, "scrape to count the completed download", func() bool {
		return fx.tracker.Scrape(fx.infoHash).Completed >= 1
	})
	st, ok := fx.client.Stats(fx.infoHash)
	if !ok {
		t.Fatal("Stats: torrent not found")
	}
	if !st.Complete || st.BytesCompleted != size || st.Size != size {
		t.Errorf("Stats: got %+v, want complete with %d bytes", st, size)
	}
	if st.BytesUploaded < size {
		t.Errorf("BytesUploaded: got %d, want >= %d", st.BytesUploaded, size)
	}

	// Peers saw aria2c, on loopback, while it downloaded.
	if len(res.peers) == 0 {
		t.Fatal("Peers while aria2c ran: got none")
	}
	for _, p := range res.peers {
		if !p.Addr.Addr().IsLoopback() || p.Addr.Port() == 0 || !strings.HasPrefix(p.ClientName, "aria2") ||
			p.Progress < 0 || p.Progress > 1 || p.WebSeed {
			t.Errorf("Peers while aria2c ran: got %+v, want aria2 on loopback", p)
		}
	}
}

// TestClientAria2c seeds a file with podseed's client and downloads it with
// aria2c, which finds the seeder through podseed's tracker.
func TestClientAria2c(t *testing.T) {
	clientCheckAria2c(t, 8<<20)
}

// TestClientAria2cLarge is the regression test for uploads stalling after
// about 1.8 MB with anacrolix's default MaxAllocPeerRequestDataPerConn.
func TestClientAria2cLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB download skipped in -short mode")
	}
	clientCheckAria2c(t, 64<<20)
}

// TestClientTransmission seeds to transmission-cli. Transmission ignores
// 127.0.0.0/8 peers from trackers, so podseed's client dials it (AddPeers).
func TestClientTransmission(t *testing.T) {
	bin := btRequireBinary(t, "transmission-cli")
	fx := btMustSeed(t, 8<<20)

	dlDir, port := btStartTransmission(t, bin, fx.torrentPath)

	peer := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	// Dial once transmission has announced "started" (it has verified its
	// empty file and listens): before that it refuses the connection, and a
	// refused TCP dial leaves anacrolix waiting 20 s for its uTP dial.
	btWaitUntil(t, time.Minute, "transmission to announce", func() bool {
		return fx.tracker.Scrape(fx.infoHash).Leechers >= 1
	})
	if err := fx.client.AddPeers(fx.infoHash, []netip.AddrPort{peer}); err != nil {
		t.Fatalf("AddPeers: %v", err)
	}
	got := filepath.Join(dlDir, filepath.Base(fx.dataPath))
	start := time.Now()
	btWaitUntil(t, 2*time.Minute, "transmission to download the file", func() bool {
		fi, err := os.Stat(got)
		return err == nil && fi.Size() == fx.size && btFileSHA256(t, got) == fx.sha256
	})
	elapsed := time.Since(start)
	t.Logf("transmission downloaded %d MiB in %v", fx.size>>20, elapsed.Round(time.Millisecond))
}

// btStartTransmission starts transmission-cli (bin) on torrentPath with
// DHT, LPD, PEX, uTP and port forwarding off, bound to loopback, in a
// fresh HOME. It returns the download directory and transmission's peer
// port. transmission-cli keeps seeding after it completes, so a cleanup
// stops it (and logs its output if the test failed).
func btStartTransmission(t *testing.T, bin, torrentPath string) (dlDir string, port int) {
	t.Helper()
	home := t.TempDir()
	configDir := filepath.Join(home, "config")
	dlDir = filepath.Join(home, "download")
	for _, d := range []string{configDir, dlDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port = clientFreeTCPPort(t)
	settings, err := json.Marshal(map[string]any{
		"dht-enabled":             false,
		"lpd-enabled":             false,
		"pex-enabled":             false,
		"utp-enabled":             false,
		"port-forwarding-enabled": false,
		"bind-address-ipv4":       "127.0.0.1",
		"bind-address-ipv6":       "::1",
		"peer-port":               port,
		"rpc-enabled":             false,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(configDir, "settings.json"), settings, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "-g", configDir, "-w", dlDir, "-p", strconv.Itoa(port), "-M", torrentPath)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cancel()
		if t.Failed() {
			t.Logf("transmission-cli output:\n%s", out.String())
		}
	})
	return dlDir, port
}

func clientFreeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// clientBytesHashed returns how many bytes anacrolix has hashed for the
// torrent since it was added.
func clientBytesHashed(t *testing.T, c *Client, infoHash string) int64 {
	t.Helper()
	tor, ok := c.cl.Torrent(metainfo.NewHashFromHex(infoHash))
	if !ok {
		t.Fatalf("torrent %s not in client", infoHash)
	}
	s := tor.Stats()
	return s.BytesHashed.Int64()
}

// TestClientRestartTrustsCompletion restarts the client on the same data dir
// and re-adds a torrent with verified=false: it must be complete at once,
// with nothing hashed. A byte changed behind podseed's back (same size)
// proves the data was not read: a hash check would have failed that piece.
func TestClientRestartTrustsCompletion(t *testing.T) {
	dir := t.TempDir()
	dataPath := filepath.Join(dir, "files", "ep.mp3")
	if err := os.MkdirAll(filepath.Dir(dataPath), 0o755); err != nil {
		t.Fatal(err)
	}
	const size = 3<<20 + 12345
	btMustWriteRandomFile(t, dataPath, size)
	mi := btMustMakeTorrent(t, dataPath, 64<<10, "")

	c1, err := NewClient(ClientConfig{DataDir: dir, ListenHost: "127.0.0.1", DisableDHT: true, Logger: btTestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ih, err := c1.AddTorrent(t.Context(), mi, dataPath, true)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := c1.Stats(ih); !st.Complete {
		t.Errorf("verified add: got %+v, want complete", st)
	}
	if got := clientBytesHashed(t, c1, ih); got != 0 {
		t.Errorf("verified add hashed %d bytes, want 0", got)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.OpenFile(dataPath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xde, 0xad}, size/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := btMustNewClient(t, dir)
	ih2, err := c2.AddTorrent(t.Context(), mi, dataPath, false)
	if err != nil {
		t.Fatal(err)
	}
	if ih2 != ih {
		t.Fatalf("infohash: got %s, want %s", ih2, ih)
	}
	// No polling: completion comes from the database while adding.
	st, ok := c2.Stats(ih)
	if !ok || !st.Complete || st.BytesCompleted != size {
		t.Errorf("after restart: got %+v, %v; want complete with %d bytes", st, ok, size)
	}
	if got := clientBytesHashed(t, c2, ih); got != 0 {
		t.Errorf("after restart hashed %d bytes, want 0", got)
	}
}

// TestClientHashChecksUnknownCompletion adds torrents with verified=false to
// a data dir that knows nothing about them: they are hash-checked, a good
// file becomes complete, and a corrupted one stays incomplete without being
// renamed or rewritten (the client never downloads).
func TestClientHashChecksUnknownCompletion(t *testing.T) {
	dir := t.TempDir()
	c := btMustNewClient(t, dir)
	const size = 2<<20 + 777
	const pieceLength = 64 << 10

	good := filepath.Join(dir, "good.mp3")
	btMustWriteRandomFile(t, good, size)
	ihGood, err := c.AddTorrent(t.Context(), btMustMakeTorrent(t, good, pieceLength, ""), good, false)
	if err != nil {
		t.Fatal(err)
	}

	bad := filepath.Join(dir, "bad.mp3")
	btMustWriteRandomFile(t, bad, size)
	miBad := btMustMakeTorrent(t, bad, pieceLength, "")
	f, err := os.OpenFile(bad, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0}, pieceLength+1); err != nil { // in piece 1
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	badSum := btFileSHA256(t, bad)
	ihBad, err := c.AddTorrent(t.Context(), miBad, bad, false)
	if err != nil {
		t.Fatal(err)
	}

	btWaitUntil(t, 30*time.Second, "hash checks", func() bool {
		return clientBytesHashed(t, c, ihGood) == size && clientBytesHashed(t, c, ihBad) == size
	})
	btWaitUntil(t, 10*time.Second, "good torrent complete", func() bool {
		st, _ := c.Stats(ihGood)
		return st.Complete
	})
	btWaitUntil(t, 10*time.Second, "bad torrent to miss one piece", func() bool {
		st, _ := c.Stats(ihBad)
		return st.BytesCompleted == size-pieceLength
	})
	if st, _ := c.Stats(ihBad); st.Complete {
		t.Errorf("corrupted torrent: got %+v, want incomplete", st)
	}
	if got := btFileSHA256(t, bad); got != badSum {
		t.Errorf("corrupted file changed: sha256 %s, want %s", got, badSum)
	}
	if _, err := os.Stat(bad + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("part file: got %v, want none", err)
	}
}

func TestClientAddTorrentErrors(t *testing.T) {
	dir := t.TempDir()
	c := btMustNewClient(t, dir)
	path := filepath.Join(dir, "ep.mp3")
	btMustWriteRandomFile(t, path, 100_000)
	mi := btMustMakeTorrent(t, path, 16<<10, "")

	short := filepath.Join(dir, "short.mp3")
	if err := os.WriteFile(short, make([]byte, 99_999), 0o644); err != nil {
		t.Fatal(err)
	}
	multiDir := filepath.Join(dir, "multi")
	if err := os.MkdirAll(multiDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(multiDir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	multi := btMustMakeTorrent(t, multiDir, 16<<10, "")
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name     string
		ctx      context.Context
		mi       []byte
		dataPath string
		wantErr  string
	}{
		{"garbage metainfo", t.Context(), []byte("not bencode"), path, "decode metainfo"},
		{"missing file", t.Context(), mi, filepath.Join(dir, "nope.mp3"), "no such file"},
		{"directory", t.Context(), mi, dir, "not a regular file"},
		{"wrong size", t.Context(), mi, short, "has 99999 bytes, torrent has 100000"},
		{"multi-file", t.Context(), multi, multiDir, "multi-file"},
		{"canceled", canceled, mi, path, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.AddTorrent(tt.ctx, tt.mi, tt.dataPath, true)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error: got %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if got := len(c.cl.Torrents()); got != 0 {
		t.Errorf("torrents after failed adds: got %d, want 0", got)
	}
}

func TestClientAddDropLifecycle(t *testing.T) {
	dir := t.TempDir()
	c := btMustNewClient(t, dir)
	path := filepath.Join(dir, "ep.mp3")
	btMustWriteRandomFile(t, path, 300_000)
	mi := btMustMakeTorrent(t, path, 32<<10, "")
	want := btInfoHash(t, mi)

	for i := range 2 { // idempotent
		ih, err := c.AddTorrent(t.Context(), mi, path, true)
		if err != nil {
			t.Fatal(err)
		}
		if ih != want {
			t.Errorf("add %d: got infohash %s, want %s", i, ih, want)
		}
	}
	if got := len(c.cl.Torrents()); got != 1 {
		t.Errorf("torrents: got %d, want 1", got)
	}
	if st, ok := c.Stats(strings.ToUpper(want)); !ok || st.InfoHash != want || !st.Complete || st.Size != 300_000 {
		t.Errorf("Stats: got %+v, %v", st, ok)
	}
	if ps, ok := c.Peers(want); !ok || len(ps) != 0 {
		t.Errorf("Peers: got %+v, %v, want none, true", ps, ok)
	}
	if c.ListenPort() == 0 {
		t.Error("ListenPort: got 0")
	}
	if err := c.AddPeers(want, []netip.AddrPort{{}}); err == nil {
		t.Error("AddPeers with an invalid address: got nil error")
	}

	if err := c.DropTorrent(want); err != nil {
		t.Fatal(err)
	}
	if err := c.DropTorrent(want); err != nil {
		t.Errorf("second DropTorrent: %v", err)
	}
	if _, ok := c.Stats(want); ok {
		t.Error("Stats after drop: got ok")
	}
	if ps, ok := c.Peers(want); ok || ps != nil {
		t.Errorf("Peers after drop: got %+v, %v, want nil, false", ps, ok)
	}
	if err := c.AddPeers(want, nil); !errors.Is(err, ErrUnknownTorrent) {
		t.Errorf("AddPeers after drop: got %v, want ErrUnknownTorrent", err)
	}
	if err := c.DropTorrent("xyz"); err == nil {
		t.Error("DropTorrent with a malformed infohash: got nil error")
	}
	if _, ok := c.Stats("xyz"); ok {
		t.Error("Stats with a malformed infohash: got ok")
	}
	if ps, ok := c.Peers("xyz"); ok || ps != nil {
		t.Errorf("Peers with a malformed infohash: got %+v, %v, want nil, false", ps, ok)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("data file after drop: %v", err)
	}

	// Re-adding after a drop is cheap: completion was kept.
	if _, err := c.AddTorrent(t.Context(), mi, path, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Stats(want); !st.Complete {
		t.Errorf("re-added: got %+v, want complete", st)
	}
	if got := clientBytesHashed(t, c, want); got != 0 {
		t.Errorf("re-added hashed %d bytes, want 0", got)
	}
}

func TestClientConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ClientConfig
		wantErr bool
	}{
		{"ipv4 host", ClientConfig{ListenHost: "127.0.0.1", DisableDHT: true}, false},
		{"ipv6 host", ClientConfig{ListenHost: "::1", DisableDHT: true}, false},
		{"rate limited", ClientConfig{ListenHost: "127.0.0.1", DisableDHT: true, UploadRateLimit: 100 << 10}, false},
		{"negative rate", ClientConfig{ListenHost: "127.0.0.1", DisableDHT: true, UploadRateLimit: -1}, true},
		{"no data dir", ClientConfig{ListenHost: "127.0.0.1", DisableDHT: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "no data dir" {
				tt.cfg.DataDir = t.TempDir()
			}
			c, err := NewClient(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer c.Close()
			if c.ListenPort() == 0 {
				t.Error("ListenPort: got 0")
			}
			if _, err := os.Stat(filepath.Join(tt.cfg.DataDir, "piece-completion")); err != nil {
				t.Errorf("piece completion dir: %v", err)
			}
		})
	}

	// A second client on the same data dir cannot open the database.
	dir := t.TempDir()
	btMustNewClient(t, dir)
	if c2, err := NewClient(ClientConfig{DataDir: dir, ListenHost: "127.0.0.1", DisableDHT: true}); err == nil {
		c2.Close()
		t.Error("second client on one data dir: got nil error")
	}
}

// TestClientListenPortAfterClose: a closed client reports no listener, so
// that podseed's health check sees it is not running.
func TestClientListenPortAfterClose(t *testing.T) {
	c, err := NewClient(ClientConfig{DataDir: t.TempDir(), ListenHost: "127.0.0.1", DisableDHT: true, Logger: btTestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenPort() == 0 {
		t.Fatal("ListenPort before Close: got 0")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := c.ListenPort(); got != 0 {
		t.Errorf("ListenPort after Close: got %d, want 0", got)
	}
}

// TestClientUploadRateLimit checks the limiter is wired: uploading 2 MiB at
// 1 MiB/s takes about a second.
func TestClientUploadRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test skipped in -short mode")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ep.mp3")
	const size = 2 << 20
	btMustWriteRandomFile(t, path, size)
	tr, announce := btMustStartTracker(t)
	mi := btMustMakeTorrent(t, path, 64<<10, announce)
	torrentPath := filepath.Join(dir, "ep.torrent")
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientConfig{DataDir: dir, ListenHost: "127.0.0.1", DisableDHT: true, UploadRateLimit: 1 << 20, Logger: btTestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ih, err := c.AddTorrent(t.Context(), mi, path, true)
	if err != nil {
		t.Fatal(err)
	}
	fx := btSeedFixture{client: c, tracker: tr, infoHash: ih, torrentPath: torrentPath, dataPath: path, sha256: btFileSHA256(t, path), size: size}
	res := clientAria2cDownload(t, fx, 2*time.Minute)
	if h := btFileSHA256(t, res.path); h != fx.sha256 {
		t.Fatalf("downloaded sha256: got %s, want %s", h, fx.sha256)
	}
	// 2 MiB at 1 MiB/s with a 1 MiB burst: about one second of uploading.
	if res.upload < 700*time.Millisecond {
		t.Errorf("upload at 1 MiB/s took %v, want about 1s", res.upload)
	}
	t.Logf("rate-limited upload of 2 MiB took %v", res.upload)
}
