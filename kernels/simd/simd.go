package simd

// HasAVX2FMA reports whether the vector routines and Sgemm run the AVX2+FMA
// assembly (false on other processors and in noasm builds).
func HasAVX2FMA() bool { return useAVX2 }

// CodePath names the code the routines run.
type CodePath string

// The code paths: the AVX2+FMA assembly, and pure Go (other processors,
// other architectures, noasm builds).
const (
	PathAVX2 CodePath = "avx2"
	PathGo   CodePath = "go"
)

// Path is the code path the routines take on this processor.
func Path() CodePath {
	if useAVX2 {
		return PathAVX2
	}
	return PathGo
}

// SgemmKernel names the micro-kernel Sgemm uses for large products, with its
// register tile: "avx2-6x16" or "go-4x4".
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

// Max returns the largest element of x (len(x) > 0); NaNs are skipped
// unless every element is NaN.
func Max(x []float32) float32 { return maxf(x) }

// Sigmoid sets dst[i] = 1/(1+exp(-x[i])) with Exp's exponential. dst may be x.
func Sigmoid(dst, x []float32) {
	dst = dst[:len(x)]
	sigmoid(dst, x)
}

// SwiGLU sets dst[i] = silu(gate[i])*up[i] = gate[i]*up[i]/(1+exp(-gate[i]))
// for i < len(gate). dst may be gate or up.
func SwiGLU(dst, gate, up []float32) {
	dst, up = dst[:len(gate)], up[:len(gate)]
	swiglu(dst, gate, up)
}

// ExpSubSums sets dst[i] = exp(x[i]-m) and returns s = Σ dst[i] and
// w = Σ dst[i]·(x[i]-m), each summed in float32 in a fixed order (8
// interleaved partial sums, then the remainder). With m the row maximum it is
// the core of a softmax and of its entropy. dst may be x.
func ExpSubSums(dst, x []float32, m float32) (s, w float32) {
	dst = dst[:len(x)]
	return expSubSums(dst, x, m)
}

// ExpMin and ExpMax bound the inputs of Exp and SiLU's exponential.
const (
	ExpMin = -87.3
	ExpMax = 88.3
)

// DotRows sets dst[j] = Dot(x, a[j*ld:j*ld+len(x)]) for j < len(dst): the
// products of x with rows ld apart (a matrix-vector product), each summed
// exactly as Dot sums it.
func DotRows(dst, x, a []float32, ld int) { dotRows(dst, x, a, ld) }

// AxpyRows adds Σ_j alpha[j]·a[j*ld:j*ld+len(y)] to y, row after row in
// increasing j, exactly as len(alpha) calls of Axpy would.
func AxpyRows(y, alpha, a []float32, ld int) { axpyRows(y, alpha, a, ld) }

// GerRows adds alpha[j]·x to each row a[j*ld:j*ld+len(x)] (a rank-1
// update), exactly as len(alpha) calls of Axpy would.
func GerRows(a []float32, ld int, alpha, x []float32) { gerRows(a, ld, alpha, x) }
