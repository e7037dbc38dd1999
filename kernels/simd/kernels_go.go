package simd

import (
	"math"
	"unsafe"
)

// This file holds the pure Go versions of every routine. They are what
// noasm builds and processors without AVX2+FMA run, and the asm tests
// compare against them where the results must agree exactly.

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sumSquaresGo(x []float32) float32 { return dotGo(x, x) }

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// Constants of the exponential: ln2 split in a part with few bits (so
// n*ln2Hi is exact) and the rest, and the Cephes polynomial for e^r on
// |r| <= ln2/2.
const (
	log2e = 1.44269504088896341
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	expP0 = 1.9875691500e-4
	expP1 = 1.3981999507e-3
	expP2 = 8.3334519073e-3
	expP3 = 4.1665795894e-2
	expP4 = 1.6666665459e-1
	expP5 = 5.0000001201e-1
)

// exp1 is the scalar exponential: clamp, x = n*ln2 + r, e^r by polynomial,
// then scale by 2^n through the exponent bits.
func exp1(x float32) float32 {
	if x > ExpMax {
		x = ExpMax
	}
	if x < ExpMin {
		x = ExpMin
	}
	if x != x {
		return x
	}
	n := float32(math.RoundToEven(float64(x * log2e)))
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*(r*r) + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

func expGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = exp1(v)
	}
}

func siluGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v / (1 + exp1(-v))
	}
}

// sgemmKernel4x4Go is the Go micro-kernel, with the contract of the
// assembly ones (see gemmSpec): for i < 4, j < 4,
//
//	s := sum over p < k of a[p*4+i]*b[p*4+j]
//	c[i*ldc+j] = s, or beta*c[i*ldc+j] + s when beta != 0.
func sgemmKernel4x4Go(k int, a, b, c *float32, ldc int, beta float32) {
	as := unsafe.Slice(a, 4*k)
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		av := as[4*p : 4*p+4 : 4*p+4]
		bv := bs[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	store := func(r []float32, s0, s1, s2, s3 float32) {
		r = r[:4:4]
		if beta == 0 {
			r[0], r[1], r[2], r[3] = s0, s1, s2, s3
			return
		}
		r[0] = beta*r[0] + s0
		r[1] = beta*r[1] + s1
		r[2] = beta*r[2] + s2
		r[3] = beta*r[3] + s3
	}
	store(cs[0:], c00, c01, c02, c03)
	store(cs[ldc:], c10, c11, c12, c13)
	store(cs[2*ldc:], c20, c21, c22, c23)
	store(cs[3*ldc:], c30, c31, c32, c33)
}

func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func sigmoidGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = 1 / (1 + exp1(-v))
	}
}

func swigluGo(dst, gate, up []float32) {
	dst, up = dst[:len(gate)], up[:len(gate)]
	for i, g := range gate {
		dst[i] = g * up[i] / (1 + exp1(-g))
	}
}

// expSubSumsGo sums in 8 interleaved partial sums, like the assembly, then
// adds them in the same fixed order.
func expSubSumsGo(dst, x []float32, m float32) (s, w float32) {
	dst = dst[:len(x)]
	var ps, pw [8]float32
	n := len(x) &^ 7
	for i := 0; i < n; i++ {
		t := x[i] - m
		e := exp1(t)
		dst[i] = e
		ps[i&7] += e
		pw[i&7] += e * t
	}
	s = ((ps[0] + ps[4]) + (ps[2] + ps[6])) + ((ps[1] + ps[5]) + (ps[3] + ps[7]))
	w = ((pw[0] + pw[4]) + (pw[2] + pw[6])) + ((pw[1] + pw[5]) + (pw[3] + pw[7]))
	for i := n; i < len(x); i++ {
		t := x[i] - m
		e := exp1(t)
		dst[i] = e
		s += e
		w += e * t
	}
	return s, w
}

// goGemm is the pure Go micro-kernel with a blocking that suits it.
var goGemm = gemmSpec{
	name: "go-4x4",
	mr:   4, nr: 4,
	mc: 128, kc: 256, nc: 1024,
	kernel: sgemmKernel4x4Go,
}

func dotRowsGo(dst, x, a []float32, ld int) {
	for j := range dst {
		dst[j] = dotGo(x, a[j*ld:j*ld+len(x)])
	}
}

func axpyRowsGo(y, alpha, a []float32, ld int) {
	for j, s := range alpha {
		axpyGo(s, a[j*ld:j*ld+len(y)], y)
	}
}

func gerRowsGo(a []float32, ld int, alpha, x []float32) {
	for j, s := range alpha {
		axpyGo(s, x, a[j*ld:j*ld+len(x)])
	}
}

// The exact element-wise routines (see simd.go): the expressions of the CPU
// backend's ops, which the assembly reproduces bit for bit.

func adamWGo(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi := g[i]
		m[i] = beta1*m[i] + (1-beta1)*gi
		v[i] = beta2*v[i] + (1-beta2)*gi*gi
		mh := m[i] / bc1
		vh := v[i] / bc2
		p[i] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+eps) + wd*p[i])
	}
}

func scaleMulRowsGo(dst, x, w, s []float32) { scaleMulRowsFrom(dst, x, w, s, 0) }

// scaleMulRowsFrom is scaleMulRowsGo on the columns j >= from.
func scaleMulRowsFrom(dst, x, w, s []float32, from int) {
	d := len(w)
	for r, sr := range s {
		xr, or := x[r*d:(r+1)*d], dst[r*d:(r+1)*d]
		for j := from; j < d; j++ {
			or[j] = w[j] * (xr[j] * sr)
		}
	}
}

func rmsNormGradRowsGo(dx, dwPart, x, w, dout, rs, m []float32) {
	rmsNormGradRowsFrom(dx, dwPart, x, w, dout, rs, m, 0)
}

// rmsNormGradRowsFrom is rmsNormGradRowsGo on the columns j >= from.
func rmsNormGradRowsFrom(dx, dwPart, x, w, dout, rs, m []float32, from int) {
	d := len(w)
	dwPart = dwPart[:d]
	for r := range rs {
		xr, dxr, dor := x[r*d:(r+1)*d], dx[r*d:(r+1)*d], dout[r*d:(r+1)*d]
		for j := from; j < d; j++ {
			n := xr[j] * rs[r]
			dxr[j] += rs[r] * (w[j]*dor[j] - n*m[r])
			dwPart[j] += dor[j] * n
		}
	}
}

// rmsNormDotGo returns s plus the terms of RMSNormDot, added one by one.
func rmsNormDotGo(s float64, x, w, dout []float32, rs float32) float64 {
	w, dout = w[:len(x)], dout[:len(x)]
	for i := range x {
		s += float64(w[i]*dout[i]) * float64(x[i]*rs)
	}
	return s
}

func rmsNormDotsGo(dots []float64, x, w, dout, rs []float32) {
	d := len(w)
	for r := range dots {
		dots[r] = rmsNormDotGo(0, x[r*d:(r+1)*d], w, dout[r*d:(r+1)*d], rs[r])
	}
}

func addGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += v
	}
}

func swigluBackwardGo(dgate, dup, dout, gate, up []float32) {
	n := len(gate)
	dgate, dup, dout, up = dgate[:n], dup[:n], dout[:n], up[:n]
	for i, g := range gate {
		sg := 1 / (1 + exp1(-g)) // sigmoidGo's expression
		dup[i] = dout[i] * g * sg
		dgate[i] = dout[i] * up[i] * sg * (1 + g*(1-sg))
	}
}

func rotateHalvesGo(x, cos, sin []float32, sign float32) {
	rotateHalvesFrom(x, cos, sin, sign, 0)
}

// rotateHalvesFrom is rotateHalvesGo on the pairs j >= from of each block.
func rotateHalvesFrom(x, cos, sin []float32, sign float32, from int) {
	h := len(cos)
	sin = sin[:h]
	for b := 0; b+2*h <= len(x); b += 2 * h {
		v := x[b : b+2*h]
		for j := from; j < h; j++ {
			a, bb := v[j], v[j+h]
			v[j] = a*cos[j] - sign*bb*sin[j]
			v[j+h] = bb*cos[j] + sign*a*sin[j]
		}
	}
}
