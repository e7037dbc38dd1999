//go:build !noasm

package simd

// The assembly routines (sgemm_amd64.s, vec_amd64.s). They need AVX2 and FMA;
// dispatch_amd64.go calls them only when the processor has both.

// sgemmKernel6x16 is the AVX2 micro-kernel. With a a packed 6×k panel
// (a[p*6+i] = A(i,p)) and b a packed k×16 panel (b[p*16+j] = B(p,j)), for
// i < 6 and j < 16 it computes
//
//	var s float32
//	for p := 0; p < k; p++ {
//		s += a[p*6+i] * b[p*16+j] // fused multiply-add
//	}
//	if beta == 0 {
//		c[i*ldc+j] = s
//	} else {
//		c[i*ldc+j] = beta*c[i*ldc+j] + s // fused multiply-add
//	}
//
//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, beta float32)

// dotAVX2 returns Σ x[i]*y[i] (len(y) >= len(x)), summed exactly as
//
//	var acc [4][8]float32
//	i := 0
//	for ; i+32 <= len(x); i += 32 {
//		for q := 0; q < 4; q++ {
//			for l := 0; l < 8; l++ {
//				acc[q][l] += x[i+8*q+l] * y[i+8*q+l] // fused multiply-add
//			}
//		}
//	}
//	for ; i+8 <= len(x); i += 8 {
//		for l := 0; l < 8; l++ {
//			acc[0][l] += x[i+l] * y[i+l] // fused multiply-add
//		}
//	}
//	var v [8]float32
//	for l := range v {
//		v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
//	}
//	s := ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))
//	for ; i < len(x); i++ {
//		s += x[i] * y[i] // fused multiply-add
//	}
//	return s
//
//go:noescape
func dotAVX2(x, y []float32) float32

// axpyAVX2 computes
//
//	for i, v := range x {
//		y[i] += alpha * v // fused multiply-add
//	}
//
//go:noescape
func axpyAVX2(alpha float32, x, y []float32)

// scaleAVX2 computes
//
//	for i := range x {
//		x[i] *= alpha
//	}
//
//go:noescape
func scaleAVX2(alpha float32, x []float32)

// maxAVX2 returns the largest element of x (NaNs are not propagated):
//
//	m := x[0]
//	for _, v := range x {
//		m = max(m, v)
//	}
//
// len(x) must be a positive multiple of 8.
//
//go:noescape
func maxAVX2(x []float32) float32

// expAVX2 computes, with the clamped polynomial exponential of exp1 (fused
// multiply-adds),
//
//	for i, v := range x {
//		dst[i] = exp1(v)
//	}
//
// len(x) must be a multiple of 8.
//
//go:noescape
func expAVX2(dst, x []float32)

// sigmoidAVX2 computes
//
//	for i, v := range x {
//		dst[i] = 1 / (1 + exp1(-v))
//	}
//
// len(x) must be a multiple of 8.
//
//go:noescape
func sigmoidAVX2(dst, x []float32)

// swigluAVX2 computes
//
//	for i, g := range gate {
//		dst[i] = g * up[i] / (1 + exp1(-g))
//	}
//
// len(gate) must be a multiple of 8; dst may be gate or up.
//
//go:noescape
func swigluAVX2(dst, gate, up []float32)

// expSubSumsAVX2 computes
//
//	for i, v := range x {
//		t := v - m
//		e := exp1(t)
//		dst[i] = e
//		s += e     // lane i%8 of an 8-lane sum
//		w += e * t // likewise, fused multiply-add
//	}
//
// and adds each sum's lanes halves-then-pairs-then-neighbours. len(x) must
// be a multiple of 8.
//
//go:noescape
func expSubSumsAVX2(dst, x []float32, m float32) (s, w float32)

// siluAVX2 computes
//
//	for i, v := range x {
//		dst[i] = v / (1 + exp1(-v))
//	}
//
// len(x) must be a multiple of 8; dst may be x.
//
//go:noescape
func siluAVX2(dst, x []float32)

// packRows16AVX2 copies rows of 16 floats, ld apart, into dst back to back:
//
//	for p := 0; p < rows; p++ {
//		copy(dst[p*16:p*16+16], src[p*ld:p*ld+16])
//	}
//
// The caller checks the bounds.
//
//go:noescape
func packRows16AVX2(dst, src *float32, ld, rows int)

// packB16TAVX2 packs 16 rows, ld apart, column by column, for kc8 a
// multiple of 8: dst[p*16+j] = src[j*ld+p].
//
//go:noescape
func packB16TAVX2(dst, src *float32, ld, kc8 int)

// packA6TAVX2 packs six columns of a row-major A (A^T stored), ld apart:
// dst[p*6+i] = alpha*src[p*ld+i].
//
//go:noescape
func packA6TAVX2(dst, src *float32, ld, kc int, alpha float32)

// packA6AVX2 packs six rows, ld apart, column by column, scaled:
//
//	for p := 0; p < kc; p++ {
//		for i := 0; i < 6; i++ {
//			dst[p*6+i] = alpha * src[i*ld+p]
//		}
//	}
//
// The caller checks the bounds.
//
//go:noescape
func packA6AVX2(dst, src *float32, ld, kc int, alpha float32)

// dotRowsAVX2 computes dots against rows ld apart, each summed exactly as
// dotAVX2 sums:
//
//	for j := range dst {
//		dst[j] = dotAVX2(x, a[j*ld:j*ld+len(x)])
//	}
//
// The caller checks the bounds.
//
//go:noescape
func dotRowsAVX2(dst, x, a []float32, ld int)

// axpyRowsAVX2 adds rows ld apart, scaled, into y:
//
//	for j, s := range alpha {
//		axpyAVX2(s, a[j*ld:j*ld+len(y)], y)
//	}
//
// The caller checks the bounds.
//
//go:noescape
func axpyRowsAVX2(y, alpha, a []float32, ld int)

// gerRowsAVX2 adds a scaled x to rows ld apart (a rank-1 update):
//
//	for j, s := range alpha {
//		axpyAVX2(s, x, a[j*ld:j*ld+len(x)])
//	}
//
// The caller checks the bounds.
//
//go:noescape
func gerRowsAVX2(a []float32, ld int, alpha, x []float32)

// dotBF16AVX2 returns Σ w[i]·x[i] with w in bfloat16 (len(x) >= len(w)),
// summed exactly as dotAVX2 sums, each w[i] widened to float32 (shifted to
// the top 16 bits) in registers.
//
//go:noescape
func dotBF16AVX2(w []uint16, x []float32) float32

// dotRowsBF16x3AVX2 computes the dots of x against 3·per bfloat16 rows ld
// apart, each summed exactly as dotBF16AVX2 sums, in three streams (rows
// j, per+j, 2·per+j together):
//
//	for j := 0; j < 3*per; j++ {
//		dst[j] = dotBF16AVX2(w[j*ld:j*ld+len(x)], x)
//	}
//
// The caller checks the bounds.
//
//go:noescape
func dotRowsBF16x3AVX2(dst []float32, w []uint16, ld, per int, x []float32)

// The exact routines (exact_amd64.s, and swigluBackwardAVX2 in vec_amd64.s
// for its exponential): plain multiplies, adds, divisions and square roots,
// never fused, in the order of the Go versions in kernels_go.go, whose
// results they reproduce bit for bit. Each takes a first slice whose length
// is a multiple of 8; the others must be at least as long.

// adamWAVX2 is adamWGo with c1 = 1-beta1 and c2 = 1-beta2:
//
//	for i := range p {
//		m[i] = beta1*m[i] + c1*g[i]
//		v[i] = beta2*v[i] + c2*g[i]*g[i]
//		p[i] -= lr * (m[i]/bc1/(sqrt(v[i]/bc2)+eps) + wd*p[i])
//	}
//
//go:noescape
func adamWAVX2(p, g, m, v []float32, beta1, c1, beta2, c2, bc1, bc2, eps, wd, lr float32)

// scaleMulRowsAVX2 computes, on the first d8 (a multiple of 8) of the d
// columns,
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < d8; j++ {
//			dst[r*d+j] = w[j] * (x[r*d+j] * s[r])
//		}
//	}
//
// The caller checks the bounds.
//
//go:noescape
func scaleMulRowsAVX2(dst, x, w, s *float32, d, d8, rows int)

// rmsNormGradRowsAVX2 computes, on the first d8 (a multiple of 8) of the d
// columns,
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < d8; j++ {
//			n := x[r*d+j] * rs[r]
//			dx[r*d+j] += rs[r] * (w[j]*dout[r*d+j] - n*m[r])
//			dwPart[j] += dout[r*d+j] * n
//		}
//	}
//
// The caller checks the bounds.
//
//go:noescape
func rmsNormGradRowsAVX2(dx, dwPart, x, w, dout, rs, m *float32, d, d8, rows int)

// rmsNormDotAVX2 returns
//
//	var s float64
//	for i := range x {
//		s += float64(w[i]*dout[i]) * float64(x[i]*rs)
//	}
//	return s
//
// the terms computed eight at a time and added one after another.
//
//go:noescape
func rmsNormDotAVX2(x, w, dout []float32, rs float32) float64

// rmsNormDot4AVX2 computes rmsNormDotAVX2 of four rows ld apart, on their
// first d8 (a multiple of 8) columns:
//
//	for r := 0; r < 4; r++ {
//		var s float64
//		for j := 0; j < d8; j++ {
//			s += float64(w[j]*dout[r*ld+j]) * float64(x[r*ld+j]*rs[r])
//		}
//		dst[r] = s
//	}
//
// The caller checks the bounds.
//
//go:noescape
func rmsNormDot4AVX2(dst *float64, x, dout, w, rs *float32, ld, d8 int)

// addAVX2 computes
//
//	for i, v := range x {
//		y[i] += v
//	}
//
//go:noescape
func addAVX2(y, x []float32)

// swigluBackwardAVX2 computes, with sigmoidAVX2's sigmoid,
//
//	for i, g := range gate {
//		sg := 1 / (1 + exp1(-g))
//		dup[i] = dout[i] * g * sg
//		dgate[i] = dout[i] * up[i] * sg * (1 + g*(1-sg))
//	}
//
//go:noescape
func swigluBackwardAVX2(dgate, dup, dout, gate, up []float32)

// rotateHalvesAVX2 rotates the pairs j < h8 (a multiple of 8, at most h) of
// blocks of 2h floats of x, as rotateHalvesGo does:
//
//	for b := 0; b < blocks; b++ {
//		v := x[2*h*b : 2*h*(b+1)]
//		for j := 0; j < h8; j++ {
//			a, bb := v[j], v[j+h]
//			v[j] = a*cos[j] - sign*bb*sin[j]
//			v[j+h] = bb*cos[j] + sign*a*sin[j]
//		}
//	}
//
// The caller checks the bounds.
//
//go:noescape
func rotateHalvesAVX2(x, cos, sin *float32, h, h8, blocks int, sign float32)
