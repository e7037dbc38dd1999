//go:build mpi

package collective

/*
#cgo pkg-config: ompi
#include <mpi.h>
#include <stdlib.h>

// The OpenMPI handles are macros over globals, which cgo cannot name, so
// each call the package makes is wrapped here.
static int fr_init(int *provided) {
	int done = 0;
	MPI_Initialized(&done);
	if (done) { MPI_Query_thread(provided); return MPI_SUCCESS; }
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static int fr_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int fr_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int fr_allreduce(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int fr_allgather(float *send, float *recv, int n) {
	return MPI_Allgather(send, n, MPI_FLOAT, recv, n, MPI_FLOAT, MPI_COMM_WORLD);
}
static int fr_bcast(float *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_FLOAT, root, MPI_COMM_WORLD);
}
static int fr_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int fr_finalize(void) { return MPI_Finalize(); }
static void fr_error(int code, char *out, int cap) {
	int n = 0;
	if (cap > 0) out[0] = 0;
	if (MPI_Error_string(code, out, &n) != MPI_SUCCESS) return;
	out[n < cap ? n : cap - 1] = 0;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// maxCount is the most elements one MPI call moves (its count is a C int);
// longer buffers go in pieces.
const maxCount = 1 << 28

// mpiComm is MPI_COMM_WORLD. MPI is initialised with
// MPI_THREAD_SERIALIZED, since a goroutine may move between OS threads, and
// calls are serialised by mu.
type mpiComm struct {
	mu         sync.Mutex
	rank, size int
	closed     bool
}

// openMPI initialises MPI (once per process) and returns the world.
func openMPI() (Comm, error) {
	var provided, rank, size C.int
	if err := mpiErr("MPI_Init_thread", C.fr_init(&provided)); err != nil {
		return nil, err
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		return nil, fmt.Errorf("collective: MPI provides thread level %d; frontier needs MPI_THREAD_SERIALIZED", int(provided))
	}
	if err := mpiErr("MPI_Comm_rank", C.fr_rank(&rank)); err != nil {
		return nil, err
	}
	if err := mpiErr("MPI_Comm_size", C.fr_size(&size)); err != nil {
		return nil, err
	}
	return &mpiComm{rank: int(rank), size: int(size)}, nil
}

func mpiErr(op string, code C.int) error {
	if code == C.MPI_SUCCESS {
		return nil
	}
	var msg [512]C.char
	C.fr_error(code, &msg[0], C.int(len(msg)))
	return fmt.Errorf("collective: %s: %s (MPI error %d)", op, C.GoString(&msg[0]), int(code))
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func (c *mpiComm) lock() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("collective: MPI world used after Close")
	}
	return nil
}

func (c *mpiComm) AllReduce(buf []float32) error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for off := 0; off < len(buf); off += maxCount {
		n := min(maxCount, len(buf)-off)
		if err := mpiErr("MPI_Allreduce", C.fr_allreduce((*C.float)(unsafe.Pointer(&buf[off])), C.int(n))); err != nil {
			return err
		}
	}
	return nil
}

func (c *mpiComm) AllGather(send, recv []float32) error {
	if len(recv) != c.size*len(send) {
		return fmt.Errorf("collective: all-gather of %d values over %d ranks into %d: want %d", len(send), c.size, len(recv), c.size*len(send))
	}
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	n := len(send)
	if n == 0 {
		return nil
	}
	if n <= maxCount {
		return mpiErr("MPI_Allgather", C.fr_allgather((*C.float)(unsafe.Pointer(&send[0])), (*C.float)(unsafe.Pointer(&recv[0])), C.int(n)))
	}
	// In pieces: gather each piece into a staging buffer, then place it.
	stage := make([]float32, c.size*maxCount)
	for off := 0; off < n; off += maxCount {
		k := min(maxCount, n-off)
		if err := mpiErr("MPI_Allgather", C.fr_allgather((*C.float)(unsafe.Pointer(&send[off])), (*C.float)(unsafe.Pointer(&stage[0])), C.int(k))); err != nil {
			return err
		}
		for r := 0; r < c.size; r++ {
			copy(recv[r*n+off:r*n+off+k], stage[r*k:(r+1)*k])
		}
	}
	return nil
}

func (c *mpiComm) Broadcast(buf []float32, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("collective: broadcast from rank %d in a world of %d", root, c.size)
	}
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for off := 0; off < len(buf); off += maxCount {
		n := min(maxCount, len(buf)-off)
		if err := mpiErr("MPI_Bcast", C.fr_bcast((*C.float)(unsafe.Pointer(&buf[off])), C.int(n), C.int(root))); err != nil {
			return err
		}
	}
	return nil
}

func (c *mpiComm) Barrier() error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return mpiErr("MPI_Barrier", C.fr_barrier())
}

// Close finalises MPI; it must be the last MPI call of the process.
func (c *mpiComm) Close() error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	c.closed = true
	return mpiErr("MPI_Finalize", C.fr_finalize())
}
