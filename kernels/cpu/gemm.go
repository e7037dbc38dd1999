package cpu

import (
	"fmt"

	"github.com/frontier-rl/frontier/kernels"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C (see kernels.Backend.Gemm).
func (c *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b kernels.Buffer, beta float32, cb kernels.Buffer) {
	A, B, C := Data(a), Data(b), Data(cb)
	if len(A) < m*k || len(B) < k*n || len(C) < m*n {
		panic(fmt.Sprintf("cpu: Gemm %dx%dx%d with buffers of %d, %d, %d elements", m, n, k, len(A), len(B), len(C)))
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	// An empty dimension makes a leading dimension 0; BLAS wants it >= 1.
	c.sgemm(transA, transB, m, n, k, alpha, A, max(lda, 1), B, max(ldb, 1), beta, C, max(n, 1))
}
