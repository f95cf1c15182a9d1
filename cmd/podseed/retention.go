package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// retentionEvery is how often the retention job runs: it evicts what the
// policy (--keep-episodes, --disk-budget) no longer keeps, shortly after
// ingest made a feed's newest episode ready.
const retentionEvery = time.Minute

// retentionPolicy is the configured policy.
func (a *App) retentionPolicy() store.RetentionPolicy {
	return store.RetentionPolicy{
		KeepPerFeed: a.cfg.KeepEpisodes, MaxBytes: a.cfg.DiskBudget,
		EvictWithoutWebSeed: a.cfg.EvictWithoutWebSeed,
	}
}

// enforceRetention is the retention job. It first settles earlier
// evictions: a torrent seeded again (its bytes were ingested anew for
// another episode) is no longer evicted, and an evicted torrent's data file
// still on disk (an eviction interrupted by a crash, or a failed delete) is
// deleted. Then it evicts what the policy does not keep. Errors are logged;
// the next run retries.
//
// An evicted torrent stays in the store and in the republished feeds
// (listeners get it from the web seed and other peers), and the tracker
// still serves its swarm; podseed only stops seeding it and deletes its data.
// With --on-demand-seeding, an evicted torrent whose origin is stable is
// seeded on, without a local copy (ondemand.go).
// By default a torrent whose web seed is withheld (the origin's bytes are
// unstable) is never evicted: podseed's copy may be its only source.
func (a *App) enforceRetention(ctx context.Context) {
	evicted, err := a.store.ListEvictedTorrents(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("retention: list evicted torrents", "err", err)
		}
		return
	}
	for _, ev := range evicted {
		if _, seeded := a.seeding.Load(ev.InfoHash); seeded {
			if err := a.store.ClearTorrentEviction(ctx, ev.InfoHash); err != nil {
				a.log.Error("retention: clear eviction of a torrent seeded again", "infohash", ev.InfoHash, "err", err)
				continue
			}
			a.evicted.Delete(ev.InfoHash)
			a.log.Info("retention: torrent seeded again", "infohash", ev.InfoHash)
			continue
		}
		a.evicted.Store(ev.InfoHash, true)
		a.removeEvictedData(ev.InfoHash, ev.DataPath)
		a.startOnDemandByInfoHash(ctx, ev.InfoHash) // --on-demand-seeding turned on, or the enclosure is back
	}
	p := a.retentionPolicy()
	if !p.Enabled() {
		return
	}
	plan, err := a.store.PlanEvictions(ctx, p)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("retention: plan evictions", "err", err)
		}
		return
	}
	for _, e := range plan.Evict {
		if ctx.Err() != nil {
			return
		}
		// Store first: a crash after this leaves an evicted torrent whose
		// file the next run deletes, never a deleted file the store
		// believes kept.
		if err := a.store.MarkTorrentEvicted(ctx, e.InfoHash, time.Now()); err != nil {
			a.log.Error("retention: mark torrent evicted", "infohash", e.InfoHash, "err", err)
			continue
		}
		a.evicted.Store(e.InfoHash, true) // the tracker keeps serving its swarm
		a.seeding.Delete(e.InfoHash)
		if err := a.client.DropTorrent(e.InfoHash); err != nil {
			a.log.Error("retention: stop seeding", "infohash", e.InfoHash, "err", err)
		}
		a.removeEvictedData(e.InfoHash, e.DataPath)
		a.log.Info("retention: evicted episode data", "infohash", e.InfoHash, "size", e.Size, "reason", e.Reason)
		a.startOnDemandByInfoHash(ctx, e.InfoHash)
	}
	if plan.OverBudget {
		a.log.Warn("retention: disk budget exceeded by torrents without a web seed, which are not evicted (see --evict-without-web-seed)",
			"kept_bytes", plan.KeptBytes, "disk_budget", p.MaxBytes)
	}
}

// removeEvictedData deletes an evicted torrent's data file and its
// files/<infohash>/ directory. It refuses paths outside files/. A file
// already gone is fine.
func (a *App) removeEvictedData(infoHash, dataPath string) {
	files, err := filepath.Abs(a.cfg.filesDir())
	if err != nil {
		a.log.Error("retention: files directory", "err", err)
		return
	}
	rel, err := filepath.Rel(files, dataPath)
	if err != nil || !filepath.IsAbs(dataPath) || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		a.log.Error("retention: data path outside the files directory; not deleted", "infohash", infoHash, "data_path", dataPath)
		return
	}
	if err := os.Remove(dataPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Error("retention: delete data", "infohash", infoHash, "data_path", dataPath, "err", err)
		return
	}
	// files/<infohash>/ held only this file; a directory that is not
	// empty or not there is left as it is.
	if dir := filepath.Dir(dataPath); dir != files {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log.Debug("retention: data directory kept", "infohash", infoHash, "dir", dir, "err", err)
		}
	}
}

// loadEvicted records the evicted torrents (at start, before seeding
// resumes) and returns their infohashes.
func (a *App) loadEvicted(ctx context.Context) (map[string]bool, error) {
	evicted, err := a.store.ListEvictedTorrents(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(evicted))
	for _, ev := range evicted {
		m[ev.InfoHash] = true
		a.evicted.Store(ev.InfoHash, true)
	}
	return m, nil
}

// TorrentEvictedAt says when retention evicted a torrent's data (web's
// eviction display); the zero time if podseed seeds it or it is unknown.
func (c catalog) TorrentEvictedAt(ctx context.Context, infoHash string) time.Time {
	at, err := c.a.store.FindTorrentEviction(ctx, infoHash)
	if err != nil {
		return time.Time{}
	}
	return at
}

// TorrentSeededOnDemand says whether podseed seeds an evicted torrent on
// demand from its origin now (web's OnDemandSeeding).
func (c catalog) TorrentSeededOnDemand(_ context.Context, infoHash string) bool {
	_, ok := c.a.onDemand.Load(infoHash)
	return ok
}
