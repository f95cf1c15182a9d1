package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/podseed/podseed/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// cli is the command line grammar; kong maps each flag to its PODSEED_*
// environment variable.
type cli struct {
	DataDir  string `name:"data-dir" env:"PODSEED_DATA_DIR" default:"./podseed-data" help:"Directory for the SQLite store and torrent data."`
	LogLevel string `name:"log-level" env:"PODSEED_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level (debug, info, warn, error)."`

	Serve   serveCmd   `cmd:"" help:"Poll feeds, torrentify new episodes, seed them and serve the republished feeds."`
	Add     addCmd     `cmd:"" help:"Add a feed."`
	List    listCmd    `cmd:"" help:"List feeds."`
	Remove  removeCmd  `cmd:"" help:"Remove a feed by ID or URL."`
	Create  createCmd  `cmd:"" help:"Write a .torrent for one enclosure URL or local file and print its infohash and magnet link."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

type serveCmd struct {
	Feeds             []string      `arg:"" optional:"" name:"FEED_URL" help:"Feed URLs to add (idempotently) before the first poll."`
	Listen            string        `env:"PODSEED_LISTEN" default:":8080" help:"HTTP listen address (dashboard, feeds, tracker)."`
	BaseURL           string        `name:"base-url" env:"PODSEED_BASE_URL" help:"Public base URL used in published links (default: derived from --listen)."`
	UDPTracker        string        `name:"udp-tracker" env:"PODSEED_UDP_TRACKER" help:"UDP tracker (BEP 15) listen address; default: the --listen address over UDP; \"off\" disables it."`
	BTPort            int           `name:"bt-port" env:"PODSEED_BT_PORT" default:"6881" help:"BitTorrent listen port (TCP and uTP); 0 picks one."`
	PollInterval      time.Duration `name:"poll-interval" env:"PODSEED_POLL_INTERVAL" default:"15m" help:"Time between two polls of a feed."`
	Announce          []string      `name:"announce" env:"PODSEED_ANNOUNCE" sep:"," help:"Extra tracker announce URLs, comma-separated."`
	DHT               bool          `name:"dht" env:"PODSEED_DHT" default:"true" negatable:"" help:"Enable the BitTorrent DHT."`
	AllowPrivate      bool          `name:"allow-private-addresses" env:"PODSEED_ALLOW_PRIVATE_ADDRESSES" help:"Let feed and enclosure URLs reach loopback, private and link-local addresses (refused by default: SSRF guard)."`
	PollWorkers       int           `name:"poll-workers" env:"PODSEED_POLL_WORKERS" default:"0" help:"Feeds fetched at once (at most 2 per host); 0 sizes it from the cores: 2 per core, 4 to 32 (${poll_workers} here)."`
	IngestWorkers     int           `name:"ingest-workers" env:"PODSEED_INGEST_WORKERS" default:"0" help:"Enclosures downloaded at once; 0 sizes it from the cores: 1 per core, 2 to 8 (${ingest_workers} here)."`
	MaxEnclosureBytes int64         `name:"max-enclosure-bytes" env:"PODSEED_MAX_ENCLOSURE_BYTES" default:"4294967296" help:"Largest enclosure podseed downloads, in bytes."`
	AllowNets         []string      `name:"allow-net" env:"PODSEED_ALLOW_NET" sep:"," help:"Address ranges (CIDR, comma-separated) allowed despite the SSRF guard, e.g. 192.168.1.0/24."`
	AdminToken        string        `name:"admin-token" env:"PODSEED_ADMIN_TOKEN" help:"Secret that enables adding and removing feeds from the dashboard (login form or Authorization: Bearer); unset disables them. Prefer the environment variable: flags show in ps."`
	OpenTracker       bool          `name:"open-tracker" env:"PODSEED_OPEN_TRACKER" help:"Let the built-in tracker serve any infohash, not only the torrents podseed seeds."`
	UploadLimit       int64         `name:"upload-limit" env:"PODSEED_UPLOAD_LIMIT" default:"0" help:"Upload rate limit across all torrents, in bytes per second; 0 is unlimited."`
	TorrentUpLimit    int64         `name:"torrent-upload-limit" env:"PODSEED_TORRENT_UPLOAD_LIMIT" default:"0" help:"Upload rate limit of each torrent, in bytes per second; 0 is unlimited."`
	ConnsPerTorrent   int           `name:"conns-per-torrent" env:"PODSEED_CONNS_PER_TORRENT" default:"50" help:"Peer connections per torrent."`
	MaxConns          int           `name:"max-conns" env:"PODSEED_MAX_CONNS" default:"200" help:"Established peer connections across all torrents; 0 is no cap. Connections past it are refused."`
	HalfOpenTorrent   int           `name:"half-open-per-torrent" env:"PODSEED_HALF_OPEN_PER_TORRENT" default:"25" help:"Outgoing connection attempts in progress per torrent."`
	HalfOpen          int           `name:"half-open" env:"PODSEED_HALF_OPEN" default:"100" help:"Outgoing connection attempts in progress across all torrents."`
	KeepEpisodes      int           `name:"keep-episodes" env:"PODSEED_KEEP_EPISODES" default:"0" help:"Keep the data of the newest N episodes per feed; older ones are evicted (their torrents stay published). 0 keeps all."`
	DiskBudget        int64         `name:"disk-budget" env:"PODSEED_DISK_BUDGET" default:"0" help:"Most bytes of episode data kept in files/; the oldest episodes are evicted beyond it. 0 is no budget."`
	EvictNoWebSeed    bool          `name:"evict-without-web-seed" env:"PODSEED_EVICT_WITHOUT_WEB_SEED" help:"Let retention evict episodes whose web seed is withheld (unstable origin), leaving them with no guaranteed source."`
	OnDemandSeeding   bool          `name:"on-demand-seeding" env:"PODSEED_ON_DEMAND_SEEDING" help:"Keep seeding episodes retention evicts whose origin is stable, fetching the pieces peers ask for from the origin (verified) into a bounded cache instead of keeping a copy."`
	PieceCacheBytes   int64         `name:"piece-cache-bytes" env:"PODSEED_PIECE_CACHE_BYTES" default:"67108864" help:"Memory for verified pieces of episodes seeded on demand, in bytes."`
}

type addCmd struct {
	URL string `arg:"" name:"FEED_URL" help:"Feed URL."`
}

type listCmd struct{}

type removeCmd struct {
	Feed string `arg:"" name:"FEED_ID|URL" help:"Feed ID or URL."`
}

type createCmd struct {
	Source   string   `arg:"" name:"URL|FILE" help:"Enclosure URL (downloaded once, used as web seed) or local file."`
	Output   string   `short:"o" help:"Output .torrent path (default: NAME.torrent in the current directory)."`
	WebSeed  []string `name:"web-seed" help:"Web seed URLs (BEP 19) for a local FILE."`
	Announce []string `name:"announce" env:"PODSEED_ANNOUNCE" sep:"," help:"Tracker announce URLs."`
}

type versionCmd struct{}

// errExit carries kong's requested exit status (after --help) out of
// kong's callback.
type errExit struct{ code int }

func (e errExit) Error() string { return "exit " + strconv.Itoa(e.code) }

// run parses args and runs one subcommand, writing to stdout and stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var c cli
	parser, err := newParser(&c,
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(errExit{code}) }),
	)
	if err != nil {
		return fmt.Errorf("build command line: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(errExit)
			if !ok {
				panic(r)
			}
			if e.code != 0 {
				err = e
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, c.LogLevel)
	switch kctx.Command() {
	case "serve", "serve <FEED_URL>":
		cfg, err := c.Serve.config(c, logger)
		if err != nil {
			return err
		}
		return c.Serve.run(ctx, cfg)
	case "add <FEED_URL>":
		return withStore(ctx, c, func(s *store.Store) error {
			f, created, err := s.CreateFeed(ctx, c.Add.URL)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(stdout, "added feed %d %s\n", f.ID, f.URL)
			} else {
				fmt.Fprintf(stdout, "feed %d %s already exists\n", f.ID, f.URL)
			}
			return nil
		})
	case "list":
		return withStore(ctx, c, func(s *store.Store) error { return listFeeds(ctx, s, stdout) })
	case "remove <FEED_ID|URL>":
		return withStore(ctx, c, func(s *store.Store) error { return removeFeed(ctx, s, c.Remove.Feed, stdout) })
	case "create <URL|FILE>":
		return c.Create.run(ctx, c, stdout, logger)
	case "version":
		fmt.Fprintln(stdout, "podseed", version)
		return nil
	}
	return fmt.Errorf("unknown command %q", kctx.Command())
}

// newParser builds the command line parser filling c, with the variables
// its help texts use (the core-sized defaults of concurrency.go).
func newParser(c *cli, opts ...kong.Option) (*kong.Kong, error) {
	return kong.New(c, append([]kong.Option{
		kong.Name("podseed"),
		kong.Description("Turn podcast feeds into BitTorrent-backed ones."),
		kong.Vars{
			"poll_workers":   strconv.Itoa(defaultPollWorkers(numCPU())),
			"ingest_workers": strconv.Itoa(defaultIngestWorkers(numCPU())),
		},
	}, opts...)...)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // kong's enum already checked it
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// withStore opens the store in the data directory for one command. It takes
// no exclusive lock, so it works while `serve` runs (SQLite WAL).
func withStore(ctx context.Context, c cli, fn func(*store.Store) error) error {
	s, err := Config{DataDir: c.DataDir}.openStore(ctx)
	if err != nil {
		return err
	}
	err = fn(s)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

func listFeeds(ctx context.Context, s *store.Store, w io.Writer) error {
	feeds, err := s.ListFeeds(ctx)
	if err != nil {
		return err
	}
	for _, f := range feeds {
		status := "ok"
		switch {
		case f.LastError != "":
			status = "error: " + f.LastError
		case f.LastFetchedAt.IsZero():
			status = "never polled"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", f.ID, f.URL, f.Title, status)
	}
	return nil
}

func removeFeed(ctx context.Context, s *store.Store, idOrURL string, w io.Writer) error {
	var f store.Feed
	var err error
	if id, perr := strconv.ParseInt(idOrURL, 10, 64); perr == nil {
		f, err = s.FindFeedByID(ctx, id)
	} else {
		f, err = s.FindFeedByURL(ctx, strings.TrimSpace(idOrURL))
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no feed %q", idOrURL)
		}
		return err
	}
	if err := s.DeleteFeed(ctx, f.ID); err != nil {
		return err
	}
	fmt.Fprintf(w, "removed feed %d %s\n", f.ID, f.URL)
	return nil
}
