package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// artifactDir is where browser tests save screenshots for CI:
// $PODSEED_ARTIFACT_DIR, else $TMPDIR/podseed-artifacts.
func artifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("PODSEED_ARTIFACT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "podseed-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// chromium runs headless Debian Chromium on url with extra args (e.g.
// --dump-dom, --screenshot=PATH) and returns its standard output. The flags
// keep it off the network except for url (this machine's network is closed).
func chromium(t *testing.T, url string, args ...string) []byte {
	t.Helper()
	bin := mustHaveBinary(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--window-size=1280,1600"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, lastBytes(stderr.String(), 4000))
	}
	return stdout.Bytes()
}
