package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// Config is everything podseed's commands need, gathered from flags and
// their PODSEED_* environment equivalents.
type Config struct {
	// DataDir holds the SQLite store, partial downloads, complete files and
	// the piece completion database.
	DataDir string
	// Listen is the HTTP listen address (dashboard, feeds, tracker).
	Listen string
	// BaseURL is the public base URL used in published links, without a
	// trailing slash; "" derives it from the listen address.
	BaseURL string
	// UDPTracker is the UDP tracker's (BEP 15) listen address; "" uses the
	// HTTP listen address (same port number, UDP), "off" disables it.
	UDPTracker string
	// BTPort is the BitTorrent (TCP and uTP) listen port; 0 picks one.
	BTPort int
	// BTListenHost restricts the BitTorrent listener to one address; "" = all.
	BTListenHost string
	// PollInterval is the time between two polls of one feed.
	PollInterval time.Duration
	// Announce lists extra tracker announce URLs, after podseed's own.
	Announce []string
	// DHT enables the BitTorrent DHT (BEP 5).
	DHT bool
	// PollWorkers bounds concurrent feed fetches (perHostConcurrency per
	// host on top); 0 means defaultPollWorkers(runtime.NumCPU()).
	PollWorkers int
	// IngestWorkers bounds concurrent enclosure downloads; 0 means
	// defaultIngestWorkers(runtime.NumCPU()).
	IngestWorkers int
	// MaxEnclosureBytes caps one enclosure's size in bytes.
	MaxEnclosureBytes int64
	// AllowPrivateAddresses lets feed and enclosure URLs reach loopback,
	// private and link-local addresses (tests, LAN deployments); off by
	// default as SSRF protection.
	AllowPrivateAddresses bool
	// AllowNets lists address ranges allowed despite the SSRF guard.
	AllowNets []netip.Prefix
	// AdminToken guards the dashboard's admin actions (add and remove
	// feeds); "" disables them.
	AdminToken string
	// OpenTracker makes the built-in tracker serve any infohash instead of
	// only the torrents podseed seeds.
	OpenTracker bool
	// UploadRateLimit caps podseed's upload across all torrents, in bytes
	// per second; 0 is unlimited.
	UploadRateLimit int64
	// TorrentUploadRateLimit caps each torrent's upload, in bytes per
	// second; 0 is unlimited.
	TorrentUploadRateLimit int64
	// ConnsPerTorrent caps each torrent's peer connections; 0 keeps the
	// torrent library's default (50).
	ConnsPerTorrent int
	// MaxConns caps established peer connections across all torrents,
	// incoming and outgoing together; 0 is no cap. The serve default, 200,
	// keeps a small box (a home router's NAT table, a Raspberry Pi's file
	// descriptors) safe with thousands of seeded episodes, where
	// ConnsPerTorrent alone would allow 50 per torrent.
	MaxConns int
	// HalfOpenPerTorrent caps each torrent's outgoing connection attempts
	// in progress; 0 keeps the default (25).
	HalfOpenPerTorrent int
	// HalfOpen caps outgoing connection attempts in progress across all
	// torrents; 0 keeps the default (100).
	HalfOpen int
	// KeepEpisodes keeps the data of the newest N ready episodes of each
	// feed and evicts older ones (retention.go); 0 keeps all.
	KeepEpisodes int
	// DiskBudget bounds the bytes of episode data kept in files/, evicting
	// the oldest episodes beyond it; 0 is no budget.
	DiskBudget int64
	// EvictWithoutWebSeed lets retention evict torrents whose web seed is
	// withheld (unstable origin), which then may have no source at all.
	EvictWithoutWebSeed bool
	// OnDemandSeeding makes retention keep seeding the episodes it evicts
	// whose origin is stable (web seed published, enclosure alive),
	// fetching the pieces peers ask for from the origin into a bounded
	// cache instead of keeping a copy (ondemand.go).
	OnDemandSeeding bool
	// PieceCacheBytes is that cache's budget in bytes; 0 means
	// defaultPieceCacheBytes (64 MiB).
	PieceCacheBytes int64
	// Logger receives every component's logs.
	Logger *slog.Logger
}

// guard is the SSRF guard for outgoing feed and enclosure fetches.
func (c Config) guard() addressGuard {
	return addressGuard{allowAll: c.AllowPrivateAddresses, allow: c.AllowNets}
}

func (c Config) dbPath() string   { return filepath.Join(c.DataDir, "podseed.db") }
func (c Config) tmpDir() string   { return filepath.Join(c.DataDir, "tmp") }
func (c Config) filesDir() string { return filepath.Join(c.DataDir, "files") }

// openStore opens the store in the data directory. Torrents' data paths
// are recorded relative to filesDir and read back under the current one,
// so the data directory can be moved while podseed is stopped.
func (c Config) openStore(ctx context.Context) (*store.Store, error) {
	return store.OpenWith(ctx, c.dbPath(), store.Options{FilesDir: c.filesDir()})
}
func (c Config) userAgent() string {
	return "podseed/" + version + " (+https://github.com/podseed/podseed)"
}
func (c Config) createdBy() string { return "podseed/" + version }

// baseURLFor derives the public base URL from a listen address when none
// is configured: an unspecified host becomes "localhost".
func baseURLFor(configured string, addr net.Addr) (string, error) {
	if configured != "" {
		if !strings.HasPrefix(configured, "http://") && !strings.HasPrefix(configured, "https://") {
			return "", fmt.Errorf("base URL %q: want http:// or https://", configured)
		}
		return strings.TrimRight(configured, "/"), nil
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// udpAnnounceURL is the UDP tracker's announce URL (BEP 15): the base URL's
// host with the UDP socket's port.
func udpAnnounceURL(base string, addr net.Addr) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", base, err)
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", fmt.Errorf("UDP tracker address %q: %w", addr, err)
	}
	return "udp://" + net.JoinHostPort(u.Hostname(), port) + "/announce", nil
}
