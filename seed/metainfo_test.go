package seed

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func TestPieceLengthFor(t *testing.T) {
	const (
		KiB = 1 << 10
		MiB = 1 << 20
		GiB = 1 << 30
	)
	tests := []struct {
		name string
		size int64
		want int64
	}{
		{"negative", -1, 16 * KiB},
		{"zero", 0, 16 * KiB},
		{"one byte", 1, 16 * KiB},
		{"2048 pieces of 16 KiB", 32 * MiB, 16 * KiB},
		{"one byte more", 32*MiB + 1, 32 * KiB},
		{"typical episode", 57 * MiB, 32 * KiB},
		{"64 MiB", 64 * MiB, 32 * KiB},
		{"64 MiB + 1", 64*MiB + 1, 64 * KiB},
		{"1 GiB", 1 * GiB, 512 * KiB},
		{"4 GiB", 4 * GiB, 2 * MiB},
		{"32 GiB", 32 * GiB, 16 * MiB},
		{"larger than 2048 max pieces", 32*GiB + 1, 16 * MiB},
		{"huge", math.MaxInt64, 16 * MiB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PieceLengthFor(tt.size); got != tt.want {
				t.Errorf("PieceLengthFor(%d) = %d, want %d", tt.size, got, tt.want)
			}
		})
	}
}

// ingestTestData returns size deterministic pseudo-random bytes.
func ingestTestData(size int, seed uint64) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// mustWriteIngestFile writes data to dir/name and returns its path.
func mustWriteIngestFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustLoadMetainfo decodes a bencoded .torrent and its info dictionary.
func mustLoadMetainfo(tb testing.TB, mi []byte) (*metainfo.MetaInfo, metainfo.Info) {
	tb.Helper()
	m, err := metainfo.Load(bytes.NewReader(mi))
	if err != nil {
		tb.Fatalf("load metainfo: %v", err)
	}
	info, err := m.UnmarshalInfo()
	if err != nil {
		tb.Fatalf("unmarshal info: %v", err)
	}
	return m, info
}

// bencodeKeys returns the sorted keys of the bencoded dictionary b.
func bencodeKeys(tb testing.TB, b []byte) []string {
	tb.Helper()
	var d map[string]bencode.Bytes
	if err := bencode.Unmarshal(b, &d); err != nil {
		tb.Fatalf("decode dictionary: %v", err)
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestBuildMetainfoKnownFile pins the infohash of a known file, so a change in
// hashing or encoding cannot go unnoticed even where mktorrent is missing.
// The value was produced by `mktorrent -l 15 -n known.bin`.
func TestBuildMetainfoKnownFile(t *testing.T) {
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	p := mustWriteIngestFile(t, t.TempDir(), "known.bin", data)
	_, ih, err := BuildMetainfo(p, MetainfoOptions{PieceLength: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const want = "e145e3258a493edd2ca2aa82493157d2f3c991f0"
	if ih != want {
		t.Errorf("infohash = %s, want %s", ih, want)
	}
}

func TestBuildMetainfoMatchesMktorrent(t *testing.T) {
	mktorrent, err := exec.LookPath("mktorrent")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mktorrent is required in CI: %v", err)
		}
		t.Skipf("mktorrent not installed: %v", err)
	}
	tests := []struct {
		name       string
		size       int
		pieceLog2  int
		torrentNm  string
		webSeedArg bool
	}{
		{"one byte", 1, 15, "one.bin", false},
		{"exact piece multiple", 4 << 15, 15, "four pieces.mp3", false},
		{"short last piece", 5<<20 + 12345, 16, "épisode 5.mp3", true},
		{"default-ish 256 KiB pieces", 3<<20 + 1, 18, "x.m4a", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := mustWriteIngestFile(t, dir, "data", ingestTestData(tt.size, uint64(i)))
			out := filepath.Join(dir, "out.torrent")
			args := []string{"-l", strconv.Itoa(tt.pieceLog2), "-n", tt.torrentNm, "-o", out, "-a", "http://127.0.0.1:1/announce"}
			if tt.webSeedArg {
				args = append(args, "-w", "http://127.0.0.1:1/data")
			}
			cmd := exec.Command(mktorrent, append(args, p)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("mktorrent: %v\n%s", err, b)
			}
			want, err := metainfo.LoadFromFile(out)
			if err != nil {
				t.Fatal(err)
			}

			mi, ih, err := BuildMetainfo(p, MetainfoOptions{Name: tt.torrentNm, PieceLength: 1 << tt.pieceLog2})
			if err != nil {
				t.Fatal(err)
			}
			if wantIH := want.HashInfoBytes().HexString(); ih != wantIH {
				t.Errorf("infohash = %s, want %s (mktorrent)", ih, wantIH)
			}
			got, _ := mustLoadMetainfo(t, mi)
			if !bytes.Equal(got.InfoBytes, want.InfoBytes) {
				t.Errorf("info dictionary differs from mktorrent's:\n got %q\nwant %q", trimBytes(got.InfoBytes), trimBytes(want.InfoBytes))
			}
		})
	}
}

func trimBytes(b []byte) []byte {
	if len(b) > 120 {
		return b[:120]
	}
	return b
}

func TestBuildMetainfoMatchesAnacrolix(t *testing.T) {
	dir := t.TempDir()
	p := mustWriteIngestFile(t, dir, "ep.mp3", ingestTestData(3<<20+777, 7))
	info := metainfo.Info{PieceLength: PieceLengthFor(3<<20 + 777)}
	if err := info.BuildFromFilePath(p); err != nil {
		t.Fatal(err)
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	_, ih, err := BuildMetainfo(p, MetainfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := metainfo.HashBytes(infoBytes).HexString(); ih != want {
		t.Errorf("infohash = %s, want %s", ih, want)
	}
}

func TestBuildMetainfoFields(t *testing.T) {
	dir := t.TempDir()
	data := ingestTestData(100_001, 3)
	p := mustWriteIngestFile(t, dir, "..weird name.mp3", data)
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	opt := MetainfoOptions{
		WebSeeds:     []string{"https://cdn.example.com/ep.mp3"},
		AnnounceList: [][]string{{"", "http://t1.example/announce"}, {}, {"udp://t2.example:6969/announce", "http://t3.example/announce"}},
		CreatedBy:    "podseed/test",
		CreationDate: created,
	}
	mi, ih, err := BuildMetainfo(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ih) != 40 || ih != string(bytes.ToLower([]byte(ih))) {
		t.Errorf("infohash %q is not 40 lower-case hex digits", ih)
	}
	m, info := mustLoadMetainfo(t, mi)
	if got, want := bencodeKeys(t, mi), []string{"announce", "announce-list", "created by", "creation date", "info", "url-list"}; !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
	if got, want := bencodeKeys(t, m.InfoBytes), []string{"length", "name", "piece length", "pieces"}; !slices.Equal(got, want) {
		t.Errorf("info keys = %q, want %q", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", info.Name, "weird name.mp3"},
		{"length", info.Length, int64(len(data))},
		{"piece length", info.PieceLength, int64(16 << 10)},
		{"pieces", len(info.Pieces), 7 * 20},
		{"announce", m.Announce, "http://t1.example/announce"},
		{"announce-list", m.AnnounceList, metainfo.AnnounceList{{"http://t1.example/announce"}, {"udp://t2.example:6969/announce", "http://t3.example/announce"}}},
		{"url-list", m.UrlList, metainfo.UrlList(opt.WebSeeds)},
		{"created by", m.CreatedBy, "podseed/test"},
		{"creation date", m.CreationDate, created.Unix()},
		{"infohash", m.HashInfoBytes().HexString(), ih},
	}
	for _, c := range checks {
		if !equalAny(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// equalAny compares values of the shapes used in the tests above.
func equalAny(a, b any) bool {
	switch a := a.(type) {
	case metainfo.AnnounceList:
		b, ok := b.(metainfo.AnnounceList)
		return ok && slices.EqualFunc(a, b, slices.Equal)
	case metainfo.UrlList:
		b, ok := b.(metainfo.UrlList)
		return ok && slices.Equal(a, b)
	}
	return a == b
}

func TestBuildMetainfoNoOptionalKeys(t *testing.T) {
	p := mustWriteIngestFile(t, t.TempDir(), "a.bin", []byte("x"))
	mi, _, err := BuildMetainfo(p, MetainfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bencodeKeys(t, mi), []string{"info"}; !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

func TestBuildMetainfoErrors(t *testing.T) {
	dir := t.TempDir()
	empty := mustWriteIngestFile(t, dir, "empty", nil)
	file := mustWriteIngestFile(t, dir, "file", []byte("data"))
	tests := []struct {
		name    string
		path    string
		opt     MetainfoOptions
		wantErr error
	}{
		{"empty file", empty, MetainfoOptions{}, ErrEmptyFile},
		{"missing file", filepath.Join(dir, "missing"), MetainfoOptions{}, os.ErrNotExist},
		{"directory", dir, MetainfoOptions{}, nil},
		{"piece length not a power of two", file, MetainfoOptions{PieceLength: 20000}, nil},
		{"piece length too small", file, MetainfoOptions{PieceLength: 8192}, nil},
		{"negative piece length", file, MetainfoOptions{PieceLength: -16384}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mi, ih, err := BuildMetainfo(tt.path, tt.opt)
			if err == nil {
				t.Fatalf("got metainfo (%d bytes, %s), want error", len(mi), ih)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestWithAnnounceList(t *testing.T) {
	p := mustWriteIngestFile(t, t.TempDir(), "ep.mp3", ingestTestData(50_000, 9))
	opt := MetainfoOptions{
		WebSeeds:     []string{"https://cdn.example.com/ep.mp3"},
		AnnounceList: [][]string{{"http://old.example/announce"}},
		CreatedBy:    "podseed/test",
		CreationDate: time.Unix(1700000000, 0),
	}
	mi, ih, err := BuildMetainfo(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		list         [][]string
		wantAnnounce string
		wantKeys     []string
	}{
		{"replace", [][]string{{"http://a.example/announce", "http://b.example/announce"}, {"udp://c.example:1/announce"}}, "http://a.example/announce",
			[]string{"announce", "announce-list", "created by", "creation date", "info", "url-list"}},
		{"remove", nil, "", []string{"created by", "creation date", "info", "url-list"}},
		{"only empty urls", [][]string{{""}}, "", []string{"created by", "creation date", "info", "url-list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithAnnounceList(mi, tt.list)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := mustLoadMetainfo(t, got)
			if gotIH := m.HashInfoBytes().HexString(); gotIH != ih {
				t.Errorf("infohash = %s, want %s", gotIH, ih)
			}
			if m.Announce != tt.wantAnnounce {
				t.Errorf("announce = %q, want %q", m.Announce, tt.wantAnnounce)
			}
			if keys := bencodeKeys(t, got); !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("keys = %q, want %q", keys, tt.wantKeys)
			}
			if !slices.Equal(m.UrlList, opt.WebSeeds) || m.CreatedBy != opt.CreatedBy || m.CreationDate != opt.CreationDate.Unix() {
				t.Errorf("other keys changed: url-list %q, created by %q, creation date %d", m.UrlList, m.CreatedBy, m.CreationDate)
			}
			if tt.wantAnnounce != "" {
				// Same bytes as building with this list from the start.
				opt2 := opt
				opt2.AnnounceList = tt.list
				want, _, err := BuildMetainfo(p, opt2)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("WithAnnounceList differs from BuildMetainfo with the same list")
				}
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), []byte("d3:fooi1ee"), []byte("li1ee")} {
		if _, err := WithAnnounceList(bad, nil); err == nil {
			t.Errorf("WithAnnounceList(%q): got nil error, want error", bad)
		}
	}
}

func TestMetainfoPieceHasherMatchesGeneratePieces(t *testing.T) {
	data := ingestTestData(1<<20+333, 11)
	for _, pl := range []int64{16 << 10, 32 << 10, 1 << 20, 4 << 20} {
		want, err := metainfo.GeneratePieces(bytes.NewReader(data), pl, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := newMetainfoPieceHasher(pl)
		r := rand.New(rand.NewPCG(1, uint64(pl)))
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(100_000)) // writes straddle piece boundaries
			h.Write(rest[:n])
			rest = rest[n:]
		}
		if got := h.Pieces(); !bytes.Equal(got, want) {
			t.Errorf("piece length %d: pieces differ from metainfo.GeneratePieces", pl)
		}
		if got := h.Pieces(); !bytes.Equal(got, want) {
			t.Errorf("piece length %d: second Pieces call differs", pl)
		}
	}
}

// BenchmarkMetainfoPieceHasher measures hashing alone: SHA-1 pieces plus the
// whole-file SHA-256, as Ingest does for every byte it downloads.
func BenchmarkMetainfoPieceHasher(b *testing.B) {
	buf := ingestTestData(256<<10, 1)
	const size = 64 << 20
	b.SetBytes(size)
	for range b.N {
		w := io.MultiWriter(newMetainfoPieceHasher(32<<10), sha256.New())
		for range size / len(buf) {
			w.Write(buf)
		}
	}
}
