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
	Probed  bool              `json:"probed,omitempty"`
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
}

// Run performs the run that o describes (or resumes the one in o.Resume),
// writing progress lines and reports to out. Cancelling ctx saves a
// checkpoint and returns nil.
func Run(ctx context.Context, o *Options, out io.Writer) error {
	r := &runner{o: o, out: out}
	r.logf = func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	var from string
	if o.Resume != "" {
		ck, err := rl.LatestCheckpoint(o.Resume)
		if err != nil {
			return err
		}
		if err := rl.LoadState(ck, &r.state); err != nil {
			return err
		}
		if err := o.applySaved(r.state.Flags); err != nil {
			return err
		}
		r.dir, from = o.Resume, ck
		r.logf("resuming %s from %s (phase %s, SFT step %d, GRPO step %d)", o.Resume, filepath.Base(ck), r.state.Phase, r.state.SFTStep, r.rlStep())
	}
	switch strings.ToLower(o.SaveDType) {
	case "f32":
		r.dtype = weights.F32
	case "bf16":
		r.dtype = weights.BF16
	default:
		return fmt.Errorf("-save-dtype %q: use f32 or bf16", o.SaveDType)
	}
	if o.Data != "" && o.ModelDir == "" && from == "" {
		return fmt.Errorf("-data needs -model DIR (a Qwen3 directory with its tokenizer.json)")
	}
	if o.ModelDir != "" && !o.set["sft-steps"] && o.Resume == "" {
		o.SFTSteps = 0
	}
	if !o.set["gdro-hysteresis"] && o.Resume == "" && (o.Algo == "rollout-gdro" || o.Algo == "sqrt") {
		o.GHyst = 0 // the released code's Rollout-GDRO runs use no hysteresis
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
	b, err := device.New(o.Device, o.Threads)
	if err != nil {
		return err
	}
	// Build everything before creating the run directory, so bad input
	// leaves nothing behind.
	w, err := buildWorld(o, b, from)
	if err != nil {
		return err
	}
	r.w = w
	// Check the remaining settings too before anything is written.
	if _, err := r.rlConfig(); err != nil {
		return err
	}
	if o.SFTSteps > 0 {
		sched := optim.Schedule{Kind: "cosine", Warmup: o.SFTWarmup, Total: o.SFTSteps, MinRatio: 0.1}
		if err := sched.Validate(); err != nil {
			return fmt.Errorf("SFT: %w (set -sft-warmup below -sft-steps)", err)
		}
	}
	if r.dir == "" {
		if r.dir, err = newRunDir(o); err != nil {
			return err
		}
		r.state = runState{Phase: "sft", Seed: o.Seed}
	}
	r.state.Flags = o.values()
	switch o.Profile {
	case "":
	case "cpu":
		defer profile.Start(profile.CPUProfile, profile.ProfilePath(r.dir), profile.Quiet).Stop()
	case "mem":
		defer profile.Start(profile.MemProfile, profile.ProfilePath(r.dir), profile.Quiet).Stop()
	default:
		return fmt.Errorf("-profile %q: use cpu or mem", o.Profile)
	}
	r.logf("run directory %s", r.dir)
	r.logf("model: %d layers, hidden %d, %d heads / %d KV heads, vocab %d: %.2fM parameters on %s",
		w.m.Config.NumHiddenLayers, w.m.Config.HiddenSize, w.m.Config.NumAttentionHeads, w.m.Config.NumKeyValueHeads,
		w.m.Config.VocabSize, float64(w.m.NumParams())/1e6, b.Name())
	r.logf("data: %d training prompts, %d held-out prompts", len(w.train), len(w.heldOut))

	if r.state.Phase == "sft" {
		stopped, err := r.sft(ctx)
		if err != nil || stopped {
			return err
		}
	}
	if r.state.SFTEval == nil && len(w.heldOut) > 0 {
		res, err := r.evaluate("after SFT")
		if err != nil {
			return err
		}
		r.state.SFTEval = res
	}
	if err := r.grpo(ctx, from); err != nil {
		return err
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
			ex := builtin.SFTExample(rng)
			ans := append(toInt32(w.tok.Encode(ex.Answer)), w.eos[0])
			batch[i] = rl.SFTExample{Prompt: toInt32(w.tok.Encode(ex.Prompt)), Answer: ans}
			tokens += len(batch[i].Prompt) + len(ans)
		}
		lr := opt.LR()
		loss, gn, err := rl.SFTStep(w.m, opt, batch)
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

// evalConfig is the held-out evaluation's sampling setup.
func (r *runner) evalConfig() rl.EvalConfig {
	o := r.o
	return rl.EvalConfig{Samples: o.EvalSamples, Greedy: o.EvalGreedy, Seed: o.Seed,
		Sample: sample.Config{Temperature: o.EvalTemp, TopP: o.EvalTopP, TopK: o.EvalTopK, MaxNew: o.EvalMaxNew, EOS: r.w.eos}}
}

// evaluate runs the held-out evaluation and prints its summary.
func (r *runner) evaluate(label string) ([]rl.PromptResult, error) {
	start := time.Now()
	res, err := rl.Evaluate(r.w.m, r.w.heldOut, r.w.env, r.evalConfig())
	if err != nil {
		return nil, err
	}
	s := rl.Summarize(res, r.o.EvalSamples)
	r.logf("eval %s: pass@1 %.3f  pass@%d %.3f  mean@%d %.3f  greedy %.3f  (%d prompts, %.1fs)",
		label, s.Pass1, r.o.EvalSamples, s.PassK, r.o.EvalSamples, s.MeanK, s.Greedy, s.Prompts, time.Since(start).Seconds())
	return res, nil
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
	cfg.Loss = rl.LossConfig{ClipLow: o.ClipLow, ClipHigh: o.ClipHigh, KLCoef: o.KL}
	cfg.AdvClip, cfg.MeanOnly, cfg.Reward = o.AdvClip, o.DrGRPO, o.Reward
	cfg.Sample = sample.Config{Temperature: o.Temperature, TopP: o.TopP, TopK: o.TopK, MaxNew: o.MaxNew, EOS: r.w.eos}
	switch o.Algo {
	case "grpo":
	case "prompt-gdro":
		cfg.PromptGDRO = true
	case "rollout-gdro":
		cfg.Alloc = "gdro"
	case "sqrt":
		cfg.Alloc = "sqrt"
	case "both":
		cfg.PromptGDRO, cfg.Alloc = true, "gdro"
	default:
		return cfg, fmt.Errorf("-algo %q: use grpo, prompt-gdro, rollout-gdro, sqrt or both", o.Algo)
	}
	cfg.Prompt = gdro.PromptConfig{Eta: o.GEta, Gamma: o.GGamma, Beta: o.GBeta, WMax: o.GWMax, Clip: o.GClip, Floor: o.GFloor, NormShare: o.GNormShare}
	cfg.Signal = o.GSignal
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
	return cfg, nil
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
	tr, err := rl.NewTrainer(cfg, w.m, opt, w.train, w.env)
	if err != nil {
		return err
	}
	tr.Log = r.logf
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
		if err := r.probe(tr); err != nil {
			return err
		}
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
	bar := newProgress(r.out, "GRPO", o.Steps)
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
	for tr.Step < o.Steps {
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
		bar.update(tr.Step, fmt.Sprintf("reward %+.3f  acc %.3f  gen %.0f tok/s  train %.0f tok/s", mt["reward"], mt["accuracy"], mt["throughput/gen_tok_s"], mt["throughput/train_tok_s"]))
		if o.SaveEvery > 0 && tr.Step%o.SaveEvery == 0 && tr.Step < o.Steps {
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

// probe seeds the classifier from one generation pass over the pool.
func (r *runner) probe(tr *rl.Trainer) error {
	start := time.Now()
	var reqs []sample.Request
	for i, it := range tr.Data {
		seeds := make([]uint64, r.o.Rollouts)
		for j := range seeds {
			seeds[j] = sample.Seed(r.o.Seed, -2, i, j)
		}
		reqs = append(reqs, sample.Request{Prompt: it.Prompt, Seeds: seeds})
	}
	for lo := 0; lo < len(reqs); lo += 64 {
		hi := min(lo+64, len(reqs))
		comps, err := sample.Generate(r.w.m, reqs[lo:hi], tr.Cfg.Sample)
		if err != nil {
			return fmt.Errorf("probe pass: %w", err)
		}
		for i, cs := range comps {
			it := tr.Data[lo+i]
			c := 0
			for _, comp := range cs {
				if r.w.env.Correct(it, comp) {
					c++
				}
			}
			v, err := gdro.StepStat(tr.Cfg.Stat, len(cs), c, max(tr.Cfg.StatK, 1))
			if err != nil {
				return err
			}
			if err := tr.Cls.Observe(it.Ex.ID, v); err != nil {
				return err
			}
		}
	}
	r.state.Probed = true
	r.logf("gdro: probe pass seeded the classifier with %d prompts x %d rollouts (%.1fs)", len(reqs), r.o.Rollouts, time.Since(start).Seconds())
	return nil
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
// run rewrites the steps after its checkpoint).
func readMetrics(path string, step int) ([]rl.Metrics, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
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
		if int(m["step"]) <= step {
			out = append(out, m)
		}
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
