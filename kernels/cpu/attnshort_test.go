package cpu

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkAttentionShort times the attention, forward and backward, over
// 768 tokens in segments of 6 to 48 (4 heads, 2 kv heads, hd 32: the
// default run's shapes), against the row-at-a-time reference in the same
// loop; segments of at most attnRowsMax tokens take the row path, so their
// ratio is 1 by construction and the times are what it gives.
func BenchmarkAttentionShort(b *testing.B) {
	for _, T := range []int{6, 12, 24, 48} {
		b.Run(fmt.Sprint(T), func(b *testing.B) {
			be := New(0)
			lens := make([]int, 768/T)
			for i := range lens {
				lens[i] = T
			}
			ac := newAttnCase(5, 4, 2, 32, lens...)
			n := int(ac.starts[len(ac.starts)-1])
			H, KV, hd := ac.heads, ac.kvHeads, ac.hd
			q, k, v := upload(be, ac.q), upload(be, ac.k), upload(be, ac.v)
			dout := upload(be, randF32(newRand(6), n*H*hd, -1, 1))
			out, lse := be.Alloc(n*H*hd), be.Alloc(n*H)
			dq, dk, dv := be.Alloc(n*H*hd), be.Alloc(n*KV*hd), be.Alloc(n*KV*hd)
			var rf, rb, tf, tb []float64
			for range b.N {
				t := [5]time.Time{time.Now()}
				be.Attention(out, lse, q, k, v, ac.starts, H, KV, hd, ac.scale)
				t[1] = time.Now()
				be.attentionRows(out, lse, q, k, v, ac.starts, H, KV, hd, ac.scale)
				t[2] = time.Now()
				be.AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, ac.starts, H, KV, hd, ac.scale)
				t[3] = time.Now()
				be.attentionBackwardRows(dq, dk, dv, dout, q, k, v, out, lse, ac.starts, H, KV, hd, ac.scale)
				t[4] = time.Now()
				rf = append(rf, float64(t[1].Sub(t[0]))/float64(t[2].Sub(t[1])))
				rb = append(rb, float64(t[3].Sub(t[2]))/float64(t[4].Sub(t[3])))
				tf = append(tf, float64(t[1].Sub(t[0]).Microseconds()))
				tb = append(tb, float64(t[3].Sub(t[2]).Microseconds()))
			}
			slices.Sort(rf)
			slices.Sort(rb)
			slices.Sort(tf)
			slices.Sort(tb)
			b.ReportMetric(rf[len(rf)/2], "fwd-blocked/rows")
			b.ReportMetric(rb[len(rb)/2], "bwd-blocked/rows")
			b.ReportMetric(tf[len(tf)/2], "fwd-us")
			b.ReportMetric(tb[len(tb)/2], "bwd-us")
		})
	}
}
