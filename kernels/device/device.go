// Package device picks a compute backend by the name a user gives on the
// command line (-device cpu|cuda), so that every command accepts the same
// names and says the same thing when CUDA was not compiled in.
package device

import (
	"fmt"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/kernels/cuda"
)

// New returns the backend named: "cpu" (with threads goroutines, 0 meaning
// all cores) or "cuda" (an error explaining how to build with the cuda tag
// when this binary lacks it).
func New(name string, threads int) (kernels.Backend, error) {
	switch name {
	case "cpu":
		return cpu.New(threads), nil
	case "cuda":
		return cuda.NewBackend()
	default:
		return nil, fmt.Errorf("-device %q: use cpu or cuda", name)
	}
}
