package seed

import (
	"bytes"
	"crypto/sha1"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

// FuzzBuildMetainfo builds a torrent for arbitrary file contents, names and
// web seeds and checks what a client would: it loads, the infohash is the
// SHA-1 of the info dictionary, the name is safe, the length and piece
// hashes match the data, and the web seed and announce survive.
func FuzzBuildMetainfo(f *testing.F) {
	f.Add([]byte("x"), "episode.mp3", "https://cdn.example.com/e.mp3?a=1&b=2")
	f.Add(bytes.Repeat([]byte{0xab}, 16<<10+1), "../../etc/passwd", "http://[::1]:8080/x y.mp3")
	f.Add([]byte("\x00\x01"), "\u202ename\x7f.mp3", "")
	f.Fuzz(func(t *testing.T, data []byte, name, webSeed string) {
		if len(data) == 0 || len(data) > 1<<20 {
			t.Skip()
		}
		p := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := MetainfoOptions{Name: name, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}}
		if webSeed != "" {
			opt.WebSeeds = []string{webSeed}
		}
		raw, ih, err := BuildMetainfo(p, opt)
		if err != nil {
			return // refusing input is fine; crashing or lying is not
		}
		mi, err := metainfo.Load(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("built metainfo does not load: %v", err)
		}
		if got := mi.HashInfoBytes().HexString(); got != ih {
			t.Fatalf("infohash %s, want the info dictionary's %s", ih, got)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		if info.Name == "" || info.Name == "." || info.Name == ".." || bytes.ContainsAny([]byte(info.Name), "/\\\x00") {
			t.Fatalf("unsafe name %q from %q", info.Name, name)
		}
		if info.Length != int64(len(data)) {
			t.Fatalf("length %d, want %d", info.Length, len(data))
		}
		pl := int(info.PieceLength)
		for i := 0; i*pl < len(data); i++ {
			sum := sha1.Sum(data[i*pl : min((i+1)*pl, len(data))])
			if !bytes.Equal(info.Pieces[i*20:(i+1)*20], sum[:]) {
				t.Fatalf("piece %d hash mismatch", i)
			}
		}
		if webSeed != "" && (len(mi.UrlList) != 1 || mi.UrlList[0] != webSeed) {
			t.Fatalf("url-list %q, want [%q]", mi.UrlList, webSeed)
		}
	})
}
