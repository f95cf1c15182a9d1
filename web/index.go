package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"time"

	"github.com/podseed/podseed/store"
)

// unhealthyAfter is the number of consecutive failed polls from which a
// feed is shown as unhealthy (it keeps being polled, with backoff).
const unhealthyAfter = 3

// indexPage is the model of the "index" template.
type indexPage struct {
	AnnounceURL string
	Totals      indexTotals
	Delivery    indexDelivery
	Feeds       []indexFeed
	Admin       adminView
}

// indexTotals sums the index: swarm counts once per torrent, however many
// episodes share it.
type indexTotals struct {
	Feeds, Episodes              int
	Seeders, Leechers, Completed int
}

// indexDelivery sums the swarm history of every torrent: downloads
// completed in each of completedWindows, and, over the last deliveryDays,
// an estimate of the bytes delivered to completed downloads split into
// podseed's BitTorrent upload, podseed's web seed and the rest (see
// deliveryBytes; Other is taken of the sums).
type indexDelivery struct {
	CompletedWindows []completedWindow
	deliveryView
}

// deliveryDays is the window, in days, of the index's byte estimates; it
// is also how far back the index reads swarm samples.
const deliveryDays = 30

// deliverySums accumulates indexDelivery over torrents.
type deliverySums struct {
	completed []int // by completedWindows
	bytes     deliveryBytes
}

// add counts one torrent of size bytes with its samples, oldest first,
// the tracker's live Completed counter and when its first episode was
// created (the torrent is not older).
func (d *deliverySums) add(samples []store.SwarmSample, size int64, now time.Time, live int, created time.Time) {
	if d.completed == nil {
		d.completed = make([]int, len(completedWindows))
	}
	for i, w := range newCompletedWindows(samples, now, live, created) {
		d.completed[i] += w.Completed
		if w.Days == deliveryDays {
			since := now.Add(-deliveryDays * 24 * time.Hour)
			d.bytes.add(newDeliveryBytes(samples, size, w.Completed, since, now, created))
		}
	}
}

func (d *deliverySums) view() indexDelivery {
	v := indexDelivery{deliveryView: d.bytes.view()}
	for i, days := range completedWindows {
		w := completedWindow{Days: days}
		if d.completed != nil {
			w.Completed = d.completed[i]
		}
		v.CompletedWindows = append(v.CompletedWindows, w)
	}
	return v
}

// addSaturating adds two non-negative numbers, saturating instead of
// overflowing.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

type indexFeed struct {
	feedHealth
	PageURL                 string
	FeedURL, TorrentFeedURL string
	// EpisodeCount is how many episodes podseed knows of the feed, in any
	// state.
	EpisodeCount int
	Episodes     []indexEpisode
}

type indexEpisode struct {
	Title, State, LastError string
	Size                    string
	Seeders, Leechers       int
	Completed               int
	TorrentURL              string
	// Magnet is typed as a URL so html/template keeps the magnet: scheme,
	// which it would otherwise replace with "#ZgotmplZ".
	Magnet template.URL
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	urls := s.catalog.URLs()
	feeds, err := s.catalog.ListFeeds(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := indexPage{AnnounceURL: urls.Announce(), Admin: s.adminView(w, r)}
	counted := map[string]bool{} // infohashes in the totals
	now := s.now().UTC()
	since := now.Add(-deliveryDays * 24 * time.Hour)
	var delivery deliverySums
	for _, f := range feeds {
		eps, err := s.catalog.ListEpisodesByFeed(ctx, f.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		pf := indexFeed{
			feedHealth: newFeedHealth(f), PageURL: urls.FeedPage(f.ID),
			FeedURL: urls.Feed(f.ID), TorrentFeedURL: urls.TorrentFeed(f.ID),
			EpisodeCount: len(eps),
		}
		page.Totals.Feeds++
		page.Totals.Episodes += len(eps)
		for _, e := range eps {
			pe := indexEpisode{Title: episodeTitle(e), State: string(e.State), LastError: e.LastError}
			if e.InfoHash != "" {
				c := s.swarm.Scrape(e.InfoHash)
				pe.Seeders, pe.Leechers, pe.Completed = c.Seeders, c.Leechers, c.Completed
				pe.TorrentURL = urls.Torrent(e.InfoHash)
				pe.Magnet = safeMagnet(s.catalog.Magnet(ctx, e.InfoHash))
				if !counted[e.InfoHash] {
					counted[e.InfoHash] = true
					page.Totals.Seeders += c.Seeders
					page.Totals.Leechers += c.Leechers
					page.Totals.Completed += c.Completed
					samples, err := s.catalog.ListSwarmSamples(ctx, e.InfoHash, since)
					if err != nil {
						s.writeError(w, r, err)
						return
					}
					delivery.add(samples, e.Size, now, c.Completed, e.CreatedAt)
				}
			}
			pe.Size = episodeSize(e)
			pf.Episodes = append(pf.Episodes, pe)
		}
		page.Feeds = append(page.Feeds, pf)
	}
	page.Delivery = delivery.view()
	s.render(w, r, "index", page)
}

// render executes a template into a buffer first, so a failure becomes a
// clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.writeError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// formatDate renders t's UTC date, "" for the zero time.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// episodeSize is the size of the file podseed hashed, else the length the
// feed declares, else "".
func episodeSize(e store.Episode) string {
	switch {
	case e.Size > 0:
		return formatBytes(e.Size)
	case e.EnclosureLength > 0:
		return formatBytes(e.EnclosureLength)
	}
	return ""
}

// formatBytes renders n bytes in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
