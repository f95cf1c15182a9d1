package seed

import (
	"os"
	"syscall"
)

// startWriteback asks Linux to start writing n bytes of f from off to disk
// without waiting for it (sync_file_range(2) with SYNC_FILE_RANGE_WRITE).
// It makes nothing durable by itself.
func startWriteback(f *os.File, off, n int64) error {
	return syscall.SyncFileRange(int(f.Fd()), off, n, 0x2 /* SYNC_FILE_RANGE_WRITE */)
}
