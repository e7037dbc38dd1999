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

// The routines below are exact: each element goes through the same IEEE
// operations, in the same order and without fused multiply-adds, as the Go
// expression in its comment (as Go compiles it for amd64 below GOAMD64=v3,
// which does not fuse), so the assembly and the pure Go versions agree bit
// for bit. They are the element-wise loops of the CPU backend's AdamW,
// RMSNorm, RMSNormBackward, SwiGLUBackward and RoPE.

// AdamWUpdate applies one AdamW step to parameters p [n] with gradients g,
// first moments m and second moments v (each at least n = len(p) long),
// bc1 = 1−beta1^t and bc2 = 1−beta2^t being the bias corrections:
//
//	m[i] = beta1*m[i] + (1-beta1)*g[i]
//	v[i] = beta2*v[i] + (1-beta2)*g[i]*g[i]
//	p[i] -= lr * (m[i]/bc1/(float32(math.Sqrt(float64(v[i]/bc2)))+eps) + wd*p[i])
func AdamWUpdate(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	adamW(p, g, m, v, lr, beta1, beta2, eps, wd, bc1, bc2)
}

// ScaleMulRows sets, for the rows r < len(s) of dst and x [len(s), d]
// (d = len(w)) and j < d,
//
//	dst[r*d+j] = w[j] * (x[r*d+j] * s[r])
//
// RMSNorm's output, with s the rows' reciprocal root mean squares. dst may
// be x.
func ScaleMulRows(dst, x, w, s []float32) {
	rows, d := len(s), len(w)
	dst, x = dst[:rows*d], x[:rows*d]
	scaleMulRows(dst, x, w, s)
}

// RMSNormDots sets, for each row r < len(dots) of x and dout [len(dots), d]
// (d = len(w)),
//
//	var s float64
//	for j := 0; j < d; j++ {
//		s += float64(w[j]*dout[r*d+j]) * float64(x[r*d+j]*rs[r])
//	}
//	dots[r] = s
//
// each row's terms added in order of j (the mean term of RMSNorm's gradient,
// times d). rs must be at least len(dots) long.
func RMSNormDots(dots []float64, x, w, dout, rs []float32) {
	n, d := len(dots), len(w)
	x, dout, rs = x[:n*d], dout[:n*d], rs[:n]
	rmsNormDots(dots, x, w, dout, rs)
}

// RMSNormGradRows adds the RMSNorm gradients of the rows r < len(rs) of x,
// dout and dx [len(rs), d] (d = len(w)), row after row:
//
//	for j := 0; j < d; j++ {
//		n := x[r*d+j] * rs[r]
//		dx[r*d+j] += rs[r] * (w[j]*dout[r*d+j] - n*m[r])
//		dwPart[j] += dout[r*d+j] * n
//	}
//
// with rs[r] the row's reciprocal root mean square and m[r] the mean of
// w⊙dout⊙n over it. m must be at least len(rs) long, dwPart at least d.
func RMSNormGradRows(dx, dwPart, x, w, dout, rs, m []float32) {
	rows, d := len(rs), len(w)
	dx, x, dout, dwPart, m = dx[:rows*d], x[:rows*d], dout[:rows*d], dwPart[:d], m[:rows]
	rmsNormGradRows(dx, dwPart, x, w, dout, rs, m)
}

// Add adds x[i] to y[i] for i < len(x). y must be at least as long as x.
func Add(y, x []float32) {
	y = y[:len(x)]
	add(y, x)
}

// SwiGLUBackward sets, for i < n = len(gate), with sg = Sigmoid(gate[i])
// (the same bits as Sigmoid gives) and g = gate[i]:
//
//	dup[i] = dout[i] * g * sg
//	dgate[i] = dout[i] * up[i] * sg * (1 + g*(1-sg))
//
// the gradients of dst = SwiGLU(gate, up). dgate, dup, dout and up must be
// at least n long; the outputs must not overlap the inputs.
func SwiGLUBackward(dgate, dup, dout, gate, up []float32) {
	n := len(gate)
	dgate, dup, dout, up = dgate[:n], dup[:n], dout[:n], up[:n]
	swigluBackward(dgate, dup, dout, gate, up)
}

// RotateHalves rotates the pairs (j, j+h) of each block of 2h elements of x,
// h = len(cos) and len(x) a multiple of 2h, by the angles whose cosines and
// sines are cos[j] and sin[j] (sign = 1), or by their negatives (sign = −1):
// for each block v and j < h,
//
//	a, b := v[j], v[j+h]
//	v[j] = a*cos[j] - sign*b*sin[j]
//	v[j+h] = b*cos[j] + sign*a*sin[j]
//
// That is RoPE on one position's heads, x [heads, 2h]. sin must be at least
// h long.
func RotateHalves(x, cos, sin []float32, sign float32) {
	h := len(cos)
	if h == 0 {
		return
	}
	if len(x)%(2*h) != 0 {
		panic("simd: RotateHalves: len(x) is not a multiple of 2*len(cos)")
	}
	sin = sin[:h]
	rotateHalves(x, cos, sin, sign)
}
