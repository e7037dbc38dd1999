package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
)

// newRand returns a deterministic generator for a test.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
}

// randF32 returns n values uniform in [lo, hi), never exactly zero.
func randF32(r *rand.Rand, n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		v := float32(lo + (hi-lo)*r.Float64())
		if v == 0 {
			v = float32(lo+hi)/2 + 1e-3
		}
		out[i] = v
	}
	return out
}

// randIDs returns n ids in [0, limit).
func randIDs(r *rand.Rand, n, limit int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(limit))
	}
	return out
}

// nanF32 returns n NaNs, used to prove that an output is overwritten.
func nanF32(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	return out
}

// f64 widens a float32 slice.
func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// upload allocates a backend buffer holding a copy of x.
func upload(be *Backend, x []float32) kernels.Buffer {
	b := be.Alloc(len(x))
	be.Upload(b, x)
	return b
}

// download copies a buffer's contents out.
func download(be *Backend, b kernels.Buffer) []float32 {
	out := make([]float32, b.Len())
	be.Download(out, b)
	return out
}

func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}

// constF64 is a slice of n copies of v (a uniform magnitude for checkClose).
func constF64(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// checkClose requires |got[i] − want[i]| <= rel·(|want[i]| + mag[i]) for every
// i. mag carries the size of the terms behind a reduction (nil: zero, a purely
// relative check); NaN anywhere fails.
func checkClose(t *testing.T, name string, got []float32, want []float64, rel float64, mag []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	var bad []string
	nbad := 0
	for i := range got {
		tol := rel * math.Abs(want[i])
		if mag != nil {
			tol += rel * mag[i]
		}
		tol = max(tol, 1e-30)
		diff := math.Abs(float64(got[i]) - want[i])
		if !(diff <= tol) {
			nbad++
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("[%d] got %.9g want %.9g (diff %.3g, tol %.3g)", i, got[i], want[i], diff, tol))
			}
		}
	}
	if nbad > 0 {
		t.Errorf("%s: %d of %d values out of tolerance:\n  %s", name, nbad, len(got), strings.Join(bad, "\n  "))
	}
}

// checkBits requires got and want to be bit-identical.
func checkBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	nbad, first := 0, -1
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if first < 0 {
				first = i
			}
			nbad++
		}
	}
	if nbad > 0 {
		t.Errorf("%s: %d of %d values differ; first [%d] got %.9g (%#08x) want %.9g (%#08x)",
			name, nbad, len(got), first, got[first], math.Float32bits(got[first]), want[first], math.Float32bits(want[first]))
	}
}

// fdEps is the central-difference step; the losses are evaluated in float64.
const fdEps = 1e-6

// checkGrad compares an analytic gradient with central finite differences of
// loss with respect to every coordinate of x (loss reads x; x is restored).
// The tolerance is 1e-3 relative, with a floor of 1e-4 of the largest
// component so that cancellation in tiny components does not fail the check.
func checkGrad(t *testing.T, name string, got []float32, x []float64, loss func() float64) {
	t.Helper()
	if len(got) != len(x) {
		t.Fatalf("%s: gradient has %d values, input %d", name, len(got), len(x))
	}
	fd := make([]float64, len(x))
	for i := range x {
		x0 := x[i]
		x[i] = x0 + fdEps
		lp := loss()
		x[i] = x0 - fdEps
		lm := loss()
		x[i] = x0
		fd[i] = (lp - lm) / (2 * fdEps)
	}
	const rel = 1e-3
	floor := 1e-4 * maxAbs(fd)
	var bad []string
	nbad := 0
	for i := range got {
		diff := math.Abs(float64(got[i]) - fd[i])
		tol := max(rel*math.Abs(fd[i])+floor, 1e-12)
		if !(diff <= tol) {
			nbad++
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("[%d] got %.7g, finite difference %.7g", i, got[i], fd[i]))
			}
		}
	}
	if nbad > 0 {
		t.Errorf("%s: %d of %d gradient components disagree with finite differences:\n  %s", name, nbad, len(got), strings.Join(bad, "\n  "))
	}
}

// dot64 is Σ r[i]·y[i], the scalar loss whose gradient the backward ops give.
func dot64(r, y []float64) float64 {
	var s float64
	for i := range r {
		s += r[i] * y[i]
	}
	return s
}

// ropeTables builds cos and sin tables [maxPos, hd/2] for base theta.
func ropeTables(maxPos, hd int, theta float64) (cos, sin []float32) {
	half := hd / 2
	cos = make([]float32, maxPos*half)
	sin = make([]float32, maxPos*half)
	for p := 0; p < maxPos; p++ {
		for j := 0; j < half; j++ {
			ang := float64(p) * math.Pow(theta, -2*float64(j)/float64(hd))
			cos[p*half+j] = float32(math.Cos(ang))
			sin[p*half+j] = float32(math.Sin(ang))
		}
	}
	return cos, sin
}

// startsOf turns segment lengths into cu_seqlens offsets.
func startsOf(lengths ...int) []int32 {
	s := make([]int32, len(lengths)+1)
	for i, l := range lengths {
		s[i+1] = s[i] + int32(l)
	}
	return s
}
