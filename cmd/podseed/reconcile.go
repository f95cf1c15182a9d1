package main

import (
	"context"
)

// reconcileSeeding makes what podseed seeds, and so what its tracker
// serves, follow the store, which other processes change too: `podseed
// remove` deletes a feed with the torrents no other feed shares while
// `serve` runs. A torrent seeded but no longer stored is dropped from the
// client and the tracker stops serving it. Run by cron every due-check
// tick, so a removal is noticed within one tick.
//
// It only drops. A stored torrent that is not seeded is one the pipeline
// is about to start, or one whose data file was missing at start (logged
// then); both are left alone.
func (a *App) reconcileSeeding(ctx context.Context) {
	// Snapshot what is seeded before reading the store. The pipeline
	// records a torrent before it starts seeding it, so every torrent in
	// the snapshot was stored before the read: missing from the read, it
	// was deleted, not merely not yet recorded.
	var seeding []string
	a.seeding.Range(func(k, _ any) bool {
		seeding = append(seeding, k.(string))
		return true
	})
	var onDemand []string
	a.onDemand.Range(func(k, _ any) bool {
		onDemand = append(onDemand, k.(string))
		return true
	})
	if len(seeding) == 0 && len(onDemand) == 0 {
		return
	}
	stored, err := a.store.ListTorrentInfoHashes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("reconcile seeding: list torrents", "err", err)
		}
		return
	}
	keep := make(map[string]bool, len(stored))
	for _, ih := range stored {
		keep[ih] = true
	}
	dropped := 0
	for _, ih := range seeding {
		if keep[ih] {
			continue
		}
		a.seeding.Delete(ih) // the tracker stops serving it
		if err := a.client.DropTorrent(ih); err != nil {
			a.log.Error("reconcile seeding: stop seeding", "infohash", ih, "err", err)
			continue
		}
		dropped++
		a.log.Info("stopped seeding a torrent no longer in the store", "infohash", ih)
	}
	for _, ih := range onDemand {
		if !keep[ih] {
			a.stopOnDemand(ih, "no longer in the store")
		}
	}
	if dropped > 0 {
		a.log.Info("reconciled seeding with the store", "dropped", dropped, "seeding", len(seeding)-dropped)
	}
}
