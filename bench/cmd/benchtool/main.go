// Command benchtool is the loopback plumbing of podseed's benchmarks
// (bench/run): an origin serving files and synthetic podcast feeds, an open
// BitTorrent tracker, torrent editing, and test data. It is not part of
// podseed and never talks to anything but the addresses it is given.
//
// Subcommands:
//
//	benchtool gen -size BYTES -out PATH
//	benchtool origin -addr 127.0.0.1:PORT [-dir DIR] [-feeds N -items M -media-size BYTES] [-big-feeds K -big-items L]
//	benchtool tracker -addr 127.0.0.1:PORT
//	benchtool torrent -in IN.torrent -out OUT.torrent [-announce URL] [-strip-web-seeds]
//	benchtool info IN.torrent                 (prints "INFOHASH NAME")
//	benchtool wait-seeder -scrape URL -infohash HEX [-timeout D]
package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/podseed/podseed/seed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: benchtool gen|origin|tracker|torrent|infohash ...")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "gen":
		size := fs.Int64("size", 1<<30, "bytes")
		out := fs.String("out", "", "output path")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return gen(*out, *size)
	case "origin":
		var o origin
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		fs.StringVar(&o.dir, "dir", "", "directory served under /files/")
		fs.IntVar(&o.feeds, "feeds", 0, "number of synthetic feeds /feed/{i}.rss (i from 1)")
		fs.IntVar(&o.items, "items", 10, "items per synthetic feed")
		fs.IntVar(&o.bigFeeds, "big-feeds", 0, "the first K feeds have -big-items items instead")
		fs.IntVar(&o.bigItems, "big-items", 3000, "items in each big feed")
		fs.Int64Var(&o.mediaSize, "media-size", 16<<10, "bytes of each synthetic enclosure")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return serve(ctx, *addr, o.handler())
	case "tracker":
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		t := seed.NewTracker(seed.TrackerConfig{})
		mux := http.NewServeMux()
		mux.HandleFunc("GET /announce", t.ServeAnnounce)
		mux.HandleFunc("GET /scrape", t.ServeScrape)
		return serve(ctx, *addr, mux)
	case "torrent":
		in := fs.String("in", "", "input .torrent")
		out := fs.String("out", "", "output .torrent")
		announce := fs.String("announce", "", "replace the trackers with this announce URL")
		strip := fs.Bool("strip-web-seeds", false, "remove url-list (BEP 19)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		mi, err := os.ReadFile(*in)
		if err != nil {
			return err
		}
		if *strip {
			if mi, err = seed.WithoutWebSeeds(mi); err != nil {
				return err
			}
		}
		if *announce != "" {
			if mi, err = seed.WithAnnounceList(mi, [][]string{{*announce}}); err != nil {
				return err
			}
		}
		return os.WriteFile(*out, mi, 0o644)
	case "info":
		if len(args) != 2 {
			return errors.New("usage: benchtool info FILE.torrent")
		}
		m, err := metainfo.LoadFromFile(args[1])
		if err != nil {
			return err
		}
		info, err := m.UnmarshalInfo()
		if err != nil {
			return err
		}
		fmt.Println(m.HashInfoBytes().HexString(), info.Name)
		return nil
	case "wait-seeder":
		scrape := fs.String("scrape", "", "tracker scrape URL")
		ih := fs.String("infohash", "", "hex v1 infohash")
		timeout := fs.Duration("timeout", time.Minute, "give up after")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return waitSeeder(ctx, *scrape, *ih, *timeout)
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// gen writes size pseudo-random bytes (ChaCha8, fixed seed) to out.
func gen(out string, size int64) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	src := rand.NewChaCha8([32]byte{'p', 'o', 'd', 's', 'e', 'e', 'd'})
	if _, err := io.CopyBuffer(f, io.LimitReader(src, size), make([]byte, 1<<20)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// serve listens on addr, prints the bound address on stdout, and serves
// until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mediaBytes returns the deterministic bytes of synthetic enclosure (feed,
// item): distinct per item, so every episode is its own torrent.
func mediaBytes(feed, item int, size int64) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], uint64(feed))
	binary.LittleEndian.PutUint64(s[8:], uint64(item))
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// waitSeeder polls a tracker's scrape (BEP 48) until the swarm of ih has a
// seeder (complete ≥ 1).
func waitSeeder(ctx context.Context, scrape, ih string, timeout time.Duration) error {
	raw, err := hex.DecodeString(ih)
	if err != nil || len(raw) != 20 {
		return fmt.Errorf("infohash %q: want 40 hex digits", ih)
	}
	u := scrape + "?info_hash=" + url.QueryEscape(string(raw))
	deadline := time.Now().Add(timeout)
	for {
		var reply struct {
			Files map[string]struct {
				Complete   int `bencode:"complete"`
				Incomplete int `bencode:"incomplete"`
			} `bencode:"files"`
		}
		resp, err := http.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bencode.Unmarshal(b, &reply) == nil && reply.Files[string(raw)].Complete > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no seeder for %s at %s after %s", ih, scrape, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
