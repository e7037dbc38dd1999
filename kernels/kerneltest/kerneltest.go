// Package kerneltest holds what the kernel tests share: guarded buffers that
// catch a routine writing past either end of its slice, and the one float64
// GEMM reference the SGEMM and backend tests compare against. It is imported
// only by tests.
package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Guard is the number of sentinel elements on each side of a guarded buffer:
// more than the widest vector store (16 floats) so a routine that runs a
// whole vector past either end lands inside the band.
const Guard = 32

// sentinel is the bit pattern of the guard elements: a finite value (about
// 1.4917) with an unusual mantissa. A NaN would not do: an overrunning
// read-modify-write such as y += a·x leaves a NaN's bits as they were. A
// stray store of a computed value, a scaling or an accumulation changes
// this one, and a stray read of it spoils the result the test checks.
const sentinel uint32 = 0x3fbeef01

// Guarded is a float32 slice with sentinel bands before and after it. Data is
// the usable part: len(Data) == cap(Data) == n, so Go code that slices past
// the end panics, and assembly that stores past it hits a band.
type Guarded struct {
	all  []float32
	Data []float32
}

// NewGuarded returns a guarded copy of x.
func NewGuarded(x []float32) *Guarded {
	n := len(x)
	all := make([]float32, n+2*Guard)
	s := math.Float32frombits(sentinel)
	for i := range Guard {
		all[i] = s
		all[Guard+n+i] = s
	}
	copy(all[Guard:], x)
	return &Guarded{all: all, Data: all[Guard : Guard+n : Guard+n]}
}

// Check returns an error naming the first guard element that was written
// (its offset before the start, or past the end, of Data), or nil.
func (g *Guarded) Check() error {
	n := len(g.Data)
	for i := range Guard {
		if math.Float32bits(g.all[Guard-1-i]) != sentinel {
			return fmt.Errorf("element %d before the buffer was written (%v)", i+1, g.all[Guard-1-i])
		}
		if math.Float32bits(g.all[Guard+n+i]) != sentinel {
			return fmt.Errorf("element %d past the end of the %d-element buffer was written (%v)", i, n, g.all[Guard+n+i])
		}
	}
	return nil
}

// Input is a guarded buffer that the routine under test must only read: Check
// also verifies that its contents are bit for bit what they were.
type Input struct {
	*Guarded
	orig []float32
}

// NewInput returns a guarded copy of x to pass as a read-only argument.
func NewInput(x []float32) Input {
	return Input{NewGuarded(x), append([]float32(nil), x...)}
}

// Check reports a guard overrun or any change to the input.
func (in Input) Check() error {
	if err := in.Guarded.Check(); err != nil {
		return err
	}
	for i, v := range in.orig {
		if math.Float32bits(in.Data[i]) != math.Float32bits(v) {
			return fmt.Errorf("input element %d changed from %v to %v", i, v, in.Data[i])
		}
	}
	return nil
}

// Checker is anything with a Check method (a Guarded or an Input).
type Checker interface{ Check() error }

// CheckAll returns the first error of the named buffers' checks, prefixed with
// the name (names[i] names bufs[i]).
func CheckAll(names []string, bufs ...Checker) error {
	for i, b := range bufs {
		if err := b.Check(); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return nil
}

// RandVec returns n values uniform in [lo, hi), never zero.
func RandVec(r *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		for x[i] == 0 {
			x[i] = float32(lo + (hi-lo)*r.Float64())
		}
	}
	return x
}

// Gemm64 is the reference product: alpha·op(A)·op(B) + beta·C summed in
// float64, with the same storage conventions as simd.Sgemm (row-major, A is
// [m,lda] or, transposed, [k,lda]; B is [k,ldb] or [n,ldb]; C is [m,ldc]). It
// returns the result densely as want[i*n+j] and, per element, the size
// |alpha|·Σ|op(A)·op(B)| + |beta·C| of the terms summed, for tolerances.
// beta = 0 does not read C, which may then hold NaN.
func Gemm64(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	at := func(i, p int) float64 {
		if transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	bt := func(p, j int) float64 {
		if transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				x := at(i, p) * bt(p, j)
				s += x
				sa += math.Abs(x)
			}
			want[i*n+j] = alpha * s
			mag[i*n+j] = math.Abs(alpha) * sa
			if beta != 0 {
				cv := beta * float64(c[i*ldc+j])
				want[i*n+j] += cv
				mag[i*n+j] += math.Abs(cv)
			}
		}
	}
	return want, mag
}

// Lds returns the tight leading dimensions of A, B and C for a product of
// the given shape and transposes (at least 1, as BLAS wants).
func Lds(transA, transB bool, m, n, k int) (lda, ldb, ldc int) {
	lda, ldb = k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	return max(lda, 1), max(ldb, 1), max(n, 1)
}
