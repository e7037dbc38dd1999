package model

import (
	"fmt"
	"math"

	"github.com/frontier-rl/frontier/kernels"
)

// layerActs are the buffers of one decoder layer over n token rows: its input
// and output, and every intermediate the backward needs.
type layerActs struct {
	xIn      kernels.Buffer // [n, D] residual stream entering the layer
	h1, r1   kernels.Buffer // input RMSNorm output [n, D] and its rstd [n]
	qPre, qr kernels.Buffer // q before q_norm [n, H·hd], rstd [n·H]
	kPre, kr kernels.Buffer // k before k_norm [n, KV·hd], rstd [n·KV]
	q, k, v  kernels.Buffer // after norm and RoPE: [n, H·hd], [n, KV·hd], [n, KV·hd]
	att, lse kernels.Buffer // attention output [n, H·hd], log-sum-exp [n, H] (packed batches only)

	// The rest of the layer runs over n2 rows: all n, or in the last layer
	// of a ForwardTargets pass only the rows listed in keep, whose residual
	// and attention output are gathered into xRes and attRes. Elsewhere
	// xRes and attRes are xIn and att.
	n2     int
	keep   []int32        // [n2] rows of the layer's input kept (nil: all)
	xRes   kernels.Buffer // [n2, D] residual entering the output projection
	attRes kernels.Buffer // [n2, H·hd] attention output of those rows
	xMid   kernels.Buffer // [n2, D] residual after attention
	h2, r2 kernels.Buffer // post-attention RMSNorm output [n2, D], rstd [n2]
	gate   kernels.Buffer // [n2, I]
	up     kernels.Buffer // [n2, I]
	act    kernels.Buffer // silu(gate)·up [n2, I]
	out    kernels.Buffer // [n2, D] residual leaving the layer
}

// newLayerActs takes the buffers of one layer over n rows from ar, with xIn
// as the layer's input; lse is taken only when withLSE is set. keep, when
// not nil, lists the rows (ascending) the rest of the layer runs over after
// attention. The buffers are not zeroed: the layer overwrites every one.
func (m *Model) newLayerActs(ar *arena, n int, xIn kernels.Buffer, withLSE bool, keep []int32) layerActs {
	c := m.Config
	D, I := c.HiddenSize, c.IntermediateSize
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	a := layerActs{
		xIn: xIn,
		h1:  ar.alloc(n * D), r1: ar.alloc(n),
		qPre: ar.alloc(n * H * hd), qr: ar.alloc(n * H),
		kPre: ar.alloc(n * KV * hd), kr: ar.alloc(n * KV),
		q: ar.alloc(n * H * hd), k: ar.alloc(n * KV * hd), v: ar.alloc(n * KV * hd),
		att: ar.alloc(n * H * hd),
		n2:  n,
	}
	if withLSE {
		a.lse = ar.alloc(n * H)
	}
	if keep != nil {
		a.n2, a.keep = len(keep), keep
		a.xRes, a.attRes = ar.alloc(a.n2*D), ar.alloc(a.n2*H*hd)
	}
	n2 := a.n2
	a.xMid = ar.alloc(n2 * D)
	a.h2, a.r2 = ar.alloc(n2*D), ar.alloc(n2)
	a.gate, a.up, a.act = ar.alloc(n2*I), ar.alloc(n2*I), ar.alloc(n2*I)
	a.out = ar.alloc(n2 * D)
	return a
}

// attention is the one step in which the packed forward and the cached
// decode differ: how a layer's queries see keys and values. attend fills
// a.att [n, H·hd] from a.q [n, H·hd], a.k and a.v [n, KV·hd] of layer li.
type attention interface {
	attend(m *Model, li int, a *layerActs)
}

// packedAttention is causal attention inside each sequence of a packed batch
// (cu_seqlens starts); it keeps the log-sum-exp for the backward.
type packedAttention struct{ starts []int32 }

func (pa packedAttention) attend(m *Model, li int, a *layerActs) {
	c := m.Config
	m.B.Attention(a.att, a.lse, a.q, a.k, a.v, pa.starts, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, m.scale())
}

// linear is a projection without bias: y = x·Wᵀ, or y += x·Wᵀ when accumulate
// is set (a residual add). x is [n, in], W is [out, in], y is [n, out]. In
// ForwardCached with DecodeBF16 on, W is its bfloat16 copy.
func (m *Model) linear(y, x kernels.Buffer, w *Param, n int, accumulate bool) {
	out, in := w.Shape[0], w.Shape[1]
	if wb, ok := m.bf16[w]; ok && m.decoding {
		m.B.(kernels.BF16Weights).GemmBF16(n, out, in, x, wb, accumulate, y)
		return
	}
	var beta float32
	if accumulate {
		beta = 1
	}
	m.B.Gemm(false, true, n, out, in, 1, x, w.W, beta, y)
}

// layerForward runs decoder layer li over n rows at positions pos [n]: a.xIn
// [n, D] in, a.out [n, D] out, the intermediates kept in a.
func (m *Model) layerForward(li int, a *layerActs, n int, pos []int32, att attention) {
	c, b, l := m.Config, m.B, &m.layers[li]
	D, I := c.HiddenSize, c.IntermediateSize
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	eps := float32(c.RMSNormEps)
	// Attention block: xMid = xIn + attention(norm(xIn))·Woᵀ.
	b.RMSNorm(a.h1, a.r1, a.xIn, l.inNorm.W, n, D, eps)
	m.linear(a.qPre, a.h1, l.q, n, false) // qPre [n, H·hd] = h1 [n, D] · Wqᵀ
	m.linear(a.kPre, a.h1, l.k, n, false) // kPre [n, KV·hd] = h1 [n, D] · Wkᵀ
	m.linear(a.v, a.h1, l.v, n, false)    // v [n, KV·hd] = h1 [n, D] · Wvᵀ
	b.RMSNorm(a.q, a.qr, a.qPre, l.qNorm.W, n*H, hd, eps)
	b.RMSNorm(a.k, a.kr, a.kPre, l.kNorm.W, n*KV, hd, eps)
	b.RoPE(a.q, m.cos, m.sin, pos, n, H, hd)
	b.RoPE(a.k, m.cos, m.sin, pos, n, KV, hd)
	att.attend(m, li, a)
	if a.keep == nil {
		a.xRes, a.attRes = a.xIn, a.att // (the decode swaps xIn and out between layers)
	} else {
		b.Embedding(a.xRes, a.xIn, a.keep, D)      // xRes [n2, D] = the kept rows of xIn
		b.Embedding(a.attRes, a.att, a.keep, H*hd) // attRes [n2, H·hd] = those of att
	}
	n = a.n2
	b.Copy(a.xMid, a.xRes)
	m.linear(a.xMid, a.attRes, l.o, n, true) // xMid [n2, D] += attRes [n2, H·hd] · Woᵀ
	// MLP block: out = xMid + (silu(h2·Wgateᵀ) ⊙ h2·Wupᵀ)·Wdownᵀ.
	b.RMSNorm(a.h2, a.r2, a.xMid, l.postNorm.W, n, D, eps)
	m.linear(a.gate, a.h2, l.gate, n, false) // gate [n2, I] = h2 [n2, D] · Wgateᵀ
	m.linear(a.up, a.h2, l.up, n, false)     // up [n2, I] = h2 [n2, D] · Wupᵀ
	b.SwiGLU(a.act, a.gate, a.up, n*I)
	b.Copy(a.out, a.xMid)
	m.linear(a.out, a.act, l.down, n, true) // out [n2, D] += act [n2, I] · Wdownᵀ
}

// headForward applies the final norm and the output head to x [n, D]: hf
// [n, D] and its rstd [n], and logits [n, V] = hf·Wheadᵀ, taken from ar.
func (m *Model) headForward(ar *arena, x kernels.Buffer, n int) (hf, rf, logits kernels.Buffer) {
	c, b := m.Config, m.B
	hf, rf = ar.alloc(n*c.HiddenSize), ar.alloc(n)
	b.RMSNorm(hf, rf, x, m.norm.W, n, c.HiddenSize, float32(c.RMSNormEps))
	logits = ar.alloc(n * c.VocabSize)
	m.linear(logits, hf, m.head, n, false) // logits [n, V] = hf [n, D] · Wheadᵀ
	return hf, rf, logits
}

// Pass holds one forward pass over a packed batch: its inputs, every
// activation the backward needs, and the logits. Its buffers belong to the
// model and are reused by the next Forward: a Pass is valid until then, and
// TokenLogProbs and Backward refuse one that is not.
type Pass struct {
	seq    int // the model's Forward count when it was made
	N      int
	IDs    []int32 // [N] token ids
	Starts []int32 // [S+1] cu_seqlens
	Pos    []int32 // [N] position of each token inside its sequence
	// Rows lists the rows the head ran over, ascending, when ForwardTargets
	// kept fewer than all N; nil means every row. The last layer's output,
	// the final norm and Logits hold those rows only.
	Rows []int32

	layers []layerActs
	xOut   kernels.Buffer // [R, D] residual after the last layer (R = HeadRows())
	hf, rf kernels.Buffer // final norm output [R, D], rstd [R]
	Logits kernels.Buffer // [R, V]
}

// HeadRows is the number of rows the head ran over: N, or len(Rows).
func (p *Pass) HeadRows() int {
	if p.Rows != nil {
		return len(p.Rows)
	}
	return p.N
}

// checkBatch validates ids and cu_seqlens and derives positions.
func (m *Model) checkBatch(ids, starts []int32) ([]int32, error) {
	n := len(ids)
	if n == 0 {
		return nil, fmt.Errorf("model: empty batch")
	}
	if len(starts) < 2 || starts[0] != 0 || int(starts[len(starts)-1]) != n {
		return nil, fmt.Errorf("model: cu_seqlens %v must start at 0 and end at the token count %d", starts, n)
	}
	pos := make([]int32, n)
	for s := 0; s+1 < len(starts); s++ {
		if starts[s+1] <= starts[s] {
			return nil, fmt.Errorf("model: cu_seqlens %v: sequence %d is empty or out of order", starts, s)
		}
		for t := starts[s]; t < starts[s+1]; t++ {
			pos[t] = t - starts[s]
		}
	}
	for i, id := range ids {
		if id < 0 || int(id) >= m.Config.VocabSize {
			return nil, fmt.Errorf("model: token %d at position %d is outside the vocabulary [0, %d)", id, i, m.Config.VocabSize)
		}
	}
	return pos, nil
}

func (m *Model) scale() float32 { return float32(1 / math.Sqrt(float64(m.Config.HeadDim))) }

// Forward runs the model over a packed batch: ids [N] holds every sequence
// back to back and starts (cu_seqlens) marks where each begins. Attention is
// causal inside each sequence, and positions restart at 0 in each. The
// Pass's buffers are the model's, reused by the next call to Forward.
func (m *Model) Forward(ids, starts []int32) (*Pass, error) {
	return m.forward(ids, starts, nil)
}

// ForwardTargets is Forward for a loss that reads only the rows with a
// target (targets[i] >= 0, as TokenLogProbs and Backward take them). A
// row's output feeds only its own logits, so the last layer's output
// projection and MLP, the final norm and the head run over those rows
// alone (its queries, keys and values still run over every row, as later
// rows attend to them); the prompt rows of an RL or SFT batch cost only
// the attention half of the last layer. The kept rows' log-probabilities
// equal Forward's up to the rounding of products with fewer rows; the
// Pass's Rows lists them.
func (m *Model) ForwardTargets(ids, starts, targets []int32) (*Pass, error) {
	if len(targets) != len(ids) {
		return nil, fmt.Errorf("model: %d targets for %d tokens", len(targets), len(ids))
	}
	var rows []int32
	for i, t := range targets {
		if t >= 0 {
			rows = append(rows, int32(i))
		}
	}
	if len(rows) == 0 || len(rows) == len(ids) {
		rows = nil // nothing to skip (or nothing to keep: Forward's logits are all zero-weight)
	}
	return m.forward(ids, starts, rows)
}

// forward is Forward, with the last layer's second half and the head over
// rows alone when rows is not nil.
func (m *Model) forward(ids, starts, rows []int32) (*Pass, error) {
	pos, err := m.checkBatch(ids, starts)
	if err != nil {
		return nil, err
	}
	N := len(ids)
	maxLen := 0
	for s := 0; s+1 < len(starts); s++ {
		maxLen = max(maxLen, int(starts[s+1]-starts[s]))
	}
	m.ensureRope(maxLen)

	m.passes++
	m.fwd.reset()
	p := &Pass{seq: m.passes, N: N, IDs: ids, Starts: starts, Pos: pos, Rows: rows}
	x := m.fwd.alloc(N * m.Config.HiddenSize) // [N, D]
	m.B.Embedding(x, m.embed.W, ids, m.Config.HiddenSize)
	att := packedAttention{starts: starts}
	for li := range m.layers {
		var keep []int32
		if li == len(m.layers)-1 {
			keep = rows
		}
		a := m.newLayerActs(&m.fwd, N, x, true, keep)
		m.layerForward(li, &a, N, pos, att)
		p.layers = append(p.layers, a)
		x = a.out
	}
	p.xOut = x
	p.hf, p.rf, p.Logits = m.headForward(&m.fwd, x, p.HeadRows())
	return p, nil
}

// current returns an error unless p is the model's latest Pass.
func (m *Model) current(p *Pass) error {
	if p.seq != m.passes {
		return fmt.Errorf("model: a Pass used after a later Forward reused its buffers")
	}
	return nil
}

// Hidden returns a copy of a hidden state: layer -1 is the embedding output,
// 0..L-1 the residual stream after each layer, and L the final norm's output
// (the last two over p.HeadRows() rows).
func (m *Model) Hidden(p *Pass, layer int) []float32 {
	if err := m.current(p); err != nil {
		panic(err)
	}
	D, rows := m.Config.HiddenSize, p.N
	var src kernels.Buffer
	switch {
	case layer < 0:
		src = p.layers[0].xIn
	case layer < len(m.layers):
		src, rows = p.layers[layer].out, p.layers[layer].n2
	default:
		src, rows = p.hf, p.HeadRows()
	}
	out := make([]float32, rows*D)
	m.B.Download(out, m.B.Slice(src, 0, rows*D))
	return out
}

// LogitsHost copies the logits [p.HeadRows(), V] to the host.
func (m *Model) LogitsHost(p *Pass) []float32 {
	if err := m.current(p); err != nil {
		panic(err)
	}
	n := p.HeadRows() * m.Config.VocabSize
	out := make([]float32, n)
	m.B.Download(out, m.B.Slice(p.Logits, 0, n))
	return out
}

// TokenLogProbs returns, for each token row, log π(targets[i] | prefix) and
// (if wantEntropy) the entropy of the predicted distribution. targets[i] < 0
// marks a row without a target (its log-prob is 0).
func (m *Model) TokenLogProbs(p *Pass, targets []int32, wantEntropy bool) (logp, entropy []float32, err error) {
	if err := m.current(p); err != nil {
		return nil, nil, err
	}
	if len(targets) != p.N {
		return nil, nil, fmt.Errorf("model: %d targets for %d tokens", len(targets), p.N)
	}
	for i, t := range targets {
		if int(t) >= m.Config.VocabSize {
			return nil, nil, fmt.Errorf("model: target %d at row %d is outside the vocabulary [0, %d)", t, i, m.Config.VocabSize)
		}
	}
	headTargets, err := p.headTargets(targets)
	if err != nil {
		return nil, nil, err
	}
	R := p.HeadRows()
	m.small.reset()
	lp := m.small.alloc(R)
	var en kernels.Buffer
	if wantEntropy {
		en = m.small.alloc(R)
	}
	m.B.TokenLogProbs(lp, en, p.Logits, headTargets, R, m.Config.VocabSize)
	logp = p.spread(m.B, lp)
	if wantEntropy {
		entropy = p.spread(m.B, en)
	}
	return logp, entropy, nil
}

// headTargets returns the targets of the head's rows, checking that a
// ForwardTargets pass kept exactly the rows that have one.
func (p *Pass) headTargets(targets []int32) ([]int32, error) {
	if p.Rows == nil {
		return targets, nil
	}
	out := make([]int32, len(p.Rows))
	kept := 0
	for i, t := range targets {
		if t < 0 {
			continue
		}
		if kept == len(p.Rows) || p.Rows[kept] != int32(i) {
			return nil, fmt.Errorf("model: row %d has a target but its pass ran the head only over the rows with targets when it was made", i)
		}
		out[kept] = t
		kept++
	}
	if kept != len(p.Rows) {
		return nil, fmt.Errorf("model: %d rows have targets, the pass was made for %d", kept, len(p.Rows))
	}
	return out, nil
}

// spread downloads a per-head-row value [HeadRows()] into a per-row slice
// [N], zero on the rows the head skipped.
func (p *Pass) spread(b kernels.Backend, v kernels.Buffer) []float32 {
	out := make([]float32, p.N)
	if p.Rows == nil {
		b.Download(out, v)
		return out
	}
	host := make([]float32, len(p.Rows))
	b.Download(host, v)
	for i, r := range p.Rows {
		out[r] = host[i]
	}
	return out
}

// gather returns a per-row slice's values [N] at the head's rows.
func (p *Pass) gather(v []float32) []float32 {
	if p.Rows == nil {
		return v
	}
	out := make([]float32, len(p.Rows))
	for i, r := range p.Rows {
		out[i] = v[r]
	}
	return out
}
