package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConcurrencyDefaults: the default bounds follow the documented
// formulas (README, docs/performance.md): feed fetches 2 per core within
// [4, 32], ingest workers 1 per core within [2, 8]; a 2-core box keeps the
// bounds the benchmarks were measured with (4 and 2).
func TestConcurrencyDefaults(t *testing.T) {
	tests := []struct {
		ncpu             int
		wantPoll, wantIn int
	}{
		{1, 4, 2},
		{2, 4, 2},
		{3, 6, 3},
		{4, 8, 4},
		{8, 16, 8},
		{12, 24, 8},
		{64, 32, 8},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.ncpu), func(t *testing.T) {
			if got := defaultPollWorkers(tt.ncpu); got != tt.wantPoll {
				t.Errorf("defaultPollWorkers(%d): got %d, want %d", tt.ncpu, got, tt.wantPoll)
			}
			if got := defaultIngestWorkers(tt.ncpu); got != tt.wantIn {
				t.Errorf("defaultIngestWorkers(%d): got %d, want %d", tt.ncpu, got, tt.wantIn)
			}
		})
	}
}

// TestConcurrencyFlags: --poll-workers and --ingest-workers (and their
// PODSEED_* twins) override the core-sized defaults, which Open applies
// when they are 0 (the flags' default); the help text shows this
// machine's values; negative values are refused.
func TestConcurrencyFlags(t *testing.T) {
	open := func(t *testing.T, cfg Config) *App {
		t.Helper()
		cfg.DataDir, cfg.Listen, cfg.BTListenHost, cfg.UDPTracker = t.TempDir(), "127.0.0.1:0", "127.0.0.1", "off"
		cfg.PollInterval, cfg.DHT, cfg.BTPort = time.Hour, false, 0
		a, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		return a
	}

	cfg, err := parseServeConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, cfg)
	if want := defaultPollWorkers(numCPU()); a.cfg.PollWorkers != want {
		t.Errorf("default poll workers: got %d, want %d", a.cfg.PollWorkers, want)
	}
	if want := defaultIngestWorkers(numCPU()); a.cfg.IngestWorkers != want {
		t.Errorf("default ingest workers: got %d, want %d", a.cfg.IngestWorkers, want)
	}

	cfg, err = parseServeConfig(t, "--poll-workers=7", "--ingest-workers=3")
	if err != nil {
		t.Fatal(err)
	}
	if a := open(t, cfg); a.cfg.PollWorkers != 7 || a.cfg.IngestWorkers != 3 {
		t.Errorf("flags: got %d poll, %d ingest workers; want 7, 3", a.cfg.PollWorkers, a.cfg.IngestWorkers)
	}
	t.Setenv("PODSEED_POLL_WORKERS", "9")
	t.Setenv("PODSEED_INGEST_WORKERS", "5")
	if cfg, err = parseServeConfig(t); err != nil {
		t.Fatal(err)
	}
	if cfg.PollWorkers != 9 || cfg.IngestWorkers != 5 {
		t.Errorf("environment: got %d poll, %d ingest workers; want 9, 5", cfg.PollWorkers, cfg.IngestWorkers)
	}
	for _, arg := range []string{"--poll-workers=-1", "--ingest-workers=-1"} {
		if _, err := parseServeConfig(t, arg); err == nil {
			t.Errorf("%s: got nil error", arg)
		}
	}

	out, _, err := runCLI(t, "serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	out = strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"(" + strconv.Itoa(defaultPollWorkers(numCPU())) + " here)",
		"(" + strconv.Itoa(defaultIngestWorkers(numCPU())) + " here)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}
