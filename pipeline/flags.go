package pipeline

import (
	"flag"
	"fmt"
	"github.com/frontier-rl/frontier/collective"
	"io"
	"strconv"
	"strings"
)

// Options holds every flag. Field tags name the flag; a resumed run takes
// the values saved in its checkpoint for every flag not given again.
type Options struct {
	Name    string
	Out     string
	Seed    uint64
	Device  string
	Threads int
	Profile string
	Resume  string

	ModelDir  string
	Data      string
	EvalData  string
	Thinking  bool
	BoxedOK   bool
	SaveDType string

	// Tiny model (built-in experiment).
	Layers, Hidden, Heads, KVHeads, HeadDim, Intermediate, Vocab int
	Families                                                     string
	Pool, HeldOutPerCell                                         int
	TeacherError, TeacherMode                                    string

	// SFT.
	SFTSteps, SFTBatch, SFTWarmup int
	SFTLR                         float64

	// RL.
	Algo                                  string
	Steps, Prompts, Rollouts, Minibatches int
	PPOEpochs                             int
	DAPORounds                            int
	LR, ClipLow, ClipHigh, KL, AdvClip    float64
	LogRatioClamp, KLClamp, DualClip      float64
	DrGRPO                                bool
	Temperature, TopP                     float64
	TopK, MaxNew                          int
	Reward                                string
	SaveEvery, Keep                       int
	RolloutBudget                         int
	GradShards                            int // data parallel: gradient shards per minibatch (0 = off)

	// GDRO.
	GBins                              int
	GEdges                             string
	GWindow                            int
	GHyst                              float64
	GStat                              string
	GK                                 int
	GEta, GGamma, GBeta, GWMax, GClip  float64
	GFloor                             float64
	GNormShare                         bool
	GSignal, GArmSign                  string
	GNMin, GNMax                       int
	GArmEta, GArmGamma, GAlphaMu, GSqB float64
	GProbe                             bool

	// Evaluation.
	EvalSamples          int
	EvalTemp, EvalTopP   float64
	EvalTopK, EvalMaxNew int
	EvalEvery            int
	EvalGreedy           bool

	// Shared SFT (cmd/experiment): stop after SFT, or start RL from a
	// model whose after-SFT evaluation is in a file.
	SFTOnly  bool
	BaseEval string

	// Comm is the data-parallel world, set by the command (nil: one
	// process); see JoinWorld.
	Comm collective.Comm

	set map[string]bool // flags given on the command line
	fs  *flag.FlagSet   // the flags, bound to the fields above

	// interruptAt, when set (by tests), acts like a SIGINT before the given
	// step of a phase ("sft" or "rl").
	interruptAt func(phase string, step int) bool
}

// stopAt reports whether the run should stop before step of phase as if
// interrupted.
func (o *Options) stopAt(phase string, step int) bool {
	return o.interruptAt != nil && o.interruptAt(phase, step)
}

func newFlagSet(o *Options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.Name, "name", "", "run name: the run directory is OUT/NAME (default: <algo>-seed<seed>, with a numeric suffix if taken)")
	fs.StringVar(&o.Out, "out", "runs", "parent directory of run directories")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of everything: data, initialisation, sampling")
	fs.StringVar(&o.Device, "device", "cpu", "backend: cpu or cuda (cuda needs a binary built with -tags cuda)")
	fs.IntVar(&o.Threads, "threads", 0, "CPU threads (0 = all cores)")
	fs.StringVar(&o.Profile, "profile", "", "write a profile into the run directory: cpu or mem")
	fs.StringVar(&o.Resume, "resume", "", "continue the run in this run directory from its latest checkpoint")

	fs.StringVar(&o.ModelDir, "model", "", "Hugging Face Qwen3 directory to train (config.json, model.safetensors, tokenizer.json); default: a tiny model built here")
	fs.StringVar(&o.Data, "data", "", "DAPO-format training data (.jsonl or .parquet with prompt and solution); default: the built-in tasks")
	fs.StringVar(&o.EvalData, "eval-data", "", "DAPO-format held-out data for the evaluation (with -data)")
	fs.BoolVar(&o.Thinking, "thinking", true, "with -model: Qwen3 chat template with thinking enabled (false prefills an empty think block)")
	fs.BoolVar(&o.BoxedOK, "accept-boxed", true, "with -data: also accept a \\boxed{} answer when no 'Answer:' line is found")
	fs.StringVar(&o.SaveDType, "save-dtype", "f32", "dtype of saved weights: f32 (exact resume) or bf16")

	fs.IntVar(&o.Layers, "layers", 2, "tiny model: decoder layers")
	fs.IntVar(&o.Hidden, "hidden", 128, "tiny model: hidden size")
	fs.IntVar(&o.Heads, "heads", 4, "tiny model: attention heads")
	fs.IntVar(&o.KVHeads, "kv-heads", 2, "tiny model: key/value heads")
	fs.IntVar(&o.HeadDim, "head-dim", 32, "tiny model: head dimension")
	fs.IntVar(&o.Intermediate, "intermediate", 384, "tiny model: MLP intermediate size")
	fs.IntVar(&o.Vocab, "vocab", 300, "tiny model: BPE vocabulary size to train (at least 259)")
	fs.StringVar(&o.Families, "families", "sort,add", "built-in task families (sort, chain, count, sub, add)")
	fs.IntVar(&o.Pool, "pool", 1024, "built-in training pool size (prompts revisited in epochs)")
	fs.IntVar(&o.HeldOutPerCell, "heldout", 64, "built-in held-out prompts per family x level (0 = no held-out evaluation)")
	fs.StringVar(&o.TeacherError, "teacher-error", "0.2", "SFT teacher's error rate: s (level L's answers wrong in the last digit with probability min(1, s x L)) or per-level list p1,p2,...; 0 = exact answers")
	fs.StringVar(&o.TeacherMode, "teacher-mode", "sample", "teacher errors drawn per sample, or fixed per prompt")

	fs.IntVar(&o.SFTSteps, "sft-steps", 600, "SFT warm-start steps (built-in tasks; 0 with -model)")
	fs.IntVar(&o.SFTBatch, "sft-batch", 64, "SFT sequences per step")
	fs.IntVar(&o.SFTWarmup, "sft-warmup", 50, "SFT warm-up steps (then cosine to 10%)")
	fs.Float64Var(&o.SFTLR, "sft-lr", 3e-3, "SFT peak learning rate")

	fs.StringVar(&o.Algo, "algo", "prompt-gdro", "grpo, dapo (GRPO with DAPO's dynamic sampling), prompt-gdro, rollout-gdro, sqrt or both (prompt-gdro + rollout-gdro)")
	fs.IntVar(&o.DAPORounds, "dapo-rounds", 3, "-algo dapo: most extra generation rounds per step to refill the groups whose rewards are all equal")
	fs.IntVar(&o.Steps, "steps", 200, "GRPO steps")
	fs.IntVar(&o.Prompts, "prompts", 32, "prompts per GRPO step (N)")
	fs.IntVar(&o.Rollouts, "rollouts", 8, "rollouts per prompt (n, the mean budget under a rollout controller)")
	fs.IntVar(&o.Minibatches, "minibatches", 4, "PPO minibatches per step")
	fs.IntVar(&o.GradShards, "grad-shards", 0, "data parallel: gradient shards per PPO minibatch, a multiple of the MPI ranks (0 = off on one process); W ranks equal 1 rank with the same value, bit for bit")
	fs.IntVar(&o.PPOEpochs, "ppo-epochs", 1, "PPO epochs per step")
	fs.Float64Var(&o.LR, "lr", 5e-5, "GRPO learning rate (AdamW, constant)")
	fs.Float64Var(&o.ClipLow, "clip-low", 0.2, "PPO ratio clip below (1-eps_low)")
	fs.Float64Var(&o.ClipHigh, "clip-high", 0.28, "PPO ratio clip above (1+eps_high, DAPO clip-higher)")
	fs.Float64Var(&o.KL, "kl", 0.001, "k3 KL coefficient to the frozen starting policy (0 = off; the released GDRO scripts use 0.001)")
	fs.Float64Var(&o.LogRatioClamp, "logratio-clamp", 20, "clamp the log-ratios to +-this before exp (0 = off; verl: 20)")
	fs.Float64Var(&o.KLClamp, "kl-clamp", 10, "clamp each token's k3 KL value to +-this (0 = off; verl: 10)")
	fs.Float64Var(&o.DualClip, "dual-clip", 3, "dual-clip PPO: a token with a negative advantage A costs at most -A*c (0 = off; verl: 3)")
	fs.Float64Var(&o.AdvClip, "adv-clip", 5, "advantages are clipped to +-this")
	fs.BoolVar(&o.DrGRPO, "dr-grpo", false, "mean-only advantages (Dr.GRPO) instead of z-scores")
	fs.Float64Var(&o.Temperature, "temperature", 1, "rollout temperature")
	fs.Float64Var(&o.TopP, "top-p", 1, "rollout top-p (1 = off)")
	fs.IntVar(&o.TopK, "top-k", 0, "rollout top-k (0 = off)")
	fs.IntVar(&o.MaxNew, "max-new", 0, "most tokens per completion (0: 12 for built-in tasks, 1024 with -data)")
	fs.StringVar(&o.Reward, "reward", "pm1", "reward convention: pm1 (+1/-1) or 01")
	fs.IntVar(&o.RolloutBudget, "rollout-budget", 0, "stop GRPO once its steps have generated this many rollouts (0 = no limit; -steps stays the cap; the probe pass is not counted)")
	fs.IntVar(&o.SaveEvery, "save-every", 32, "checkpoint every this many GRPO steps (and at the end)")
	fs.IntVar(&o.Keep, "keep", 2, "checkpoints kept in the run directory")

	fs.IntVar(&o.GBins, "gdro-bins", 10, "difficulty bins (uniform edges), ignored when -gdro-edges is set")
	fs.StringVar(&o.GEdges, "gdro-edges", "", "comma-separated interior bin edges, e.g. 0.1,0.5,0.9 (built-in tasks without -gdro-bins: 0.25,0.5,0.75)")
	fs.IntVar(&o.GWindow, "gdro-window", 50, "classifier window H in steps (0 = whole history)")
	fs.Float64Var(&o.GHyst, "gdro-hysteresis", 0.03, "classifier hysteresis delta (default 0.03 for Prompt-GDRO runs, 0 for rollout-gdro and sqrt, as in the released code)")
	fs.StringVar(&o.GStat, "gdro-stat", "any", "classifier statistic per step: any, mean or passk (built-in tasks: mean)")
	fs.IntVar(&o.GK, "gdro-k", 2, "k of -gdro-stat=passk")
	fs.Float64Var(&o.GEta, "gdro-eta", 0.65, "Prompt-GDRO step size eta_q")
	fs.Float64Var(&o.GGamma, "gdro-gamma", 0.01, "Prompt-GDRO exploration gamma")
	fs.Float64Var(&o.GBeta, "gdro-beta", 0.12, "Prompt-GDRO score EMA beta")
	fs.Float64Var(&o.GWMax, "gdro-wmax", 15, "Prompt-GDRO weight cap")
	fs.Float64Var(&o.GClip, "gdro-clip", 5, "Prompt-GDRO score clip C (0 = none)")
	fs.Float64Var(&o.GFloor, "gdro-floor", 0.02, "Prompt-GDRO share-normalisation floor")
	fs.BoolVar(&o.GNormShare, "gdro-norm-share", true, "Prompt-GDRO: divide each bin's loss by its share of the batch")
	fs.StringVar(&o.GSignal, "gdro-signal", "auto", "GDRO loss signal: loss (per-response surrogate), error (1 - accuracy), variance (squared standard error of the prompt's mean reward; Rollout-GDRO with -gdro-arm-sign paper) or auto (built-in tasks with -algo prompt-gdro: error; otherwise loss with 2+ minibatches, else error)")
	fs.StringVar(&o.GArmSign, "gdro-arm-sign", "code", "Rollout-GDRO arm feedback sign: code (needs -gdro-signal loss: with a signal that is never negative it is fixed allocation) or paper")
	fs.IntVar(&o.GNMin, "gdro-nmin", 2, "Rollout-GDRO / sqrt: fewest rollouts per prompt")
	fs.IntVar(&o.GNMax, "gdro-nmax", 0, "Rollout-GDRO / sqrt: most rollouts per prompt (0 = 3 x rollouts)")
	fs.Float64Var(&o.GArmEta, "gdro-arm-eta", 0.65, "Rollout-GDRO arm softmax step size")
	fs.Float64Var(&o.GArmGamma, "gdro-arm-gamma", 0.01, "Rollout-GDRO arm exploration")
	fs.Float64Var(&o.GAlphaMu, "gdro-alpha-mu", 0.05, "Rollout-GDRO shadow-price step size")
	fs.Float64Var(&o.GSqB, "gdro-sqrt-beta", 0.4, "square-root allocator: variance EMA beta")
	fs.BoolVar(&o.GProbe, "gdro-probe", false, "seed every training prompt's difficulty from one generation pass before RL (built-in tasks: true)")

	fs.IntVar(&o.EvalSamples, "eval-samples", 8, "samples per held-out prompt (pass@k with k = this)")
	fs.Float64Var(&o.EvalTemp, "eval-temperature", 0.6, "evaluation temperature")
	fs.Float64Var(&o.EvalTopP, "eval-top-p", 0.8, "evaluation top-p")
	fs.IntVar(&o.EvalTopK, "eval-top-k", 20, "evaluation top-k")
	fs.IntVar(&o.EvalMaxNew, "eval-max-new", 0, "evaluation length limit (0 = -max-new)")
	fs.IntVar(&o.EvalEvery, "eval-every", 0, "also evaluate every this many GRPO steps (0 = only after SFT and after RL)")
	fs.BoolVar(&o.EvalGreedy, "eval-greedy", true, "also score one greedy completion per held-out prompt")
	fs.BoolVar(&o.SFTOnly, "sft-only", false, "stop after SFT and its evaluation; the run directory then holds the SFT model (for -model) and eval.json (for -base-eval)")
	fs.StringVar(&o.BaseEval, "base-eval", "", "with -model: the eval.json of the -sft-only run that trained the model, used as the after-SFT evaluation instead of evaluating again")
	return fs
}

// ParseFlags parses args into Options and records which flags were set.
func ParseFlags(args []string, out io.Writer) (*Options, error) {
	o := &Options{}
	fs := newFlagSet(o, out)
	if err := fs.Parse(args); err != nil {
		return nil, ExplainFlagError(fs, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (every setting is a -flag; see -h)", fs.Args())
	}
	o.set = map[string]bool{}
	o.fs = fs
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return o, nil
}

// values returns every flag's value as text (for trainer_state.json).
func (o *Options) values() map[string]string {
	out := map[string]string{}
	o.fs.VisitAll(func(f *flag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

// applySaved sets every flag not given on the command line from a saved run's
// values, so that a resumed run continues with the same settings.
func (o *Options) applySaved(saved map[string]string) error {
	var err error
	o.fs.VisitAll(func(f *flag.Flag) {
		v, ok := saved[f.Name]
		if !ok || o.set[f.Name] || f.Name == "resume" || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("checkpoint flag -%s=%q: %w", f.Name, v, e)
		}
	})
	return err
}

// edges returns the classifier's interior bin edges.
func (o *Options) edges() ([]float64, error) {
	if o.GEdges == "" {
		if o.GBins < 1 {
			return nil, fmt.Errorf("-gdro-bins %d: need at least 1", o.GBins)
		}
		e := make([]float64, o.GBins-1)
		for i := range e {
			e[i] = float64(i+1) / float64(o.GBins)
		}
		return e, nil
	}
	var e []float64
	for _, s := range strings.Split(o.GEdges, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("-gdro-edges %q: %q is not a number: give comma-separated edges between 0 and 1, e.g. 0.25,0.5,0.75", o.GEdges, s)
		}
		e = append(e, v)
	}
	return e, nil
}

// IsSet reports whether the flag name was given on the command line.
func (o *Options) IsSet(name string) bool { return o.set[name] }

// ExplainFlagError adds to a flag's parse error what the flag takes: the
// flag package says only "parse error" or "value out of range".
func ExplainFlagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid ") {
		return err
	}
	i := strings.LastIndex(msg, " for ")
	if i < 0 {
		return err
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(msg[i+len(" for "):], "flag "), ":")
	name = strings.TrimPrefix(name, "-")
	f := fs.Lookup(name)
	if f == nil {
		return err
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return err
	}
	want := ""
	switch g.Get().(type) {
	case int, int64:
		want = "a whole number such as " + f.DefValue
	case uint, uint64:
		want = "a whole number, 0 or more, such as " + f.DefValue
	case float64:
		want = "a finite number such as " + f.DefValue
	case bool:
		want = "true or false (or the flag alone for true)"
	default:
		return err
	}
	return fmt.Errorf("%s: give %s", msg, want)
}
