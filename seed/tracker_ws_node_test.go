package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// wsNodeModules is where .ci/run installs the npm packages the WebSocket
// tracker tests drive (npm ci --prefix seed/testdata/npm).
const wsNodeModules = "testdata/npm/node_modules"

// TestWSTrackerNodeClient drives the npm bittorrent-tracker client, the
// tracker client WebTorrent uses, against the WSTracker: announces,
// completion, stop and scrapes (testdata/npm/ws-client.mjs).
func TestWSTrackerNodeClient(t *testing.T) {
	node := btRequireBinary(t, "node")
	if _, err := os.Stat(filepath.Join(wsNodeModules, "bittorrent-tracker")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npm packages missing (npm ci --prefix seed/testdata/npm): %v", err)
		}
		t.Skipf("npm packages missing (npm ci --prefix seed/testdata/npm): %v", err)
	}
	tr := NewWSTracker(WSTrackerConfig{Logger: btTestLogger(t)})
	u := wsTestServer(t, tr)
	ihHex := "0123456789abcdef0123456789abcdef01234567"

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "ws-client.mjs", u, ihHex)
	cmd.Dir = "testdata/npm"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node ws-client.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	type step struct {
		Step                             string
		Complete, Incomplete, Downloaded int
	}
	var got []step
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var s step
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("decode node output: %v", err)
		}
		got = append(got, s)
	}
	want := []step{
		{Step: "seeder-started", Complete: 1},
		{Step: "leecher-started", Complete: 1, Incomplete: 1},
		{Step: "scrape", Complete: 1, Incomplete: 1},
		{Step: "leecher-completed", Complete: 2},
		{Step: "leecher-stopped", Complete: 1},
		{Step: "scrape-after-stop", Complete: 1, Downloaded: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got steps %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := tr.Stats(); s.Failures != 0 || s.Scrapes != 2 {
		t.Errorf("tracker stats: got %+v", s)
	}
}
