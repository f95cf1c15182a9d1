package seed

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/tracker/udp"
)

// The real-client tracker tests slow podseed's seeder down so that a
// client is still downloading while the test scrapes: 4 MiB at 1 MiB/s
// leave a window of about three seconds. The tests do not rely on its
// length: after each mid-download scrape they check that the seeder had
// not yet uploaded the whole file, so the client cannot have completed.
const (
	trkClientsSize      = 4 << 20
	trkClientsRateLimit = 1 << 20
)

// trkMustSeedLimited writes a random file, makes its torrent announcing only
// to announce, and seeds it from a new Client whose upload is capped at
// trkClientsRateLimit.
func trkMustSeedLimited(t *testing.T, tr *Tracker, announce string) btSeedFixture {
	t.Helper()
	dir := t.TempDir()
	dataPath := filepath.Join(dir, "files", "episode-clients.mp3")
	if err := os.MkdirAll(filepath.Dir(dataPath), 0o755); err != nil {
		t.Fatal(err)
	}
	btMustWriteRandomFile(t, dataPath, trkClientsSize)
	mi := btMustMakeTorrent(t, dataPath, btPieceLength(trkClientsSize), announce)
	torrentPath := filepath.Join(dir, "episode-clients.torrent")
	if err := os.WriteFile(torrentPath, mi, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientConfig{
		DataDir: dir, ListenHost: "127.0.0.1", DisableDHT: true,
		UploadRateLimit: trkClientsRateLimit, Logger: btTestLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	ih, err := c.AddTorrent(t.Context(), mi, dataPath, true)
	if err != nil {
		t.Fatal(err)
	}
	return btSeedFixture{
		client: c, tracker: tr, infoHash: ih, torrentPath: torrentPath,
		dataPath: dataPath, sha256: btFileSHA256(t, dataPath), size: trkClientsSize,
	}
}

// trkHTTPScrape sends GET scrapeURL?info_hash=<ih> over the network and
// decodes the BEP 48 reply's entry for the hex infohash ih.
func trkHTTPScrape(t *testing.T, scrapeURL, ih string) SwarmCounts {
	t.Helper()
	raw, err := hex.DecodeString(ih)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scrapeURL+"?info_hash="+url.QueryEscape(string(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d: %q", resp.StatusCode, body)
	}
	var reply struct {
		Files   map[string]trackerScrapeFile `bencode:"files"`
		Failure string                       `bencode:"failure reason"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil {
		t.Fatalf("scrape reply %q: %v", body, err)
	}
	if reply.Failure != "" {
		t.Fatalf("scrape: failure reason %q", reply.Failure)
	}
	f, ok := reply.Files[string(raw)]
	if !ok || len(reply.Files) != 1 {
		t.Fatalf("scrape reply %+v: want exactly one entry, for %s", reply.Files, ih)
	}
	return SwarmCounts{Seeders: f.Complete, Leechers: f.Incomplete, Completed: f.Downloaded}
}

// trkUDPScrapeWire scrapes the hex infohash ih with cc, anacrolix's BEP 15
// client, over the network.
func trkUDPScrapeWire(t *testing.T, cc *udp.ConnClient, ih string) SwarmCounts {
	t.Helper()
	var key udp.InfoHash
	if _, err := hex.Decode(key[:], []byte(ih)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), trkUDPTimeout)
	defer cancel()
	sr, err := cc.Client.Scrape(ctx, []udp.InfoHash{key})
	if err != nil {
		t.Fatalf("UDP scrape: %v", err)
	}
	if len(sr) != 1 {
		t.Fatalf("UDP scrape: got %d entries, want 1", len(sr))
	}
	return SwarmCounts{Seeders: int(sr[0].Seeders), Leechers: int(sr[0].Leechers), Completed: int(sr[0].Completed)}
}

// trkWaitScrape polls scrape until it returns want, failing with the last
// counts seen after timeout.
func trkWaitScrape(t *testing.T, timeout time.Duration, what string, want SwarmCounts, scrape func() SwarmCounts) {
	t.Helper()
	var got SwarmCounts
	deadline := time.Now().Add(timeout)
	for got = scrape(); got != want; got = scrape() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: scrape got %+v, want %+v", what, got, want)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// trkCheckMidDownload scrapes while the seeder of fx is uploading and
// checks the counts are exactly want. It waits for the first uploaded byte
// (the leecher has announced and found the seeder), scrapes, and then makes
// sure the seeder had still not uploaded the whole file, so the leecher
// was still downloading when the tracker answered.
func trkCheckMidDownload(t *testing.T, fx btSeedFixture, want SwarmCounts, scrape func() SwarmCounts) {
	t.Helper()
	btWaitUntil(t, 2*time.Minute, "the seeder to start uploading", func() bool {
		st, _ := fx.client.Stats(fx.infoHash)
		return st.BytesUploaded > 0
	})
	got := scrape()
	st, _ := fx.client.Stats(fx.infoHash)
	if st.BytesUploaded >= fx.size {
		t.Fatalf("the seeder had uploaded %d of %d bytes by the time the scrape returned: the rate limit left no mid-download window",
			st.BytesUploaded, fx.size)
	}
	if got != want {
		t.Errorf("scrape while downloading (%d of %d bytes uploaded): got %+v, want %+v", st.BytesUploaded, fx.size, got, want)
	}
}

// TestTrackerClientsAria2cHTTP downloads through the HTTP tracker with
// aria2c and checks what a scrape over the network reports: exactly one
// seeder (podseed) and one leecher (aria2c) while aria2c downloads, then
// one completed download and no leecher once aria2c has stopped.
func TestTrackerClientsAria2cHTTP(t *testing.T) {
	aria2c := btRequireBinary(t, "aria2c")
	tr, announce := btMustStartTracker(t)
	scrapeURL := strings.TrimSuffix(announce, "/announce") + "/scrape"
	fx := trkMustSeedLimited(t, tr, announce)
	scrape := func() SwarmCounts { return trkHTTPScrape(t, scrapeURL, fx.infoHash) }

	trkWaitScrape(t, time.Minute, "the seeder to announce", SwarmCounts{Seeders: 1}, scrape)

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := clientAria2cCommand(ctx, aria2c, dir, fx.torrentPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("aria2c output:\n%s", out.String())
		}
	})

	trkCheckMidDownload(t, fx, SwarmCounts{Seeders: 1, Leechers: 1, Completed: 0}, scrape)

	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatalf("aria2c: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("aria2c did not finish: %v", ctx.Err())
	}
	if got := btFileSHA256(t, filepath.Join(dir, filepath.Base(fx.dataPath))); got != fx.sha256 {
		t.Fatalf("downloaded sha256: got %s, want %s", got, fx.sha256)
	}
	// aria2c announced "stopped" with left=0 on its way out: it is gone
	// from the swarm and counted as one completed download.
	trkWaitScrape(t, 10*time.Second, "after aria2c stopped", SwarmCounts{Seeders: 1, Leechers: 0, Completed: 1}, scrape)
}

// TestTrackerClientsTransmissionUDP downloads through the UDP tracker
// (BEP 15) with transmission-cli and checks what a UDP scrape over the
// network reports: exactly one seeder and one leecher while transmission
// downloads, then one completed download, and transmission as a second
// seeder, since it keeps seeding.
func TestTrackerClientsTransmissionUDP(t *testing.T) {
	bin := btRequireBinary(t, "transmission-cli")
	tr := NewTracker(TrackerConfig{Interval: time.Minute, Logger: btTestLogger(t)})
	server := trkUDPServe(t, tr, "udp4", "127.0.0.1:0", trackerUDPWorkers)
	fx := trkMustSeedLimited(t, tr, fmt.Sprintf("udp://%s/announce", server))
	cc := trkAnacrolixUDPClient(t, "udp4", server)
	scrape := func() SwarmCounts { return trkUDPScrapeWire(t, cc, fx.infoHash) }

	trkWaitScrape(t, time.Minute, "the seeder to announce over UDP", SwarmCounts{Seeders: 1}, scrape)
	dlDir, port := btStartTransmission(t, bin, fx.torrentPath)
	trkWaitScrape(t, time.Minute, "transmission to announce over UDP", SwarmCounts{Seeders: 1, Leechers: 1}, scrape)

	// Transmission ignores 127.0.0.0/8 peers from trackers: the seeder
	// dials it.
	leecher := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	if err := fx.client.AddPeers(fx.infoHash, []netip.AddrPort{leecher}); err != nil {
		t.Fatalf("AddPeers: %v", err)
	}
	trkCheckMidDownload(t, fx, SwarmCounts{Seeders: 1, Leechers: 1, Completed: 0}, scrape)

	got := filepath.Join(dlDir, filepath.Base(fx.dataPath))
	btWaitUntil(t, 2*time.Minute, "transmission to download the file", func() bool {
		fi, err := os.Stat(got)
		return err == nil && fi.Size() == fx.size && btFileSHA256(t, got) == fx.sha256
	})
	// transmission announces "completed" over UDP and goes on seeding.
	trkWaitScrape(t, time.Minute, "after transmission completed", SwarmCounts{Seeders: 2, Leechers: 0, Completed: 1}, scrape)
}
