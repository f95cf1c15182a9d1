package seed

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestIngestCopy checks that ingestCopy writes and hashes exactly what
// io.CopyBuffer through an io.MultiWriter would, for sizes around the
// buffer and writeback steps, with short reads, and that it returns a read
// error after the bytes before it.
func TestIngestCopy(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		size    int
		reader  func([]byte) io.Reader
		wantErr error
	}{
		{"empty", 0, func(b []byte) io.Reader { return bytes.NewReader(b) }, nil},
		{"one byte", 1, func(b []byte) io.Reader { return bytes.NewReader(b) }, nil},
		{"buffer", ingestCopyBuffer, func(b []byte) io.Reader { return bytes.NewReader(b) }, nil},
		{"buffers plus one", ingestCopyBuffer*ingestCopyBuffers + 1, func(b []byte) io.Reader { return bytes.NewReader(b) }, nil},
		{"past writeback step", ingestWritebackEvery*2 + 12345, func(b []byte) io.Reader { return bytes.NewReader(b) }, nil},
		{"half reads", 3*ingestCopyBuffer + 7, func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }, nil},
		{"data then error", 100_000, func(b []byte) io.Reader {
			return io.MultiReader(bytes.NewReader(b), iotest.ErrReader(errBoom))
		}, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := ingestTestData(tt.size, uint64(tt.size))
			f, err := os.Create(filepath.Join(t.TempDir(), "x.part"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pl := PieceLengthFor(int64(tt.size) + 1)
			pieces, sum := newMetainfoPieceHasher(pl), sha256.New()
			n, err := ingestCopy(f, tt.reader(data), pieces, sum)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if n != int64(len(data)) {
				t.Fatalf("got %d bytes, want %d", n, len(data))
			}
			got, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("file differs from the input")
			}
			wantPieces, wantSum := newMetainfoPieceHasher(pl), sha256.New()
			io.MultiWriter(wantPieces, wantSum).Write(data)
			if !bytes.Equal(pieces.Pieces(), wantPieces.Pieces()) {
				t.Error("piece hashes differ")
			}
			if !bytes.Equal(sum.Sum(nil), wantSum.Sum(nil)) {
				t.Error("sha-256 differs")
			}
		})
	}
}

// TestIngestCopyWriteError checks that a failing write (a closed file here,
// a full disk in life) ends the copy with that error.
func TestIngestCopyWriteError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x.part"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ingestCopy(f, bytes.NewReader(make([]byte, 1000)), newMetainfoPieceHasher(16<<10), sha256.New())
	if !errors.Is(err, os.ErrClosed) {
		t.Fatalf("got %v, want an error wrapping os.ErrClosed", err)
	}
}
