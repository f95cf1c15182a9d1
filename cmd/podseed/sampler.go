package main

import (
	"context"
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
// seeders/leechers/completed and the client's connected peers and bytes
// uploaded, stamped at.
func (a *App) swarmSnapshot(at time.Time) []store.SwarmSample {
	var samples []store.SwarmSample
	a.seeding.Range(func(k, _ any) bool {
		ih := k.(string)
		c := a.swarms().Scrape(ih)
		s := store.SwarmSample{InfoHash: ih, At: at, Seeders: c.Seeders, Leechers: c.Leechers, Completed: c.Completed}
		if st, ok := a.client.Stats(ih); ok {
			s.Peers, s.BytesUploaded = st.ActivePeers, st.BytesUploaded
		}
		samples = append(samples, s)
		return true
	})
	return samples
}

// sampleSwarms records a swarm snapshot in the store, so pages read
// history from the store and never block on the torrent client.
func (a *App) sampleSwarms(ctx context.Context) {
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
