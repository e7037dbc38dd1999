// Package cpu implements kernels.Backend on the host. The ops are plain Go
// loops written for clarity; matrix multiplication and the hot inner loops
// (dot products and axpy in attention, the exponentials of softmax and SiLU,
// the sums of squares of RMSNorm, the element-wise loops of RMSNorm, RoPE,
// SwiGLU's backward and AdamW) go through kernels/simd, which runs AVX2/FMA
// assembly when the processor has it and pure Go otherwise (always with the
// noasm build tag); the element-wise loops give the same bits either way.
// Name reports which: "cpu/avx2" or "cpu/go". The tests check every op
// against float64 references written from the interface's documentation,
// and the backward ops also against finite differences.
//
// Work is split over goroutines in chunks whose boundaries depend only on the
// problem size, never on the number of threads, and every reduction adds its
// partial sums in chunk order, so results are bit-identical for any GOMAXPROCS.
package cpu

import (
	"fmt"
	"math"
	"runtime"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/par"
	"github.com/frontier-rl/frontier/kernels/simd"
)

// buf is the CPU backend's buffer: a plain slice.
type buf []float32

func (b buf) Len() int { return len(b) }

// Backend is the CPU implementation of kernels.Backend.
type Backend struct {
	threads int
	pool    *par.Pool       // the goroutines of every parallel loop
	ws      *simd.Workspace // GEMM packing buffers, reused between calls
	// minWork is the work (in multiply-adds) below which an op with
	// parallelWork runs on the calling goroutine alone (the benchmarks set it
	// to 0 to time the fan-out it saves).
	minWork int
}

// minParallelWork is the default minWork: about 20 microseconds of vector
// arithmetic, several times what starting and joining a goroutine costs.
const minParallelWork = 1 << 16

var _ kernels.Backend = (*Backend)(nil)

// New returns a CPU backend that uses up to threads goroutines (0 means
// runtime.GOMAXPROCS(0)).
func New(threads int) *Backend {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	pool := par.NewPool(threads)
	return &Backend{threads: threads, pool: pool, ws: simd.NewWorkspace(pool), minWork: minParallelWork}
}

// Threads is the number of goroutines the backend uses.
func (c *Backend) Threads() int { return c.threads }

// Name reports the backend and its code path.
func (c *Backend) Name() string { return "cpu/" + string(gemmPath()) }

// Data returns the slice behind a CPU buffer. It panics if b was not made by a
// CPU backend (a programming error, not bad input).
func Data(b kernels.Buffer) []float32 {
	if b == nil {
		return nil
	}
	v, ok := b.(buf)
	if !ok {
		panic(fmt.Sprintf("cpu: buffer of type %T is not a CPU buffer", b))
	}
	return v
}

// Wrap makes a CPU buffer that shares storage with s.
func Wrap(s []float32) kernels.Buffer { return buf(s) }

func (c *Backend) Alloc(n int) kernels.Buffer { return buf(make([]float32, n)) }

func (c *Backend) Slice(b kernels.Buffer, off, n int) kernels.Buffer {
	d := Data(b)
	return buf(d[off : off+n : off+n])
}

func (c *Backend) Upload(dst kernels.Buffer, src []float32)   { copy(Data(dst), src) }
func (c *Backend) Download(dst []float32, src kernels.Buffer) { copy(dst, Data(src)) }
func (c *Backend) Copy(dst, src kernels.Buffer) {
	d, s := Data(dst), Data(src)
	if len(d) != len(s) {
		panic(fmt.Sprintf("cpu: Copy of %d elements into %d", len(s), len(d)))
	}
	copy(d, s)
}

func (c *Backend) Fill(dst kernels.Buffer, v float32) {
	d := Data(dst)
	if math.Float32bits(v) == 0 {
		clear(d) // +0 is all zero bits: the runtime's vector clear
		return
	}
	c.parallel(len(d), 1<<15, func(lo, hi int) {
		s := d[lo:hi]
		for i := range s {
			s[i] = v
		}
	})
}

// parallel runs fn over [0, n) in chunks of grain elements (the last may be
// shorter) on the backend's threads (par.Range). Chunk boundaries depend only
// on n and grain, so a computation whose chunks write disjoint outputs is
// deterministic.
func (c *Backend) parallel(n, grain int, fn func(lo, hi int)) {
	c.pool.Range(n, grain, c.threads, fn)
}

// parallelWork is parallel for an op whose chunks together cost work
// multiply-adds: below c.minWork it runs every chunk on the calling
// goroutine, as the fan-out would cost more than it saves. The chunks are
// the same either way, so the result is too.
func (c *Backend) parallelWork(n, grain, work int, fn func(lo, hi int)) {
	threads := c.threads
	if work < c.minWork {
		threads = 1
	}
	c.pool.Range(n, grain, threads, fn)
}

// grainRows picks a chunk size in rows so that a chunk holds about 16K
// elements of work; it depends only on the row length.
func grainRows(rowWork int) int {
	if rowWork <= 0 {
		return 1
	}
	return max(1, (1<<14)/rowWork)
}
