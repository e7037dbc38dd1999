package model

import (
	"fmt"

	"github.com/frontier-rl/frontier/kernels"
)

// KVCache holds keys and values for a fixed number of sequence slots, each up
// to MaxLen positions: per layer, K and V are [Slots, MaxLen, KV·hd].
type KVCache struct {
	Slots, MaxLen int
	k, v          []kernels.Buffer
	width         int
	b             kernels.Backend
}

// NewKVCache allocates a cache for slots sequences of at most maxLen tokens.
func (m *Model) NewKVCache(slots, maxLen int) *KVCache {
	w := m.Config.NumKeyValueHeads * m.Config.HeadDim
	c := &KVCache{Slots: slots, MaxLen: maxLen, width: w, b: m.B}
	for range m.layers {
		c.k = append(c.k, m.B.Alloc(slots*maxLen*w))
		c.v = append(c.v, m.B.Alloc(slots*maxLen*w))
	}
	return c
}

// CopySlot copies the first n positions of slot src into slot dst, so that
// several samples can share one prompt's prefill.
func (c *KVCache) CopySlot(dst, src, n int) {
	if dst == src || n == 0 {
		return
	}
	for i := range c.k {
		for _, buf := range []kernels.Buffer{c.k[i], c.v[i]} {
			from := c.b.Slice(buf, src*c.MaxLen*c.width, n*c.width)
			to := c.b.Slice(buf, dst*c.MaxLen*c.width, n*c.width)
			c.b.Copy(to, from)
		}
	}
}

// ForwardCached runs token rows against the cache. Row i is token ids[i] at
// position pos[i] of slot slot[i]; its keys and values are stored in the cache
// and it attends to positions 0..pos[i] of its slot. Rows of one slot must
// come in increasing position order, with every earlier position already in
// the cache or among the rows. The logits of the rows listed in outRows are
// returned, [len(outRows), V], row-major.
func (m *Model) ForwardCached(c *KVCache, ids, slot, pos []int32, outRows []int32) ([]float32, error) {
	n := len(ids)
	if n == 0 || len(slot) != n || len(pos) != n {
		return nil, fmt.Errorf("model: cached forward with %d ids, %d slots, %d positions", n, len(slot), len(pos))
	}
	maxPos := 0
	for i := range ids {
		if ids[i] < 0 || int(ids[i]) >= m.Config.VocabSize {
			return nil, fmt.Errorf("model: token %d at row %d is outside the vocabulary [0, %d)", ids[i], i, m.Config.VocabSize)
		}
		if slot[i] < 0 || int(slot[i]) >= c.Slots || pos[i] < 0 || int(pos[i]) >= c.MaxLen {
			return nil, fmt.Errorf("model: row %d (slot %d, position %d) is outside the cache (%d slots x %d positions)", i, slot[i], pos[i], c.Slots, c.MaxLen)
		}
		maxPos = max(maxPos, int(pos[i])+1)
	}
	for _, r := range outRows {
		if r < 0 || int(r) >= n {
			return nil, fmt.Errorf("model: output row %d outside [0, %d)", r, n)
		}
	}
	cfg, b := m.Config, m.B
	D, I, V := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	H, KV, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	eps := float32(cfg.RMSNormEps)
	m.ensureRope(maxPos)
	length := make([]int32, n)
	for i := range pos {
		length[i] = pos[i] + 1
	}

	x := b.Alloc(n * D)
	b.Embedding(x, m.embed.W, ids, D)
	h, r := b.Alloc(n*D), b.Alloc(n*H)
	qPre, q := b.Alloc(n*H*hd), b.Alloc(n*H*hd)
	kPre, k, v := b.Alloc(n*KV*hd), b.Alloc(n*KV*hd), b.Alloc(n*KV*hd)
	att := b.Alloc(n * H * hd)
	gate, up := b.Alloc(n*I), b.Alloc(n*I)
	for li := range m.layers {
		l := &m.layers[li]
		b.RMSNorm(h, r, x, l.inNorm.W, n, D, eps)
		b.Gemm(false, true, n, H*hd, D, 1, h, l.q.W, 0, qPre)
		b.Gemm(false, true, n, KV*hd, D, 1, h, l.k.W, 0, kPre)
		b.Gemm(false, true, n, KV*hd, D, 1, h, l.v.W, 0, v)
		b.RMSNorm(q, r, qPre, l.qNorm.W, n*H, hd, eps)
		b.RMSNorm(k, r, kPre, l.kNorm.W, n*KV, hd, eps)
		b.RoPE(q, m.cos, m.sin, pos, n, H, hd)
		b.RoPE(k, m.cos, m.sin, pos, n, KV, hd)
		b.KVWrite(c.k[li], k, slot, pos, c.MaxLen, KV*hd)
		b.KVWrite(c.v[li], v, slot, pos, c.MaxLen, KV*hd)
		b.AttentionCached(att, q, c.k[li], c.v[li], slot, length, c.MaxLen, H, KV, hd, m.scale())
		b.Gemm(false, true, n, D, H*hd, 1, att, l.o.W, 1, x)
		b.RMSNorm(h, r, x, l.postNorm.W, n, D, eps)
		b.Gemm(false, true, n, I, D, 1, h, l.gate.W, 0, gate)
		b.Gemm(false, true, n, I, D, 1, h, l.up.W, 0, up)
		b.SwiGLU(gate, gate, up, n*I)
		b.Gemm(false, true, n, D, I, 1, gate, l.down.W, 1, x)
	}
	no := len(outRows)
	if no == 0 {
		return nil, nil
	}
	sel := b.Alloc(no * D)
	b.Embedding(sel, x, outRows, D)
	hs := b.Alloc(no * D)
	b.RMSNorm(hs, b.Alloc(no), sel, m.norm.W, no, D, eps)
	logits := b.Alloc(no * V)
	b.Gemm(false, true, no, V, D, 1, hs, m.head.W, 0, logits)
	out := make([]float32, no*V)
	b.Download(out, logits)
	return out, nil
}
