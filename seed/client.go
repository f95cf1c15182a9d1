package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// ErrUnknownTorrent is returned for an infohash the Client is not seeding.
var ErrUnknownTorrent = errors.New("torrent not in client")

// clientMaxAllocPeerRequestDataPerConn is how many bytes of requested piece
// data a peer connection may have buffered. anacrolix's default of 1 MiB stalls
// uploads after about 1.8 MB: the allowance is granted in arrival order while
// requests are served in random order (measured with aria2c, libtorrent and
// transmission; see TestClientAria2cLarge).
const clientMaxAllocPeerRequestDataPerConn = 16 << 20

// clientKeepAliveTimeout bounds how long a lost wake-up can stall an upload.
// anacrolix v1.59.1's per-connection writer (peerConnMsgWriter.run) takes its
// wake-up channel only after it has released the client lock, so a piece
// whose data is read in between (peerRequestServer reads outside the lock,
// then signals the writer) waits until the writer's keep-alive timer fires:
// KeepAliveTimeout, one minute by default. aria2c gave up on podseed mid-file
// (CI, TestClientAria2c: stalled at 16 KiB and at 89 %). The timer fires only
// on a connection idle for this long whose peer is interested, and then sends
// a 4-byte keep-alive, so one second costs at most 4 bytes/s per idle peer.
const clientKeepAliveTimeout = time.Second

// clientPieceCompletionDir is where, inside ClientConfig.DataDir, the piece
// completion database lives.
const clientPieceCompletionDir = "piece-completion"

// ClientConfig configures a Client.
type ClientConfig struct {
	// DataDir is podseed's data directory. The piece completion database
	// (bbolt) lives in DataDir/piece-completion; seeded files may live
	// anywhere.
	DataDir string
	// ListenHost is the address to accept BitTorrent connections on; ""
	// listens on all addresses. An IPv4 literal disables IPv6 and an IPv6
	// literal disables IPv4 (anacrolix fails to start otherwise).
	ListenHost string
	// ListenPort is the BitTorrent TCP and uTP port; 0 picks a free port
	// (see Client.ListenPort).
	ListenPort int
	// DisableDHT turns off the mainline DHT (BEP 5). Tests must set it: the
	// DHT bootstraps from public routers.
	DisableDHT bool
	// Logger receives the client's logs, anacrolix's included; nil discards
	// them.
	Logger *slog.Logger
	// UploadRateLimit caps upload of piece data across all torrents, in
	// bytes per second; 0 means unlimited.
	UploadRateLimit int64
	// TorrentUploadRateLimit caps upload of piece data for each torrent on
	// its own, in bytes per second; 0 means unlimited. anacrolix v1.59.1
	// has no per-torrent limiter: podseed throttles the reads that serve
	// peers' requests (see limitedStorage), so hash checks are not slowed.
	TorrentUploadRateLimit int64
	// EstablishedConnsPerTorrent caps the peer connections of each torrent;
	// 0 keeps anacrolix's default (50). MaxEstablishedConns caps them
	// across torrents.
	EstablishedConnsPerTorrent int
	// HalfOpenConnsPerTorrent caps the outgoing connection attempts in
	// progress per torrent; 0 keeps anacrolix's default (25).
	HalfOpenConnsPerTorrent int
	// TotalHalfOpenConns caps the outgoing connection attempts in progress
	// across all torrents; 0 keeps anacrolix's default (100).
	TotalHalfOpenConns int
	// MaxEstablishedConns caps the established peer connections across
	// all torrents, incoming and outgoing together; 0 means no cap. A
	// connection past the cap is refused right after its BitTorrent
	// handshake (BEP 3), before it joins a torrent, and closed; existing
	// connections are never dropped to make room. anacrolix still dials
	// peers while at the cap (it has no hook to stop that); those
	// connections are refused the same way. See ConnStats.
	MaxEstablishedConns int
}

// Client seeds complete files with one anacrolix/torrent client. It never
// downloads: a piece that is missing or fails its hash check stays missing,
// and Stats reports the torrent incomplete. Web seeds in the metainfo are
// for other clients; this one ignores them. Port forwarding (UPnP, NAT-PMP)
// is off.
//
// A Client is safe for concurrent use.
type Client struct {
	cl     *torrent.Client
	pc     storage.PieceCompletion
	logger *slog.Logger
	// upload is the limiter shared by all torrents (nil: unlimited).
	upload *rate.Limiter
	// torrentUploadLimit is ClientConfig.TorrentUploadRateLimit.
	torrentUploadLimit int64
	// closing is cancelled by Close, ending waits on per-torrent limiters.
	closing context.Context
	cancel  context.CancelFunc
	// throttledBytes counts the bytes read through per-torrent limiters
	// (for tests: the limiter is wired).
	throttledBytes atomic.Int64
	// conns enforces ClientConfig.MaxEstablishedConns and counts
	// established connections.
	conns *connCap
}

// NewClient opens the piece completion database in cfg.DataDir and starts
// the BitTorrent client listening on cfg.ListenHost:cfg.ListenPort. It fails
// if the database is held by another process (after one second) or the port
// is taken. Close the Client when done.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("new torrent client: empty data dir")
	}
	if cfg.UploadRateLimit < 0 {
		return nil, fmt.Errorf("new torrent client: negative upload rate limit %d", cfg.UploadRateLimit)
	}
	if cfg.TorrentUploadRateLimit < 0 {
		return nil, fmt.Errorf("new torrent client: negative per-torrent upload rate limit %d", cfg.TorrentUploadRateLimit)
	}
	if cfg.MaxEstablishedConns < 0 {
		return nil, fmt.Errorf("new torrent client: negative established connection cap %d", cfg.MaxEstablishedConns)
	}
	if cfg.EstablishedConnsPerTorrent < 0 || cfg.HalfOpenConnsPerTorrent < 0 || cfg.TotalHalfOpenConns < 0 {
		return nil, fmt.Errorf("new torrent client: negative connection cap (%d established per torrent, %d half-open per torrent, %d half-open in all)",
			cfg.EstablishedConnsPerTorrent, cfg.HalfOpenConnsPerTorrent, cfg.TotalHalfOpenConns)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pcDir := filepath.Join(cfg.DataDir, clientPieceCompletionDir)
	if err := os.MkdirAll(pcDir, 0o750); err != nil {
		return nil, fmt.Errorf("new torrent client: %w", err)
	}
	pc, err := storage.NewBoltPieceCompletion(pcDir)
	if err != nil {
		return nil, fmt.Errorf("new torrent client: open piece completion in %q: %w", pcDir, err)
	}

	tc := torrent.NewDefaultClientConfig()
	tc.Slogger = logger
	tc.Seed = true
	tc.NoUpload = false
	tc.MaxAllocPeerRequestDataPerConn = clientMaxAllocPeerRequestDataPerConn
	tc.KeepAliveTimeout = clientKeepAliveTimeout
	tc.NoDHT = cfg.DisableDHT
	tc.NoDefaultPortForwarding = true
	// This client only seeds; web seeds would only ever be used to download.
	tc.DisableWebseeds = true
	// WebRTC peers (WebTorrent) come through ws:// trackers. No STUN or
	// TURN servers: they would be third parties; only host ICE candidates
	// are offered. Each torrent announced to a ws:// tracker keeps one
	// pending WebRTC offer (about 7 file descriptors and 14 goroutines).
	tc.DisableWebtorrent = false
	tc.ICEServerList = nil
	tc.ListenPort = cfg.ListenPort
	host := cfg.ListenHost
	tc.ListenHost = func(string) string { return host }
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Unmap().Is4() {
			tc.DisableIPv6 = true
		} else {
			tc.DisableIPv4 = true
		}
	}
	var upload *rate.Limiter
	if cfg.UploadRateLimit > 0 {
		upload = rate.NewLimiter(rate.Limit(cfg.UploadRateLimit), clientUploadBurst(cfg.UploadRateLimit))
		tc.UploadRateLimiter = upload
	}
	if cfg.EstablishedConnsPerTorrent > 0 {
		tc.EstablishedConnsPerTorrent = cfg.EstablishedConnsPerTorrent
	}
	if cfg.HalfOpenConnsPerTorrent > 0 {
		tc.HalfOpenConnsPerTorrent = cfg.HalfOpenConnsPerTorrent
	}
	if cfg.TotalHalfOpenConns > 0 {
		tc.TotalHalfOpenConns = cfg.TotalHalfOpenConns
	}
	conns := &connCap{max: cfg.MaxEstablishedConns, logger: logger}
	conns.install(tc)
	// Every torrent gets its own storage (AddTorrent); this default only
	// stops anacrolix from opening a second completion database in DataDir.
	tc.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   filepath.Join(cfg.DataDir, "files"),
		PieceCompletion: pc,
		UsePartFiles:    g.Some(false),
		Logger:          logger,
	})

	cl, err := torrent.NewClient(tc)
	if err != nil {
		return nil, errors.Join(
			fmt.Errorf("new torrent client: %w", err),
			pc.Close(),
		)
	}
	closing, cancel := context.WithCancel(context.Background())
	return &Client{
		cl: cl, pc: pc, logger: logger, upload: upload, torrentUploadLimit: cfg.TorrentUploadRateLimit,
		closing: closing, cancel: cancel, conns: conns,
	}, nil
}

// PeerID returns the 20-byte peer ID (BEP 3) the client sends in its
// announces and handshakes, the same for every torrent (for
// TrackerConfig.SelfPeerID).
func (c *Client) PeerID() [20]byte { return [20]byte(c.cl.PeerID()) }

// clientUploadBurst is the upload limiter's burst for a limit in bytes/s: one
// second's worth, at least 256 KiB (anacrolix panics when a peer's request,
// up to 128 KiB, exceeds the burst) and at most the per-connection request
// allowance.
func clientUploadBurst(limit int64) int {
	return int(min(max(limit, 256<<10), clientMaxAllocPeerRequestDataPerConn))
}

// Close stops all torrents, closes peer connections and listeners, and then
// the piece completion database.
func (c *Client) Close() error {
	c.cancel()
	errs := c.cl.Close()
	if err := c.pc.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close piece completion: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close torrent client: %w", err)
	}
	return nil
}

// AddTorrent starts seeding mi, a bencoded single-file v1 (or hybrid)
// .torrent, from the complete file at dataPath, in place and without a copy.
// The file must be a regular file of exactly the torrent's length. Adding a
// torrent that is already seeded does nothing. It returns the v1 infohash in
// lower-case hex.
//
// verified=true means the caller has just hashed these very bytes (ingest):
// every piece is recorded complete without hashing it again. With
// verified=false (restart), the persisted piece completion is trusted: a
// torrent whose pieces are all recorded complete, and whose file still has
// the right size, seeds at once without reading the file. Pieces with no
// recorded completion are hash-checked in the background; AddTorrent does not
// wait for that, Stats reports it. anacrolix v1.59.1 checks only the size,
// not the modification time, so bytes changed in place behind podseed's back
// go unnoticed; podseed never does that (a torrent is immutable, ingest
// renames a complete file into place).
func (c *Client) AddTorrent(ctx context.Context, mi []byte, dataPath string, verified bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("add torrent: %w", err)
	}
	m, info, err := clientDecodeSingleFile(mi)
	if err != nil {
		return "", fmt.Errorf("add torrent: %w", err)
	}
	ih := m.HashInfoBytes()
	ihHex := ih.HexString()
	if _, ok := c.cl.Torrent(ih); ok {
		return ihHex, nil
	}

	dataPath, err = filepath.Abs(dataPath)
	if err != nil {
		return "", fmt.Errorf("add torrent %s: %w", ihHex, err)
	}
	fi, err := os.Stat(dataPath)
	if err != nil {
		return "", fmt.Errorf("add torrent %s: %w", ihHex, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("add torrent %s: %q is not a regular file", ihHex, dataPath)
	}
	if fi.Size() != info.TotalLength() {
		return "", fmt.Errorf("add torrent %s: %q has %d bytes, torrent has %d", ihHex, dataPath, fi.Size(), info.TotalLength())
	}

	if verified {
		// One bbolt transaction per piece; podseed torrents have at most
		// 2048 pieces (PieceLengthFor).
		for i := range info.NumPieces() {
			if err := c.pc.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, true); err != nil {
				return "", fmt.Errorf("add torrent %s: mark piece %d complete: %w", ihHex, i, err)
			}
		}
	}

	if err := c.addSeedOnly(m, clientFileStorage(dataPath, c.pc, c.logger)); err != nil {
		return "", fmt.Errorf("add torrent %s from %q: %w", ihHex, dataPath, err)
	}
	c.logger.Debug("seeding torrent", "infohash", ihHex, "path", dataPath, "verified", verified)
	return ihHex, nil
}

// clientDecodeSingleFile decodes mi, a bencoded .torrent, and its info
// dictionary; it is an error unless the torrent is single-file and has v1
// piece hashes (v1 or hybrid), the only kind podseed seeds.
func clientDecodeSingleFile(mi []byte) (*metainfo.MetaInfo, metainfo.Info, error) {
	m, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		return nil, metainfo.Info{}, fmt.Errorf("decode metainfo: %w", err)
	}
	info, err := m.UnmarshalInfo()
	if err != nil {
		return nil, metainfo.Info{}, fmt.Errorf("decode info: %w", err)
	}
	if !info.HasV1() {
		return nil, metainfo.Info{}, errors.New("v2-only torrents are not supported")
	}
	if info.IsDir() {
		return nil, metainfo.Info{}, errors.New("multi-file torrents are not supported")
	}
	return m, info, nil
}

// addSeedOnly adds m to the client with storage st, behind the per-torrent
// upload limit if one is set, never downloading.
func (c *Client) addSeedOnly(m *metainfo.MetaInfo, st storage.ClientImpl) error {
	spec, err := torrent.TorrentSpecFromMetaInfoErr(m)
	if err != nil {
		return err
	}
	spec.Storage = st
	if c.torrentUploadLimit > 0 {
		spec.Storage = c.limitedStorage(spec.Storage, c.torrentUploadLimit)
	}
	spec.DisallowDataDownload = true
	t, _, err := c.cl.AddTorrentSpec(spec)
	if err != nil {
		return err
	}
	// AddTorrentSpec swallows errors opening the storage; they leave the
	// torrent without info.
	if t.Info() == nil {
		t.Drop()
		return errors.New("storage did not open")
	}
	return nil
}

// clientFileStorage is the storage for one torrent whose single file is exactly
// dataPath. Part files are off: anacrolix would otherwise rename a file with
// an incomplete piece to "<name>.part", and would infer completion from
// file names alone. Its Close only closes pc, which the Client owns, so it
// is never called; the storage holds no other resources (but see the
// package documentation on mmap).
func clientFileStorage(dataPath string, pc storage.PieceCompletion, logger *slog.Logger) storage.ClientImpl {
	dir, name := filepath.Split(dataPath)
	return storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: dir,
		TorrentDirMaker: func(string, *metainfo.Info, metainfo.Hash) string {
			return dir
		},
		FilePathMaker: func(storage.FilePathMakerOpts) string {
			return name
		},
		PieceCompletion: pc,
		UsePartFiles:    g.Some(false),
		Logger:          logger,
	})
}

// DropTorrent stops seeding the torrent with the given hex infohash and
// closes its peer connections. The file and its recorded piece completion
// stay, so adding it again is cheap. Dropping a torrent that is not seeded
// does nothing; a malformed infohash is an error.
func (c *Client) DropTorrent(infoHash string) error {
	ih, err := clientParseInfoHash(infoHash)
	if err != nil {
		return fmt.Errorf("drop torrent: %w", err)
	}
	if t, ok := c.cl.Torrent(ih); ok {
		t.Drop()
		c.logger.Debug("dropped torrent", "infohash", ih.HexString())
	}
	return nil
}

// AddPeers makes the client dial addrs for the torrent with the given hex
// infohash. Trackers normally supply peers; this is for peers that will not
// take the connection from a tracker's list themselves (transmission ignores
// 127.0.0.0/8 peers from trackers). It returns ErrUnknownTorrent if the
// torrent is not seeded.
func (c *Client) AddPeers(infoHash string, addrs []netip.AddrPort) error {
	ih, err := clientParseInfoHash(infoHash)
	if err != nil {
		return fmt.Errorf("add peers: %w", err)
	}
	t, ok := c.cl.Torrent(ih)
	if !ok {
		return fmt.Errorf("add peers to %s: %w", ih.HexString(), ErrUnknownTorrent)
	}
	peers := make([]torrent.PeerInfo, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() || a.Port() == 0 {
			return fmt.Errorf("add peers to %s: invalid address %v", ih.HexString(), a)
		}
		peers = append(peers, torrent.PeerInfo{
			Addr:    a,
			Source:  torrent.PeerSourceDirect,
			Trusted: true,
		})
	}
	t.AddPeers(peers)
	return nil
}

// AddTrackers makes the client announce the torrent with the given hex
// infohash to the tracker URLs too, from now on (anacrolix keeps trackers it
// already announces to once). A ws:// or wss:// URL is a WebTorrent tracker:
// the client then offers and answers WebRTC connections through it. It
// returns ErrUnknownTorrent if the torrent is not seeded.
func (c *Client) AddTrackers(infoHash string, urls []string) error {
	ih, err := clientParseInfoHash(infoHash)
	if err != nil {
		return fmt.Errorf("add trackers: %w", err)
	}
	t, ok := c.cl.Torrent(ih)
	if !ok {
		return fmt.Errorf("add trackers to %s: %w", ih.HexString(), ErrUnknownTorrent)
	}
	t.AddTrackers([][]string{urls})
	return nil
}

// ListenPort returns the port the client accepts BitTorrent connections on,
// or 0 if it has no listener or has been closed. (anacrolix's LocalPort
// goes on reporting the port of a closed client's listeners.)
func (c *Client) ListenPort() int {
	select {
	case <-c.cl.Closed():
		return 0
	default:
	}
	return c.cl.LocalPort()
}

// clientParseInfoHash parses a 40-digit hex v1 infohash.
func clientParseInfoHash(s string) (metainfo.Hash, error) {
	var ih metainfo.Hash
	if err := ih.FromHexString(s); err != nil {
		return ih, fmt.Errorf("infohash %q: %w", s, err)
	}
	return ih, nil
}
