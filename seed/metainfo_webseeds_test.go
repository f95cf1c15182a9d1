package seed

import (
	"bytes"
	"slices"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

func TestWithWebSeeds(t *testing.T) {
	dataPath := mustWriteStableFile(t, stableTestData(50_000, 3))
	orig, ih, err := BuildMetainfo(dataPath, MetainfoOptions{
		WebSeeds:     []string{"https://a.example/ep.mp3"},
		AnnounceList: [][]string{{"https://tracker.example/announce"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		seeds []string
		want  []string
	}{
		{"replaced", []string{"https://cdn.example/ep.mp3"}, []string{"https://cdn.example/ep.mp3"}},
		{"two, empty dropped", []string{"https://a.example/ep.mp3", "", "https://cdn.example/ep.mp3"},
			[]string{"https://a.example/ep.mp3", "https://cdn.example/ep.mp3"}},
		{"none removes url-list", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(orig)
			out, err := WithWebSeeds(in, tt.seeds)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Errorf("input modified")
			}
			m, err := metainfo.Load(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.HashInfoBytes().HexString(); got != ih {
				t.Errorf("infohash %s, want %s (url-list is outside the info dictionary)", got, ih)
			}
			if !slices.Equal([]string(m.UrlList), tt.want) {
				t.Errorf("url-list %v, want %v", m.UrlList, tt.want)
			}
			if m.Announce != "https://tracker.example/announce" {
				t.Errorf("announce %q lost", m.Announce)
			}
		})
	}
	if _, err := WithWebSeeds([]byte("not bencode"), nil); err == nil {
		t.Errorf("bad metainfo: got nil error")
	}
}
