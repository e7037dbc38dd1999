package simd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/kernels/kerneltest"
)

// bf16Impls are the DotBF16 routines this machine can run.
func bf16Impls() map[string]func([]uint16, []float32) float32 {
	m := map[string]func([]uint16, []float32) float32{"go": dotBF16Go}
	if useAVX2 {
		m["avx2"] = dotBF16
	}
	return m
}

// widen is the float32 of a bfloat16.
func widen(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// TestToBF16: each conversion is the nearer of the two bfloat16 values
// around the input (the truncation and the next one up in magnitude), ties
// to the even one; NaN stays NaN, and widening back is exact.
func TestToBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src := kerneltest.RandVec(r, 4096, -50, 50)
	src = append(src, 1, -2, 0.1, 3.0e38, float32(math.Inf(1)), float32(math.NaN()),
		math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000)) // two ties
	dst := make([]uint16, len(src))
	ToBF16(dst, src)
	for i, f := range src {
		got := widen(dst[i])
		if f != f {
			if got == got {
				t.Errorf("NaN became %v", got)
			}
			continue
		}
		lo := math.Float32frombits(math.Float32bits(f) &^ 0xffff)
		hi := math.Float32frombits(math.Float32bits(lo) + 0x10000)
		dl, dh := math.Abs(float64(f)-float64(lo)), math.Abs(float64(hi)-float64(f))
		want := lo
		if dh < dl || (dh == dl && (math.Float32bits(lo)>>16)&1 == 1) {
			want = hi
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("ToBF16(%v) = %v, want %v", f, got, want)
		}
		back := make([]float32, 1)
		FromBF16(back, dst[i:i+1])
		if math.Float32bits(back[0]) != math.Float32bits(got) {
			t.Errorf("FromBF16 of %#04x = %v, want %v", dst[i], back[0], got)
		}
	}
}

// TestDotBF16: every routine against a float64 reference on fresh random
// inputs of every length from 0 to 70 and a few long ones, on guarded
// buffers (the bfloat16 slice with its own sentinel bands), inputs checked
// unchanged.
func TestDotBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lens := []int{1000, 1024, 3072, 4099}
	for n := 0; n <= 70; n++ {
		lens = append(lens, n)
	}
	for name, dot := range bf16Impls() {
		for _, n := range lens {
			wf := kerneltest.RandVec(r, n, -1, 1)
			const g = kerneltest.Guard
			band := make([]uint16, n+2*g)
			for i := range band {
				band[i] = 0xbeef
			}
			w := band[g : g+n : g+n]
			ToBF16(w, wf)
			orig := append([]uint16(nil), w...)
			x := kerneltest.NewInput(kerneltest.RandVec(r, n, -2, 2))
			got := dot(w, x.Data)
			var want, mag float64
			for i := range w {
				p := float64(widen(w[i])) * float64(x.Data[i])
				want += p
				mag += math.Abs(p)
			}
			if math.Abs(float64(got)-want) > 1e-6*mag+1e-30 {
				t.Errorf("%s n=%d: got %v, want %v (mag %v)", name, n, got, want, mag)
			}
			if err := x.Check(); err != nil {
				t.Errorf("%s n=%d: x: %v", name, n, err)
			}
			for i := range band {
				inside := i >= g && i < g+n
				if !inside && band[i] != 0xbeef || inside && band[i] != orig[i-g] {
					t.Errorf("%s n=%d: the bfloat16 buffer or its guard changed at %d", name, n, i-g)
					break
				}
			}
		}
	}
}

// TestDotRowsBF16: DotRowsBF16 bit for bit against one DotBF16 per row,
// over row counts around the three-stream split and widths with every
// tail, on a guarded bfloat16 matrix (rows ld apart) and a guarded x; dst's
// guard bands and the inputs checked unchanged.
func TestDotRowsBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const g = kerneltest.Guard
	for _, w := range []int{0, 1, 7, 8, 31, 32, 33, 67, 257, 1024} {
		for _, rows := range []int{0, 1, 2, 3, 4, 5, 6, 40, 96} {
			ld := w + 5
			n := max(rows, 1) * ld
			band := make([]uint16, n+2*g)
			for i := range band {
				band[i] = 0xbeef
			}
			m := band[g : g+n : g+n]
			ToBF16(m, kerneltest.RandVec(r, n, -1, 1))
			orig := append([]uint16(nil), m...)
			x := kerneltest.NewInput(kerneltest.RandVec(r, w, -2, 2))
			dst := kerneltest.NewGuarded(kerneltest.RandVec(r, rows, -1, 1))
			DotRowsBF16(dst.Data, m, ld, x.Data)
			for j, got := range dst.Data {
				want := DotBF16(m[j*ld:j*ld+w], x.Data)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("w=%d rows=%d: row %d = %v, DotBF16 gives %v", w, rows, j, got, want)
				}
			}
			if err := x.Check(); err != nil {
				t.Errorf("w=%d rows=%d: x: %v", w, rows, err)
			}
			if err := dst.Check(); err != nil {
				t.Errorf("w=%d rows=%d: dst: %v", w, rows, err)
			}
			for i := range band {
				inside := i >= g && i < g+n
				if !inside && band[i] != 0xbeef || inside && band[i] != orig[i-g] {
					t.Fatalf("w=%d rows=%d: the bfloat16 matrix or its guard changed at %d", w, rows, i-g)
				}
			}
		}
	}
}
