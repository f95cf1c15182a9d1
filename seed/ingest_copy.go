package seed

import (
	"hash"
	"io"
	"os"
)

const (
	// ingestCopyBuffers is how many ingestCopyBuffer-sized buffers are in
	// flight between the reader and the SHA-256 goroutine.
	ingestCopyBuffers = 4
	// ingestWritebackEvery is how many bytes ingestCopy writes before it
	// asks the kernel to start writing them to disk (bytes).
	ingestWritebackEvery = 8 << 20
)

// ingestCopy copies r to f until EOF or an error, feeding every byte to
// pieces (SHA-1 piece hashes) and sum (SHA-256 of the file), and returns the
// number of bytes copied. It behaves like io.CopyBuffer(io.MultiWriter(f,
// pieces, sum), r, …) and returns the same errors, but computes the SHA-256
// on a second goroutine, so the two hashes use two cores, and starts the
// disk writeback of what it wrote every ingestWritebackEvery bytes (Linux),
// so the final fsync has little left to do. Both were measured (see
// docs/performance.md): on 2 cores, hashing one after the other capped a
// loopback ingest at ~600 MB/s, and the fsync of a whole episode written to
// the page cache came on top of the download time.
func ingestCopy(f *os.File, r io.Reader, pieces io.Writer, sum hash.Hash) (n int64, err error) {
	free := make(chan []byte, ingestCopyBuffers)
	for range ingestCopyBuffers {
		free <- make([]byte, ingestCopyBuffer)
	}
	full := make(chan []byte, ingestCopyBuffers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range full {
			sum.Write(b)
			free <- b[:cap(b)]
		}
	}()
	defer func() {
		close(full)
		<-done
	}()

	wb := ingestWriteback{f: f}
	for {
		buf := <-free
		k, rerr := r.Read(buf)
		if k > 0 {
			w, werr := f.Write(buf[:k])
			if werr == nil && w != k {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n + int64(w), werr
			}
			pieces.Write(buf[:k])
			n += int64(k)
			full <- buf[:k]
			wb.wrote(n)
		} else {
			free <- buf
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// ingestWriteback starts the writeback of f's bytes in steps of
// ingestWritebackEvery.
type ingestWriteback struct {
	f       *os.File
	started int64 // bytes from the start of f whose writeback was started
	failed  bool  // the call is not supported here: stop trying
}

// wrote records that the first n bytes of f are written.
func (w *ingestWriteback) wrote(n int64) {
	if w.failed || n-w.started < ingestWritebackEvery {
		return
	}
	if err := startWriteback(w.f, w.started, n-w.started); err != nil {
		w.failed = true // only an optimisation: the final fsync still makes it durable
		return
	}
	w.started = n
}
