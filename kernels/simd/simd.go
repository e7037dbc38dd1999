package simd

// HasAVX2FMA reports whether the vector routines and Sgemm run the AVX2+FMA
// assembly (false on other processors and in noasm builds). Sgemm may use
// an AVX-512 micro-kernel on top of it; see SgemmKernel.
func HasAVX2FMA() bool { return useAVX2 }

// SgemmKernel names the micro-kernel Sgemm uses for large products, with its
// register tile, for example "avx512-12x32" or "go-4x4".
func SgemmKernel() string { return gemmArch.name }

// Dot returns the sum of x[i]*y[i] over i < len(x), accumulated in float32.
// y must be at least as long as x.
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	return dot(x, y)
}

// Axpy adds alpha*x[i] to y[i] for i < len(x). y must be at least as long
// as x.
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	axpy(alpha, x, y)
}

// Scale multiplies every element of x by alpha.
func Scale(alpha float32, x []float32) { scale(alpha, x) }

// SumSquares returns the sum of x[i]*x[i], accumulated in float32.
func SumSquares(x []float32) float32 { return sumSquares(x) }

// Exp sets dst[i] = exp(x[i]) for i < len(x), with a relative error of
// about 2e-7 or less. Inputs are first clamped to [ExpMin, ExpMax], so
// exp(+large) is finite (about 2.2e38) and exp(-large) is about 1.2e-38;
// NaN stays NaN. dst must be at least as long as x; dst and x may be the
// same slice.
func Exp(dst, x []float32) {
	dst = dst[:len(x)]
	expf(dst, x)
}

// SiLU sets dst[i] = x[i]*sigmoid(x[i]) = x[i]/(1+exp(-x[i])) for
// i < len(x), using Exp's clamped exponential. dst must be at least as long
// as x; dst and x may be the same slice.
func SiLU(dst, x []float32) {
	dst = dst[:len(x)]
	silu(dst, x)
}

// ExpMin and ExpMax bound the inputs of Exp and SiLU's exponential.
const (
	ExpMin = -87.3
	ExpMax = 88.3
)
