package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/podseed/podseed/seed"
)

// run writes a .torrent for one enclosure: a URL is downloaded once into
// the data directory (and becomes the web seed), a local file is hashed in
// place.
func (cmd createCmd) run(ctx context.Context, c cli, stdout io.Writer, log *slog.Logger) error {
	cfg := Config{DataDir: c.DataDir}
	announce := announceTiers(nil, cmd.Announce)
	var mi []byte
	var infoHash, name string
	if strings.HasPrefix(cmd.Source, "http://") || strings.HasPrefix(cmd.Source, "https://") {
		for _, dir := range []string{cfg.tmpDir(), cfg.filesDir()} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
		}
		ing, err := seed.Ingest(ctx, seed.IngestRequest{
			URL: cmd.Source, TmpDir: cfg.tmpDir(), FilesDir: cfg.filesDir(),
			AnnounceList: announce, CreatedBy: cfg.createdBy(), UserAgent: cfg.userAgent(),
			Client: &http.Client{Transport: http.DefaultTransport},
		})
		if err != nil {
			return err
		}
		log.Info("downloaded enclosure", "data_path", ing.DataPath, "size", ing.Size, "piece_length", ing.PieceLength)
		mi, infoHash, name = ing.Metainfo, ing.InfoHash, ing.Name
	} else {
		name = seed.SanitizeName(filepath.Base(cmd.Source))
		var err error
		mi, infoHash, err = seed.BuildMetainfo(cmd.Source, seed.MetainfoOptions{
			Name: name, WebSeeds: cmd.WebSeed, AnnounceList: announce,
			CreatedBy: cfg.createdBy(), CreationDate: time.Now(),
		})
		if err != nil {
			return err
		}
	}
	out := cmd.Output
	if out == "" {
		out = name + ".torrent"
	}
	if err := writeFileAtomic(out, mi); err != nil {
		return err
	}
	magnet, err := seed.Magnet(mi, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "torrent: %s\ninfohash: %s\nmagnet: %s\n", out, infoHash, magnet)
	return nil
}

// announceTiers puts each announce URL in its own tier (BEP 12), podseed's
// own tracker first.
func announceTiers(own []string, extra []string) [][]string {
	var tiers [][]string
	for _, u := range append(append([]string(nil), own...), extra...) {
		if u = strings.TrimSpace(u); u != "" {
			tiers = append(tiers, []string{u})
		}
	}
	return tiers
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so a crash never leaves a half-written file at path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".podseed-*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
