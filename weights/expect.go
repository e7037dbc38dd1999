package weights

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TensorSpec is one tensor that a Qwen3 config implies: its Hugging Face
// name, its shape, and the config fields that give each dimension.
type TensorSpec struct {
	Name  string
	Shape []int
	Dims  string // e.g. "[vocab_size, hidden_size]"
}

// eachTensor calls fn for every tensor cfg implies, in the order of a
// Qwen3 state dict (embedding, layers, final norm, untied head), and stops
// at the first error fn returns. It builds one spec at a time, so a config
// with an absurd layer count costs nothing before fn refuses it.
func (c Config) eachTensor(fn func(TensorSpec) error) error {
	D, I, V, hd := c.HiddenSize, c.IntermediateSize, c.VocabSize, c.HeadDim
	qd, kd := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	const (
		qDims = "num_attention_heads*head_dim"
		kDims = "num_key_value_heads*head_dim"
	)
	spec := func(name, dims string, shape ...int) TensorSpec {
		return TensorSpec{Name: name, Shape: shape, Dims: dims}
	}
	if err := fn(spec("model.embed_tokens.weight", "[vocab_size, hidden_size]", V, D)); err != nil {
		return err
	}
	for i := 0; i < c.NumHiddenLayers; i++ {
		pre := fmt.Sprintf("model.layers.%d.", i)
		for _, s := range []TensorSpec{
			spec(pre+"input_layernorm.weight", "[hidden_size]", D),
			spec(pre+"self_attn.q_proj.weight", "["+qDims+", hidden_size]", qd, D),
			spec(pre+"self_attn.k_proj.weight", "["+kDims+", hidden_size]", kd, D),
			spec(pre+"self_attn.v_proj.weight", "["+kDims+", hidden_size]", kd, D),
			spec(pre+"self_attn.o_proj.weight", "[hidden_size, "+qDims+"]", D, qd),
			spec(pre+"self_attn.q_norm.weight", "[head_dim]", hd),
			spec(pre+"self_attn.k_norm.weight", "[head_dim]", hd),
			spec(pre+"post_attention_layernorm.weight", "[hidden_size]", D),
			spec(pre+"mlp.gate_proj.weight", "[intermediate_size, hidden_size]", I, D),
			spec(pre+"mlp.up_proj.weight", "[intermediate_size, hidden_size]", I, D),
			spec(pre+"mlp.down_proj.weight", "[hidden_size, intermediate_size]", D, I),
		} {
			if err := fn(s); err != nil {
				return err
			}
		}
	}
	if err := fn(spec("model.norm.weight", "[hidden_size]", D)); err != nil {
		return err
	}
	if !c.TieWordEmbeddings {
		return fn(spec("lm_head.weight", "[vocab_size, hidden_size]", V, D))
	}
	return nil
}

// Tensors returns every tensor c implies, in state-dict order. c must be
// valid (see Validate); use Checkpoint.CheckConfig to compare a config
// with a checkpoint whose size is not yet known to be sane.
func (c Config) Tensors() []TensorSpec {
	var out []TensorSpec
	c.eachTensor(func(s TensorSpec) error { out = append(out, s); return nil })
	return out
}

// ignoredTensor reports whether a checkpoint tensor that cfg does not use
// is one transformers also drops silently: the head of a tied model (the
// embedding stands in for it) and the rotary inverse-frequency buffers
// that older exports saved.
func ignoredTensor(cfg Config, name string) bool {
	if name == "lm_head.weight" && cfg.TieWordEmbeddings {
		return true
	}
	return strings.HasSuffix(name, ".rotary_emb.inv_freq")
}

// CheckConfig compares cfg with the checkpoint's headers, reading no tensor
// data and allocating nothing that grows with the config's sizes: every
// tensor cfg implies must be present, with a float dtype and exactly the
// implied shape, and every tensor of the checkpoint must be used by cfg.
// An unused tensor is an error rather than a warning (transformers only
// warns), because it almost always means config.json describes a smaller
// model than the weights (num_hidden_layers too low, or
// tie_word_embeddings wrong), and training on would silently drop weights.
// The tied head "lm_head.weight" and "*.rotary_emb.inv_freq" buffers are
// ignored, as transformers does. cfgPath names the config in errors.
func (c *Checkpoint) CheckConfig(cfg Config, cfgPath string) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("weights: %s: %w", cfgPath, errors.Unwrap(err))
	}
	used := 0
	err := cfg.eachTensor(func(s TensorSpec) error {
		info, ok := c.Info(s.Name)
		if !ok {
			return fmt.Errorf("weights: %s: tensor %q is missing, but %s implies it (num_hidden_layers %d, tie_word_embeddings %v): the config does not describe these weights",
				c.dir, s.Name, cfgPath, cfg.NumHiddenLayers, cfg.TieWordEmbeddings)
		}
		if !sameInts(info.Shape, s.Shape) {
			return fmt.Errorf("weights: %s: tensor %q has shape %v, but %s implies %v = %v: fix the config's sizes or use the matching weights",
				c.byName[s.Name].Path(), s.Name, info.Shape, cfgPath, s.Dims, s.Shape)
		}
		if !info.DType.IsFloat() {
			return fmt.Errorf("weights: %s: tensor %q has dtype %s: model weights must be F32, BF16, F16 or F64",
				c.byName[s.Name].Path(), s.Name, info.DType)
		}
		used++
		return nil
	})
	if err != nil {
		return err
	}
	if used == len(c.names) {
		return nil
	}
	var unused []string
	for _, name := range c.names {
		if _, ok := cfg.specOf(name); !ok && !ignoredTensor(cfg, name) {
			unused = append(unused, name)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	list := unused
	if len(list) > 5 {
		list = append(list[:5:5], fmt.Sprintf("... (%d more)", len(unused)-5))
	}
	return fmt.Errorf("weights: %s: %d tensor(s) are not used by %s (num_hidden_layers %d, tie_word_embeddings %v): %s: the config describes a different model than the weights; fix the config",
		c.dir, len(unused), cfgPath, cfg.NumHiddenLayers, cfg.TieWordEmbeddings, strings.Join(quoteAll(list), ", "))
}

// specOf returns the spec cfg implies for name, or false if cfg does not
// use a tensor of that name. Layer tensors are looked up in their layer
// alone, so the cost does not grow with the layer count.
func (c Config) specOf(name string) (TensorSpec, bool) {
	one, want := c, name
	one.NumHiddenLayers = 0
	if rest, ok := strings.CutPrefix(name, "model.layers."); ok {
		num, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if err != nil || strconv.Itoa(i) != num || i < 0 || i >= c.NumHiddenLayers {
			return TensorSpec{}, false
		}
		one.NumHiddenLayers = 1
		want = "model.layers.0." + strings.TrimPrefix(rest, num+".")
	}
	var found TensorSpec
	ok := false
	one.eachTensor(func(s TensorSpec) error {
		if s.Name == want {
			found, ok = s, true
			found.Name = name
		}
		return nil
	})
	return found, ok
}

// quoteAll quotes each name except a trailing "... (n more)" note.
func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if strings.HasPrefix(n, "...") {
			out[i] = n
		} else {
			out[i] = fmt.Sprintf("%q", n)
		}
	}
	return out
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// OpenModel reads dir/config.json, opens the checkpoint in dir and checks
// one against the other with CheckConfig, before anything the size of the
// model is allocated. The caller closes the checkpoint.
func OpenModel(dir string) (Config, *Checkpoint, error) {
	cfgPath := filepath.Join(dir, ConfigFileName)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return Config{}, nil, fmt.Errorf("weights: %s: not a directory: give a model directory holding %s and %s", dir, ConfigFileName, SingleFileName)
	}
	if _, err := os.Stat(cfgPath); err != nil {
		return Config{}, nil, fmt.Errorf("weights: %s: no %s: give a Qwen3 model directory (a Hugging Face download or a frontier checkpoint)", dir, ConfigFileName)
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		return Config{}, nil, err
	}
	ck, err := OpenDir(dir)
	if err != nil {
		return Config{}, nil, err
	}
	if err := ck.CheckConfig(cfg, cfgPath); err != nil {
		ck.Close()
		return Config{}, nil, err
	}
	return cfg, ck, nil
}

// checkFinite returns an error naming the tensor, the flat index and the
// file if v holds a NaN or an infinity.
func checkFinite(path, name string, v []float32) error {
	for i, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("weights: %s: tensor %q: element %d (flat index) is %v: the weights are corrupt or come from a diverged run; use an earlier checkpoint",
				path, name, i, x)
		}
	}
	return nil
}
