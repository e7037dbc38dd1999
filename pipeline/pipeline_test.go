package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

// tinyArgs is a built-in run small enough for a test.
func tinyArgs(out string) []string {
	return []string{"-out", out, "-name", "t", "-pool", "24", "-heldout", "1", "-families", "sort,chain",
		"-hidden", "32", "-intermediate", "64", "-heads", "2", "-kv-heads", "1", "-head-dim", "16", "-layers", "1",
		"-sft-steps", "6", "-sft-warmup", "2", "-sft-batch", "8", "-steps", "4", "-prompts", "4", "-rollouts", "3",
		"-minibatches", "2", "-eval-samples", "2", "-save-every", "2", "-gdro-window", "0"}
}

func mustRun(t *testing.T, ctx context.Context, args []string) string {
	t.Helper()
	return mustRunStop(t, ctx, args, nil)
}

func mustRunStop(t *testing.T, ctx context.Context, args []string, stop func(string, int) bool) string {
	t.Helper()
	o, err := ParseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.interruptAt = stop
	var buf bytes.Buffer
	if err := Run(ctx, o, &buf); err != nil {
		t.Fatalf("run %v: %v\n%s", args, err, buf.String())
	}
	return buf.String()
}

// readLines returns metrics.jsonl without the timing fields.
func readLines(t *testing.T, path string) []map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			if strings.HasPrefix(k, "timing/") || strings.HasPrefix(k, "throughput/") || k == "step_time" {
				delete(m, k)
			}
		}
		out = append(out, m)
	}
	return out
}

// TestInterruptAndResume: a run interrupted before its first step saves a
// checkpoint; resumed, then stopped after GRPO step 2 and resumed again, it
// writes the same metrics as a run straight through.
func TestInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	straight := filepath.Join(dir, "a")
	mustRun(t, context.Background(), tinyArgs(straight))

	split := filepath.Join(dir, "b")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := mustRun(t, ctx, tinyArgs(split))
	if !strings.Contains(out, "interrupted") {
		t.Fatalf("no interruption message:\n%s", out)
	}
	run := filepath.Join(split, "t")
	// Stop in the middle of SFT, then in the middle of GRPO, resuming each time.
	mustRunStop(t, context.Background(), []string{"-resume", run}, func(phase string, step int) bool { return phase == "sft" && step == 3 })
	mustRunStop(t, context.Background(), []string{"-resume", run}, func(phase string, step int) bool { return phase == "rl" && step == 2 })
	mustRun(t, context.Background(), []string{"-resume", run})

	sa := readLines(t, filepath.Join(straight, "t", "sft_metrics.jsonl"))
	sb := readLines(t, filepath.Join(run, "sft_metrics.jsonl"))
	if len(sa) != 6 || len(sb) != 6 {
		t.Fatalf("SFT metrics lines: straight %d, resumed %d, want 6", len(sa), len(sb))
	}
	for i := range sa {
		for k, v := range sa[i] {
			if sb[i][k] != v {
				t.Errorf("SFT step %d %s: straight %v, resumed %v", i+1, k, v, sb[i][k])
			}
		}
	}

	a := readLines(t, filepath.Join(straight, "t", "metrics.jsonl"))
	b := readLines(t, filepath.Join(run, "metrics.jsonl"))
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("metrics lines: straight %d, resumed %d, want 4", len(a), len(b))
	}
	for i := range a {
		for k, v := range a[i] {
			if strings.HasPrefix(k, "eval/") {
				continue // the split run evaluates at its own ends
			}
			if b[i][k] != v {
				t.Errorf("step %d %s: straight %v, resumed %v", i+1, k, v, b[i][k])
			}
		}
	}
	// Both runs end with the same final weights.
	ma, err := model.Load(filepath.Join(straight, "t"), cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := model.Load(run, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := make([]float32, ma.NumParams()), make([]float32, mb.NumParams())
	ma.B.Download(pa, ma.Params)
	mb.B.Download(pb, mb.Params)
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("final weight %d: straight %v, resumed %v", i, pa[i], pb[i])
		}
	}
	for _, f := range []string{"eval.json", "curves.png", "config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
}

// TestRealModelDirectory runs 2 GRPO steps of -model DIR -data FILE on a
// small Hugging Face style directory and a 3-line DAPO dataset made here.
func TestRealModelDirectory(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "model")
	corpus := []string{"Solve 1+1. Answer: 2", "What is 3 times 4? Answer: 12", "<|im_start|>user\nhello<|im_end|>"}
	tok, err := tokenizer.Train(corpus, tokenizer.TrainConfig{VocabSize: 300, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"}})
	if err != nil {
		t.Fatal(err)
	}
	imEnd, _ := tok.TokenID("<|im_end|>")
	cfg := weights.Config{ModelType: "qwen3", VocabSize: tok.VocabSize(), HiddenSize: 32, IntermediateSize: 64,
		NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 16, RopeTheta: 1e6, RMSNormEps: 1e-6,
		TieWordEmbeddings: false, MaxPositionEmbeddings: 512, InitializerRange: 0.02, HiddenAct: "silu", EOSTokenID: int(imEnd)}
	m, err := model.New(cfg, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(3)
	if err := m.Save(mdir, weights.BF16); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(mdir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data.jsonl")
	var lines []string
	for i, q := range []string{"What is 1+1?", "What is 2+3?", "What is 4*2?"} {
		js, _ := json.Marshal(map[string]string{"prompt": q + "\n\nRemember to put your answer on its own line after \"Answer:\".", "solution": fmt.Sprint([]int{2, 5, 8}[i])})
		lines = append(lines, string(js))
	}
	os.WriteFile(data, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	out := filepath.Join(dir, "runs")
	log := mustRun(t, context.Background(), []string{"-model", mdir, "-data", data, "-steps", "2", "-prompts", "3",
		"-rollouts", "2", "-minibatches", "1", "-max-new", "6", "-out", out, "-name", "real", "-save-dtype", "bf16"})
	if !strings.Contains(log, "error-rate signal") {
		t.Errorf("the one-minibatch fallback was not announced:\n%s", log)
	}
	if got := readLines(t, filepath.Join(out, "real", "metrics.jsonl")); len(got) != 2 {
		t.Fatalf("%d metrics lines, want 2", len(got))
	}
	if _, err := model.Load(filepath.Join(out, "real"), cpu.New(1)); err != nil {
		t.Fatalf("final model does not load: %v", err)
	}
}

// TestBadInputLeavesRunsUntouched: each bad input is a clear error, and an
// existing run directory is left as it was.
func TestBadInputLeavesRunsUntouched(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	existing := filepath.Join(runs, "keep")
	os.MkdirAll(existing, 0o755)
	os.WriteFile(filepath.Join(existing, "marker"), []byte("x"), 0o644)
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	noSol := filepath.Join(dir, "nosol.jsonl")
	os.WriteFile(noSol, []byte(`{"prompt":"hi"}`+"\n"), 0o644)
	noCfg := filepath.Join(dir, "nocfg")
	os.MkdirAll(noCfg, 0o755)
	otherType := filepath.Join(dir, "llama")
	os.MkdirAll(otherType, 0o755)
	os.WriteFile(filepath.Join(otherType, "config.json"), []byte(`{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"num_key_value_heads":1}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", noCfg, "-data", empty}, "empty"},
		{[]string{"-model", noCfg, "-data", noSol}, "solution"},
		{[]string{"-model", noCfg}, "config.json"},
		{[]string{"-model", otherType}, "llama"},
		{[]string{"-algo", "magic", "-sft-steps", "0", "-pool", "8", "-heldout", "1"}, "magic"},
		{[]string{"-resume", filepath.Join(runs, "keep")}, "checkpoint"},
		{[]string{"-device", "tpu"}, "tpu"},
		{[]string{"-teacher-error", "0.1,2"}, "-teacher-error"},
		{[]string{"-teacher-error", "0.1", "-teacher-mode", "batch"}, "-teacher-mode"},
	} {
		o, err := ParseFlags(append(tc.args, "-out", runs, "-name", "keep"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		err = Run(context.Background(), o, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	entries, _ := os.ReadDir(existing)
	if len(entries) != 1 {
		t.Errorf("the existing run directory changed: %v", entries)
	}
}

// TestBuiltinGDRODefaults: on the built-in tasks the classifier and
// Prompt-GDRO defaults are those of docs/testbed.md unless given; -data runs
// and resumed runs keep what they have.
func TestBuiltinGDRODefaults(t *testing.T) {
	for _, tc := range []struct {
		args                []string
		edges, stat, signal string
		bins                int
		probe               bool
	}{
		{nil, "0.25,0.5,0.75", "mean", "error", 10, true},
		{[]string{"-gdro-bins", "5"}, "", "mean", "error", 5, true},
		{[]string{"-gdro-edges", "0.5", "-gdro-stat", "any", "-gdro-signal", "loss", "-gdro-probe=false"}, "0.5", "any", "loss", 10, false},
		{[]string{"-data", "x.jsonl", "-model", "m"}, "", "any", "auto", 10, false},
		{[]string{"-resume", "runs/x"}, "", "any", "auto", 10, false},
		{[]string{"-algo", "rollout-gdro"}, "0.25,0.5,0.75", "mean", "auto", 10, true},
		{[]string{"-algo", "both"}, "0.25,0.5,0.75", "mean", "auto", 10, true},
	} {
		o, err := ParseFlags(tc.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		o.settle()
		if o.GEdges != tc.edges || o.GStat != tc.stat || o.GSignal != tc.signal || o.GBins != tc.bins || o.GProbe != tc.probe {
			t.Errorf("%v: edges %q stat %q signal %q bins %d probe %v, want %q %q %q %d %v", tc.args,
				o.GEdges, o.GStat, o.GSignal, o.GBins, o.GProbe, tc.edges, tc.stat, tc.signal, tc.bins, tc.probe)
		}
	}
}

// TestSharedSFTAndBudget: a -sft-only run leaves a model and eval.json; a
// run from them with -base-eval evaluates the SFT model no more, and
// -rollout-budget stops it at the first step that reaches the budget.
func TestSharedSFTAndBudget(t *testing.T) {
	dir := t.TempDir()
	sftLog := mustRun(t, context.Background(), append(tinyArgs(dir), "-name", "sft", "-sft-only"))
	if strings.Contains(sftLog, "GRPO") {
		t.Errorf("-sft-only ran GRPO:\n%s", sftLog)
	}
	sft := filepath.Join(dir, "sft")
	// 4 prompts x 3 rollouts = 12 per step: a budget of 20 ends after step 2.
	args := append(tinyArgs(dir), "-name", "arm", "-sft-steps", "0", "-model", sft, "-base-eval", filepath.Join(sft, "eval.json"),
		"-rollout-budget", "20", "-steps", "50")
	log := mustRun(t, context.Background(), args)
	if !strings.Contains(log, "after-SFT evaluation from") || strings.Contains(log, "eval after SFT") {
		t.Errorf("the arm evaluated the SFT model again:\n%s", log)
	}
	if got := readLines(t, filepath.Join(dir, "arm", "metrics.jsonl")); len(got) != 2 || got[1]["spent/total"] != 24 {
		t.Errorf("%d steps (spent %v), want 2 steps and 24 rollouts", len(got), got[len(got)-1]["spent/total"])
	}
	data, err := os.ReadFile(filepath.Join(dir, "arm", "eval.json"))
	if err != nil || !strings.Contains(string(data), `"rollouts_spent": 24`) {
		t.Errorf("eval.json lacks rollouts_spent 24 (%v)", err)
	}
}
