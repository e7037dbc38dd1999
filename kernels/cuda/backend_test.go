//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/cpu"
)

// tolFP32 is the largest |gpu − cpu| over the largest |cpu| of an output.
// TF32 products are held to an elementwise bound instead (see tf32Ref).
const tolFP32 = 1e-5

var (
	gpu *Backend     // the backend under test (FP32 products)
	ref *cpu.Backend // the reference
)

func TestMain(m *testing.M) {
	loadCheck()
	be, err := newTestBackend()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cuda tests:", err)
		os.Exit(1)
	}
	gpu, ref = be, cpu.New(0)
	code := m.Run()
	if err := be.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "cuda tests:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
}

// randF32 returns n values uniform in [lo, hi).
func randF32(r *rand.Rand, n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return out
}

func randIDs(r *rand.Rand, n, limit int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(limit))
	}
	return out
}

func nanF32(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	return out
}

// pair holds the same data on both backends.
type pair struct{ c, g kernels.Buffer }

// both uploads x to the CPU and the GPU backend.
func both(x []float32) pair {
	p := pair{ref.Alloc(len(x)), gpu.Alloc(len(x))}
	ref.Upload(p.c, x)
	gpu.Upload(p.g, x)
	return p
}

// withInit is a pair whose GPU side starts as gpuInit (NaN proves that an
// output is overwritten) and whose CPU side starts as cpuInit.
func withInit(cpuInit, gpuInit []float32) pair {
	p := pair{ref.Alloc(len(cpuInit)), gpu.Alloc(len(gpuInit))}
	ref.Upload(p.c, cpuInit)
	gpu.Upload(p.g, gpuInit)
	return p
}

func host(b kernels.Buffer) []float32 {
	out := make([]float32, b.Len())
	if _, ok := b.(Buf); ok {
		gpu.Download(out, b)
	} else {
		ref.Download(out, b)
	}
	return out
}

// relErr is max|got − want| / max|want| (NaN in got counts as infinite).
func relErr(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			return math.Inf(1)
		}
		d = max(d, math.Abs(g-w))
		m = max(m, math.Abs(w))
	}
	if m == 0 {
		return d
	}
	return d / m
}

// check compares the GPU side of p with its CPU side.
func check(t *testing.T, name string, p pair, tol float64) {
	t.Helper()
	got, want := host(p.g), host(p.c)
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	if e := relErr(got, want); e > tol || math.IsNaN(e) {
		t.Errorf("%s: relative error %.3g > %.3g", name, e, tol)
	} else {
		t.Logf("%s: relative error %.3g", name, e)
	}
}

func TestGemm(t *testing.T) {
	tf, err := newTF32Backend()
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	r := newRand(1)
	for _, sz := range [][3]int{{37, 53, 71}, {1, 300, 129}, {64, 64, 1}, {128, 96, 512}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, beta := range []float32{0, 1.3} {
					name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_beta%v", m, n, k, tA, tB, beta)
					t.Run(name, func(t *testing.T) {
						ah, bh := randF32(r, m*k, -1, 1), randF32(r, k*n, -1, 1)
						a, b := both(ah), both(bh)
						c0 := randF32(r, m*n, -1, 1)
						gInit := c0
						if beta == 0 {
							gInit = nanF32(m * n)
						}
						c := withInit(c0, gInit)
						ref.Gemm(tA, tB, m, n, k, 0.7, a.c, b.c, beta, c.c)
						gpu.Gemm(tA, tB, m, n, k, 0.7, a.g, b.g, beta, c.g)
						check(t, "fp32", c, tolFP32)
						ct := withInit(c0, gInit)
						tf.Gemm(tA, tB, m, n, k, 0.7, a.g, b.g, beta, ct.g)
						want, bound := tf32Ref(tA, tB, m, n, k, 0.7, ah, bh, beta, c0)
						checkTF32(t, host(ct.g), want, bound)
					})
				}
			}
		}
	}
	t.Run("k0", func(t *testing.T) { // C = beta·C, checked by hand
		c0 := randF32(r, 6, -1, 1)
		for _, beta := range []float32{0, 1, 0.5} {
			want := make([]float32, len(c0))
			for i := range want {
				want[i] = beta * c0[i]
			}
			c := withInit(want, c0)
			gpu.Gemm(false, false, 2, 3, 0, 1, gpu.Alloc(0), gpu.Alloc(0), beta, c.g)
			check(t, fmt.Sprintf("beta%v", beta), c, 0)
		}
	})
}

// tf32Ref returns C = alpha·op(A)·op(B) + beta·C0 computed in float64 on
// TF32-rounded inputs (row-major, as Gemm), and for each element a bound on
// how far a TF32 product may be from it. Tensor cores may truncate instead of
// round, so each input is within one TF32 ulp (2⁻¹⁰ relative) of the rounded
// one and each product within (2⁻⁹ + 2⁻²⁰)·|ab|; the products of TF32 inputs
// are exact in FP32, and a sum of k of them in FP32, in any order, is within
// k·2⁻²⁴·Σ|ab| of the exact sum; scaling by alpha and adding beta·C0 rounds
// twice more (2⁻²³ of the magnitudes).
func tf32Ref(tA, tB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c0 []float32) (want, bound []float64) {
	at := func(i, p int) float64 { // op(A)[i, p]
		if tA {
			return float64(roundTF32(a[p*m+i]))
		}
		return float64(roundTF32(a[i*k+p]))
	}
	bt := func(p, j int) float64 { // op(B)[p, j]
		if tB {
			return float64(roundTF32(b[j*k+p]))
		}
		return float64(roundTF32(b[p*n+j]))
	}
	rel := math.Ldexp(1, -9) + math.Ldexp(1, -19) + float64(k)*math.Ldexp(1, -24)
	want, bound = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, abs float64
			for p := range k {
				x := at(i, p) * bt(p, j)
				s += x
				abs += math.Abs(x)
			}
			al := math.Abs(float64(alpha))
			want[i*n+j] = float64(alpha) * s
			bc := 0.0
			if beta != 0 {
				bc = float64(beta) * float64(c0[i*n+j])
				want[i*n+j] += bc
			}
			bound[i*n+j] = al*abs*rel + math.Ldexp(1, -23)*(al*abs+math.Abs(bc))
		}
	}
	return want, bound
}

// checkTF32 demands |got − want| <= bound elementwise, and logs the largest
// ratio of error to bound.
func checkTF32(t *testing.T, got []float32, want, bound []float64) {
	t.Helper()
	worst, bad := 0.0, 0
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) || d > bound[i] {
			if bad++; bad <= 3 {
				t.Errorf("tf32: element %d = %v, want %v within %.3g", i, got[i], want[i], bound[i])
			}
			continue
		}
		if bound[i] > 0 {
			worst = max(worst, d/bound[i])
		}
	}
	if bad > 3 {
		t.Errorf("tf32: %d elements out of bounds", bad)
	}
	t.Logf("tf32: largest error %.3g of its bound", worst)
}

func TestBufferOps(t *testing.T) {
	r := newRand(2)
	x := randF32(r, 1000, -2, 2)
	p := both(x)
	// Slices, partial uploads, copies and fills.
	ref.Fill(ref.Slice(p.c, 10, 20), 3.5)
	gpu.Fill(gpu.Slice(p.g, 10, 20), 3.5)
	y := randF32(r, 7, -1, 1)
	ref.Upload(ref.Slice(p.c, 500, 100), y)
	gpu.Upload(gpu.Slice(p.g, 500, 100), y)
	ref.Copy(ref.Slice(p.c, 900, 50), ref.Slice(p.c, 0, 50))
	gpu.Copy(gpu.Slice(p.g, 900, 50), gpu.Slice(p.g, 0, 50))
	check(t, "fill/upload/copy", p, 0)
	part := make([]float32, 5)
	gpu.Download(part, gpu.Slice(p.g, 12, 30))
	for _, v := range part {
		if v != 3.5 {
			t.Fatalf("download of a slice gave %v", part)
		}
	}
	z := gpu.Alloc(333)
	for _, v := range host(z) {
		if v != 0 {
			t.Fatal("Alloc did not zero")
		}
	}
	ref.Axpy(-0.3, ref.Slice(p.c, 0, 400), ref.Slice(p.c, 400, 400))
	gpu.Axpy(-0.3, gpu.Slice(p.g, 0, 400), gpu.Slice(p.g, 400, 400))
	ref.Scale(1.7, p.c)
	gpu.Scale(1.7, p.g)
	check(t, "axpy/scale", p, tolFP32)
}

func TestSumSquares(t *testing.T) {
	r := newRand(3)
	for _, n := range []int{1, 1000, 65536, 200003} {
		p := both(randF32(r, n, -3, 3))
		want, got := ref.SumSquares(p.c), gpu.SumSquares(p.g)
		if math.Abs(got-want) > 1e-12*want {
			t.Errorf("n=%d: SumSquares %.17g, want %.17g", n, got, want)
		}
	}
}

func TestEmbedding(t *testing.T) {
	r := newRand(4)
	const V, d, n = 50, 72, 300 // many repeated ids
	table := both(randF32(r, V*d, -1, 1))
	ids := randIDs(r, n, V)
	out := withInit(make([]float32, n*d), nanF32(n*d))
	ref.Embedding(out.c, table.c, ids, d)
	gpu.Embedding(out.g, table.g, ids, d)
	check(t, "gather", out, 0)
	dout := both(randF32(r, n*d, -1, 1))
	dtab := both(randF32(r, V*d, -1, 1)) // accumulates
	ref.EmbeddingBackward(dtab.c, dout.c, ids, d)
	gpu.EmbeddingBackward(dtab.g, dout.g, ids, d)
	check(t, "scatter-add", dtab, tolFP32)
}

func TestRMSNorm(t *testing.T) {
	r := newRand(5)
	for _, sz := range [][2]int{{67, 300}, {1000, 64}, {3, 2048}, {5, 7}} {
		rows, d := sz[0], sz[1]
		t.Run(fmt.Sprintf("rows%d_d%d", rows, d), func(t *testing.T) {
			x, w := both(randF32(r, rows*d, -2, 2)), both(randF32(r, d, 0.5, 1.5))
			out := withInit(make([]float32, rows*d), nanF32(rows*d))
			rstd := withInit(make([]float32, rows), nanF32(rows))
			ref.RMSNorm(out.c, rstd.c, x.c, w.c, rows, d, 1e-6)
			gpu.RMSNorm(out.g, rstd.g, x.g, w.g, rows, d, 1e-6)
			check(t, "out", out, tolFP32)
			check(t, "rstd", rstd, tolFP32)
			dout := both(randF32(r, rows*d, -1, 1))
			dx, dw := both(randF32(r, rows*d, -1, 1)), both(randF32(r, d, -1, 1)) // accumulate
			ref.RMSNormBackward(dx.c, dw.c, dout.c, x.c, w.c, rstd.c, rows, d)
			gpu.RMSNormBackward(dx.g, dw.g, dout.g, x.g, w.g, rstd.c2g(), rows, d)
			check(t, "dx", dx, tolFP32)
			check(t, "dw", dw, tolFP32)
		})
	}
}

// c2g uploads the CPU side of a pair to a new GPU buffer, so a backward sees
// exactly the forward values the reference saw.
func (p pair) c2g() kernels.Buffer {
	g := gpu.Alloc(p.c.Len())
	gpu.Upload(g, host(p.c))
	return g
}

func TestRoPE(t *testing.T) {
	r := newRand(6)
	const n, heads, hd, maxPos = 40, 3, 32, 50
	cos, sin := both(randF32(r, maxPos*hd/2, -1, 1)), both(randF32(r, maxPos*hd/2, -1, 1))
	pos := randIDs(r, n, maxPos)
	x := both(randF32(r, n*heads*hd, -1, 1))
	ref.RoPE(x.c, cos.c, sin.c, pos, n, heads, hd)
	gpu.RoPE(x.g, cos.g, sin.g, pos, n, heads, hd)
	check(t, "forward", x, tolFP32)
	ref.RoPEBackward(x.c, cos.c, sin.c, pos, n, heads, hd)
	gpu.RoPEBackward(x.g, cos.g, sin.g, pos, n, heads, hd)
	check(t, "backward", x, tolFP32)
}

// attnCase is one attention shape; segment lengths cross the 128-key tile.
type attnCase struct {
	lens               []int
	heads, kvHeads, hd int
}

var attnCases = []attnCase{
	{[]int{1, 149, 150, 3}, 4, 2, 64},
	{[]int{200, 7}, 2, 1, 160}, // hd > 128: the second accumulator per thread
	{[]int{5, 17, 260}, 3, 3, 16},
	{[]int{33}, 8, 2, 128},
}

// emuAttnCases are smaller cases for the host emulator, still crossing the
// 128-key tile and the 128-element head split.
var emuAttnCases = []attnCase{
	{[]int{1, 130, 3}, 4, 2, 32},
	{[]int{131}, 2, 1, 160},
	{[]int{5, 17}, 3, 3, 16},
}

func testAttnCases() []attnCase {
	if emulated {
		return emuAttnCases
	}
	return attnCases
}

func (c attnCase) starts() ([]int32, int) {
	starts := []int32{0}
	for _, l := range c.lens {
		starts = append(starts, starts[len(starts)-1]+int32(l))
	}
	return starts, int(starts[len(starts)-1])
}

func TestAttention(t *testing.T) {
	r := newRand(7)
	for _, c := range testAttnCases() {
		t.Run(fmt.Sprintf("%v_h%d_kv%d_hd%d", c.lens, c.heads, c.kvHeads, c.hd), func(t *testing.T) {
			starts, n := c.starts()
			qw, kw := c.heads*c.hd, c.kvHeads*c.hd
			scale := float32(1 / math.Sqrt(float64(c.hd)))
			q, k, v := both(randF32(r, n*qw, -1, 1)), both(randF32(r, n*kw, -1, 1)), both(randF32(r, n*kw, -1, 1))
			out := withInit(make([]float32, n*qw), nanF32(n*qw))
			lse := withInit(make([]float32, n*c.heads), nanF32(n*c.heads))
			ref.Attention(out.c, lse.c, q.c, k.c, v.c, starts, c.heads, c.kvHeads, c.hd, scale)
			gpu.Attention(out.g, lse.g, q.g, k.g, v.g, starts, c.heads, c.kvHeads, c.hd, scale)
			check(t, "out", out, tolFP32)
			check(t, "lse", lse, tolFP32)

			dout := both(randF32(r, n*qw, -1, 1))
			dq := withInit(make([]float32, n*qw), nanF32(n*qw))
			dk := withInit(make([]float32, n*kw), nanF32(n*kw))
			dv := withInit(make([]float32, n*kw), nanF32(n*kw))
			ref.AttentionBackward(dq.c, dk.c, dv.c, dout.c, q.c, k.c, v.c, out.c, lse.c, starts, c.heads, c.kvHeads, c.hd, scale)
			gpu.AttentionBackward(dq.g, dk.g, dv.g, dout.g, q.g, k.g, v.g, out.c2g(), lse.c2g(), starts, c.heads, c.kvHeads, c.hd, scale)
			check(t, "dq", dq, tolFP32)
			check(t, "dk", dk, tolFP32)
			check(t, "dv", dv, tolFP32)
		})
	}
}

func TestAttentionCached(t *testing.T) {
	r := newRand(8)
	const slots, maxLen, heads, kvHeads, hd = 3, 300, 4, 2, 64
	kw, qw := kvHeads*hd, heads*hd
	scale := float32(1 / math.Sqrt(hd))
	kc, vc := both(randF32(r, slots*maxLen*kw, -1, 1)), both(randF32(r, slots*maxLen*kw, -1, 1))
	// Write a few rows into the caches first.
	slot, pos := []int32{0, 2, 1, 2}, []int32{0, 5, 299, 131}
	src := both(randF32(r, len(slot)*kw, -1, 1))
	ref.KVWrite(kc.c, src.c, slot, pos, maxLen, kw)
	gpu.KVWrite(kc.g, src.g, slot, pos, maxLen, kw)
	check(t, "kvwrite", kc, 0)
	ref.KVWrite(vc.c, src.c, slot, pos, maxLen, kw)
	gpu.KVWrite(vc.g, src.g, slot, pos, maxLen, kw)

	qslot, length := []int32{0, 1, 2, 2, 1}, []int32{1, 300, 132, 6, 129}
	n := len(qslot)
	q := both(randF32(r, n*qw, -1, 1))
	out := withInit(make([]float32, n*qw), nanF32(n*qw))
	ref.AttentionCached(out.c, q.c, kc.c, vc.c, qslot, length, maxLen, heads, kvHeads, hd, scale)
	gpu.AttentionCached(out.g, q.g, kc.g, vc.g, qslot, length, maxLen, heads, kvHeads, hd, scale)
	check(t, "out", out, tolFP32)
}

func TestSwiGLU(t *testing.T) {
	r := newRand(9)
	const n = 10007
	gate, up := both(randF32(r, n, -6, 6)), both(randF32(r, n, -2, 2))
	out := withInit(make([]float32, n), nanF32(n))
	ref.SwiGLU(out.c, gate.c, up.c, n)
	gpu.SwiGLU(out.g, gate.g, up.g, n)
	check(t, "forward", out, tolFP32)
	dout := both(randF32(r, n, -1, 1))
	dg := withInit(make([]float32, n), nanF32(n))
	du := withInit(make([]float32, n), nanF32(n))
	ref.SwiGLUBackward(dg.c, du.c, dout.c, gate.c, up.c, n)
	gpu.SwiGLUBackward(dg.g, du.g, dout.g, gate.g, up.g, n)
	check(t, "dgate", dg, tolFP32)
	check(t, "dup", du, tolFP32)
	// In place: out = gate.
	ref.SwiGLU(gate.c, gate.c, up.c, n)
	gpu.SwiGLU(gate.g, gate.g, up.g, n)
	check(t, "in place", gate, tolFP32)
}

func TestTokenLogProbs(t *testing.T) {
	r := newRand(10)
	for _, v := range []int{7, 1000, 33000} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			const n = 9
			logits := both(randF32(r, n*v, -8, 8))
			targets := randIDs(r, n, v)
			targets[2], targets[7] = -1, -100
			logp := withInit(make([]float32, n), nanF32(n))
			ent := withInit(make([]float32, n), nanF32(n))
			ref.TokenLogProbs(logp.c, ent.c, logits.c, targets, n, v)
			gpu.TokenLogProbs(logp.g, ent.g, logits.g, targets, n, v)
			check(t, "logp", logp, tolFP32)
			check(t, "entropy", ent, tolFP32)
			lp2 := withInit(make([]float32, n), nanF32(n))
			ref.TokenLogProbs(lp2.c, nil, logits.c, targets, n, v)
			gpu.TokenLogProbs(lp2.g, nil, logits.g, targets, n, v)
			check(t, "logp without entropy", lp2, tolFP32)

			dlogp := randF32(r, n, -1, 1)
			dlogp[4] = 0
			dp := both(dlogp)
			dl := withInit(make([]float32, n*v), nanF32(n*v))
			ref.TokenLogProbsBackward(dl.c, logits.c, targets, dp.c, n, v)
			gpu.TokenLogProbsBackward(dl.g, logits.g, targets, dp.g, n, v)
			check(t, "dlogits", dl, tolFP32)
		})
	}
}

func TestAdamW(t *testing.T) {
	r := newRand(11)
	const n = 5000
	p, m, v := both(randF32(r, n, -1, 1)), both(make([]float32, n)), both(make([]float32, n))
	for step := 1; step <= 3; step++ {
		g := both(randF32(r, n, -1, 1))
		ref.AdamW(p.c, g.c, m.c, v.c, 1e-3, 0.9, 0.95, 1e-8, 0.1, step)
		gpu.AdamW(p.g, g.g, m.g, v.g, 1e-3, 0.9, 0.95, 1e-8, 0.1, step)
	}
	check(t, "p", p, tolFP32)
	check(t, "m", m, tolFP32)
	check(t, "v", v, tolFP32)
}

// TestDeterministic runs the ops whose GPU reductions could depend on
// scheduling twice and demands identical bits.
func TestDeterministic(t *testing.T) {
	r := newRand(12)
	c := testAttnCases()[0]
	starts, n := c.starts()
	qw, kw := c.heads*c.hd, c.kvHeads*c.hd
	q, k, v := gpu.Alloc(n*qw), gpu.Alloc(n*kw), gpu.Alloc(n*kw)
	gpu.Upload(q, randF32(r, n*qw, -1, 1))
	gpu.Upload(k, randF32(r, n*kw, -1, 1))
	gpu.Upload(v, randF32(r, n*kw, -1, 1))
	dout := gpu.Alloc(n * qw)
	gpu.Upload(dout, randF32(r, n*qw, -1, 1))
	ids := randIDs(r, n, 10)
	run := func() [][]float32 {
		out, lse := gpu.Alloc(n*qw), gpu.Alloc(n*c.heads)
		gpu.Attention(out, lse, q, k, v, starts, c.heads, c.kvHeads, c.hd, 0.125)
		dq, dk, dv := gpu.Alloc(n*qw), gpu.Alloc(n*kw), gpu.Alloc(n*kw)
		gpu.AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, starts, c.heads, c.kvHeads, c.hd, 0.125)
		dtab := gpu.Alloc(10 * qw)
		gpu.EmbeddingBackward(dtab, dout, ids, qw)
		rstd, nout, dx, dw := gpu.Alloc(n), gpu.Alloc(n*qw), gpu.Alloc(n*qw), gpu.Alloc(qw)
		w := gpu.Slice(k, 0, qw)
		gpu.RMSNorm(nout, rstd, q, w, n, qw, 1e-6)
		gpu.RMSNormBackward(dx, dw, dout, q, w, rstd, n, qw)
		ss := gpu.SumSquares(dq)
		return [][]float32{host(out), host(lse), host(dq), host(dk), host(dv), host(dtab), host(dx), host(dw), {float32(ss)}}
	}
	a, b := run(), run()
	for i := range a {
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				t.Fatalf("output %d differs between runs at %d: %v vs %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}
