package simd

import (
	"fmt"
	"testing"
)

// Benchmarks of the vector routines, every implementation side by side
// (the SGEMM benchmarks are in the repository's top-level bench_test.go).
func BenchmarkVector(b *testing.B) {
	r := newRand(9)
	for _, n := range []int{128, 4096, 151936} {
		x, y := randVec(r, n, -4, 4), randVec(r, n, -4, 4)
		dst := make([]float32, n)
		for _, im := range vecImpls[1:] {
			run := func(name string, f func()) {
				b.Run(fmt.Sprintf("%s/%s/n=%d", name, im.name, n), func(b *testing.B) {
					b.SetBytes(int64(4 * n))
					for range b.N {
						f()
					}
				})
			}
			run("Dot", func() { im.dot(x, y) })
			run("Axpy", func() { im.axpy(0.5, x, dst) })
			run("Exp", func() { im.exp(dst, x) })
			run("SwiGLU", func() { im.swiglu(dst, x, y) })
			run("ExpSubSums", func() { im.expSubSums(dst, x, 4) })
		}
	}
}
