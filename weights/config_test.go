package weights

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFixtureConfigs loads the four fixture configs and checks every field
// frontier uses.
func TestFixtureConfigs(t *testing.T) {
	tied := Config{
		ModelType: "qwen3", VocabSize: 128, HiddenSize: 64, IntermediateSize: 96, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 32, RopeTheta: 1e6, RMSNormEps: 1e-6,
		TieWordEmbeddings: true, MaxPositionEmbeddings: 64, InitializerRange: 0.02, HiddenAct: "silu",
	}
	untied := Config{
		ModelType: "qwen3", VocabSize: 100, HiddenSize: 40, IntermediateSize: 72, NumHiddenLayers: 2,
		NumAttentionHeads: 3, NumKeyValueHeads: 1, HeadDim: 16, RopeTheta: 1e4, RMSNormEps: 1e-6,
		TieWordEmbeddings: false, MaxPositionEmbeddings: 64, InitializerRange: 0.02, HiddenAct: "silu",
	}
	tests := []struct {
		dir   string
		want  Config
		dtype string
	}{
		{"tied", tied, "float32"},
		{"tied-bf16", tied, "bfloat16"},
		{"untied", untied, "float32"},
		{"untied-bf16", untied, "bfloat16"},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			c, err := LoadConfig(filepath.Join(fixtureDir, tc.dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			got := []any{c.ModelType, c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads,
				c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.TieWordEmbeddings, c.MaxPositionEmbeddings,
				c.InitializerRange, c.HiddenAct, c.TorchDType}
			want := []any{w.ModelType, w.VocabSize, w.HiddenSize, w.IntermediateSize, w.NumHiddenLayers, w.NumAttentionHeads,
				w.NumKeyValueHeads, w.HeadDim, w.RopeTheta, w.RMSNormEps, w.TieWordEmbeddings, w.MaxPositionEmbeddings,
				w.InitializerRange, w.HiddenAct, tc.dtype}
			if !slices.Equal(got, want) {
				t.Errorf("config\n got %v\nwant %v", got, want)
			}
			if c.BOSTokenID == nil || *c.BOSTokenID != 1 || !slices.Equal(c.EOSIDs(), []int{2}) {
				t.Errorf("bos %v, eos %v; want 1, [2]", c.BOSTokenID, c.EOSIDs())
			}
			if !slices.Equal(c.Architectures, []string{"Qwen3ForCausalLM"}) {
				t.Errorf("architectures %q", c.Architectures)
			}
			if string(c.Extra["_fixture_name"]) != `"`+tc.dir+`"` {
				t.Errorf("Extra lost _fixture_name: %s", c.Extra["_fixture_name"])
			}
			// head_dim is read from the file, not derived: in both shapes
			// it differs from hidden/heads.
			if c.HeadDim == c.HiddenSize/c.NumAttentionHeads {
				t.Errorf("head_dim %d equals hidden/heads; the fixture was meant to tell them apart", c.HeadDim)
			}
		})
	}
}

// minimalConfig is a config.json with only the required fields.
const minimalConfig = `{"model_type":"qwen3","vocab_size":100,"hidden_size":64,"intermediate_size":96,` +
	`"num_hidden_layers":2,"num_attention_heads":4}`

// withField returns minimalConfig with key set to the JSON value v, or
// removed if v is "".
func withField(t *testing.T, key, v string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(minimalConfig), &m); err != nil {
		t.Fatal(err)
	}
	if v == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfigDefaults checks the defaults given to absent optional fields.
func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(minimalConfig), "min/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDim != DefaultHeadDim {
		t.Errorf("head_dim %d, want Qwen3Config's default 128", c.HeadDim)
	}
	if c.NumKeyValueHeads != 4 {
		t.Errorf("num_key_value_heads %d, want num_attention_heads = 4", c.NumKeyValueHeads)
	}
	if c.RopeTheta != DefaultRopeTheta || c.RMSNormEps != DefaultRMSNormEps || c.TieWordEmbeddings ||
		c.MaxPositionEmbeddings != DefaultMaxPositionEmbeddings || c.InitializerRange != DefaultInitializerRange ||
		c.HiddenAct != "silu" || c.BOSTokenID != nil || len(c.EOSIDs()) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	// A null reads as absent.
	c, err = ParseConfig([]byte(withField(t, "head_dim", "null")), "min/config.json")
	if err != nil || c.HeadDim != DefaultHeadDim {
		t.Errorf("head_dim null: %d, %v; want 128", c.HeadDim, err)
	}
	// An explicit head_dim wins.
	c, err = ParseConfig([]byte(withField(t, "head_dim", "16")), "min/config.json")
	if err != nil || c.HeadDim != 16 {
		t.Errorf("head_dim 16: %d, %v", c.HeadDim, err)
	}
	if got := (Config{HiddenSize: 64, NumAttentionHeads: 4}).WithDefaults(); got.HeadDim != 128 || got.ModelType != "qwen3" || got.NumKeyValueHeads != 4 {
		t.Errorf("WithDefaults: %+v", got)
	}
}

// TestConfigFields checks fields read from the file, including both forms of
// eos_token_id.
func TestConfigFields(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value string
		check func(Config) bool
	}{
		{"eos as an int", "eos_token_id", "151645", func(c Config) bool { return slices.Equal(c.EOSIDs(), []int{151645}) }},
		{"eos as a list", "eos_token_id", "[151645, 151643]", func(c Config) bool { return slices.Equal(c.EOSIDs(), []int{151645, 151643}) }},
		{"eos as an empty list", "eos_token_id", "[]", func(c Config) bool { return len(c.EOSIDs()) == 0 }},
		{"tied", "tie_word_embeddings", "true", func(c Config) bool { return c.TieWordEmbeddings }},
		{"rope_theta", "rope_theta", "1000000.0", func(c Config) bool { return c.RopeTheta == 1e6 }},
		{"rms_norm_eps", "rms_norm_eps", "1e-05", func(c Config) bool { return c.RMSNormEps == 1e-5 }},
		{"kv heads", "num_key_value_heads", "2", func(c Config) bool { return c.NumKeyValueHeads == 2 }},
		{"dtype, newer name", "dtype", `"bfloat16"`, func(c Config) bool { return c.TorchDType == "bfloat16" }},
		{"unknown field kept", "use_cache", "true", func(c Config) bool { return string(c.Extra["use_cache"]) == "true" }},
		{"rope_scaling null", "rope_scaling", "null", func(c Config) bool { return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(withField(t, tc.key, tc.value)), "x/config.json")
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%s = %s read as %+v", tc.key, tc.value, c)
			}
		})
	}
}

// TestConfigRejects checks that bad configs give errors naming the file and
// the field at fault.
func TestConfigRejects(t *testing.T) {
	const src = "models/bad/config.json"
	type tcase struct {
		name string
		json string
		want []string
	}
	tests := []tcase{
		{"not JSON", `{"model_type": "qwen3",`, []string{"not a valid config.json"}},
		{"null", `null`, []string{"expected a JSON object"}},
		{"a list", `[1]`, []string{"not a valid config.json"}},
		{"no model_type", withField(t, "model_type", ""), []string{"no model_type", `"qwen3"`}},
		{"llama", withField(t, "model_type", `"llama"`), []string{`model_type is "llama"`, "Qwen3 models only"}},
		{"qwen2", withField(t, "model_type", `"qwen2"`), []string{`"qwen2"`}},
		{"model_type a number", withField(t, "model_type", `3`), []string{`"model_type"`, "is 3: it must be a string"}},
		{"hidden_size a string", withField(t, "hidden_size", `"64"`), []string{`"hidden_size"`, `is "64": it must be a whole number`}},
		{"hidden_size a fraction", withField(t, "hidden_size", `64.5`), []string{`"hidden_size"`, "64.5"}},
		{"zero layers", withField(t, "num_hidden_layers", `0`), []string{`"num_hidden_layers" is 0`, "positive"}},
		{"negative vocab", withField(t, "vocab_size", `-5`), []string{`"vocab_size" is -5`}},
		{"head_dim odd", withField(t, "head_dim", `15`), []string{"head_dim 15 is odd"}},
		{"head_dim zero", withField(t, "head_dim", `0`), []string{`"head_dim" is 0`}},
		{"kv heads do not divide", withField(t, "num_key_value_heads", `3`), []string{"not a multiple of num_key_value_heads 3"}},
		{"rope_theta zero", withField(t, "rope_theta", `0`), []string{"rope_theta is 0"}},
		{"rms_norm_eps negative", withField(t, "rms_norm_eps", `-1e-6`), []string{"rms_norm_eps is -1e-06"}},
		{"tie a string", withField(t, "tie_word_embeddings", `"yes"`), []string{`"tie_word_embeddings"`, "true or false"}},
		{"gelu", withField(t, "hidden_act", `"gelu"`), []string{`hidden_act is "gelu"`}},
		{"attention bias", withField(t, "attention_bias", `true`), []string{"attention_bias is true"}},
		{"rope scaling", withField(t, "rope_scaling", `{"type":"yarn","factor":4}`), []string{"rope_scaling", "plain RoPE"}},
		{"sliding window", withField(t, "use_sliding_window", `true`), []string{"use_sliding_window is true"}},
		{"eos a string", withField(t, "eos_token_id", `"</s>"`), []string{`"eos_token_id"`, "neither a token id nor a list"}},
		{"eos negative", withField(t, "eos_token_id", `[2, -1]`), []string{"eos_token_id -1"}},
		{"bos negative", withField(t, "bos_token_id", `-1`), []string{"bos_token_id is -1"}},
		{"huge matrices", withField(t, "vocab_size", `3000000000`), []string{"embed_tokens", "too large"}},
	}
	for _, key := range []string{"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"} {
		tests = append(tests, tcase{"missing " + key, withField(t, key, ""), []string{`required field "` + key + `" is missing`}})
		tests = append(tests, tcase{"null " + key, withField(t, key, "null"), []string{`required field "` + key + `" is missing`}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.json), src)
			wantErr(t, err, append([]string{src}, tc.want...)...)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.json")
		_, err := LoadConfig(path)
		wantErr(t, err, path, "no such file")
	})
	t.Run("file on disk", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(withField(t, "model_type", `"mistral"`)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(path)
		wantErr(t, err, path, `"mistral"`)
	})
}

// TestConfigSaveRoundTrip saves each fixture config and loads it back.
func TestConfigSaveRoundTrip(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			c, err := LoadConfig(filepath.Join(fixtureDir, name, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "config.json")
			if err := c.Save(path); err != nil {
				t.Fatal(err)
			}
			back, err := LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(c)
			b, _ := json.Marshal(back)
			if string(a) != string(b) || len(back.Extra) != len(c.Extra) {
				t.Errorf("saved and loaded\n%s\n%s", b, a)
			}
			for k, v := range c.Extra {
				if string(back.Extra[k]) != string(v) {
					t.Errorf("Extra[%s] = %s, want %s", k, back.Extra[k], v)
				}
			}
			if names := dirEntries(t, dir); !slices.Equal(names, []string{"config.json"}) {
				t.Errorf("directory holds %q", names)
			}
		})
	}
	bad := Config{ModelType: "qwen3", VocabSize: 10}
	path := filepath.Join(t.TempDir(), "config.json")
	wantErr(t, bad.Save(path), path, "invalid config")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("an invalid config was written (%v)", err)
	}
}

// TestGenerationConfig reads the EOS ids and sampling defaults of
// generation_config.json files.
func TestGenerationConfig(t *testing.T) {
	qwen3 := `{"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
		"pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}`
	tests := []struct {
		name string
		json string
		eos  []int
	}{
		{"Qwen3 release", qwen3, []int{151645, 151643}},
		{"eos an int", `{"eos_token_id": 2}`, []int{2}},
		{"eos a one-element list", `{"eos_token_id": [2]}`, []int{2}},
		{"eos absent", `{"temperature": 1.0}`, nil},
		{"eos null", `{"eos_token_id": null}`, nil},
		{"empty object", `{}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), GenerationConfigFileName)
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			g, err := LoadGenerationConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.EOSTokenIDs, tc.eos) {
				t.Errorf("eos %v, want %v", g.EOSTokenIDs, tc.eos)
			}
		})
	}
	g, err := ParseGenerationConfig([]byte(qwen3), "g.json")
	if err != nil {
		t.Fatal(err)
	}
	if *g.BOSTokenID != 151643 || *g.PadTokenID != 151643 || !*g.DoSample || *g.Temperature != 0.6 || *g.TopK != 20 || *g.TopP != 0.95 {
		t.Errorf("sampling fields: %+v", g)
	}
	if g, _ := ParseGenerationConfig([]byte(`{}`), "g.json"); g.Temperature != nil || g.TopK != nil || g.DoSample != nil {
		t.Errorf("absent fields set: %+v", g)
	}
}

// TestGenerationConfigRejects checks errors name the file and field.
func TestGenerationConfigRejects(t *testing.T) {
	const src = "m/generation_config.json"
	tests := []struct {
		name string
		json string
		want []string
	}{
		{"not JSON", `{"eos_token_id": [1,`, []string{"not a valid generation_config.json"}},
		{"a list", `[1, 2]`, []string{"not a valid generation_config.json"}},
		{"eos a string", `{"eos_token_id": "<|im_end|>"}`, []string{`"eos_token_id"`, "neither a token id nor a list"}},
		{"eos a fraction", `{"eos_token_id": 2.5}`, []string{`"eos_token_id"`}},
		{"eos list of strings", `{"eos_token_id": ["a"]}`, []string{`"eos_token_id"`}},
		{"eos negative", `{"eos_token_id": [-1]}`, []string{`"eos_token_id"`, "negative"}},
		{"pad negative", `{"pad_token_id": -3}`, []string{`"pad_token_id"`, "negative"}},
		{"temperature a string", `{"temperature": "hot"}`, []string{`"temperature"`, "must be a number"}},
		{"temperature negative", `{"temperature": -1}`, []string{`"temperature"`}},
		{"top_p zero", `{"top_p": 0}`, []string{`"top_p"`, "(0, 1]"}},
		{"top_p above one", `{"top_p": 1.5}`, []string{`"top_p"`}},
		{"top_k negative", `{"top_k": -1}`, []string{`"top_k"`}},
		{"do_sample a number", `{"do_sample": 1}`, []string{`"do_sample"`, "true or false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGenerationConfig([]byte(tc.json), src)
			wantErr(t, err, append([]string{src}, tc.want...)...)
		})
	}
	path := filepath.Join(t.TempDir(), GenerationConfigFileName)
	_, err := LoadGenerationConfig(path)
	wantErr(t, err, path, "no such file")
	if !strings.Contains(err.Error(), "generation config") {
		t.Errorf("error %q does not say what was being read", err)
	}
}

// TestEOSIDs checks the EOS ids of a model directory, from
// generation_config.json and config.json together.
func TestEOSIDs(t *testing.T) {
	tests := []struct {
		name       string
		generation string // "" for no file
		config     string // "" for no file
		want       []int
		wantErr    string
	}{
		{"both files", `{"eos_token_id": [151645, 151643]}`, withField(t, "eos_token_id", "151645"), []int{151645, 151643}, ""},
		{"config adds an id", `{"eos_token_id": 7}`, withField(t, "eos_token_id", "[2, 7]"), []int{7, 2}, ""},
		{"config only", "", withField(t, "eos_token_id", "2"), []int{2}, ""},
		{"generation only", `{"eos_token_id": [3, 4]}`, "", []int{3, 4}, ""},
		{"neither file", "", "", nil, ""},
		{"no ids", `{}`, minimalConfig, nil, ""},
		{"bad generation config", `{"eos_token_id": "x"}`, minimalConfig, nil, GenerationConfigFileName},
		{"bad config", `{}`, withField(t, "model_type", `"gpt2"`), nil, "config.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{GenerationConfigFileName: tc.generation, "config.json": tc.config} {
				if content == "" {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := EOSIDs(dir)
			if tc.wantErr != "" {
				wantErr(t, err, filepath.Join(dir, tc.wantErr))
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	got, err := EOSIDs(filepath.Join(fixtureDir, "tied"))
	if err != nil || !slices.Equal(got, []int{2}) {
		t.Errorf("fixture: %v, %v; want [2]", got, err)
	}
}
