// Package publish turns what podseed made of a podcast into the feeds it
// serves.
//
// RewriteFeed republishes a publisher's own RSS feed: every byte of the
// original is kept, and each torrentified episode gains a Podcasting 2.0
// <podcast:alternateEnclosure> that lists the original enclosure URL, the
// .torrent and the magnet URI as sources (see the podcast namespace
// specification at https://podcastindex.org/namespace/1.0). The new elements
// are spliced in at byte offsets found by encoding/xml; the feed is never
// re-serialised, because encoding/xml round-trips lose namespace prefixes and
// publishers' formatting.
//
// TorrentFeed renders a feed podseed generates itself, with gorilla/feeds: a
// BEP 36 style RSS 2.0 feed whose items enclose .torrent files
// (https://www.bittorrent.org/beps/bep_0036.html).
//
// publish imports no other podseed package; cmd/podseed hands it plain values.
package publish
