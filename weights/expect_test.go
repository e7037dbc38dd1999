package weights

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// modelDir writes a config (minimalConfig with the given fields replaced)
// and, unless tensors is nil, the tensors the unmodified minimal config
// implies, plus extra, into a fresh directory.
func modelDir(t *testing.T, fields map[string]string, extra []Tensor, poison func([]Tensor)) string {
	t.Helper()
	dir := t.TempDir()
	base, err := ParseConfig([]byte(minimalConfig), "min")
	if err != nil {
		t.Fatal(err)
	}
	base.HeadDim = 16
	base.TieWordEmbeddings = true
	var tensors []Tensor
	for _, s := range base.Tensors() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		tensors = append(tensors, Tensor{Name: s.Name, Shape: s.Shape, Data: make([]float32, n)})
	}
	tensors = append(tensors, extra...)
	if poison != nil {
		poison(tensors)
	}
	if err := WriteFile(filepath.Join(dir, SingleFileName), tensors, F32, nil); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(minimalConfig), &m); err != nil {
		t.Fatal(err)
	}
	m["head_dim"] = json.RawMessage("16")
	for k, v := range fields {
		m[k] = json.RawMessage(v)
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenModelChecksConfigAgainstHeaders(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		extra  []Tensor
		want   []string // empty: no error
	}{
		{"matching", nil, nil, nil},
		{"tied head ignored", map[string]string{"tie_word_embeddings": "true"},
			[]Tensor{{Name: "lm_head.weight", Shape: []int{100, 64}, Data: make([]float32, 6400)}}, nil},
		{"rotary buffer ignored", nil,
			[]Tensor{{Name: "model.layers.0.self_attn.rotary_emb.inv_freq", Shape: []int{8}, Data: make([]float32, 8)}}, nil},
		{"fewer layers", map[string]string{"num_hidden_layers": "1"}, nil,
			[]string{"11 tensor(s) are not used", `"model.layers.1.`, "num_hidden_layers 1", "... (6 more)"}},
		{"more layers", map[string]string{"num_hidden_layers": "3"}, nil,
			[]string{`"model.layers.2.input_layernorm.weight" is missing`, "config.json"}},
		{"absurd layer count", map[string]string{"num_hidden_layers": "2000000000"}, nil,
			[]string{`"model.layers.2.input_layernorm.weight" is missing`}},
		{"absurd sizes", map[string]string{"vocab_size": "1000000000", "hidden_size": "1000000"}, nil,
			[]string{`"model.embed_tokens.weight" has shape [100 64]`, "[vocab_size, hidden_size] = [1000000000 1000000]"}},
		{"wrong head_dim", map[string]string{"head_dim": "32"}, nil,
			[]string{"q_proj.weight", "num_attention_heads*head_dim"}},
		{"untied without head", map[string]string{"tie_word_embeddings": "false"}, nil,
			[]string{`"lm_head.weight" is missing`, "tie_word_embeddings false"}},
		{"stray tensor", nil, []Tensor{{Name: "extra.bias", Shape: []int{1}, Data: []float32{0}}},
			[]string{`1 tensor(s) are not used`, `"extra.bias"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]string{"tie_word_embeddings": "true"}
			for k, v := range tc.fields {
				fields[k] = v
			}
			dir := modelDir(t, fields, tc.extra, nil)
			_, ck, err := OpenModel(dir)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				ck.Close()
				return
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestOpenModelBadDirectory(t *testing.T) {
	_, _, err := OpenModel(filepath.Join(t.TempDir(), "nope"))
	wantErr(t, err, "not a directory")
	_, _, err = OpenModel(t.TempDir())
	wantErr(t, err, "no config.json")
}

func TestNonFiniteWeightsNamed(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		dir := modelDir(t, map[string]string{"tie_word_embeddings": "true"}, nil, func(ts []Tensor) {
			for _, x := range ts {
				if x.Name == "model.layers.1.mlp.up_proj.weight" {
					x.Data[1234] = bad
				}
			}
		})
		_, ck, err := OpenModel(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got error
		for _, name := range ck.Names() {
			info, _ := ck.Info(name)
			if err := ck.ReadFloat32(name, make([]float32, info.NumElements())); err != nil {
				got = err
				break
			}
		}
		ck.Close()
		wantErr(t, got, `"model.layers.1.mlp.up_proj.weight"`, "element 1234", "model.safetensors", "earlier checkpoint")
	}
}

// TestSaveWritesQwen3Fields checks that a saved config.json spells out
// the fields Qwen3's own config writes, so that transformers applies no
// default of its own (a 4096-token sliding window among them).
func TestSaveWritesQwen3Fields(t *testing.T) {
	c, err := ParseConfig([]byte(minimalConfig), "min")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), ConfigFileName)
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"use_sliding_window": "false",
		"sliding_window":     "null",
		"max_window_layers":  "2",
		"attention_bias":     "false",
		"attention_dropout":  "0",
		"rope_scaling":       "null",
		"use_cache":          "true",
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || strings.TrimSpace(string(got)) != v {
			t.Errorf("%s: %s (present %v), want %s", k, got, ok, v)
		}
	}
	// A written config reads back to the same model.
	back, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.NumHiddenLayers != c.NumHiddenLayers || back.HiddenSize != c.HiddenSize {
		t.Errorf("read back %+v", back)
	}
}
