package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// vecImpl is one implementation of the vector routines; the tests run every
// one the processor can execute against float64 references.
type vecImpl struct {
	name       string
	dot        func(x, y []float32) float32
	axpy       func(alpha float32, x, y []float32)
	scale      func(alpha float32, x []float32)
	max        func(x []float32) float32
	exp        func(dst, x []float32)
	sigmoid    func(dst, x []float32)
	silu       func(dst, x []float32)
	swiglu     func(dst, gate, up []float32)
	expSubSums func(dst, x []float32, m float32) (s, w float32)
}

// vecImpls holds the dispatched routines and the pure Go ones; the amd64
// tests add the assembly ones.
var vecImpls = []vecImpl{
	{"dispatch", dot, axpy, scale, maxf, expf, sigmoid, silu, swiglu, expSubSums},
	{"go", dotGo, axpyGo, scaleGo, maxGo, expGo, sigmoidGo, siluGo, swigluGo, expSubSumsGo},
}

// gemmSpecs holds the micro-kernels to test; the amd64 tests add theirs.
var gemmSpecs = []*gemmSpec{&goGemm}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randVec returns n values uniform in [lo, hi), never zero.
func randVec(r *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		for x[i] == 0 {
			x[i] = float32(lo + (hi-lo)*r.Float64())
		}
	}
	return x
}

// awkwardLens are the vector lengths tested: every length up to 67, some
// primes and a few long ones.
func awkwardLens() []int {
	var ls []int
	for n := 1; n <= 67; n++ {
		ls = append(ls, n)
	}
	return append(ls, 97, 127, 131, 251, 257, 1021, 4099)
}

func closeTo(got float32, want, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol
}

func TestVector(t *testing.T) {
	for _, im := range vecImpls {
		r := newRand(1)
		for _, n := range awkwardLens() {
			x := randVec(r, n, -2, 2)
			y := randVec(r, n, -2, 2)
			name := fmt.Sprintf("%s/n=%d", im.name, n)

			var d, mag float64
			for i := range x {
				d += float64(x[i]) * float64(y[i])
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if got := im.dot(x, y); !closeTo(got, d, 1e-6*mag) {
				t.Errorf("%s: dot %v, want %v", name, got, d)
			}
			ss := 0.0
			for _, v := range x {
				ss += float64(v) * float64(v)
			}
			if got := im.dot(x, x); !closeTo(got, ss, 1e-6*ss) {
				t.Errorf("%s: sum of squares %v, want %v", name, got, ss)
			}

			alpha := float32(r.Float64() - 0.5)
			yy := append([]float32(nil), y...)
			im.axpy(alpha, x, yy)
			for i := range yy {
				want := float64(y[i]) + float64(alpha)*float64(x[i])
				if !closeTo(yy[i], want, 2e-7*(math.Abs(float64(y[i]))+math.Abs(float64(alpha*x[i])))) {
					t.Fatalf("%s: axpy[%d] = %v, want %v", name, i, yy[i], want)
				}
			}
			xx := append([]float32(nil), x...)
			im.scale(alpha, xx)
			for i := range xx {
				if want := float64(alpha) * float64(x[i]); !closeTo(xx[i], want, 1e-7*math.Abs(want)) {
					t.Fatalf("%s: scale[%d] = %v, want %v", name, i, xx[i], want)
				}
			}
			mx := x[0]
			for _, v := range x {
				mx = max(mx, v)
			}
			if got := im.max(x); got != mx {
				t.Errorf("%s: max %v, want %v", name, got, mx)
			}

			// Exponentials over a wide range, written in place and not.
			e := randVec(r, n, -80, 80)
			out := make([]float32, n)
			im.exp(out, e)
			for i := range out {
				if want := math.Exp(float64(e[i])); !closeTo(out[i], want, 3e-7*want) {
					t.Fatalf("%s: exp(%v) = %v, want %v", name, e[i], out[i], want)
				}
			}
			g := randVec(r, n, -12, 12)
			u := randVec(r, n, -3, 3)
			im.sigmoid(out, g)
			for i := range out {
				if want := 1 / (1 + math.Exp(-float64(g[i]))); !closeTo(out[i], want, 4e-7*want) {
					t.Fatalf("%s: sigmoid(%v) = %v, want %v", name, g[i], out[i], want)
				}
			}
			im.silu(out, g)
			for i := range out {
				want := float64(g[i]) / (1 + math.Exp(-float64(g[i])))
				if !closeTo(out[i], want, 4e-7*math.Abs(want)) {
					t.Fatalf("%s: silu(%v) = %v, want %v", name, g[i], out[i], want)
				}
			}
			inPlace := append([]float32(nil), u...)
			im.swiglu(inPlace, g, inPlace)
			for i := range inPlace {
				want := float64(g[i]) * float64(u[i]) / (1 + math.Exp(-float64(g[i])))
				if !closeTo(inPlace[i], want, 5e-7*math.Abs(want)) {
					t.Fatalf("%s: swiglu(%v, %v) = %v, want %v", name, g[i], u[i], inPlace[i], want)
				}
			}

			m := mx
			s, w := im.expSubSums(out, x, m)
			var s64, w64 float64
			for i, v := range x {
				tt := float64(v) - float64(m)
				ev := math.Exp(tt)
				if !closeTo(out[i], ev, 3e-7*ev) {
					t.Fatalf("%s: expSubSums dst[%d] = %v, want %v", name, i, out[i], ev)
				}
				s64 += ev
				w64 += ev * tt
			}
			if !closeTo(s, s64, 1e-6*s64) {
				t.Errorf("%s: expSubSums s = %v, want %v", name, s, s64)
			}
			if !closeTo(w, w64, 1e-6*s64*4) {
				t.Errorf("%s: expSubSums w = %v, want %v", name, w, w64)
			}
		}
	}
}

// TestExpEdges checks the clamp and NaN handling of every exponential.
func TestExpEdges(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{-1000, -87.3, 88.3, 1000, nan, 0, 1, -1, 3, 4}
	for _, im := range vecImpls {
		out := make([]float32, len(x))
		im.exp(out, x)
		if out[0] <= 0 || out[0] > 2e-38 || math.IsInf(float64(out[3]), 0) || out[3] < 1e38 {
			t.Errorf("%s: clamped exp: %v", im.name, out)
		}
		if !math.IsNaN(float64(out[4])) {
			t.Errorf("%s: exp(NaN) = %v", im.name, out[4])
		}
		if out[5] != 1 {
			t.Errorf("%s: exp(0) = %v", im.name, out[5])
		}
	}
}

// refGemm is the float64 product with the size of its terms, for tolerances.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var x, y float64
				if transA {
					x = float64(a[p*lda+i])
				} else {
					x = float64(a[i*lda+p])
				}
				if transB {
					y = float64(b[j*ldb+p])
				} else {
					y = float64(b[p*ldb+j])
				}
				s += x * y
				sa += math.Abs(x * y)
			}
			want[i*n+j] = alpha * s
			mag[i*n+j] = math.Abs(alpha) * sa
			if beta != 0 {
				want[i*n+j] += beta * float64(c[i*ldc+j])
				mag[i*n+j] += math.Abs(beta * float64(c[i*ldc+j]))
			}
		}
	}
	return want, mag
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra columns in every leading dimension
}

func gemmCases() []gemmCase {
	r := newRand(7)
	sizes := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 31, 32, 33, 47, 48, 61, 64, 67, 97, 131, 257}
	var cs []gemmCase
	for i := 0; i < 120; i++ {
		cs = append(cs, gemmCase{
			transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
			m: sizes[r.IntN(len(sizes))], n: sizes[r.IntN(len(sizes))], k: sizes[r.IntN(len(sizes))],
			alpha: []float32{1, -0.75, 2}[r.IntN(3)], beta: []float32{0, 1, 0.5}[r.IntN(3)],
			pad: r.IntN(2) * 3,
		})
	}
	// Several k blocks, several mc blocks, several nc blocks, skinny sizes.
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			cs = append(cs,
				gemmCase{ta, tb, 257, 67, 600, 1, 1, 0},
				gemmCase{ta, tb, 211, 41, 257, -0.5, 0, 1},
				gemmCase{ta, tb, 13, 4100, 7, 1, 0.5, 0},
				gemmCase{ta, tb, 7, 300, 513, 1, 1, 2},
				gemmCase{ta, tb, 1, 257, 67, 1, 0, 0},
				gemmCase{ta, tb, 64, 64, 64, 1, 0, 0},
				gemmCase{ta, tb, 300, 2100, 70, 1, 1, 1},
			)
		}
	}
	return cs
}

func TestSgemm(t *testing.T) {
	specs := gemmSpecs
	for _, sp := range specs {
		r := newRand(3)
		var ws Workspace // reused across shapes: stale buffers must not matter
		for _, tc := range gemmCases() {
			name := fmt.Sprintf("%s/%v%v/%dx%dx%d/a=%v/b=%v", sp.name, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta)
			m, n, k := tc.m, tc.n, tc.k
			ar, ac := m, k
			if tc.transA {
				ar, ac = k, m
			}
			br, bc := k, n
			if tc.transB {
				br, bc = n, k
			}
			lda, ldb, ldc := ac+tc.pad, bc+tc.pad, n+tc.pad
			a := randVec(r, ar*lda, -1, 1)
			b := randVec(r, br*ldb, -1, 1)
			c0 := randVec(r, m*ldc, -1, 1)
			want, mag := refGemm(tc.transA, tc.transB, m, n, k, float64(tc.alpha), a, lda, b, ldb, float64(tc.beta), c0, ldc)
			var first []float32
			for _, threads := range []int{1, 2, 3, 4} {
				c := append([]float32(nil), c0...)
				if tc.beta == 0 {
					for i := range c {
						c[i] = float32(math.NaN())
					}
				}
				checkGemm("test", tc.transA, tc.transB, m, n, k, a, lda, b, ldb, c, ldc)
				wsp := &ws
				if threads == 3 {
					wsp = nil // allocating
				}
				sgemmWith(wsp, sp, tc.transA, tc.transB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc, threads)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						got, w := c[i*ldc+j], want[i*n+j]
						if !closeTo(got, w, 2e-6*(mag[i*n+j]+1e-30)+1e-30) {
							t.Fatalf("%s threads=%d: C[%d,%d] = %v, want %v (terms %v)", name, threads, i, j, got, w, mag[i*n+j])
						}
					}
					for j := n; j < ldc; j++ {
						if math.Float32bits(c[i*ldc+j]) != math.Float32bits(c0[i*ldc+j]) && tc.beta != 0 {
							t.Fatalf("%s: padding C[%d,%d] written", name, i, j)
						}
					}
				}
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) && !(tc.beta == 0 && (i%ldc) >= n) {
						t.Fatalf("%s: threads=%d differs from threads=1 at %d", name, threads, i)
					}
				}
			}
		}
	}
}

// TestSgemmPublic runs the exported entry point (small, blocked, skinny,
// k = 0, alpha = 0) against SgemmRef.
func TestSgemmPublic(t *testing.T) {
	r := newRand(11)
	for _, sz := range [][3]int{{3, 5, 7}, {40, 50, 60}, {2, 300, 100}, {100, 90, 0}, {33, 17, 9}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, alpha := range []float32{1, 0} {
				lda, ldb := max(k, 1), n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = max(k, 1)
				}
				a := randVec(r, m*k+1, -1, 1)
				b := randVec(r, k*n+1, -1, 1)
				c := randVec(r, m*n, -1, 1)
				want := append([]float32(nil), c...)
				SgemmRef(tr[0], tr[1], m, n, k, alpha, a, lda, b, ldb, 0.5, want, n, 1)
				Sgemm(tr[0], tr[1], m, n, k, alpha, a, lda, b, ldb, 0.5, c, n, 0)
				for i := range c {
					if !closeTo(c[i], float64(want[i]), 1e-5*(1+math.Abs(float64(want[i])))) {
						t.Fatalf("%v %v alpha=%v: C[%d] = %v, want %v", sz, tr, alpha, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestPack compares the packing helpers (assembly where available) with
// their Go versions.
func TestPack(t *testing.T) {
	r := newRand(13)
	for _, kc := range []int{1, 2, 7, 64, 255, 256} {
		const ld = 300
		src := randVec(r, max(kc, 6)*ld+kc+16, -1, 1)
		got, want := make([]float32, kc*16), make([]float32, kc*16)
		packRows16(got, src, ld, kc)
		packRows16Go(want, src, ld, kc)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("packRows16 kc=%d: [%d] = %v, want %v", kc, i, got[i], want[i])
			}
		}
		got, want = got[:kc*6], want[:kc*6]
		packA6N(got, src, ld, kc, -1.5)
		packA6NGo(want, src, ld, kc, -1.5)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("packA6N kc=%d: [%d] = %v, want %v", kc, i, got[i], want[i])
			}
		}
	}
}

// TestRows checks DotRows, AxpyRows and GerRows: bit for bit against the
// per-row calls they stand for, and against float64.
func TestRows(t *testing.T) {
	r := newRand(17)
	for _, w := range []int{1, 7, 8, 31, 32, 33, 67, 128, 257} {
		for _, rows := range []int{0, 1, 5, 40} {
			ld := w + 3
			a := randVec(r, max(rows, 1)*ld, -1, 1)
			x := randVec(r, w, -1, 1)
			alpha := randVec(r, rows, -1, 1)
			name := fmt.Sprintf("w=%d rows=%d", w, rows)

			got := make([]float32, rows)
			DotRows(got, x, a, ld)
			for j := range got {
				want := Dot(x, a[j*ld:j*ld+w])
				if math.Float32bits(got[j]) != math.Float32bits(want) {
					t.Fatalf("%s: DotRows[%d] = %v, Dot gives %v", name, j, got[j], want)
				}
				var d, mag float64
				for e := 0; e < w; e++ {
					d += float64(x[e]) * float64(a[j*ld+e])
					mag += math.Abs(float64(x[e]) * float64(a[j*ld+e]))
				}
				if !closeTo(got[j], d, 1e-6*mag) {
					t.Fatalf("%s: DotRows[%d] = %v, want %v", name, j, got[j], d)
				}
			}

			y := randVec(r, w, -1, 1)
			y1, y2 := append([]float32(nil), y...), append([]float32(nil), y...)
			AxpyRows(y1, alpha, a, ld)
			for j, s := range alpha {
				Axpy(s, a[j*ld:j*ld+w], y2)
			}
			for e := range y1 {
				if math.Float32bits(y1[e]) != math.Float32bits(y2[e]) {
					t.Fatalf("%s: AxpyRows[%d] = %v, Axpy calls give %v", name, e, y1[e], y2[e])
				}
			}

			a1, a2 := append([]float32(nil), a...), append([]float32(nil), a...)
			GerRows(a1, ld, alpha, x)
			for j, s := range alpha {
				Axpy(s, x, a2[j*ld:j*ld+w])
			}
			for i := range a1 {
				if math.Float32bits(a1[i]) != math.Float32bits(a2[i]) {
					t.Fatalf("%s: GerRows[%d] = %v, Axpy calls give %v", name, i, a1[i], a2[i])
				}
				want := float64(a[i])
				if j, e := i/ld, i%ld; j < rows && e < w {
					want += float64(alpha[j]) * float64(x[e])
				}
				if !closeTo(a1[i], want, 1e-6*(1+math.Abs(want))) {
					t.Fatalf("%s: GerRows[%d] = %v, want %v", name, i, a1[i], want)
				}
			}
		}
	}
}
