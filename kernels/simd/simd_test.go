package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/kernels/kerneltest"
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

// guardCheck fails the test if a guarded buffer of call was overrun or an
// input changed.
func guardCheck(t *testing.T, call string, bufs map[string]kerneltest.Checker) {
	t.Helper()
	for name, b := range bufs {
		if err := b.Check(); err != nil {
			t.Fatalf("%s: %s: %v", call, name, err)
		}
	}
}

func TestVector(t *testing.T) {
	for _, im := range vecImpls {
		r := newRand(1)
		for _, n := range awkwardLens() {
			name := fmt.Sprintf("%s/n=%d", im.name, n)
			checkReductions(t, name, im, r, n)
			checkUpdates(t, name, im, r, n)
			checkExps(t, name, im, r, n)
		}
	}
}

// checkReductions tests dot and max on guarded inputs.
func checkReductions(t *testing.T, name string, im vecImpl, r *rand.Rand, n int) {
	x := kerneltest.NewInput(randVec(r, n, -2, 2))
	y := kerneltest.NewInput(randVec(r, n, -2, 2))
	in := map[string]kerneltest.Checker{"x": x, "y": y}
	var d, mag, ss float64
	mx := x.Data[0]
	for i, v := range x.Data {
		d += float64(v) * float64(y.Data[i])
		mag += math.Abs(float64(v) * float64(y.Data[i]))
		ss += float64(v) * float64(v)
		mx = max(mx, v)
	}
	if got := im.dot(x.Data, y.Data); !closeTo(got, d, 1e-6*mag) {
		t.Errorf("%s: dot %v, want %v", name, got, d)
	}
	guardCheck(t, name+" dot", in)
	if got := im.dot(x.Data, x.Data); !closeTo(got, ss, 1e-6*ss) {
		t.Errorf("%s: sum of squares %v, want %v", name, got, ss)
	}
	if got := im.max(x.Data); got != mx {
		t.Errorf("%s: max %v, want %v", name, got, mx)
	}
	guardCheck(t, name+" max", in)
}

// checkUpdates tests axpy and scale, which write a guarded output.
func checkUpdates(t *testing.T, name string, im vecImpl, r *rand.Rand, n int) {
	x := kerneltest.NewInput(randVec(r, n, -2, 2))
	y := randVec(r, n, -2, 2)
	alpha := float32(r.Float64() - 0.5)
	yy := kerneltest.NewGuarded(y)
	im.axpy(alpha, x.Data, yy.Data)
	guardCheck(t, name+" axpy", map[string]kerneltest.Checker{"x": x, "y": yy})
	for i, got := range yy.Data {
		want := float64(y[i]) + float64(alpha)*float64(x.Data[i])
		if !closeTo(got, want, 2e-7*(math.Abs(float64(y[i]))+math.Abs(float64(alpha*x.Data[i])))) {
			t.Fatalf("%s: axpy[%d] = %v, want %v", name, i, got, want)
		}
	}
	xx := kerneltest.NewGuarded(x.Data)
	im.scale(alpha, xx.Data)
	guardCheck(t, name+" scale", map[string]kerneltest.Checker{"x": xx})
	for i, got := range xx.Data {
		if want := float64(alpha) * float64(x.Data[i]); !closeTo(got, want, 1e-7*math.Abs(want)) {
			t.Fatalf("%s: scale[%d] = %v, want %v", name, i, got, want)
		}
	}
}

// checkExps tests the exponential family, written out of place into a
// guarded output and in place.
func checkExps(t *testing.T, name string, im vecImpl, r *rand.Rand, n int) {
	e := kerneltest.NewInput(randVec(r, n, -80, 80))
	g := kerneltest.NewInput(randVec(r, n, -12, 12))
	u := kerneltest.NewInput(randVec(r, n, -3, 3))
	out := kerneltest.NewGuarded(make([]float32, n))
	bufs := map[string]kerneltest.Checker{"e": e, "g": g, "u": u, "dst": out}
	type unary struct {
		op   string
		f    func(dst, x []float32)
		x    []float32
		want func(float64) float64
		tol  float64
	}
	for _, c := range []unary{
		{"exp", im.exp, e.Data, math.Exp, 3e-7},
		{"sigmoid", im.sigmoid, g.Data, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, 4e-7},
		{"silu", im.silu, g.Data, func(v float64) float64 { return v / (1 + math.Exp(-v)) }, 4e-7},
	} {
		c.f(out.Data, c.x)
		guardCheck(t, name+" "+c.op, bufs)
		inPlace := kerneltest.NewGuarded(c.x)
		c.f(inPlace.Data, inPlace.Data)
		guardCheck(t, name+" "+c.op+" in place", map[string]kerneltest.Checker{"x": inPlace})
		for i, v := range c.x {
			want := c.want(float64(v))
			if !closeTo(out.Data[i], want, c.tol*math.Abs(want)) || inPlace.Data[i] != out.Data[i] {
				t.Fatalf("%s: %s(%v) = %v (in place %v), want %v", name, c.op, v, out.Data[i], inPlace.Data[i], want)
			}
		}
	}
	inPlace := kerneltest.NewGuarded(u.Data)
	im.swiglu(inPlace.Data, g.Data, inPlace.Data)
	im.swiglu(out.Data, g.Data, u.Data)
	guardCheck(t, name+" swiglu", map[string]kerneltest.Checker{"g": g, "u": u, "dst": out, "up": inPlace})
	for i, gv := range g.Data {
		want := float64(gv) * float64(u.Data[i]) / (1 + math.Exp(-float64(gv)))
		if !closeTo(out.Data[i], want, 5e-7*math.Abs(want)) || inPlace.Data[i] != out.Data[i] {
			t.Fatalf("%s: swiglu(%v, %v) = %v (in place %v), want %v", name, gv, u.Data[i], out.Data[i], inPlace.Data[i], want)
		}
	}
	checkExpSubSums(t, name, im, kerneltest.NewInput(randVec(r, n, -2, 2)), out)
}

// checkExpSubSums tests expSubSums of x (an input) into dst.
func checkExpSubSums(t *testing.T, name string, im vecImpl, x kerneltest.Input, dst *kerneltest.Guarded) {
	m := x.Data[0]
	for _, v := range x.Data {
		m = max(m, v)
	}
	s, w := im.expSubSums(dst.Data, x.Data, m)
	guardCheck(t, name+" expSubSums", map[string]kerneltest.Checker{"x": x, "dst": dst})
	var s64, w64 float64
	for i, v := range x.Data {
		tt := float64(v) - float64(m)
		ev := math.Exp(tt)
		if !closeTo(dst.Data[i], ev, 3e-7*ev) {
			t.Fatalf("%s: expSubSums dst[%d] = %v, want %v", name, i, dst.Data[i], ev)
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
	for _, sp := range gemmSpecs {
		r := newRand(3)
		var ws Workspace // reused across shapes: stale buffers must not matter
		for _, tc := range gemmCases() {
			name := fmt.Sprintf("%s/%v%v/%dx%dx%d/a=%v/b=%v", sp.name, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta)
			checkSgemmCase(t, name, r, &ws, tc, func(ws *Workspace, c []float32, a, b []float32, lda, ldb, ldc, threads int) {
				sgemmWith(ws, sp, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc, threads)
			})
		}
	}
}

// sgemmFunc runs one product of a gemmCase on the given buffers.
type sgemmFunc func(ws *Workspace, c []float32, a, b []float32, lda, ldb, ldc, threads int)

// checkSgemmCase runs f on guarded random operands with 1 to 4 threads (one
// of them without a workspace) and checks the result against Gemm64, the
// guard bands and the padding of C, that A and B are unchanged, and that
// every thread count gives the same bits.
func checkSgemmCase(t *testing.T, name string, r *rand.Rand, ws *Workspace, tc gemmCase, f sgemmFunc) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tc.transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tc.transB {
		br, bc = n, k
	}
	lda, ldb, ldc := max(ac, 1)+tc.pad, max(bc, 1)+tc.pad, max(n, 1)+tc.pad
	a := kerneltest.NewInput(randVec(r, ar*lda, -1, 1))
	b := kerneltest.NewInput(randVec(r, br*ldb, -1, 1))
	c0 := randVec(r, m*ldc, -1, 1)
	want, mag := kerneltest.Gemm64(tc.transA, tc.transB, m, n, k, float64(tc.alpha), a.Data, lda, b.Data, ldb, float64(tc.beta), c0, ldc)
	var first []float32
	for _, threads := range []int{1, 2, 3, 4} {
		cin := append([]float32(nil), c0...)
		if tc.beta == 0 {
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					cin[i*ldc+j] = float32(math.NaN())
				}
			}
		}
		c := kerneltest.NewGuarded(cin)
		wsp := ws
		if threads == 3 {
			wsp = nil // allocating
		}
		f(wsp, c.Data, a.Data, b.Data, lda, ldb, ldc, threads)
		guardCheck(t, fmt.Sprintf("%s threads=%d", name, threads), map[string]kerneltest.Checker{"a": a, "b": b, "c": c})
		for i := 0; i < m; i++ {
			for j := 0; j < ldc; j++ {
				got := c.Data[i*ldc+j]
				if j >= n {
					if math.Float32bits(got) != math.Float32bits(cin[i*ldc+j]) {
						t.Fatalf("%s threads=%d: padding C[%d,%d] written", name, threads, i, j)
					}
					continue
				}
				if w := want[i*n+j]; !closeTo(got, w, 2e-6*(mag[i*n+j]+1e-30)+1e-30) {
					t.Fatalf("%s threads=%d: C[%d,%d] = %v, want %v (terms %v)", name, threads, i, j, got, w, mag[i*n+j])
				}
			}
		}
		if first == nil {
			first = c.Data
			continue
		}
		for i := range first {
			if math.Float32bits(c.Data[i]) != math.Float32bits(first[i]) {
				t.Fatalf("%s: threads=%d differs from threads=1 at %d", name, threads, i)
			}
		}
	}
}

// TestSgemmPublic runs the exported entry points (small, blocked, skinny,
// k = 0, alpha = 0; with and without a workspace) on guarded buffers.
func TestSgemmPublic(t *testing.T) {
	r := newRand(11)
	var ws Workspace
	for _, sz := range [][3]int{{3, 5, 7}, {40, 50, 60}, {2, 300, 100}, {100, 90, 0}, {33, 17, 9}, {8, 128, 128}, {128, 384, 128}} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, alpha := range []float32{1, 0} {
				tc := gemmCase{tr[0], tr[1], sz[0], sz[1], sz[2], alpha, 0.5, 0}
				name := fmt.Sprintf("%v %v alpha=%v", sz, tr, alpha)
				checkSgemmCase(t, name, r, &ws, tc, func(ws *Workspace, c []float32, a, b []float32, lda, ldb, ldc, threads int) {
					if ws == nil {
						Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc, threads)
						return
					}
					ws.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc, threads)
				})
			}
		}
	}
}

// TestPack compares the packing helpers (assembly where available) with
// their Go versions, on guarded buffers.
func TestPack(t *testing.T) {
	r := newRand(13)
	for _, kc := range []int{1, 2, 7, 8, 9, 15, 16, 17, 64, 255, 256} {
		const ld = 300
		src := kerneltest.NewInput(randVec(r, max(kc, 16)*ld+16, -1, 1))
		got, want := kerneltest.NewGuarded(make([]float32, kc*16)), make([]float32, kc*16)
		packRows16(got.Data, src.Data, ld, kc)
		packRows16Go(want, src.Data, ld, kc)
		guardCheck(t, fmt.Sprintf("packRows16 kc=%d", kc), map[string]kerneltest.Checker{"src": src, "dst": got})
		for i := range want {
			if got.Data[i] != want[i] {
				t.Fatalf("packRows16 kc=%d: [%d] = %v, want %v", kc, i, got.Data[i], want[i])
			}
		}
		got = kerneltest.NewGuarded(make([]float32, kc*16))
		packB16T(src.Data, ld, kc, got.Data)
		packB16TGo(src.Data, ld, kc, want)
		guardCheck(t, fmt.Sprintf("packB16T kc=%d", kc), map[string]kerneltest.Checker{"src": src, "dst": got})
		for i := range want {
			if got.Data[i] != want[i] {
				t.Fatalf("packB16T kc=%d: [%d] = %v, want %v", kc, i, got.Data[i], want[i])
			}
		}
		got, want = kerneltest.NewGuarded(make([]float32, kc*6)), want[:kc*6]
		packA6T(got.Data, src.Data, ld, kc, -1.5)
		packA6TGo(want, src.Data, ld, kc, -1.5)
		guardCheck(t, fmt.Sprintf("packA6T kc=%d", kc), map[string]kerneltest.Checker{"src": src, "dst": got})
		for i := range want {
			if got.Data[i] != want[i] {
				t.Fatalf("packA6T kc=%d: [%d] = %v, want %v", kc, i, got.Data[i], want[i])
			}
		}
		got = kerneltest.NewGuarded(make([]float32, kc*6))
		packA6N(got.Data, src.Data, ld, kc, -1.5)
		packA6NGo(want, src.Data, ld, kc, -1.5)
		guardCheck(t, fmt.Sprintf("packA6N kc=%d", kc), map[string]kerneltest.Checker{"src": src, "dst": got})
		for i := range want {
			if got.Data[i] != want[i] {
				t.Fatalf("packA6N kc=%d: [%d] = %v, want %v", kc, i, got.Data[i], want[i])
			}
		}
	}
}

// TestRows checks DotRows, AxpyRows and GerRows: bit for bit against the
// per-row calls they stand for, and against float64.
func TestRows(t *testing.T) {
	r := newRand(17)
	for _, w := range []int{1, 7, 8, 31, 32, 33, 67, 128, 257} {
		for _, rows := range []int{0, 1, 2, 3, 5, 6, 40} {
			ld := w + 3
			a := kerneltest.NewInput(randVec(r, max(rows, 1)*ld, -1, 1))
			x := kerneltest.NewInput(randVec(r, w, -1, 1))
			alpha := kerneltest.NewInput(randVec(r, rows, -1, 1))
			name := fmt.Sprintf("w=%d rows=%d", w, rows)
			checkDotRows(t, name, a, x, rows, ld)
			checkAxpyRows(t, name, r, a, alpha, ld)
			checkGerRows(t, name, a, x, alpha, ld)
		}
	}
}

// checkDotRows tests DotRows bit for bit against Dot, and against float64.
func checkDotRows(t *testing.T, name string, a, x kerneltest.Input, rows, ld int) {
	w := len(x.Data)
	got := kerneltest.NewGuarded(make([]float32, rows))
	DotRows(got.Data, x.Data, a.Data, ld)
	guardCheck(t, name+" DotRows", map[string]kerneltest.Checker{"a": a, "x": x, "dst": got})
	for j, g := range got.Data {
		want := Dot(x.Data, a.Data[j*ld:j*ld+w])
		if math.Float32bits(g) != math.Float32bits(want) {
			t.Fatalf("%s: DotRows[%d] = %v, Dot gives %v", name, j, g, want)
		}
		var d, mag float64
		for e := 0; e < w; e++ {
			d += float64(x.Data[e]) * float64(a.Data[j*ld+e])
			mag += math.Abs(float64(x.Data[e]) * float64(a.Data[j*ld+e]))
		}
		if !closeTo(g, d, 1e-6*mag) {
			t.Fatalf("%s: DotRows[%d] = %v, want %v", name, j, g, d)
		}
	}
}

// checkAxpyRows tests AxpyRows bit for bit against calls of Axpy.
func checkAxpyRows(t *testing.T, name string, r *rand.Rand, a, alpha kerneltest.Input, ld int) {
	y := randVec(r, ld-3, -1, 1)
	y1, y2 := kerneltest.NewGuarded(y), append([]float32(nil), y...)
	AxpyRows(y1.Data, alpha.Data, a.Data, ld)
	guardCheck(t, name+" AxpyRows", map[string]kerneltest.Checker{"a": a, "alpha": alpha, "y": y1})
	for j, s := range alpha.Data {
		Axpy(s, a.Data[j*ld:j*ld+len(y)], y2)
	}
	for e := range y2 {
		if math.Float32bits(y1.Data[e]) != math.Float32bits(y2[e]) {
			t.Fatalf("%s: AxpyRows[%d] = %v, Axpy calls give %v", name, e, y1.Data[e], y2[e])
		}
	}
}

// checkGerRows tests GerRows bit for bit against calls of Axpy, and
// against float64.
func checkGerRows(t *testing.T, name string, a, x, alpha kerneltest.Input, ld int) {
	w := len(x.Data)
	a1, a2 := kerneltest.NewGuarded(a.Data), append([]float32(nil), a.Data...)
	GerRows(a1.Data, ld, alpha.Data, x.Data)
	guardCheck(t, name+" GerRows", map[string]kerneltest.Checker{"x": x, "alpha": alpha, "a": a1})
	for j, s := range alpha.Data {
		Axpy(s, x.Data, a2[j*ld:j*ld+w])
	}
	for i, got := range a1.Data {
		if math.Float32bits(got) != math.Float32bits(a2[i]) {
			t.Fatalf("%s: GerRows[%d] = %v, Axpy calls give %v", name, i, got, a2[i])
		}
		want := float64(a.Data[i])
		if j, e := i/ld, i%ld; j < len(alpha.Data) && e < w {
			want += float64(alpha.Data[j]) * float64(x.Data[e])
		}
		if !closeTo(got, want, 1e-6*(1+math.Abs(want))) {
			t.Fatalf("%s: GerRows[%d] = %v, want %v", name, i, got, want)
		}
	}
}
