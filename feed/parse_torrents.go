package feed

import (
	"net/url"
	"slices"
	"strings"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
)

// torrentType is the media type of a .torrent file (BEP 3).
const torrentType = "application/x-bittorrent"

// all returns every element called name in the namespace known by the
// conventional prefix and the URIs uris, in the order of first.
func (c channelExtensions) all(name, prefix string, uris ...string) []ext.Extension {
	isNS := func(uri string) bool {
		n := normNS(uri)
		return slices.ContainsFunc(uris, func(u string) bool { return normNS(u) == n })
	}
	keys := []string{prefix}
	for key := range c.exts {
		if key == prefix {
			continue
		}
		if uri, ok := c.bound[key]; (ok && isNS(uri)) || isNS(key) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys[1:])
	var out []ext.Extension
	for _, key := range keys {
		out = append(out, c.exts[key][name]...)
	}
	return out
}

// publisherTorrent returns the .torrent the publisher itself offers for an
// item's enclosure at enclosureURL, as PeerTube feeds do: the uri of a
// <podcast:source contentType="application/x-bittorrent"> inside a
// <podcast:alternateEnclosure> that also lists enclosureURL as a source
// (relative URIs resolved against base). "" if there is none.
func publisherTorrent(item *gofeed.Item, bound map[string]string, base *url.URL, enclosureURL string) string {
	if len(item.Extensions) == 0 {
		return ""
	}
	c := channelExtensions{exts: item.Extensions, bound: bound}
	for _, alt := range c.all("alternateEnclosure", "podcast", podcastNS, podcastGitHubNS) {
		var torrent string
		sameFile := false
		for _, src := range alt.Children["source"] {
			uri := resolve(base, src.Attrs["uri"])
			switch {
			case uri == "":
			case strings.EqualFold(strings.TrimSpace(src.Attrs["contentType"]), torrentType):
				if torrent == "" && (strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://")) {
					torrent = uri
				}
			case uri == enclosureURL:
				sameFile = true
			}
		}
		if sameFile && torrent != "" {
			return torrent
		}
	}
	return ""
}
