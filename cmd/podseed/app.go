package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"

	"github.com/podseed/podseed/feed"
	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
	"github.com/podseed/podseed/web"
	"github.com/podseed/podseed/web/static"
)

// dueCheckEvery is how often the scheduler asks the store for due feeds;
// each feed's own schedule is its NextPollAt.
const dueCheckEvery = 30 * time.Second

// shutdownTimeout bounds the HTTP server's graceful shutdown.
const shutdownTimeout = 10 * time.Second

// App is one running podseed: store, torrent client, tracker, HTTP server
// and the poll → ingest → publish pipeline.
type App struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	client  *seed.Client
	tracker *seed.Tracker
	fetcher *feed.Fetcher
	// ingestHTTP downloads enclosures: SSRF-guarded, no overall timeout.
	ingestHTTP *http.Client
	ln         net.Listener
	srv        *http.Server
	urls       web.URLs
	metrics    *metrics
	hosts      *hostLimiter // per-host bound on feed fetches
	feeds      *feedCache   // rendered feeds (feedcache.go)
	// udp is the UDP tracker's socket, nil when disabled.
	udp net.PacketConn
	// udpAnnounce is the UDP tracker's announce URL, "" when disabled.
	udpAnnounce string
	// wsTracker is the WebSocket (WebTorrent) tracker at ws://…/announce.
	wsTracker *seed.WSTracker
	// wsAnnounce is its announce URL.
	wsAnnounce string

	// seeding holds the hex infohashes the client seeds; the tracker
	// tracks only those and the evicted ones.
	seeding sync.Map
	// evicted holds the hex infohashes whose data retention deleted; they
	// stay published (retention.go).
	evicted sync.Map
	// onDemand holds the evicted infohashes seeded without a local copy
	// (ondemand.go); they are not in seeding.
	onDemand sync.Map
	// pieceCache holds the verified pieces of torrents seeded on demand;
	// nil unless Config.OnDemandSeeding.
	pieceCache *seed.PieceCache
	// webSeeded counts the bytes the web package serves from podseed's
	// copies, per torrent; restored from the newest samples at start and
	// sampled each minute (sampler.go).
	webSeeded web.WebSeedBytes
	// uploadedBase is, per hex infohash, the bytes podseed's client had
	// uploaded by the newest sample of earlier runs: samples record it plus
	// this run's count, so store.SwarmSample.BytesUploaded is cumulative
	// across restarts. Set in Open before anything reads it; read-only after.
	uploadedBase map[string]int64
	// wake asks the ingest loop to look for pending episodes now.
	wake chan struct{}
	// probeSpacing is the least time between two enclosure probes of one
	// host (lifecycle_probe.go).
	probeSpacing time.Duration
	// dueEvery is the period of the due-feed check and of reconciling
	// seeding with the store: dueCheckEvery (tests shorten it).
	dueEvery time.Duration
}

// Open opens the data directory, the store and the torrent client, re-adds
// every stored torrent for seeding, and binds the HTTP listener. It does not
// poll yet; Run does. On error it closes what it opened.
func Open(ctx context.Context, cfg Config) (a *App, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 15 * time.Minute
	}
	if cfg.PollWorkers <= 0 {
		cfg.PollWorkers = defaultPollWorkers(numCPU())
	}
	if cfg.IngestWorkers <= 0 {
		cfg.IngestWorkers = defaultIngestWorkers(numCPU())
	}
	a = &App{
		cfg: cfg, log: cfg.Logger.With("component", "app"), wake: make(chan struct{}, 1),
		hosts: newHostLimiter(perHostConcurrency), probeSpacing: probeHostSpacing,
		feeds: newFeedCache(feedCacheMaxBytes), dueEvery: dueCheckEvery,
	}
	// `return nil, err` sets a to nil before deferred calls run: close
	// what was opened through its own variable.
	opened := a
	defer func() {
		if err != nil {
			_ = opened.Close() // err already says why Open failed
		}
	}()
	// Partial downloads of an earlier run are never complete: start afresh.
	if err := os.RemoveAll(cfg.tmpDir()); err != nil {
		return nil, fmt.Errorf("clear partial downloads: %w", err)
	}
	for _, dir := range []string{cfg.DataDir, cfg.tmpDir(), cfg.filesDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	if a.store, err = cfg.openStore(ctx); err != nil {
		return nil, err
	}
	if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	base, err := baseURLFor(cfg.BaseURL, a.ln.Addr())
	if err != nil {
		return nil, err
	}
	a.urls = web.URLs{Base: base}
	if cfg.UDPTracker != "off" {
		addr := cfg.UDPTracker
		if addr == "" {
			addr = a.ln.Addr().String()
		}
		if a.udp, err = net.ListenPacket("udp", addr); err != nil {
			return nil, fmt.Errorf("listen for UDP tracker on %s: %w", addr, err)
		}
		a.udpAnnounce, err = udpAnnounceURL(base, a.udp.LocalAddr())
		if err != nil {
			return nil, err
		}
	}
	// An open tracker (Allowed nil) serves any infohash; by default it
	// serves only the torrents podseed seeds or evicted (still published).
	var allowed func([20]byte) bool
	if !cfg.OpenTracker {
		allowed = func(ih [20]byte) bool {
			if a.seeds(ih) {
				return true
			}
			_, ok := a.evicted.Load(fmt.Sprintf("%x", ih))
			return ok
		}
	}
	if err := a.restoreSampledCounters(ctx); err != nil {
		return nil, err
	}
	a.wsTracker = seed.NewWSTracker(seed.WSTrackerConfig{
		Allowed: allowed, OnLeecher: a.joinWebTorrentSwarm, Logger: cfg.Logger.With("component", "wstracker"),
	})
	if a.wsAnnounce, err = wsAnnounceURL(base); err != nil {
		return nil, err
	}
	a.client, err = seed.NewClient(seed.ClientConfig{
		DataDir:    cfg.DataDir,
		ListenHost: cfg.BTListenHost,
		ListenPort: cfg.BTPort,
		DisableDHT: !cfg.DHT,
		Logger:     cfg.Logger.With("component", "seed"),

		UploadRateLimit: cfg.UploadRateLimit, TorrentUploadRateLimit: cfg.TorrentUploadRateLimit,
		EstablishedConnsPerTorrent: cfg.ConnsPerTorrent, HalfOpenConnsPerTorrent: cfg.HalfOpenPerTorrent,
		TotalHalfOpenConns: cfg.HalfOpen, MaxEstablishedConns: cfg.MaxConns,
	})
	if err != nil {
		return nil, err
	}
	// The tracker lists podseed's client in every swarm it seeds as soon as
	// the client has announced once (TrackerConfig.SelfSeeds): after a
	// restart, leechers need not wait for the client's own announce of
	// their torrent, which anacrolix sends two at a time per tracker.
	a.tracker = seed.NewTracker(seed.TrackerConfig{
		Allowed: allowed, SelfPeerID: a.client.PeerID(),
		SelfSeeds: a.seeds,
	})
	if err := a.restoreTrackerCompleted(ctx); err != nil {
		return nil, err
	}
	if cfg.OnDemandSeeding {
		budget := cfg.PieceCacheBytes
		if budget <= 0 {
			budget = defaultPieceCacheBytes
		}
		if a.pieceCache, err = seed.NewPieceCache(budget); err != nil {
			return nil, err
		}
	}
	// Feeds are small: a whole fetch must finish within a minute.
	a.fetcher = &feed.Fetcher{Client: newHTTPClient(cfg.guard(), time.Minute), UserAgent: cfg.userAgent()}
	a.ingestHTTP = newHTTPClient(cfg.guard(), 0)
	a.ingestHTTP.CheckRedirect = checkEnclosureRedirect
	if a.metrics, err = newMetrics(a); err != nil {
		return nil, err
	}
	pages, err := web.New(catalog{a}, swarm{a.swarms()}, a.tracker, cfg.Logger.With("component", "web"),
		web.WithAdminToken(cfg.AdminToken), web.WithWebSeedBytes(&a.webSeeded))
	if err != nil {
		return nil, err
	}
	handler := http.NewServeMux()
	handler.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	handler.HandleFunc("GET /healthz", a.handleHealthz)
	handler.Handle("GET /announce", a.announceHandler(pages))
	handler.Handle("GET /static/", http.StripPrefix("/static", static.Handler())) // the in-page player
	handler.Handle("/", pages)
	a.srv = &http.Server{
		Handler: handler,
		// Slow or idle clients must not hold connections forever; responses
		// are feeds and .torrent files, small enough for these bounds.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	if err := a.resumeSeeding(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// URLs returns podseed's public URLs.
func (a *App) URLs() web.URLs { return a.urls }

// Store returns the app's store (for tests and commands).
func (a *App) Store() *store.Store { return a.store }

// Client returns the torrent client.
func (a *App) Client() *seed.Client { return a.client }

// announceList is podseed's own trackers (HTTP, UDP, WebSocket) followed
// by configured extras: what published torrents and magnets list.
func (a *App) announceList() [][]string {
	return announceTiers([]string{a.urls.Announce(), a.udpAnnounce, a.wsAnnounce}, a.cfg.Announce)
}

// clientAnnounceList is announceList without the WebSocket tracker, which
// podseed's client joins per torrent when a browser asks for it
// (joinWebTorrentSwarm).
func (a *App) clientAnnounceList() [][]string {
	return a.withoutOwnWS(a.announceList())
}

// withoutOwnWS returns tiers without podseed's own WebSocket tracker (see
// clientAnnounceList), dropping tiers left empty.
func (a *App) withoutOwnWS(tiers [][]string) [][]string {
	var out [][]string
	for _, tier := range tiers {
		var t []string
		for _, u := range tier {
			if u != a.wsAnnounce {
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// resumeSeeding adds every stored torrent to the client. Piece completion
// is persisted, so complete data is not re-hashed in full. A torrent whose
// data file is gone is logged and skipped, not fatal.
func (a *App) resumeSeeding(ctx context.Context) error {
	ts, err := a.store.ListTorrents(ctx)
	if err != nil {
		return err
	}
	evicted, err := a.loadEvicted(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Retired() {
			a.retireTorrent(t) // finishes a retirement a crash interrupted
			continue
		}
		if evicted[t.InfoHash] { // retention deleted its data
			if err := a.startOnDemand(ctx, t); err != nil && !errors.Is(err, errNotOnDemand) {
				a.log.Error("resume seeding on demand", "infohash", t.InfoHash, "err", err)
			}
			continue
		}
		if err := a.startSeeding(ctx, t.Metainfo, t.DataPath, false, t.PublisherURL != ""); err != nil {
			a.log.Error("resume seeding", "infohash", t.InfoHash, "data_path", t.DataPath, "err", err)
		}
	}
	a.log.Info("resumed seeding", "torrents", len(ts))
	return nil
}

// startSeeding seeds metainfo mi from dataPath with podseed's announce
// list (plus the publisher's trackers for a publisher's torrent).
func (a *App) startSeeding(ctx context.Context, mi []byte, dataPath string, verified, publisher bool) error {
	if _, err := os.Stat(dataPath); err != nil {
		return fmt.Errorf("data file: %w", err)
	}
	mi, err := seed.WithAnnounceList(mi, a.withoutOwnWS(a.announceFor(mi, publisher)))
	if err != nil {
		return err
	}
	if ih, err := metainfoInfoHash(mi); err == nil {
		// Its bytes are local again (re-ingested): seed them, not the origin's.
		a.stopOnDemand(ih, "seeded from a local copy again")
	}
	ih, err := a.client.AddTorrent(ctx, mi, dataPath, verified)
	if err != nil {
		return err
	}
	a.seeding.Store(ih, true)
	return nil
}

// Run serves HTTP, polls every feed once, then polls due feeds on a cron
// schedule and ingests new episodes, until ctx is done. It then stops cron
// (waiting for running jobs), shuts the HTTP server down and waits for the
// pipeline. Run does not Close the app.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	srvErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.log.Info("serving HTTP", "addr", a.ln.Addr().String(), "base_url", a.urls.Base)
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			srvErr <- fmt.Errorf("serve HTTP: %w", err)
			cancel()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.ingestLoop(ctx)
	}()
	if a.udp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.tracker.ServeUDP(ctx, a.udp); err != nil {
				a.log.Error("UDP tracker", "err", err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.pollFeeds(ctx, true)
	}()
	sched := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	sched.Schedule(cron.Every(a.dueEvery), cron.FuncJob(func() { a.pollFeeds(ctx, false) }))
	// Feeds removed by another process (`podseed remove`) stop seeding
	// within one tick; feeds it adds are due at once for the job above.
	sched.Schedule(cron.Every(a.dueEvery), cron.FuncJob(func() { a.reconcileSeeding(ctx) }))
	sched.Schedule(cron.Every(sampleEvery), cron.FuncJob(func() { a.sampleSwarms(ctx) }))
	sched.Schedule(cron.Every(downsampleEvery), cron.FuncJob(func() { a.downsampleSwarms(ctx) }))
	sched.Schedule(cron.Every(probeEvery), cron.FuncJob(func() { a.probeEnclosures(ctx, time.Now()) }))
	sched.Schedule(cron.Every(retentionEvery), cron.FuncJob(func() { a.enforceRetention(ctx) }))
	sched.Start()

	<-ctx.Done()
	a.log.Info("shutting down")
	<-sched.Stop().Done()
	shutCtx, shutCancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer shutCancel()
	err := a.srv.Shutdown(shutCtx)
	_ = a.wsTracker.Close() // Shutdown does not close WebSocket connections
	wg.Wait()
	// Announces have stopped: keep the completions counted since the last
	// sample for the next run (on a fresh context: ctx is done).
	saveCtx, saveCancel := context.WithTimeout(context.Background(), shutdownTimeout)
	a.saveTrackerCompleted(saveCtx)
	saveCancel()
	select {
	case e := <-srvErr:
		return e
	default:
	}
	if err != nil {
		return fmt.Errorf("shut down HTTP: %w", err)
	}
	return nil
}

// Close releases everything Open acquired, in reverse order.
func (a *App) Close() error {
	var errs []error
	if a.srv != nil {
		errs = append(errs, a.srv.Close())
	}
	if a.ln != nil {
		// Serve closes the listener; Close must also when Run never ran.
		if err := a.ln.Close(); !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if a.wsTracker != nil {
		errs = append(errs, a.wsTracker.Close())
	}
	if a.udp != nil {
		errs = append(errs, a.udp.Close())
	}
	if a.client != nil {
		errs = append(errs, a.client.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}

// config turns the serve flags into a Config.
func (cmd serveCmd) config(c cli, logger *slog.Logger) (Config, error) {
	cfg := Config{
		DataDir: c.DataDir, Listen: cmd.Listen, BaseURL: cmd.BaseURL, BTPort: cmd.BTPort,
		PollInterval: cmd.PollInterval, Announce: cmd.Announce, DHT: cmd.DHT, UDPTracker: cmd.UDPTracker,
		AllowPrivateAddresses: cmd.AllowPrivate, Logger: logger,
		PollWorkers: cmd.PollWorkers, IngestWorkers: cmd.IngestWorkers, MaxEnclosureBytes: cmd.MaxEnclosureBytes,
		AdminToken: cmd.AdminToken, OpenTracker: cmd.OpenTracker,
		UploadRateLimit: cmd.UploadLimit, TorrentUploadRateLimit: cmd.TorrentUpLimit,
		ConnsPerTorrent: cmd.ConnsPerTorrent, HalfOpenPerTorrent: cmd.HalfOpenTorrent, HalfOpen: cmd.HalfOpen,
		MaxConns:     cmd.MaxConns,
		KeepEpisodes: cmd.KeepEpisodes, DiskBudget: cmd.DiskBudget, EvictWithoutWebSeed: cmd.EvictNoWebSeed,
		OnDemandSeeding: cmd.OnDemandSeeding, PieceCacheBytes: cmd.PieceCacheBytes,
	}
	for _, n := range cmd.AllowNets {
		p, err := netip.ParsePrefix(strings.TrimSpace(n))
		if err != nil {
			return Config{}, fmt.Errorf("--allow-net %q: %w", n, err)
		}
		cfg.AllowNets = append(cfg.AllowNets, p)
	}
	for _, l := range []struct {
		flag string
		v    int64
	}{
		{"--upload-limit", cmd.UploadLimit}, {"--torrent-upload-limit", cmd.TorrentUpLimit},
		{"--conns-per-torrent", int64(cmd.ConnsPerTorrent)}, {"--half-open-per-torrent", int64(cmd.HalfOpenTorrent)},
		{"--half-open", int64(cmd.HalfOpen)}, {"--max-conns", int64(cmd.MaxConns)}, {"--poll-workers", int64(cmd.PollWorkers)}, {"--ingest-workers", int64(cmd.IngestWorkers)}, {"--keep-episodes", int64(cmd.KeepEpisodes)}, {"--disk-budget", cmd.DiskBudget},
		{"--piece-cache-bytes", cmd.PieceCacheBytes},
	} {
		if l.v < 0 {
			return Config{}, fmt.Errorf("%s %d: must not be negative", l.flag, l.v)
		}
	}
	return cfg, nil
}

// run is `podseed serve`.
func (cmd serveCmd) run(ctx context.Context, cfg Config) error {
	logger := cfg.Logger
	a, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	for _, u := range cmd.Feeds {
		f, created, err := a.store.CreateFeed(ctx, u)
		if err != nil {
			a.Close()
			return err
		}
		if created {
			logger.Info("added feed", "feed_id", f.ID, "feed_url", f.URL)
		}
	}
	err = a.Run(ctx)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return err
}

// seeds reports whether podseed's client seeds the torrent of v1 infohash
// ih from its own copy (a.seeding).
func (a *App) seeds(ih [20]byte) bool {
	_, ok := a.seeding.Load(fmt.Sprintf("%x", ih))
	return ok
}
