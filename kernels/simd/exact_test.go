package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/kernels/kerneltest"
)

// exactImpl is one implementation of the exact element-wise routines; the
// tests require, bit for bit, the results of the Go expressions they stand
// for (the loops of the CPU backend's ops, written out again below).
type exactImpl struct {
	name            string
	sigmoid         func(dst, x []float32) // the sigmoid whose bits swigluBackward has
	adamW           func(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32)
	scaleMulRows    func(dst, x, w, s []float32)
	rmsNormDots     func(dots []float64, x, w, dout, rs []float32)
	rmsNormGradRows func(dx, dwPart, x, w, dout, rs, m []float32)
	add             func(y, x []float32)
	swigluBackward  func(dgate, dup, dout, gate, up []float32)
	rotateHalves    func(x, cos, sin []float32, sign float32)
}

// exactImpls holds the exported (dispatched) routines and the pure Go ones.
var exactImpls = []exactImpl{
	{"dispatch", Sigmoid, AdamWUpdate, ScaleMulRows, RMSNormDots, RMSNormGradRows, Add, SwiGLUBackward, RotateHalves},
	{"go", sigmoidGo, adamWGo, scaleMulRowsGo, rmsNormDotsGo, rmsNormGradRowsGo, addGo, swigluBackwardGo, rotateHalvesGo},
}

// The references: the CPU backend's loops as they were written before these
// routines existed.

func refAdamW(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	for i := range p {
		gi := g[i]
		m[i] = beta1*m[i] + (1-beta1)*gi
		v[i] = beta2*v[i] + (1-beta2)*gi*gi
		mh := m[i] / bc1
		vh := v[i] / bc2
		p[i] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+eps) + wd*p[i])
	}
}

func refScaleMul(or, xr, w []float32, rs float32) {
	for j, v := range xr {
		or[j] = w[j] * (v * rs)
	}
}

func refRMSNormDot(xr, w, dor []float32, rs float32) float64 {
	var dot float64
	for j := range xr {
		dot += float64(w[j]*dor[j]) * float64(xr[j]*rs)
	}
	return dot
}

func refRMSNormGradRow(dxr, part, xr, w, dor []float32, rs, m float32) {
	for j := range xr {
		n := xr[j] * rs
		dxr[j] += rs * (w[j]*dor[j] - n*m)
		part[j] += dor[j] * n
	}
}

func refAdd(dw, part []float32) {
	for j := range part {
		dw[j] += part[j]
	}
}

func refSwiGLUBackward(sigmoid func(dst, x []float32), dgate, dup, dout, gate, up []float32) {
	s := make([]float32, len(gate))
	sigmoid(s, gate)
	for i := range gate {
		g, sg := gate[i], s[i]
		dup[i] = dout[i] * g * sg
		dgate[i] = dout[i] * up[i] * sg * (1 + g*(1-sg))
	}
}

func refRotateHalves(x, cr, sr []float32, sign float32) {
	half := len(cr)
	for h := 0; h < len(x)/(2*half); h++ {
		v := x[h*2*half : (h+1)*2*half]
		for j := 0; j < half; j++ {
			a, b := v[j], v[j+half]
			v[j] = a*cr[j] - sign*b*sr[j]
			v[j+half] = b*cr[j] + sign*a*sr[j]
		}
	}
}

// shifted is a guarded buffer whose data starts off elements past the
// guard band (so that vectors are loaded and stored unaligned); Check also
// requires those off elements, and for an input the data, to be unchanged.
type shifted struct {
	g     *kerneltest.Guarded
	off   int
	orig  []float32
	input bool
	Data  []float32
}

func newShifted(x []float32, off int, input bool) *shifted {
	all := make([]float32, off, off+len(x))
	for i := range all {
		all[i] = -1.75 - float32(i)
	}
	all = append(all, x...)
	g := kerneltest.NewGuarded(all)
	return &shifted{g, off, all, input, g.Data[off:]}
}

func (s *shifted) Check() error {
	if err := s.g.Check(); err != nil {
		return err
	}
	n := s.off
	if s.input {
		n = len(s.orig)
	}
	for i, v := range s.orig[:n] {
		if math.Float32bits(s.g.Data[i]) != math.Float32bits(v) {
			if i < s.off {
				return fmt.Errorf("element %d of the %d before the data was written", i, s.off)
			}
			return fmt.Errorf("input element %d changed from %v to %v", i-s.off, v, s.g.Data[i])
		}
	}
	return nil
}

// checkSame requires got and want to be bit-identical.
func checkSame(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v (%#08x), want %v (%#08x)", name, i,
				got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

// exactLens are the lengths tested: every length up to 70 and a few long
// ones.
func exactLens() []int {
	var ls []int
	for n := 0; n <= 70; n++ {
		ls = append(ls, n)
	}
	return append(ls, 127, 1021, 4099, 65543)
}

func TestExact(t *testing.T) {
	for _, im := range exactImpls {
		r := newRand(31)
		for _, n := range exactLens() {
			for _, off := range []int{0, 1, 3} {
				name := fmt.Sprintf("%s/n=%d/off=%d", im.name, n, off)
				checkAdamW(t, name, im, r, n, off)
				checkScaleMulRows(t, name, im, r, n, off)
				checkRMSNormDots(t, name, im, r, n, off)
				checkRMSNormGradRows(t, name, im, r, n, off)
				checkAdd(t, name, im, r, n, off)
				checkSwiGLUBackward(t, name, im, r, n, off)
			}
		}
	}
}

func checkAdamW(t *testing.T, name string, im exactImpl, r *rand.Rand, n, off int) {
	p, g := randVec(r, n, -1, 1), randVec(r, n, -1, 1)
	m, v := randVec(r, n, -0.1, 0.1), randVec(r, n, 1e-7, 1e-2)
	lr := float32(1e-4 + 1e-2*r.Float64())
	beta1, beta2 := float32(0.8+0.15*r.Float64()), float32(0.9+0.099*r.Float64())
	eps, wd := float32(1e-8), float32(0.2*r.Float64())
	step := 1 + r.IntN(50)
	bc1 := float32(1 - math.Pow(float64(beta1), float64(step)))
	bc2 := float32(1 - math.Pow(float64(beta2), float64(step)))
	wp, wm, wv := clone(p), clone(m), clone(v)
	refAdamW(wp, g, wm, wv, lr, beta1, beta2, eps, wd, bc1, bc2)
	P, G, M, V := newShifted(p, off, false), newShifted(g, off, true), newShifted(m, off, false), newShifted(v, off, false)
	im.adamW(P.Data, G.Data, M.Data, V.Data, lr, beta1, beta2, eps, wd, bc1, bc2)
	guardCheck(t, name+" adamW", map[string]kerneltest.Checker{"p": P, "g": G, "m": M, "v": V})
	checkSame(t, name+" adamW p", P.Data, wp)
	checkSame(t, name+" adamW m", M.Data, wm)
	checkSame(t, name+" adamW v", V.Data, wv)
}

// checkScaleMulRows takes rows of n columns, 1 to 5 of them, out of place
// and in place.
func checkScaleMulRows(t *testing.T, name string, im exactImpl, r *rand.Rand, n, off int) {
	rows := 1 + (n+off)%5
	x, w, s := randVec(r, rows*n, -3, 3), randVec(r, n, -1.5, 1.5), randVec(r, rows, 0.1, 4.1)
	want := make([]float32, rows*n)
	for k, sk := range s {
		refScaleMul(want[k*n:(k+1)*n], x[k*n:(k+1)*n], w, sk)
	}
	name = fmt.Sprintf("%s rows=%d scaleMulRows", name, rows)
	X, W, S := newShifted(x, off, true), newShifted(w, off, true), newShifted(s, (off+3)%4, true)
	D := newShifted(randVec(r, rows*n, -1, 1), (off+1)%4, false)
	im.scaleMulRows(D.Data, X.Data, W.Data, S.Data)
	guardCheck(t, name, map[string]kerneltest.Checker{"x": X, "w": W, "s": S, "dst": D})
	checkSame(t, name, D.Data, want)
	X = newShifted(x, off, false)
	im.scaleMulRows(X.Data, X.Data, W.Data, S.Data)
	guardCheck(t, name+" in place", map[string]kerneltest.Checker{"x": X, "w": W, "s": S})
	checkSame(t, name+" in place", X.Data, want)
}

// checkRMSNormDots takes rows of n columns, 1 to 9 of them (so that the
// four-row groups leave every remainder), fewer of the long ones.
func checkRMSNormDots(t *testing.T, name string, im exactImpl, r *rand.Rand, n, off int) {
	rows := 1 + (n+off)%9
	if n > 1000 {
		rows = 5
	}
	x, w, dout := randVec(r, rows*n, -2, 2), randVec(r, n, 0.5, 1.5), randVec(r, rows*n, -1, 1)
	rs := randVec(r, rows, 0.2, 2.2)
	X, W, DO, RS := newShifted(x, off, true), newShifted(w, (off+1)%4, true), newShifted(dout, (off+2)%4, true), newShifted(rs, off, true)
	dots := make([]float64, rows+2*4)
	for i := range dots {
		dots[i] = -3.25 // guards
	}
	im.rmsNormDots(dots[4:4+rows], X.Data, W.Data, DO.Data, RS.Data)
	guardCheck(t, name+" rmsNormDots", map[string]kerneltest.Checker{"x": X, "w": W, "dout": DO, "rs": RS})
	name = fmt.Sprintf("%s rows=%d rmsNormDots", name, rows)
	for i, got := range dots {
		want := -3.25
		if k := i - 4; k >= 0 && k < rows {
			want = refRMSNormDot(x[k*n:(k+1)*n], w, dout[k*n:(k+1)*n], rs[k])
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: [%d] = %v (%#016x), want %v (%#016x)", name, i-4, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// checkRMSNormGradRows takes rows of n columns, 1 to 5 of them.
func checkRMSNormGradRows(t *testing.T, name string, im exactImpl, r *rand.Rand, n, off int) {
	rows := 1 + (n+off)%5
	x, w, dout := randVec(r, rows*n, -2, 2), randVec(r, n, 0.5, 1.5), randVec(r, rows*n, -1, 1)
	dx, part := randVec(r, rows*n, -1, 1), randVec(r, n, -1, 1)
	rs, m := randVec(r, rows, 0.2, 2.2), randVec(r, rows, -0.5, 0.5)
	wdx, wpart := clone(dx), clone(part)
	for k := range rows {
		refRMSNormGradRow(wdx[k*n:(k+1)*n], wpart, x[k*n:(k+1)*n], w, dout[k*n:(k+1)*n], rs[k], m[k])
	}
	X, W, DO := newShifted(x, off, true), newShifted(w, 0, true), newShifted(dout, (off+2)%4, true)
	RS, M := newShifted(rs, (off+1)%4, true), newShifted(m, off, true)
	DX, PART := newShifted(dx, off, false), newShifted(part, (off+1)%4, false)
	im.rmsNormGradRows(DX.Data, PART.Data, X.Data, W.Data, DO.Data, RS.Data, M.Data)
	guardCheck(t, name+" rmsNormGradRows", map[string]kerneltest.Checker{"x": X, "w": W, "dout": DO, "rs": RS, "m": M, "dx": DX, "dwPart": PART})
	name = fmt.Sprintf("%s rows=%d rmsNormGradRows", name, rows)
	checkSame(t, name+" dx", DX.Data, wdx)
	checkSame(t, name+" dwPart", PART.Data, wpart)
}

func checkAdd(t *testing.T, name string, im exactImpl, r *rand.Rand, n, off int) {
	x, y := randVec(r, n, -1, 1), randVec(r, n, -4, 4)
	want := clone(y)
	refAdd(want, x)
	X, Y := newShifted(x, off, true), newShifted(y, (off+1)%4, false)
	im.add(Y.Data, X.Data)
	guardCheck(t, name+" add", map[string]kerneltest.Checker{"x": X, "y": Y})
	checkSame(t, name+" add", Y.Data, want)
}

func checkSwiGLUBackward(t *testing.T, name string, im exactImpl, r *rand.Rand, n, off int) {
	g, u, dout := randVec(r, n, -12, 12), randVec(r, n, -3, 3), randVec(r, n, -1, 1)
	wdg, wdu := make([]float32, n), make([]float32, n)
	refSwiGLUBackward(im.sigmoid, wdg, wdu, dout, g, u)
	G, U, DO := newShifted(g, off, true), newShifted(u, (off+1)%4, true), newShifted(dout, (off+2)%4, true)
	DG, DU := newShifted(randVec(r, n, -1, 1), (off+3)%4, false), newShifted(randVec(r, n, -1, 1), off, false)
	im.swigluBackward(DG.Data, DU.Data, DO.Data, G.Data, U.Data)
	guardCheck(t, name+" swigluBackward", map[string]kerneltest.Checker{"gate": G, "up": U, "dout": DO, "dgate": DG, "dup": DU})
	checkSame(t, name+" swigluBackward dgate", DG.Data, wdg)
	checkSame(t, name+" swigluBackward dup", DU.Data, wdu)
}

// TestRotateHalves covers every half width up to 35 and the usual head
// sizes, with one to several blocks and both signs.
func TestRotateHalves(t *testing.T) {
	for _, im := range exactImpls {
		r := newRand(37)
		var hs []int
		for h := 1; h <= 35; h++ {
			hs = append(hs, h)
		}
		for _, h := range append(hs, 48, 64, 67) {
			for _, blocks := range []int{1, 2, 5, 12} {
				for _, sign := range []float32{1, -1} {
					off := (h + blocks) % 4
					name := fmt.Sprintf("%s/h=%d/blocks=%d/sign=%v/off=%d", im.name, h, blocks, sign, off)
					x, c, s := randVec(r, 2*h*blocks, -2, 2), randVec(r, h, -1, 1), randVec(r, h, -1, 1)
					want := clone(x)
					refRotateHalves(want, c, s, sign)
					X, C, S := newShifted(x, off, false), newShifted(c, (off+1)%4, true), newShifted(s, (off+2)%4, true)
					im.rotateHalves(X.Data, C.Data, S.Data, sign)
					guardCheck(t, name, map[string]kerneltest.Checker{"x": X, "cos": C, "sin": S})
					checkSame(t, name, X.Data, want)
				}
			}
		}
	}
}
