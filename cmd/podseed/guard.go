package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a feed or enclosure URL
// resolves to an address the SSRF guard refuses.
var ErrForbiddenAddress = errors.New("address not allowed")

// maxRedirects bounds redirect chains for feeds and enclosures (real hosts
// chain tracking prefixes up to 7 deep).
const maxRedirects = 10

// specialPrefixes are non-public ranges netip's predicates do not cover:
// shared address space (RFC 6598), IETF protocol assignments, benchmarking
// (RFC 2544), reserved 240/4, and NAT64 (which can reach IPv4 internals).
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// addressGuard decides which IP addresses podseed may connect to when it
// fetches feeds and enclosures (SSRF protection). By default only public
// unicast addresses are allowed; loopback, private (RFC 1918, ULA),
// link-local (incl. the 169.254.169.254 metadata service), multicast,
// unspecified and the specialPrefixes are refused unless allowAll is set or
// the address is inside one of allow.
type addressGuard struct {
	allowAll bool
	allow    []netip.Prefix
}

// check returns nil if ip may be dialled, else an error wrapping
// ErrForbiddenAddress.
func (g addressGuard) check(ip netip.Addr) error {
	ip = ip.Unmap()
	if g.allowAll {
		return nil
	}
	for _, p := range g.allow {
		if p.Contains(ip) {
			return nil
		}
	}
	forbidden := !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
	for _, p := range specialPrefixes {
		forbidden = forbidden || p.Contains(ip)
	}
	if forbidden {
		return fmt.Errorf("%w: %s is not a public address (see --allow-private-addresses)", ErrForbiddenAddress, ip)
	}
	return nil
}

// control is a net.Dialer Control hook: it runs after DNS resolution, just
// before connect(2), for every address tried, so neither redirects nor DNS
// rebinding can slip past the guard.
func (g addressGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrForbiddenAddress, address, err)
	}
	return g.check(ap.Addr())
}

// newHTTPClient returns the client podseed fetches feeds and enclosures
// with: guarded dialing, no proxy (a proxy would dial for us, past the
// guard), bounded redirects, and connect/header timeouts. timeout bounds a
// whole request (0 = none: enclosures can be large; the ingest code has its
// own idle timeout).
func newHTTPClient(g addressGuard, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects { // via holds the first request and one per redirect followed
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %s URL refused", req.URL.Scheme)
			}
			return nil
		},
	}
}
