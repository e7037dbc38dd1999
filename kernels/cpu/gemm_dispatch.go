package cpu

// sgemm is the product the backend uses.
func (c *Backend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	c.sgemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

func gemmPath() string { return "go" }
