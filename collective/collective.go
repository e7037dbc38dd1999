// Package collective is how the ranks of a data-parallel run talk: rank,
// size, all-reduce, all-gather, broadcast and barrier over float32 buffers.
//
// It exists so that rl and pipeline speak to one interface while the
// transport is chosen at build time: Single, one process (the default
// build, no cgo); MPI (build tag mpi, cgo against OpenMPI) for processes
// launched by mpirun or srun; and, on GPUs, NCCL (build tag cuda) for
// device buffers, bootstrapped through a Comm.
//
// Determinism: MPI's and NCCL's all-reduce choose their summation order by
// message size and world size, so a sum that must not depend on the world
// size is taken with SumOrdered (gather, then add in a fixed order), never
// with AllReduce.
package collective

import (
	"fmt"
	"math"
	"os"
)

// Comm is one rank's view of a group of processes. Every rank must make
// the same calls in the same order with the same buffer lengths.
type Comm interface {
	// Rank is this process's index in [0, Size()).
	Rank() int
	// Size is the number of processes.
	Size() int
	// AllReduce replaces buf, on every rank, by the element-wise sum of
	// every rank's buf, in an order the transport chooses.
	AllReduce(buf []float32) error
	// AllGather sets recv[r*len(send) : (r+1)*len(send)] to rank r's send
	// on every rank; len(recv) must be Size()*len(send).
	AllGather(send, recv []float32) error
	// Broadcast copies root's buf into every rank's buf.
	Broadcast(buf []float32, root int) error
	// Barrier returns once every rank has entered it.
	Barrier() error
	// Close releases the transport; the Comm is unusable afterwards.
	Close() error
}

// Single is the world of one process: every collective is a copy or
// nothing.
type Single struct{}

// Rank returns 0.
func (Single) Rank() int { return 0 }

// Size returns 1.
func (Single) Size() int { return 1 }

// AllReduce leaves buf as it is (the sum over one rank).
func (Single) AllReduce([]float32) error { return nil }

// AllGather copies send into recv.
func (Single) AllGather(send, recv []float32) error {
	if len(recv) != len(send) {
		return fmt.Errorf("collective: all-gather of %d values into %d: want %d", len(send), len(recv), len(send))
	}
	copy(recv, send)
	return nil
}

// Broadcast checks root and leaves buf as it is.
func (Single) Broadcast(_ []float32, root int) error {
	if root != 0 {
		return fmt.Errorf("collective: broadcast from rank %d in a world of 1", root)
	}
	return nil
}

// Barrier returns at once.
func (Single) Barrier() error { return nil }

// Close does nothing.
func (Single) Close() error { return nil }

// Open returns the world named by kind: "" or "single" for one process,
// "mpi" for the MPI world this process was launched into (needs the mpi
// build tag).
func Open(kind string) (Comm, error) {
	switch kind {
	case "", "single":
		return Single{}, nil
	case "mpi":
		return openMPI()
	}
	return nil, fmt.Errorf("collective: world %q: use single or mpi", kind)
}

// Launched reports whether this process was started by an MPI launcher:
// mpirun (OpenMPI's OMPI_COMM_WORLD_SIZE), a PMI or PMIx launcher such as
// Slurm's srun (PMI_SIZE, PMIX_RANK), or FRONTIER_WORLD=mpi.
func Launched() bool {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return os.Getenv("FRONTIER_WORLD") == "mpi"
}

// Span returns the half-open range [lo, hi) of n items that rank r of size
// owns when the items are cut into size contiguous runs, the first n%size
// one longer.
func Span(n, r, size int) (lo, hi int) {
	return r * n / size, (r + 1) * n / size
}

// GatherVar gathers a variable-length buffer from every rank: out[r] is
// rank r's send, on every rank. It gathers the lengths, then the buffers
// padded to the longest.
func GatherVar(c Comm, send []float32) ([][]float32, error) {
	size := c.Size()
	lens := make([]float32, size)
	if err := c.AllGather([]float32{IntBits(len(send))}, lens); err != nil {
		return nil, fmt.Errorf("collective: gather lengths: %w", err)
	}
	longest := 0
	for _, l := range lens {
		longest = max(longest, BitsInt(l))
	}
	pad := make([]float32, longest)
	copy(pad, send)
	all := make([]float32, size*longest)
	if err := c.AllGather(pad, all); err != nil {
		return nil, fmt.Errorf("collective: gather %d values: %w", longest, err)
	}
	out := make([][]float32, size)
	for r := range out {
		out[r] = all[r*longest : r*longest+BitsInt(lens[r])]
	}
	return out, nil
}

// SumOrdered returns the element-wise sum of the parts, added left to right
// (((p0 + p1) + p2) + ...) in float32, so that the result depends on the
// parts alone and not on how they were spread over ranks.
func SumOrdered(parts [][]float32) []float32 {
	if len(parts) == 0 {
		return nil
	}
	out := append([]float32(nil), parts[0]...)
	for _, p := range parts[1:] {
		for i, v := range p {
			out[i] += v
		}
	}
	return out
}

// IntBits carries an int32 value in a float32's bits (bit-exact through any
// collective that copies). It panics outside the int32 range.
func IntBits(v int) float32 {
	if v < math.MinInt32 || v > math.MaxInt32 {
		panic(fmt.Sprintf("collective: %d does not fit in 32 bits", v))
	}
	return math.Float32frombits(uint32(int32(v)))
}

// BitsInt is the inverse of IntBits.
func BitsInt(f float32) int { return int(int32(math.Float32bits(f))) }
