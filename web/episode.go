package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/podseed/podseed/store"
)

// episodePage is the model of the "episode" template.
type episodePage struct {
	ID                 int64
	Title, GUID        string
	FeedTitle, FeedURL string // the feed's page
	IndexURL, APIURL   string
	State, LastError   string
	NextAttempt        string
	Published          string
	EnclosureURL       string
	EnclosureType      string
	EnclosureLength    string // as the feed declared it; "" if unknown
	// ReplaceReason says why a new torrent is due (the enclosure changed);
	// the current one stays until it is made. "" if none is due.
	ReplaceReason string
	// Torrent is nil until the episode is ready.
	Torrent *episodeTorrent
	// Replaced lists the episode's earlier torrents, newest first.
	Replaced []replacedTorrent
}

// episodeTorrent is what the episode page shows of a ready episode's
// torrent and swarm.
type episodeTorrent struct {
	InfoHash, Name string
	// WebSeed is the url-list URL, the enclosure; "" when withheld, for
	// the reason in WebSeedWithheld, or while the enclosure is dead
	// (WebSeedDead, the time since when, and WebSeedDeadReason).
	WebSeed, WebSeedWithheld       string
	WebSeedDead, WebSeedDeadReason string
	// SourceURL is where the bytes were downloaded from, ResolvedURL where
	// its redirects ended ("" if none); LastProbe is the last check of the
	// enclosure ("" never).
	SourceURL, ResolvedURL, LastProbe string
	PieceLength, Size                 string
	Pieces                            int64
	SRI, Created                      string
	TorrentURL, SamplesURL            string
	Magnet                            template.URL
	// Live counts from the tracker, since it started.
	Seeders, Leechers, Completed int
	// BytesUploaded is podseed's own upload, from the latest sample;
	// UploadedAt is that sample's time ("" without samples).
	BytesUploaded, UploadedAt string
	// BytesWebSeeded is what podseed served over HTTP from its copy, from
	// the latest sample (store.SwarmSample.BytesWebSeeded).
	BytesWebSeeded string
	// OwnWebSeed is podseed's copy as a web seed (/webseed/{infohash}/{name},
	// webseed.go); "" once retention deleted the copy (Evicted).
	OwnWebSeed string
	// Delivery splits the bytes delivered to the downloads completed in
	// the last deliveryDays (see deliveryBytes).
	Delivery episodeDelivery
	// Availability is the latest sample's distributed copies among the
	// peers connected to podseed (store.SwarmSample.Availability), to two
	// decimals; "" without samples.
	Availability string
	// ViaBitTorrent estimates the bytes downloaded over BitTorrent (see
	// bittorrentBytes).
	ViaBitTorrent string
	Samples       int
	Chart         lineChart
	// CompletedWindows counts completed downloads over the last 1, 7 and
	// 30 days, from the samples (see completedSince); nil without samples.
	CompletedWindows []completedWindow
	// Peers are the peers connected to podseed's client now, with full
	// addresses if FullPeerAddrs, else masked (see peerAddr).
	Peers         []episodePeer
	FullPeerAddrs bool
	// Evicted is when retention deleted podseed's copy ("" while podseed
	// seeds it): still published, served by the web seed and other peers.
	Evicted string
	// OnDemand: the copy was evicted but podseed seeds the torrent on
	// demand from its origin (OnDemandSeeding).
	OnDemand bool
}

// bittorrentBytes estimates the bytes downloaded over BitTorrent instead of
// straight from the origin: completed downloads × the file's size. It is
// an upper bound on what the origin was spared: peers may fetch pieces from
// the web seed (the origin itself), and podseed's own uploads are in it.
// It saturates instead of overflowing.
func bittorrentBytes(completed int, size int64) int64 {
	if completed <= 0 || size <= 0 {
		return 0
	}
	if int64(completed) > math.MaxInt64/size {
		return math.MaxInt64
	}
	return int64(completed) * size
}

// formatSize renders n bytes in binary units and exactly.
func formatSize(n int64) string {
	if n < 1024 {
		return formatBytes(n)
	}
	return fmt.Sprintf("%s (%d bytes)", formatBytes(n), n)
}

func (s *Server) handleEpisodePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.catalog.FindEpisodeByID(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.catalog.FindFeedByID(ctx, e.FeedID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	page := episodePage{
		ID: e.ID, Title: episodeTitle(e), GUID: e.GUID,
		FeedTitle: f.Title, FeedURL: urls.FeedPage(f.ID), IndexURL: urls.Base + "/", APIURL: urls.APIEpisode(e.ID),
		State: string(e.State), LastError: e.LastError, NextAttempt: formatTime(e.NextAttemptAt),
		Published: formatTime(e.PublishedAt), EnclosureURL: e.EnclosureURL, EnclosureType: e.EnclosureType,
	}
	if page.FeedTitle == "" {
		page.FeedTitle = f.URL
	}
	if e.EnclosureLength > 0 {
		page.EnclosureLength = formatSize(e.EnclosureLength)
	}
	if e.InfoHash != "" {
		t, err := s.catalog.FindTorrentByInfoHash(ctx, e.InfoHash)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		samples, err := s.catalog.ListSwarmSamples(ctx, t.InfoHash, time.Time{})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		page.Torrent = s.newEpisodeTorrent(ctx, urls, t, samples)
		page.Torrent.WebSeed = s.webSeedOf(ctx, e, t)
	}
	page.ReplaceReason = e.ReplaceReason
	rs, err := s.replacedTorrents(ctx, e.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, rt := range rs {
		page.Replaced = append(page.Replaced, replacedTorrent{
			InfoHash: rt.OldInfoHash, TorrentURL: urls.Torrent(rt.OldInfoHash), Reason: rt.Reason,
			ReplacedAt: formatTime(rt.ReplacedAt), RetiredAt: formatTime(rt.OldRetiredAt),
		})
	}
	s.render(w, r, "episode", page)
}

// newEpisodeTorrent builds the torrent part of the episode page from t
// and its samples, oldest first.
func (s *Server) newEpisodeTorrent(ctx context.Context, urls URLs, t store.Torrent, samples []store.SwarmSample) *episodeTorrent {
	c := s.swarm.Scrape(t.InfoHash)
	et := &episodeTorrent{
		InfoHash: t.InfoHash, Name: t.Name, WebSeedWithheld: t.WebSeedWithheld,
		WebSeedDead: formatTime(t.WebSeedDeadAt), WebSeedDeadReason: t.WebSeedDeadReason,
		SourceURL: t.SourceURL, ResolvedURL: t.ResolvedURL, LastProbe: formatTime(t.ProbedAt),
		PieceLength: formatSize(t.PieceLength),
		Size:        formatSize(t.Size),
		SRI:         t.SRI, Created: formatTime(t.CreatedAt),
		TorrentURL: urls.Torrent(t.InfoHash), SamplesURL: urls.APISamples(t.InfoHash),
		Magnet:  safeMagnet(s.catalog.Magnet(ctx, t.InfoHash)),
		Seeders: c.Seeders, Leechers: c.Leechers, Completed: c.Completed,
		Samples:       len(samples),
		ViaBitTorrent: formatSize(bittorrentBytes(c.Completed, t.Size)),
		Peers:         newEpisodePeers(s.catalog.Peers(ctx, t.InfoHash), s.fullPeerAddrs),
		FullPeerAddrs: s.fullPeerAddrs,
		Evicted:       formatTime(s.evictedAt(ctx, t.InfoHash)),
	}
	if et.Evicted != "" {
		et.OnDemand = s.seededOnDemand(ctx, t.InfoHash)
	}
	if t.PieceLength > 0 {
		et.Pieces = (t.Size + t.PieceLength - 1) / t.PieceLength
	}
	if et.Evicted == "" {
		et.OwnWebSeed = urls.WebSeed(t.InfoHash, t.Name)
	}
	now := s.now().UTC()
	d := newTorrentDelivery(samples, t, now, c.Completed)
	et.Delivery = episodeDelivery{d.view(), d.Completed}
	et.BytesUploaded, et.BytesWebSeeded = formatBytes(0), formatSize(0)
	if n := len(samples); n > 0 {
		latest := samples[n-1]
		et.BytesUploaded = formatBytes(latest.BytesUploaded)
		et.BytesWebSeeded = formatSize(latest.BytesWebSeeded)
		et.UploadedAt = formatTime(latest.At)
		et.Availability = strconv.FormatFloat(latest.Availability, 'f', 2, 64)
		to := now
		if latest.At.After(to) {
			to = latest.At
		}
		et.Chart = newSwarmChart(samples, samples[0].At, to)
		et.CompletedWindows = newCompletedWindows(samples, now, c.Completed, t.CreatedAt)
	}
	return et
}

// episodeDelivery is torrentDelivery as the episode page shows it.
type episodeDelivery struct {
	deliveryView
	Completed int // downloads completed in the window
}

// torrentDelivery is one torrent's deliveryBytes over the last
// deliveryDays, with the downloads completed in them.
type torrentDelivery struct {
	deliveryBytes
	Completed int
}

// newTorrentDelivery estimates t's delivery over the deliveryDays before
// now from its samples, oldest first (any older ones are ignored), and
// live, the tracker's Completed counter now (see completedInWindow).
func newTorrentDelivery(samples []store.SwarmSample, t store.Torrent, now time.Time, live int) torrentDelivery {
	since := now.Add(-deliveryDays * 24 * time.Hour)
	completed := completedInWindow(samples, since, now, live, t.CreatedAt)
	return torrentDelivery{newDeliveryBytes(samples, t.Size, completed, since, now, t.CreatedAt), completed}
}
