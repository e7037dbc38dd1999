//go:build !cuda

package cuda

import (
	"errors"

	"github.com/frontier-rl/frontier/kernels"
)

// Available reports whether the CUDA backend was compiled in and a GPU is
// present. Without the cuda build tag it is always false.
func Available() bool { return false }

// NewBackend returns the CUDA backend. Without the cuda build tag it always
// fails with an error that says how to get one.
func NewBackend() (kernels.Backend, error) {
	return nil, errors.New("cuda: this binary was built without CUDA support; rebuild with `go build -tags cuda` " +
		"on a machine with the CUDA toolkit (nvcc, cuda.h, libcuda, libcublas); the resulting binary needs an NVIDIA GPU")
}
