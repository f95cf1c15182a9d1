package publish

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/feeds"
)

// ChannelInfo describes the channel of a feed podseed generates.
type ChannelInfo struct {
	// Title, Link and Description fill the RSS channel elements of the same
	// names; Link is the absolute URL of the podcast's page.
	Title, Link, Description string
	// Updated is when the feed last changed: its channel pubDate (the zero
	// time omits it). There is no lastBuildDate: qBittorrent's RSS reader
	// skips every item of a fetch whose lastBuildDate equals the previous
	// fetch's, and RFC 822 dates have whole seconds, so a torrent made in
	// the same second as an earlier rendering would never reach it.
	// Readers find new items by their guid (the infohash).
	Updated time.Time
}

// TorrentFeed renders an RSS 2.0 torrent feed in the style of BEP 36
// (https://www.bittorrent.org/beps/bep_0036.html), with gorilla/feeds, and
// returns the XML bytes (UTF-8, with an XML declaration).
//
// It has one <item> per Alternate, newest Published first (ties keep the
// order of alts). Each item's <enclosure> is the .torrent: url TorrentURL,
// type "application/x-bittorrent", length TorrentLength in bytes; its <guid>
// is the InfoHash (isPermaLink="false"), its <link> the TorrentURL, its
// <description> the magnet URI, its <title> the Title (the InfoHash when
// empty) and its <pubDate> Published. alts is not modified.
//
// TorrentFeed returns an error if an Alternate has no TorrentURL or no
// InfoHash, or if the feed cannot be encoded.
func TorrentFeed(ch ChannelInfo, alts []Alternate) ([]byte, error) {
	for i, a := range alts {
		if a.TorrentURL == "" || a.InfoHash == "" {
			return nil, fmt.Errorf("torrent feed: alternate %d (guid %q): torrent url and infohash are required", i, a.GUID)
		}
	}
	sorted := slices.Clone(alts)
	slices.SortStableFunc(sorted, func(a, b Alternate) int {
		return cmp.Compare(b.Published.UnixNano(), a.Published.UnixNano())
	})

	f := &feeds.Feed{
		Title:       ch.Title,
		Link:        &feeds.Link{Href: ch.Link},
		Description: ch.Description,
		// Created, not Updated: gorilla/feeds writes Updated as
		// lastBuildDate (see ChannelInfo.Updated).
		Created: ch.Updated.UTC(),
	}
	for _, a := range sorted {
		title := a.Title
		if title == "" {
			title = a.InfoHash
		}
		item := &feeds.Item{
			Title:       title,
			Link:        &feeds.Link{Href: a.TorrentURL},
			Description: a.Magnet,
			Id:          a.InfoHash,
			IsPermaLink: "false",
			Enclosure: &feeds.Enclosure{
				Url:    a.TorrentURL,
				Type:   torrentContentType,
				Length: strconv.FormatInt(max(a.TorrentLength, 0), 10),
			},
		}
		if !a.Published.IsZero() {
			item.Created = a.Published.UTC()
		}
		f.Add(item)
	}
	s, err := f.ToRss()
	if err != nil {
		return nil, fmt.Errorf("torrent feed: %w", err)
	}
	return []byte(s), nil
}
