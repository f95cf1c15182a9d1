package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHostLimiter(t *testing.T) {
	l := newHostLimiter(2)
	ctx := context.Background()
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.acquire(ctx, "https://CDN.example.com/feed.xml")
			if err != nil {
				t.Error(err)
				return
			}
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond) // hold the slot so others queue
			inFlight.Add(-1)
			release()
		}()
	}
	wg.Wait()
	if got := peak.Load(); got != 2 {
		t.Errorf("peak concurrency %d for one host, want 2", got)
	}

	// Another host is not blocked by a full one.
	r1, _ := l.acquire(ctx, "https://a.example/1")
	r2, _ := l.acquire(ctx, "https://a.example/2")
	other, err := l.acquire(ctx, "https://b.example/1")
	if err != nil {
		t.Fatalf("other host blocked: %v", err)
	}
	other()
	// A full host waits until ctx is done.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(cctx, "https://a.example/3"); err == nil {
		t.Errorf("third request to a full host got a slot")
	}
	r1()
	r2()
}
