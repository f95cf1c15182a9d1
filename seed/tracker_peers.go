package seed

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// trackerPeerKey identifies a peer in a swarm. A dual-stack client announces
// the same peer ID over IPv4 and IPv6; both addresses are kept.
type trackerPeerKey struct {
	id  [20]byte
	ip6 bool
}

// trackerPeer is one announcing peer.
type trackerPeer struct {
	id      [20]byte
	addr    netip.AddrPort
	seeder  bool
	expires time.Time
	// completed is set once the peer's "completed" event has been counted.
	completed bool
}

// trackerSwarm holds the peers of one torrent. The Tracker's mutex guards it.
type trackerSwarm struct {
	peers    map[trackerPeerKey]*trackerPeer
	seeders  int
	complete int // "completed" events counted (BEP 48 "downloaded")
	// saved is the complete count last reported saved through
	// Tracker.MarkCompletedSaved (or restored); complete != saved means a
	// change not yet persisted.
	saved int
}

func newTrackerSwarm() *trackerSwarm {
	return &trackerSwarm{peers: make(map[trackerPeerKey]*trackerPeer)}
}

// counts reports the swarm's seeders, leechers and completed downloads.
func (s *trackerSwarm) counts() SwarmCounts {
	return SwarmCounts{
		Seeders:   s.seeders,
		Leechers:  len(s.peers) - s.seeders,
		Completed: s.complete,
	}
}

// sweep removes the peers whose announce has expired at now.
func (s *trackerSwarm) sweep(now time.Time) {
	for k, p := range s.peers {
		if !now.Before(p.expires) {
			s.remove(k)
		}
	}
}

// empty reports whether the swarm holds nothing worth keeping.
func (s *trackerSwarm) empty() bool {
	return len(s.peers) == 0 && s.complete == 0
}

// stop removes the peer key on its "stopped" event, counting its download
// as completed if it was a leecher and stops with everything.
func (s *trackerSwarm) stop(k trackerPeerKey, seeder bool) {
	if p, ok := s.peers[k]; ok && !p.seeder && seeder && !p.completed {
		s.complete++
	}
	s.remove(k)
}

func (s *trackerSwarm) remove(k trackerPeerKey) {
	p, ok := s.peers[k]
	if !ok {
		return
	}
	if p.seeder {
		s.seeders--
	}
	delete(s.peers, k)
}

// update records an announce from the peer key at addr, valid until
// expires. It counts a completed download once per peer: a "completed"
// event, or a peer known as a leecher that now has everything (aria2c with
// --seed-time=0 goes straight to "stopped" with left=0).
func (s *trackerSwarm) update(k trackerPeerKey, addr netip.AddrPort, seeder, completed bool, expires time.Time) {
	p, ok := s.peers[k]
	if !ok {
		p = &trackerPeer{id: k.id, seeder: seeder}
		if seeder {
			s.seeders++
		}
		s.peers[k] = p
	}
	if !p.seeder && seeder {
		completed = true
	}
	if p.seeder != seeder {
		if seeder {
			s.seeders++
		} else {
			s.seeders--
		}
	}
	p.addr = addr
	p.seeder = seeder
	p.expires = expires
	if completed && !p.completed {
		p.completed = true
		s.complete++
	}
}

// pick returns up to n peers for the announcing peer self at selfAddr, in
// random order, never self. A seeder is given leechers only: seeders have
// nothing to give each other. keep, if not nil, leaves out the peers whose
// address it rejects.
func (s *trackerSwarm) pick(self trackerPeerKey, selfAddr netip.AddrPort, seeder bool, n int, keep func(netip.Addr) bool) []*trackerPeer {
	if n <= 0 {
		return nil
	}
	candidates := make([]*trackerPeer, 0, len(s.peers))
	for k, p := range s.peers {
		if k.id == self.id || p.addr == selfAddr || (seeder && p.seeder) {
			continue
		}
		if keep != nil && !keep(p.addr.Addr()) {
			continue
		}
		candidates = append(candidates, p)
	}
	// Partial Fisher-Yates: the first n are a uniform random sample.
	n = min(n, len(candidates))
	for i := range n {
		j := i + rand.IntN(len(candidates)-i)
		candidates[i], candidates[j] = candidates[j], candidates[i]
	}
	return candidates[:n]
}
