package cpu

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/frontier-rl/frontier/kernels/kerneltest"
	"github.com/frontier-rl/frontier/kernels/simd"
)

// TestGemmBF16: y = x·wᵀ (and y += x·wᵀ) with w in bfloat16, against a
// float64 product of x with the widened w, on both sides of the switch from
// dot products to widened panels and Sgemm; x and y guarded, x unchanged,
// and the same bits with 1 and 3 threads.
func TestGemmBF16(t *testing.T) {
	r := newRand(41)
	for _, tc := range []struct{ m, n, k int }{{1, 70, 33}, {3, 130, 128}, {8, 64, 96}, {5, 1030, 1024}, {9, 150, 40}, {20, 65, 128}} {
		wf := randF32(r, tc.n*tc.k, -1, 1)
		wide := make([]float32, len(wf))
		h := make([]uint16, len(wf))
		simd.ToBF16(h, wf)
		simd.FromBF16(wide, h)
		x0 := randF32(r, tc.m*tc.k, -2, 2)
		y0 := randF32(r, tc.m*tc.n, -1, 1)
		for _, acc := range []bool{false, true} {
			name := fmt.Sprintf("m=%d n=%d k=%d accumulate=%v", tc.m, tc.n, tc.k, acc)
			var beta float64
			if acc {
				beta = 1
			}
			want, mag := kerneltest.Gemm64(false, true, tc.m, tc.n, tc.k, 1, x0, tc.k, wide, tc.k, beta, y0, tc.n)
			var prev []float32
			for _, threads := range []int{1, 3} {
				be := New(threads)
				w := be.ToBF16(upload(be, wf))
				x := kerneltest.NewInput(x0)
				y := kerneltest.NewGuarded(y0)
				be.GemmBF16(tc.m, tc.n, tc.k, Wrap(x.Data), w, acc, Wrap(y.Data))
				checkClose(t, name, y.Data, want, 1e-5, mag)
				if err := kerneltest.CheckAll([]string{"x", "y"}, x, y); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if prev != nil {
					for i := range prev {
						if math.Float32bits(prev[i]) != math.Float32bits(y.Data[i]) {
							t.Errorf("%s: 1 and 3 threads differ at %d", name, i)
							break
						}
					}
				}
				prev = append([]float32(nil), y.Data...)
			}
		}
	}
}

// BenchmarkGemmBF16 is one decode step's output head at Qwen3-0.6B's shape
// (x [1, 1024] times a [151936, 1024] weight): the float32 product (Gemm)
// against the bfloat16 one (GemmBF16), alternating in one loop;
// "bf16/f32" is the median over pairs of the ratio of their times.
func BenchmarkGemmBF16(b *testing.B) {
	const n, k = 151936, 1024
	be := New(0)
	r := newRand(5)
	w := upload(be, randF32(r, n*k, -0.05, 0.05))
	wb := be.ToBF16(w)
	x := upload(be, randF32(r, k, -1, 1))
	y := be.Alloc(n)
	ratios := make([]float64, 0, b.N)
	for range b.N {
		t0 := time.Now()
		be.Gemm(false, true, 1, n, k, 1, x, w, 0, y)
		t1 := time.Now()
		be.GemmBF16(1, n, k, x, wb, false, y)
		ratios = append(ratios, float64(time.Since(t1))/float64(t1.Sub(t0)))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "bf16/f32")
}
