package cpu

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkAttentionCachedFanOut times one decode step's cached attention at
// the tiny model's shape (4 heads, 2 KV heads, head size 32) on two threads,
// as shipped (run inline below minParallelWork) and with the fan-out forced,
// alternately; "inline/fanout" is the median over pairs of the ratio of
// their times.
func BenchmarkAttentionCachedFanOut(b *testing.B) {
	const heads, kvHeads, hd, maxLen = 4, 2, 32, 256
	for _, tc := range []struct{ batch, length int }{{1, 64}, {1, 160}, {8, 160}} {
		b.Run(fmt.Sprintf("batch=%d/len=%d", tc.batch, tc.length), func(b *testing.B) {
			r := newRand(3)
			inline, fan := New(2), New(2)
			fan.minWork = 0
			q := upload(inline, randF32(r, tc.batch*heads*hd, -1, 1))
			kc := upload(inline, randF32(r, tc.batch*maxLen*kvHeads*hd, -1, 1))
			vc := upload(inline, randF32(r, tc.batch*maxLen*kvHeads*hd, -1, 1))
			out := inline.Alloc(tc.batch * heads * hd)
			slot, length := make([]int32, tc.batch), make([]int32, tc.batch)
			for i := range slot {
				slot[i], length[i] = int32(i), int32(tc.length)
			}
			ratios := make([]float64, 0, b.N)
			for range b.N {
				t0 := time.Now()
				inline.AttentionCached(out, q, kc, vc, slot, length, maxLen, heads, kvHeads, hd, 0.17)
				t1 := time.Now()
				fan.AttentionCached(out, q, kc, vc, slot, length, maxLen, heads, kvHeads, hd, 0.17)
				ratios = append(ratios, float64(t1.Sub(t0))/float64(time.Since(t1)))
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "inline/fanout")
		})
	}
}
