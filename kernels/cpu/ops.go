package cpu

import (
	"math"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/simd"
)

func (c *Backend) Axpy(alpha float32, x, y kernels.Buffer) {
	X, Y := Data(x), Data(y)
	c.parallel(len(Y), 1<<14, func(lo, hi int) {
		simd.Axpy(alpha, X[lo:hi], Y[lo:hi])
	})
}

func (c *Backend) Scale(alpha float32, x kernels.Buffer) {
	X := Data(x)
	c.parallel(len(X), 1<<14, func(lo, hi int) {
		simd.Scale(alpha, X[lo:hi])
	})
}

// SumSquares adds squares in chunks of 4096 elements, in float64, and the
// chunk sums in order.
func (c *Backend) SumSquares(x kernels.Buffer) float64 {
	X := Data(x)
	const grain = 4096
	parts := make([]float64, (len(X)+grain-1)/grain)
	c.parallel(len(X), grain, func(lo, hi int) {
		var s float64
		for _, v := range X[lo:hi] {
			s += float64(v) * float64(v)
		}
		parts[lo/grain] = s
	})
	var s float64
	for _, p := range parts {
		s += p
	}
	return s
}

// Embedding: out [len(ids), d] = table[ids].
func (c *Backend) Embedding(out, table kernels.Buffer, ids []int32, d int) {
	O, T := Data(out), Data(table)
	c.parallel(len(ids), grainRows(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			id := int(ids[i])
			copy(O[i*d:(i+1)*d], T[id*d:(id+1)*d])
		}
	})
}

// EmbeddingBackward: dtable[ids[i]] += dout[i], split over columns so each
// element is summed by one goroutine in row order.
func (c *Backend) EmbeddingBackward(dtable, dout kernels.Buffer, ids []int32, d int) {
	DT, DO := Data(dtable), Data(dout)
	grain := max(16, d/8)
	c.parallel(d, grain, func(lo, hi int) {
		for i, id := range ids {
			dst := DT[int(id)*d+lo : int(id)*d+hi]
			src := DO[i*d+lo : i*d+hi]
			for j := range dst {
				dst[j] += src[j]
			}
		}
	})
}

func (c *Backend) RMSNorm(out, rstd, x, w kernels.Buffer, rows, d int, eps float32) {
	O, R, X, W := Data(out), Data(rstd), Data(x), Data(w)
	c.parallel(rows, grainRows(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ss := float64(simd.SumSquares(X[r*d : (r+1)*d]))
			R[r] = float32(1 / math.Sqrt(ss/float64(d)+float64(eps)))
		}
		simd.ScaleMulRows(O[lo*d:hi*d], X[lo*d:hi*d], W[:d], R[lo:hi])
	})
}

// RMSNormBackward: with n = x·rstd and out = w ⊙ n,
//
//	dx = rstd·(w⊙dout − n·mean(w⊙dout⊙n)),  dw = Σ_rows dout⊙n.
//
// dw partial sums are taken over fixed chunks of rows and added in order.
func (c *Backend) RMSNormBackward(dx, dw, dout, x, w, rstd kernels.Buffer, rows, d int) {
	DX, DW, DO, X, W, R := Data(dx), Data(dw), Data(dout), Data(x), Data(w), Data(rstd)
	grain := grainRows(d)
	chunks := (rows + grain - 1) / grain
	parts := make([]float32, chunks*d)
	c.parallel(rows, grain, func(lo, hi int) {
		part := parts[(lo/grain)*d : (lo/grain+1)*d]
		var dots [64]float64
		var ms [64]float32
		for r0 := lo; r0 < hi; r0 += len(dots) {
			r1 := min(r0+len(dots), hi)
			xs, dos := X[r0*d:r1*d], DO[r0*d:r1*d]
			simd.RMSNormDots(dots[:r1-r0], xs, W[:d], dos, R[r0:r1])
			for i, dot := range dots[:r1-r0] {
				ms[i] = float32(dot / float64(d))
			}
			simd.RMSNormGradRows(DX[r0*d:r1*d], part, xs, W[:d], dos, R[r0:r1], ms[:r1-r0])
		}
	})
	for ci := 0; ci < chunks; ci++ {
		simd.Add(DW, parts[ci*d:(ci+1)*d])
	}
}

func (c *Backend) RoPE(x, cos, sin kernels.Buffer, pos []int32, n, heads, hd int) {
	c.rope(x, cos, sin, pos, n, heads, hd, 1)
}

func (c *Backend) RoPEBackward(dx, cos, sin kernels.Buffer, pos []int32, n, heads, hd int) {
	c.rope(dx, cos, sin, pos, n, heads, hd, -1)
}

// rope rotates each (j, j+hd/2) pair by the angle of its position (sign = 1) or
// by its negative (sign = -1, the transpose, used for the gradient):
//
//	x1' = x1·cos − sign·x2·sin,  x2' = x2·cos + sign·x1·sin,
//
// one position's heads at a time (simd.RotateHalves).
func (c *Backend) rope(x, cos, sin kernels.Buffer, pos []int32, n, heads, hd int, sign float32) {
	X, C, S := Data(x), Data(cos), Data(sin)
	half := hd / 2
	c.parallel(n, grainRows(heads*hd), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cr := C[int(pos[i])*half : int(pos[i]+1)*half]
			sr := S[int(pos[i])*half : int(pos[i]+1)*half]
			simd.RotateHalves(X[i*heads*hd:(i+1)*heads*hd], cr, sr, sign)
		}
	})
}

// attnTask is one unit of attention work: a range of query rows of one segment
// for one head (forward) or one kv head (backward).
type attnTask struct{ seg, head, qlo, qhi int }

// attnBlock is the number of query rows whose scores are one matrix
// product: a block of rows qlo..qhi-1 of a segment starting at s0 has
// scores [qhi-qlo, qhi-s0] (the keys it can see, causal), computed, masked
// and multiplied by the values as small products rather than row by row.
const attnBlock = 64

// attnRowsMax is the longest segment whose attention is computed one query
// row at a time (dot products and row updates). Below about 32 tokens the
// small products' packing costs more than they save: at 12-token segments
// (hd 32, 4 heads) the row-at-a-time forward takes half the time and the
// backward 0.4 of it (BenchmarkAttentionShort).
const attnRowsMax = 32

// Attention computes each (segment, head, block of attnBlock query rows) as
// S = scale·Q·Kᵀ over the block's keys, a masked row softmax in place (the
// entries past each row's own position set to 0), and O = P·V; segments of
// at most attnRowsMax tokens go one query row at a time (attendRows).
func (c *Backend) Attention(out, lse, q, k, v kernels.Buffer, starts []int32, heads, kvHeads, hd int, scale float32) {
	O, L, Q, K, V := Data(out), Data(lse), Data(q), Data(k), Data(v)
	group := heads / kvHeads
	qw, kw := heads*hd, kvHeads*hd
	var tasks []attnTask
	for s := 0; s+1 < len(starts); s++ {
		for h := 0; h < heads; h++ {
			for t := int(starts[s]); t < int(starts[s+1]); t += attnBlock {
				tasks = append(tasks, attnTask{s, h, t, min(t+attnBlock, int(starts[s+1]))})
			}
		}
	}
	c.parallel(len(tasks), 1, func(lo, hi int) {
		var S []float32
		for _, tk := range tasks[lo:hi] {
			if starts[tk.seg+1]-starts[tk.seg] <= attnRowsMax {
				S = attendRows(tk, int(starts[tk.seg]), O, L, Q, K, V, heads, kvHeads, hd, scale, S)
				continue
			}
			s0, kh := int(starts[tk.seg]), tk.head/group
			nq, nk := tk.qhi-tk.qlo, tk.qhi-s0
			S = grow(S, nq*nk)
			qb, kb, vb := tk.qlo*qw+tk.head*hd, s0*kw+kh*hd, s0*kw+kh*hd
			// S [nq, nk] = scale · Q[qlo:qhi] [nq, hd] · K[s0:qhi]ᵀ [hd, nk]
			c.ws.Sgemm(false, true, nq, nk, hd, scale, Q[qb:], qw, K[kb:], kw, 0, S, nk, 1)
			for i := 0; i < nq; i++ {
				row, n := S[i*nk:(i+1)*nk], tk.qlo+i-s0+1
				mx := simd.Max(row[:n])
				sum, _ := simd.ExpSubSums(row[:n], row[:n], mx)
				simd.Scale(1/sum, row[:n])
				clear(row[n:])
				L[(tk.qlo+i)*heads+tk.head] = mx + float32(math.Log(float64(sum)))
			}
			// O[qlo:qhi] [nq, hd] = P [nq, nk] · V[s0:qhi] [nk, hd]
			c.ws.Sgemm(false, false, nq, hd, nk, 1, S, nk, V[vb:], kw, 0, O[qb:], qw, 1)
		}
	})
}

// AttentionBackward recomputes the probabilities from lse. With
// P = softmax(scale·q·kᵀ) and D_t = dout_t·out_t:
//
//	dS = P ⊙ (dout·vᵀ − D),  dq = scale·dS·k,  dk = scale·dSᵀ·q,  dv = Pᵀ·dout.
//
// Work is split by (segment, kv head): one goroutine owns every row of dk and
// dv it writes, and adds into them in a fixed order (the group's heads in
// turn, each in blocks of attnBlock query rows, every step a small product).
func (c *Backend) AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse kernels.Buffer, starts []int32, heads, kvHeads, hd int, scale float32) {
	DK, DV := Data(dk), Data(dv)
	kw := kvHeads * hd
	var tasks []attnTask
	for s := 0; s+1 < len(starts); s++ {
		for kh := 0; kh < kvHeads; kh++ {
			tasks = append(tasks, attnTask{s, kh, int(starts[s]), int(starts[s+1])})
		}
	}
	c.parallel(len(tasks), 1, func(lo, hi int) {
		var w attnBwdScratch
		for _, tk := range tasks[lo:hi] {
			if tk.qhi-tk.qlo <= attnRowsMax {
				attnBackwardRows(&w, tk, dq, dk, dv, dout, q, k, v, out, lse, heads, kvHeads, hd, scale)
				continue
			}
			for t := tk.qlo; t < tk.qhi; t++ {
				clear(DK[t*kw+tk.head*hd : t*kw+(tk.head+1)*hd])
				clear(DV[t*kw+tk.head*hd : t*kw+(tk.head+1)*hd])
			}
			for h := tk.head * (heads / kvHeads); h < (tk.head+1)*(heads/kvHeads); h++ {
				for qlo := tk.qlo; qlo < tk.qhi; qlo += attnBlock {
					c.attnBwdBlock(&w, attnTask{tk.seg, h, qlo, min(qlo+attnBlock, tk.qhi)}, tk.qlo, tk.head,
						dq, dk, dv, dout, q, k, v, out, lse, heads, kvHeads, hd, scale)
				}
			}
		}
	})
}

// attendRows computes the forward of task tk (query rows qlo..qhi-1 of one
// head of a segment starting at s0) one row at a time: scores by dot
// products with the keys, the softmax, and the output as a sum of value
// rows. scores is scratch, returned grown.
func attendRows(tk attnTask, s0 int, O, L, Q, K, V []float32, heads, kvHeads, hd int, scale float32, scores []float32) []float32 {
	qw, kw := heads*hd, kvHeads*hd
	kb := s0*kw + (tk.head/(heads/kvHeads))*hd
	for t := tk.qlo; t < tk.qhi; t++ {
		qv := Q[t*qw+tk.head*hd : t*qw+(tk.head+1)*hd]
		scores = grow(scores, t-s0+1)
		simd.DotRows(scores, qv, K[kb:], kw) // scores [t-s0+1] = K[s0..t] · q
		simd.Scale(scale, scores)
		ov := O[t*qw+tk.head*hd : t*qw+(tk.head+1)*hd]
		L[t*heads+tk.head] = softmaxCombine(ov, scores, V[kb:], kw)
	}
	return scores
}

// attnBackwardRows is the backward of a whole segment (rows qlo..qhi-1)
// for kv head tk.head, one query row at a time: dk and dv of the segment's
// rows are overwritten, then each query head of the group adds into them in
// turn, row by row.
func attnBackwardRows(w *attnBwdScratch, tk attnTask, dq, dk, dv, dout, q, k, v, out, lse kernels.Buffer, heads, kvHeads, hd int, scale float32) {
	DQ, DK, DV, DO := Data(dq), Data(dk), Data(dv), Data(dout)
	Q, K, V, O, L := Data(q), Data(k), Data(v), Data(out), Data(lse)
	qw, kw := heads*hd, kvHeads*hd
	s0, s1, kh := tk.qlo, tk.qhi, tk.head
	for t := s0; t < s1; t++ {
		clear(DK[t*kw+kh*hd : t*kw+(kh+1)*hd])
		clear(DV[t*kw+kh*hd : t*kw+(kh+1)*hd])
	}
	base := s0*kw + kh*hd // the segment's rows of this kv head, kw apart
	Kh, Vh, DKh, DVh := K[base:], V[base:], DK[base:], DV[base:]
	group := heads / kvHeads
	for h := kh * group; h < (kh+1)*group; h++ {
		for t := s0; t < s1; t++ {
			qv := Q[t*qw+h*hd : t*qw+(h+1)*hd]
			dov := DO[t*qw+h*hd : t*qw+(h+1)*hd]
			D := simd.Dot(dov, O[t*qw+h*hd:t*qw+(h+1)*hd])
			nk := t - s0 + 1
			// P row: exp(scale·q·k − lse); dS = P ⊙ (dout·v − D)·scale.
			w.P, w.G = grow(w.P, nk), grow(w.G, nk)
			P, G := w.P, w.G
			simd.DotRows(P, qv, Kh, kw)
			simd.Scale(scale, P)
			simd.ExpSubSums(P, P, L[t*heads+h])
			simd.GerRows(DVh, kw, P, dov) // dv[j] += P[j]·dout
			simd.DotRows(G, dov, Vh, kw)
			for j, p := range P {
				G[j] = p * (G[j] - D) * scale
			}
			dqv := DQ[t*qw+h*hd : t*qw+(h+1)*hd]
			clear(dqv)
			simd.AxpyRows(dqv, G, Kh, kw) // dq = Σ_j dS[j]·k_j
			simd.GerRows(DKh, kw, G, qv)  // dk[j] += dS[j]·q
		}
	}
}

// attnBwdScratch is one goroutine's scratch of the attention backward.
type attnBwdScratch struct{ P, G []float32 }

// attnBwdBlock adds the gradients of query rows tk.qlo..tk.qhi-1 of head
// tk.head (kv head kh, segment starting at s0): dq of those rows is
// overwritten, dk and dv of rows s0..qhi-1 accumulated.
func (c *Backend) attnBwdBlock(w *attnBwdScratch, tk attnTask, s0, kh int, dq, dk, dv, dout, q, k, v, out, lse kernels.Buffer, heads, kvHeads, hd int, scale float32) {
	DQ, DK, DV, DO := Data(dq), Data(dk), Data(dv), Data(dout)
	Q, K, V, O, L := Data(q), Data(k), Data(v), Data(out), Data(lse)
	qw, kw := heads*hd, kvHeads*hd
	nq, nk := tk.qhi-tk.qlo, tk.qhi-s0
	w.P, w.G = grow(w.P, nq*nk), grow(w.G, nq*nk)
	P, G := w.P, w.G
	qb, kb := tk.qlo*qw+tk.head*hd, s0*kw+kh*hd
	// P [nq, nk] = exp(scale · Q_blk · Kᵀ − lse), masked past each row's position.
	c.ws.Sgemm(false, true, nq, nk, hd, scale, Q[qb:], qw, K[kb:], kw, 0, P, nk, 1)
	// G [nq, nk] = dO_blk [nq, hd] · Vᵀ [hd, nk]
	c.ws.Sgemm(false, true, nq, nk, hd, 1, DO[qb:], qw, V[kb:], kw, 0, G, nk, 1)
	for i := 0; i < nq; i++ {
		t, n := tk.qlo+i, tk.qlo+i-s0+1
		pr, gr := P[i*nk:(i+1)*nk], G[i*nk:(i+1)*nk]
		simd.ExpSubSums(pr[:n], pr[:n], L[t*heads+tk.head])
		clear(pr[n:])
		D := simd.Dot(DO[t*qw+tk.head*hd:t*qw+(tk.head+1)*hd], O[t*qw+tk.head*hd:t*qw+(tk.head+1)*hd])
		for j, p := range pr[:n] {
			gr[j] = p * (gr[j] - D) * scale
		}
		clear(gr[n:])
	}
	// dV[s0:qhi] [nk, hd] += Pᵀ [nk, nq] · dO_blk [nq, hd]
	c.ws.Sgemm(true, false, nk, hd, nq, 1, P, nk, DO[qb:], qw, 1, DV[kb:], kw, 1)
	// dQ_blk [nq, hd] = G [nq, nk] · K[s0:qhi] [nk, hd]
	c.ws.Sgemm(false, false, nq, hd, nk, 1, G, nk, K[kb:], kw, 0, DQ[qb:], qw, 1)
	// dK[s0:qhi] [nk, hd] += Gᵀ [nk, nq] · Q_blk [nq, hd]
	c.ws.Sgemm(true, false, nk, hd, nq, 1, G, nk, Q[qb:], qw, 1, DK[kb:], kw, 1)
}

func (c *Backend) KVWrite(cache, src kernels.Buffer, slot, pos []int32, maxLen, width int) {
	CA, S := Data(cache), Data(src)
	for i := range slot {
		off := (int(slot[i])*maxLen + int(pos[i])) * width
		copy(CA[off:off+width], S[i*width:(i+1)*width])
	}
}

func (c *Backend) AttentionCached(out, q, kc, vc kernels.Buffer, slot, length []int32, maxLen, heads, kvHeads, hd int, scale float32) {
	O, Q, KC, VC := Data(out), Data(q), Data(kc), Data(vc)
	group := heads / kvHeads
	qw, kw := heads*hd, kvHeads*hd
	n := len(slot)
	work := 0 // two passes of hd multiply-adds per key and query head
	for _, l := range length {
		work += 2 * int(l) * heads * hd
	}
	c.parallelWork(n*heads, 1, work, func(lo, hi int) {
		var scores []float32
		for task := lo; task < hi; task++ {
			i, h := task/heads, task%heads
			kh := h / group
			base := int(slot[i]) * maxLen * kw
			qv := Q[i*qw+h*hd : i*qw+(h+1)*hd]
			nk := int(length[i])
			scores = grow(scores, nk)
			simd.DotRows(scores, qv, KC[base+kh*hd:], kw)
			simd.Scale(scale, scores)
			softmaxCombine(O[i*qw+h*hd:i*qw+(h+1)*hd], scores, VC[base+kh*hd:], kw)
		}
	})
}

func (c *Backend) SwiGLU(out, gate, up kernels.Buffer, n int) {
	O, G, U := Data(out), Data(gate), Data(up)
	c.parallel(n, 1<<13, func(lo, hi int) {
		simd.SwiGLU(O[lo:hi], G[lo:hi], U[lo:hi])
	})
}

// SwiGLUBackward: out = g·σ(g)·u, so dg = dout·u·σ(g)·(1 + g·(1−σ(g))) and
// du = dout·g·σ(g).
func (c *Backend) SwiGLUBackward(dgate, dup, dout, gate, up kernels.Buffer, n int) {
	DG, DU, DO, G, U := Data(dgate), Data(dup), Data(dout), Data(gate), Data(up)
	c.parallel(n, 1<<13, func(lo, hi int) {
		simd.SwiGLUBackward(DG[lo:hi], DU[lo:hi], DO[lo:hi], G[lo:hi], U[lo:hi])
	})
}

func (c *Backend) TokenLogProbs(logp, entropy, logits kernels.Buffer, targets []int32, n, v int) {
	LP, LG := Data(logp), Data(logits)
	var EN []float32
	if entropy != nil {
		EN = Data(entropy)
	}
	c.parallel(n, grainRows(v), func(lo, hi int) {
		var scratch [expChunk]float32
		for i := lo; i < hi; i++ {
			row := LG[i*v : (i+1)*v]
			mx := simd.Max(row)
			sum, wsum := expSums(scratch[:], row, mx)
			logZ := math.Log(sum)
			if targets[i] >= 0 {
				LP[i] = float32(float64(row[targets[i]]-mx) - logZ)
			} else {
				LP[i] = 0
			}
			if EN != nil {
				EN[i] = float32(logZ - wsum/sum)
			}
		}
	})
}

func (c *Backend) TokenLogProbsBackward(dlogits, logits kernels.Buffer, targets []int32, dlogp kernels.Buffer, n, v int) {
	DL, LG, DP := Data(dlogits), Data(logits), Data(dlogp)
	c.parallel(n, grainRows(v), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, drow := LG[i*v:(i+1)*v], DL[i*v:(i+1)*v]
			if targets[i] < 0 || DP[i] == 0 {
				clear(drow)
				continue
			}
			mx := simd.Max(row)
			sum, _ := expSums(drow, row, mx)
			g := DP[i]
			simd.Scale(-g*float32(1/sum), drow)
			drow[targets[i]] += g
		}
	})
}

func (c *Backend) AdamW(p, g, m, v kernels.Buffer, lr, beta1, beta2, eps, wd float32, t int) {
	P, G, M, V := Data(p), Data(g), Data(m), Data(v)
	bc1 := float32(1 - math.Pow(float64(beta1), float64(t)))
	bc2 := float32(1 - math.Pow(float64(beta2), float64(t)))
	c.parallel(len(P), 1<<13, func(lo, hi int) {
		simd.AdamWUpdate(P[lo:hi], G[lo:hi], M[lo:hi], V[lo:hi], lr, beta1, beta2, eps, wd, bc1, bc2)
	})
}

// expChunk is the length of the pieces a softmax row is summed in: each
// piece in float32 (fixed order, see simd.ExpSubSums), the pieces in float64.
const expChunk = 2048

// expSums returns Σ e_j and Σ e_j·(x_j − m) with e_j = exp(x_j − m) over a
// row x; dst receives e_j when it is as long as x, and is scratch of
// expChunk elements otherwise.
func expSums(dst, x []float32, m float32) (sum, wsum float64) {
	for lo := 0; lo < len(x); lo += expChunk {
		hi := min(lo+expChunk, len(x))
		var d []float32
		if len(dst) >= len(x) {
			d = dst[lo:hi]
		} else {
			d = dst[:hi-lo]
		}
		s, w := simd.ExpSubSums(d, x[lo:hi], m)
		sum += float64(s)
		wsum += float64(w)
	}
	return sum, wsum
}

// grow returns s resized to n elements (contents undefined), reusing its
// storage when it is large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n, max(n, 2*cap(s)))
	}
	return s[:n]
}

// softmaxCombine sets out = Σ_j softmax(scores)_j · v_j, where v_j is the
// hd = len(out) values at v[j*ld:], overwrites scores with the probabilities,
// and returns the log-sum-exp of the scores.
func softmaxCombine(out, scores, v []float32, ld int) float32 {
	if len(scores) == 0 {
		clear(out)
		return float32(math.Inf(-1))
	}
	mx := simd.Max(scores)
	s, _ := simd.ExpSubSums(scores, scores, mx)
	simd.Scale(1/s, scores)
	clear(out)
	simd.AxpyRows(out, scores, v, ld)
	return mx + float32(math.Log(float64(s)))
}
