package seed

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

func TestMagnet(t *testing.T) {
	data := ingestTestData(70_000, 5)
	p := mustWriteIngestFile(t, t.TempDir(), "ep.mp3", data)
	opt := MetainfoOptions{
		Name:     "Episode 1 & more.mp3",
		WebSeeds: []string{"https://cdn.example.com/ep.mp3?a=1&b=2"},
		AnnounceList: [][]string{
			{"http://t1.example/announce", "udp://t2.example:6969/announce"},
			{"http://t1.example/announce"}, // duplicates appear once
			{"wss://t3.example/"},
		},
	}
	mi, ih, err := BuildMetainfo(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	const torrentURL = "https://podseed.example/t/x.torrent?k=v"

	tests := []struct {
		name       string
		torrentURL string
		wantXS     []string
	}{
		{"with torrent url", torrentURL, []string{torrentURL}},
		{"without torrent url", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mag, err := Magnet(mi, tt.torrentURL)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(mag, "magnet:?xt=urn:btih:"+ih) {
				t.Errorf("magnet %q does not start with xt=urn:btih:%s", mag, ih)
			}
			u, err := url.Parse(mag)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			checks := []struct {
				key  string
				got  []string
				want []string
			}{
				{"xt", q["xt"], []string{"urn:btih:" + ih}},
				{"dn", q["dn"], []string{opt.Name}},
				{"tr", q["tr"], []string{"http://t1.example/announce", "udp://t2.example:6969/announce", "wss://t3.example/"}},
				{"ws", q["ws"], opt.WebSeeds},
				{"xs", q["xs"], tt.wantXS},
				{"xl", q["xl"], []string{strconv.Itoa(len(data))}},
			}
			for _, c := range checks {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
				}
			}
			// anacrolix parses it back to the same torrent.
			m, err := metainfo.ParseMagnetV2Uri(mag)
			if err != nil {
				t.Fatal(err)
			}
			if !m.InfoHash.Ok || m.InfoHash.Value.HexString() != ih || m.DisplayName != opt.Name {
				t.Errorf("ParseMagnetV2Uri = %+v, want infohash %s, dn %q", m, ih, opt.Name)
			}
		})
	}
}

func TestMagnetWithoutTrackersOrWebSeeds(t *testing.T) {
	p := mustWriteIngestFile(t, t.TempDir(), "a.bin", []byte("abc"))
	mi, ih, err := BuildMetainfo(p, MetainfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mag, err := Magnet(mi, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "magnet:?xt=urn:btih:" + ih + "&dn=a.bin&xl=3"; mag != want {
		t.Errorf("got %q, want %q", mag, want)
	}
}

func TestMagnetInvalidMetainfo(t *testing.T) {
	for _, mi := range [][]byte{nil, []byte("not bencode"), []byte("d4:infoi1ee")} {
		if got, err := Magnet(mi, ""); err == nil {
			t.Errorf("Magnet(%q) = %q, want error", mi, got)
		}
	}
}
