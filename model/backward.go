package model

import (
	"fmt"

	"github.com/frontier-rl/frontier/kernels"
)

// linearBackward is the mirror of linear for y = x·Wᵀ: dx = dy·W (or dx +=
// dy·W when accumulate is set) and dW += dyᵀ·x. dy is [n, out], x and dx are
// [n, in], W and dW are [out, in].
func (m *Model) linearBackward(dx, dy, x kernels.Buffer, w *Param, n int, accumulate bool) {
	out, in := w.Shape[0], w.Shape[1]
	var beta float32
	if accumulate {
		beta = 1
	}
	m.B.Gemm(false, false, n, in, out, 1, dy, w.W, beta, dx)
	m.B.Gemm(true, false, out, in, n, 1, dy, x, 1, w.G)
}

// layerGrads are the gradient buffers of one layer over N rows, reused from
// the last layer down to the first.
type layerGrads struct {
	dx               kernels.Buffer // [N, D] gradient of the residual stream ([n2, D] above a kept-rows layer's attention)
	dxAll            kernels.Buffer // [N, D] dx's buffer (dx starts as the head's [R, D] gradient)
	dattRes          kernels.Buffer // [R, H·hd] gradient of a kept-rows layer's attRes (nil without one)
	dh               kernels.Buffer // [N, D] gradient of a norm's output
	dact, dgate, dup kernels.Buffer // [N, I]
	datt, dq, dqPre  kernels.Buffer // [N, H·hd]
	dk, dv, dkPre    kernels.Buffer // [N, KV·hd]
}

// newLayerGrads takes the layer gradients over n rows from the backward's
// arena, with dx (the gradient at the last layer's output) as the residual
// gradient. They are not zeroed: every one is overwritten before it is read.
func (m *Model) newLayerGrads(p *Pass, dx kernels.Buffer) *layerGrads {
	c, ar, n := m.Config, &m.bwd, p.N
	D, I := c.HiddenSize, c.IntermediateSize
	qd, kd := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	g := &layerGrads{
		dx: dx, dxAll: dx, dh: ar.alloc(n * D),
		dact: ar.alloc(n * I), dgate: ar.alloc(n * I), dup: ar.alloc(n * I),
		datt: ar.alloc(n * qd), dq: ar.alloc(n * qd), dqPre: ar.alloc(n * qd),
		dk: ar.alloc(n * kd), dv: ar.alloc(n * kd), dkPre: ar.alloc(n * kd),
	}
	if p.Rows != nil {
		g.dxAll, g.dattRes = ar.alloc(n*D), ar.alloc(len(p.Rows)*qd)
	}
	return g
}

// headBackward is the mirror of headForward: from dlogp [N] it accumulates
// the head's and the final norm's gradients and returns the gradient of the
// last layer's output [N, D].
func (m *Model) headBackward(p *Pass, targets []int32, dlogp []float32) kernels.Buffer {
	c, b, ar := m.Config, m.B, &m.bwd
	N, D, V := p.HeadRows(), c.HiddenSize, c.VocabSize
	dlp := ar.alloc(N)
	b.Upload(dlp, dlogp)
	dlogits := ar.alloc(N * V)
	b.TokenLogProbsBackward(dlogits, p.Logits, targets, dlp, N, V)
	dhf := ar.alloc(N * D)
	m.linearBackward(dhf, dlogits, p.hf, m.head, N, false) // dhf [N, D] = dlogits [N, V] · Whead
	dx := ar.alloc(N * D)
	b.Fill(dx, 0) // the norm's backward accumulates
	b.RMSNormBackward(dx, m.norm.G, dhf, p.xOut, m.norm.W, p.rf, N, D)
	return dx
}

// layerBackward is the mirror of layerForward: g.dx comes in as the gradient
// at a.out and leaves as the gradient at a.xIn; layer li's weight gradients
// are accumulated.
func (m *Model) layerBackward(li int, a *layerActs, p *Pass, g *layerGrads) {
	c, b, l := m.Config, m.B, &m.layers[li]
	N, D, I := p.N, c.HiddenSize, c.IntermediateSize
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	n := a.n2 // rows above the attention: N, or the kept ones
	// MLP block: out = xMid + act·Wdownᵀ; the residual passes dx through.
	m.linearBackward(g.dact, g.dx, a.act, l.down, n, false) // dact [n2, I] = dx [n2, D] · Wdown
	b.SwiGLUBackward(g.dgate, g.dup, g.dact, a.gate, a.up, n*I)
	m.linearBackward(g.dh, g.dgate, a.h2, l.gate, n, false) // dh [n2, D] = dgate [n2, I] · Wgate
	m.linearBackward(g.dh, g.dup, a.h2, l.up, n, true)      // dh [n2, D] += dup [n2, I] · Wup
	b.RMSNormBackward(g.dx, l.postNorm.G, g.dh, a.xMid, l.postNorm.W, a.r2, n, D)
	// Attention block: xMid = xRes + attRes·Woᵀ; the residual passes dx through.
	if a.keep == nil {
		m.linearBackward(g.datt, g.dx, a.attRes, l.o, N, false) // datt [N, H·hd] = dx [N, D] · Wo
	} else {
		// The skipped rows' outputs fed nothing: their gradients are zero.
		m.linearBackward(g.dattRes, g.dx, a.attRes, l.o, n, false) // dattRes [n2, H·hd] = dx [n2, D] · Wo
		b.Fill(g.datt, 0)
		b.EmbeddingBackward(g.datt, g.dattRes, a.keep, H*hd) // datt [N, H·hd]: the kept rows
		b.Fill(g.dxAll, 0)
		b.EmbeddingBackward(g.dxAll, g.dx, a.keep, D) // dx [N, D]: the kept rows
		g.dx = g.dxAll
	}
	b.AttentionBackward(g.dq, g.dk, g.dv, g.datt, a.q, a.k, a.v, a.att, a.lse, p.Starts, H, KV, hd, m.scale())
	b.RoPEBackward(g.dq, m.cos, m.sin, p.Pos, N, H, hd)
	b.RoPEBackward(g.dk, m.cos, m.sin, p.Pos, N, KV, hd)
	b.Fill(g.dqPre, 0)
	b.Fill(g.dkPre, 0)
	b.RMSNormBackward(g.dqPre, l.qNorm.G, g.dq, a.qPre, l.qNorm.W, a.qr, N*H, hd)
	b.RMSNormBackward(g.dkPre, l.kNorm.G, g.dk, a.kPre, l.kNorm.W, a.kr, N*KV, hd)
	m.linearBackward(g.dh, g.dqPre, a.h1, l.q, N, false) // dh [N, D] = dqPre [N, H·hd] · Wq
	m.linearBackward(g.dh, g.dkPre, a.h1, l.k, N, true)  // dh [N, D] += dkPre [N, KV·hd] · Wk
	m.linearBackward(g.dh, g.dv, a.h1, l.v, N, true)     // dh [N, D] += dv [N, KV·hd] · Wv
	b.RMSNormBackward(g.dx, l.inNorm.G, g.dh, a.xIn, l.inNorm.W, a.r1, N, D)
}

// Backward accumulates into the gradients the derivative of a loss whose
// derivative with respect to each row's target log-prob is dlogp[i] (rows with
// targets[i] < 0 or dlogp[i] = 0 contribute nothing). It is Forward in
// reverse: the head, the layers from last to first, the embedding.
func (m *Model) Backward(p *Pass, targets []int32, dlogp []float32) error {
	if len(targets) != p.N || len(dlogp) != p.N {
		return fmt.Errorf("model: backward with %d targets and %d gradients for %d tokens", len(targets), len(dlogp), p.N)
	}
	if err := m.current(p); err != nil {
		return err
	}
	headTargets, err := p.headTargets(targets)
	if err != nil {
		return err
	}
	m.EnableGrad()
	m.bwd.reset()
	dx := m.headBackward(p, headTargets, p.gather(dlogp))
	g := m.newLayerGrads(p, dx)
	for li := len(m.layers) - 1; li >= 0; li-- {
		m.layerBackward(li, &p.layers[li], p, g)
	}
	m.B.EmbeddingBackward(m.embed.G, g.dx, p.IDs, m.Config.HiddenSize)
	return nil
}
