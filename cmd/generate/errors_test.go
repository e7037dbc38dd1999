package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/internal/errdoc"
	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite this command's table in docs/errors.md from the test's results")

// errorCase is one bad input to the command: its args (paths relative to
// a scratch directory holding the model directory "m"), a setup that makes
// the files it needs, and a part of the message it must get.
type errorCase struct {
	input string
	args  []string
	setup func(t *testing.T)
	want  string
}

// writeTinyModel saves a random 2-layer model with a trained tokenizer in
// dir: vocab 262, 64 positions, eos <|endoftext|>.
func writeTinyModel(t *testing.T, dir string) {
	t.Helper()
	tok, err := tokenizer.Train([]string{"s3142=1234", "3+5+2=10", "hello world"},
		tokenizer.TrainConfig{VocabSize: 262, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.TokenID("<|endoftext|>")
	cfg := weights.Config{ModelType: "qwen3", VocabSize: tok.VocabSize(), HiddenSize: 16, IntermediateSize: 32,
		NumHiddenLayers: 2, NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 8, RopeTheta: 1e4, RMSNormEps: 1e-6,
		TieWordEmbeddings: true, MaxPositionEmbeddings: 64, InitializerRange: 0.5, HiddenAct: "silu", EOSTokenID: eos}
	m, err := model.New(cfg, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(1)
	if err := m.Save(dir, weights.F32); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
}

// copyModel copies the files of "m" into dir.
func copyModel(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("m")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("m", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, e.Name()), string(b))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// asDirectory copies "m" to dir with the file name replaced by an empty
// directory of that name.
func asDirectory(dir, name string) func(t *testing.T) {
	return func(t *testing.T) {
		copyModel(t, dir)
		path := filepath.Join(dir, name)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// withConfig copies "m" to dir with config.json fields replaced by JSON
// values (an empty value removes the field).
func withConfig(dir string, fields ...string) func(t *testing.T) {
	return func(t *testing.T) {
		copyModel(t, dir)
		path := filepath.Join(dir, "config.json")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i+1] == "" {
				delete(m, fields[i])
			} else {
				m[fields[i]] = json.RawMessage(fields[i+1])
			}
		}
		out, _ := json.Marshal(m)
		writeFile(t, path, string(out))
	}
}

// withFile copies "m" to dir with one file replaced (removed if content
// is "-").
func withFile(dir, name, content string) func(t *testing.T) {
	return func(t *testing.T) {
		copyModel(t, dir)
		path := filepath.Join(dir, name)
		if content == "-" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			return
		}
		writeFile(t, path, content)
	}
}

// withWeight copies "m" to dir and sets element i of an F32 tensor of
// model.safetensors to v in place.
func withWeight(dir, name string, i int, v float32) func(t *testing.T) {
	return func(t *testing.T) {
		copyModel(t, dir)
		path := filepath.Join(dir, weights.SingleFileName)
		f, err := weights.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := f.Info(name)
		f.Close()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		off := 8 + int64(binary.LittleEndian.Uint64(b)) + info.Begin + int64(4*i)
		binary.LittleEndian.PutUint32(b[off:], math.Float32bits(v))
		writeFile(t, path, string(b))
	}
}

// generateCases are the bad inputs of docs/errors.md for cmd/generate and
// the model loaders it runs.
func generateCases() []errorCase {
	p := func(args ...string) []string { return append([]string{"-model", "m", "-prompt", "hi"}, args...) }
	ids := func(dir string, args ...string) []string {
		return append([]string{"-model", dir, "-ids", "1 2 3", "-logits", "out.safetensors"}, args...)
	}
	return []errorCase{
		{"no flags", nil, nil, "-model DIR is required"},
		{"-model without -prompt or -ids", []string{"-model", "m"}, nil, "exactly one of"},
		{"both -prompt and -ids", p("-ids", "1"), nil, "exactly one of"},
		{"-ids without -logits", []string{"-model", "m", "-ids", "1"}, nil, "-ids needs -logits"},
		{"-logits with -prompt", p("-logits", "x.safetensors"), nil, "-logits applies to -ids only"},
		{"-chat with -ids", ids("m", "-chat"), nil, "-chat applies to -prompt"},
		{"-temperature with -ids", ids("m", "-temperature", "1"), nil, "-temperature applies to -prompt"},
		{"-thinking without -chat", p("-thinking=false"), nil, "-thinking applies with -chat only"},
		{"stray argument", append(p(), "extra"), nil, `unexpected argument "extra"`},
		{"unknown flag", p("-steps", "3"), nil, "flag provided but not defined: -steps"},
		{"-max-new 1e400 (was vague)", p("-max-new", "1e400"), nil, `invalid value "1e400" for flag -max-new: parse error: give a whole number such as 128`},
		{"-seed -1 (was vague)", p("-seed", "-1"), nil, `for flag -seed: parse error: give a whole number, 0 or more, such as 1`},
		{"-max-new not a number", p("-max-new", "many"), nil, `invalid value "many" for flag -max-new`},
		{"-max-new -1 (was a panic)", p("-max-new", "-1"), nil, "-max-new is -1: it must be at least 1"},
		{"-max-new 0", p("-max-new", "0"), nil, "-max-new is 0"},
		{"-n -3 (was a panic)", p("-n", "-3", "-temperature", "1"), nil, "-n is -3"},
		{"-n 100000", p("-n", "100000", "-temperature", "1"), nil, "-n is 100000"},
		{"-top-k -1", p("-top-k", "-1", "-temperature", "1"), nil, "-top-k is -1"},
		{"-top-p 0", p("-top-p", "0", "-temperature", "1"), nil, "-top-p is 0"},
		{"-top-p 1.5", p("-top-p", "1.5", "-temperature", "1"), nil, "-top-p is 1.5"},
		{"-temperature -1", p("-temperature", "-1"), nil, "-temperature is -1"},
		{"-temperature NaN", p("-temperature", "NaN"), nil, "-temperature is NaN"},
		{"-threads -2", p("-threads", "-2"), nil, "-threads is -2"},
		{"-device tpu", p("-device", "tpu"), nil, `-device "tpu": use cpu or cuda`},
		{"-n 4 with greedy decoding", p("-n", "4"), nil, "identical greedy samples"},
		{"-top-k with greedy decoding", p("-top-k", "5"), nil, "no effect with -temperature 0"},
		{"-prompt not UTF-8", []string{"-model", "m", "-prompt", "a\xffb", "-max-new", "4"}, nil, "-prompt is not valid UTF-8 (bad byte at offset 1)"},
		{"-model does not exist", []string{"-model", "nowhere", "-prompt", "hi"}, nil, "nowhere: not a directory"},
		{"-model is a file", []string{"-model", "m/config.json", "-prompt", "hi"}, nil, "not a directory"},
		{"model without config.json", []string{"-model", "nocfg", "-prompt", "hi"}, withFile("nocfg", "config.json", "-"), "no config.json"},
		{"config.json is a directory (was vague)", []string{"-model", "cfgdir", "-prompt", "hi"}, asDirectory("cfgdir", "config.json"), "cfgdir/config.json: is a directory, not a file"},
		{"config.json not JSON", []string{"-model", "badjson", "-prompt", "hi"}, withFile("badjson", "config.json", "{model_type: qwen3"), "not a valid config.json"},
		{"config.json of another model", []string{"-model", "llama", "-prompt", "hi"}, withConfig("llama", "model_type", `"llama"`), `model_type is "llama"`},
		{"config.json hidden_size -16", []string{"-model", "neg", "-prompt", "hi"}, withConfig("neg", "hidden_size", "-16"), `field "hidden_size" is -16`},
		{"config.json hidden_size a string", []string{"-model", "str", "-prompt", "hi"}, withConfig("str", "hidden_size", `"16"`), `field "hidden_size"`},
		{"config.json sizes impossible to allocate (was a panic)", []string{"-model", "huge", "-prompt", "hi"},
			withConfig("huge", "vocab_size", "2000000000", "hidden_size", "1000000"), `"model.embed_tokens.weight" has shape [262 16]`},
		{"config.json num_hidden_layers above the weights", []string{"-model", "deep", "-prompt", "hi"}, withConfig("deep", "num_hidden_layers", "3"), `"model.layers.2.input_layernorm.weight" is missing`},
		{"config.json num_hidden_layers below the weights", []string{"-model", "shallow", "-prompt", "hi"}, withConfig("shallow", "num_hidden_layers", "1"), "11 tensor(s) are not used"},
		{"config.json untied, weights tied", []string{"-model", "untied", "-prompt", "hi"}, withConfig("untied", "tie_word_embeddings", "false"), `"lm_head.weight" is missing`},
		{"config.json sliding window on", []string{"-model", "swa", "-prompt", "hi"}, withConfig("swa", "use_sliding_window", "true"), "use_sliding_window is true"},
		{"model.safetensors missing", []string{"-model", "now", "-prompt", "hi"}, withFile("now", "model.safetensors", "-"), "neither model.safetensors nor"},
		{"model.safetensors is a directory (was misleading)", []string{"-model", "stdir", "-prompt", "hi"}, asDirectory("stdir", "model.safetensors"), "stdir/model.safetensors: is a directory, not a safetensors file"},
		{"model.safetensors empty", []string{"-model", "empty", "-prompt", "hi"}, withFile("empty", "model.safetensors", ""), "file is empty"},
		{"model.safetensors not safetensors", []string{"-model", "text", "-prompt", "hi"}, withFile("text", "model.safetensors", "hello, this is text"), "header length"},
		{"weight holding NaN", []string{"-model", "nan", "-prompt", "hi", "-max-new", "4"},
			withWeight("nan", "model.layers.1.mlp.up_proj.weight", 17, float32(math.NaN())), "element 17 (flat index) is NaN"},
		{"weight holding +Inf", []string{"-model", "inf", "-prompt", "hi", "-max-new", "4"},
			withWeight("inf", "model.norm.weight", 3, float32(math.Inf(1))), "element 3 (flat index) is +Inf"},
		{"-ids with an id beyond the vocabulary", []string{"-model", "m", "-ids", "1 262", "-logits", "out.safetensors"}, nil, `-ids: "262" is not a token id`},
		{"-ids with a negative id", []string{"-model", "m", "-ids", "1,-2", "-logits", "out.safetensors"}, nil, `-ids: "-2" is not a token id`},
		{"-ids with a word", []string{"-model", "m", "-ids", "1 x", "-logits", "out.safetensors"}, nil, `-ids: "x" is not a token id`},
		{"-ids longer than the positions", []string{"-model", "m", "-ids", strings.Repeat("1 ", 65), "-logits", "out.safetensors"}, nil, "-ids holds 65 ids"},
		{"-logits is the model's weights (was data loss)", []string{"-model", "m", "-ids", "1", "-logits", "m/model.safetensors"}, nil, "input of the same command"},
		{"-logits is the model's config via a symbolic link", []string{"-model", "m", "-ids", "1", "-logits", "cfg-link.json"},
			func(t *testing.T) {
				if err := os.Symlink("m/config.json", "cfg-link.json"); err != nil {
					t.Fatal(err)
				}
			}, "input of the same command"},
		{"-logits in a missing directory", []string{"-model", "m", "-ids", "1", "-logits", "no/out.safetensors"}, nil, "directory no does not exist"},
		{"-logits is a directory", []string{"-model", "m", "-ids", "1", "-logits", "m"}, nil, "is a directory"},
		{"-prompt without tokenizer.json", []string{"-model", "notok", "-prompt", "hi"}, withFile("notok", "tokenizer.json", "-"), "holds neither tokenizer.json"},
		{"tokenizer.json is a directory (was vague)", []string{"-model", "tokdir", "-prompt", "hi"}, asDirectory("tokdir", "tokenizer.json"), "tokdir/tokenizer.json: is a directory, not a file"},
		{"tokenizer.json not JSON", []string{"-model", "badtok", "-prompt", "hi"}, withFile("badtok", "tokenizer.json", "{"), "not a tokenizer.json"},
		{"-prompt longer than the positions", []string{"-model", "m", "-prompt", strings.Repeat("s3142=1234 ", 40), "-max-new", "1"}, nil, "more than the model's 64 positions"},
		{"-max-new past the positions", []string{"-model", "m", "-prompt", "hi", "-max-new", "100"}, nil, "goes past the model's 64 positions"},
		{"generation_config.json malformed", []string{"-model", "gen", "-prompt", "hi", "-max-new", "4"}, withFile("gen", "generation_config.json", `{"eos_token_id": "end"}`), `field "eos_token_id"`},
		{"eos_token_id beyond the vocabulary", []string{"-model", "eos", "-prompt", "hi", "-max-new", "4"}, withConfig("eos", "eos_token_id", "9999"), "end-of-sequence id 9999 is not below vocab_size 262"},
	}
}

// TestErrorTable runs every bad input of docs/errors.md through run and
// checks the message it gets, that nothing is written to standard output,
// and that the model's files are unchanged. The table in docs/errors.md
// is the test's own output: -update-doc rewrites it.
func TestErrorTable(t *testing.T) {
	t.Chdir(t.TempDir())
	writeTinyModel(t, "m")
	before := snapshot(t, "m")
	var rows []string
	for _, tc := range generateCases() {
		if tc.setup != nil {
			tc.setup(t)
		}
		var stdout bytes.Buffer
		err := run(tc.args, &stdout, io.Discard)
		if err == nil {
			t.Errorf("%s: no error", tc.input)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want one containing %q", tc.input, err, tc.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%s: wrote %q to standard output", tc.input, stdout.String())
		}
		rows = append(rows, docRow(tc.input, tc.args, "generate: "+err.Error()))
	}
	if after := snapshot(t, "m"); after != before {
		t.Error("the model directory changed")
	}
	if _, err := os.Stat("out.safetensors"); err == nil {
		t.Error("a bad run wrote -logits")
	}
	syncDoc(t, "generate", rows)
}

// snapshot returns the contents of every file of dir, concatenated.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sb.WriteString(e.Name())
		sb.Write(b)
	}
	return sb.String()
}

// docRow formats one case as a Markdown table row.
func docRow(input string, args []string, msg string) string {
	return errdoc.Row(errdoc.Cell(input), "`"+errdoc.Cell(errdoc.Args(args, 24))+"`", errdoc.Cell(msg))
}

// syncDoc compares the rows with this command's section of docs/errors.md,
// or rewrites it with -update-doc.
func syncDoc(t *testing.T, cmd string, rows []string) {
	t.Helper()
	errdoc.Sync(t, cmd, "| Bad input | Arguments | Error (exit status 1) |\n|---|---|---|\n", rows, *updateDoc)
}
