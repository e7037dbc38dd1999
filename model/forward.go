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
	xMid     kernels.Buffer // [n, D] residual after attention
	h2, r2   kernels.Buffer // post-attention RMSNorm output [n, D], rstd [n]
	gate, up kernels.Buffer // [n, I]
	act      kernels.Buffer // silu(gate)·up [n, I]
	out      kernels.Buffer // [n, D] residual leaving the layer
}

// newLayerActs takes the buffers of one layer over n rows from ar, with xIn
// as the layer's input; lse is taken only when withLSE is set. The buffers
// are not zeroed: the layer overwrites every one.
func (m *Model) newLayerActs(ar *arena, n int, xIn kernels.Buffer, withLSE bool) layerActs {
	c := m.Config
	D, I := c.HiddenSize, c.IntermediateSize
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	a := layerActs{
		xIn: xIn,
		h1:  ar.alloc(n * D), r1: ar.alloc(n),
		qPre: ar.alloc(n * H * hd), qr: ar.alloc(n * H),
		kPre: ar.alloc(n * KV * hd), kr: ar.alloc(n * KV),
		q: ar.alloc(n * H * hd), k: ar.alloc(n * KV * hd), v: ar.alloc(n * KV * hd),
		att:  ar.alloc(n * H * hd),
		xMid: ar.alloc(n * D),
		h2:   ar.alloc(n * D), r2: ar.alloc(n),
		gate: ar.alloc(n * I), up: ar.alloc(n * I), act: ar.alloc(n * I),
		out: ar.alloc(n * D),
	}
	if withLSE {
		a.lse = ar.alloc(n * H)
	}
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
	b.Copy(a.xMid, a.xIn)
	m.linear(a.xMid, a.att, l.o, n, true) // xMid [n, D] += att [n, H·hd] · Woᵀ
	// MLP block: out = xMid + (silu(h2·Wgateᵀ) ⊙ h2·Wupᵀ)·Wdownᵀ.
	b.RMSNorm(a.h2, a.r2, a.xMid, l.postNorm.W, n, D, eps)
	m.linear(a.gate, a.h2, l.gate, n, false) // gate [n, I] = h2 [n, D] · Wgateᵀ
	m.linear(a.up, a.h2, l.up, n, false)     // up [n, I] = h2 [n, D] · Wupᵀ
	b.SwiGLU(a.act, a.gate, a.up, n*I)
	b.Copy(a.out, a.xMid)
	m.linear(a.out, a.act, l.down, n, true) // out [n, D] += act [n, I] · Wdownᵀ
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

	layers []layerActs
	xOut   kernels.Buffer // [N, D] residual after the last layer
	hf, rf kernels.Buffer // final norm output [N, D], rstd [N]
	Logits kernels.Buffer // [N, V]
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
	p := &Pass{seq: m.passes, N: N, IDs: ids, Starts: starts, Pos: pos}
	x := m.fwd.alloc(N * m.Config.HiddenSize) // [N, D]
	m.B.Embedding(x, m.embed.W, ids, m.Config.HiddenSize)
	att := packedAttention{starts: starts}
	for li := range m.layers {
		a := m.newLayerActs(&m.fwd, N, x, true)
		m.layerForward(li, &a, N, pos, att)
		p.layers = append(p.layers, a)
		x = a.out
	}
	p.xOut = x
	p.hf, p.rf, p.Logits = m.headForward(&m.fwd, x, N)
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
// 0..L-1 the residual stream after each layer, and L the final norm's output.
func (m *Model) Hidden(p *Pass, layer int) []float32 {
	if err := m.current(p); err != nil {
		panic(err)
	}
	D := m.Config.HiddenSize
	out := make([]float32, p.N*D)
	switch {
	case layer < 0:
		m.B.Download(out, p.layers[0].xIn)
	case layer < len(m.layers):
		m.B.Download(out, p.layers[layer].out)
	default:
		m.B.Download(out, p.hf)
	}
	return out
}

// LogitsHost copies the logits [N, V] to the host.
func (m *Model) LogitsHost(p *Pass) []float32 {
	if err := m.current(p); err != nil {
		panic(err)
	}
	out := make([]float32, p.N*m.Config.VocabSize)
	m.B.Download(out, p.Logits)
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
	m.small.reset()
	lp := m.small.alloc(p.N)
	var en kernels.Buffer
	if wantEntropy {
		en = m.small.alloc(p.N)
	}
	m.B.TokenLogProbs(lp, en, p.Logits, targets, p.N, m.Config.VocabSize)
	logp = make([]float32, p.N)
	m.B.Download(logp, lp)
	if wantEntropy {
		entropy = make([]float32, p.N)
		m.B.Download(entropy, en)
	}
	return logp, entropy, nil
}
