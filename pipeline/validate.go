package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/kernels/cuda"
	"github.com/frontier-rl/frontier/tasks"
	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

// tinyPositions is the built-in tiny model's max_position_embeddings.
const tinyPositions = 512

// Upper bounds of flags whose large values only cost time or memory.
const (
	maxThreadsPerCore = 16
	maxPool           = 1 << 20
	maxHeldOut        = 1 << 16
	maxTinyVocab      = 1 << 18 // above Qwen3's 151936
	maxTinyParams     = 1 << 30 // the tiny model is trained in f32 with AdamW: 16 bytes a parameter
)

// checkSettled validates every flag value, alone and against the others, on
// a settled copy of the options (o itself is not changed): it reads no file,
// so a bad flag fails before any work. Options.Validate calls it first.
func (o *Options) checkSettled() error {
	s := *o
	s.settle()
	for _, check := range []func() error{s.checkEnums, s.checkCounts, s.checkReals, s.checkTiny, s.checkCombos, s.checkClassifier} {
		if err := check(); err != nil {
			return err
		}
	}
	// The trainer's own check (rl.Config.Validate), on the settled
	// GDRO defaults, so that it cannot fail only after setup.
	if _, err := (&runner{o: &s, w: &world{}}).rlConfig(); err != nil {
		return err
	}
	return nil
}

// oneOf returns an error naming flag if v is not one of allowed.
func oneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	var named []string
	optional := ""
	for _, a := range allowed {
		if a == "" {
			optional = fmt.Sprintf(" (or leave -%s out)", flag)
		} else {
			named = append(named, a)
		}
	}
	return fmt.Errorf("-%s %q: use %s%s", flag, v, strings.Join(named, ", "), optional)
}

// checkEnums checks the flags that take one of a few names.
func (o *Options) checkEnums() error {
	for _, c := range []struct {
		flag, v string
		allowed []string
	}{
		{"algo", o.Algo, []string{"grpo", "dapo", "prompt-gdro", "rollout-gdro", "sqrt", "both"}},
		{"reward", o.Reward, []string{"pm1", "01"}},
		{"gdro-stat", o.GStat, []string{"any", "mean", "passk"}},
		{"gdro-signal", o.GSignal, []string{"auto", "loss", "error", "variance"}},
		{"gdro-arm-sign", o.GArmSign, []string{"code", "paper"}},
		{"save-dtype", strings.ToLower(o.SaveDType), []string{"f32", "bf16"}},
		{"device", o.Device, []string{"cpu", "cuda"}},
		{"profile", o.Profile, []string{"", "cpu", "mem"}},
	} {
		if err := oneOf(c.flag, c.v, c.allowed...); err != nil {
			return err
		}
	}
	if o.Device == "cuda" && !cuda.Available() {
		_, err := cuda.NewBackend()
		if err == nil {
			err = fmt.Errorf("no GPU found")
		}
		return fmt.Errorf("-device cuda: %w (or use -device cpu)", err)
	}
	return nil
}

// intCheck is one integer flag and the least value it may take.
type intCheck struct {
	flag  string
	v     int
	least int
	note  string
}

// checkCounts checks the integer flags that count something.
func (o *Options) checkCounts() error {
	checks := []intCheck{
		{"steps", o.Steps, 1, ""},
		{"prompts", o.Prompts, 1, ""},
		{"rollouts", o.Rollouts, 2, ": GRPO's advantages are relative to the group, and one rollout per prompt has no group variance to learn from"},
		{"minibatches", o.Minibatches, 1, ""},
		{"ppo-epochs", o.PPOEpochs, 1, ""},
		{"sft-batch", o.SFTBatch, 1, ""},
		{"sft-steps", o.SFTSteps, 0, ""},
		{"sft-warmup", o.SFTWarmup, 0, ""},
		{"keep", o.Keep, 1, ""},
		{"save-every", o.SaveEvery, 1, ""},
		{"eval-samples", o.EvalSamples, 1, ""},
		{"max-new", o.MaxNew, 1, " (0 picks the default)"},
		{"eval-max-new", o.EvalMaxNew, 1, " (0 = -max-new)"},
		{"eval-every", o.EvalEvery, 0, " (0 = only after SFT and after RL)"},
		{"eval-top-k", o.EvalTopK, 0, " (0 = off)"},
		{"top-k", o.TopK, 0, " (0 = off)"},
		{"threads", o.Threads, 0, " (0 = all cores)"},
		{"rollout-budget", o.RolloutBudget, 0, " (0 = no limit)"},
		{"dapo-rounds", o.DAPORounds, 0, ""},
		{"gdro-bins", o.GBins, 1, ""},
		{"gdro-k", o.GK, 1, ""},
		{"gdro-window", o.GWindow, 0, " (0 = whole history)"},
		{"gdro-nmin", o.GNMin, 1, ""},
		{"gdro-nmax", o.GNMax, 0, " (0 = 3 x -rollouts)"},
	}
	if o.Data == "" {
		checks = append(checks, intCheck{"pool", o.Pool, 1, ""}, intCheck{"heldout", o.HeldOutPerCell, 0, ""})
	}
	for _, c := range checks {
		if c.v < c.least {
			return fmt.Errorf("-%s %d: must be at least %d%s", c.flag, c.v, c.least, c.note)
		}
	}
	// Upper bounds: past these a value is a typo, and the run would spend
	// minutes or all memory on it before its first step.
	if o.Threads > maxThreadsPerCore*runtime.NumCPU() {
		return fmt.Errorf("-threads %d: must be at most %d per core (0 = all cores): more only adds scheduling cost", o.Threads, maxThreadsPerCore)
	}
	if o.Data == "" {
		for _, c := range []struct {
			flag    string
			v, most int
			why     string
		}{
			{"pool", o.Pool, maxPool, "the built-in tasks make every prompt before the first step"},
			{"heldout", o.HeldOutPerCell, maxHeldOut, "every evaluation samples each held-out prompt -eval-samples times"},
		} {
			if c.v > c.most {
				return fmt.Errorf("-%s %d: must be at most %d (%s)", c.flag, c.v, c.most, c.why)
			}
		}
	}
	if o.GNMax != 0 && o.GNMax < o.GNMin {
		return fmt.Errorf("-gdro-nmax %d is below -gdro-nmin %d", o.GNMax, o.GNMin)
	}
	return nil
}

// realCheck is one real-valued flag and the test its value must pass.
type realCheck struct {
	flag string
	v    float64
	ok   bool
	want string
}

// checkReals checks the real-valued flags; NaN and infinities fail every
// test.
func (o *Options) checkReals() error {
	in := func(v, lo, hi float64, loOpen, hiOpen bool) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
		return (v > lo || !loOpen && v == lo) && (v < hi || !hiOpen && v == hi)
	}
	inf := math.Inf(1)
	for _, c := range []realCheck{
		{"lr", o.LR, in(o.LR, 0, inf, true, true), "a finite value > 0"},
		{"sft-lr", o.SFTLR, in(o.SFTLR, 0, inf, true, true), "a finite value > 0"},
		{"clip-low", o.ClipLow, in(o.ClipLow, 0, 1, false, true), "in [0, 1)"},
		{"clip-high", o.ClipHigh, in(o.ClipHigh, 0, 1, false, true), "in [0, 1)"},
		{"kl", o.KL, in(o.KL, 0, inf, false, true), "a finite value >= 0 (0 = off)"},
		{"adv-clip", o.AdvClip, in(o.AdvClip, 0, inf, false, true), "a finite value >= 0 (0 = off)"},
		{"logratio-clamp", o.LogRatioClamp, in(o.LogRatioClamp, 0, inf, false, true), "a finite value >= 0 (0 = off)"},
		{"kl-clamp", o.KLClamp, in(o.KLClamp, 0, inf, false, true), "a finite value >= 0 (0 = off)"},
		{"dual-clip", o.DualClip, o.DualClip == 0 || in(o.DualClip, 1, inf, true, true), "above 1, or 0 for off"},
		{"temperature", o.Temperature, in(o.Temperature, 0, inf, true, true), "a finite value > 0 (at 0 a group's rollouts are identical greedy ones: nothing to explore or compare)"},
		{"top-p", o.TopP, in(o.TopP, 0, 1, true, false), "in (0, 1]; 1 turns it off"},
		{"eval-temperature", o.EvalTemp, in(o.EvalTemp, 0, inf, false, true), "a finite value >= 0"},
		{"eval-top-p", o.EvalTopP, in(o.EvalTopP, 0, 1, true, false), "in (0, 1]; 1 turns it off"},
		{"gdro-hysteresis", o.GHyst, in(o.GHyst, 0, 0.5, false, true), "in [0, 0.5)"},
		{"gdro-eta", o.GEta, in(o.GEta, 0, inf, false, true), "a finite value >= 0"},
		{"gdro-gamma", o.GGamma, in(o.GGamma, 0, 1, false, false), "in [0, 1]"},
		{"gdro-beta", o.GBeta, in(o.GBeta, 0, 1, true, false), "in (0, 1]"},
		{"gdro-wmax", o.GWMax, in(o.GWMax, 1, inf, false, true), "a finite value >= 1"},
		{"gdro-clip", o.GClip, in(o.GClip, 0, inf, false, true), "a finite value >= 0 (0 = none)"},
		{"gdro-floor", o.GFloor, in(o.GFloor, 0, 1, false, false), "in [0, 1]"},
		{"gdro-arm-eta", o.GArmEta, in(o.GArmEta, 0, inf, false, true), "a finite value >= 0"},
		{"gdro-arm-gamma", o.GArmGamma, in(o.GArmGamma, 0, 1, false, false), "in [0, 1]"},
		{"gdro-alpha-mu", o.GAlphaMu, in(o.GAlphaMu, 0, inf, false, true), "a finite value >= 0"},
		{"gdro-sqrt-beta", o.GSqB, in(o.GSqB, 0, 1, true, false), "in (0, 1]"},
	} {
		if !c.ok {
			return fmt.Errorf("-%s %v: must be %s", c.flag, c.v, c.want)
		}
	}
	return nil
}

// checkTiny checks the built-in tiny model's shape flags (used only when
// no -model or -resume gives the model).
func (o *Options) checkTiny() error {
	if o.ModelDir != "" || o.Resume != "" || o.Data != "" {
		return nil
	}
	for _, c := range []intCheck{
		{"layers", o.Layers, 1, ""}, {"hidden", o.Hidden, 1, ""}, {"heads", o.Heads, 1, ""},
		{"kv-heads", o.KVHeads, 1, ""}, {"head-dim", o.HeadDim, 2, ""}, {"intermediate", o.Intermediate, 1, ""},
	} {
		if c.v < c.least {
			return fmt.Errorf("-%s %d: must be at least %d", c.flag, c.v, c.least)
		}
	}
	switch {
	case o.Heads%o.KVHeads != 0:
		return fmt.Errorf("-heads %d is not a multiple of -kv-heads %d: each key/value head serves a whole group of query heads", o.Heads, o.KVHeads)
	case o.HeadDim%2 != 0:
		return fmt.Errorf("-head-dim %d: must be even (rotary embeddings rotate pairs of dimensions)", o.HeadDim)
	case o.Vocab > maxTinyVocab:
		return fmt.Errorf("-vocab %d: must be at most %d for the built-in tiny model (its tokenizer is trained on the task corpus, which has far fewer distinct pieces)", o.Vocab, maxTinyVocab)
	case tinyParams(o) > maxTinyParams:
		return fmt.Errorf("-layers %d, -hidden %d, -intermediate %d, -heads %d, -head-dim %d: the built-in tiny model would have about %.3g parameters, more than %d (%d GiB of weights and optimizer state): lower them, or train a real model with -model", o.Layers, o.Hidden, o.Intermediate, o.Heads, o.HeadDim, tinyParams(o), maxTinyParams, maxTinyParams*16>>30)
	case o.Vocab < 256+len(tinySpecials):
		return fmt.Errorf("-vocab %d: need at least %d (256 byte tokens and %d special tokens)", o.Vocab, 256+len(tinySpecials), len(tinySpecials))
	case o.MaxNew >= tinyPositions || o.EvalMaxNew >= tinyPositions:
		return fmt.Errorf("-max-new %d / -eval-max-new %d: the tiny model has %d positions, prompt included: use less", o.MaxNew, o.EvalMaxNew, tinyPositions)
	}
	return nil
}

// tinyParams estimates the built-in model's parameter count from its shape
// flags, in floating point so that no product overflows.
func tinyParams(o *Options) float64 {
	h, q, kv := float64(o.Hidden), float64(o.Heads*o.HeadDim), float64(o.KVHeads*o.HeadDim)
	layer := h*q*2 + h*kv*2 + 3*h*float64(o.Intermediate) + 2*h + 2*float64(o.HeadDim)
	return float64(o.Layers)*layer + float64(o.Vocab)*h + h
}

// checkCombos checks flags against each other.
func (o *Options) checkCombos() error {
	switch {
	case o.Data != "" && o.ModelDir == "" && o.Resume == "":
		return fmt.Errorf("-data needs -model DIR (a Qwen3 directory with its tokenizer.json)")
	case o.SFTSteps == 0 && o.ModelDir == "" && o.Resume == "":
		return fmt.Errorf("-sft-steps 0: the built-in tiny model starts from random weights and needs SFT; -sft-steps 0 is for -model")
	case o.SFTSteps > 0 && o.Data != "":
		return fmt.Errorf("-sft-steps %d: SFT runs on the built-in tasks only; use -sft-steps 0 with -data", o.SFTSteps)
	case o.SFTSteps > 0 && o.SFTWarmup >= o.SFTSteps:
		return fmt.Errorf("-sft-warmup %d: must be below -sft-steps %d (the cosine schedule decays after the warm-up)", o.SFTWarmup, o.SFTSteps)
	case o.EvalData != "" && o.Data == "":
		return fmt.Errorf("-eval-data %s needs -data (the built-in tasks have their own held-out set)", o.EvalData)
	case o.EvalTemp == 0 && o.EvalSamples > 1:
		return fmt.Errorf("-eval-samples %d with -eval-temperature 0 scores %d identical greedy samples per prompt: set -eval-temperature above 0, or -eval-samples 1", o.EvalSamples, o.EvalSamples)
	case o.Minibatches > o.Prompts:
		return fmt.Errorf("-minibatches %d for -prompts %d: use at most one minibatch per prompt", o.Minibatches, o.Prompts)
	case o.Resume == "" && (o.Name == "." || o.Name == ".." || strings.ContainsAny(o.Name, `/\`)):
		return fmt.Errorf("-name %q: need a plain directory name (the run directory is -out/-name)", o.Name)
	}
	return nil
}

// checkClassifier runs the difficulty classifier's own check on the
// settled -gdro-edges, -gdro-bins, -gdro-window and -gdro-hysteresis.
func (o *Options) checkClassifier() error {
	cc, err := o.classifierConfig()
	if err != nil {
		return err // names -gdro-edges or -gdro-bins already
	}
	if _, err := gdro.NewClassifier(cc); err != nil {
		return fmt.Errorf("-gdro-edges %q, -gdro-bins %d, -gdro-hysteresis %g: %w", o.GEdges, o.GBins, o.GHyst, err)
	}
	return nil
}

// checkFiles checks every file and directory the run will read or write,
// on settled options, before any work: -out, -model, -data, -eval-data,
// -base-eval, and that the prompts fit the model's positions. from is the
// checkpoint a resumed run loads its model from, or "".
func (o *Options) checkFiles(from string) error {
	if o.Resume == "" {
		if err := o.checkOut(); err != nil {
			return err
		}
	}
	data := map[string][]tasks.Example{}
	for _, f := range []struct{ flag, path string }{{"data", o.Data}, {"eval-data", o.EvalData}} {
		if f.path == "" {
			continue
		}
		if err := checkDataFile(f.flag, f.path); err != nil {
			return err
		}
		exs, err := tasks.LoadDAPO(f.path)
		if err != nil {
			return fmt.Errorf("-%s: %w", f.flag, err)
		}
		data[f.flag] = exs
	}
	if o.ModelDir != "" && from == "" {
		if err := checkModel(o.ModelDir); err != nil {
			return err
		}
	}
	if o.BaseEval != "" && o.Resume == "" {
		if st, err := os.Stat(o.BaseEval); err != nil || st.IsDir() {
			return fmt.Errorf("-base-eval %s: not a file: give the eval.json of the -sft-only run", o.BaseEval)
		}
	}
	modelDir := o.ModelDir
	if from != "" {
		modelDir = from
	}
	if len(data) > 0 && modelDir != "" {
		return o.checkPromptLengths(modelDir, data)
	}
	return nil
}

// checkModel checks the -model directory before anything the size of the
// model is allocated: its config against the safetensors headers, its
// tokenizer against vocab_size, and its end-of-sequence ids.
func checkModel(dir string) error {
	cfg, ck, err := weights.OpenModel(dir)
	if err != nil {
		return fmt.Errorf("-model: %w", err)
	}
	ck.Close()
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return fmt.Errorf("-model %s: %w (a model directory needs its tokenizer.json)", dir, err)
	}
	if tok.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("-model %s: the tokenizer has %d tokens but config.json's vocab_size is %d: the tokenizer does not belong to this model",
			dir, tok.VocabSize(), cfg.VocabSize)
	}
	eos, err := weights.EOSIDs(dir)
	if err != nil {
		return fmt.Errorf("-model: %w", err)
	}
	for _, id := range eos {
		if id < 0 || id >= cfg.VocabSize {
			return fmt.Errorf("-model %s: end-of-sequence id %d is not below vocab_size %d: fix eos_token_id in config.json or generation_config.json", dir, id, cfg.VocabSize)
		}
	}
	return nil
}

// checkDataFile checks that path (given by -flag) is a dataset file with a
// known extension.
func checkDataFile(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("-%s %s: %w", flag, path, err)
	case st.IsDir():
		return fmt.Errorf("-%s %s: is a directory: give a .jsonl or .parquet file", flag, path)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".jsonl", ".ndjson", ".json":
		return checkUTF8(flag, path)
	case ".parquet":
		return nil
	default:
		return fmt.Errorf("-%s %s: unknown extension %q: give a DAPO-format .jsonl, .json or .parquet file", flag, path, ext)
	}
}

// checkUTF8 refuses a JSON data file holding bytes that are not UTF-8: a
// JSON reader would turn each into U+FFFD and train on the damaged text.
func checkUTF8(flag, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("-%s %s: %w", flag, path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if !utf8.Valid(b) {
			at := 0
			for at < len(b) {
				c, size := utf8.DecodeRune(b[at:])
				if c == utf8.RuneError && size <= 1 {
					break
				}
				at += size
			}
			return fmt.Errorf("-%s %s: line %d is not valid UTF-8 (bad byte 0x%02x at offset %d): convert the file to UTF-8", flag, path, line, b[at], at)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("-%s %s: %w", flag, path, err)
		}
	}
}

// checkOut refuses an -out that is a file, or that is or lies inside a
// directory the run reads (the -model directory), or is one of its input
// files.
func (o *Options) checkOut() error {
	var inputs []string
	if o.ModelDir != "" {
		inputs = append(inputs, weights.ModelInputs(o.ModelDir)...)
	}
	for _, f := range []string{o.Data, o.EvalData, o.BaseEval} {
		if f != "" {
			inputs = append(inputs, f)
		}
	}
	if o.Out == "" {
		return fmt.Errorf("-out is empty: give the directory that will hold the run directory (the default is runs)")
	}
	if st, err := os.Stat(o.Out); err == nil && !st.IsDir() {
		if err := weights.CheckOutput("-out", o.Out, inputs...); err != nil {
			return err
		}
		return fmt.Errorf("-out %s: is a file: give the directory that will hold the run directory", o.Out)
	}
	if o.ModelDir != "" && within(o.Out, o.ModelDir) {
		return fmt.Errorf("-out %s: is inside -model %s: the run would write into the model it reads; choose another directory", o.Out, o.ModelDir)
	}
	return nil
}

// within reports whether path is dir or lies inside it, comparing absolute
// paths with symbolic links resolved as far as they exist.
func within(path, dir string) bool {
	p, d := resolve(path), resolve(dir)
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve returns path made absolute, with the symbolic links of its
// longest existing prefix resolved.
func resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	rest := ""
	for cur := abs; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if filepath.Dir(cur) == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// checkPromptLengths checks that every -data and -eval-data prompt (data,
// by flag), in the chat template and with its completion, fits the
// model's positions.
func (o *Options) checkPromptLengths(modelDir string, data map[string][]tasks.Example) error {
	cfg, err := weights.LoadConfig(filepath.Join(modelDir, weights.ConfigFileName))
	if err != nil {
		return fmt.Errorf("-model: %w", err)
	}
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		return fmt.Errorf("-model %s: %w (a model directory needs its tokenizer.json)", modelDir, err)
	}
	for _, f := range []struct {
		flag, path, newFlag string
		maxNew              int
	}{{"data", o.Data, "max-new", o.MaxNew}, {"eval-data", o.EvalData, "eval-max-new", o.EvalMaxNew}} {
		for i, ex := range data[f.flag] {
			text := tokenizer.RenderChat([]tokenizer.Message{{Role: "user", Content: ex.Prompt}}, true, o.Thinking)
			n := len(tok.Encode(text))
			if n+f.maxNew > cfg.MaxPositionEmbeddings {
				return fmt.Errorf("-%s %s: record %d's prompt is %d tokens; with -%s %d it needs %d positions, but the model has %d (max_position_embeddings): shorten the prompt or lower -%s",
					f.flag, f.path, i+1, n, f.newFlag, f.maxNew, n+f.maxNew, cfg.MaxPositionEmbeddings, f.newFlag)
			}
		}
	}
	return nil
}
