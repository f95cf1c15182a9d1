package seed

// Benchmarks for the ingest hot path (issue 6). They assert nothing about
// time; bench/run reports them. Run with
//
//	go test -run '^$' -bench . -benchmem ./seed

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchData returns size pseudo-random bytes (deterministic).
func benchData(size int) []byte {
	b := make([]byte, size)
	src := rand.NewChaCha8([32]byte{6})
	_, _ = src.Read(b)
	return b
}

// benchWriteChunks writes data to w in chunks of chunk bytes, as io.CopyBuffer
// with a chunk-sized buffer does.
func benchWriteChunks(b *testing.B, w io.Writer, data []byte, chunk int) {
	for off := 0; off < len(data); off += chunk {
		if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA1Raw is the single-core SHA-1 limit in Go: one hash over
// 64 MiB written in ingestCopyBuffer chunks.
func BenchmarkSHA1Raw(b *testing.B) {
	data := benchData(64 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		h := sha1.New()
		benchWriteChunks(b, h, data, ingestCopyBuffer)
		_ = h.Sum(nil)
	}
}

// BenchmarkSHA256Raw is the single-core SHA-256 limit (ingest also computes
// the file's SHA-256 for podcast:integrity).
func BenchmarkSHA256Raw(b *testing.B) {
	data := benchData(64 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		h := sha256.New()
		benchWriteChunks(b, h, data, ingestCopyBuffer)
		_ = h.Sum(nil)
	}
}

// BenchmarkPieceHasher is metainfoPieceHasher over 64 MiB at the piece
// lengths PieceLengthFor picks for 64 MiB and for 1 GiB.
func BenchmarkPieceHasher(b *testing.B) {
	data := benchData(64 << 20)
	for _, pl := range []int64{PieceLengthFor(64 << 20), PieceLengthFor(1 << 30)} {
		b.Run("piece="+strconv.FormatInt(pl>>10, 10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h := newMetainfoPieceHasher(pl)
				benchWriteChunks(b, h, data, ingestCopyBuffer)
				_ = h.Pieces()
			}
		})
	}
}

// BenchmarkIngestHashes is the hashing ingest does per byte (pieces SHA-1
// plus file SHA-256 plus the write to the temporary file), without the
// network: the CPU cost the download has to hide.
func BenchmarkIngestHashes(b *testing.B) {
	data := benchData(64 << 20)
	f, err := os.Create(filepath.Join(b.TempDir(), "x.part"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		pieces := newMetainfoPieceHasher(PieceLengthFor(int64(len(data))))
		sum := sha256.New()
		benchWriteChunks(b, io.MultiWriter(f, pieces, sum), data, ingestCopyBuffer)
	}
}

// BenchmarkIngest256MiB is the whole Ingest of a 256 MiB enclosure from an
// httptest origin on 127.0.0.1: GET, stream to disk, hash, fsync, rename.
func BenchmarkIngest256MiB(b *testing.B) {
	data := benchData(256 << 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	dir := b.TempDir()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := Ingest(context.Background(), IngestRequest{
			URL: srv.URL + "/episode.mp3", TmpDir: filepath.Join(dir, "tmp"), FilesDir: filepath.Join(dir, "files"),
			Client: srv.Client(),
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(res.DataPath); err != nil {
			b.Fatal(err)
		}
	}
}
