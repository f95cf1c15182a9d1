package main

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/podseed/podseed/store"
)

// TestServeFollowsCLI runs `serve` (an App) and, as separate processes of
// the real binary on the same data directory, `podseed add` and `podseed
// remove`: a feed added while serving is polled and seeded at the next
// due-check tick, and after one is removed, serve stops seeding (and
// tracking) the torrents no other feed shares within a tick, while the
// shared ones keep seeding.
func TestServeFollowsCLI(t *testing.T) {
	template, err := os.ReadFile("testdata/megaphone-3-items.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Two hosts with the same show: the same bytes under the same names
	// give the same torrents, except the third episode, whose size differs.
	originA := newTestOrigin(t, template, []int64{40_000, 50_000, 60_000})
	originB := newTestOrigin(t, template, []int64{40_000, 50_000, 70_000})
	feedA, feedB := originA.URL("/feed.xml"), originB.URL("/feed.xml")
	dataDir := t.TempDir()
	ctx := context.Background()
	bin := buildCrashBinary(t)
	cli := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--data-dir=" + dataDir}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("podseed %v: %v\n%s", args, err, out)
		}
	}

	a, err := Open(ctx, Config{
		DataDir: dataDir, Listen: "127.0.0.1:0", BTListenHost: "127.0.0.1",
		PollInterval: time.Hour, AllowPrivateAddresses: true,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A short tick keeps the test short; the code path is the cron job's.
	a.dueEvery = 500 * time.Millisecond
	if _, _, err := a.Store().CreateFeed(ctx, feedA); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ra := &runningApp{App: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(runCtx) }()
	t.Cleanup(func() { ra.stop(t) })

	seeded := func(ih string) bool {
		st, ok := a.Client().Stats(ih)
		return ok && st.Complete
	}
	feedTorrents := func(url string) []string {
		t.Helper()
		f, err := a.Store().FindFeedByURL(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var ihs []string
		for _, e := range readyEpisodes(t, a.Store(), f.ID) {
			ihs = append(ihs, e.InfoHash)
		}
		return ihs
	}
	waitFor(t, 2*time.Minute, "feed A's episodes to be seeded", func() bool {
		ihs := feedTorrents(feedA)
		return len(ihs) == 3 && seeded(ihs[0]) && seeded(ihs[1]) && seeded(ihs[2])
	})

	// `podseed add` from another process: polled at the next tick.
	cli("add", feedB)
	waitFor(t, 2*time.Minute, "feed B, added by the CLI, to be polled and seeded", func() bool {
		ihs := feedTorrents(feedB)
		return len(ihs) == 3 && seeded(ihs[0]) && seeded(ihs[1]) && seeded(ihs[2])
	})
	tA, tB := feedTorrents(feedA), feedTorrents(feedB)
	shared, onlyA := map[string]bool{}, ""
	for _, ih := range tA {
		if slices.Contains(tB, ih) {
			shared[ih] = true
		} else {
			onlyA = ih
		}
	}
	if len(shared) != 2 || onlyA == "" {
		t.Fatalf("feed A torrents %v, feed B %v: want two shared, one only in A", tA, tB)
	}
	if reply := announce(t, a.URLs().Base, onlyA); reply["failure reason"] != nil {
		t.Fatalf("announce for a seeded torrent: %v", reply)
	}

	// `podseed remove` from another process: serve stops seeding A's own
	// torrent, keeps the shared ones and B's.
	fA, err := a.Store().FindFeedByURL(ctx, feedA)
	if err != nil {
		t.Fatal(err)
	}
	cli("remove", strconv.FormatInt(fA.ID, 10))
	if _, err := a.Store().FindTorrentByInfoHash(ctx, onlyA); !errorsIsNotFound(err) {
		t.Fatalf("after remove, torrent %s in store: %v", onlyA, err)
	}
	waitFor(t, time.Minute, "serve to stop seeding the removed feed's own torrent", func() bool {
		_, ok := a.Client().Stats(onlyA)
		return !ok
	})
	if reply := announce(t, a.URLs().Base, onlyA); reply["failure reason"] != "unregistered torrent" {
		t.Errorf("announce for the removed torrent: got %v, want failure reason %q", reply, "unregistered torrent")
	}
	for _, ih := range tB {
		if !seeded(ih) {
			t.Errorf("torrent %s of feed B (shared: %v) no longer seeded", ih, shared[ih])
		}
		if reply := announce(t, a.URLs().Base, ih); reply["failure reason"] != nil {
			t.Errorf("announce for feed B's torrent %s: %v", ih, reply)
		}
	}
}

func errorsIsNotFound(err error) bool { return err != nil && errors.Is(err, store.ErrNotFound) }

// announce sends one HTTP announce for a hex infohash to podseed's tracker
// and returns the decoded reply.
func announce(t *testing.T, base, infoHash string) map[string]any {
	t.Helper()
	raw, err := hex.DecodeString(infoHash)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{
		"info_hash": {string(raw)}, "peer_id": {"-TEST00-reconcile000"},
		"port": {"6999"}, "left": {"100"}, "event": {"started"},
	}
	body := httpGet(t, base+"/announce?"+q.Encode())
	var reply map[string]any
	if err := bencode.Unmarshal(body, &reply); err != nil {
		t.Fatalf("announce reply %q: %v", body, err)
	}
	return reply
}
