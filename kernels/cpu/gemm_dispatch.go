package cpu

import "github.com/frontier-rl/frontier/kernels/simd"

// sgemm is the product the backend uses: kernels/simd's packed, blocked
// SGEMM (AVX2+FMA assembly when the processor has it, pure Go otherwise),
// over the backend's threads. Its split is fixed by the shape, so the result
// does not depend on the thread count.
func (c *Backend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	c.ws.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc, c.threads)
}

// gemmPath names the code path (simd.PathAVX2 or simd.PathGo).
func gemmPath() simd.CodePath { return simd.Path() }
