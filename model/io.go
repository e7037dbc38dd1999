package model

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/weights"
)

// Load reads a Hugging Face Qwen3 directory (config.json and
// model.safetensors, or shards listed in model.safetensors.index.json) onto
// backend b. Every parameter must be present with its exact shape; tensors the
// model does not use are an error naming them (as in transformers, lm_head.weight
// of a tied model and rotary inv_freq buffers are ignored).
func Load(dir string, b kernels.Backend) (*Model, error) {
	// OpenModel checks config.json against the safetensors headers before
	// anything of the config's size is allocated.
	cfg, ck, err := weights.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer ck.Close()
	m, err := New(cfg, b)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", dir, err)
	}
	if err := m.readFrom(ck, dir); err != nil {
		return nil, err
	}
	return m, nil
}

// readFrom fills every parameter from an open checkpoint.
func (m *Model) readFrom(ck *weights.Checkpoint, dir string) error {
	var host []float32
	for _, p := range m.Tensors {
		info, ok := ck.Info(p.Name)
		if !ok {
			return fmt.Errorf("model: %s: tensor %q is missing (config says %d layers, tie_word_embeddings=%v)", dir, p.Name, m.Config.NumHiddenLayers, m.Config.TieWordEmbeddings)
		}
		if !sameShape(info.Shape, p.Shape) {
			return fmt.Errorf("model: %s: tensor %q has shape %v, config.json implies %v", dir, p.Name, info.Shape, p.Shape)
		}
		if cap(host) < p.N {
			host = make([]float32, p.N)
		}
		host = host[:p.N]
		if err := ck.ReadFloat32(p.Name, host); err != nil {
			return fmt.Errorf("model: %w", err)
		}
		m.B.Upload(p.W, host)
	}
	return nil
}

func sameShape(a, b []int) bool {
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

// StateTensors returns every parameter as host tensors under its Hugging Face
// name (no lm_head.weight when the head is tied).
func (m *Model) StateTensors() []weights.Tensor {
	out := make([]weights.Tensor, 0, len(m.Tensors))
	for _, p := range m.Tensors {
		data := make([]float32, p.N)
		m.B.Download(data, p.W)
		out = append(out, weights.Tensor{Name: p.Name, Shape: append([]int(nil), p.Shape...), Data: data})
	}
	return out
}

// Save writes config.json and model.safetensors (F32 or BF16) into dir, which
// is created if needed. Each file is written atomically.
func (m *Model) Save(dir string, dtype weights.DType) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	cfg := m.Config
	switch dtype {
	case weights.F32:
		cfg.TorchDType = "float32"
	case weights.BF16:
		cfg.TorchDType = "bfloat16"
	default:
		return fmt.Errorf("model: save %s: dtype %s is not supported (use F32 or BF16)", dir, dtype)
	}
	if err := weights.WriteFile(filepath.Join(dir, "model.safetensors"), m.StateTensors(), dtype, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	if err := cfg.Save(filepath.Join(dir, "config.json")); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	return nil
}
