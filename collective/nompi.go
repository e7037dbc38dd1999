//go:build !mpi

package collective

import "fmt"

// openMPI fails: this binary was built without MPI.
func openMPI() (Comm, error) {
	return nil, fmt.Errorf("collective: this binary was built without MPI; rebuild with -tags mpi (needs libopenmpi-dev)")
}
