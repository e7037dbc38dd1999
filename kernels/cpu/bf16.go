package cpu

import (
	"fmt"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/simd"
)

// bf16Buf is a host buffer of bfloat16 values (kernels.BF16Weights).
type bf16Buf []uint16

func (b bf16Buf) Len() int { return len(b) }

var _ kernels.BF16Weights = (*Backend)(nil)

// ToBF16 returns a bfloat16 copy of w.
func (c *Backend) ToBF16(w kernels.Buffer) kernels.Buffer {
	W := Data(w)
	out := make(bf16Buf, len(W))
	c.parallel(len(W), 1<<16, func(lo, hi int) { simd.ToBF16(out[lo:hi], W[lo:hi]) })
	return out
}

// bf16Panel is the number of bfloat16 rows of w that GemmBF16 widens to
// float32 at once when x has many rows, to multiply them with Sgemm.
const bf16Panel = 64

// bf16DotRows is the most rows of x for which GemmBF16 takes one dot
// product per output (each row of w read once, from memory, for all rows
// of x); above it, w is widened panel by panel and multiplied with Sgemm.
const bf16DotRows = 8

// bf16DotBlock is how many rows of w GemmBF16 hands simd.DotRowsBF16 at
// once (read from memory for the first row of x, from cache for the rest).
const bf16DotBlock = 96

// GemmBF16 computes y = x·wᵀ (y += x·wᵀ when accumulate) with w [n, k] in
// bfloat16. Threads split the rows of w; every element of y is one dot
// product (or one Sgemm element) computed by one goroutine, so the result
// does not depend on the thread count.
func (c *Backend) GemmBF16(m, n, k int, x, w kernels.Buffer, accumulate bool, y kernels.Buffer) {
	X, Y := Data(x), Data(y)
	W, ok := w.(bf16Buf)
	if !ok {
		panic(fmt.Sprintf("cpu: GemmBF16 of a %T, not a buffer from ToBF16", w))
	}
	if len(X) < m*k || len(W) < n*k || len(Y) < m*n {
		panic(fmt.Sprintf("cpu: GemmBF16 %dx%dx%d with buffers of %d, %d, %d elements", m, n, k, len(X), len(W), len(Y)))
	}
	if m <= bf16DotRows {
		c.parallelWork(n, max(1, (1<<16)/max(k, 1)), m*n*k, func(lo, hi int) {
			var sums [bf16DotBlock]float32
			for j0 := lo; j0 < hi; j0 += bf16DotBlock {
				s := sums[:min(bf16DotBlock, hi-j0)]
				for i := 0; i < m; i++ {
					simd.DotRowsBF16(s, W[j0*k:], k, X[i*k:(i+1)*k])
					y := Y[i*n+j0 : i*n+j0+len(s)]
					for j, d := range s {
						if accumulate {
							d += y[j]
						}
						y[j] = d
					}
				}
			}
		})
		return
	}
	var beta float32
	if accumulate {
		beta = 1
	}
	panels := (n + bf16Panel - 1) / bf16Panel
	c.parallel(panels, 1, func(lo, hi int) {
		wf := make([]float32, bf16Panel*k)
		for p := lo; p < hi; p++ {
			j0, j1 := p*bf16Panel, min((p+1)*bf16Panel, n)
			simd.FromBF16(wf, W[j0*k:j1*k])
			// y[:, j0:j1] [m, j1-j0] = x [m, k] · wf [j1-j0, k]ᵀ
			c.ws.Sgemm(false, true, m, j1-j0, k, 1, X, k, wf, k, beta, Y[j0:], n, 1)
		}
	})
}
