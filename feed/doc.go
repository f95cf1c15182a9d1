// Package feed fetches podcast feeds politely and parses them into episodes.
//
// A [Fetcher] performs conditional GET requests (RFC 9110, section 13:
// If-None-Match with the previous ETag, If-Modified-Since with the previous
// Last-Modified), bounds the time and the number of bytes a feed may take,
// follows a bounded number of redirects, and reports a 304 Not Modified as
// an ordinary [Result] rather than as an error.
//
// [Parse] turns the RSS 2.0 or Atom bytes of a [Result] into a [Feed] of
// [Episode] values, keeping only items that carry an enclosure, since an
// enclosure is what podseed downloads, makes a torrent from and seeds.
// [New] picks the episodes that a caller has not seen before.
//
// [Fetcher.Fetch] and [Parse] also report when to come back and where: a
// [Result] carries the server's freshness lifetime ([Result.MaxAge], RFC
// 9111) and whether the feed moved for good ([Result.MovedTo], RFC 9110
// 301/308); a [Feed] carries the publisher's polling hints (RSS ttl,
// sy:updatePeriod, podcast:updateFrequency) and its relocation and locking
// tags (itunes:new-feed-url, podcast:locked). [NextPoll] turns a success and
// [Backoff] a failure into the time of the next fetch, with hints capped so
// that a bad one cannot silence a feed, and optional seeded jitter.
//
// The package depends on nothing in podseed; it uses net/http and
// github.com/mmcdole/gofeed only.
package feed
