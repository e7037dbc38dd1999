//go:build unix

package weights

import (
	"errors"
	"math"
	"os"
	"syscall"
)

// mmapFile maps the whole file read-only. The caller falls back to
// positioned reads if this fails.
func mmapFile(f *os.File, size int64) ([]byte, func([]byte) error, error) {
	if size <= 0 || size > math.MaxInt {
		return nil, nil, errors.New("file size cannot be mapped")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, syscall.Munmap, nil
}
