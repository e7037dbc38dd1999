//go:build !noasm

package simd

func init() {
	if !useAVX2 {
		return
	}
	vecImpls = append(vecImpls, vecImpl{"avx2",
		dotAVX2, axpyAVX2, scaleAVX2,
		func(x []float32) float32 { // the assembly wants a multiple of 8
			if len(x) < 8 {
				return maxGo(x)
			}
			n := len(x) &^ 7
			if n == len(x) {
				return maxAVX2(x)
			}
			return max(maxAVX2(x[:n]), maxGo(x[n:]))
		},
		expf, sigmoid, silu, swiglu, expSubSums})
	gemmSpecs = append(gemmSpecs, &avx2Gemm)
}
