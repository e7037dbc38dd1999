//go:build !noasm

package simd

import (
	"github.com/klauspost/cpuid/v2"
)

// useAVX2 is decided once, at start-up, and only read afterwards.
var useAVX2 = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3)

// gemmArch is the micro-kernel and blocking Sgemm uses.
var gemmArch = func() gemmSpec {
	if useAVX2 {
		return avx2Gemm
	}
	return goGemm
}()

// avx2Gemm: a 6×16 register tile (12 ymm accumulators). The k blocks are
// long (kc 512) so that C is read and written back half as often as with
// kc 256; the B micro-panel (kc×16, 32 KiB) and the A block (mc×kc,
// 96 KiB) then both come from L2, and the B block (kc×nc, 2 MiB) from L3.
// Against mc 192, kc 256, nc 2048, measured in alternation on one Zen 3
// thread: 1024³ 2-5% faster, 2048³ 0.98-1.00x OpenBLAS against 0.92-0.98x,
// the default cmd/train run 43.0-43.9 s against 45.2-46.5 s.
var avx2Gemm = gemmSpec{
	name: "avx2-6x16",
	mr:   6, nr: 16,
	mc: 48, kc: 512, nc: 1024,
	kernel: sgemmKernel6x16,
}

func dot(x, y []float32) float32 {
	if useAVX2 {
		return dotAVX2(x, y)
	}
	return dotGo(x, y)
}

func sumSquares(x []float32) float32 { return dot(x, x) }

func dotBF16(w []uint16, x []float32) float32 {
	if useAVX2 {
		return dotBF16AVX2(w, x)
	}
	return dotBF16Go(w, x)
}

func dotRowsBF16(dst []float32, w []uint16, ld int, x []float32) {
	if !useAVX2 {
		dotRowsBF16Go(dst, w, ld, x)
		return
	}
	per := len(dst) / 3
	if per > 0 {
		dotRowsBF16x3AVX2(dst[:3*per], w, ld, per, x)
	}
	for j := 3 * per; j < len(dst); j++ {
		dst[j] = dotBF16AVX2(w[j*ld:j*ld+len(x)], x)
	}
}

func axpy(alpha float32, x, y []float32) {
	if useAVX2 {
		axpyAVX2(alpha, x, y)
		return
	}
	axpyGo(alpha, x, y)
}

func scale(alpha float32, x []float32) {
	if useAVX2 {
		scaleAVX2(alpha, x)
		return
	}
	scaleGo(alpha, x)
}

func maxf(x []float32) float32 {
	n := len(x) &^ 7
	if !useAVX2 || n == 0 {
		return maxGo(x)
	}
	m := maxAVX2(x[:n])
	for _, v := range x[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// tail8 applies an 8-wide vector routine f to the last len(x)%8 elements
// through a padded buffer, so that every element goes through the same code.
func tail8(dst, x []float32, f func(dst, x []float32)) {
	n := len(x) &^ 7
	if n == len(x) {
		return
	}
	var buf [8]float32
	copy(buf[:], x[n:])
	f(buf[:], buf[:])
	copy(dst[n:len(x)], buf[:])
}

func expf(dst, x []float32) {
	if !useAVX2 {
		expGo(dst, x)
		return
	}
	n := len(x) &^ 7
	expAVX2(dst[:n], x[:n])
	tail8(dst, x, expAVX2)
}

func sigmoid(dst, x []float32) {
	if !useAVX2 {
		sigmoidGo(dst, x)
		return
	}
	n := len(x) &^ 7
	sigmoidAVX2(dst[:n], x[:n])
	tail8(dst, x, sigmoidAVX2)
}

func silu(dst, x []float32) {
	if !useAVX2 {
		siluGo(dst, x)
		return
	}
	n := len(x) &^ 7
	siluAVX2(dst[:n], x[:n])
	tail8(dst, x, siluAVX2)
}

func swiglu(dst, gate, up []float32) {
	if !useAVX2 {
		swigluGo(dst, gate, up)
		return
	}
	n := len(gate) &^ 7
	swigluAVX2(dst[:n], gate[:n], up[:n])
	if n < len(gate) {
		var g, u [8]float32
		copy(g[:], gate[n:])
		copy(u[:], up[n:len(gate)])
		swigluAVX2(g[:], g[:], u[:])
		copy(dst[n:len(gate)], g[:])
	}
}

func expSubSums(dst, x []float32, m float32) (s, w float32) {
	if !useAVX2 {
		return expSubSumsGo(dst, x, m)
	}
	n := len(x) &^ 7
	s, w = expSubSumsAVX2(dst[:n], x[:n], m)
	if n < len(x) {
		var buf [8]float32
		for i, v := range x[n:] {
			buf[i] = v - m
		}
		expAVX2(buf[:], buf[:])
		for i, v := range x[n:] {
			e := buf[i]
			dst[n+i] = e
			s += e
			w += e * (v - m)
		}
	}
	return s, w
}

// packRows16 is packRows16Go, in assembly when available.
func packRows16(dst, src []float32, ld, rows int) {
	if !useAVX2 || rows == 0 {
		packRows16Go(dst, src, ld, rows)
		return
	}
	_ = dst[rows*16-1]
	_ = src[(rows-1)*ld+15]
	packRows16AVX2(&dst[0], &src[0], ld, rows)
}

// packB16T is packB16TGo, its columns in eights in assembly when available.
func packB16T(b []float32, ldb, kc int, d []float32) {
	kc8 := kc &^ 7
	if !useAVX2 || kc8 == 0 {
		packB16TGo(b, ldb, kc, d)
		return
	}
	_ = d[kc*16-1]
	_ = b[15*ldb+kc-1]
	packB16TAVX2(&d[0], &b[0], ldb, kc8)
	if kc8 < kc {
		packB16TGo(b[kc8:], ldb, kc-kc8, d[kc8*16:])
	}
}

// packA6T is packA6TGo, in assembly when available.
func packA6T(dst, src []float32, ld, kc int, alpha float32) {
	if !useAVX2 || kc == 0 {
		packA6TGo(dst, src, ld, kc, alpha)
		return
	}
	_ = dst[kc*6-1]
	_ = src[(kc-1)*ld+5]
	packA6TAVX2(&dst[0], &src[0], ld, kc, alpha)
}

// packA6N is packA6NGo, in assembly when available.
func packA6N(dst, src []float32, ld, kc int, alpha float32) {
	if !useAVX2 || kc == 0 {
		packA6NGo(dst, src, ld, kc, alpha)
		return
	}
	_ = dst[kc*6-1]
	_ = src[5*ld+kc-1]
	packA6AVX2(&dst[0], &src[0], ld, kc, alpha)
}

// rowsSpan checks that rows j < rows of width w, ld apart, fit in a.
func rowsSpan(a []float32, rows, w, ld int) {
	if rows > 0 && w > 0 {
		_ = a[(rows-1)*ld+w-1]
	}
}

func dotRows(dst, x, a []float32, ld int) {
	if !useAVX2 {
		dotRowsGo(dst, x, a, ld)
		return
	}
	rowsSpan(a, len(dst), len(x), ld)
	dotRowsAVX2(dst, x, a, ld)
}

func axpyRows(y, alpha, a []float32, ld int) {
	if !useAVX2 {
		axpyRowsGo(y, alpha, a, ld)
		return
	}
	rowsSpan(a, len(alpha), len(y), ld)
	axpyRowsAVX2(y, alpha, a, ld)
}

func gerRows(a []float32, ld int, alpha, x []float32) {
	if !useAVX2 {
		gerRowsGo(a, ld, alpha, x)
		return
	}
	rowsSpan(a, len(alpha), len(x), ld)
	gerRowsAVX2(a, ld, alpha, x)
}

// The exact routines: the assembly takes the elements (or columns) up to a
// multiple of 8 and the Go versions, whose operations are the same, the rest;
// swigluBackward, whose sigmoid must be the assembly's, excepted.

func adamW(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	n := 0
	if useAVX2 {
		n = len(p) &^ 7
		adamWAVX2(p[:n], g, m, v, beta1, 1-beta1, beta2, 1-beta2, bc1, bc2, eps, wd, lr)
	}
	adamWGo(p[n:], g[n:], m[n:], v[n:], lr, beta1, beta2, eps, wd, bc1, bc2)
}

func scaleMulRows(dst, x, w, s []float32) {
	d := len(w)
	d8 := 0
	if useAVX2 && len(s) > 0 {
		d8 = d &^ 7
		if d8 > 0 {
			scaleMulRowsAVX2(&dst[0], &x[0], &w[0], &s[0], d, d8, len(s))
		}
	}
	if d8 < d {
		scaleMulRowsFrom(dst, x, w, s, d8)
	}
}

func rmsNormGradRows(dx, dwPart, x, w, dout, rs, m []float32) {
	d := len(w)
	d8 := 0
	if useAVX2 && len(rs) > 0 {
		d8 = d &^ 7
		if d8 > 0 {
			rmsNormGradRowsAVX2(&dx[0], &dwPart[0], &x[0], &w[0], &dout[0], &rs[0], &m[0], d, d8, len(rs))
		}
	}
	if d8 < d {
		rmsNormGradRowsFrom(dx, dwPart, x, w, dout, rs, m, d8)
	}
}

func rmsNormDot(x, w, dout []float32, rs float32) float64 {
	if !useAVX2 {
		return rmsNormDotGo(0, x, w, dout, rs)
	}
	n := len(x) &^ 7
	s := rmsNormDotAVX2(x[:n], w, dout, rs)
	return rmsNormDotGo(s, x[n:], w[n:], dout[n:], rs)
}

// rmsNormDots takes four rows at a time in rmsNormDot4AVX2 (their first
// d&^7 terms; the rest in Go), the remaining rows one by one.
func rmsNormDots(dots []float64, x, w, dout, rs []float32) {
	if !useAVX2 {
		rmsNormDotsGo(dots, x, w, dout, rs)
		return
	}
	d := len(w)
	d8 := d &^ 7
	r := 0
	if d8 > 0 {
		for ; r+4 <= len(dots); r += 4 {
			var s [4]float64
			rmsNormDot4AVX2(&s[0], &x[r*d], &dout[r*d], &w[0], &rs[r], d, d8)
			for k, sk := range s {
				row := (r + k) * d
				dots[r+k] = rmsNormDotGo(sk, x[row+d8:row+d], w[d8:], dout[row+d8:row+d], rs[r+k])
			}
		}
	}
	for ; r < len(dots); r++ {
		dots[r] = rmsNormDot(x[r*d:(r+1)*d], w, dout[r*d:(r+1)*d], rs[r])
	}
}

func add(y, x []float32) {
	n := 0
	if useAVX2 {
		n = len(x) &^ 7
		addAVX2(y, x[:n])
	}
	addGo(y[n:], x[n:])
}

// swigluBackward computes the tail through padded buffers with the same
// assembly, as sigmoid does, so that every sigmoid is the assembly's.
func swigluBackward(dgate, dup, dout, gate, up []float32) {
	if !useAVX2 {
		swigluBackwardGo(dgate, dup, dout, gate, up)
		return
	}
	n := len(gate) &^ 7
	swigluBackwardAVX2(dgate, dup, dout, gate[:n], up)
	if n < len(gate) {
		var dg, du, do, g, u [8]float32
		copy(do[:], dout[n:])
		copy(g[:], gate[n:])
		copy(u[:], up[n:])
		swigluBackwardAVX2(dg[:], du[:], do[:], g[:], u[:])
		copy(dgate[n:], dg[:])
		copy(dup[n:], du[:])
	}
}

func rotateHalves(x, cos, sin []float32, sign float32) {
	h := len(cos)
	h8 := 0
	if useAVX2 && len(x) > 0 {
		h8 = h &^ 7
		if h8 > 0 {
			rotateHalvesAVX2(&x[0], &cos[0], &sin[0], h, h8, len(x)/(2*h), sign)
		}
	}
	if h8 < h {
		rotateHalvesFrom(x, cos, sin, sign, h8)
	}
}
