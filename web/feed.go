package web

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/podseed/podseed/store"
)

// feedPage is the model of the "feed" template.
type feedPage struct {
	Feed     feedHealth
	IndexURL string
	// Subscribe helpers: the republished feed, the BEP 36 torrent feed,
	// the republished feed as a podcast: link, the feed's JSON.
	FeedURL, TorrentFeedURL, APIURL string
	// PodcastURL is typed as a URL so html/template keeps the podcast:
	// scheme; it is built from podseed's own base URL only.
	PodcastURL template.URL
	Episodes   []feedEpisode
	Admin      adminView
	// Locked is the feed's <podcast:locked>yes</podcast:locked>, with the
	// owner it names ("" if none).
	Locked      bool
	LockedOwner string
}

// feedHealth is what the pages show of a feed's polling.
type feedHealth struct {
	ID                               int64
	Title, URL                       string
	LastFetched, NextPoll, LastError string
	// Failures counts consecutive failed polls; Unhealthy is set from
	// unhealthyAfter of them on.
	Failures  int
	Unhealthy bool
}

func newFeedHealth(f store.Feed) feedHealth {
	return feedHealth{
		ID: f.ID, Title: f.Title, URL: f.URL,
		LastFetched: formatTime(f.LastFetchedAt), NextPoll: formatTime(f.NextPollAt),
		LastError: f.LastError, Failures: f.Failures, Unhealthy: f.Failures >= unhealthyAfter,
	}
}

// feedEpisode is one row of the feed page's episode table.
type feedEpisode struct {
	ID                       int64
	Title, PageURL           string
	State, LastError         string
	Published, Size          string
	Seeders, Leechers        int
	Completed                int
	TorrentURL               string
	Magnet                   template.URL
	HasTorrent, HasSparkline bool
	// Sparkline charts seeders + leechers over the last 24 hours; set
	// when HasSparkline.
	Sparkline lineChart
	// EnclosureDead is set while the enclosure's origin is gone (the
	// torrent is seeded from podseed's copy); ReplaceReason while a new
	// torrent is due because the enclosure changed.
	EnclosureDead bool
	ReplaceReason string
	// Evicted: retention deleted podseed's copy; still published.
	Evicted bool
	// OnDemand: evicted, but seeded by podseed on demand from the origin.
	OnDemand bool
}

// episodeTitle is what pages call an episode: its title, else its GUID
// (the enclosure URL when the item had no guid).
func episodeTitle(e store.Episode) string {
	if e.Title != "" {
		return e.Title
	}
	return e.GUID
}

// safeMagnet types m as a URL for html/template if it is a magnet URI;
// only the magnet: scheme bypasses the template's URL filter.
func safeMagnet(m string) template.URL {
	if strings.HasPrefix(m, "magnet:") {
		return template.URL(m)
	}
	return ""
}

func (s *Server) serveFeedPage(w http.ResponseWriter, r *http.Request, file string) {
	ctx := r.Context()
	id, err := parseID(file, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.catalog.FindFeedByID(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	eps, err := s.catalog.ListEpisodesByFeed(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	page := feedPage{
		Feed: newFeedHealth(f), IndexURL: urls.Base + "/",
		FeedURL: urls.Feed(id), TorrentFeedURL: urls.TorrentFeed(id), APIURL: urls.APIFeed(id),
		Admin: s.adminView(w, r),
	}
	if page.Admin.Enabled {
		page.Admin.RemoveFeedURL = urls.AdminRemoveFeed(id)
	}
	if p := urls.PodcastFeed(id); strings.HasPrefix(p, "podcast://") {
		page.PodcastURL = template.URL(p)
	}
	if l := s.lifecycle(); l != nil {
		lock, err := l.FeedLock(ctx, id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		page.Locked, page.LockedOwner = lock.Locked, lock.Owner
	}
	now := s.now().UTC()
	from := now.Add(-sparklineWindow)
	for _, e := range eps {
		pe := feedEpisode{
			ID: e.ID, Title: episodeTitle(e), PageURL: urls.EpisodePage(e.ID),
			State: string(e.State), LastError: e.LastError, Published: formatDate(e.PublishedAt),
			ReplaceReason: e.ReplaceReason,
		}
		pe.Size = episodeSize(e)
		if e.InfoHash != "" {
			pe.HasTorrent = true
			c := s.swarm.Scrape(e.InfoHash)
			pe.Seeders, pe.Leechers, pe.Completed = c.Seeders, c.Leechers, c.Completed
			pe.TorrentURL = urls.Torrent(e.InfoHash)
			pe.Magnet = safeMagnet(s.catalog.Magnet(ctx, e.InfoHash))
			if t, err := s.catalog.FindTorrentByInfoHash(ctx, e.InfoHash); err == nil {
				pe.EnclosureDead = !t.WebSeedDeadAt.IsZero()
			}
			pe.Evicted = !s.evictedAt(ctx, e.InfoHash).IsZero()
			pe.OnDemand = pe.Evicted && s.seededOnDemand(ctx, e.InfoHash)
			samples, err := s.catalog.ListSwarmSamples(ctx, e.InfoHash, from)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if len(samples) > 0 {
				pe.HasSparkline = true
				pe.Sparkline = newSparkline(samples, from, now)
			}
		}
		page.Episodes = append(page.Episodes, pe)
	}
	s.render(w, r, "feed", page)
}
