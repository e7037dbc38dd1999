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

// cachedAttention is attention against a KV cache: each row's key and
// value are stored at (slot[i], pos[i]), and the row attends to positions
// 0 .. length[i]-1 of its slot.
type cachedAttention struct {
	c                 *KVCache
	slot, pos, length []int32 // [n] each
}

func (ca cachedAttention) attend(m *Model, li int, a *layerActs) {
	c, b := m.Config, m.B
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	b.KVWrite(ca.c.k[li], a.k, ca.slot, ca.pos, ca.c.MaxLen, KV*hd)
	b.KVWrite(ca.c.v[li], a.v, ca.slot, ca.pos, ca.c.MaxLen, KV*hd)
	b.AttentionCached(a.att, a.q, ca.c.k[li], ca.c.v[li], ca.slot, ca.length, ca.c.MaxLen, H, KV, hd, m.scale())
}

// checkCached validates the rows of a cached forward and returns the number
// of positions the RoPE tables must cover.
func (m *Model) checkCached(c *KVCache, ids, slot, pos, outRows []int32) (int, error) {
	n := len(ids)
	if n == 0 || len(slot) != n || len(pos) != n {
		return 0, fmt.Errorf("model: cached forward with %d ids, %d slots, %d positions", n, len(slot), len(pos))
	}
	maxPos := 0
	for i := range ids {
		if ids[i] < 0 || int(ids[i]) >= m.Config.VocabSize {
			return 0, fmt.Errorf("model: token %d at row %d is outside the vocabulary [0, %d)", ids[i], i, m.Config.VocabSize)
		}
		if slot[i] < 0 || int(slot[i]) >= c.Slots || pos[i] < 0 || int(pos[i]) >= c.MaxLen {
			return 0, fmt.Errorf("model: row %d (slot %d, position %d) is outside the cache (%d slots x %d positions)", i, slot[i], pos[i], c.Slots, c.MaxLen)
		}
		maxPos = max(maxPos, int(pos[i])+1)
	}
	for _, r := range outRows {
		if r < 0 || int(r) >= n {
			return 0, fmt.Errorf("model: output row %d outside [0, %d)", r, n)
		}
	}
	return maxPos, nil
}

// ForwardCached runs token rows against the cache. Row i is token ids[i] at
// position pos[i] of slot slot[i]; its keys and values are stored in the cache
// and it attends to positions 0..pos[i] of its slot. Rows of one slot must
// come in increasing position order, with every earlier position already in
// the cache or among the rows. The logits of the rows listed in outRows are
// returned, [len(outRows), V], row-major. The layers are those of Forward;
// only the attention differs.
func (m *Model) ForwardCached(c *KVCache, ids, slot, pos []int32, outRows []int32) ([]float32, error) {
	maxPos, err := m.checkCached(c, ids, slot, pos, outRows)
	if err != nil {
		return nil, err
	}
	m.ensureRope(maxPos)
	m.decoding = true
	defer func() { m.decoding = false }()
	n, D, b := len(ids), m.Config.HiddenSize, m.B
	length := make([]int32, n)
	for i := range pos {
		length[i] = pos[i] + 1
	}
	att := cachedAttention{c: c, slot: slot, pos: pos, length: length}
	// One set of buffers serves every layer: a layer's output is the next
	// one's input.
	m.dec.reset()
	a := m.newLayerActs(&m.dec, n, m.dec.alloc(n*D), false, nil)
	b.Embedding(a.xIn, m.embed.W, ids, D)
	for li := range m.layers {
		m.layerForward(li, &a, n, pos, att)
		a.xIn, a.out = a.out, a.xIn
	}
	no := len(outRows)
	if no == 0 {
		return nil, nil
	}
	sel := m.dec.alloc(no * D) // [no, D] the rows whose logits are wanted
	b.Embedding(sel, a.xIn, outRows, D)
	_, _, logits := m.headForward(&m.dec, sel, no)
	out := make([]float32, no*m.Config.VocabSize)
	b.Download(out, logits)
	return out, nil
}

// DecodeBF16 turns bfloat16 weights for ForwardCached (sampling and
// decoding) on or off. On, it takes bfloat16 copies (rounded to nearest) of
// every projection matrix and of the output head, and ForwardCached
// multiplies by them, widening them to float32 in registers, at half the
// bytes read per token; the embedding gather, the norms and the attention
// stay float32, as do Forward, Backward and the parameters themselves. The
// copies are of the weights at the time of the call: after the weights
// change (an optimizer step, a load), call it again. It returns an error
// when the backend has no bfloat16 products (kernels.BF16Weights).
func (m *Model) DecodeBF16(on bool) error {
	if !on {
		m.bf16 = nil
		return nil
	}
	bb, ok := m.B.(kernels.BF16Weights)
	if !ok {
		return fmt.Errorf("model: backend %s has no bfloat16 weights", m.B.Name())
	}
	m.bf16 = map[*Param]kernels.Buffer{m.head: bb.ToBF16(m.head.W)}
	for _, l := range m.layers {
		for _, p := range []*Param{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
			m.bf16[p] = bb.ToBF16(p.W)
		}
	}
	return nil
}
