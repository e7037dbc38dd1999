// Package model is a hand-written Qwen3 decoder: parameters, forward and
// backward over packed sequences, per-token log-probabilities for any loss,
// KV-cache decoding, random initialisation, and loading and saving Hugging Face
// model directories. One decoder-layer forward serves the packed batch and the
// cached decode, which differ only in attention; Backward mirrors it. Every
// operation on parameters and activations goes through a kernels.Backend, so
// the same code runs on the CPU and on a GPU; only the RoPE tables and the
// loss's per-token sums are computed on the host. ForwardTargets is Forward
// for losses that read some rows only (RL and SFT score the completion, not
// the prompt): the last layer after its attention, and the head, run over
// those rows alone.
//
// Letters used in shape comments: N tokens in a packed batch, R rows the
// head runs over (N, or the rows with a target), D hidden size,
// I intermediate size, V vocabulary, H query heads, KV key/value heads,
// hd head dimension, L layers.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/weights"
)

// Param is one named parameter tensor: a view of the model's flat parameter
// buffer (and, once gradients are enabled, of the flat gradient buffer).
type Param struct {
	Name  string // Hugging Face tensor name
	Shape []int
	Off   int // offset in the flat buffers
	N     int // number of elements
	W     kernels.Buffer
	G     kernels.Buffer // nil until gradients are allocated
}

// layer holds one decoder layer's parameters.
type layer struct {
	inNorm, q, k, v, o, qNorm, kNorm, postNorm, gate, up, down *Param
}

// Model is a Qwen3 causal language model on one backend.
type Model struct {
	Config weights.Config
	B      kernels.Backend

	// Params and Grads are flat buffers holding every parameter (and its
	// gradient) contiguously, in the order of Tensors.
	Params  kernels.Buffer
	Grads   kernels.Buffer
	Tensors []*Param

	byName map[string]*Param
	embed  *Param // [V, D]
	norm   *Param // [D]
	head   *Param // [V, D]; the embedding when tied
	layers []layer

	cos, sin kernels.Buffer // RoPE tables [ropeLen, hd/2]
	ropeLen  int

	// Buffers kept from one call to the next: the packed forward's
	// activations (valid while its Pass is the latest), the backward's
	// gradients, the cached decode's rows, and the small outputs of
	// TokenLogProbs.
	fwd, bwd, dec, small arena
	passes               int // Forward calls so far; a Pass remembers its number

	// bf16 holds the bfloat16 copies of the projection and head weights
	// that ForwardCached multiplies by when DecodeBF16 is on (nil when off);
	// decoding is true while ForwardCached runs.
	bf16     map[*Param]kernels.Buffer
	decoding bool
}

// New builds a model of the given config with every parameter zero. Use
// InitRandom, or Load to read weights.
func New(cfg weights.Config, b kernels.Backend) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m := &Model{Config: cfg, B: b, byName: map[string]*Param{}}
	m.fwd.b, m.bwd.b, m.dec.b, m.small.b = b, b, b, b
	D, I, V := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	qd, kd := cfg.NumAttentionHeads*cfg.HeadDim, cfg.NumKeyValueHeads*cfg.HeadDim
	total := 0
	add := func(name string, shape ...int) *Param {
		n := 1
		for _, s := range shape {
			n *= s
		}
		p := &Param{Name: name, Shape: shape, Off: total, N: n}
		total += n
		m.Tensors = append(m.Tensors, p)
		m.byName[name] = p
		return p
	}
	m.embed = add("model.embed_tokens.weight", V, D)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		pre := fmt.Sprintf("model.layers.%d.", i)
		var l layer
		l.inNorm = add(pre+"input_layernorm.weight", D)
		l.q = add(pre+"self_attn.q_proj.weight", qd, D)
		l.k = add(pre+"self_attn.k_proj.weight", kd, D)
		l.v = add(pre+"self_attn.v_proj.weight", kd, D)
		l.o = add(pre+"self_attn.o_proj.weight", D, qd)
		l.qNorm = add(pre+"self_attn.q_norm.weight", cfg.HeadDim)
		l.kNorm = add(pre+"self_attn.k_norm.weight", cfg.HeadDim)
		l.postNorm = add(pre+"post_attention_layernorm.weight", D)
		l.gate = add(pre+"mlp.gate_proj.weight", I, D)
		l.up = add(pre+"mlp.up_proj.weight", I, D)
		l.down = add(pre+"mlp.down_proj.weight", D, I)
		m.layers = append(m.layers, l)
	}
	m.norm = add("model.norm.weight", D)
	if cfg.TieWordEmbeddings {
		m.head = m.embed
	} else {
		m.head = add("lm_head.weight", V, D)
	}
	m.Params = b.Alloc(total)
	for _, p := range m.Tensors {
		p.W = b.Slice(m.Params, p.Off, p.N)
	}
	return m, nil
}

// NumParams is the number of scalar parameters (the tied head counted once).
func (m *Model) NumParams() int { return m.Params.Len() }

// Param returns the parameter with the given Hugging Face name.
func (m *Model) Param(name string) (*Param, bool) {
	p, ok := m.byName[name]
	return p, ok
}

// EnableGrad allocates the gradient buffer (zeroed) if it is not there yet.
func (m *Model) EnableGrad() {
	if m.Grads != nil {
		return
	}
	m.Grads = m.B.Alloc(m.Params.Len())
	for _, p := range m.Tensors {
		p.G = m.B.Slice(m.Grads, p.Off, p.N)
	}
}

// ZeroGrad sets every gradient to zero.
func (m *Model) ZeroGrad() {
	m.EnableGrad()
	m.B.Fill(m.Grads, 0)
}

// InitRandom initialises the weights as transformers does for Qwen3: linear
// and embedding weights from N(0, initializer_range²), RMSNorm gains 1. The
// draw order is the order of Tensors, from a PCG generator seeded with seed.
func (m *Model) InitRandom(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	std := m.Config.InitializerRange
	if std <= 0 {
		std = 0.02
	}
	for _, p := range m.Tensors {
		host := make([]float32, p.N)
		if len(p.Shape) == 1 {
			for i := range host {
				host[i] = 1
			}
		} else {
			for i := range host {
				host[i] = float32(r.NormFloat64() * std)
			}
		}
		m.B.Upload(p.W, host)
	}
}

// ensureRope makes the RoPE tables cover positions 0..n-1. The angles are
// computed in float64: inv_freq[i] = theta^(-2i/hd), angle = pos·inv_freq[i].
func (m *Model) ensureRope(n int) {
	if n <= m.ropeLen {
		return
	}
	size := max(n, 2*m.ropeLen, 64)
	if mp := m.Config.MaxPositionEmbeddings; mp > 0 && size > mp && n <= mp {
		size = mp
	}
	hd := m.Config.HeadDim
	half := hd / 2
	cos := make([]float32, size*half)
	sin := make([]float32, size*half)
	for i := 0; i < half; i++ {
		inv := math.Pow(m.Config.RopeTheta, -float64(2*i)/float64(hd))
		for p := 0; p < size; p++ {
			a := float64(p) * inv
			cos[p*half+i] = float32(math.Cos(a))
			sin[p*half+i] = float32(math.Sin(a))
		}
	}
	m.cos, m.sin = m.B.Alloc(len(cos)), m.B.Alloc(len(sin))
	m.B.Upload(m.cos, cos)
	m.B.Upload(m.sin, sin)
	m.ropeLen = size
}

// RopeTables returns the cos and sin tables [n, hd/2] for positions 0..n-1.
func (m *Model) RopeTables(n int) (cos, sin []float32) {
	m.ensureRope(n)
	half := m.Config.HeadDim / 2
	cos, sin = make([]float32, n*half), make([]float32, n*half)
	all := make([]float32, m.ropeLen*half)
	m.B.Download(all, m.cos)
	copy(cos, all)
	m.B.Download(all, m.sin)
	copy(sin, all)
	return cos, sin
}
