package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/url"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/podseed/podseed/feed"
	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// errorRetryBase is the first wait after a failed poll (if the poll
// interval is not shorter); it doubles per consecutive failure up to 24 h.
const errorRetryBase = 5 * time.Minute

// Ingest retry policy: a failed enclosure is retried after
// ingestRetryBase × 2^attempts, at most ingestRetryMax.
const (
	ingestRetryBase = time.Minute
	ingestRetryMax  = 6 * time.Hour
)

// pollFeeds polls every feed (all) or only the due ones. Each feed's
// outcome is recorded in the store; errors are logged, never fatal.
func (a *App) pollFeeds(ctx context.Context, all bool) {
	var feeds []store.Feed
	var err error
	now := time.Now()
	if all {
		// ListDueFeeds with a far future "now" returns every feed with its body.
		feeds, err = a.store.ListDueFeeds(ctx, now.Add(100*365*24*time.Hour))
	} else {
		feeds, err = a.store.ListDueFeeds(ctx, now)
	}
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("list due feeds", "err", err)
		}
		return
	}
	var g errgroup.Group
	g.SetLimit(a.cfg.PollWorkers) // and perHostConcurrency per host (a.hosts)
	for _, f := range feeds {
		g.Go(func() error {
			release, err := a.hosts.acquire(ctx, f.URL)
			if err != nil {
				return nil // shutting down
			}
			defer release()
			if err := a.pollFeed(ctx, f); err != nil && ctx.Err() == nil {
				a.log.Warn("poll feed", "feed_id", f.ID, "feed_url", redactURL(f.URL), "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()
	a.wakeIngest()
}

// pollFeed fetches one feed with conditional GET; a 304 ends the work. New
// episodes are stored before the feed's validators and body, so a crash in
// between refetches rather than losing episodes.
func (a *App) pollFeed(ctx context.Context, f store.Feed) error {
	start := time.Now()
	result := pollError
	defer func() { a.metrics.observePoll(f.ID, result, time.Since(start)) }()
	rnd := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(f.ID))) // schedule jitter
	res, err := a.fetcher.Fetch(ctx, feed.Request{URL: f.URL, ETag: f.ETag, LastModified: f.LastModified})
	if err == nil && res.NotModified {
		result = pollNotModified
		a.log.Debug("feed not modified", "feed_id", f.ID)
		return a.store.UpdateFeedNotModified(ctx, f.ID, start, feed.NextPoll(start, a.cfg.PollInterval, res, nil, rnd))
	}
	var parsed *feed.Feed
	if err == nil {
		// A charset given only in Content-Type goes into the body, which is
		// stored and republished: the bytes must say how to read them.
		res.Body = feed.DeclareCharset(res.Body, res.ContentType)
		parsed, err = feed.Parse(res.Body, res.FinalURL)
	}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// Errors back off exponentially from a short base (Retry-After wins);
		// the feed stays, marked by its failure count.
		next := feed.Backoff(start, min(a.cfg.PollInterval, errorRetryBase), f.Failures+1, err, rnd)
		return errors.Join(err, a.store.UpdateFeedError(ctx, f.ID, err.Error(), start, next))
	}
	eps := make([]store.Episode, 0, len(parsed.Episodes))
	for _, e := range parsed.Episodes {
		eps = append(eps, store.Episode{
			FeedID: f.ID, GUID: e.GUID, Title: e.Title,
			EnclosureURL: e.Enclosure.URL, EnclosureLength: e.Enclosure.Length, EnclosureType: e.Enclosure.Type,
			PublishedAt: e.Published, PublisherTorrentURL: e.PublisherTorrent,
		})
	}
	added, err := a.store.UpsertEpisodes(ctx, f.ID, eps)
	if err != nil {
		return err
	}
	if err := a.store.UpdateFeedFetched(ctx, f.ID, store.FeedFetch{
		Title: parsed.Title, ETag: res.ETag, LastModified: res.LastModified, Body: res.Body,
		FetchedAt: start, NextPollAt: feed.NextPoll(start, a.cfg.PollInterval, res, parsed, rnd),
	}); err != nil {
		return err
	}
	if err := a.store.UpdateFeedLock(ctx, f.ID, store.FeedLock{Locked: parsed.Locked, Owner: parsed.LockedOwner}); err != nil {
		a.log.Warn("record podcast:locked", "feed_id", f.ID, "err", err)
	}
	result = pollOK
	a.log.Info("polled feed", "feed_id", f.ID, "episodes", len(eps), "new_episodes", len(added),
		"duration", time.Since(start).Round(time.Millisecond))
	a.followFeedMove(ctx, f, res, parsed)
	return nil
}

// followFeedMove updates a feed's URL after a permanent redirect (301/308
// on every hop) or an <itunes:new-feed-url>. The feed keeps its ID, so its
// republished URL never changes. Done after the fetch is recorded, since
// changing the URL clears the validators.
func (a *App) followFeedMove(ctx context.Context, f store.Feed, res feed.Result, parsed *feed.Feed) {
	moved, why := "", ""
	switch {
	case parsed.NewFeedURL != "" && parsed.NewFeedURL != f.URL:
		moved, why = parsed.NewFeedURL, "itunes:new-feed-url"
	case res.PermanentRedirect && res.MovedTo != "" && res.MovedTo != f.URL:
		moved, why = res.MovedTo, "permanent redirect"
	default:
		return
	}
	if err := a.store.UpdateFeedURL(ctx, f.ID, moved); err != nil {
		a.log.Warn("follow feed move", "feed_id", f.ID, "reason", why, "err", err)
		return
	}
	a.log.Info("feed moved", "feed_id", f.ID, "reason", why,
		"from", redactURL(f.URL), "to", redactURL(moved))
}

// wakeIngest asks the ingest loop to look for pending episodes now.
func (a *App) wakeIngest() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// ingestLoop downloads pending enclosures with bounded concurrency until
// ctx is done; it looks again when woken and at least every minute, which
// also picks up failed episodes whose retry time has come.
func (a *App) ingestLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		a.ingestPending(ctx)
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-t.C:
		}
	}
}

func (a *App) ingestPending(ctx context.Context) {
	// An episode whose failure could not be recorded (the store refused
	// the write: a full disk) is still due; try it once per pass, not in
	// a hot loop against its origin. The next pass is at most a minute
	// away.
	tried := make(map[int64]bool)
	for ctx.Err() == nil {
		eps, err := a.store.ListPendingEpisodes(ctx, time.Now(), 64)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("list pending episodes", "err", err)
			}
			return
		}
		eps = slices.DeleteFunc(eps, func(e store.Episode) bool { return tried[e.ID] })
		if len(eps) == 0 {
			return
		}
		for _, e := range eps {
			tried[e.ID] = true
		}
		var g errgroup.Group
		g.SetLimit(a.cfg.IngestWorkers)
		for _, e := range eps {
			g.Go(func() error {
				a.ingestEpisode(ctx, e)
				return nil
			})
		}
		_ = g.Wait()
	}
}

// ingestEpisode torrentifies one episode: download once while hashing,
// record the torrent (and mark the episode ready) in one transaction, then
// seed it. A failure is recorded with a retry time. A ready episode with a
// replacement due (its enclosure changed) gets a new torrent the same way;
// its old one stays published until the new one is recorded, and is then
// retired.
func (a *App) ingestEpisode(ctx context.Context, e store.Episode) {
	log := a.log.With("episode_id", e.ID, "guid", e.GUID)
	replacing := e.State == store.EpisodeReady && e.ReplaceReason != ""
	start := time.Now()
	client, rec := recordingClient(a.ingestHTTP)
	ing, err := seed.Ingest(ctx, seed.IngestRequest{
		URL: e.EnclosureURL, DeclaredLength: e.EnclosureLength,
		TmpDir: a.cfg.tmpDir(), FilesDir: a.cfg.filesDir(),
		AnnounceList: a.announceList(), CreatedBy: a.cfg.createdBy(), UserAgent: a.cfg.userAgent(),
		MaxBytes: a.cfg.MaxEnclosureBytes, Client: client,
	})
	var (
		tor     store.Torrent
		retired string
	)
	if err == nil {
		hops := rec.Hops()
		webSeed, resolved := webSeedFor(e.EnclosureURL, hops)
		tor = store.Torrent{
			InfoHash: ing.InfoHash, EpisodeID: e.ID, Name: ing.Name,
			PieceLength: ing.PieceLength, Size: ing.Size, DataPath: ing.DataPath, SRI: ing.SRI,
			CreatedAt: time.Now(), SourceURL: e.EnclosureURL, ResolvedURL: resolved,
			NextProbeAt: time.Now().Add(jitter(probeInterval)),
		}
		if len(hops) > 0 {
			tor.ETag = hops[len(hops)-1].ETag
		}
		ing.Metainfo, err = seed.WithWebSeeds(ing.Metainfo, []string{webSeed})
	}
	if err == nil {
		tor.WebSeedWithheld, err = a.vetWebSeed(ctx, e, ing)
		tor.Metainfo = ing.Metainfo
	}
	if err == nil && e.PublisherTorrentURL != "" {
		// The feed has its own torrent of this file: seed that one if it
		// really is of these bytes, else make podseed's own.
		if adopted, aerr := a.adoptPublisherTorrent(ctx, e, tor); aerr != nil {
			log.Warn("publisher torrent not adopted", "torrent_url", redactURL(e.PublisherTorrentURL), "err", aerr)
		} else {
			tor = adopted
			log.Info("adopted publisher torrent", "infohash", tor.InfoHash, "torrent_url", redactURL(e.PublisherTorrentURL))
		}
	}
	if err == nil {
		if replacing {
			retired, err = a.store.ReplaceTorrent(ctx, tor, e.ReplaceReason)
		} else {
			err = a.store.CreateTorrent(ctx, tor)
		}
	}
	if ctx.Err() == nil {
		var size int64
		if ing != nil {
			size = ing.Size
		}
		a.metrics.observeIngest(err, size, time.Since(start))
	}
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the episode stays pending and restarts next run
		}
		delay := retryDelay(e.Attempts)
		log.Warn("ingest enclosure", "enclosure_url", redactURL(e.EnclosureURL), "err", err, "retry_in", delay,
			"replacing", e.InfoHash)
		if merr := a.store.MarkEpisodeFailed(ctx, e.ID, err.Error(), time.Now().Add(delay)); merr != nil {
			log.Error("record ingest failure", "err", merr)
		}
		return
	}
	log.Info("torrentified enclosure", "infohash", tor.InfoHash, "size", tor.Size,
		"piece_length", tor.PieceLength, "duration", time.Since(start).Round(time.Millisecond))
	if err := a.startSeeding(ctx, tor.Metainfo, tor.DataPath, true, tor.PublisherURL != ""); err != nil {
		log.Error("start seeding", "infohash", tor.InfoHash, "err", err)
	}
	if replacing {
		log.Info("replaced torrent", "old_infohash", e.InfoHash, "infohash", tor.InfoHash, "reason", e.ReplaceReason)
	}
	if retired != "" {
		old, err := a.store.FindTorrentByInfoHash(ctx, retired)
		if err != nil {
			log.Error("retire torrent", "infohash", retired, "err", err)
			return
		}
		a.retireTorrent(old)
	}
}

// vetWebSeed checks that the origin serves the same bytes again (dynamic
// ad insertion makes every client fail hash checks on the web seed, and
// clients other than anacrolix need Range support). If not, or if the check
// itself fails, the web seed is withheld: ing.Metainfo loses its url-list
// (the infohash is unchanged) and the reason is returned; podseed's own
// seeder still serves the episode. The check re-fetches a few byte ranges
// of the original URL, which tracking prefixes may count as a download.
func (a *App) vetWebSeed(ctx context.Context, e store.Episode, ing *seed.Ingested) (string, error) {
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(e.ID)))
	rep, err := seed.CheckStable(ctx, a.ingestHTTP, a.cfg.userAgent(), e.EnclosureURL, ing.DataPath, ing.Size, rnd)
	var reason string
	switch {
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		reason = "stability check failed: " + err.Error()
	case !rep.Stable:
		reason = "origin serves different bytes per request: " + rep.Reason
	case !rep.RangeSupported:
		reason = "origin ignores Range requests"
	default:
		return "", nil
	}
	mi, err := seed.WithoutWebSeeds(ing.Metainfo)
	if err != nil {
		return "", err
	}
	ing.Metainfo = mi
	a.log.Warn("web seed withheld", "episode_id", e.ID, "infohash", ing.InfoHash, "reason", reason)
	return reason, nil
}

// retryDelay is the wait before retry number attempts+1, with ±10 % jitter.
func retryDelay(attempts int) time.Duration {
	d := ingestRetryMax
	if attempts < 20 {
		d = min(ingestRetryBase<<attempts, ingestRetryMax)
	}
	return jitter(d)
}

// jitter returns d ± 10 %, at random.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// redactURL drops credentials from u for logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<invalid url>"
	}
	return p.Redacted()
}
