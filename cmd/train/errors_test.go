package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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
// the scratch directory of TestErrorTable), a setup that makes the files
// it needs, and a part of the message it must get.
type errorCase struct {
	input string
	args  []string
	setup func(t *testing.T)
	want  string
}

// tinyRun is a built-in run small enough to start in a test.
var tinyRun = []string{"-pool", "8", "-heldout", "1", "-families", "sort", "-hidden", "16", "-intermediate", "32",
	"-heads", "2", "-kv-heads", "1", "-head-dim", "8", "-layers", "1", "-sft-steps", "4", "-sft-warmup", "1",
	"-sft-batch", "2", "-vocab", "262", "-prompts", "4", "-rollouts", "2", "-minibatches", "2"}

// writeTinyModel saves a random 1-layer model with a trained tokenizer in
// dir: vocab 262 or so, 512 positions.
func writeTinyModel(t *testing.T, dir string) {
	t.Helper()
	tok, err := tokenizer.Train([]string{"What is 1+1? Answer: 2", "<|im_start|>user\nhello<|im_end|>"},
		tokenizer.TrainConfig{VocabSize: 262, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.TokenID("<|im_end|>")
	cfg := weights.Config{ModelType: "qwen3", VocabSize: tok.VocabSize(), HiddenSize: 16, IntermediateSize: 32,
		NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 8, RopeTheta: 1e4, RMSNormEps: 1e-6,
		TieWordEmbeddings: true, MaxPositionEmbeddings: 512, InitializerRange: 0.02, HiddenAct: "silu", EOSTokenID: int(eos)}
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

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dapo returns a DAPO-format JSONL line.
func dapo(prompt, solution string) string {
	return fmt.Sprintf("{\"prompt\": %q, \"solution\": %q}\n", prompt, solution)
}

// fixtures writes the scratch directory: the model m, the datasets
// d.jsonl (fits the model with a small -max-new), long.jsonl (a prompt
// past the model's positions), d.csv and notes.txt, and the run
// directory r, stopped at its first SFT step with a checkpoint.
func fixtures(t *testing.T) {
	t.Helper()
	writeTinyModel(t, "m")
	writeFile(t, "d.jsonl", dapo("What is 1+1?", "2")+dapo("What is 2+3?", "5"))
	writeFile(t, "long.jsonl", dapo(strings.Repeat("What is 1+1? ", 60), "2"))
	writeFile(t, "d.csv", "prompt,solution\nWhat is 1+1?,2\n")
	writeFile(t, "notes.txt", "notes\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stops at the first SFT step, after saving a checkpoint
	var stderr bytes.Buffer
	if code := execute(ctx, append([]string{"-out", ".", "-name", "r"}, tinyRun...), io.Discard, &stderr); code != 130 {
		t.Fatalf("making the run directory r: exit %d, want 130 (interrupted): %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join("r", "latest")); err != nil {
		t.Fatalf("the run directory r has no checkpoint: %v", err)
	}
}

// copyRun copies the run directory r to dir and truncates one file of its
// only checkpoint.
func copyRunTruncated(dir, file string) func(t *testing.T) {
	return func(t *testing.T) {
		if err := os.CopyFS(dir, os.DirFS("r")); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "checkpoint-sft-0", file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, string(b[:len(b)/2]))
	}
}

// copyModel copies the model directory m to dir.
func copyModel(t *testing.T, dir string) {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS("m")); err != nil {
		t.Fatal(err)
	}
}

// withTokenizer copies m to dir with a tokenizer of vocab tokens trained
// on other text.
func withTokenizer(dir string, vocab int) func(t *testing.T) {
	return func(t *testing.T) {
		copyModel(t, dir)
		tok, err := tokenizer.Train([]string{"a quite different corpus of text, with other merges 0123456789"},
			tokenizer.TrainConfig{VocabSize: vocab, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "tokenizer.json")
		os.Remove(path)
		if err := tok.Save(path); err != nil {
			t.Fatal(err)
		}
	}
}

// withEOS copies m to dir with eos_token_id set to id in config.json.
func withEOS(dir string, id int) func(t *testing.T) {
	return func(t *testing.T) {
		copyModel(t, dir)
		path := filepath.Join(dir, "config.json")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m["eos_token_id"] = id
		out, _ := json.Marshal(m)
		writeFile(t, path, string(out))
	}
}

// trainCases are the bad inputs of docs/errors.md for cmd/train.
func trainCases() []errorCase {
	md := func(args ...string) []string { return append([]string{"-model", "m", "-data", "d.jsonl"}, args...) }
	return []errorCase{
		{"unknown flag", []string{"-epochs", "3"}, nil, "flag provided but not defined: -epochs"},
		{"stray argument", []string{"-steps", "10", "extra"}, nil, `unexpected arguments ["extra"]`},
		{"-steps not a number", []string{"-steps", "ten"}, nil, `invalid value "ten" for flag -steps`},
		{"-lr 1e400 (was vague)", []string{"-lr", "1e400"}, nil, `invalid value "1e400" for flag -lr: value out of range: give a finite number such as 5e-05`},
		{"-seed -1 (was vague)", []string{"-seed", "-1"}, nil, `invalid value "-1" for flag -seed: parse error: give a whole number, 0 or more, such as 1`},
		{"-sft-only=maybe", []string{"-sft-only=maybe"}, nil, "give true or false"},
		{"one rollout per prompt", []string{"-rollouts", "1"}, nil, "-rollouts 1: must be at least 2"},
		{"rollout temperature 0", []string{"-temperature", "0"}, nil, "-temperature 0: must be a finite value > 0"},
		{"-temperature NaN", []string{"-temperature", "NaN"}, nil, "-temperature NaN"},
		{"-steps 0", []string{"-steps", "0"}, nil, "-steps 0: must be at least 1"},
		{"-prompts -4", []string{"-prompts", "-4"}, nil, "-prompts -4: must be at least 1"},
		{"-minibatches 0", []string{"-minibatches", "0"}, nil, "-minibatches 0"},
		{"more minibatches than prompts", []string{"-minibatches", "8", "-prompts", "4"}, nil, "-minibatches 8 for -prompts 4"},
		{"-ppo-epochs 0", []string{"-ppo-epochs", "0"}, nil, "-ppo-epochs 0"},
		{"-sft-batch 0", []string{"-sft-batch", "0"}, nil, "-sft-batch 0"},
		{"-pool 0", []string{"-pool", "0"}, nil, "-pool 0"},
		{"-keep 0", []string{"-keep", "0"}, nil, "-keep 0"},
		{"-save-every -1", []string{"-save-every", "-1"}, nil, "-save-every -1"},
		{"-eval-samples 0", []string{"-eval-samples", "0"}, nil, "-eval-samples 0"},
		{"-max-new -5", []string{"-max-new", "-5"}, nil, "-max-new -5"},
		{"-gdro-bins 0", []string{"-gdro-bins", "0"}, nil, "-gdro-bins 0"},
		{"-gdro-k 0", []string{"-gdro-k", "0"}, nil, "-gdro-k 0"},
		{"-gdro-window -1", []string{"-gdro-window", "-1"}, nil, "-gdro-window -1"},
		{"-threads -1", []string{"-threads", "-1"}, nil, "-threads -1"},
		{"-top-k -1", []string{"-top-k", "-1"}, nil, "-top-k -1"},
		{"-sft-steps 0 on the tiny model", []string{"-sft-steps", "0"}, nil, "-sft-steps 0: the built-in tiny model"},
		{"-sft-warmup not below -sft-steps (was late)", []string{"-sft-steps", "50", "-sft-warmup", "50"}, nil, "-sft-warmup 50: must be below -sft-steps 50"},
		{"-clip-low 1", []string{"-clip-low", "1"}, nil, "-clip-low 1: must be in [0, 1)"},
		{"-clip-high -0.1", []string{"-clip-high", "-0.1"}, nil, "-clip-high -0.1"},
		{"-kl -0.01", []string{"-kl", "-0.01"}, nil, "-kl -0.01"},
		{"-kl NaN", []string{"-kl", "NaN"}, nil, "-kl NaN"},
		{"-lr 0", []string{"-lr", "0"}, nil, "-lr 0: must be a finite value > 0"},
		{"-sft-lr +Inf", []string{"-sft-lr", "+Inf"}, nil, "-sft-lr +Inf"},
		{"greedy evaluation with several samples", []string{"-eval-temperature", "0"}, nil, "-eval-samples 8 with -eval-temperature 0"},
		{"-top-p 0", []string{"-top-p", "0"}, nil, "-top-p 0: must be in (0, 1]"},
		{"-eval-top-p 1.5", []string{"-eval-top-p", "1.5"}, nil, "-eval-top-p 1.5"},
		{"-gdro-edges not increasing", []string{"-gdro-edges", "0.5,0.3"}, nil, `-gdro-edges "0.5,0.3"`},
		{"-gdro-edges not numbers", []string{"-gdro-edges", "0.5,high"}, nil, `-gdro-edges "0.5,high"`},
		{"-gdro-edges inside the hysteresis", []string{"-gdro-edges", "0.02,0.5"}, nil, "-gdro-hysteresis 0.03"},
		{"-algo ppo", []string{"-algo", "ppo"}, nil, `-algo "ppo": use grpo, dapo`},
		{"-reward binary", []string{"-reward", "binary"}, nil, `-reward "binary": use pm1, 01`},
		{"-gdro-stat median", []string{"-gdro-stat", "median"}, nil, `-gdro-stat "median"`},
		{"-gdro-signal gain", []string{"-gdro-signal", "gain"}, nil, `-gdro-signal "gain"`},
		{"-save-dtype f16", []string{"-save-dtype", "f16"}, nil, `-save-dtype "f16": use f32, bf16`},
		{"-device cuda without a cuda build", []string{"-device", "cuda"}, nil, "-device cuda: cuda: this binary was built without CUDA support"},
		{"-heads not a multiple of -kv-heads", []string{"-heads", "3", "-kv-heads", "2"}, nil, "-heads 3 is not a multiple of -kv-heads 2"},
		{"odd -head-dim", []string{"-head-dim", "31"}, nil, "-head-dim 31: must be even"},
		{"-vocab below the byte tokens", []string{"-vocab", "200"}, nil, "-vocab 200: need at least 259"},
		{"-name with a slash", []string{"-name", "a/b"}, nil, `-name "a/b"`},
		{"-threads 99999 (ran)", []string{"-threads", "99999"}, nil, "-threads 99999: must be at most 16 per core"},
		{"-vocab 1e9 (ran out of memory)", []string{"-vocab", "1000000000"}, nil, "-vocab 1000000000: must be at most"},
		{"-pool 2e9 (ran for minutes)", []string{"-pool", "2000000000"}, nil, "-pool 2000000000: must be at most"},
		{"-heldout 1e9", []string{"-heldout", "1000000000"}, nil, "-heldout 1000000000: must be at most"},
		{"tiny model too large to allocate", []string{"-hidden", "100000", "-intermediate", "100000", "-layers", "100"}, nil, "the built-in tiny model would have about"},
		{"-profile of an unknown kind", []string{"-profile", "foo"}, nil, `-profile "foo": use cpu, mem (or leave -profile out)`},
		{"-out empty (was vague)", []string{"-out", ""}, nil, "-out is empty"},
		{"-data without -model", []string{"-data", "d.jsonl", "-sft-steps", "0"}, nil, "-data needs -model"},
		{"-eval-data without -data", []string{"-model", "m", "-eval-data", "d.jsonl"}, nil, "-eval-data d.jsonl needs -data"},
		{"SFT steps with -data", md("-sft-steps", "5", "-sft-warmup", "1"), nil, "-sft-steps 5: SFT runs on the built-in tasks only"},
		{"-model does not exist", []string{"-model", "nowhere", "-data", "d.jsonl"}, nil, "-model: weights: nowhere: not a directory"},
		{"-model without config.json", []string{"-model", "r", "-data", "d.jsonl"}, nil, "-model: weights: r: no config.json"},
		{"-model with another model's tokenizer", []string{"-model", "bigtok", "-data", "d.jsonl"}, withTokenizer("bigtok", 300), "tokens but config.json's vocab_size is 262"},
		{"-model with eos_token_id beyond the vocabulary", []string{"-model", "eos", "-data", "d.jsonl"}, withEOS("eos", 9999), "end-of-sequence id 9999 is not below vocab_size"},
		{"Rollout-GDRO, code arm sign, error signal", []string{"-algo", "rollout-gdro", "-gdro-signal", "error"}, nil, "-gdro-arm-sign"},
		{"-data does not exist", []string{"-model", "m", "-data", "missing.jsonl"}, nil, "-data missing.jsonl: stat missing.jsonl: no such file"},
		{"-data not UTF-8 (ran)", []string{"-model", "m", "-data", "latin1.jsonl", "-max-new", "8"}, func(t *testing.T) {
			writeFile(t, "latin1.jsonl", dapo("What is 1+1?", "2")+"{\"prompt\": \"caf\xe9?\", \"solution\": \"2\"}\n")
		}, "-data latin1.jsonl: line 2 is not valid UTF-8 (bad byte 0xe9 at offset 15)"},
		{"-data of an unknown kind", []string{"-model", "m", "-data", "d.csv"}, nil, `-data d.csv: unknown extension ".csv"`},
		{"-data is a directory", []string{"-model", "m", "-data", "m"}, nil, "-data m: is a directory"},
		{"-eval-data does not exist", md("-eval-data", "held.jsonl"), nil, "-eval-data held.jsonl: stat held.jsonl"},
		{"-data prompt past the positions", []string{"-model", "m", "-data", "long.jsonl", "-max-new", "8"}, nil, "-data long.jsonl: record 1's prompt is"},
		{"-max-new past the positions", md(), nil, "with -max-new 1024 it needs"},
		{"-out is the model directory", md("-out", "m", "-max-new", "8"), nil, "-out m: is inside -model m"},
		{"-out inside the model directory", md("-out", "m/runs", "-max-new", "8"), nil, "-out m/runs: is inside -model m"},
		{"-out inside the model directory via a symbolic link", md("-out", "mlink/runs", "-max-new", "8"), func(t *testing.T) {
			if err := os.Symlink("m", "mlink"); err != nil {
				t.Fatal(err)
			}
		}, "-out mlink/runs: is inside -model m"},
		{"-out is the model's weights", md("-out", "m/model.safetensors", "-max-new", "8"), nil, "-out m/model.safetensors: this is an input of the same command"},
		{"-out is the data", md("-out", "d.jsonl", "-max-new", "8"), nil, "-out d.jsonl: this is an input of the same command"},
		{"-out is a file", []string{"-out", "notes.txt"}, nil, "-out notes.txt: is a file"},
		{"-base-eval does not exist", md("-max-new", "8", "-base-eval", "eval.json"), nil, "-base-eval eval.json: not a file"},
		{"-resume of a missing directory", []string{"-resume", "runs/old"}, nil, "-resume runs/old: not a directory"},
		{"-resume of a model directory", []string{"-resume", "m"}, nil, "-resume m: holds no checkpoint"},
		{"-resume with another -lr", []string{"-resume", "r", "-lr", "0.1"}, nil, "-lr 0.1 contradicts the run being resumed, which has -lr 5e-05"},
		{"-resume with another -rollouts", []string{"-resume", "r", "-rollouts", "8"}, nil, "-rollouts 8 contradicts the run being resumed, which has -rollouts 2"},
		{"-resume with another -seed", []string{"-resume", "r", "-seed", "7"}, nil, "-seed 7 contradicts the run being resumed, which has -seed 1"},
		{"-resume with another -data", []string{"-resume", "r", "-model", "m", "-data", "d.jsonl"}, nil, "-data d.jsonl contradicts the run being resumed, which was started without -data"},
		{"-grad-shards -1", []string{"-grad-shards", "-1"}, nil, "-grad-shards -1"},
		{"-resume with a bad flag value", []string{"-resume", "r", "-steps", "-3"}, nil, "-steps -3"},
		{"-resume, only checkpoint truncated", []string{"-resume", "rbad"}, copyRunTruncated("rbad", "model.safetensors"), "-resume rbad: no usable checkpoint"},
	}
}

// TestErrorTable runs every bad input of docs/errors.md through execute
// and checks that it exits non-zero with the message wanted, panics not,
// and changes nothing in the scratch directory: no run directory is
// created and no input or earlier run changes. The table in
// docs/errors.md is the test's own output: -update-doc rewrites it.
func TestErrorTable(t *testing.T) {
	t.Chdir(t.TempDir())
	fixtures(t)
	var rows []string
	for _, tc := range trainCases() {
		if tc.setup != nil {
			tc.setup(t)
		}
		before := tree(t)
		var stdout, stderr bytes.Buffer
		code := execute(context.Background(), tc.args, &stdout, &stderr)
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:] // a flag parse error comes after the usage text
		}
		switch {
		case code == 0:
			t.Errorf("%s: exit status 0", tc.input)
			continue
		case !strings.Contains(msg, tc.want):
			t.Errorf("%s: error %q, want one containing %q", tc.input, msg, tc.want)
		}
		if after := tree(t); after != before {
			t.Errorf("%s: the scratch directory changed", tc.input)
		}
		rows = append(rows, docRow(tc.input, tc.args, code, msg))
	}
	if len(rows) < 25 {
		t.Errorf("%d cases, want at least 25", len(rows))
	}
	syncDoc(t, "train", rows)
}

// tree returns every path under the working directory with its contents.
func tree(t *testing.T) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sb.WriteString(p + "\n")
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sb.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// docRow formats one case as a Markdown table row.
func docRow(input string, args []string, code int, msg string) string {
	return errdoc.Row(errdoc.Cell(input), "`"+errdoc.Cell(errdoc.Args(args, 24))+"`", strconv.Itoa(code), errdoc.Cell(msg))
}

// syncDoc compares the rows with this command's section of docs/errors.md,
// or rewrites it with -update-doc.
func syncDoc(t *testing.T, cmd string, rows []string) {
	t.Helper()
	errdoc.Sync(t, cmd, "| Bad input | Arguments | Exit status | Error |\n|---|---|---|---|\n", rows, *updateDoc)
}
