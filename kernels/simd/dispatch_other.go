//go:build noasm || !amd64

package simd

// Without assembly every routine is the pure Go one.

const useAVX2 = false

var gemmArch = goGemm

func dot(x, y []float32) float32              { return dotGo(x, y) }
func sumSquares(x []float32) float32          { return sumSquaresGo(x) }
func dotBF16(w []uint16, x []float32) float32 { return dotBF16Go(w, x) }
func dotRowsBF16(dst []float32, w []uint16, ld int, x []float32) {
	dotRowsBF16Go(dst, w, ld, x)
}
func axpy(alpha float32, x, y []float32)                    { axpyGo(alpha, x, y) }
func scale(alpha float32, x []float32)                      { scaleGo(alpha, x) }
func maxf(x []float32) float32                              { return maxGo(x) }
func expf(dst, x []float32)                                 { expGo(dst, x) }
func sigmoid(dst, x []float32)                              { sigmoidGo(dst, x) }
func silu(dst, x []float32)                                 { siluGo(dst, x) }
func swiglu(dst, gate, up []float32)                        { swigluGo(dst, gate, up) }
func expSubSums(dst, x []float32, m float32) (s, w float32) { return expSubSumsGo(dst, x, m) }

func packRows16(dst, src []float32, ld, rows int)           { packRows16Go(dst, src, ld, rows) }
func packA6N(dst, src []float32, ld, kc int, alpha float32) { packA6NGo(dst, src, ld, kc, alpha) }
func packA6T(dst, src []float32, ld, kc int, alpha float32) { packA6TGo(dst, src, ld, kc, alpha) }
func packB16T(b []float32, ldb, kc int, d []float32)        { packB16TGo(b, ldb, kc, d) }

func dotRows(dst, x, a []float32, ld int)             { dotRowsGo(dst, x, a, ld) }
func axpyRows(y, alpha, a []float32, ld int)          { axpyRowsGo(y, alpha, a, ld) }
func gerRows(a []float32, ld int, alpha, x []float32) { gerRowsGo(a, ld, alpha, x) }

func adamW(p, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	adamWGo(p, g, m, v, lr, beta1, beta2, eps, wd, bc1, bc2)
}

func rmsNormGradRows(dx, dwPart, x, w, dout, rs, m []float32) {
	rmsNormGradRowsGo(dx, dwPart, x, w, dout, rs, m)
}

func swigluBackward(dgate, dup, dout, gate, up []float32) {
	swigluBackwardGo(dgate, dup, dout, gate, up)
}

func scaleMulRows(dst, x, w, s []float32)                  { scaleMulRowsGo(dst, x, w, s) }
func rmsNormDots(dots []float64, x, w, dout, rs []float32) { rmsNormDotsGo(dots, x, w, dout, rs) }
func add(y, x []float32)                                   { addGo(y, x) }
func rotateHalves(x, cos, sin []float32, sign float32)     { rotateHalvesGo(x, cos, sin, sign) }
