package web

import (
	"cmp"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// directoryPage is the model of the "directory" template: every podcast
// podseed republishes, with subscribe links, and the aggregate feeds.
type directoryPage struct {
	IndexURL                 string
	RSSURL, AtomURL, JSONURL string
	OPMLURL                  string
	Podcasts                 []directoryPodcast
	// Pending counts feeds never fetched successfully, left out.
	Pending int
}

// directoryPodcast is one podcast's subscribe links.
type directoryPodcast struct {
	ID                      int64
	Title, Source, PageURL  string
	FeedURL, TorrentFeedURL string
	// PodcastURL is typed as a URL so html/template keeps the podcast:
	// scheme; it is built from podseed's own base URL only.
	PodcastURL template.URL
	// Torrents counts the feed's ready episodes.
	Torrents int
}

// handleDirectory serves /directory: the podcasts whose republished feed
// exists (see republishedOnce), by title, each with a podcast:// link, the
// republished feed and the BEP 36 torrent feed.
func (s *Server) handleDirectory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	list, err := s.catalog.ListFeeds(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	page := directoryPage{
		IndexURL: urls.Base + "/",
		RSSURL:   urls.Base + aggregateRSSPath, AtomURL: urls.Base + aggregateAtomPath,
		JSONURL: urls.Base + aggregateJSONPath, OPMLURL: urls.Base + opmlPath,
	}
	for _, f := range list {
		if !republishedOnce(f) {
			page.Pending++
			continue
		}
		eps, err := s.catalog.ListEpisodesByFeed(ctx, f.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p := directoryPodcast{
			ID: f.ID, Title: feedTitle(f), Source: f.URL, PageURL: urls.FeedPage(f.ID),
			FeedURL: urls.Feed(f.ID), TorrentFeedURL: urls.TorrentFeed(f.ID),
			PodcastURL: template.URL(urls.PodcastFeed(f.ID)),
		}
		for _, e := range eps {
			if e.InfoHash != "" {
				p.Torrents++
			}
		}
		page.Podcasts = append(page.Podcasts, p)
	}
	slices.SortStableFunc(page.Podcasts, func(a, b directoryPodcast) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)), cmp.Compare(a.ID, b.ID))
	})
	s.render(w, r, "directory", page)
}
