package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// mustHaveBinary returns the path of an external program a test needs. It
// skips the test when the program is missing, except in CI (CI=true), where
// a missing client is a failure.
func mustHaveBinary(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is required in CI: %v", name, err)
		}
		tb.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// waitFor polls cond every 50 ms until it is true or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fileSHA256(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatalf("hash %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileHasSHA256 reports whether path exists and hashes to want.
func fileHasSHA256(path, want string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == want
}

// aria2cDownload downloads the torrent at torrentPath into dir with aria2c,
// DHT, LPD and PEX off, so only the tracker and web seeds can help.
func aria2cDownload(t *testing.T, torrentPath, dir string) {
	t.Helper()
	bin := mustHaveBinary(t, "aria2c")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
		"--enable-peer-exchange=false", "--seed-time=0", "--bt-stop-timeout=240",
		"--allow-overwrite=true", "--summary-interval=0", "--console-log-level=warn",
		"--listen-port="+strconv.Itoa(freeTCPPort(t)), "--no-conf=true", "--dir="+dir, torrentPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("aria2c %s: %v\n%s", filepath.Base(torrentPath), err, out.String())
	}
}

// freeTCPPort returns a port that was free on 127.0.0.1 a moment ago.
func freeTCPPort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// transmissionDownload runs transmission-cli on torrentPath until want
// (a SHA-256) lands at dir/name, calling dial with transmission's peer port
// once it runs (transmission ignores 127.x peers it gets from a tracker, so
// the seeder must dial it). transmission-cli does not exit on completion;
// the test stops it.
func transmissionDownload(t *testing.T, torrentPath, dir, name, want string, dial func(port int)) {
	t.Helper()
	bin := mustHaveBinary(t, "transmission-cli")
	port := freeTCPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-w", dir, "-g", t.TempDir(), "-p", strconv.Itoa(port),
		"--no-downlimit", "--no-uplimit", torrentPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start transmission-cli: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		cancel()
		<-done
	}()
	if dial != nil {
		waitFor(t, 30*time.Second, "transmission-cli to listen", func() bool {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		})
		dial(port)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !fileHasSHA256(filepath.Join(dir, name), want) {
		select {
		case <-done:
			t.Fatalf("transmission-cli exited early:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("transmission-cli did not complete %s:\n%s", name, lastBytes(out.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
