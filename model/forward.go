package model

import (
	"fmt"
	"math"

	"github.com/frontier-rl/frontier/kernels"
)

// layerActs are the activations of one decoder layer kept for the backward.
type layerActs struct {
	xIn      kernels.Buffer // [N, D] residual stream entering the layer
	h1, r1   kernels.Buffer // input RMSNorm output [N, D] and its rstd [N]
	qPre, qr kernels.Buffer // q before q_norm [N, H·hd], rstd [N·H]
	kPre, kr kernels.Buffer // k before k_norm [N, KV·hd], rstd [N·KV]
	q, k, v  kernels.Buffer // after norm and RoPE: [N, H·hd], [N, KV·hd], [N, KV·hd]
	att, lse kernels.Buffer // attention output [N, H·hd], log-sum-exp [N, H]
	xMid     kernels.Buffer // [N, D] residual after attention
	h2, r2   kernels.Buffer // post-attention RMSNorm output [N, D], rstd [N]
	gate, up kernels.Buffer // [N, I]
	act      kernels.Buffer // silu(gate)·up [N, I]
}

// Pass holds one forward pass over a packed batch: its inputs, every
// activation the backward needs, and the logits.
type Pass struct {
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
// causal inside each sequence, and positions restart at 0 in each.
func (m *Model) Forward(ids, starts []int32) (*Pass, error) {
	pos, err := m.checkBatch(ids, starts)
	if err != nil {
		return nil, err
	}
	c, b := m.Config, m.B
	N, D, I, V := len(ids), c.HiddenSize, c.IntermediateSize, c.VocabSize
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	eps := float32(c.RMSNormEps)
	maxLen := 0
	for s := 0; s+1 < len(starts); s++ {
		maxLen = max(maxLen, int(starts[s+1]-starts[s]))
	}
	m.ensureRope(maxLen)

	p := &Pass{N: N, IDs: ids, Starts: starts, Pos: pos}
	x := b.Alloc(N * D)
	b.Embedding(x, m.embed.W, ids, D)
	for li := range m.layers {
		l := &m.layers[li]
		a := layerActs{
			xIn: x,
			h1:  b.Alloc(N * D), r1: b.Alloc(N),
			qPre: b.Alloc(N * H * hd), qr: b.Alloc(N * H),
			kPre: b.Alloc(N * KV * hd), kr: b.Alloc(N * KV),
			q: b.Alloc(N * H * hd), k: b.Alloc(N * KV * hd), v: b.Alloc(N * KV * hd),
			att: b.Alloc(N * H * hd), lse: b.Alloc(N * H),
			xMid: b.Alloc(N * D),
			h2:   b.Alloc(N * D), r2: b.Alloc(N),
			gate: b.Alloc(N * I), up: b.Alloc(N * I), act: b.Alloc(N * I),
		}
		// Attention block.
		b.RMSNorm(a.h1, a.r1, x, l.inNorm.W, N, D, eps)
		b.Gemm(false, true, N, H*hd, D, 1, a.h1, l.q.W, 0, a.qPre)
		b.Gemm(false, true, N, KV*hd, D, 1, a.h1, l.k.W, 0, a.kPre)
		b.Gemm(false, true, N, KV*hd, D, 1, a.h1, l.v.W, 0, a.v)
		b.RMSNorm(a.q, a.qr, a.qPre, l.qNorm.W, N*H, hd, eps)
		b.RMSNorm(a.k, a.kr, a.kPre, l.kNorm.W, N*KV, hd, eps)
		b.RoPE(a.q, m.cos, m.sin, pos, N, H, hd)
		b.RoPE(a.k, m.cos, m.sin, pos, N, KV, hd)
		b.Attention(a.att, a.lse, a.q, a.k, a.v, starts, H, KV, hd, m.scale())
		b.Copy(a.xMid, x)
		b.Gemm(false, true, N, D, H*hd, 1, a.att, l.o.W, 1, a.xMid)
		// MLP block.
		b.RMSNorm(a.h2, a.r2, a.xMid, l.postNorm.W, N, D, eps)
		b.Gemm(false, true, N, I, D, 1, a.h2, l.gate.W, 0, a.gate)
		b.Gemm(false, true, N, I, D, 1, a.h2, l.up.W, 0, a.up)
		b.SwiGLU(a.act, a.gate, a.up, N*I)
		out := b.Alloc(N * D)
		b.Copy(out, a.xMid)
		b.Gemm(false, true, N, D, I, 1, a.act, l.down.W, 1, out)
		p.layers = append(p.layers, a)
		x = out
	}
	p.xOut = x
	p.hf, p.rf = b.Alloc(N*D), b.Alloc(N)
	b.RMSNorm(p.hf, p.rf, x, m.norm.W, N, D, eps)
	p.Logits = b.Alloc(N * V)
	b.Gemm(false, true, N, V, D, 1, p.hf, m.head.W, 0, p.Logits)
	return p, nil
}

// Hidden returns a copy of a hidden state: layer -1 is the embedding output,
// 0..L-1 the residual stream after each layer, and L the final norm's output.
func (m *Model) Hidden(p *Pass, layer int) []float32 {
	D := m.Config.HiddenSize
	out := make([]float32, p.N*D)
	switch {
	case layer < 0:
		m.B.Download(out, p.layers[0].xIn)
	case layer < len(m.layers)-1:
		m.B.Download(out, p.layers[layer+1].xIn)
	case layer == len(m.layers)-1:
		m.B.Download(out, p.xOut)
	default:
		m.B.Download(out, p.hf)
	}
	return out
}

// LogitsHost copies the logits [N, V] to the host.
func (m *Model) LogitsHost(p *Pass) []float32 {
	out := make([]float32, p.N*m.Config.VocabSize)
	m.B.Download(out, p.Logits)
	return out
}

// TokenLogProbs returns, for each token row, log π(targets[i] | prefix) and
// (if wantEntropy) the entropy of the predicted distribution. targets[i] < 0
// marks a row without a target (its log-prob is 0).
func (m *Model) TokenLogProbs(p *Pass, targets []int32, wantEntropy bool) (logp, entropy []float32, err error) {
	if len(targets) != p.N {
		return nil, nil, fmt.Errorf("model: %d targets for %d tokens", len(targets), p.N)
	}
	for i, t := range targets {
		if int(t) >= m.Config.VocabSize {
			return nil, nil, fmt.Errorf("model: target %d at row %d is outside the vocabulary [0, %d)", t, i, m.Config.VocabSize)
		}
	}
	lp := m.B.Alloc(p.N)
	var en kernels.Buffer
	if wantEntropy {
		en = m.B.Alloc(p.N)
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

// Backward accumulates into the gradients the derivative of a loss whose
// derivative with respect to each row's target log-prob is dlogp[i] (rows with
// targets[i] < 0 or dlogp[i] = 0 contribute nothing).
func (m *Model) Backward(p *Pass, targets []int32, dlogp []float32) error {
	if len(targets) != p.N || len(dlogp) != p.N {
		return fmt.Errorf("model: backward with %d targets and %d gradients for %d tokens", len(targets), len(dlogp), p.N)
	}
	m.EnableGrad()
	c, b := m.Config, m.B
	N, D, I, V := p.N, c.HiddenSize, c.IntermediateSize, c.VocabSize
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim

	// Head: logits = hf·Wᵀ.
	dlp := b.Alloc(N)
	b.Upload(dlp, dlogp)
	dlogits := b.Alloc(N * V)
	b.TokenLogProbsBackward(dlogits, p.Logits, targets, dlp, N, V)
	dhf := b.Alloc(N * D)
	b.Gemm(false, false, N, D, V, 1, dlogits, m.head.W, 0, dhf)
	b.Gemm(true, false, V, D, N, 1, dlogits, p.hf, 1, m.head.G)
	dlogits = nil

	dx := b.Alloc(N * D) // gradient of the residual stream
	b.RMSNormBackward(dx, m.norm.G, dhf, p.xOut, m.norm.W, p.rf, N, D)

	dh := b.Alloc(N * D)
	dact, dgate, dup := b.Alloc(N*I), b.Alloc(N*I), b.Alloc(N*I)
	datt := b.Alloc(N * H * hd)
	dq, dk, dv := b.Alloc(N*H*hd), b.Alloc(N*KV*hd), b.Alloc(N*KV*hd)
	dqPre, dkPre := b.Alloc(N*H*hd), b.Alloc(N*KV*hd)
	for li := len(m.layers) - 1; li >= 0; li-- {
		l, a := &m.layers[li], &p.layers[li]
		// MLP: out = xMid + act·Wdownᵀ.
		b.Gemm(false, false, N, I, D, 1, dx, l.down.W, 0, dact)
		b.Gemm(true, false, D, I, N, 1, dx, a.act, 1, l.down.G)
		b.SwiGLUBackward(dgate, dup, dact, a.gate, a.up, N*I)
		b.Gemm(false, false, N, D, I, 1, dgate, l.gate.W, 0, dh)
		b.Gemm(false, false, N, D, I, 1, dup, l.up.W, 1, dh)
		b.Gemm(true, false, I, D, N, 1, dgate, a.h2, 1, l.gate.G)
		b.Gemm(true, false, I, D, N, 1, dup, a.h2, 1, l.up.G)
		b.RMSNormBackward(dx, l.postNorm.G, dh, a.xMid, l.postNorm.W, a.r2, N, D)
		// Attention: xMid = xIn + att·Woᵀ.
		b.Gemm(false, false, N, H*hd, D, 1, dx, l.o.W, 0, datt)
		b.Gemm(true, false, D, H*hd, N, 1, dx, a.att, 1, l.o.G)
		b.AttentionBackward(dq, dk, dv, datt, a.q, a.k, a.v, a.att, a.lse, p.Starts, H, KV, hd, m.scale())
		b.RoPEBackward(dq, m.cos, m.sin, p.Pos, N, H, hd)
		b.RoPEBackward(dk, m.cos, m.sin, p.Pos, N, KV, hd)
		b.Fill(dqPre, 0)
		b.Fill(dkPre, 0)
		b.RMSNormBackward(dqPre, l.qNorm.G, dq, a.qPre, l.qNorm.W, a.qr, N*H, hd)
		b.RMSNormBackward(dkPre, l.kNorm.G, dk, a.kPre, l.kNorm.W, a.kr, N*KV, hd)
		b.Gemm(false, false, N, D, H*hd, 1, dqPre, l.q.W, 0, dh)
		b.Gemm(false, false, N, D, KV*hd, 1, dkPre, l.k.W, 1, dh)
		b.Gemm(false, false, N, D, KV*hd, 1, dv, l.v.W, 1, dh)
		b.Gemm(true, false, H*hd, D, N, 1, dqPre, a.h1, 1, l.q.G)
		b.Gemm(true, false, KV*hd, D, N, 1, dkPre, a.h1, 1, l.k.G)
		b.Gemm(true, false, KV*hd, D, N, 1, dv, a.h1, 1, l.v.G)
		b.RMSNormBackward(dx, l.inNorm.G, dh, a.xIn, l.inNorm.W, a.r1, N, D)
	}
	b.EmbeddingBackward(m.embed.G, dx, p.IDs, D)
	return nil
}
