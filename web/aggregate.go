package web

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"time"

	"github.com/gorilla/feeds"

	"github.com/podseed/podseed/store"
)

// Aggregate feeds across every podcast podseed republishes (docs/api.md,
// "Aggregate feeds"): the newest torrents as RSS 2.0, Atom (RFC 4287) and
// JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), rendered with
// gorilla/feeds, and an OPML 2.0 list (http://opml.org/spec2.opml) of the
// republished feeds.

// aggregateLimit is how many of the newest torrents the aggregate feeds
// carry.
const aggregateLimit = 50

// URLs of the aggregate feeds, OPML and directory, relative to URLs.Base.
const (
	aggregateRSSPath  = "/torrents.rss"
	aggregateAtomPath = "/torrents.atom"
	aggregateJSONPath = "/torrents.json"
	opmlPath          = "/feeds.opml"
	directoryPath     = "/directory"
)

// aggregateFormats maps an aggregate path to its content type.
var aggregateFormats = map[string]string{
	aggregateRSSPath:  "application/rss+xml; charset=utf-8",
	aggregateAtomPath: "application/atom+xml; charset=utf-8",
	aggregateJSONPath: "application/feed+json; charset=utf-8",
}

// handleAggregate serves /torrents.rss, /torrents.atom and /torrents.json:
// the aggregateLimit newest ready episodes of all feeds, each an item whose
// enclosure (RSS, Atom rel="enclosure") or first attachment (JSON Feed) is
// the .torrent; JSON Feed items also attach the original enclosure.
func (s *Server) handleAggregate(w http.ResponseWriter, r *http.Request) {
	contentType := aggregateFormats[r.URL.Path]
	body, err := s.renderAggregate(r.Context(), r.URL.Path)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	serveXML(w, r, contentType, body)
}

// renderAggregate renders the aggregate feed at p, one of the aggregate
// paths.
func (s *Server) renderAggregate(ctx context.Context, p string) ([]byte, error) {
	ets, err := s.catalog.ListRecentEpisodeTorrents(ctx, aggregateLimit)
	if err != nil {
		return nil, err
	}
	feedList, err := s.catalog.ListFeeds(ctx)
	if err != nil {
		return nil, err
	}
	titles := map[int64]string{}
	for _, f := range feedList {
		titles[f.ID] = feedTitle(f)
	}
	urls := s.catalog.URLs()
	f := &feeds.Feed{
		Title:       "podseed: newest torrents",
		Link:        &feeds.Link{Href: urls.Base + directoryPath},
		Description: "The newest episodes of every podcast this podseed republishes, as .torrent enclosures",
		Id:          urls.Base + p,
	}
	// Each attachment list parallels f.Items, for JSON Feed.
	var attachments [][]jsonAttachment
	for _, et := range ets {
		e, t := et.Episode, et.Torrent
		mi, err := s.catalog.TorrentFile(ctx, t.InfoHash)
		if err != nil {
			return nil, fmt.Errorf("aggregate feed: torrent of episode %d: %w", e.ID, err)
		}
		torrentURL := urls.Torrent(t.InfoHash)
		magnet := safeMagnet(s.catalog.Magnet(ctx, t.InfoHash))
		podcast := titles[e.FeedID]
		item := &feeds.Item{
			Title:       podcast + ": " + episodeTitle(e),
			Link:        &feeds.Link{Href: urls.EpisodePage(e.ID)},
			Id:          urls.EpisodePage(e.ID),
			IsPermaLink: "true",
			Description: fmt.Sprintf("%s from %s, %s, as a torrent", episodeTitle(e), podcast, formatBytes(t.Size)),
			Content: fmt.Sprintf(`<p><a href="%s">%s</a> from <a href="%s">%s</a>.</p><p><a href="%s">.torrent</a>`,
				html.EscapeString(urls.EpisodePage(e.ID)), html.EscapeString(episodeTitle(e)),
				html.EscapeString(urls.FeedPage(e.FeedID)), html.EscapeString(podcast),
				html.EscapeString(torrentURL)),
			Enclosure: &feeds.Enclosure{
				Url: torrentURL, Type: torrentContentType, Length: fmt.Sprint(len(mi)),
			},
			Created: e.PublishedAt.UTC(),
		}
		if magnet != "" {
			item.Content += fmt.Sprintf(` · <a href="%s">magnet</a>`, html.EscapeString(string(magnet)))
		}
		item.Content += fmt.Sprintf(` · <a href="%s">original file</a></p>`, html.EscapeString(e.EnclosureURL))
		if e.PublishedAt.IsZero() {
			item.Created = t.CreatedAt.UTC()
		}
		if item.Created.After(f.Updated) {
			f.Updated = item.Created
		}
		f.Add(item)
		enclosureType := e.EnclosureType
		if enclosureType == "" {
			enclosureType = "application/octet-stream"
		}
		attachments = append(attachments, []jsonAttachment{
			{URL: torrentURL, MIMEType: torrentContentType, Title: "BitTorrent", SizeInBytes: int64(len(mi))},
			{URL: e.EnclosureURL, MIMEType: enclosureType, Title: t.Name, SizeInBytes: t.Size},
		})
	}
	var out string
	switch p {
	case aggregateRSSPath:
		out, err = f.ToRss()
	case aggregateAtomPath:
		// RFC 4287 §4.1.1: a feed without authored entries needs an author.
		f.Author = &feeds.Author{Name: "podseed"}
		out, err = f.ToAtom()
	case aggregateJSONPath:
		jf := jsonFeed{JSONFeed: (&feeds.JSON{Feed: f}).JSONFeed()}
		jf.Version = "https://jsonfeed.org/version/1.1"
		jf.FeedUrl = urls.Base + aggregateJSONPath
		jf.HomePageUrl = urls.Base + directoryPath
		jf.Items = make([]jsonItem, len(jf.JSONFeed.Items))
		for i, item := range jf.JSONFeed.Items {
			jf.Items[i] = jsonItem{JSONItem: item, Attachments: attachments[i]}
		}
		var b []byte
		b, err = json.MarshalIndent(jf, "", "  ")
		out = string(b)
	default:
		return nil, fmt.Errorf("%w: aggregate %q", store.ErrNotFound, p)
	}
	if err != nil {
		return nil, fmt.Errorf("aggregate feed %s: %w", p, err)
	}
	return []byte(out), nil
}

// torrentContentType is the media type of .torrent files.
const torrentContentType = "application/x-bittorrent"

// jsonFeed is gorilla/feeds' JSON Feed with items carrying attachments
// as JSON Feed 1.1 spells them: gorilla/feeds v1.2.0 writes an
// attachment's size as "size" (not "size_in_bytes") in an int32, and
// attaches only images. The shallower Items and Attachments fields
// replace the embedded ones in encoding/json.
type jsonFeed struct {
	*feeds.JSONFeed
	Items []jsonItem `json:"items"`
}

type jsonItem struct {
	*feeds.JSONItem
	Attachments []jsonAttachment `json:"attachments,omitempty"`
}

// jsonAttachment is a JSON Feed 1.1 attachment.
type jsonAttachment struct {
	URL         string `json:"url"`
	MIMEType    string `json:"mime_type"`
	Title       string `json:"title,omitempty"`
	SizeInBytes int64  `json:"size_in_bytes,omitempty"`
}

// feedTitle is a feed's channel title, or its URL while it has none.
func feedTitle(f store.Feed) string {
	if f.Title != "" {
		return f.Title
	}
	return f.URL
}

// republishedOnce reports whether f was fetched successfully at least once,
// so its republished feed exists: it has a channel title (set only from a
// 200 response), or it was polled and its last poll succeeded.
func republishedOnce(f store.Feed) bool {
	return f.Title != "" || (!f.LastFetchedAt.IsZero() && f.Failures == 0 && f.LastError == "")
}

// opml is an OPML 2.0 document of subscriptions.
type opml struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Head    opmlHead `xml:"head"`
	Body    opmlBody `xml:"body"`
}

// opmlBody holds the outlines; OPML 2.0 requires it even when empty.
type opmlBody struct {
	Outlines []opmlOutline `xml:"outline"`
}

type opmlHead struct {
	Title       string `xml:"title"`
	DateCreated string `xml:"dateCreated,omitempty"`
	Docs        string `xml:"docs"`
}

// opmlOutline is one subscription: type "rss", xmlUrl the republished
// feed, htmlUrl its dashboard page.
type opmlOutline struct {
	Type    string `xml:"type,attr"`
	Text    string `xml:"text,attr"`
	Title   string `xml:"title,attr"`
	XMLURL  string `xml:"xmlUrl,attr"`
	HTMLURL string `xml:"htmlUrl,attr"`
}

// handleOPML serves /feeds.opml: every republished feed (feeds never
// fetched successfully are left out: their republished URL is a 404 until
// then), in the order they were added.
func (s *Server) handleOPML(w http.ResponseWriter, r *http.Request) {
	list, err := s.catalog.ListFeeds(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	urls := s.catalog.URLs()
	doc := opml{Version: "2.0", Head: opmlHead{
		Title: "podseed: republished feeds", DateCreated: s.now().UTC().Format(time.RFC1123Z),
		Docs: "http://opml.org/spec2.opml",
	}}
	for _, f := range list {
		if !republishedOnce(f) {
			continue
		}
		doc.Body.Outlines = append(doc.Body.Outlines, opmlOutline{
			Type: "rss", Text: feedTitle(f), Title: feedTitle(f),
			XMLURL: urls.Feed(f.ID), HTMLURL: urls.FeedPage(f.ID),
		})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		s.writeError(w, r, fmt.Errorf("encode opml: %w", err))
		return
	}
	buf.WriteString("\n")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	serveXML(w, r, "text/x-opml; charset=utf-8", buf.Bytes())
}
