// Command podseed turns podcast feeds into BitTorrent-backed ones: it polls
// feeds, downloads each new enclosure once while hashing it, builds a
// torrent whose web seed (BEP 19) is the original URL, seeds it with a
// built-in tracker, and republishes the feed with torrent and magnet
// alternate enclosures (Podcasting 2.0).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "podseed:", err)
		os.Exit(1)
	}
}
