package main

import (
	"context"
	"net/url"
	"strings"
	"sync"
)

// hostLimiter bounds concurrent requests per host, so podseed stays polite
// to hosts that serve many feeds (one CDN often hosts hundreds).
type hostLimiter struct {
	per int // concurrent requests allowed per host
	mu  sync.Mutex
	sem map[string]chan struct{}
}

func newHostLimiter(per int) *hostLimiter {
	return &hostLimiter{per: max(per, 1), sem: map[string]chan struct{}{}}
}

// acquire waits for a slot for rawURL's host (lower-cased, port included)
// and returns the function that frees it; it fails only when ctx is done.
func (l *hostLimiter) acquire(ctx context.Context, rawURL string) (release func(), err error) {
	host := rawURL
	if u, perr := url.Parse(rawURL); perr == nil {
		host = strings.ToLower(u.Host)
	}
	l.mu.Lock()
	ch, ok := l.sem[host]
	if !ok {
		ch = make(chan struct{}, l.per)
		l.sem[host] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
