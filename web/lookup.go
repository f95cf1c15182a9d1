package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/podseed/podseed/store"
)

// The lookup API, GET /api/v1/lookup (docs/api.md, "Lookup"): a podcast's
// website asks, by enclosure URL, GUID or infohash, whether podseed has a
// torrent for an episode, to show a "download via BitTorrent" button. Like
// every API answer it may be read from any origin (CORS).

// apiLookup is the lookup answer: the matching torrents, newest episode
// first.
type apiLookup struct {
	Results []apiLookupTorrent `json:"results"`
}

// apiLookupTorrent is one torrent with what a download button needs and
// the ready episodes (of any feed) that use it.
type apiLookupTorrent struct {
	InfoHash   string `json:"infohash"`
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	SRI        string `json:"sri"`
	TorrentURL string `json:"torrent_url"`
	Magnet     string `json:"magnet"`
	// WebSeedURL is podseed's own copy (webseed.go), CORS-enabled.
	WebSeedURL string             `json:"web_seed_url"`
	Seeders    int                `json:"seeders"`
	Leechers   int                `json:"leechers"`
	Completed  int                `json:"completed"`
	Episodes   []apiLookupEpisode `json:"episodes"`
}

// apiLookupEpisode is a ready episode using a looked-up torrent.
type apiLookupEpisode struct {
	ID           int64      `json:"id"`
	FeedID       int64      `json:"feed_id"`
	GUID         string     `json:"guid"`
	Title        string     `json:"title"`
	PublishedAt  *time.Time `json:"published_at"`
	EnclosureURL string     `json:"enclosure_url"`
	PageURL      string     `json:"page_url"`
}

// parseLookup reads the one lookup key of a query: enclosure, guid or
// infohash (40 hex digits, either case). No key, several, an empty one or
// a malformed infohash wrap errBadRequest.
func parseLookup(r *http.Request) (Lookup, error) {
	q := r.URL.Query()
	var l Lookup
	n := 0
	for key, dst := range map[string]*string{"enclosure": &l.EnclosureURL, "guid": &l.GUID, "infohash": &l.InfoHash} {
		vs, ok := q[key]
		if !ok {
			continue
		}
		n += len(vs)
		if len(vs) == 1 {
			*dst = vs[0]
		}
	}
	if n != 1 || l == (Lookup{}) {
		return Lookup{}, fmt.Errorf("%w: want exactly one of enclosure, guid, infohash", errBadRequest)
	}
	if l.InfoHash != "" {
		l.InfoHash = strings.ToLower(l.InfoHash)
		if !isHexInfoHash(l.InfoHash) {
			return Lookup{}, fmt.Errorf("%w: infohash %q is not 40 hex digits", errBadRequest, l.InfoHash)
		}
	}
	return l, nil
}

// handleAPILookup answers GET /api/v1/lookup?enclosure=URL|guid=GUID|infohash=HEX
// with the torrents of the matching ready episodes; 404 when none match,
// 400 for a bad query.
func (s *Server) handleAPILookup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, err := parseLookup(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	ets, err := s.catalog.LookupEpisodeTorrents(ctx, l)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if len(ets) == 0 {
		s.writeAPIError(w, r, fmt.Errorf("%w: lookup %+v", store.ErrNotFound, l))
		return
	}
	urls := s.catalog.URLs()
	ans := apiLookup{Results: []apiLookupTorrent{}}
	index := map[string]int{}
	for _, et := range ets {
		t, e := et.Torrent, et.Episode
		i, ok := index[t.InfoHash]
		if !ok {
			c := s.swarm.Scrape(t.InfoHash)
			lt := apiLookupTorrent{
				InfoHash: t.InfoHash, Name: t.Name, Size: t.Size, SRI: t.SRI,
				TorrentURL: urls.Torrent(t.InfoHash), WebSeedURL: urls.WebSeed(t.InfoHash, t.Name),
				Seeders: c.Seeders, Leechers: c.Leechers, Completed: c.Completed,
				Episodes: []apiLookupEpisode{},
			}
			if m := s.catalog.Magnet(ctx, t.InfoHash); strings.HasPrefix(m, "magnet:") {
				lt.Magnet = m
			}
			i = len(ans.Results)
			index[t.InfoHash] = i
			ans.Results = append(ans.Results, lt)
		}
		ans.Results[i].Episodes = append(ans.Results[i].Episodes, apiLookupEpisode{
			ID: e.ID, FeedID: e.FeedID, GUID: e.GUID, Title: e.Title, PublishedAt: apiTime(e.PublishedAt),
			EnclosureURL: e.EnclosureURL, PageURL: urls.EpisodePage(e.ID),
		})
	}
	s.writeJSON(w, r, ans)
}
