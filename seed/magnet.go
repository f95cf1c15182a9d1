package seed

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/anacrolix/torrent/metainfo"
)

// Magnet returns a magnet URI (BEP 9) for the bencoded metainfo mi:
// xt=urn:btih:<40 hex digits> (v1 infohash), dn (the torrent name), one tr
// per distinct tracker URL in announce-list/announce order, one ws per web
// seed in url-list (BEP 19), xs=torrentURL if torrentURL is not empty (where
// the .torrent can be fetched) and xl, the total size in bytes. A v2 or hybrid
// metainfo also gets its urn:btmh xt.
func Magnet(mi []byte, torrentURL string) (string, error) {
	m, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		return "", fmt.Errorf("magnet: decode metainfo: %w", err)
	}
	info, err := m.UnmarshalInfo()
	if err != nil {
		return "", fmt.Errorf("magnet: decode info: %w", err)
	}
	mag, err := m.MagnetV2()
	if err != nil {
		return "", fmt.Errorf("magnet: %w", err)
	}
	if torrentURL != "" {
		mag.Params.Set("xs", torrentURL)
	}
	mag.Params.Set("xl", strconv.FormatInt(info.TotalLength(), 10))
	if len(mag.Params["ws"]) == 0 {
		mag.Params.Del("ws")
	}
	return mag.String(), nil
}
