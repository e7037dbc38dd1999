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
