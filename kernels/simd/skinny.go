package simd

import "github.com/frontier-rl/frontier/kernels/par"

// skinnyM is the number of rows of C below which Sgemm does not pack: a
// product with one row or two (decoding one sequence) is bound by reading B
// once, and packing B would cost more than the dot products it speeds up.
// From four rows on the packed micro-kernel wins even on one thread: it
// measured 2x (m = 4) to 4.8x (m = 12) the skinny path at n = k = 128, and
// 1.2x to 1.9x at n = k = 1024 (Zen 3, AVX2); at m = 1 the skinny path is
// 1.3x to 1.7x faster.
const skinnyM = 4

// Column chunks of the skinny path: fixed widths, so the split (and with it
// every sum) does not depend on the number of threads.
const (
	skinnyColsNN = 256 // columns of C per chunk when B is [k,n]
	skinnyColsNT = 32  // rows of B (columns of C) per chunk when B is [n,k]
)

// sgemmSkinny computes C = alpha*op(A)*op(B) + beta*C for small m without
// packing, over fixed column chunks of C, several in parallel. When B is
// [k,n], C's rows are updated by Axpy over p in increasing order; when B is
// [n,k] (and A is not transposed), each element is alpha*Dot(A row, B row).
func sgemmSkinny(pool *par.Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	aAt := func(i, p int) float32 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	if !transB {
		chunks := (n + skinnyColsNN - 1) / skinnyColsNN
		pool.For(chunks, threads, func(ci int) {
			j0 := ci * skinnyColsNN
			j1 := min(j0+skinnyColsNN, n)
			for i := 0; i < m; i++ {
				scaleC(1, j1-j0, beta, c[i*ldc+j0:i*ldc+j1], ldc)
			}
			for p := 0; p < k; p++ {
				brow := b[p*ldb+j0 : p*ldb+j1]
				for i := 0; i < m; i++ {
					axpy(alpha*aAt(i, p), brow, c[i*ldc+j0:i*ldc+j1])
				}
			}
		})
		return
	}
	// Each chunk's dots go through dotRows, which reads several rows of B at
	// once (the sums are dot's, bit for bit).
	chunks := (n + skinnyColsNT - 1) / skinnyColsNT
	pool.For(chunks, threads, func(ci int) {
		j0 := ci * skinnyColsNT
		j1 := min(j0+skinnyColsNT, n)
		var sums [skinnyColsNT]float32
		for i := 0; i < m; i++ {
			s := sums[:j1-j0]
			dotRows(s, a[i*lda:i*lda+k], b[j0*ldb:], ldb)
			row := c[i*ldc+j0 : i*ldc+j1]
			for j, v := range s {
				v *= alpha
				if beta != 0 {
					v += beta * row[j]
				}
				row[j] = v
			}
		}
	})
}
