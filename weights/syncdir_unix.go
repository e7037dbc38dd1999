//go:build unix

package weights

import (
	"errors"
	"os"
	"syscall"
)

// syncDir makes a rename in dir durable. File systems that cannot sync a
// directory (EINVAL) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}
