package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testNetns is a pair of network namespaces joined by a veth pair, made by
// the test itself: A has 10.77.0.1/24, B 10.77.0.2/24, each its own
// loopback. WebRTC needs non-loopback ICE candidates; these give each side
// one, with no route anywhere else.
type testNetns struct {
	A, B         string // namespace names (ip netns)
	AddrA, AddrB string // IPv4 addresses
}

// requireNetnsRoot skips the test unless it runs as root with ip(8), or
// fails it on CI, where both are given.
func requireNetnsRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("network namespace tests need root on CI")
		}
		t.Skip("network namespace tests need root")
	}
	return mustHaveBinary(t, "ip")
}

// newTestNetns creates the namespaces and removes them when the test ends
// (register it before anything that runs inside them, so that cleanup
// kills those first).
func newTestNetns(t *testing.T) testNetns {
	t.Helper()
	ip := requireNetnsRoot(t)
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	n := testNetns{A: "podseed-a-" + suffix, B: "podseed-b-" + suffix, AddrA: "10.77.0.1", AddrB: "10.77.0.2"}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", n.A)
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", n.A).Run() })
	run("netns", "add", n.B)
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", n.B).Run() })
	// Created directly inside the namespaces, so the names never clash
	// with the host's interfaces.
	run("link", "add", "veth-a", "netns", n.A, "type", "veth", "peer", "name", "veth-b", "netns", n.B)
	run("-n", n.A, "addr", "add", n.AddrA+"/24", "dev", "veth-a")
	run("-n", n.B, "addr", "add", n.AddrB+"/24", "dev", "veth-b")
	for _, ns := range []string{n.A, n.B} {
		run("-n", ns, "link", "set", "lo", "up")
	}
	run("-n", n.A, "link", "set", "veth-a", "up")
	run("-n", n.B, "link", "set", "veth-b", "up")
	return n
}

// netnsDo runs f on an OS thread moved into network namespace ns: sockets
// f creates belong to ns and stay there, whichever goroutine uses them
// later. The thread is never returned to the runtime (the goroutine exits
// locked, so Go discards it).
func netnsDo(ns string, f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := os.Open(filepath.Join("/var/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		f()
		errc <- nil
	}()
	return <-errc
}

// netnsListen listens on TCP addr inside ns.
func netnsListen(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	if nerr := netnsDo(ns, func() { ln, err = net.Listen("tcp", addr) }); nerr != nil {
		t.Fatal(nerr)
	}
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	return ln
}

// netnsHTTPClient is an HTTP client whose connections start inside ns.
func netnsHTTPClient(ns string) *http.Client {
	var d net.Dialer
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var c net.Conn
				var err error
				if nerr := netnsDo(ns, func() { c, err = d.DialContext(ctx, network, addr) }); nerr != nil {
					return nil, nerr
				}
				return c, err
			},
		},
	}
}
