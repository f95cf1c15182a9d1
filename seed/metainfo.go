package seed

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

const (
	// metainfoMinPieceLength and metainfoMaxPieceLength bound PieceLengthFor (bytes).
	metainfoMinPieceLength = 16 << 10
	metainfoMaxPieceLength = 16 << 20
	// metainfoMaxPieces is the piece count PieceLengthFor stays at or below.
	metainfoMaxPieces = 2048
	// metainfoCopyBuffer is the read size used when hashing local files (bytes).
	metainfoCopyBuffer = 256 << 10
)

// ErrEmptyFile is returned (wrapped) by Ingest and BuildMetainfo for data of
// zero bytes: a torrent needs at least one piece, and an empty enclosure is
// a publisher error rather than an episode.
var ErrEmptyFile = errors.New("empty file")

// PieceLengthFor returns the piece length in bytes for a file of size bytes:
// the smallest power of two from 16 KiB to 16 MiB giving at most 2048 pieces,
// and 16 MiB for files larger than 32 GiB. A size of 0 or less gives 16 KiB.
func PieceLengthFor(size int64) int64 {
	pl := int64(metainfoMinPieceLength)
	for pl < metainfoMaxPieceLength && metainfoNumPieces(size, pl) > metainfoMaxPieces {
		pl <<= 1
	}
	return pl
}

// metainfoNumPieces returns how many pieces of pieceLength bytes cover size bytes.
func metainfoNumPieces(size, pieceLength int64) int64 {
	n := size / pieceLength
	if size%pieceLength > 0 {
		n++
	}
	return n
}

// MetainfoOptions describes the .torrent BuildMetainfo writes. Only Name and
// PieceLength are inside the info dictionary and so change the infohash.
type MetainfoOptions struct {
	// Name is the torrent's `name` (BEP 3); "" → the file's base name. It is
	// passed through the rules of SanitizeName (without URL unescaping).
	Name string
	// PieceLength in bytes; 0 → PieceLengthFor(file size). Otherwise a power
	// of two of at least 16 KiB.
	PieceLength int64
	// WebSeeds become `url-list` (BEP 19).
	WebSeeds []string
	// AnnounceList holds tracker tiers (BEP 12); the first URL of the first
	// tier also becomes `announce` (BEP 3). Empty URLs and tiers are dropped.
	AnnounceList [][]string
	// CreatedBy becomes `created by`, if not empty.
	CreatedBy string
	// CreationDate becomes `creation date` (Unix seconds), if not zero.
	CreationDate time.Time
}

// BuildMetainfo hashes the regular file at path and returns a bencoded
// single-file v1 .torrent (BEP 3): info{name, length, piece length, pieces}
// plus announce/announce-list, url-list, created by and creation date from
// opt, and never a `private` key. infoHash is the v1 infohash as 40 lower-case
// hex digits; it equals what `mktorrent -l <log2 piece length> -n <name>`
// gives for the same file. An empty file gives an error wrapping ErrEmptyFile.
func BuildMetainfo(path string, opt MetainfoOptions) (mi []byte, infoHash string, err error) {
	mi, infoHash, err = metainfoBuildFromFile(path, opt)
	if err != nil {
		return nil, "", fmt.Errorf("build metainfo for %s: %w", path, err)
	}
	return mi, infoHash, nil
}

func metainfoBuildFromFile(path string, opt MetainfoOptions) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", errors.New("not a regular file")
	}
	if fi.Size() == 0 {
		return nil, "", ErrEmptyFile
	}
	pl := opt.PieceLength
	if pl == 0 {
		pl = PieceLengthFor(fi.Size())
	}
	if pl < metainfoMinPieceLength || pl&(pl-1) != 0 {
		return nil, "", fmt.Errorf("piece length %d is not a power of two of at least %d", pl, metainfoMinPieceLength)
	}
	h := newMetainfoPieceHasher(pl)
	n, err := io.CopyBuffer(h, f, make([]byte, metainfoCopyBuffer))
	if err != nil {
		return nil, "", fmt.Errorf("hash pieces: %w", err)
	}
	if n != fi.Size() {
		return nil, "", fmt.Errorf("file changed while hashing: read %d of %d bytes", n, fi.Size())
	}
	name := opt.Name
	if name == "" {
		name = filepath.Base(path)
	}
	return metainfoEncode(metainfoSingleFileInfo(sanitizeTorrentName(name), n, pl, h.Pieces()), opt)
}

// metainfoSingleFileInfo returns the v1 info dictionary of a single file.
func metainfoSingleFileInfo(name string, length, pieceLength int64, pieces []byte) *metainfo.Info {
	return &metainfo.Info{
		Name:        name,
		Length:      length,
		PieceLength: pieceLength,
		Pieces:      pieces,
	}
}

// metainfoEncode bencodes info and everything outside it from opt (opt.Name
// and opt.PieceLength are ignored here) and returns the hex v1 infohash.
func metainfoEncode(info *metainfo.Info, opt MetainfoOptions) ([]byte, string, error) {
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return nil, "", fmt.Errorf("encode info: %w", err)
	}
	mi := metainfo.MetaInfo{
		InfoBytes: infoBytes,
		CreatedBy: opt.CreatedBy,
		UrlList:   opt.WebSeeds,
	}
	if !opt.CreationDate.IsZero() {
		mi.CreationDate = opt.CreationDate.Unix()
	}
	mi.Announce, mi.AnnounceList = metainfoAnnounce(opt.AnnounceList)
	b, err := bencode.Marshal(&mi)
	if err != nil {
		return nil, "", fmt.Errorf("encode metainfo: %w", err)
	}
	return b, mi.HashInfoBytes().HexString(), nil
}

// metainfoAnnounce drops empty URLs and tiers from tiers and returns the
// `announce` URL (first URL of the first tier) and the `announce-list`.
func metainfoAnnounce(tiers [][]string) (string, metainfo.AnnounceList) {
	var list metainfo.AnnounceList
	for _, tier := range tiers {
		var t []string
		for _, u := range tier {
			if u != "" {
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			list = append(list, t)
		}
	}
	if len(list) == 0 {
		return "", nil
	}
	return list[0][0], list
}

// WithAnnounceList returns a copy of the bencoded metainfo mi with `announce`
// and `announce-list` (BEP 3, BEP 12) replaced by announceList, as
// BuildMetainfo would write them; an empty list removes both keys. The info
// dictionary is copied byte for byte, so the infohash is unchanged, and other
// keys (url-list, created by, …) are kept.
func WithAnnounceList(mi []byte, announceList [][]string) ([]byte, error) {
	return metainfoEdit(mi, "replace announce list", func(d map[string]bencode.Bytes) error {
		delete(d, "announce")
		delete(d, "announce-list")
		announce, list := metainfoAnnounce(announceList)
		if announce == "" {
			return nil
		}
		var err error
		if d["announce"], err = bencode.Marshal(announce); err != nil {
			return err
		}
		d["announce-list"], err = bencode.Marshal(list)
		return err
	})
}

// metainfoEdit decodes the top-level dictionary of the bencoded metainfo
// mi, lets edit change keys outside `info`, and encodes it again. The info
// dictionary is copied byte for byte, so the infohash is unchanged. what
// names the operation in errors.
func metainfoEdit(mi []byte, what string, edit func(d map[string]bencode.Bytes) error) ([]byte, error) {
	var d map[string]bencode.Bytes
	if err := bencode.Unmarshal(mi, &d); err != nil {
		return nil, fmt.Errorf("%s: decode metainfo: %w", what, err)
	}
	if len(d["info"]) == 0 {
		return nil, fmt.Errorf("%s: metainfo has no info dictionary", what)
	}
	if err := edit(d); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	b, err := bencode.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%s: encode metainfo: %w", what, err)
	}
	return b, nil
}

// metainfoPieceHasher is an io.Writer computing the v1 `pieces` string (BEP 3):
// the SHA-1 of every pieceLength bytes written, the last piece possibly short.
// Its output equals metainfo.GeneratePieces over the same bytes.
type metainfoPieceHasher struct {
	pieceLength int64
	h           hash.Hash
	n           int64 // bytes of the current piece written to h
	pieces      []byte
}

func newMetainfoPieceHasher(pieceLength int64) *metainfoPieceHasher {
	return &metainfoPieceHasher{pieceLength: pieceLength, h: sha1.New()}
}

// Write hashes p; it never fails.
func (ph *metainfoPieceHasher) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		k := min(int64(len(p)), ph.pieceLength-ph.n)
		ph.h.Write(p[:k])
		ph.n += k
		p = p[k:]
		if ph.n == ph.pieceLength {
			ph.pieces = ph.h.Sum(ph.pieces)
			ph.h.Reset()
			ph.n = 0
		}
	}
	return written, nil
}

// Pieces returns the concatenated piece hashes of everything written so far,
// including a final short piece.
func (ph *metainfoPieceHasher) Pieces() []byte {
	out := make([]byte, len(ph.pieces), len(ph.pieces)+sha1.Size)
	copy(out, ph.pieces)
	if ph.n > 0 {
		out = ph.h.Sum(out)
	}
	return out
}

// WithWebSeeds returns a copy of the bencoded metainfo mi whose `url-list`
// (BEP 19) is webSeeds (empty ones dropped; none removes the key). The
// info dictionary is copied byte for byte, so the infohash is unchanged,
// and other keys are kept.
func WithWebSeeds(mi []byte, webSeeds []string) ([]byte, error) {
	return metainfoEdit(mi, "replace web seeds", func(d map[string]bencode.Bytes) error {
		delete(d, "url-list")
		var list []string
		for _, u := range webSeeds {
			if u != "" {
				list = append(list, u)
			}
		}
		if len(list) == 0 {
			return nil
		}
		var err error
		d["url-list"], err = bencode.Marshal(list)
		return err
	})
}
