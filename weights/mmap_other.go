//go:build !unix

package weights

import (
	"errors"
	"os"
)

// mmapFile is not implemented on this platform; files are streamed with
// positioned reads instead.
func mmapFile(f *os.File, size int64) ([]byte, func([]byte) error, error) {
	return nil, nil, errors.New("memory mapping not supported on this platform")
}
