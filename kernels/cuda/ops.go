//go:build cuda || cudaemu

package cuda

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/frontier-rl/frontier/kernels"
)

// maxHeadDim is the largest head dimension the attention kernels take
// (2·ATT_THREADS in src/attention.cu).
const maxHeadDim = 256

// need panics unless a buffer holds at least n elements.
func need(op, what string, b Buf, n int) {
	if b.n < n {
		panic(fmt.Sprintf("cuda: %s: %s has %d elements, needs %d", op, what, b.n, n))
	}
}

// checkIndex panics unless every v[i] is in [lo, hi).
func checkIndex(op, what string, v []int32, lo, hi int) {
	for i, x := range v {
		if int(x) < lo || int(x) >= hi {
			panic(fmt.Sprintf("cuda: %s: %s[%d] = %d outside [%d, %d)", op, what, i, x, lo, hi))
		}
	}
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C (see kernels.Backend.Gemm).
// cuBLAS is column-major: a row-major [r, c] matrix read column-major is its
// transpose, so the row-major product is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ, an
// n×m column-major matrix with leading dimension n.
func (be *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b kernels.Buffer, beta float32, c kernels.Buffer) {
	A, B, C := dev(a), dev(b), dev(c)
	if A.n < m*k || B.n < k*n || C.n < m*n {
		panic(fmt.Sprintf("cuda: Gemm %dx%dx%d with buffers of %d, %d, %d elements", m, n, k, A.n, B.n, C.n))
	}
	if m == 0 || n == 0 {
		return
	}
	defer be.enter()()
	if k == 0 { // C = beta·C
		if beta == 0 {
			if err := be.d.memsetD32(C.ptr, 0, int64(m*n)); err != nil {
				panic(fmt.Errorf("cuda: Gemm: clearing C: %w", err))
			}
		} else if beta != 1 {
			be.launch("scale", gridFor(m*n), 1, 256, C, beta, int64(m*n))
		}
		return
	}
	lda, ldb := k, n // row-major leading dimensions of A and B as stored
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	if err := be.d.sgemm(transB, transA, n, m, k, alpha, B.ptr, ldb, A.ptr, lda, beta, C.ptr, n); err != nil {
		panic(fmt.Errorf("cuda: Gemm: %w", err))
	}
	if be.sync {
		if err := be.d.synchronize(); err != nil {
			panic(fmt.Errorf("cuda: Gemm %dx%dx%d: %w", m, n, k, err))
		}
	}
}

func (be *Backend) Axpy(alpha float32, x, y kernels.Buffer) {
	X, Y := dev(x), dev(y)
	need("Axpy", "x", X, Y.n)
	if Y.n == 0 {
		return
	}
	defer be.enter()()
	be.launch("axpy", gridFor(Y.n), 1, 256, Y, X, alpha, int64(Y.n))
}

func (be *Backend) Scale(alpha float32, x kernels.Buffer) {
	X := dev(x)
	if X.n == 0 {
		return
	}
	defer be.enter()()
	be.launch("scale", gridFor(X.n), 1, 256, X, alpha, int64(X.n))
}

// SumSquares adds x² in double over fixed chunks of 65536 elements (one block
// each), then the chunk sums in order (one block): deterministic, though not
// in the CPU backend's order.
func (be *Backend) SumSquares(x kernels.Buffer) float64 {
	X := dev(x)
	if X.n == 0 {
		return 0
	}
	defer be.enter()()
	const chunk = 1 << 16
	parts := (X.n + chunk - 1) / chunk
	blk := be.scratch(int64(parts+1) * 8)
	defer be.release(blk)
	out := blk.ptr + devptr(parts*8)
	be.launch("sumsq_partial", parts, 1, 256, blk.ptr, X, int64(X.n), int64(chunk))
	be.launch("sumsq_final", 1, 1, 256, out, blk.ptr, i32(parts))
	var s float64
	if err := be.d.dtoh(unsafe.Pointer(&s), out, 8); err != nil {
		panic(fmt.Errorf("cuda: SumSquares of %d elements: %w", X.n, err))
	}
	return s
}

func (be *Backend) Embedding(out, table kernels.Buffer, ids []int32, d int) {
	O, T := dev(out), dev(table)
	n := len(ids)
	if n == 0 || d == 0 {
		return
	}
	need("Embedding", "out", O, n*d)
	checkIndex("Embedding", "ids", ids, 0, T.n/d)
	defer be.enter()()
	p := be.stage(ids)
	be.launch("embed_fwd", n, 1, threadsFor(d), O, T, p[0], i32(d))
}

// EmbeddingBackward groups the rows by id on the host (stable, so each group
// keeps increasing row order); one block per distinct id adds its rows in that
// order, so there are no atomics and the result is deterministic.
func (be *Backend) EmbeddingBackward(dtable, dout kernels.Buffer, ids []int32, d int) {
	DT, DO := dev(dtable), dev(dout)
	n := len(ids)
	if n == 0 || d == 0 {
		return
	}
	need("EmbeddingBackward", "dout", DO, n*d)
	checkIndex("EmbeddingBackward", "ids", ids, 0, DT.n/d)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(ids[a], ids[b]) })
	var gid, goff []int32
	for i, r := range order {
		if i == 0 || ids[r] != ids[order[i-1]] {
			gid = append(gid, ids[r])
			goff = append(goff, int32(i))
		}
	}
	goff = append(goff, int32(n))
	defer be.enter()()
	p := be.stage(gid, goff, order)
	be.launch("embed_bwd", len(gid), 1, threadsFor(d), DT, DO, p[0], p[1], p[2], i32(d))
}

func (be *Backend) RMSNorm(out, rstd, x, w kernels.Buffer, rows, d int, eps float32) {
	O, R, X, W := dev(out), dev(rstd), dev(x), dev(w)
	if rows == 0 || d == 0 {
		return
	}
	need("RMSNorm", "x", X, rows*d)
	need("RMSNorm", "out", O, rows*d)
	need("RMSNorm", "rstd", R, rows)
	need("RMSNorm", "w", W, d)
	defer be.enter()()
	be.launch("rmsnorm_fwd", rows, 1, threadsFor(d), O, R, X, W, i32(d), eps)
}

// RMSNormBackward: dx per row; dw from partial sums over fixed chunks of 256
// rows (one thread per column), added into dw in chunk order.
func (be *Backend) RMSNormBackward(dx, dw, dout, x, w, rstd kernels.Buffer, rows, d int) {
	DX, DW, DO, X, W, R := dev(dx), dev(dw), dev(dout), dev(x), dev(w), dev(rstd)
	if rows == 0 || d == 0 {
		return
	}
	for _, c := range []struct {
		name string
		b    Buf
		n    int
	}{{"dx", DX, rows * d}, {"dout", DO, rows * d}, {"x", X, rows * d}, {"dw", DW, d}, {"w", W, d}, {"rstd", R, rows}} {
		need("RMSNormBackward", c.name, c.b, c.n)
	}
	defer be.enter()()
	be.launch("rmsnorm_bwd_dx", rows, 1, threadsFor(d), DX, DO, X, W, R, i32(d))
	const chunk = 256
	chunks := (rows + chunk - 1) / chunk
	blk := be.scratch(int64(chunks) * int64(d) * 4)
	cols := (d + 127) / 128
	be.launch("rmsnorm_bwd_dw_part", chunks, cols, 128, blk.ptr, DO, X, R, i32(rows), i32(d), i32(chunk))
	be.launch("rmsnorm_bwd_dw_sum", cols, 1, 128, DW, blk.ptr, i32(chunks), i32(d))
	be.release(blk)
}

func (be *Backend) RoPE(x, cos, sin kernels.Buffer, pos []int32, n, heads, hd int) {
	be.rope("RoPE", x, cos, sin, pos, n, heads, hd, 1)
}

func (be *Backend) RoPEBackward(dx, cos, sin kernels.Buffer, pos []int32, n, heads, hd int) {
	be.rope("RoPEBackward", dx, cos, sin, pos, n, heads, hd, -1)
}

// rope rotates (sign 1) or rotates back (sign −1) every (j, j+hd/2) pair.
func (be *Backend) rope(op string, x, cos, sin kernels.Buffer, pos []int32, n, heads, hd int, sign float32) {
	X, C, S := dev(x), dev(cos), dev(sin)
	half := hd / 2
	if n == 0 || heads == 0 || half == 0 {
		return
	}
	if len(pos) < n {
		panic(fmt.Sprintf("cuda: %s: %d positions for %d rows", op, len(pos), n))
	}
	need(op, "x", X, n*heads*hd)
	maxPos := min(C.n, S.n) / half
	checkIndex(op, "pos", pos[:n], 0, maxPos)
	defer be.enter()()
	p := be.stage(pos[:n])
	be.launch("rope", n, 1, threadsFor(heads*half), X, C, S, p[0], i32(heads), i32(hd), sign)
}

// segments turns cu_seqlens into each row's segment start and end.
func segments(op string, starts []int32) (segStart, segEnd []int32, n int) {
	if len(starts) < 2 {
		return nil, nil, 0
	}
	if starts[0] != 0 {
		panic(fmt.Sprintf("cuda: %s: cu_seqlens starts at %d, not 0", op, starts[0]))
	}
	n = int(starts[len(starts)-1])
	segStart, segEnd = make([]int32, n), make([]int32, n)
	for s := 0; s+1 < len(starts); s++ {
		if starts[s+1] < starts[s] {
			panic(fmt.Sprintf("cuda: %s: cu_seqlens %v is not increasing", op, starts))
		}
		for t := starts[s]; t < starts[s+1]; t++ {
			segStart[t], segEnd[t] = starts[s], starts[s+1]
		}
	}
	return segStart, segEnd, n
}

func checkHeads(op string, heads, kvHeads, hd int) {
	if heads <= 0 || kvHeads <= 0 || heads%kvHeads != 0 {
		panic(fmt.Sprintf("cuda: %s: %d query heads are not a multiple of %d kv heads", op, heads, kvHeads))
	}
	if hd <= 0 || hd > maxHeadDim {
		panic(fmt.Sprintf("cuda: %s: head dimension %d outside [1, %d]", op, hd, maxHeadDim))
	}
}

func (be *Backend) Attention(out, lse, q, k, v kernels.Buffer, starts []int32, heads, kvHeads, hd int, scale float32) {
	O, L, Q, K, V := dev(out), dev(lse), dev(q), dev(k), dev(v)
	checkHeads("Attention", heads, kvHeads, hd)
	segStart, _, n := segments("Attention", starts)
	if n == 0 {
		return
	}
	need("Attention", "q", Q, n*heads*hd)
	need("Attention", "out", O, n*heads*hd)
	need("Attention", "k", K, n*kvHeads*hd)
	need("Attention", "v", V, n*kvHeads*hd)
	need("Attention", "lse", L, n*heads)
	defer be.enter()()
	p := be.stage(segStart)
	be.launch("attn_fwd", n, heads, 128, O, L, Q, K, V, p[0], i32(heads), i32(kvHeads), i32(hd), scale)
}

// AttentionBackward: delta = rowwise dout·out, then dq with one block per
// (row, head) and dk, dv with one block per (key row, kv head) that loops over
// the query heads of its group and the later rows of its sequence. Each output
// element is written by one thread: no atomics, deterministic.
func (be *Backend) AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse kernels.Buffer, starts []int32, heads, kvHeads, hd int, scale float32) {
	DQ, DK, DV, DO := dev(dq), dev(dk), dev(dv), dev(dout)
	Q, K, V, O, L := dev(q), dev(k), dev(v), dev(out), dev(lse)
	checkHeads("AttentionBackward", heads, kvHeads, hd)
	segStart, segEnd, n := segments("AttentionBackward", starts)
	if n == 0 {
		return
	}
	for _, c := range []struct {
		name string
		b    Buf
		n    int
	}{{"dq", DQ, n * heads * hd}, {"dout", DO, n * heads * hd}, {"q", Q, n * heads * hd}, {"out", O, n * heads * hd},
		{"dk", DK, n * kvHeads * hd}, {"dv", DV, n * kvHeads * hd}, {"k", K, n * kvHeads * hd}, {"v", V, n * kvHeads * hd},
		{"lse", L, n * heads}} {
		need("AttentionBackward", c.name, c.b, c.n)
	}
	defer be.enter()()
	p := be.stage(segStart, segEnd)
	delta := be.scratch(int64(n) * int64(heads) * 4)
	be.launch("attn_bwd_delta", n, 1, 128, delta.ptr, DO, O, i32(heads), i32(hd))
	be.launch("attn_bwd_dq", n, heads, 128, DQ, DO, Q, K, V, L, delta.ptr, p[0],
		i32(heads), i32(kvHeads), i32(hd), scale)
	be.launch("attn_bwd_dkv", n, kvHeads, 128, DK, DV, DO, Q, K, V, L, delta.ptr, p[1],
		i32(heads), i32(kvHeads), i32(hd), scale)
	be.release(delta)
}

func (be *Backend) KVWrite(cache, src kernels.Buffer, slot, pos []int32, maxLen, width int) {
	CA, S := dev(cache), dev(src)
	n := len(slot)
	if n == 0 || width == 0 {
		return
	}
	if len(pos) != n {
		panic(fmt.Sprintf("cuda: KVWrite: %d slots and %d positions", n, len(pos)))
	}
	if maxLen <= 0 {
		panic(fmt.Sprintf("cuda: KVWrite: cache length %d", maxLen))
	}
	need("KVWrite", "src", S, n*width)
	checkIndex("KVWrite", "slot", slot, 0, CA.n/(maxLen*width))
	checkIndex("KVWrite", "pos", pos, 0, maxLen)
	defer be.enter()()
	p := be.stage(slot, pos)
	be.launch("kv_write", n, 1, threadsFor(width), CA, S, p[0], p[1], i32(maxLen), i32(width))
}

func (be *Backend) AttentionCached(out, q, kc, vc kernels.Buffer, slot, length []int32, maxLen, heads, kvHeads, hd int, scale float32) {
	O, Q, KC, VC := dev(out), dev(q), dev(kc), dev(vc)
	checkHeads("AttentionCached", heads, kvHeads, hd)
	n := len(slot)
	if n == 0 {
		return
	}
	if len(length) != n {
		panic(fmt.Sprintf("cuda: AttentionCached: %d slots and %d lengths", n, len(length)))
	}
	if maxLen <= 0 {
		panic(fmt.Sprintf("cuda: AttentionCached: cache length %d", maxLen))
	}
	need("AttentionCached", "q", Q, n*heads*hd)
	need("AttentionCached", "out", O, n*heads*hd)
	slots := min(KC.n, VC.n) / (maxLen * kvHeads * hd)
	checkIndex("AttentionCached", "slot", slot, 0, slots)
	checkIndex("AttentionCached", "length", length, 0, maxLen+1)
	defer be.enter()()
	p := be.stage(slot, length)
	be.launch("attn_cached", n, heads, 128, O, Q, KC, VC, p[0], p[1], i32(maxLen),
		i32(heads), i32(kvHeads), i32(hd), scale)
}

func (be *Backend) SwiGLU(out, gate, up kernels.Buffer, n int) {
	O, G, U := dev(out), dev(gate), dev(up)
	if n == 0 {
		return
	}
	need("SwiGLU", "out", O, n)
	need("SwiGLU", "gate", G, n)
	need("SwiGLU", "up", U, n)
	defer be.enter()()
	be.launch("swiglu", gridFor(n), 1, 256, O, G, U, int64(n))
}

func (be *Backend) SwiGLUBackward(dgate, dup, dout, gate, up kernels.Buffer, n int) {
	DG, DU, DO, G, U := dev(dgate), dev(dup), dev(dout), dev(gate), dev(up)
	if n == 0 {
		return
	}
	for _, c := range []struct {
		name string
		b    Buf
	}{{"dgate", DG}, {"dup", DU}, {"dout", DO}, {"gate", G}, {"up", U}} {
		need("SwiGLUBackward", c.name, c.b, n)
	}
	defer be.enter()()
	be.launch("swiglu_bwd", gridFor(n), 1, 256, DG, DU, DO, G, U, int64(n))
}

func (be *Backend) TokenLogProbs(logp, entropy, logits kernels.Buffer, targets []int32, n, v int) {
	LP, EN, LG := dev(logp), dev(entropy), dev(logits)
	if n == 0 {
		return
	}
	if len(targets) < n {
		panic(fmt.Sprintf("cuda: TokenLogProbs: %d targets for %d rows", len(targets), n))
	}
	need("TokenLogProbs", "logits", LG, n*v)
	need("TokenLogProbs", "logp", LP, n)
	if entropy != nil {
		need("TokenLogProbs", "entropy", EN, n)
	}
	checkIndex("TokenLogProbs", "targets", targets[:n], math.MinInt32, v)
	defer be.enter()()
	p := be.stage(targets[:n])
	be.launch("token_logprobs", n, 1, 256, LP, EN, LG, p[0], i32(v))
}

func (be *Backend) TokenLogProbsBackward(dlogits, logits kernels.Buffer, targets []int32, dlogp kernels.Buffer, n, v int) {
	DL, LG, DP := dev(dlogits), dev(logits), dev(dlogp)
	if n == 0 {
		return
	}
	if len(targets) < n {
		panic(fmt.Sprintf("cuda: TokenLogProbsBackward: %d targets for %d rows", len(targets), n))
	}
	need("TokenLogProbsBackward", "logits", LG, n*v)
	need("TokenLogProbsBackward", "dlogits", DL, n*v)
	need("TokenLogProbsBackward", "dlogp", DP, n)
	checkIndex("TokenLogProbsBackward", "targets", targets[:n], math.MinInt32, v)
	defer be.enter()()
	p := be.stage(targets[:n])
	be.launch("token_logprobs_bwd", n, 1, 256, DL, LG, p[0], DP, i32(v))
}

func (be *Backend) AdamW(p, g, m, v kernels.Buffer, lr, beta1, beta2, eps, wd float32, t int) {
	P, G, M, V := dev(p), dev(g), dev(m), dev(v)
	n := P.n
	if n == 0 {
		return
	}
	need("AdamW", "g", G, n)
	need("AdamW", "m", M, n)
	need("AdamW", "v", V, n)
	bc1 := float32(1 - math.Pow(float64(beta1), float64(t)))
	bc2 := float32(1 - math.Pow(float64(beta2), float64(t)))
	defer be.enter()()
	be.launch("adamw", gridFor(n), 1, 256, P, G, M, V, lr, beta1, beta2, eps, wd, bc1, bc2, int64(n))
}
