package web

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/podseed/podseed/store"
)

// Peer is one peer connected to podseed's client for a torrent, as
// Catalog.Peers reports it. The page shows Addr masked (see peerAddr).
type Peer struct {
	// Addr is the peer's full address; the zero value if unknown.
	Addr netip.AddrPort
	// ClientName is what the peer calls its client (BEP 10 "v"); "" if
	// it has not said.
	ClientName string
	// Progress is the share of pieces the peer has, 0 to 1.
	Progress float64
	// DownloadRate and UploadRate are podseed's rates from and to the
	// peer, in bytes per second.
	DownloadRate, UploadRate float64
	// WebSeed marks a BEP 19 web seed rather than a BitTorrent peer.
	WebSeed bool
}

// WithFullPeerAddresses makes pages show peers' full IP addresses and
// ports instead of masking them to their /24 (IPv4) or /48 (IPv6) network.
func WithFullPeerAddresses() Option {
	return func(s *Server) { s.fullPeerAddrs = true }
}

// Prefix lengths that peerAddr masks peer addresses to: an IPv4 /24 and an
// IPv6 /48 are what a network (an ISP's customer, a site) is commonly
// given, so they place a peer without identifying it.
const (
	peerMaskBits4 = 24
	peerMaskBits6 = 48
)

// peerAddr renders a peer's address for a page: with full, the address and
// port; else the network it is in, e.g. "203.0.113.0/24" or
// "2001:db8:1::/48". IPv4-mapped IPv6 addresses count as IPv4 and zones are
// dropped. An invalid address is "".
func peerAddr(ap netip.AddrPort, full bool) string {
	if !ap.IsValid() {
		return ""
	}
	a := ap.Addr().Unmap().WithZone("")
	if full {
		return netip.AddrPortFrom(a, ap.Port()).String()
	}
	bits := peerMaskBits6
	if a.Is4() {
		bits = peerMaskBits4
	}
	return netip.PrefixFrom(a, bits).Masked().String()
}

// episodePeer is a row of the episode page's peer table.
type episodePeer struct {
	Client, Addr, Progress string
	Down, Up               string
	WebSeed                bool
}

// newEpisodePeers builds the peer table's rows, ordered by address, then
// client name, so that the page does not reshuffle on every view.
func newEpisodePeers(peers []Peer, fullAddrs bool) []episodePeer {
	peers = slices.Clone(peers)
	unmapped := func(ap netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	slices.SortStableFunc(peers, func(a, b Peer) int {
		return cmp.Or(unmapped(a.Addr).Compare(unmapped(b.Addr)), cmp.Compare(a.ClientName, b.ClientName))
	})
	rows := make([]episodePeer, 0, len(peers))
	for _, p := range peers {
		rows = append(rows, episodePeer{
			Client:   p.ClientName,
			Addr:     peerAddr(p.Addr, fullAddrs),
			Progress: fmt.Sprintf("%.1f%%", 100*min(max(p.Progress, 0), 1)),
			Down:     formatRate(p.DownloadRate),
			Up:       formatRate(p.UploadRate),
			WebSeed:  p.WebSeed,
		})
	}
	return rows
}

// formatRate renders a rate in bytes per second in binary units.
func formatRate(bps float64) string {
	if !(bps > 0) { // and NaN
		bps = 0
	}
	return formatBytes(int64(min(bps, 1<<62))) + "/s"
}

// completedWindows are the windows, in days, over which the episode page
// counts completed downloads.
var completedWindows = []int{1, 7, 30}

// completedWindow is the number of downloads completed within a window.
type completedWindow struct {
	Days, Completed int
}

// newCompletedWindows counts the downloads completed in each of
// completedWindows before now, from a torrent's samples, oldest first,
// the tracker's live Completed counter and when the torrent was created
// (zero: unknown; see completedSince). For a window that began before the
// torrent was created, every download the counter has counted is in the
// window: the counter started at 0 then.
func newCompletedWindows(samples []store.SwarmSample, now time.Time, live int, created time.Time) []completedWindow {
	ws := make([]completedWindow, 0, len(completedWindows))
	for _, d := range completedWindows {
		since := now.Add(-time.Duration(d) * 24 * time.Hour)
		ws = append(ws, completedWindow{Days: d, Completed: completedInWindow(samples, since, now, live, created)})
	}
	return ws
}

// completedSince counts the downloads completed at or after since, from a
// torrent's samples (oldest first) and live, the tracker's Completed
// counter now: the sum of the increments of the counter between
// consecutive samples at or after since, plus live minus the latest
// sample when that sample is at or after since (the downloads completed
// since the sampler last ran, so a download shows before the next sample).
//
// The counter is saved with the samples and reloaded at start, so it
// survives restarts; a crash loses up to a minute of completions, and a
// sample lower than the one before it (as from older versions, which
// started from 0 at every restart) marks a reset whose own value is the
// increment. What the store has folded into one hourly point (samples
// older than 24 hours; see store.SwarmSample) is counted once. Downloads
// completed between the last sample before since and the first one after
// it are not counted (but see newCompletedWindows).
func completedSince(samples []store.SwarmSample, since time.Time, live int) int {
	n := 0
	var prev *store.SwarmSample
	for i := range samples {
		sm := &samples[i]
		if sm.At.Before(since) {
			continue
		}
		if prev != nil {
			if d := sm.Completed - prev.Completed; d >= 0 {
				n += d
			} else {
				n += sm.Completed // reset: counted from 0 again
			}
		}
		prev = sm
	}
	if prev != nil && live > prev.Completed {
		n += live - prev.Completed
	}
	return n
}

// completedInWindow is completedSince, or, for a torrent created within
// [since, now], its whole count: live or what the samples add up to,
// whichever is more.
func completedInWindow(samples []store.SwarmSample, since, now time.Time, live int, created time.Time) int {
	n := completedSince(samples, since, live)
	if !created.IsZero() && !created.Before(since) && !created.After(now) {
		n = max(n, live)
	}
	return n
}
