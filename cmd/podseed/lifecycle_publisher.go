package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/seed"
	"github.com/podseed/podseed/store"
)

// A feed may carry its own torrent for an enclosure (PeerTube lists a
// .torrent next to each file in podcast:alternateEnclosure). podseed then
// makes no second torrent for the same file: after downloading the
// enclosure it checks the publisher's torrent against the bytes and, if
// every piece matches, seeds and records that torrent instead of its own.
// The republished feed keeps the publisher's alternate enclosure as it is
// and gains none from podseed for that item.

const (
	// publisherTorrentMaxBytes bounds a publisher's .torrent (bytes).
	publisherTorrentMaxBytes = 4 << 20
	// publisherTorrentTimeout bounds its download.
	publisherTorrentTimeout = time.Minute
)

// adoptPublisherTorrent fetches e's publisher torrent and checks that it
// describes exactly the file podseed downloaded (tor, from ing): a v1
// single-file torrent of the same length whose every piece hash matches the
// file. It then returns tor made over to the publisher's torrent: its
// infohash, name, piece length and metainfo (without url-list if podseed
// withheld the web seed), PublisherURL set, and the file moved to
// files/<its infohash>/. On error tor and the file are unchanged.
func (a *App) adoptPublisherTorrent(ctx context.Context, e store.Episode, tor store.Torrent) (store.Torrent, error) {
	raw, err := a.fetchPublisherTorrent(ctx, e.PublisherTorrentURL)
	if err != nil {
		return tor, err
	}
	mi, err := metainfo.Load(bytes.NewReader(raw))
	if err != nil {
		return tor, fmt.Errorf("decode publisher torrent: %w", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return tor, fmt.Errorf("decode publisher torrent info: %w", err)
	}
	switch {
	case !info.HasV1() || info.IsDir():
		return tor, errors.New("publisher torrent is not a v1 single-file torrent")
	case info.Length != tor.Size:
		return tor, fmt.Errorf("publisher torrent has %d bytes, the enclosure %d", info.Length, tor.Size)
	}
	if err := verifyPieces(ctx, tor.DataPath, info); err != nil {
		return tor, fmt.Errorf("publisher torrent does not match the enclosure: %w", err)
	}
	ih := mi.HashInfoBytes().HexString()
	if tor.WebSeedWithheld != "" {
		if raw, err = seed.WithoutWebSeeds(raw); err != nil {
			return tor, err
		}
	}
	dataPath := tor.DataPath
	if ih != tor.InfoHash {
		dir := filepath.Join(filepath.Dir(filepath.Dir(tor.DataPath)), ih)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return tor, err
		}
		dataPath = filepath.Join(dir, filepath.Base(tor.DataPath))
		if err := os.Rename(tor.DataPath, dataPath); err != nil {
			os.Remove(dir) // only if empty
			return tor, err
		}
		os.Remove(filepath.Dir(tor.DataPath)) // only if empty
	}
	tor.InfoHash, tor.Name, tor.PieceLength, tor.Metainfo = ih, info.BestName(), info.PieceLength, raw
	tor.DataPath, tor.PublisherURL = dataPath, e.PublisherTorrentURL
	return tor, nil
}

// fetchPublisherTorrent downloads a .torrent of at most
// publisherTorrentMaxBytes through the SSRF-guarded client.
func (a *App) fetchPublisherTorrent(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, publisherTorrentTimeout)
	defer cancel()
	client, _ := recordingClient(a.ingestHTTP)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("publisher torrent url: %w", err)
	}
	req.Header.Set("User-Agent", a.cfg.userAgent())
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch publisher torrent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch publisher torrent: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, publisherTorrentMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch publisher torrent: %w", err)
	}
	if len(b) > publisherTorrentMaxBytes {
		return nil, fmt.Errorf("publisher torrent larger than %d bytes", publisherTorrentMaxBytes)
	}
	return b, nil
}

// verifyPieces checks every v1 piece hash of info against the file at
// path.
func verifyPieces(ctx context.Context, path string, info metainfo.Info) error {
	if info.PieceLength <= 0 || len(info.Pieces) != sha1.Size*info.NumPieces() {
		return errors.New("malformed piece hashes")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, info.PieceLength)
	for i := range info.NumPieces() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(f, buf)
		if err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && i == info.NumPieces()-1) {
			return fmt.Errorf("read piece %d: %w", i, err)
		}
		sum := sha1.Sum(buf[:n])
		if !bytes.Equal(sum[:], info.Pieces[i*sha1.Size:(i+1)*sha1.Size]) {
			return fmt.Errorf("piece %d differs", i)
		}
	}
	return nil
}

// announceFor is the announce list (BEP 12 tiers) podseed serves and
// seeds torrent metainfo mi with: its own trackers, then, for a
// publisher's torrent, the trackers the publisher named.
func (a *App) announceFor(mi []byte, publisher bool) [][]string {
	ours := a.announceList()
	if !publisher {
		return ours
	}
	m, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		return ours
	}
	seen := map[string]bool{}
	for _, tier := range ours {
		for _, u := range tier {
			seen[u] = true
		}
	}
	out := ours
	for _, tier := range m.UpvertedAnnounceList() {
		var t []string
		for _, u := range tier {
			if u != "" && !seen[u] {
				seen[u] = true
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}
