package main

import "runtime"

// Concurrency defaults are sized from the machine's cores
// (runtime.NumCPU) so that a 2-core box keeps the measured bounds
// (docs/performance.md) and a bigger one uses its cores; the
// --poll-workers and --ingest-workers flags override them.
//
// A feed fetch mostly waits on the network and then parses (one core
// for a few milliseconds), so two fetches per core keep the cores busy
// without piling up parsed bodies in memory. An ingest streams an
// enclosure through SHA-1 and SHA-256 on two goroutines (~1.4 GB/s per
// core each) and then fsyncs, so one ingest per core saturates the
// cores when origins are fast; the cap keeps the load an origin and the
// disk see bounded on a big machine.
const (
	// perHostConcurrency bounds concurrent feed fetches per host. It is
	// politeness to the origin (one CDN often hosts hundreds of feeds),
	// not a property of this machine, so it does not grow with cores.
	perHostConcurrency = 2

	minPollWorkers, maxPollWorkers     = 4, 32
	minIngestWorkers, maxIngestWorkers = 2, 8
)

// defaultPollWorkers is the default bound on concurrent feed fetches for
// ncpu cores: 2 × ncpu, at least 4 and at most 32.
func defaultPollWorkers(ncpu int) int {
	return min(max(2*ncpu, minPollWorkers), maxPollWorkers)
}

// defaultIngestWorkers is the default bound on concurrent enclosure
// downloads for ncpu cores: ncpu, at least 2 and at most 8.
func defaultIngestWorkers(ncpu int) int {
	return min(max(ncpu, minIngestWorkers), maxIngestWorkers)
}

// numCPU is the core count the defaults are sized from.
func numCPU() int { return runtime.NumCPU() }
