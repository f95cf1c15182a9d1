package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podseed/podseed/publish"
	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
)

// catalog implements web.Catalog from the store, publish and seed.
type catalog struct{ a *App }

func (c catalog) URLs() web.URLs { return c.a.urls }

func (c catalog) ListFeeds(ctx context.Context) ([]store.Feed, error) {
	return c.a.store.ListFeeds(ctx)
}

func (c catalog) ListEpisodesByFeed(ctx context.Context, feedID int64) ([]store.Episode, error) {
	return c.a.store.ListEpisodesByFeed(ctx, feedID)
}

func (c catalog) FindFeedByID(ctx context.Context, id int64) (store.Feed, error) {
	return c.a.store.FindFeedByID(ctx, id)
}

func (c catalog) FindEpisodeByID(ctx context.Context, id int64) (store.Episode, error) {
	return c.a.store.FindEpisodeByID(ctx, id)
}

func (c catalog) FindTorrentByInfoHash(ctx context.Context, infoHash string) (store.Torrent, error) {
	return c.a.store.FindTorrentByInfoHash(ctx, infoHash)
}

func (c catalog) ListSwarmSamples(ctx context.Context, infoHash string, since time.Time) ([]store.SwarmSample, error) {
	return c.a.store.ListSwarmSamples(ctx, infoHash, since)
}

// Peers lists the client's peer connections for a torrent; none if the
// client is not seeding it.
func (c catalog) Peers(_ context.Context, infoHash string) []web.Peer {
	ps, ok := c.a.client.Peers(infoHash)
	if !ok {
		return nil
	}
	peers := make([]web.Peer, 0, len(ps))
	for _, p := range ps {
		peers = append(peers, web.Peer{
			Addr: p.Addr, ClientName: p.ClientName, Progress: p.Progress,
			DownloadRate: p.DownloadRate, UploadRate: p.UploadRate, WebSeed: p.WebSeed,
		})
	}
	return peers
}

// TorrentFile returns the stored metainfo with podseed's current announce
// list (and no web seed while the enclosure is dead); the infohash does
// not change. A retired torrent is store.ErrGone.
func (c catalog) TorrentFile(ctx context.Context, infoHash string) ([]byte, error) {
	t, err := c.a.store.FindTorrentByInfoHash(ctx, infoHash)
	if err != nil {
		return nil, err
	}
	return c.a.servedMetainfo(t)
}

func (c catalog) Magnet(ctx context.Context, infoHash string) string {
	mi, err := c.TorrentFile(ctx, infoHash)
	if err != nil {
		return ""
	}
	m, err := seed.Magnet(mi, c.a.urls.Torrent(infoHash))
	if err != nil {
		return ""
	}
	return m
}

// alternates lists the torrents of a feed's ready episodes; publisher
// torrents (which the feed lists itself) only if withPublisher.
func (c catalog) alternates(ctx context.Context, feedID int64, withPublisher bool) ([]publish.Alternate, error) {
	ets, err := c.a.store.ListFeedTorrents(ctx, feedID)
	if err != nil {
		return nil, err
	}
	alts := make([]publish.Alternate, 0, len(ets))
	for _, et := range ets {
		if et.Torrent.PublisherURL != "" && !withPublisher {
			continue
		}
		mi, err := c.a.servedMetainfo(et.Torrent)
		if err != nil {
			return nil, err
		}
		torrentURL := c.a.urls.Torrent(et.Torrent.InfoHash)
		magnet, err := seed.Magnet(mi, torrentURL)
		if err != nil {
			return nil, err
		}
		guid, source := et.Episode.GUID, et.Episode.EnclosureURL
		if guid == et.Episode.EnclosureURL {
			guid = "" // the item had no <guid>: match by enclosure URL
		} else if et.Torrent.SourceURL != "" {
			// The URL the torrent's bytes came from: while a replacement
			// is due, the item's enclosure has other bytes.
			source = et.Torrent.SourceURL
		}
		alts = append(alts, publish.Alternate{
			GUID: guid, EnclosureURL: source, Type: et.Episode.EnclosureType,
			Length: et.Torrent.Size, TorrentURL: torrentURL, TorrentLength: int64(len(mi)),
			Magnet: magnet, InfoHash: et.Torrent.InfoHash, SRI: et.Torrent.SRI,
			Title: et.Episode.Title, Published: et.Episode.PublishedAt,
		})
	}
	return alts, nil
}

// FeedRSS is the original feed with alternate enclosures spliced in.
func (c catalog) FeedRSS(ctx context.Context, feedID int64) ([]byte, error) {
	f, err := c.a.store.FindFeedByID(ctx, feedID)
	if err != nil {
		return nil, err
	}
	if f.Body == nil {
		return nil, fmt.Errorf("feed %d not fetched yet: %w", feedID, store.ErrNotFound)
	}
	alts, err := c.alternates(ctx, feedID, false)
	if err != nil {
		return nil, err
	}
	// Items without a GUID match by enclosure URL, which feed.Parse resolved
	// against the feed URL.
	return publish.RewriteFeed(f.Body, alts, publish.WithBaseURL(f.URL))
}

// TorrentFeedRSS is the BEP 36 style torrent feed of one podcast.
func (c catalog) TorrentFeedRSS(ctx context.Context, feedID int64) ([]byte, error) {
	f, err := c.a.store.FindFeedByID(ctx, feedID)
	if err != nil {
		return nil, err
	}
	alts, err := c.alternates(ctx, feedID, true)
	if err != nil {
		return nil, err
	}
	title := f.Title
	if title == "" {
		title = f.URL
	}
	return publish.TorrentFeed(publish.ChannelInfo{
		Title: title + " (torrents)", Link: c.a.urls.Feed(feedID),
		Description: "BitTorrent enclosures of " + title + ", republished by podseed",
		Updated:     f.LastFetchedAt,
	}, alts)
}

// AddFeed adds a feed (web has checked the URL). A new feed is due at once:
// the next due-feed check, within dueCheckEvery, polls it.
func (c catalog) AddFeed(ctx context.Context, url string) (store.Feed, bool, error) {
	return c.a.store.CreateFeed(ctx, url)
}

// RemoveFeed deletes a feed with its episodes and the torrents no other
// feed's episodes share, and stops seeding those. Their data files stay in
// files/ (deleting them is a later decision). A torrent the pipeline
// records for the feed between the listing and the delete is deleted from
// the store and dropped by the next reconcileSeeding tick.
func (c catalog) RemoveFeed(ctx context.Context, id int64) error {
	ts, err := c.a.store.ListTorrentsByFeed(ctx, id)
	if err != nil {
		return err
	}
	if err := c.a.store.DeleteFeed(ctx, id); err != nil {
		return err
	}
	for _, t := range ts {
		_, err := c.a.store.FindTorrentByInfoHash(ctx, t.InfoHash)
		switch {
		case err == nil:
			continue // another feed's episode shares it
		case !errors.Is(err, store.ErrNotFound):
			// The feed is gone; the torrent is dropped at the next restart
			// if the store no longer has it.
			c.a.log.Error("removed feed: check torrent", "feed_id", id, "infohash", t.InfoHash, "err", err)
			continue
		}
		c.a.seeding.Delete(t.InfoHash) // the tracker stops tracking it
		if err := c.a.client.DropTorrent(t.InfoHash); err != nil {
			c.a.log.Error("removed feed: stop seeding", "feed_id", id, "infohash", t.InfoHash, "err", err)
		}
	}
	return nil
}

// swarm adapts the trackers' merged scrape counts to web.Swarm.
type swarm struct{ t seed.Swarms }

func (s swarm) Scrape(infoHash string) web.SwarmCounts {
	c := s.t.Scrape(infoHash)
	return web.SwarmCounts{Seeders: c.Seeders, Leechers: c.Leechers, Completed: c.Completed}
}

// OriginUnusable says why podseed serves an episode's bytes itself on
// /episodes/{id} instead of redirecting to the origin: the origin's bytes
// are unstable (the web seed was withheld) or the enclosure probe found the
// origin gone (the web seed is dead).
func (c catalog) OriginUnusable(_ context.Context, _ store.Episode, t store.Torrent) string {
	if t.WebSeedWithheld != "" {
		return "web seed withheld: " + t.WebSeedWithheld
	}
	if !t.WebSeedDeadAt.IsZero() {
		return "enclosure dead: " + t.WebSeedDeadReason
	}
	return ""
}

// LookupEpisodeTorrents finds ready episodes by enclosure URL, GUID or
// infohash (exactly one set; web checks).
func (c catalog) LookupEpisodeTorrents(ctx context.Context, l web.Lookup) ([]store.EpisodeTorrent, error) {
	switch {
	case l.EnclosureURL != "":
		return c.a.store.ListEpisodeTorrentsByEnclosureURL(ctx, l.EnclosureURL)
	case l.GUID != "":
		return c.a.store.ListEpisodeTorrentsByGUID(ctx, l.GUID)
	case l.InfoHash != "":
		return c.a.store.ListEpisodeTorrentsByInfoHash(ctx, l.InfoHash)
	}
	return nil, errors.New("lookup: no key")
}

// ListRecentEpisodeTorrents lists the newest ready episodes of all feeds.
func (c catalog) ListRecentEpisodeTorrents(ctx context.Context, limit int) ([]store.EpisodeTorrent, error) {
	return c.a.store.ListRecentEpisodeTorrents(ctx, limit)
}
