package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podseed/podseed/store"
)

// TestDataDirRelocatable ingests a feed, stops podseed, moves the data
// directory (os.Rename, as a restore or a volume mounted elsewhere would)
// and opens it at the new path: the torrents resume seeding complete from
// the new files/, /webseed/ serves the new copy, retention evicts from the
// new path, and the old path is never touched again.
func TestDataDirRelocatable(t *testing.T) {
	origin := retentionOrigin(t)
	oldDir := filepath.Join(t.TempDir(), "data")
	a := openRetentionApp(t, oldDir, 0, 0)
	ctx := t.Context()
	f, ets := mustIngestRetentionFeed(t, a, origin)
	for _, et := range ets {
		waitFor(t, time.Minute, "seeding to start", func() bool {
			st, ok := a.Client().Stats(et.Torrent.InfoHash)
			return ok && st.Complete
		})
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	newDir := filepath.Join(t.TempDir(), "moved", "data")
	if err := os.MkdirAll(filepath.Dir(newDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(oldDir, newDir); err != nil {
		t.Fatal(err)
	}
	b := openRetentionApp(t, newDir, 1, 0) // keeps "new" and "old" (no web seed); evicts "mid"
	defer b.Close()
	byGUID := map[string]store.EpisodeTorrent{}
	moved, err := b.Store().ListFeedTorrents(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range moved {
		byGUID[et.Episode.GUID] = et
	}
	newFiles := filepath.Join(newDir, "files")
	for _, et := range ets {
		tor := byGUID[et.Episode.GUID].Torrent
		if want := filepath.Join(newFiles, tor.InfoHash, tor.Name); tor.DataPath != want {
			t.Errorf("%s: DataPath %q, want %q", et.Episode.GUID, tor.DataPath, want)
		}
		if st, ok := b.Client().Stats(tor.InfoHash); !ok || !st.Complete {
			t.Errorf("%s: after the move seeded %v, stats %+v; want seeded complete", et.Episode.GUID, ok, st)
		}
		want, err := os.ReadFile(filepath.Join(newFiles, tor.InfoHash, tor.Name))
		if err != nil {
			t.Fatal(err)
		}
		code, body := serveApp(b, "/webseed/"+tor.InfoHash+"/"+tor.Name)
		if code != http.StatusOK || int64(len(body)) != tor.Size || !bytes.Equal(body, want) {
			t.Errorf("%s: /webseed/ status %d, %d bytes; want 200 with the %d bytes of the moved copy", et.Episode.GUID, code, len(body), tor.Size)
		}
	}

	b.enforceRetention(ctx)
	for guid, wantEvicted := range map[string]bool{"new": false, "mid": true, "old": false} {
		tor := byGUID[guid].Torrent
		at, err := b.Store().FindTorrentEviction(ctx, tor.InfoHash)
		if err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(filepath.Join(newFiles, tor.InfoHash, tor.Name))
		_, dirErr := os.Stat(filepath.Join(newFiles, tor.InfoHash))
		if wantEvicted != !at.IsZero() || wantEvicted != os.IsNotExist(statErr) || wantEvicted != os.IsNotExist(dirErr) {
			t.Errorf("%s: evicted at %v, data file %v, directory %v; want evicted %v", guid, at, statErr, dirErr, wantEvicted)
		}
	}
	if _, err := os.Stat(oldDir); !os.IsNotExist(err) {
		t.Errorf("old data directory %s: %v, want it left absent", oldDir, err)
	}
	if strings.HasPrefix(newDir, oldDir) {
		t.Fatalf("test setup: %s is inside %s", newDir, oldDir)
	}
}
