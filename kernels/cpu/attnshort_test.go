package cpu

import (
	"fmt"
	"testing"
)

// BenchmarkAttentionShort times the attention, forward and backward, over
// 768 tokens in segments of 6 to 48 (4 heads, 2 kv heads, hd 32: the
// default run's shapes), against the row-at-a-time reference in the same
// loop (benchAttention); segments of at most attnRowsMax tokens take the row
// path, so their ratio is 1 by construction and the times are what it gives.
func BenchmarkAttentionShort(b *testing.B) {
	for _, T := range []int{6, 12, 24, 48} {
		b.Run(fmt.Sprint(T), func(b *testing.B) {
			lens := make([]int, 768/T)
			for i := range lens {
				lens[i] = T
			}
			benchAttention(b, newAttnCase(5, 4, 2, 32, lens...))
		})
	}
}
