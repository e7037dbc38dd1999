package cpu

import (
	"math"
	"testing"
)

// TestThreadsBitIdentical runs every op with one goroutine and with four on
// the same inputs (sizes that split into several chunks) and requires the
// same bits.
func TestThreadsBitIdentical(t *testing.T) {
	r := newRand(21)
	// Inputs shared by both runs.
	const (
		gm, gn, gk     = 200, 150, 300
		n1             = 100003
		rows, d        = 300, 128
		N, H, KV, hd   = 150, 4, 2, 32
		tn, tv         = 20, 5000
		vocab, ed, eid = 97, 64, 500
	)
	ga, gb, gc := randF32(r, gm*gk, -1, 1), randF32(r, gk*gn, -1, 1), randF32(r, gm*gn, -1, 1)
	x1, y1 := randF32(r, n1, -1, 1), randF32(r, n1, -1, 1)
	rx, rw, rd := randF32(r, rows*d, -2, 2), randF32(r, d, 0.5, 1.5), randF32(r, rows*d, -1, 1)
	cos, sin := ropeTables(N, hd, 1e4)
	pos := randIDs(r, N, N)
	ac := newAttnCase(22, H, KV, hd, 60, 1, 89)
	dout := randF32(r, N*H*hd, -1, 1)
	logits, targets, dlogp := randF32(r, tn*tv, -5, 5), randIDs(r, tn, tv), randF32(r, tn, -1, 1)
	targets[3] = -1
	table, ids := randF32(r, vocab*ed, -1, 1), randIDs(r, eid, vocab)
	edout := randF32(r, eid*ed, -1, 1)
	p0, m0, v0 := randF32(r, n1, -1, 1), randF32(r, n1, -0.1, 0.1), randF32(r, n1, 0.001, 0.01)
	qslot, length := []int32{1, 0, 1}, []int32{40, 75, 3}

	run := func(be *Backend) map[string][]float32 {
		out := map[string][]float32{}
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, m := range []int{gm, 3} { // blocked and skinny paths
				c := upload(be, gc[:m*gn])
				be.Gemm(tr[0], tr[1], m, gn, gk, 1.5, upload(be, ga[:m*gk]), upload(be, gb), 0.5, c)
				out["gemm"] = append(out["gemm"], download(be, c)...)
			}
		}
		y := upload(be, y1)
		be.Axpy(0.3, upload(be, x1), y)
		be.Scale(-1.7, y)
		out["axpy+scale"] = download(be, y)
		out["sumsquares"] = []float32{float32(be.SumSquares(y)), float32(be.SumSquares(y) - float64(float32(be.SumSquares(y))))}

		o, rs := be.Alloc(rows*d), be.Alloc(rows)
		be.RMSNorm(o, rs, upload(be, rx), upload(be, rw), rows, d, 1e-6)
		dx, dw := be.Alloc(rows*d), be.Alloc(d)
		be.RMSNormBackward(dx, dw, upload(be, rd), upload(be, rx), upload(be, rw), rs, rows, d)
		out["rmsnorm"] = append(download(be, o), download(be, rs)...)
		out["rmsnorm backward"] = append(download(be, dx), download(be, dw)...)

		q := upload(be, ac.q)
		k := upload(be, ac.k)
		be.RoPE(q, upload(be, cos), upload(be, sin), pos, N, H, hd)
		be.RoPE(k, upload(be, cos), upload(be, sin), pos, N, KV, hd)
		out["rope"] = download(be, q)
		v := upload(be, ac.v)
		att, lse := be.Alloc(N*H*hd), be.Alloc(N*H)
		be.Attention(att, lse, q, k, v, ac.starts, H, KV, hd, ac.scale)
		out["attention"] = append(download(be, att), download(be, lse)...)
		dq, dk, dv := be.Alloc(N*H*hd), be.Alloc(N*KV*hd), be.Alloc(N*KV*hd)
		be.AttentionBackward(dq, dk, dv, upload(be, dout), q, k, v, att, lse, ac.starts, H, KV, hd, ac.scale)
		be.RoPEBackward(dq, upload(be, cos), upload(be, sin), pos, N, H, hd)
		out["attention backward"] = append(append(download(be, dq), download(be, dk)...), download(be, dv)...)
		ca := be.Alloc(N * H * hd)
		be.AttentionCached(be.Slice(ca, 0, 3*H*hd), be.Slice(q, 0, 3*H*hd), k, v, qslot, length, 75, H, KV, hd, ac.scale)
		out["attention cached"] = download(be, ca)

		g, u := upload(be, x1), upload(be, y1)
		act := be.Alloc(n1)
		be.SwiGLU(act, g, u, n1)
		dg, du := be.Alloc(n1), be.Alloc(n1)
		be.SwiGLUBackward(dg, du, act, g, u, n1)
		out["swiglu"] = append(append(download(be, act), download(be, dg)...), download(be, du)...)

		lg := upload(be, logits)
		lp, en := be.Alloc(tn), be.Alloc(tn)
		be.TokenLogProbs(lp, en, lg, targets, tn, tv)
		dl := be.Alloc(tn * tv)
		be.TokenLogProbsBackward(dl, lg, targets, upload(be, dlogp), tn, tv)
		out["logprobs"] = append(append(download(be, lp), download(be, en)...), download(be, dl)...)

		eo, dt := be.Alloc(eid*ed), upload(be, table)
		be.Embedding(eo, dt, ids, ed)
		be.EmbeddingBackward(dt, upload(be, edout), ids, ed)
		out["embedding"] = append(download(be, eo), download(be, dt)...)

		p, m, vv := upload(be, p0), upload(be, m0), upload(be, v0)
		be.AdamW(p, upload(be, x1), m, vv, 1e-3, 0.9, 0.95, 1e-8, 0.1, 2)
		be.Fill(m, 0.25)
		out["adamw"] = append(append(download(be, p), download(be, m)...), download(be, vv)...)
		return out
	}
	one, four := run(New(1)), run(New(4))
	for name, want := range one {
		got := four[name]
		for i := range want {
			if math.IsNaN(float64(want[i])) {
				t.Fatalf("%s: NaN at %d", name, i)
			}
		}
		checkBits(t, name+" (4 threads vs 1)", got, want)
	}
}
