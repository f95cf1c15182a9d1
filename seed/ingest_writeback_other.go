//go:build !linux

package seed

import (
	"errors"
	"os"
)

// startWriteback is a Linux optimisation; elsewhere the final fsync does
// all the work.
func startWriteback(*os.File, int64, int64) error {
	return errors.ErrUnsupported
}
