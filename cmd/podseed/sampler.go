package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/podseed/podseed/store"
)

// Swarm statistics schedule: a sample of every seeded torrent each minute,
// downsampling (minute points → hourly after 24 h, dropped after 90 days)
// each hour.
const (
	sampleEvery     = time.Minute
	downsampleEvery = time.Hour
)

// swarmSnapshot reads, for every torrent podseed seeds, the tracker's
// seeders/leechers/completed, the client's connected peers, bytes
// uploaded (cumulative over restarts: a.uploadedBase plus this run's) and
// piece availability, and the bytes podseed served over HTTP from its copy
// (a.webSeeded, cumulative over restarts), stamped at. Bytes podseed's
// client fetched from web seeds are not sampled: it seeds from its own copy
// and uses no web seeds, so they are always 0 (seed.TorrentStats.WebSeedBytes).
func (a *App) swarmSnapshot(at time.Time) []store.SwarmSample {
	var samples []store.SwarmSample
	a.seeding.Range(func(k, _ any) bool {
		ih := k.(string)
		c := a.swarms().Scrape(ih)
		s := store.SwarmSample{InfoHash: ih, At: at, Seeders: c.Seeders, Leechers: c.Leechers, Completed: c.Completed,
			BytesWebSeeded: a.webSeeded.Bytes(ih)}
		if st, ok := a.client.Stats(ih); ok {
			s.Peers, s.BytesUploaded, s.Availability = st.ActivePeers, st.BytesUploaded, st.Availability
		}
		s.BytesUploaded += a.uploadedBase[ih]
		samples = append(samples, s)
		return true
	})
	return samples
}

// sampleSwarms records a swarm snapshot in the store, so pages read
// history from the store and never block on the torrent client. It first
// saves the tracker's completed counts that changed, so the counts the
// snapshot records survive a restart.
func (a *App) sampleSwarms(ctx context.Context) {
	a.saveTrackerCompleted(ctx)
	samples := a.swarmSnapshot(time.Now())
	if len(samples) == 0 {
		return
	}
	if err := a.store.CreateSwarmSamples(ctx, samples); err != nil && ctx.Err() == nil {
		a.log.Warn("record swarm samples", "torrents", len(samples), "err", err)
	}
}

// downsampleSwarms bounds the swarm history's size.
func (a *App) downsampleSwarms(ctx context.Context) {
	if err := a.store.DownsampleSwarmSamples(ctx, time.Now()); err != nil && ctx.Err() == nil {
		a.log.Warn("downsample swarm samples", "err", err)
	}
}

// saveTrackerCompleted writes the tracker's changed completed-download
// counts to the store. Announces only bump an in-memory counter; this job
// (each sampleEvery, and once more at shutdown) does the I/O, so a crash
// loses at most the completions of the last minute. A failed write (say,
// a full disk) is logged and retried by the next call: the tracker keeps
// reporting the counts until they are marked saved.
func (a *App) saveTrackerCompleted(ctx context.Context) {
	changed := a.tracker.CompletedChanges()
	if len(changed) == 0 {
		return
	}
	counts := make(map[string]int, len(changed))
	for ih, n := range changed {
		counts[hex.EncodeToString(ih[:])] = n
	}
	if err := a.store.SaveTrackerCompleted(ctx, counts); err != nil {
		if ctx.Err() == nil {
			a.log.Error("save tracker completed counts", "torrents", len(counts), "err", err)
		}
		return
	}
	a.tracker.MarkCompletedSaved(changed)
}

// restoreTrackerCompleted loads the completed-download counts saved by
// earlier runs into the tracker; call it before serving.
func (a *App) restoreTrackerCompleted(ctx context.Context) error {
	counts, err := a.store.ListTrackerCompleted(ctx)
	if err != nil {
		return err
	}
	restored := make(map[[20]byte]int, len(counts))
	for ih, n := range counts {
		var key [20]byte
		if _, err := hex.Decode(key[:], []byte(ih)); err != nil || len(ih) != 40 {
			return fmt.Errorf("restore tracker completed counts: bad infohash %q in store", ih)
		}
		restored[key] = n
	}
	a.tracker.RestoreCompleted(restored)
	a.log.Debug("restored tracker completed counts", "torrents", len(restored))
	return nil
}

// restoreSampledCounters resumes the byte counters that samples record
// cumulatively from each torrent's newest swarm sample: the web seed bytes
// (a.webSeeded) and podseed's BitTorrent upload (a.uploadedBase; the
// client counts from 0 at each start). Call it before serving. A crash
// loses what was served since the last sample (up to sampleEvery).
func (a *App) restoreSampledCounters(ctx context.Context) error {
	latest, err := a.store.LatestSwarmSamples(ctx)
	if err != nil {
		return fmt.Errorf("restore sampled byte counts: %w", err)
	}
	counts := make(map[string]int64, len(latest))
	a.uploadedBase = make(map[string]int64, len(latest))
	for ih, sm := range latest {
		counts[ih] = sm.BytesWebSeeded
		a.uploadedBase[ih] = sm.BytesUploaded
	}
	a.webSeeded.Restore(counts)
	return nil
}
