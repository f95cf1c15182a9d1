package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// defaultPieceCacheBytes is --piece-cache-bytes' default: 64 MiB, 32
// pieces of the largest piece length podseed picks for a 4 GiB enclosure.
const defaultPieceCacheBytes = 64 << 20

// errNotOnDemand says why an evicted torrent is not seeded on demand.
var errNotOnDemand = errors.New("not seeded on demand")

// onDemandURL returns the URL an evicted torrent's pieces can be fetched
// from on demand: its published web seed (url-list), which podseed only
// publishes for an origin that served the same bytes twice and honoured
// Range (vetWebSeed), and only while the enclosure probe finds it alive.
func onDemandURL(t store.Torrent) (string, error) {
	switch {
	case t.Retired():
		return "", fmt.Errorf("%w: retired", errNotOnDemand)
	case t.WebSeedWithheld != "":
		return "", fmt.Errorf("%w: web seed withheld (%s)", errNotOnDemand, t.WebSeedWithheld)
	case !t.WebSeedDeadAt.IsZero():
		return "", fmt.Errorf("%w: enclosure dead (%s)", errNotOnDemand, t.WebSeedDeadReason)
	}
	m, err := metainfo.Load(bytes.NewReader(t.Metainfo))
	if err != nil {
		return "", fmt.Errorf("decode metainfo: %w", err)
	}
	for _, u := range m.UrlList {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return u, nil
		}
	}
	return "", fmt.Errorf("%w: no http web seed", errNotOnDemand)
}

// startOnDemand seeds the evicted torrent t without a local copy
// (--on-demand-seeding): peers' requests are served from its origin
// through the piece cache. It does nothing when the flag is off or t is
// already seeded on demand, and returns an error wrapping errNotOnDemand
// when t's origin is not known to be stable.
func (a *App) startOnDemand(ctx context.Context, t store.Torrent) error {
	if a.pieceCache == nil {
		return nil
	}
	if _, ok := a.onDemand.Load(t.InfoHash); ok {
		return nil
	}
	u, err := onDemandURL(t)
	if err != nil {
		return err
	}
	mi, err := seed.WithAnnounceList(t.Metainfo, a.withoutOwnWS(a.announceFor(t.Metainfo, t.PublisherURL != "")))
	if err != nil {
		return err
	}
	ih, err := a.client.AddTorrentOnDemand(ctx, mi,
		seed.OnDemandSource{URL: u, HTTPClient: a.ingestHTTP, UserAgent: a.cfg.userAgent()}, a.pieceCache)
	if err != nil {
		return err
	}
	a.onDemand.Store(ih, true)
	a.log.Info("seeding evicted episode on demand", "infohash", ih, "web_seed", redactURL(u))
	return nil
}

// stopOnDemand stops seeding t on demand, if it was (its enclosure died,
// it was retired, or it is about to be seeded from a local copy again).
func (a *App) stopOnDemand(infoHash, why string) {
	if _, ok := a.onDemand.LoadAndDelete(infoHash); !ok {
		return
	}
	if err := a.client.DropTorrent(infoHash); err != nil {
		a.log.Error("stop seeding on demand", "infohash", infoHash, "err", err)
		return
	}
	a.log.Info("stopped seeding on demand", "infohash", infoHash, "reason", why)
}

// startOnDemandByInfoHash is startOnDemand for a torrent known by its
// infohash (retention's evictions); ineligible torrents are logged at
// debug level, errors at error level.
func (a *App) startOnDemandByInfoHash(ctx context.Context, infoHash string) {
	if a.pieceCache == nil {
		return
	}
	if _, ok := a.onDemand.Load(infoHash); ok {
		return
	}
	t, err := a.store.FindTorrentByInfoHash(ctx, infoHash)
	if err == nil {
		err = a.startOnDemand(ctx, t)
	}
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, errNotOnDemand):
		a.log.Debug("evicted episode not seeded on demand", "infohash", infoHash, "reason", err)
	default:
		a.log.Error("seed evicted episode on demand", "infohash", infoHash, "err", err)
	}
}

// metainfoInfoHash is the hex v1 infohash of a bencoded metainfo.
func metainfoInfoHash(mi []byte) (string, error) {
	m, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		return "", fmt.Errorf("decode metainfo: %w", err)
	}
	return m.HashInfoBytes().HexString(), nil
}
