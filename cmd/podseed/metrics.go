package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are podseed's Prometheus metrics, served at /metrics.
type metrics struct {
	reg            *prometheus.Registry
	polls          *prometheus.CounterVec   // by feed_id, result
	pollDuration   *prometheus.HistogramVec // seconds, by feed_id
	ingests        *prometheus.CounterVec   // by result
	ingestBytes    prometheus.Counter       // bytes downloaded into complete torrents
	ingestDuration prometheus.Histogram     // seconds per successful ingest
}

// Poll results, the "result" label of podseed_feed_polls_total.
const (
	pollOK          = "ok"
	pollNotModified = "not_modified"
	pollError       = "error"
)

// newMetrics registers podseed's metrics, including swarm totals read from
// a's tracker and client at scrape time.
func newMetrics(a *App) (*metrics, error) {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podseed_feed_polls_total", Help: "Feed polls by feed and result (ok, not_modified, error).",
		}, []string{"feed_id", "result"}),
		pollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podseed_feed_poll_duration_seconds", Help: "Time to fetch, parse and record one feed.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"feed_id"}),
		ingests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podseed_ingests_total", Help: "Enclosure ingests by result (ok, error).",
		}, []string{"result"}),
		ingestBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podseed_ingest_bytes_total", Help: "Bytes of enclosures downloaded and torrentified.",
		}),
		ingestDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "podseed_ingest_duration_seconds", Help: "Time to download, hash and record one enclosure.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{
		m.polls, m.pollDuration, m.ingests, m.ingestBytes, m.ingestDuration, swarmCollector{a},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observePoll(feedID int64, result string, d time.Duration) {
	id := strconv.FormatInt(feedID, 10)
	m.polls.WithLabelValues(id, result).Inc()
	m.pollDuration.WithLabelValues(id).Observe(d.Seconds())
}

func (m *metrics) observeIngest(err error, size int64, d time.Duration) {
	if err != nil {
		m.ingests.WithLabelValues("error").Inc()
		return
	}
	m.ingests.WithLabelValues("ok").Inc()
	m.ingestBytes.Add(float64(size))
	m.ingestDuration.Observe(d.Seconds())
}

// swarmCollector reports swarm totals at scrape time from the tracker and
// the torrent client, so nothing has to keep them up to date.
type swarmCollector struct{ a *App }

var (
	descTorrents = prometheus.NewDesc("podseed_torrents_seeding", "Torrents podseed seeds.", nil, nil)
	descSeeders  = prometheus.NewDesc("podseed_swarm_seeders", "Seeders over all torrents, from the built-in tracker.", nil, nil)
	descLeechers = prometheus.NewDesc("podseed_swarm_leechers", "Leechers over all torrents, from the built-in tracker.", nil, nil)
	descComplete = prometheus.NewDesc("podseed_swarm_completed_total", "Completed downloads reported to the built-in tracker since start.", nil, nil)
	descUploaded = prometheus.NewDesc("podseed_uploaded_bytes_total", "Piece data bytes podseed uploaded to peers for the torrents it seeds, cumulative across restarts (each start resumes from the newest swarm sample).", nil, nil)
	descPeers    = prometheus.NewDesc("podseed_peers_connected", "Peers connected to podseed's torrent client.", nil, nil)
	// descWebSeeded counts every torrent served since start, restored counts
	// included (see web.WebSeedBytes), so it only grows within a run.
	descWebSeeded = prometheus.NewDesc("podseed_web_seed_bytes_total",
		"Response body bytes podseed served over HTTP from its own copies (web seed and /episodes/{id}), cumulative over restarts.", nil, nil)

	descConns        = prometheus.NewDesc("podseed_peer_connections", "Established peer connections across all torrents, incoming and outgoing (counted against --max-conns).", nil, nil)
	descConnsMax     = prometheus.NewDesc("podseed_peer_connections_max", "The cap on established peer connections across all torrents (--max-conns); 0 is no cap.", nil, nil)
	descConnsRefused = prometheus.NewDesc("podseed_peer_connections_refused_total", "Peer connections refused at the --max-conns cap since start.", nil, nil)

	descTrackerAnnounces = prometheus.NewDesc("podseed_tracker_announces_total", "Announces the built-in tracker answered since start, by transport (http, udp).", []string{"transport"}, nil)
	descTrackerScrapes   = prometheus.NewDesc("podseed_tracker_scrapes_total", "Scrapes the built-in tracker answered since start, by transport (http, udp).", []string{"transport"}, nil)
	descTrackerFailures  = prometheus.NewDesc("podseed_tracker_failures_total", "Tracker requests refused (malformed, unregistered torrent, expired UDP connection ID) since start.", nil, nil)
)

func (c swarmCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTorrents, descSeeders, descLeechers, descComplete, descUploaded, descPeers, descWebSeeded,
		descConns, descConnsMax, descConnsRefused, descTrackerAnnounces, descTrackerScrapes, descTrackerFailures} {
		ch <- d
	}
}

func (c swarmCollector) Collect(ch chan<- prometheus.Metric) {
	samples := c.a.swarmSnapshot(time.Now())
	torrents := len(samples)
	var seeders, leechers, completed, peers int
	var uploaded int64
	for _, s := range samples {
		seeders += s.Seeders
		leechers += s.Leechers
		completed += s.Completed
		peers += s.Peers
		uploaded += s.BytesUploaded
	}
	ch <- prometheus.MustNewConstMetric(descTorrents, prometheus.GaugeValue, float64(torrents))
	ch <- prometheus.MustNewConstMetric(descSeeders, prometheus.GaugeValue, float64(seeders))
	ch <- prometheus.MustNewConstMetric(descLeechers, prometheus.GaugeValue, float64(leechers))
	ch <- prometheus.MustNewConstMetric(descComplete, prometheus.CounterValue, float64(completed))
	ch <- prometheus.MustNewConstMetric(descUploaded, prometheus.CounterValue, float64(uploaded))
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(peers))
	ch <- prometheus.MustNewConstMetric(descWebSeeded, prometheus.CounterValue, float64(c.a.webSeeded.Total()))
	cs := c.a.Client().ConnStats()
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(cs.Established))
	ch <- prometheus.MustNewConstMetric(descConnsMax, prometheus.GaugeValue, float64(cs.Max))
	ch <- prometheus.MustNewConstMetric(descConnsRefused, prometheus.CounterValue, float64(cs.Refused))

	ts := c.a.tracker.Stats()
	ch <- prometheus.MustNewConstMetric(descTrackerAnnounces, prometheus.CounterValue, float64(ts.HTTPAnnounces), "http")
	ch <- prometheus.MustNewConstMetric(descTrackerAnnounces, prometheus.CounterValue, float64(ts.UDPAnnounces), "udp")
	ch <- prometheus.MustNewConstMetric(descTrackerScrapes, prometheus.CounterValue, float64(ts.HTTPScrapes), "http")
	ch <- prometheus.MustNewConstMetric(descTrackerScrapes, prometheus.CounterValue, float64(ts.UDPScrapes), "udp")
	ch <- prometheus.MustNewConstMetric(descTrackerFailures, prometheus.CounterValue, float64(ts.Failures))
}
