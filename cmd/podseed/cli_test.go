package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

// runCLI runs podseed with args and returns stdout and stderr.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestCLIFeeds(t *testing.T) {
	dataDir := t.TempDir()
	dd := "--data-dir=" + dataDir
	steps := []struct {
		name    string
		args    []string
		want    string // regexp the output must match
		wantErr bool
	}{
		{"add", []string{dd, "add", "https://example.com/a.rss"}, `^added feed 1 https://example.com/a.rss\n$`, false},
		{"add again is idempotent", []string{dd, "add", "https://example.com/a.rss"}, `^feed 1 https://example.com/a.rss already exists\n$`, false},
		{"add second", []string{dd, "add", "https://example.com/b.rss"}, `^added feed 2 `, false},
		{"list", []string{dd, "list"}, `(?s)^1\thttps://example.com/a.rss\t\tnever polled\n2\thttps://example.com/b.rss\t\tnever polled\n$`, false},
		{"remove by id", []string{dd, "remove", "1"}, `^removed feed 1 https://example.com/a.rss\n$`, false},
		{"remove by URL", []string{dd, "remove", "https://example.com/b.rss"}, `^removed feed 2 `, false},
		{"remove unknown", []string{dd, "remove", "7"}, ``, true},
		{"list empty", []string{dd, "list"}, `^$`, false},
		{"version", []string{"version"}, `^podseed dev\n$`, false},
		{"unknown command", []string{"frobnicate"}, ``, true},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, tt.args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !regexp.MustCompile(tt.want).MatchString(out) {
				t.Errorf("output %q, want match for %q", out, tt.want)
			}
		})
	}
}

func TestCLIEnvironment(t *testing.T) {
	dataDir := t.TempDir()
	t.Setenv("PODSEED_DATA_DIR", dataDir)
	if _, _, err := runCLI(t, "add", "https://example.com/env.rss"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "podseed.db")); err != nil {
		t.Errorf("PODSEED_DATA_DIR not used: %v", err)
	}
}

func TestCLIHelp(t *testing.T) {
	out, _, err := runCLI(t, "--help")
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, cmd := range []string{"serve", "add", "list", "remove", "create", "version"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("help lacks %q:\n%s", cmd, out)
		}
	}
}

// TestCLICreate writes a .torrent for a local file and checks the printed
// infohash against mktorrent's for the same file, name and piece length.
func TestCLICreate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "episode-42.mp3")
	writeRandomFile(t, file, 40<<20+99, 42) // PieceLengthFor → 32 KiB (2^15, mktorrent's minimum)
	out := filepath.Join(dir, "ours.torrent")
	stdout, _, err := runCLI(t, "--data-dir="+dir, "create", file, "-o", out,
		"--web-seed=http://127.0.0.1:1/episode-42.mp3", "--announce=http://127.0.0.1:1/announce")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	m := regexp.MustCompile(`(?m)^infohash: ([0-9a-f]{40})$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no infohash in output:\n%s", stdout)
	}
	if !regexp.MustCompile(`(?m)^magnet: magnet:\?xt=urn:btih:` + m[1]).MatchString(stdout) {
		t.Errorf("no magnet for %s in output:\n%s", m[1], stdout)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("torrent not written: %v", err)
	}

	bin := mustHaveBinary(t, "mktorrent")
	theirs := filepath.Join(dir, "theirs.torrent")
	if b, err := exec.Command(bin, "-l", "15", "-n", "episode-42.mp3", "-o", theirs, file).CombinedOutput(); err != nil {
		t.Fatalf("mktorrent: %v\n%s", err, b)
	}
	stdout2, _, err := runCLI(t, "--data-dir="+dir, "create", file, "-o", filepath.Join(dir, "again.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	mi, err := metainfo.LoadFromFile(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m[1], mi.HashInfoBytes().HexString(); got != want {
		t.Errorf("podseed create infohash %s, mktorrent -l 15 %s", got, want)
	}
	if !strings.Contains(stdout2, m[1]) {
		t.Errorf("infohash changed with announce/web seed: %s vs\n%s", m[1], stdout2)
	}
}

// TestCLICreateURL downloads an enclosure once and gets the same infohash
// as hashing the local file under the same name.
func TestCLICreateURL(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "show.mp3")
	writeRandomFile(t, file, 3<<20+5, 7)
	var gets atomic.Int32
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		http.ServeFile(w, r, file)
	}))
	defer origin.Close()

	local, _, err := runCLI(t, "--data-dir="+dir, "create", file, "-o", filepath.Join(dir, "local.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	remote, _, err := runCLI(t, "--data-dir="+dir, "create", origin.URL+"/media/show.mp3?x=1", "-o", filepath.Join(dir, "remote.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^infohash: ([0-9a-f]{40})$`)
	l, r := re.FindStringSubmatch(local), re.FindStringSubmatch(remote)
	if l == nil || r == nil || l[1] != r[1] {
		t.Errorf("infohash from URL %v, from file %v", r, l)
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("origin saw %d requests, want 1", n)
	}
	if !strings.Contains(remote, "ws="+url.QueryEscape(origin.URL+"/media/show.mp3?x=1")) {
		t.Errorf("magnet lacks the web seed:\n%s", remote)
	}
}
