package cpu

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/frontier-rl/frontier/kernels"
)

// attentionRows and attentionBackwardRows run the whole attention one query
// row at a time (attendRows, attnBackwardRows: the path of short segments),
// whatever the segments' lengths: the reference the blocked products are
// checked against.

func (c *Backend) attentionRows(out, lse, q, k, v kernels.Buffer, starts []int32, heads, kvHeads, hd int, scale float32) {
	O, L, Q, K, V := Data(out), Data(lse), Data(q), Data(k), Data(v)
	var tasks []attnTask
	for s := 0; s+1 < len(starts); s++ {
		for h := 0; h < heads; h++ {
			tasks = append(tasks, attnTask{s, h, int(starts[s]), int(starts[s+1])})
		}
	}
	c.parallel(len(tasks), 1, func(lo, hi int) {
		var scores []float32
		for _, tk := range tasks[lo:hi] {
			scores = attendRows(tk, int(starts[tk.seg]), O, L, Q, K, V, heads, kvHeads, hd, scale, scores)
		}
	})
}

func (c *Backend) attentionBackwardRows(dq, dk, dv, dout, q, k, v, out, lse kernels.Buffer, starts []int32, heads, kvHeads, hd int, scale float32) {
	var tasks []attnTask
	for s := 0; s+1 < len(starts); s++ {
		for kh := 0; kh < kvHeads; kh++ {
			tasks = append(tasks, attnTask{s, kh, int(starts[s]), int(starts[s+1])})
		}
	}
	c.parallel(len(tasks), 1, func(lo, hi int) {
		var w attnBwdScratch
		for _, tk := range tasks[lo:hi] {
			attnBackwardRows(&w, tk, dq, dk, dv, dout, q, k, v, out, lse, heads, kvHeads, hd, scale)
		}
	})
}

// TestAttentionBlockedMatchesRows: the blocked attention, forward and
// backward, agrees with the row-at-a-time reference on segments shorter
// and longer than a block (outputs NaN-filled beforehand, so an unwritten
// element shows), within float32 rounding.
func TestAttentionBlockedMatchesRows(t *testing.T) {
	be := newTestBackend()
	for ci, ac := range []attnCase{
		newAttnCase(21, 4, 2, 32, 128, 7, 65, 1),
		newAttnCase(22, 6, 3, 16, 200, 64),
		newAttnCase(23, 2, 1, 8, 3, 130),
	} {
		n := int(ac.starts[len(ac.starts)-1])
		H, KV, hd := ac.heads, ac.kvHeads, ac.hd
		name := fmt.Sprintf("case %d (H=%d KV=%d hd=%d N=%d)", ci, H, KV, hd, n)
		q, k, v := upload(be, ac.q), upload(be, ac.k), upload(be, ac.v)
		run := func(fwd func(out, lse kernels.Buffer), bwd func(dq, dk, dv, dout, out, lse kernels.Buffer)) [][]float32 {
			out, lse := upload(be, nanF32(n*H*hd)), upload(be, nanF32(n*H))
			fwd(out, lse)
			dout := randF32(newRand(uint64(300+ci)), n*H*hd, -1, 1)
			dq, dk, dv := upload(be, nanF32(n*H*hd)), upload(be, nanF32(n*KV*hd)), upload(be, nanF32(n*KV*hd))
			bwd(dq, dk, dv, upload(be, dout), out, lse)
			return [][]float32{download(be, out), download(be, lse), download(be, dq), download(be, dk), download(be, dv)}
		}
		got := run(func(out, lse kernels.Buffer) {
			be.Attention(out, lse, q, k, v, ac.starts, H, KV, hd, ac.scale)
		}, func(dq, dk, dv, dout, out, lse kernels.Buffer) {
			be.AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, ac.starts, H, KV, hd, ac.scale)
		})
		want := run(func(out, lse kernels.Buffer) {
			be.attentionRows(out, lse, q, k, v, ac.starts, H, KV, hd, ac.scale)
		}, func(dq, dk, dv, dout, out, lse kernels.Buffer) {
			be.attentionBackwardRows(dq, dk, dv, dout, q, k, v, out, lse, ac.starts, H, KV, hd, ac.scale)
		})
		for i, what := range []string{"out", "lse", "dq", "dk", "dv"} {
			w := f64(want[i])
			var scale float64
			for _, x := range w {
				scale = math.Max(scale, math.Abs(x))
			}
			checkClose(t, name+" "+what, got[i], w, 1e-5, constF64(len(w), scale))
		}
	}
}

// BenchmarkAttentionBlocked times the tiny model's attention, forward and
// backward (8 segments of 128 tokens, 4 heads, 2 kv heads, hd 32), blocked
// against the row-at-a-time reference (benchAttention).
func BenchmarkAttentionBlocked(b *testing.B) {
	benchAttention(b, newAttnCase(5, 4, 2, 32, 128, 128, 128, 128, 128, 128, 128, 128))
}

// benchAttention times the backend's attention, forward and backward, and
// the row-at-a-time reference, alternating in one loop: the metrics are the
// medians over pairs of the ratio of their times, and of the backend's own
// times in microseconds.
func benchAttention(b *testing.B, ac attnCase) {
	be := New(0)
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
	median := func(x []float64) float64 {
		slices.Sort(x)
		return x[len(x)/2]
	}
	b.ReportMetric(median(rf), "fwd-blocked/rows")
	b.ReportMetric(median(rb), "bwd-blocked/rows")
	b.ReportMetric(median(tf), "fwd-us")
	b.ReportMetric(median(tb), "bwd-us")
}
