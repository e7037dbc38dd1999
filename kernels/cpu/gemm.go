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

// GemmRef is the reference matrix product, row-major with leading dimensions:
// every C[i,j] is a float32 sum over p in increasing order,
//
//	C[i,j] = alpha·Σ_p opA[i,p]·opB[p,j] + beta·C[i,j]
//
// where beta = 0 ignores what C held.
func GemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmRows(transA, transB, 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmRows computes rows lo..hi-1 of C (the reference algorithm).
func gemmRows(transA, transB bool, lo, hi, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := lo; i < hi; i++ {
		crow := c[i*ldc : i*ldc+n]
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				crow[j] = alpha * s
			} else {
				crow[j] = alpha*s + beta*crow[j]
			}
		}
	}
}
