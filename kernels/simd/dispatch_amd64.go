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

// avx2Gemm: a 6×16 register tile (12 ymm accumulators). The B micro-panel
// (kc×16, 16 KiB) stays in L1 while the A block (mc×kc, 192 KiB) streams
// from L2; the B block (kc×nc, 2 MiB) lives in L3.
var avx2Gemm = gemmSpec{
	name: "avx2-6x16",
	mr:   6, nr: 16,
	mc: 192, kc: 256, nc: 2048,
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
