package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/profile"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/kernels/device"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/tasks"
	"github.com/frontier-rl/frontier/weights"
)

// runState is trainer_state.json.
type runState struct {
	Phase   string            `json:"phase"` // "sft" or "rl"
	SFTStep int               `json:"sft_step"`
	Seed    uint64            `json:"seed"`
	Flags   map[string]string `json:"flags"`
	RL      *rl.TrainerState  `json:"rl,omitempty"`
	// SFTEval is the evaluation after SFT, kept so a resumed run reports
	// against the same baseline and difficulty bins.
	SFTEval []rl.PromptResult `json:"sft_eval,omitempty"`
	// SFTBinEval is a second, independently seeded evaluation after SFT.
	// The report bins held-out prompts by it: binning them by SFTEval's own
	// samples would make every bin's change partly regression to the mean.
	SFTBinEval []rl.PromptResult `json:"sft_bin_eval,omitempty"`
	Probed     bool              `json:"probed,omitempty"`
	// Spent is the number of training rollouts generated so far: every
	// completion of a GRPO step, kept or dropped. -rollout-budget bounds it.
	Spent int `json:"rollouts_spent"`
	// ProbeSpent is the rollouts of the probe pass, which seeds the
	// classifier before RL; every algorithm of a recipe pays the same, so it
	// is reported beside the budget, not counted in it.
	ProbeSpent int `json:"probe_rollouts,omitempty"`
}

// runner holds a run in progress.
type runner struct {
	o      *Options
	out    io.Writer
	dir    string
	w      *world
	state  runState
	dtype  weights.DType
	logf   func(string, ...any)
	evalOK bool
	base   *BaseEval // -base-eval, loaded
	plan   resumePlan
}

// Run performs the run that o describes (or resumes the one in o.Resume),
// writing progress lines and reports to out. Cancelling ctx saves a
// checkpoint and returns nil.
func Run(ctx context.Context, o *Options, out io.Writer) error {
	r := &runner{o: o, out: out}
	r.logf = func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	from, err := r.prepare()
	if err != nil {
		return err
	}
	if o.Profile != "" {
		opt := profile.CPUProfile
		if o.Profile == "mem" {
			opt = profile.MemProfile
		}
		defer profile.Start(opt, profile.ProfilePath(r.dir), profile.Quiet).Stop()
	}
	w := r.w
	r.logf("run directory %s", r.dir)
	r.logf("model: %d layers, hidden %d, %d heads / %d KV heads, vocab %d: %.2fM parameters on %s",
		w.m.Config.NumHiddenLayers, w.m.Config.HiddenSize, w.m.Config.NumAttentionHeads, w.m.Config.NumKeyValueHeads,
		w.m.Config.VocabSize, float64(w.m.NumParams())/1e6, w.m.B.Name())
	r.logf("data: %d training prompts, %d held-out prompts", len(w.train), len(w.heldOut))

	if r.state.Phase == "sft" {
		stopped, err := r.sft(ctx)
		if err != nil || stopped {
			return err
		}
	}
	if err := r.baseline(); err != nil {
		return err
	}
	if o.SFTOnly {
		return r.finishSFT()
	}
	return r.grpo(ctx, from)
}

// prepare settles the options, checks them, builds the world and creates
// (or reopens) the run directory. It returns the checkpoint a resumed run
// starts from, or "". Bad input fails here, before anything is written.
func (r *runner) prepare() (from string, err error) {
	o := r.o
	if o.Resume != "" {
		if from, err = r.resume(); err != nil {
			return "", err
		}
		r.dir = o.Resume
	}
	if err := o.Validate(); err != nil {
		return "", err
	}
	r.dtype = weights.F32
	if strings.ToLower(o.SaveDType) == "bf16" {
		r.dtype = weights.BF16
	}
	o.settle()
	if err := o.checkFiles(from); err != nil {
		return "", err
	}
	b, err := device.New(o.Device, o.Threads)
	if err != nil {
		return "", err
	}
	if r.w, err = buildWorld(o, b, from); err != nil {
		return "", err
	}
	if _, err := r.rlConfig(); err != nil {
		return "", err
	}
	if o.BaseEval != "" && r.state.SFTEval == nil {
		if r.base, err = LoadBaseEval(o.BaseEval, r.w.heldOut); err != nil {
			return "", err
		}
	}
	if r.dir == "" {
		if r.dir, err = newRunDir(o); err != nil {
			return "", err
		}
		r.state = runState{Phase: "sft", Seed: o.Seed}
	}
	if err := r.repairLatest(); err != nil {
		return "", err
	}
	r.state.Flags = o.values()
	return from, nil
}

// teacher returns the SFT teacher of -teacher-error and -teacher-mode.
func (o *Options) teacher() (tasks.Teacher, error) {
	t, err := tasks.ParseTeacher(o.TeacherError, o.TeacherMode, o.Seed)
	if err != nil {
		return t, fmt.Errorf("-teacher-error %q -teacher-mode %q: %w", o.TeacherError, o.TeacherMode, err)
	}
	return t, nil
}

// settle fills the defaults that depend on other flags.
func (o *Options) settle() {
	if o.ModelDir != "" && !o.set["sft-steps"] && o.Resume == "" {
		o.SFTSteps = 0
	}
	if !o.set["gdro-hysteresis"] && o.Resume == "" && (o.Algo == "rollout-gdro" || o.Algo == "sqrt") {
		o.GHyst = 0 // the released code's Rollout-GDRO runs use no hysteresis
	}
	if o.Data == "" && o.Resume == "" {
		o.builtinGDRO()
	}
	if o.MaxNew == 0 {
		o.MaxNew = 12
		if o.Data != "" {
			o.MaxNew = 1024
		}
	}
	if o.EvalMaxNew == 0 {
		o.EvalMaxNew = o.MaxNew
	}
}

// builtinGDRO sets the classifier and Prompt-GDRO defaults of the built-in
// experiment, for every such flag not given (the error signal only under
// -algo prompt-gdro). The paper's defaults (10 bins,
// the 'any' statistic, the surrogate-loss signal, no probe) leave the
// controllers idle on the tiny tasks: the top bin fills, the signal is of
// order 1e-2 and the first epoch sits in bin 0 (docs/testbed.md).
func (o *Options) builtinGDRO() {
	if !o.set["gdro-edges"] && !o.set["gdro-bins"] {
		o.GEdges = "0.25,0.5,0.75"
	}
	if !o.set["gdro-stat"] {
		o.GStat = "mean"
	}
	if !o.set["gdro-signal"] && o.Algo == "prompt-gdro" {
		// Only Prompt-GDRO: with the released code's arm sign, Rollout-GDRO
		// on a non-negative signal is fixed allocation.
		o.GSignal = "error"
	}
	if !o.set["gdro-probe"] {
		o.GProbe = true
	}
}

// Validate checks the options that need no data or model: a bad flag fails
// here, before any work.
func (o *Options) Validate() error {
	if err := o.validateParallel(); err != nil {
		return err
	}
	if err := o.checkSettled(); err != nil {
		return err
	}
	switch strings.ToLower(o.SaveDType) {
	case "f32", "bf16":
	default:
		return fmt.Errorf("-save-dtype %q: use f32 or bf16", o.SaveDType)
	}
	switch o.Profile {
	case "", "cpu", "mem":
	default:
		return fmt.Errorf("-profile %q: use cpu or mem", o.Profile)
	}
	if o.Data != "" && o.ModelDir == "" && o.Resume == "" {
		return fmt.Errorf("-data needs -model DIR (a Qwen3 directory with its tokenizer.json)")
	}
	if o.BaseEval != "" && o.ModelDir == "" && o.Resume == "" {
		return fmt.Errorf("-base-eval %s needs -model (the model that evaluation scored)", o.BaseEval)
	}
	if o.SFTOnly && o.ModelDir != "" {
		return fmt.Errorf("-sft-only trains the built-in tiny model; it cannot be combined with -model")
	}
	if _, err := o.teacher(); err != nil {
		return err
	}
	if o.RolloutBudget < 0 {
		return fmt.Errorf("-rollout-budget %d: must be >= 0", o.RolloutBudget)
	}
	if o.Steps < 0 || o.Prompts < 1 || o.Rollouts < 1 {
		return fmt.Errorf("-steps %d, -prompts %d, -rollouts %d: need steps >= 0 and at least 1 prompt and 1 rollout", o.Steps, o.Prompts, o.Rollouts)
	}
	if o.EvalSamples < 1 {
		return fmt.Errorf("-eval-samples %d: need at least 1 sample per held-out prompt", o.EvalSamples)
	}
	if o.SFTSteps > 0 {
		sched := optim.Schedule{Kind: "cosine", Warmup: o.SFTWarmup, Total: o.SFTSteps, MinRatio: 0.1}
		if err := sched.Validate(); err != nil {
			return fmt.Errorf("SFT: %w (set -sft-warmup below -sft-steps)", err)
		}
	}
	if o.Data == "" && o.ModelDir == "" && o.Resume == "" {
		if err := o.builtinConfig().Validate(); err != nil {
			return err
		}
		if floor := 256 + len(tinySpecials); o.Vocab < floor {
			return fmt.Errorf("-vocab %d: need at least %d (256 byte tokens and %d special tokens)", o.Vocab, floor, len(tinySpecials))
		}
	}
	r := &runner{o: o, w: &world{}}
	cfg, err := r.rlConfig()
	if err != nil {
		return err
	}
	if _, err := gdro.NewClassifier(cfg.Classifier); err != nil {
		return fmt.Errorf("classifier (-gdro-bins, -gdro-edges, -gdro-window, -gdro-hysteresis): %w", err)
	}
	return nil
}

func (r *runner) rlStep() int {
	if r.state.RL == nil {
		return 0
	}
	return r.state.RL.Step
}

// newRunDir creates OUT/NAME, adding -2, -3, ... if the name is taken (an
// existing run directory is never touched).
func newRunDir(o *Options) (string, error) {
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("%s-seed%d", o.Algo, o.Seed)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", o.Out, err)
	}
	for i := 1; i < 1000; i++ {
		dir := filepath.Join(o.Out, name)
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", dir, i)
		}
		if err := os.Mkdir(dir, 0o755); err == nil {
			return dir, nil
		} else if !os.IsExist(err) {
			return "", fmt.Errorf("creating run directory: %w", err)
		}
	}
	return "", fmt.Errorf("no free run directory name for %s in %s", name, o.Out)
}

// checkpoint saves the model, the optimizer and the run state.
func (r *runner) checkpoint(name string, opt *optim.AdamW) error {
	path, err := rl.SaveCheckpoint(r.dir, name, rl.Checkpoint{Model: r.w.m, DType: r.dtype, Opt: opt, State: r.state, Files: r.w.files, Keep: r.o.Keep})
	if err != nil {
		return err
	}
	r.logf("checkpoint %s", path)
	return nil
}

// sft runs (or finishes) the supervised warm start. It reports whether it
// was interrupted (after saving a checkpoint).
func (r *runner) sft(ctx context.Context) (stopped bool, err error) {
	o, w := r.o, r.w
	if o.SFTSteps <= 0 {
		r.state.Phase = "rl"
		return false, nil
	}
	if !w.builtin {
		return false, fmt.Errorf("-sft-steps %d: SFT runs on the built-in tasks only; use -sft-steps=0 with -data", o.SFTSteps)
	}
	cfg := optim.DefaultConfig()
	cfg.LR = o.SFTLR
	cfg.Schedule = optim.Schedule{Kind: "cosine", Warmup: o.SFTWarmup, Total: o.SFTSteps, MinRatio: 0.1}
	opt, err := optim.NewAdamW(cfg, w.m.B, w.m.NumParams())
	if err != nil {
		return false, err
	}
	if r.state.SFTStep > 0 {
		ck, _ := rl.LatestCheckpoint(r.dir)
		if err := rl.LoadOptimizer(ck, opt); err != nil {
			return false, err
		}
	}
	builtin := w.tasks
	teacher, err := o.teacher()
	if err != nil {
		return false, err
	}
	if !teacher.Exact() {
		r.logf("SFT teacher: answers wrong in the last digit with probability %s by level (decided per %s)", teacher.Describe(builtin.Config().MaxLevel), o.TeacherMode)
	}
	r.logf("SFT: %d steps x %d sequences, AdamW lr %g, %d warm-up steps, cosine to 10%%", o.SFTSteps, o.SFTBatch, o.SFTLR, o.SFTWarmup)
	sftPath := filepath.Join(r.dir, "sft_metrics.jsonl")
	sftHistory, err := readMetrics(sftPath, r.state.SFTStep)
	if err != nil {
		return false, err
	}
	sf, err := os.Create(sftPath)
	if err != nil {
		return false, fmt.Errorf("metrics: %w", err)
	}
	defer sf.Close()
	for _, h := range sftHistory {
		writeMetrics(sf, h)
	}
	bar := newProgress(r.out, "SFT", o.SFTSteps)
	start := time.Now()
	var tokens int
	for r.state.SFTStep < o.SFTSteps {
		if ctx.Err() != nil || r.o.stopAt("sft", r.state.SFTStep) {
			bar.done()
			r.logf("interrupted: saving a checkpoint at SFT step %d", r.state.SFTStep)
			return true, r.checkpoint(fmt.Sprintf("checkpoint-sft-%d", r.state.SFTStep), opt)
		}
		step := r.state.SFTStep
		rng := rand.New(rand.NewPCG(o.Seed^0x5f7c3a1d, uint64(step)))
		batch := make([]rl.SFTExample, o.SFTBatch)
		for i := range batch {
			ex := teacher.Apply(builtin.SFTExample(rng), rng)
			ans := append(w.tok.Encode(ex.Answer), w.eos[0])
			batch[i] = rl.SFTExample{Prompt: w.tok.Encode(ex.Prompt), Answer: ans}
			tokens += len(batch[i].Prompt) + len(ans)
		}
		lr := opt.LR()
		loss, gn, err := r.sftStep(w.m, opt, batch)
		if err != nil {
			return false, fmt.Errorf("SFT step %d: %w", step+1, err)
		}
		r.state.SFTStep++
		writeMetrics(sf, rl.Metrics{"step": float64(r.state.SFTStep), "loss": loss, "grad_norm": gn, "learning_rate": lr})
		bar.update(r.state.SFTStep, fmt.Sprintf("loss %.4f  grad %.2f  lr %.2e  %.0f tok/s", loss, gn, opt.LR(), float64(tokens)/time.Since(start).Seconds()))
	}
	bar.done()
	r.logf("SFT done in %.1fs", time.Since(start).Seconds())
	r.state.Phase = "rl"
	return false, r.checkpoint(fmt.Sprintf("checkpoint-sft-%d", r.state.SFTStep), opt)
}

// binEvalSeed derives the seed of the independent after-SFT pass that bins
// held-out prompts.
const binEvalSeed = 0x6b1d5e3a9c27f481

// evalConfig is the held-out evaluation's sampling setup.
func (r *runner) evalConfig() rl.EvalConfig {
	o := r.o
	return rl.EvalConfig{Samples: o.EvalSamples, Greedy: o.EvalGreedy, Seed: o.Seed,
		Sample: sample.Config{Temperature: o.EvalTemp, TopP: o.EvalTopP, TopK: o.EvalTopK, MaxNew: o.EvalMaxNew, EOS: r.w.eos}}
}

// evaluate runs the held-out evaluation and prints its summary.
func (r *runner) evaluate(label string) ([]rl.PromptResult, error) {
	return r.evaluateWith(label, r.evalConfig())
}

// evaluateWith runs the held-out evaluation with cfg and prints its summary.
func (r *runner) evaluateWith(label string, cfg rl.EvalConfig) ([]rl.PromptResult, error) {
	start := time.Now()
	res, err := r.evalHeldOut(cfg)
	if err != nil {
		return nil, err
	}
	s := rl.Summarize(res, cfg.Samples)
	greedy := "  greedy not run"
	if cfg.Greedy {
		greedy = fmt.Sprintf("  greedy %.3f", s.Greedy)
	}
	r.logf("eval %s: pass@1 %.3f  pass@%d %.3f  mean@%d %.3f%s  (%d prompts, %.1fs)",
		label, s.Pass1, cfg.Samples, s.PassK, cfg.Samples, s.MeanK, greedy, s.Prompts, time.Since(start).Seconds())
	return res, nil
}

// baseline sets the after-SFT evaluations: from -base-eval, or by
// evaluating the model now (the report's sampled pass, then an independently
// seeded pass without greedy that only bins the prompts).
func (r *runner) baseline() error {
	if len(r.w.heldOut) == 0 {
		return nil
	}
	if r.base != nil && r.state.SFTEval == nil {
		r.state.SFTEval, r.state.SFTBinEval = r.base.AfterSFT, r.base.BinPass
		r.logf("after-SFT evaluation from %s", r.o.BaseEval)
	}
	if r.state.SFTEval == nil {
		res, err := r.evaluate("after SFT")
		if err != nil {
			return err
		}
		r.state.SFTEval = res
	}
	// A run resumed from a checkpoint older than the independent pass has
	// no SFT model any more to score: its report leaves out the bin rows.
	if r.state.SFTBinEval == nil && r.state.RL == nil {
		cfg := r.evalConfig()
		cfg.Seed ^= binEvalSeed
		cfg.Greedy = false
		res, err := r.evaluateWith("after SFT, independent pass for the bins", cfg)
		if err != nil {
			return err
		}
		r.state.SFTBinEval = res
	}
	return nil
}

// BaseEval is the eval.json of a -sft-only run: the after-SFT evaluation
// and the independent pass that bins held-out prompts.
type BaseEval struct {
	Seed     uint64            `json:"seed"`
	K        int               `json:"k"`
	AfterSFT []rl.PromptResult `json:"after_sft"`
	BinPass  []rl.PromptResult `json:"sft_bin_pass"`
	AfterRL  []rl.PromptResult `json:"after_rl,omitempty"`
}

// LoadBaseEval reads an eval.json and checks that it scored exactly the
// given held-out prompts (the same tasks and seed).
func LoadBaseEval(path string, heldOut []rl.Item) (*BaseEval, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-base-eval: %w", err)
	}
	var be BaseEval
	if err := json.Unmarshal(data, &be); err != nil {
		return nil, fmt.Errorf("-base-eval %s: %w", path, err)
	}
	for _, part := range []struct {
		name string
		res  []rl.PromptResult
	}{{"after_sft", be.AfterSFT}, {"sft_bin_pass", be.BinPass}} {
		if len(part.res) != len(heldOut) {
			return nil, fmt.Errorf("-base-eval %s: field %s has %d prompts, the held-out set %d (another seed or task set?)", path, part.name, len(part.res), len(heldOut))
		}
		for i, p := range part.res {
			if p.ID != heldOut[i].Ex.ID {
				return nil, fmt.Errorf("-base-eval %s: field %s prompt %d is %q, the held-out set has %q (another seed or task set?)", path, part.name, i, p.ID, heldOut[i].Ex.ID)
			}
		}
	}
	return &be, nil
}

// finishSFT ends a -sft-only run: eval.json and the SFT model at the top of
// the run directory.
func (r *runner) finishSFT() error {
	doc := BaseEval{Seed: r.o.Seed, K: r.o.EvalSamples, AfterSFT: r.state.SFTEval, BinPass: r.state.SFTBinEval}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := weights.WriteFileAtomic(filepath.Join(r.dir, "eval.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return r.saveFinal()
}

// newClassifierConfig builds the classifier settings from the flags.
func (o *Options) classifierConfig() (gdro.ClassifierConfig, error) {
	e, err := o.edges()
	if err != nil {
		return gdro.ClassifierConfig{}, err
	}
	return gdro.ClassifierConfig{Edges: e, Window: o.GWindow, Delta: o.GHyst}, nil
}

// rlConfig turns the flags into the trainer's configuration.
func (r *runner) rlConfig() (rl.Config, error) {
	o := r.o
	cfg := rl.DefaultConfig()
	cfg.Seed = o.Seed
	cfg.PromptsPerStep, cfg.Rollouts, cfg.Minibatches, cfg.PPOEpochs = o.Prompts, o.Rollouts, o.Minibatches, o.PPOEpochs
	cfg.Loss = rl.LossConfig{ClipLow: o.ClipLow, ClipHigh: o.ClipHigh, KLCoef: o.KL,
		LogRatioClamp: o.LogRatioClamp, KLClamp: o.KLClamp, DualClip: o.DualClip}
	cfg.AdvClip, cfg.MeanOnly, cfg.Reward = o.AdvClip, o.DrGRPO, o.Reward
	cfg.Sample = sample.Config{Temperature: o.Temperature, TopP: o.TopP, TopK: o.TopK, MaxNew: o.MaxNew, EOS: r.w.eos}
	switch o.Algo {
	case "grpo":
	case "prompt-gdro":
		cfg.PromptGDRO = true
	case "rollout-gdro":
		cfg.Alloc = rl.AllocGDRO
	case "sqrt":
		cfg.Alloc = rl.AllocSqrt
	case "both":
		cfg.PromptGDRO, cfg.Alloc = true, rl.AllocGDRO
	case "dapo":
		cfg.DynamicSampling = true
	default:
		return cfg, fmt.Errorf("-algo %q: use grpo, dapo, prompt-gdro, rollout-gdro, sqrt or both", o.Algo)
	}
	cfg.ExtraRounds = o.DAPORounds
	cfg.Prompt = gdro.PromptConfig{Eta: o.GEta, Gamma: o.GGamma, Beta: o.GBeta, WMax: o.GWMax, Clip: o.GClip, Floor: o.GFloor, NormShare: o.GNormShare}
	cfg.Signal = rl.Signal(o.GSignal)
	nmax := o.GNMax
	if nmax == 0 {
		nmax = 3 * o.Rollouts
	}
	rc := gdro.DefaultRolloutConfig()
	rc.NMin, rc.NMax, rc.NBar, rc.Eta, rc.Gamma, rc.AlphaMu, rc.Sign = o.GNMin, nmax, o.Rollouts, o.GArmEta, o.GArmGamma, o.GAlphaMu, o.GArmSign
	cfg.RolloutCfg = rc
	sc := gdro.DefaultSqrtConfig()
	sc.NMin, sc.NMax, sc.NBar, sc.Beta = o.GNMin, nmax, o.Rollouts, o.GSqB
	cfg.SqrtCfg = sc
	var err error
	if cfg.Classifier, err = o.classifierConfig(); err != nil {
		return cfg, err
	}
	cfg.Stat, cfg.StatK = o.GStat, o.GK
	return cfg, cfg.Validate()
}

// grpo runs the RL phase, then the final evaluation and reports.
func (r *runner) grpo(ctx context.Context, from string) error {
	o, w := r.o, r.w
	cfg, err := r.rlConfig()
	if err != nil {
		return err
	}
	ocfg := optim.DefaultConfig()
	ocfg.LR = o.LR
	opt, err := optim.NewAdamW(ocfg, w.m.B, w.m.NumParams())
	if err != nil {
		return err
	}
	env := w.env
	led := newLedger(env.Verifier)
	env.Verifier = led
	tr, err := rl.NewTrainer(cfg, w.m, opt, w.train, env)
	if err != nil {
		return err
	}
	led.binOf = tr.Cls.Bin
	tr.Log = r.logf
	if err := r.dataParallel(tr); err != nil {
		return err
	}
	if r.state.RL != nil {
		ck, _ := rl.LatestCheckpoint(r.dir)
		if err := rl.LoadOptimizer(ck, opt); err != nil {
			return err
		}
		if err := tr.Restore(*r.state.RL); err != nil {
			return err
		}
	}
	if o.KL != 0 {
		if tr.Ref, err = r.reference(); err != nil {
			return err
		}
	}
	if o.GProbe && !r.state.Probed {
		n, err := tr.Probe()
		if err != nil {
			return err
		}
		// The probe's rollouts are the same for every arm of an
		// experiment, so they are counted apart from the training budget
		// and kept out of the first step's figures.
		led.flush(rl.Metrics{}, tr.Cls.NumBins())
		r.state.Probed = true
		r.state.ProbeSpent += n
	}
	metricsPath := filepath.Join(r.dir, "metrics.jsonl")
	history, err := readMetrics(metricsPath, tr.Step)
	if err != nil {
		return err
	}
	mf, err := os.Create(metricsPath)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer mf.Close()
	mw := bufio.NewWriter(mf)
	for _, h := range history {
		writeMetrics(mw, h)
	}
	mw.Flush()
	algo := o.Algo
	r.logf("GRPO: %d steps x %d prompts x %d rollouts, %d minibatches, lr %g, clip %.2f/%.2f, algo %s, classifier %d bins (stat %s)",
		o.Steps, o.Prompts, o.Rollouts, o.Minibatches, o.LR, o.ClipLow, o.ClipHigh, algo, tr.Cls.NumBins(), o.GStat)
	budget := o.RolloutBudget
	if budget > 0 {
		r.logf("GRPO: rollout budget %d (%d spent so far), at most %d steps", budget, r.state.Spent, o.Steps)
	}
	bar := newProgress(r.out, "GRPO", o.Steps)
	if budget > 0 {
		bar = newProgress(r.out, "GRPO", budget)
	}
	lastSaved := -1
	if r.state.RL != nil {
		lastSaved = r.state.RL.Step
	}
	save := func() error {
		if lastSaved == tr.Step {
			return nil // the latest checkpoint is this step already
		}
		lastSaved = tr.Step
		st, err := tr.State()
		if err != nil {
			return err
		}
		r.state.RL = &st
		r.state.Phase = "rl"
		return r.checkpoint(fmt.Sprintf("checkpoint-rl-%d", tr.Step), opt)
	}
	for tr.Step < o.Steps && (budget == 0 || r.state.Spent < budget) {
		if ctx.Err() != nil || r.o.stopAt("rl", tr.Step) {
			bar.done()
			r.logf("interrupted: saving a checkpoint at GRPO step %d", tr.Step)
			mw.Flush()
			return save()
		}
		mt, err := tr.TrainStep()
		if err != nil {
			return err
		}
		r.state.Spent += led.flush(mt, tr.Cls.NumBins())
		mt["spent/total"] = float64(r.state.Spent)
		if o.EvalEvery > 0 && tr.Step%o.EvalEvery == 0 && tr.Step < o.Steps && len(w.heldOut) > 0 {
			bar.done()
			res, err := r.evaluate(fmt.Sprintf("at step %d", tr.Step))
			if err != nil {
				return err
			}
			addEvalMetrics(mt, res, o.EvalSamples, "eval/")
		}
		history = append(history, mt)
		writeMetrics(mw, mt)
		mw.Flush()
		done := tr.Step
		if budget > 0 {
			done = min(r.state.Spent, budget)
		}
		bar.update(done, fmt.Sprintf("reward %+.3f  acc %.3f  gen %.0f tok/s  train %.0f tok/s", mt["reward"], mt["accuracy"], mt["throughput/gen_tok_s"], mt["throughput/train_tok_s"]))
		if o.SaveEvery > 0 && tr.Step%o.SaveEvery == 0 && tr.Step < o.Steps && (budget == 0 || r.state.Spent < budget) {
			if err := save(); err != nil {
				return err
			}
		}
	}
	bar.done()
	if err := save(); err != nil {
		return err
	}
	// Final evaluation, reports, and the final model at the top of the run
	// directory in the Hugging Face layout.
	var after []rl.PromptResult
	if len(w.heldOut) > 0 {
		if after, err = r.evaluate("after GRPO"); err != nil {
			return err
		}
		final := Metrics(history)
		if len(final) > 0 {
			addEvalMetrics(final[len(final)-1], after, o.EvalSamples, "eval/")
		}
		r.logf("GRPO: %d steps, %d training rollouts generated (and %d in the probe pass)", tr.Step, r.state.Spent, r.state.ProbeSpent)
		if err := r.report(r.state.SFTEval, after, tr.Cls.Config().Edges); err != nil {
			return err
		}
	}
	plotted := history
	if r.state.SFTEval != nil {
		// The evaluation after SFT, drawn at step 0.
		start := rl.Metrics{"step": 0}
		addEvalMetrics(start, r.state.SFTEval, o.EvalSamples, "eval/")
		plotted = append([]rl.Metrics{start}, history...)
	}
	if err := writePlot(filepath.Join(r.dir, "curves.png"), plotted, tr.Cls.NumBins(), algo); err != nil {
		r.logf("plot: %v", err)
	} else {
		r.logf("plot %s", filepath.Join(r.dir, "curves.png"))
	}
	if err := r.saveFinal(); err != nil {
		return err
	}
	return nil
}

// Metrics is the step metrics history.
type Metrics = []rl.Metrics

// reference returns the frozen KL reference: the policy at the start of RL,
// saved once in the run directory so that a resumed run uses the same one.
func (r *runner) reference() (*model.Model, error) {
	dir := filepath.Join(r.dir, "reference")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		if err := r.w.m.Save(dir, weights.F32); err != nil {
			return nil, err
		}
	}
	return model.Load(dir, r.w.m.B)
}

// saveFinal writes the final model into the run directory itself (Hugging
// Face layout), each file atomically.
func (r *runner) saveFinal() error {
	if err := r.w.m.Save(r.dir, r.dtype); err != nil {
		return err
	}
	for name, data := range r.w.files {
		if err := weights.WriteFileAtomic(filepath.Join(r.dir, name), data, 0o644); err != nil {
			return err
		}
	}
	r.logf("final model %s (Hugging Face layout)", r.dir)
	return nil
}

// readMetrics reads metrics.jsonl, keeping the steps up to step (a resumed
// run rewrites the steps after its checkpoint); a missing file is no steps.
func readMetrics(path string, step int) ([]rl.Metrics, error) {
	all, err := ReadMetrics(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := all[:0]
	for _, m := range all {
		if int(m["step"]) <= step {
			out = append(out, m)
		}
	}
	return out, nil
}

// ReadMetrics reads a run's metrics.jsonl, one rl.Metrics per line; a line
// that is not a JSON object is an error naming the file and the line.
func ReadMetrics(path string) ([]rl.Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rl.Metrics
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var m rl.Metrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// writeMetrics writes one JSON line (keys sorted by encoding/json);
// non-finite values, which JSON cannot hold, are left out.
func writeMetrics(w io.Writer, m rl.Metrics) {
	clean := make(rl.Metrics, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			clean[k] = v
		}
	}
	b, _ := json.Marshal(clean)
	w.Write(append(b, '\n'))
}
