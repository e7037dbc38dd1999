package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/frontier-rl/frontier/kernels/kerneltest"
	"github.com/frontier-rl/frontier/kernels/simd"
)

// The op tests compare every method of the backend with the float64 naive
// references of naive_test.go on random inputs, and the backward methods also
// with finite differences of those references. The backend under test uses
// three goroutines, so the parallel paths run.

func newTestBackend() *Backend { return New(3) }

func TestName(t *testing.T) {
	be := New(1)
	if p := gemmPath(); be.Name() != "cpu/"+string(p) || (p != simd.PathAVX2 && p != simd.PathGo) {
		t.Errorf("Name() = %q", be.Name())
	}
}

func TestBuffers(t *testing.T) {
	be := newTestBackend()
	r := newRand(1)
	x := randF32(r, 100, -1, 1)
	b := upload(be, x)
	checkBits(t, "upload/download", download(be, b), x)
	s := be.Slice(b, 10, 20)
	checkBits(t, "slice", download(be, s), x[10:30])
	be.Fill(s, 2.5)
	got := download(be, b)
	for i := 10; i < 30; i++ {
		if got[i] != 2.5 {
			t.Fatalf("Fill through a slice: [%d] = %v", i, got[i])
		}
	}
	checkBits(t, "fill outside the slice", got[:10], x[:10])
	c := be.Alloc(100)
	be.Copy(c, b)
	checkBits(t, "copy", download(be, c), got)
}

type gemmShape struct{ m, n, k int }

func gemmTestShapes() []gemmShape {
	return []gemmShape{
		{1, 1, 1}, {1, 67, 13}, {2, 3, 5}, {7, 11, 13}, {6, 16, 4}, {17, 31, 61},
		{33, 64, 67}, {64, 64, 64}, {5, 257, 29}, {61, 37, 300}, {257, 23, 41},
		{130, 97, 257}, {3, 1000, 64},
	}
}

func TestGemm(t *testing.T) {
	be := newTestBackend()
	r := newRand(2)
	for _, sh := range gemmTestShapes() {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, beta := range []float32{0, 1, -0.5} {
					m, n, k := sh.m, sh.n, sh.k
					alpha := float32(1)
					if beta < 0 {
						alpha = 1.5
					}
					name := fmt.Sprintf("Gemm(%v,%v,%dx%dx%d,alpha=%v,beta=%v)", ta, tb, m, n, k, alpha, beta)
					a := randF32(r, m*k, -1, 1)
					b := randF32(r, k*n, -1, 1)
					c0 := randF32(r, m*n, -1, 1)
					lda, ldb, ldc := kerneltest.Lds(ta, tb, m, n, k)
					want, mag := kerneltest.Gemm64(ta, tb, m, n, k, float64(alpha), a, lda, b, ldb, float64(beta), c0, ldc)
					cin := c0
					if beta == 0 {
						cin = nanF32(m * n)
					}
					// Guarded buffers: no write past either end, A and B unchanged.
					ga, gb, gc := kerneltest.NewInput(a), kerneltest.NewInput(b), kerneltest.NewGuarded(cin)
					be.Gemm(ta, tb, m, n, k, alpha, Wrap(ga.Data), Wrap(gb.Data), beta, Wrap(gc.Data))
					if err := kerneltest.CheckAll([]string{"a", "b", "c"}, ga, gb, gc); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					checkClose(t, name, gc.Data, want, 2e-6, mag)
				}
			}
		}
	}
}

func TestAxpyScaleSumSquares(t *testing.T) {
	be := newTestBackend()
	r := newRand(3)
	for _, n := range []int{1, 7, 8, 67, 257, 40000} {
		x, y := randF32(r, n, -2, 2), randF32(r, n, -2, 2)
		xb, yb := upload(be, x), upload(be, y)
		be.Axpy(-0.75, xb, yb)
		want := make([]float64, n)
		mag := make([]float64, n)
		for i := range want {
			want[i] = float64(y[i]) - 0.75*float64(x[i])
			mag[i] = math.Abs(float64(y[i])) + 0.75*math.Abs(float64(x[i]))
		}
		checkClose(t, fmt.Sprintf("Axpy n=%d", n), download(be, yb), want, 1e-7, mag)

		be.Scale(1.25, xb)
		for i := range want {
			want[i] = 1.25 * float64(x[i])
		}
		checkClose(t, fmt.Sprintf("Scale n=%d", n), download(be, xb), want, 1e-7, nil)

		var ss float64
		for _, v := range y {
			ss += float64(v) * float64(v)
		}
		if got := be.SumSquares(upload(be, y)); math.Abs(got-ss) > 1e-12*ss {
			t.Errorf("SumSquares n=%d: %v, want %v", n, got, ss)
		}
	}
}

func TestEmbedding(t *testing.T) {
	be := newTestBackend()
	r := newRand(4)
	const vocab, d, n = 37, 24, 50
	table := randF32(r, vocab*d, -1, 1)
	ids := randIDs(r, n, vocab)
	ids[1] = ids[0] // a repeated id
	out := upload(be, nanF32(n*d))
	be.Embedding(out, upload(be, table), ids, d)
	checkClose(t, "Embedding", download(be, out), naiveEmbedding(f64(table), ids, d), 0, nil)

	dout := randF32(r, n*d, -1, 1)
	dt0 := randF32(r, vocab*d, -1, 1)
	dt := upload(be, dt0)
	be.EmbeddingBackward(dt, upload(be, dout), ids, d)
	want := f64(dt0)
	mag := make([]float64, len(want))
	for i, id := range ids {
		for j := 0; j < d; j++ {
			want[int(id)*d+j] += float64(dout[i*d+j])
			mag[int(id)*d+j] += math.Abs(float64(dout[i*d+j]))
		}
	}
	checkClose(t, "EmbeddingBackward", download(be, dt), want, 1e-6, mag)

	// The gradient by finite differences of Σ r·Embedding(table).
	tab := f64(table)
	rr := f64(dout)
	dt2 := be.Alloc(vocab * d)
	be.EmbeddingBackward(dt2, upload(be, dout), ids, d)
	checkGrad(t, "EmbeddingBackward (finite differences)", download(be, dt2), tab, func() float64 {
		return dot64(rr, naiveEmbedding(tab, ids, d))
	})
}

func TestRMSNorm(t *testing.T) {
	be := newTestBackend()
	r := newRand(5)
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {5, 64}, {37, 33}, {300, 128}} {
		rows, d := sh[0], sh[1]
		const eps = 1e-6
		x, w := randF32(r, rows*d, -2, 2), randF32(r, d, 0.5, 1.5)
		out, rstd := upload(be, nanF32(rows*d)), upload(be, nanF32(rows))
		xb, wb := upload(be, x), upload(be, w)
		be.RMSNorm(out, rstd, xb, wb, rows, d, eps)
		wantOut, wantR := naiveRMSNorm(f64(x), f64(w), rows, d, eps)
		name := fmt.Sprintf("RMSNorm %dx%d", rows, d)
		checkClose(t, name+" out", download(be, out), wantOut, 3e-6, nil)
		checkClose(t, name+" rstd", download(be, rstd), wantR, 2e-6, nil)

		if rows*d > 2000 || d == 1 {
			// Finite differences only on the small shapes; with d = 1 the
			// output is ±w and its x-gradient (of order eps) is below
			// float32 resolution.
			continue
		}
		dout := randF32(r, rows*d, -1, 1)
		dx0, dw0 := randF32(r, rows*d, -1, 1), randF32(r, d, -1, 1)
		dx, dw := upload(be, dx0), upload(be, dw0)
		be.RMSNormBackward(dx, dw, upload(be, dout), xb, wb, rstd, rows, d)
		gx, gw := download(be, dx), download(be, dw)
		for i := range gx {
			gx[i] -= dx0[i] // it accumulates
		}
		for i := range gw {
			gw[i] -= dw0[i]
		}
		x64, w64, rr := f64(x), f64(w), f64(dout)
		loss := func() float64 {
			o, _ := naiveRMSNorm(x64, w64, rows, d, eps)
			return dot64(rr, o)
		}
		checkGrad(t, name+" dx", gx, x64, loss)
		checkGrad(t, name+" dw", gw, w64, loss)
	}
}

func TestRoPE(t *testing.T) {
	be := newTestBackend()
	r := newRand(6)
	const n, heads, hd, maxPos = 13, 3, 16, 40
	cos, sin := ropeTables(maxPos, hd, 1e4)
	pos := randIDs(r, n, maxPos)
	x := randF32(r, n*heads*hd, -1, 1)
	xb := upload(be, x)
	cb, sb := upload(be, cos), upload(be, sin)
	be.RoPE(xb, cb, sb, pos, n, heads, hd)
	x64, c64, s64 := f64(x), f64(cos), f64(sin)
	checkClose(t, "RoPE", download(be, xb), naiveRoPE(x64, c64, s64, pos, n, heads, hd), 1e-6, constF64(len(x), 1))

	g := randF32(r, len(x), -1, 1)
	gb := upload(be, g)
	be.RoPEBackward(gb, cb, sb, pos, n, heads, hd)
	rr := f64(g)
	checkGrad(t, "RoPEBackward", download(be, gb), x64, func() float64 {
		return dot64(rr, naiveRoPE(x64, c64, s64, pos, n, heads, hd))
	})
}

// attnCase is a packed batch for the attention tests.
type attnCase struct {
	starts             []int32
	heads, kvHeads, hd int
	q, k, v            []float32
	scale              float32
}

func newAttnCase(seed uint64, heads, kvHeads, hd int, lengths ...int) attnCase {
	r := newRand(seed)
	starts := startsOf(lengths...)
	n := int(starts[len(starts)-1])
	return attnCase{
		starts: starts, heads: heads, kvHeads: kvHeads, hd: hd,
		q:     randF32(r, n*heads*hd, -1.5, 1.5),
		k:     randF32(r, n*kvHeads*hd, -1.5, 1.5),
		v:     randF32(r, n*kvHeads*hd, -1, 1),
		scale: float32(1 / math.Sqrt(float64(hd))),
	}
}

func TestAttention(t *testing.T) {
	be := newTestBackend()
	for ci, ac := range []attnCase{
		newAttnCase(7, 4, 2, 8, 5, 1, 17, 9),
		newAttnCase(8, 6, 3, 12, 3, 40),
		newAttnCase(9, 2, 2, 4, 1),
		newAttnCase(10, 8, 1, 16, 70, 33),
	} {
		n := int(ac.starts[len(ac.starts)-1])
		H, KV, hd := ac.heads, ac.kvHeads, ac.hd
		name := fmt.Sprintf("case %d (H=%d KV=%d hd=%d N=%d)", ci, H, KV, hd, n)
		q, k, v := upload(be, ac.q), upload(be, ac.k), upload(be, ac.v)
		out, lse := upload(be, nanF32(n*H*hd)), upload(be, nanF32(n*H))
		be.Attention(out, lse, q, k, v, ac.starts, H, KV, hd, ac.scale)
		q64, k64, v64 := f64(ac.q), f64(ac.k), f64(ac.v)
		wantOut, wantLse := naiveAttention(q64, k64, v64, ac.starts, H, KV, hd, float64(ac.scale))
		checkClose(t, name+" out", download(be, out), wantOut, 1e-5, constF64(len(wantOut), 1))
		checkClose(t, name+" lse", download(be, lse), wantLse, 1e-5, constF64(len(wantLse), 1))

		if n > 40 {
			continue // finite differences only on the small batches
		}
		r := newRand(uint64(100 + ci))
		dout := randF32(r, n*H*hd, -1, 1)
		dq, dk, dv := upload(be, nanF32(n*H*hd)), upload(be, nanF32(n*KV*hd)), upload(be, nanF32(n*KV*hd))
		be.AttentionBackward(dq, dk, dv, upload(be, dout), q, k, v, out, lse, ac.starts, H, KV, hd, ac.scale)
		rr := f64(dout)
		loss := func() float64 {
			o, _ := naiveAttention(q64, k64, v64, ac.starts, H, KV, hd, float64(ac.scale))
			return dot64(rr, o)
		}
		checkGrad(t, name+" dq", download(be, dq), q64, loss)
		checkGrad(t, name+" dk", download(be, dk), k64, loss)
		checkGrad(t, name+" dv", download(be, dv), v64, loss)
	}
}

func TestKVWriteAttentionCached(t *testing.T) {
	be := newTestBackend()
	r := newRand(11)
	const slots, maxLen, H, KV, hd = 3, 20, 4, 2, 16
	width := KV * hd
	scale := float32(1 / math.Sqrt(hd))
	// Fill the caches row by row through KVWrite, in a shuffled order.
	kc, vc := upload(be, nanF32(slots*maxLen*width)), upload(be, nanF32(slots*maxLen*width))
	kh := randF32(r, slots*maxLen*width, -1.5, 1.5)
	vh := randF32(r, slots*maxLen*width, -1, 1)
	var slot, pos []int32
	for _, p := range r.Perm(slots * maxLen) {
		slot = append(slot, int32(p/maxLen))
		pos = append(pos, int32(p%maxLen))
	}
	src := func(h []float32) []float32 {
		out := make([]float32, 0, len(slot)*width)
		for i := range slot {
			off := (int(slot[i])*maxLen + int(pos[i])) * width
			out = append(out, h[off:off+width]...)
		}
		return out
	}
	be.KVWrite(kc, upload(be, src(kh)), slot, pos, maxLen, width)
	be.KVWrite(vc, upload(be, src(vh)), slot, pos, maxLen, width)
	checkBits(t, "KVWrite keys", download(be, kc), kh)
	checkBits(t, "KVWrite values", download(be, vc), vh)

	qslot := []int32{2, 0, 1, 2, 0}
	length := []int32{1, 20, 7, 13, 2}
	n := len(qslot)
	q := randF32(r, n*H*hd, -1.5, 1.5)
	out := upload(be, nanF32(n*H*hd))
	be.AttentionCached(out, upload(be, q), kc, vc, qslot, length, maxLen, H, KV, hd, scale)
	// The reference: each row as the last token of a sequence made of its
	// slot's first length[i] cached positions (the query's own row is never
	// read, as the cache holds its key).
	want := make([]float64, 0, n*H*hd)
	for i := 0; i < n; i++ {
		L := int(length[i])
		base := int(qslot[i]) * maxLen * width
		qq := make([]float64, L*H*hd)
		copy(qq[(L-1)*H*hd:], f64(q[i*H*hd:(i+1)*H*hd]))
		o, _ := naiveAttention(qq, f64(kh[base:base+L*width]), f64(vh[base:base+L*width]), startsOf(L), H, KV, hd, float64(scale))
		want = append(want, o[(L-1)*H*hd:]...)
	}
	checkClose(t, "AttentionCached", download(be, out), want, 1e-5, constF64(len(want), 1))
}

func TestSwiGLU(t *testing.T) {
	be := newTestBackend()
	r := newRand(12)
	for _, n := range []int{1, 7, 8, 67, 257, 20000} {
		g, u := randF32(r, n, -8, 8), randF32(r, n, -2, 2)
		want := naiveSwiGLU(f64(g), f64(u))
		out := upload(be, nanF32(n))
		be.SwiGLU(out, upload(be, g), upload(be, u), n)
		checkClose(t, fmt.Sprintf("SwiGLU n=%d", n), download(be, out), want, 2e-6, nil)
		gb, ub := upload(be, g), upload(be, u)
		be.SwiGLU(gb, gb, ub, n)
		checkClose(t, fmt.Sprintf("SwiGLU in place of gate n=%d", n), download(be, gb), want, 2e-6, nil)
		gb = upload(be, g)
		be.SwiGLU(ub, gb, ub, n)
		checkClose(t, fmt.Sprintf("SwiGLU in place of up n=%d", n), download(be, ub), want, 2e-6, nil)

		if n > 300 {
			continue
		}
		dout := randF32(r, n, -1, 1)
		dg, du := upload(be, nanF32(n)), upload(be, nanF32(n))
		be.SwiGLUBackward(dg, du, upload(be, dout), upload(be, g), upload(be, u), n)
		g64, u64, rr := f64(g), f64(u), f64(dout)
		loss := func() float64 { return dot64(rr, naiveSwiGLU(g64, u64)) }
		checkGrad(t, fmt.Sprintf("SwiGLUBackward dgate n=%d", n), download(be, dg), g64, loss)
		checkGrad(t, fmt.Sprintf("SwiGLUBackward dup n=%d", n), download(be, du), u64, loss)
	}
}

func TestTokenLogProbs(t *testing.T) {
	be := newTestBackend()
	r := newRand(13)
	for _, sh := range [][2]int{{1, 1}, {3, 5}, {9, 67}, {6, 257}, {4, 5000}} {
		n, v := sh[0], sh[1]
		name := fmt.Sprintf("TokenLogProbs %dx%d", n, v)
		logits := randF32(r, n*v, -6, 6)
		targets := randIDs(r, n, v)
		if n > 1 {
			targets[1] = -1 // no target
		}
		lg := upload(be, logits)
		lp, en := upload(be, nanF32(n)), upload(be, nanF32(n))
		be.TokenLogProbs(lp, en, lg, targets, n, v)
		wantLp, wantEn := naiveTokenLogProbs(f64(logits), targets, n, v)
		checkClose(t, name+" logp", download(be, lp), wantLp, 1e-5, constF64(n, 1))
		checkClose(t, name+" entropy", download(be, en), wantEn, 1e-5, constF64(n, 1))
		lp2 := upload(be, nanF32(n))
		be.TokenLogProbs(lp2, nil, lg, targets, n, v)
		checkBits(t, name+" logp without entropy", download(be, lp2), download(be, lp))

		dlogp := randF32(r, n, -1, 1)
		if n > 2 {
			dlogp[2] = 0 // a zero weight gives a zero row
		}
		dl := upload(be, nanF32(n*v))
		be.TokenLogProbsBackward(dl, lg, targets, upload(be, dlogp), n, v)
		got := download(be, dl)
		if n*v > 2000 {
			continue
		}
		lg64, rr := f64(logits), f64(dlogp)
		checkGrad(t, name+" backward", got, lg64, func() float64 {
			l, _ := naiveTokenLogProbs(lg64, targets, n, v)
			return dot64(rr, l)
		})
	}
}

func TestAdamW(t *testing.T) {
	be := newTestBackend()
	r := newRand(14)
	const n = 1000
	const lr, b1, b2, eps, wd = 1e-2, 0.9, 0.95, 1e-8, 0.1
	p, m, v := randF32(r, n, -1, 1), randF32(r, n, -0.1, 0.1), randF32(r, n, 0.001, 0.01)
	pb, mb, vb := upload(be, p), upload(be, m), upload(be, v)
	p64, m64, v64 := f64(p), f64(m), f64(v)
	for step := 1; step <= 3; step++ {
		g := randF32(r, n, -1, 1)
		be.AdamW(pb, upload(be, g), mb, vb, lr, b1, b2, eps, wd, step)
		naiveAdamW(p64, f64(g), m64, v64, lr, b1, b2, eps, wd, step)
		checkClose(t, fmt.Sprintf("AdamW step %d p", step), download(be, pb), p64, 1e-5, constF64(n, 1))
		mmag, vmag := make([]float64, n), make([]float64, n)
		for i := range mmag {
			// The moments are sums of two terms: scale the tolerance by them.
			mmag[i] = math.Abs(m64[i]) + math.Abs(float64(g[i]))
			vmag[i] = v64[i] + float64(g[i])*float64(g[i])
		}
		checkClose(t, fmt.Sprintf("AdamW step %d m", step), download(be, mb), m64, 5e-6, mmag)
		checkClose(t, fmt.Sprintf("AdamW step %d v", step), download(be, vb), v64, 5e-6, vmag)
	}
}

// TestGemmEmptyDimensions: with k = 0 the product is empty and C = beta·C;
// with m or n = 0 nothing is touched.
func TestGemmEmptyDimensions(t *testing.T) {
	b := New(2)
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		c := []float32{1, 2, 3, 4, 5, 6}
		b.Gemm(tr[0], tr[1], 2, 3, 0, 1, Wrap(nil), Wrap(nil), 0.5, Wrap(c))
		for i, v := range c {
			if want := 0.5 * float32(i+1); v != want {
				t.Fatalf("transA=%v transB=%v: C[%d] = %v, want %v", tr[0], tr[1], i, v, want)
			}
		}
		b.Gemm(tr[0], tr[1], 0, 3, 4, 1, Wrap(nil), Wrap(make([]float32, 12)), 0, Wrap(nil))
		b.Gemm(tr[0], tr[1], 2, 0, 4, 1, Wrap(make([]float32, 8)), Wrap(nil), 0, Wrap(nil))
	}
}
