package rl

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/tasks"
)

// Item is one prompt of a dataset with its tokens.
type Item struct {
	Ex     tasks.Example
	Prompt []int32 // token ids fed to the model (chat template applied if any)
}

// Env judges completions: it decodes the tokens and asks the verifier.
type Env struct {
	Decode   func(ids []int32) string // token ids to text
	Verifier tasks.Verifier
	EOS      []int32
}

// Correct reports whether a completion answers the item: it must end with an
// EOS id (a truncated completion is wrong) and its text, without the EOS id,
// must pass the verifier. The verifier sees every completion, truncated or
// empty ones too, so a verifier that counts calls counts every rollout.
func (e Env) Correct(it Item, c sample.Completion) bool {
	toks := c.Tokens
	if len(toks) > 0 {
		last := toks[len(toks)-1]
		for _, id := range e.EOS {
			if last == id {
				toks = toks[:len(toks)-1]
				break
			}
		}
	}
	ok := e.Verifier.Correct(it.Ex, e.Decode(toks))
	return ok && !c.Truncated && len(c.Tokens) > 0
}

// Signal names the loss signal the GDRO controllers learn from.
type Signal string

// The loss signals (design note, decisions); gdro defines each.
const (
	// SignalLoss is each response's surrogate loss ℓ (eq. 5), recorded over
	// minibatches 2..M (it is 0 on-policy, so it needs Minibatches >= 2).
	SignalLoss Signal = gdro.SignalLoss
	// SignalError is the error rate (gdro.ErrorLoss): 1 for a wrong
	// response, 0 for a right one, so that a bin's mean is 1 − accuracy.
	SignalError Signal = gdro.SignalError
	// SignalVariance is each response's prompt's squared standard error of
	// the mean reward (gdro.VarianceLoss). With Rollout-GDRO's paper sign it
	// moves rollouts towards the bins with the most reward variance.
	SignalVariance Signal = gdro.SignalVariance
	// SignalAuto is SignalLoss with two or more minibatches, else SignalError.
	SignalAuto Signal = gdro.SignalAuto
)

// Alloc names the rule that gives each bin its rollouts per prompt.
type Alloc string

// The rollout allocators.
const (
	AllocFixed Alloc = "fixed" // n̄ for every prompt
	AllocGDRO  Alloc = "gdro"  // Rollout-GDRO (design note section 5)
	AllocSqrt  Alloc = "sqrt"  // the square-root law (section 5.1)
)

// Config holds every setting of the GRPO step (design note sections 2-6).
type Config struct {
	Seed           uint64
	PromptsPerStep int // N
	Rollouts       int // n̄: rollouts per prompt (the mean budget under a rollout controller)
	Minibatches    int // PPO minibatches per step (split by prompt groups)
	PPOEpochs      int
	Loss           LossConfig
	AdvClip        float64 // advantages clipped to ±AdvClip (5)
	MeanOnly       bool    // Dr.GRPO: advantages without the std division
	Reward         string  // tasks.RewardPM1 (+1/−1) or tasks.Reward01
	Sample         sample.Config

	// PromptGDRO reweights advantages by bin (section 4).
	PromptGDRO bool
	Prompt     gdro.PromptConfig
	// Signal is Prompt-GDRO's (and Rollout-GDRO's) loss signal.
	Signal Signal
	// Alloc chooses each bin's rollout count.
	Alloc      Alloc
	RolloutCfg gdro.RolloutConfig
	SqrtCfg    gdro.SqrtConfig
	Classifier gdro.ClassifierConfig
	Stat       string // classifier statistic: gdro.StatAny, gdro.StatMean or gdro.StatPassK
	StatK      int    // k for gdro.StatPassK

	// DynamicSampling is DAPO's dynamic sampling (arXiv:2503.14476, design
	// note section 6): a group whose rewards are all equal (all right or all
	// wrong) carries no GRPO gradient and is dropped; the step then draws N
	// more prompts from the pool and generates them, for at most ExtraRounds
	// more rounds, until N groups remain, and trains on the first N kept
	// groups (or on all there are). Every generated rollout counts
	// (RolloutsGenerated). It needs AllocFixed.
	DynamicSampling bool
	ExtraRounds     int // most extra generation rounds per step under DynamicSampling (3)
}

// DefaultConfig returns the paper's GRPO settings where they apply (clip
// 0.2/0.28, advantages clipped to ±5, token-mean loss, the k3 KL term with
// β = 0.001 as in the released scripts, n̄ = 4, reward ±1, temperature 1),
// verl's safety options (log-ratio clamp 20, KL value clamp 10, dual-clip
// c = 3), and Prompt-GDRO off. The KL term needs Trainer.Ref.
func DefaultConfig() Config {
	return Config{
		Seed: 1, PromptsPerStep: 256, Rollouts: 4, Minibatches: 2, PPOEpochs: 1,
		Loss: LossConfig{ClipLow: 0.2, ClipHigh: 0.28, KLCoef: 0.001,
			LogRatioClamp: 20, KLClamp: 10, DualClip: 3},
		AdvClip: 5, Reward: tasks.RewardPM1,
		Sample: sample.Config{Temperature: 1, MaxNew: 4096},
		Prompt: gdro.DefaultPromptConfig(), Signal: SignalAuto,
		Alloc: AllocFixed, RolloutCfg: gdro.DefaultRolloutConfig(), SqrtCfg: gdro.DefaultSqrtConfig(),
		Classifier: gdro.DefaultClassifierConfig(), Stat: gdro.StatAny, StatK: 2,
		ExtraRounds: 3,
	}
}

// Trainer runs GRPO steps on a model. Its State (with the model's weights
// and the optimizer's moments) is everything a resumed run needs.
type Trainer struct {
	Cfg   Config
	M     *model.Model
	Ref   *model.Model // frozen reference for the KL term; nil without KL
	Opt   *optim.AdamW
	Data  []Item
	Env   Env
	Step  int // steps completed
	Log   func(format string, args ...any)
	Cls   *gdro.Classifier
	PG    *gdro.PromptGDRO
	RG    *gdro.RolloutGDRO
	Sqrt  *gdro.SqrtAllocator
	saidF bool          // the fallback-signal notice was logged
	dp    *dataParallel // nil: one process, the default path

	pos       int // prompts taken from the pool so far
	generated int // rollouts generated by the training steps so far
	permEpoch int
	perm      []int
}

// Validate checks the settings, the classifier's and controllers' included;
// it needs no model or data, so a caller can check flags before any work.
func (cfg Config) Validate() error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := (&Trainer{Cfg: cfg}).newControllers(); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	return nil
}

// validate checks the settings that do not depend on the model or data.
func (cfg Config) validate() error {
	if cfg.PromptsPerStep < 1 || cfg.Rollouts < 1 || cfg.Minibatches < 1 || cfg.PPOEpochs < 1 {
		return fmt.Errorf("rl: prompts per step (%d), rollouts (%d), minibatches (%d) and PPO epochs (%d) must be >= 1", cfg.PromptsPerStep, cfg.Rollouts, cfg.Minibatches, cfg.PPOEpochs)
	}
	if cfg.Minibatches > cfg.PromptsPerStep {
		return fmt.Errorf("rl: %d minibatches for %d prompts per step: use at most one minibatch per prompt", cfg.Minibatches, cfg.PromptsPerStep)
	}
	if err := tasks.CheckRewardConvention(cfg.Reward); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	if _, err := gdro.ResolveSignal(string(cfg.Signal), cfg.Minibatches); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	if cfg.Alloc == AllocGDRO {
		// The code's arm sign with a signal that is never negative would be
		// fixed allocation, silently.
		if err := gdro.CheckRolloutSignal(cfg.RolloutCfg.Sign, string(cfg.Signal), cfg.Minibatches); err != nil {
			return fmt.Errorf("rl: %w", err)
		}
	}
	if err := cfg.Loss.validate(); err != nil {
		return err
	}
	if _, err := gdro.StepStat(cfg.Stat, 2, 1, max(cfg.StatK, 1)); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	switch cfg.Alloc {
	case AllocFixed, AllocGDRO, AllocSqrt:
	default:
		return fmt.Errorf("rl: rollout allocation %q: use %s, %s or %s", cfg.Alloc, AllocFixed, AllocGDRO, AllocSqrt)
	}
	if cfg.DynamicSampling && cfg.Alloc != AllocFixed {
		return fmt.Errorf("rl: dynamic sampling (-algo dapo) draws a fixed n̄ rollouts per prompt; it cannot run with the %s rollout allocator", cfg.Alloc)
	}
	if cfg.ExtraRounds < 0 {
		return fmt.Errorf("rl: %d extra generation rounds (-dapo-rounds): want >= 0", cfg.ExtraRounds)
	}
	return nil
}

// NewTrainer checks the config and builds the controllers it asks for.
func NewTrainer(cfg Config, m *model.Model, opt *optim.AdamW, data []Item, env Env) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("rl: the training set is empty")
	}
	t := &Trainer{Cfg: cfg, M: m, Opt: opt, Data: data, Env: env, Log: func(string, ...any) {}, permEpoch: -1}
	if err := t.newControllers(); err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	return t, nil
}

// newControllers builds the classifier and the controllers cfg asks for.
func (t *Trainer) newControllers() error {
	cfg := t.Cfg
	var err error
	if t.Cls, err = gdro.NewClassifier(cfg.Classifier); err != nil {
		return err
	}
	B := t.Cls.NumBins()
	if cfg.PromptGDRO {
		if t.PG, err = gdro.NewPromptGDRO(cfg.Prompt, B); err != nil {
			return err
		}
	}
	switch cfg.Alloc {
	case AllocGDRO:
		rc := cfg.RolloutCfg
		rc.NBar = cfg.Rollouts
		t.RG, err = gdro.NewRolloutGDRO(rc, B)
	case AllocSqrt:
		sc := cfg.SqrtCfg
		sc.NBar = cfg.Rollouts
		t.Sqrt, err = gdro.NewSqrtAllocator(sc, B)
	}
	return err
}

// signal returns the loss signal in use this step.
func (t *Trainer) signal() Signal {
	used, _ := gdro.ResolveSignal(string(t.Cfg.Signal), t.Cfg.Minibatches) // checked by NewTrainer
	if t.Cfg.Signal == SignalAuto && used == gdro.SignalError && !t.saidF && (t.PG != nil || t.RG != nil) {
		t.Log("gdro: one minibatch per step, so the surrogate signal is 0 on-policy: using the error-rate signal (1 - accuracy)")
		t.saidF = true
	}
	return Signal(used)
}

// poolIndices returns the pool indices of the next n prompts and advances
// the pool position: the pool is visited in epochs, each a permutation
// seeded by (seed, epoch).
func (t *Trainer) poolIndices(n int) []int {
	L := len(t.Data)
	out := make([]int, n)
	for i := range out {
		g := t.pos + i
		e := g / L
		if e != t.permEpoch {
			r := rand.New(rand.NewPCG(t.Cfg.Seed, uint64(e)+0x5851f42d4c957f2d))
			t.perm = r.Perm(L)
			t.permEpoch = e
		}
		out[i] = t.perm[g%L]
	}
	t.pos += n
	return out
}

// TrainStep runs one GRPO step and returns its metrics. Each stage works on
// one batch value that carries every rollout's row (see batch).
func (t *Trainer) TrainStep() (Metrics, error) {
	start := time.Now()
	b := t.newBatch(t.poolIndices(t.Cfg.PromptsPerStep), t.Step, 0)
	stages := []struct {
		name string
		run  func(*batch) error
	}{
		{"classify", t.classify},
		{"allocate", t.allocate},
		{"generate", t.generate},
		{"score", t.score},
		{"refill", t.refill},
		{"weigh", t.weigh},
		{"update", t.update},
		{"observe", t.observe},
	}
	for _, s := range stages {
		if err := s.run(b); err != nil {
			return nil, fmt.Errorf("rl: step %d: %s: %w", t.Step+1, s.name, err)
		}
	}
	t.Step++
	t.generated += b.gen.rollouts
	return t.metrics(b, time.Since(start)), nil
}

// RolloutsGenerated returns the rollouts the training steps have generated
// so far, dropped ones included (not the probe pass's): what a run to a
// rollout budget spends.
func (t *Trainer) RolloutsGenerated() int { return t.generated }
