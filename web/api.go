package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// The JSON API under /api/v1/, documented in docs/api.md. Keys are
// snake_case, times RFC 3339 in UTC (null when unknown or never), sizes in
// bytes. Lists are [] when empty, never null.

// apiFeed is a feed with its polling health and the URLs podseed serves
// for it.
type apiFeed struct {
	ID                  int64      `json:"id"`
	URL                 string     `json:"url"`
	Title               string     `json:"title"`
	FeedURL             string     `json:"feed_url"`
	TorrentFeedURL      string     `json:"torrent_feed_url"`
	PodcastURL          string     `json:"podcast_url"`
	PageURL             string     `json:"page_url"`
	LastFetchedAt       *time.Time `json:"last_fetched_at"`
	NextPollAt          *time.Time `json:"next_poll_at"`
	LastError           string     `json:"last_error"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	Unhealthy           bool       `json:"unhealthy"`
	CreatedAt           *time.Time `json:"created_at"`
	// EpisodeCount is how many episodes podseed knows of the feed, in any
	// state (as the overview shows).
	EpisodeCount int `json:"episode_count"`
}

type apiFeedList struct {
	Feeds []apiFeed `json:"feeds"`
}

type apiFeedDetail struct {
	apiFeed
	// Locked is the feed's <podcast:locked>yes</podcast:locked> and
	// LockedOwner its owner ("" if none).
	Locked      bool         `json:"locked"`
	LockedOwner string       `json:"locked_owner"`
	Episodes    []apiEpisode `json:"episodes"`
}

// apiEpisode is an episode with its torrent's links and live swarm counts;
// the torrent fields are "" and the counts 0 until it is ready.
type apiEpisode struct {
	ID              int64      `json:"id"`
	FeedID          int64      `json:"feed_id"`
	GUID            string     `json:"guid"`
	Title           string     `json:"title"`
	PublishedAt     *time.Time `json:"published_at"`
	EnclosureURL    string     `json:"enclosure_url"`
	EnclosureLength int64      `json:"enclosure_length"`
	EnclosureType   string     `json:"enclosure_type"`
	State           string     `json:"state"`
	LastError       string     `json:"last_error"`
	NextAttemptAt   *time.Time `json:"next_attempt_at"`
	PageURL         string     `json:"page_url"`
	InfoHash        string     `json:"infohash"`
	TorrentURL      string     `json:"torrent_url"`
	Magnet          string     `json:"magnet"`
	Seeders         int        `json:"seeders"`
	Leechers        int        `json:"leechers"`
	Completed       int        `json:"completed"`
	// ReplaceReason says why a new torrent is due ("" if none is).
	ReplaceReason string `json:"replace_reason"`
}

type apiEpisodeDetail struct {
	apiEpisode
	// Torrent is null until the episode is ready.
	Torrent *apiTorrent `json:"torrent"`
	// ReplacedTorrents are the episode's earlier torrents, newest first.
	ReplacedTorrents []apiReplacedTorrent `json:"replaced_torrents"`
}

// apiTorrent is a ready episode's torrent and what the samples say of it.
type apiTorrent struct {
	InfoHash    string `json:"infohash"`
	Name        string `json:"name"`
	PieceLength int64  `json:"piece_length"`
	Size        int64  `json:"size"`
	SRI         string `json:"sri"`
	// WebSeed is the url-list (BEP 19) URL: the original enclosure, or
	// "" when WebSeedWithheld says why the torrent has none.
	WebSeed         string     `json:"web_seed"`
	WebSeedWithheld string     `json:"web_seed_withheld"`
	CreatedAt       *time.Time `json:"created_at"`
	SamplesURL      string     `json:"samples_url"`
	// BytesUploaded is podseed's own upload from the latest sample, taken
	// at BytesUploadedAt (null without samples).
	BytesUploaded   int64      `json:"bytes_uploaded"`
	BytesUploadedAt *time.Time `json:"bytes_uploaded_at"`
	// BitTorrentBytes is completed × size, see bittorrentBytes.
	BitTorrentBytes int64 `json:"bittorrent_bytes_estimate"`
	// BytesWebSeeded is what podseed served over HTTP from its copy, from
	// the latest sample (taken at BytesUploadedAt); cumulative.
	BytesWebSeeded int64 `json:"bytes_web_seeded"`
	// Delivery splits the bytes delivered to the downloads completed in
	// the last deliveryDays (deliveryBytes).
	Delivery apiDelivery `json:"delivery"`
	// SourceURL is where the bytes were downloaded from, ResolvedURL the
	// end of its redirects ("" if none).
	SourceURL   string `json:"source_url"`
	ResolvedURL string `json:"resolved_url"`
	// WebSeedDeadAt is since when the enclosure is gone (null: alive);
	// the web seed is withheld meanwhile. ProbedAt is the last check.
	WebSeedDeadAt     *time.Time `json:"web_seed_dead_at"`
	WebSeedDeadReason string     `json:"web_seed_dead_reason"`
	ProbedAt          *time.Time `json:"probed_at"`
	// EvictedAt is when retention deleted podseed's copy (null while
	// podseed seeds it): still published, served by the web seed and
	// other peers.
	EvictedAt *time.Time `json:"evicted_at"`
	// OnDemand: evicted, but podseed seeds it on demand from the origin
	// (--on-demand-seeding).
	OnDemand bool `json:"on_demand"`
}

type apiSampleList struct {
	InfoHash string      `json:"infohash"`
	Since    *time.Time  `json:"since"`
	Samples  []apiSample `json:"samples"`
}

type apiSample struct {
	At            time.Time `json:"at"`
	Seeders       int       `json:"seeders"`
	Leechers      int       `json:"leechers"`
	Completed     int       `json:"completed"`
	Peers         int       `json:"peers"`
	BytesUploaded int64     `json:"bytes_uploaded"`
	Availability  float64   `json:"availability"`
	// BytesWebSeeded is store.SwarmSample.BytesWebSeeded.
	BytesWebSeeded int64 `json:"bytes_web_seeded"`
}

type apiError struct {
	Error string `json:"error"`
}

// apiTime is t in UTC, nil for the zero time.
func apiTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// newAPIFeed is f as the API shows it; episodes is how many episodes it has.
func newAPIFeed(urls URLs, f store.Feed, episodes int) apiFeed {
	return apiFeed{
		ID: f.ID, URL: f.URL, Title: f.Title,
		FeedURL: urls.Feed(f.ID), TorrentFeedURL: urls.TorrentFeed(f.ID),
		PodcastURL: urls.PodcastFeed(f.ID), PageURL: urls.FeedPage(f.ID),
		LastFetchedAt: apiTime(f.LastFetchedAt), NextPollAt: apiTime(f.NextPollAt),
		LastError: f.LastError, ConsecutiveFailures: f.Failures, Unhealthy: f.Failures >= unhealthyAfter,
		CreatedAt: apiTime(f.CreatedAt), EpisodeCount: episodes,
	}
}

func (s *Server) newAPIEpisode(ctx context.Context, urls URLs, e store.Episode) apiEpisode {
	ae := apiEpisode{
		ID: e.ID, FeedID: e.FeedID, GUID: e.GUID, Title: e.Title, PublishedAt: apiTime(e.PublishedAt),
		EnclosureURL: e.EnclosureURL, EnclosureLength: e.EnclosureLength, EnclosureType: e.EnclosureType,
		State: string(e.State), LastError: e.LastError, NextAttemptAt: apiTime(e.NextAttemptAt),
		PageURL: urls.EpisodePage(e.ID), InfoHash: e.InfoHash, ReplaceReason: e.ReplaceReason,
	}
	if e.InfoHash != "" {
		ae.TorrentURL = urls.Torrent(e.InfoHash)
		if m := s.catalog.Magnet(ctx, e.InfoHash); strings.HasPrefix(m, "magnet:") {
			ae.Magnet = m
		}
		c := s.swarm.Scrape(e.InfoHash)
		ae.Seeders, ae.Leechers, ae.Completed = c.Seeders, c.Leechers, c.Completed
	}
	return ae
}

func (s *Server) handleAPIFeeds(w http.ResponseWriter, r *http.Request) {
	feeds, err := s.catalog.ListFeeds(r.Context())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	list := apiFeedList{Feeds: make([]apiFeed, 0, len(feeds))}
	for _, f := range feeds {
		eps, err := s.catalog.ListEpisodesByFeed(r.Context(), f.ID)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		list.Feeds = append(list.Feeds, newAPIFeed(urls, f, len(eps)))
	}
	s.writeJSON(w, r, list)
}

func (s *Server) handleAPIFeed(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	f, err := s.catalog.FindFeedByID(ctx, id)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	eps, err := s.catalog.ListEpisodesByFeed(ctx, id)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	d := apiFeedDetail{apiFeed: newAPIFeed(urls, f, len(eps)), Episodes: make([]apiEpisode, 0, len(eps))}
	if l := s.lifecycle(); l != nil {
		lock, err := l.FeedLock(ctx, id)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		d.Locked, d.LockedOwner = lock.Locked, lock.Owner
	}
	for _, e := range eps {
		d.Episodes = append(d.Episodes, s.newAPIEpisode(ctx, urls, e))
	}
	s.writeJSON(w, r, d)
}

func (s *Server) handleAPIEpisode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	e, err := s.catalog.FindEpisodeByID(ctx, id)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	d := apiEpisodeDetail{apiEpisode: s.newAPIEpisode(ctx, urls, e), ReplacedTorrents: []apiReplacedTorrent{}}
	rs, err := s.replacedTorrents(ctx, e.ID)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	for _, rt := range rs {
		d.ReplacedTorrents = append(d.ReplacedTorrents, apiReplacedTorrent{
			InfoHash: rt.OldInfoHash, TorrentURL: urls.Torrent(rt.OldInfoHash), Reason: rt.Reason,
			ReplacedBy: rt.NewInfoHash, ReplacedAt: apiTime(rt.ReplacedAt), RetiredAt: apiTime(rt.OldRetiredAt),
		})
	}
	if e.InfoHash != "" {
		t, err := s.catalog.FindTorrentByInfoHash(ctx, e.InfoHash)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		// The latest sample is the last of the series; the series is
		// bounded by downsampling (hourly points, 90 days).
		samples, err := s.catalog.ListSwarmSamples(ctx, t.InfoHash, time.Time{})
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		at := &apiTorrent{
			InfoHash: t.InfoHash, Name: t.Name, PieceLength: t.PieceLength, Size: t.Size, SRI: t.SRI,
			WebSeedWithheld: t.WebSeedWithheld, CreatedAt: apiTime(t.CreatedAt), SamplesURL: urls.APISamples(t.InfoHash),
			BitTorrentBytes: bittorrentBytes(d.Completed, t.Size),
			SourceURL:       t.SourceURL, ResolvedURL: t.ResolvedURL,
			WebSeedDeadAt: apiTime(t.WebSeedDeadAt), WebSeedDeadReason: t.WebSeedDeadReason, ProbedAt: apiTime(t.ProbedAt),
			WebSeed:   s.webSeedOf(ctx, e, t),
			EvictedAt: apiTime(s.evictedAt(ctx, t.InfoHash)),
			OnDemand:  s.seededOnDemand(ctx, t.InfoHash),
		}
		if n := len(samples); n > 0 {
			at.BytesUploaded, at.BytesUploadedAt = samples[n-1].BytesUploaded, apiTime(samples[n-1].At)
			at.BytesWebSeeded = samples[n-1].BytesWebSeeded
		}
		td := newTorrentDelivery(samples, t, s.now().UTC(), d.Completed)
		at.Delivery = apiDelivery{
			Days: deliveryDays, Completed: td.Completed, Delivered: td.Delivered,
			Uploaded: td.Uploaded, WebSeeded: td.WebSeeded, Other: td.Other(),
		}
		d.Torrent = at
	}
	s.writeJSON(w, r, d)
}

func (s *Server) handleAPISamples(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ih := strings.ToLower(r.PathValue("infohash"))
	if !isHexInfoHash(ih) {
		s.writeAPIError(w, r, fmt.Errorf("%w: torrent %q", store.ErrNotFound, r.PathValue("infohash")))
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			s.writeAPIError(w, r, fmt.Errorf("%w: since %q: %v", errBadRequest, v, err))
			return
		}
	}
	// An unknown torrent is a 404, not an empty series.
	if _, err := s.catalog.FindTorrentByInfoHash(ctx, ih); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	samples, err := s.catalog.ListSwarmSamples(ctx, ih, since)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	list := apiSampleList{InfoHash: ih, Since: apiTime(since), Samples: make([]apiSample, 0, len(samples))}
	for _, sm := range samples {
		list.Samples = append(list.Samples, apiSample{
			At: sm.At.UTC(), Seeders: sm.Seeders, Leechers: sm.Leechers, Completed: sm.Completed,
			Peers: sm.Peers, BytesUploaded: sm.BytesUploaded, Availability: sm.Availability,
			BytesWebSeeded: sm.BytesWebSeeded,
		})
	}
	s.writeJSON(w, r, list)
}

// handleAPINotFound answers unknown paths under /api/ in JSON.
func (s *Server) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	s.writeAPIError(w, r, fmt.Errorf("%w: %s", store.ErrNotFound, r.URL.Path))
}

// writeAPIError answers err as {"error": "…"} with its status; 5xx bodies
// stay generic.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	if code := s.errorStatus(r, err); code != 0 {
		s.writeJSONStatus(w, r, code, apiError{Error: errorText(code)})
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	s.writeJSONStatus(w, r, http.StatusOK, v)
}

// writeJSONStatus encodes v in full before answering, so a failure becomes
// a clean 500. Every API answer may be read from any origin: it is public
// and needs no credentials.
func (s *Server) writeJSONStatus(w http.ResponseWriter, r *http.Request, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Magnet URIs keep their '&': nosniff and the JSON content type keep
	// browsers from reading the answer as HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("http request", "path", r.URL.Path, "err", fmt.Errorf("encode json: %w", err))
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal server error"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
