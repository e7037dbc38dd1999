package rl

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
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
// must pass the verifier.
func (e Env) Correct(it Item, c sample.Completion) bool {
	if c.Truncated || len(c.Tokens) == 0 {
		return false
	}
	toks := c.Tokens
	last := toks[len(toks)-1]
	for _, id := range e.EOS {
		if last == id {
			toks = toks[:len(toks)-1]
			break
		}
	}
	return e.Verifier.Correct(it.Ex, e.Decode(toks))
}

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
	Reward         string  // "pm1" (+1/−1) or "01"
	Sample         sample.Config

	// PromptGDRO reweights advantages by bin (section 4).
	PromptGDRO bool
	Prompt     gdro.PromptConfig
	// Signal is Prompt-GDRO's (and Rollout-GDRO's) loss signal: "loss" (the
	// per-response surrogate, needs Minibatches >= 2), "error" (1 − accuracy)
	// or "auto" (loss when Minibatches >= 2, else error).
	Signal string
	// Alloc chooses each bin's rollout count: "fixed" (n̄ for all),
	// "gdro" (Rollout-GDRO, section 5) or "sqrt" (square-root law, 5.1).
	Alloc      string
	RolloutCfg gdro.RolloutConfig
	SqrtCfg    gdro.SqrtConfig
	Classifier gdro.ClassifierConfig
	Stat       string // classifier statistic: "any", "mean" or "passk"
	StatK      int    // k for Stat "passk"
}

// DefaultConfig returns the paper's GRPO settings where they apply (clip
// 0.2/0.28, advantages clipped to ±5, token-mean loss, no KL in the code's
// runs, n̄ = 4, reward ±1, temperature 1), with Prompt-GDRO off.
func DefaultConfig() Config {
	return Config{
		Seed: 1, PromptsPerStep: 256, Rollouts: 4, Minibatches: 2, PPOEpochs: 1,
		Loss:    LossConfig{ClipLow: 0.2, ClipHigh: 0.28},
		AdvClip: 5, Reward: "pm1",
		Sample: sample.Config{Temperature: 1, MaxNew: 4096},
		Prompt: gdro.DefaultPromptConfig(), Signal: "auto",
		Alloc: "fixed", RolloutCfg: gdro.DefaultRolloutConfig(), SqrtCfg: gdro.DefaultSqrtConfig(),
		Classifier: gdro.DefaultClassifierConfig(), Stat: "any", StatK: 2,
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
	saidF bool // the fallback-signal notice was logged

	permEpoch int
	perm      []int
}

// NewTrainer checks the config and builds the controllers it asks for.
func NewTrainer(cfg Config, m *model.Model, opt *optim.AdamW, data []Item, env Env) (*Trainer, error) {
	if cfg.PromptsPerStep < 1 || cfg.Rollouts < 1 || cfg.Minibatches < 1 || cfg.PPOEpochs < 1 {
		return nil, fmt.Errorf("rl: prompts per step (%d), rollouts (%d), minibatches (%d) and PPO epochs (%d) must be >= 1", cfg.PromptsPerStep, cfg.Rollouts, cfg.Minibatches, cfg.PPOEpochs)
	}
	if cfg.Minibatches > cfg.PromptsPerStep {
		return nil, fmt.Errorf("rl: %d minibatches for %d prompts per step: use at most one minibatch per prompt", cfg.Minibatches, cfg.PromptsPerStep)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("rl: the training set is empty")
	}
	if err := tasks.CheckRewardConvention(cfg.Reward); err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	switch cfg.Signal {
	case "auto", "loss", "error":
	default:
		return nil, fmt.Errorf("rl: GDRO signal %q: use loss, error or auto", cfg.Signal)
	}
	if cfg.Signal == "loss" && cfg.Minibatches < 2 {
		return nil, fmt.Errorf("rl: GDRO signal \"loss\" needs at least 2 minibatches (the surrogate is 0 on-policy); use -gdro-signal=error or more minibatches")
	}
	if _, err := gdro.StepStat(cfg.Stat, 2, 1, max(cfg.StatK, 1)); err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	t := &Trainer{Cfg: cfg, M: m, Opt: opt, Data: data, Env: env, Log: func(string, ...any) {}, permEpoch: -1}
	var err error
	if t.Cls, err = gdro.NewClassifier(cfg.Classifier); err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	B := t.Cls.NumBins()
	if cfg.PromptGDRO {
		if t.PG, err = gdro.NewPromptGDRO(cfg.Prompt, B); err != nil {
			return nil, fmt.Errorf("rl: %w", err)
		}
	}
	switch cfg.Alloc {
	case "fixed":
	case "gdro":
		rc := cfg.RolloutCfg
		rc.NBar = cfg.Rollouts
		if t.RG, err = gdro.NewRolloutGDRO(rc, B); err != nil {
			return nil, fmt.Errorf("rl: %w", err)
		}
	case "sqrt":
		sc := cfg.SqrtCfg
		sc.NBar = cfg.Rollouts
		if t.Sqrt, err = gdro.NewSqrtAllocator(sc, B); err != nil {
			return nil, fmt.Errorf("rl: %w", err)
		}
	default:
		return nil, fmt.Errorf("rl: rollout allocation %q: use fixed, gdro or sqrt", cfg.Alloc)
	}
	return t, nil
}

// signal returns the loss signal in use this step.
func (t *Trainer) signal() string {
	if t.Cfg.Signal == "auto" {
		if t.Cfg.Minibatches >= 2 {
			return "loss"
		}
		if !t.saidF && (t.PG != nil || t.RG != nil) {
			t.Log("gdro: one minibatch per step, so the surrogate signal is 0 on-policy: using the error-rate signal (1 - accuracy)")
			t.saidF = true
		}
		return "error"
	}
	return t.Cfg.Signal
}

// batchIndices returns the dataset indices of step's prompts: the pool is
// visited in epochs, each a permutation seeded by (seed, epoch).
func (t *Trainer) batchIndices(step int) []int {
	L, N := len(t.Data), t.Cfg.PromptsPerStep
	out := make([]int, N)
	for i := range out {
		g := step*N + i
		e := g / L
		if e != t.permEpoch {
			r := rand.New(rand.NewPCG(t.Cfg.Seed, uint64(e)+0x5851f42d4c957f2d))
			t.perm = r.Perm(L)
			t.permEpoch = e
		}
		out[i] = t.perm[g%L]
	}
	return out
}

// response is one rollout in a step.
type response struct {
	prompt  int // index in the batch
	comp    sample.Completion
	correct bool
	reward  float64
	adv     float64 // unweighted advantage
	weight  float64 // Prompt-GDRO weight (1 when off)
	bin     int
}

// Metrics of one step, by the names of ARCHITECTURE.md.
type Metrics map[string]float64

// TrainStep runs one GRPO step and returns its metrics.
func (t *Trainer) TrainStep() (Metrics, error) {
	start := time.Now()
	cfg := t.Cfg
	step := t.Step
	idx := t.batchIndices(step)
	N := len(idx)
	B := t.Cls.NumBins()

	// 2. Classify the batch (history up to the previous step).
	bins := make([]int, N)
	counts := map[int]int{}
	for i, d := range idx {
		bins[i] = t.Cls.Bin(t.Data[d].Ex.ID)
		counts[bins[i]]++
	}
	// 3. Rollouts per prompt.
	nOf := make([]int, N)
	var chosen map[int]int
	var err error
	switch {
	case t.RG != nil:
		chosen, err = t.RG.Choose(counts, N)
	case t.Sqrt != nil:
		chosen, err = t.Sqrt.Choose(counts, N)
	}
	if err != nil {
		return nil, fmt.Errorf("rl: step %d: rollout allocation: %w", step+1, err)
	}
	for i := range nOf {
		nOf[i] = cfg.Rollouts
		if chosen != nil {
			nOf[i] = chosen[bins[i]]
		}
	}
	// 4. Generate.
	reqs := make([]sample.Request, N)
	for i, d := range idx {
		seeds := make([]uint64, nOf[i])
		for j := range seeds {
			seeds[j] = sample.Seed(cfg.Seed, step, d, j)
		}
		reqs[i] = sample.Request{Prompt: t.Data[d].Prompt, Seeds: seeds}
	}
	genStart := time.Now()
	comps, err := sample.Generate(t.M, reqs, cfg.Sample)
	if err != nil {
		return nil, fmt.Errorf("rl: step %d: %w", step+1, err)
	}
	genTime := time.Since(genStart)

	// 5-6. Rewards and advantages per group.
	var resps []response
	groupStart := make([]int, N+1)
	correctOf := make([]int, N)
	var genTokens, clippedResp int
	var rewardSum, rewardSq float64
	var zeroStd int
	for i, d := range idx {
		groupStart[i] = len(resps)
		rewards := make([]float64, len(comps[i]))
		for j, c := range comps[i] {
			ok := t.Env.Correct(t.Data[d], c)
			if ok {
				correctOf[i]++
			}
			rewards[j] = tasks.Reward(ok, cfg.Reward)
			rewardSum += rewards[j]
			rewardSq += rewards[j] * rewards[j]
			genTokens += len(c.Tokens)
			if c.Truncated {
				clippedResp++
			}
			resps = append(resps, response{prompt: i, comp: c, correct: ok, reward: rewards[j], weight: 1, bin: bins[i]})
		}
		adv := GroupAdvantages(rewards, cfg.MeanOnly, cfg.AdvClip)
		allSame := true
		for j := range adv {
			resps[groupStart[i]+j].adv = adv[j]
			if rewards[j] != rewards[0] {
				allSame = false
			}
		}
		if allSame {
			zeroStd++
		}
	}
	groupStart[N] = len(resps)
	M := len(resps)
	respBins := make([]int, M)
	for j := range resps {
		respBins[j] = resps[j].bin
	}
	// 7. Prompt-GDRO weights.
	if t.PG != nil {
		w := t.PG.Weights(respBins)
		for j := range resps {
			resps[j].weight = w[j]
		}
	}

	// 8. PPO minibatches.
	trainStart := time.Now()
	respLoss := make([]float64, M)
	for j := range respLoss {
		respLoss[j] = math.NaN()
	}
	var lossSum, clipLow, clipHigh, klSum, entSum, gradNormSum float64
	var entTok, trainTokens, updates int
	lr := t.Opt.LR()
	for epoch := 0; epoch < cfg.PPOEpochs; epoch++ {
		for mb := 0; mb < cfg.Minibatches; mb++ {
			p0, p1 := mb*N/cfg.Minibatches, (mb+1)*N/cfg.Minibatches
			r0, r1 := groupStart[p0], groupStart[p1]
			if r0 == r1 {
				continue
			}
			res, ntok, ent, entN, gn, err := t.minibatch(idx, resps[r0:r1])
			if err != nil {
				return nil, fmt.Errorf("rl: step %d, minibatch %d of %d: %w", step+1, mb+1, cfg.Minibatches, err)
			}
			if epoch == cfg.PPOEpochs-1 {
				copy(respLoss[r0:r1], res.RespLoss)
			}
			lossSum += res.Loss
			clipLow += res.ClipLow
			clipHigh += res.ClipHigh
			klSum += res.KL
			entSum += ent
			entTok += entN
			gradNormSum += gn
			trainTokens += ntok
			updates++
		}
	}
	trainTime := time.Since(trainStart)

	// 9. Controller updates.
	sig := t.signal()
	signal := make([]float64, M)
	rewards := make([]float64, M)
	for j, r := range resps {
		rewards[j] = r.reward
		if sig == "error" {
			if !r.correct {
				signal[j] = 1
			}
		} else {
			signal[j] = respLoss[j]
			if math.IsNaN(signal[j]) {
				signal[j] = 0
			}
		}
	}
	// With the "loss" signal, only minibatches 2..M carry information
	// (eq. 5 caveat); the first minibatch's responses are left out.
	sigBins, sigVals := respBins, signal
	if sig == "loss" && cfg.Minibatches >= 2 {
		first := groupStart[N/cfg.Minibatches]
		sigBins, sigVals = respBins[first:], signal[first:]
	}
	if t.PG != nil && len(sigBins) > 0 {
		if err := t.PG.Update(sigBins, sigVals); err != nil {
			return nil, fmt.Errorf("rl: step %d: prompt-gdro update: %w", step+1, err)
		}
	}
	if t.RG != nil {
		if err := t.RG.Update(chosen, sigBins, sigVals); err != nil {
			return nil, fmt.Errorf("rl: step %d: rollout-gdro update: %w", step+1, err)
		}
	}
	if t.Sqrt != nil {
		groups := make([][]float64, N)
		for i := range groups {
			groups[i] = rewards[groupStart[i]:groupStart[i+1]]
		}
		if err := t.Sqrt.ObserveGroups(bins, groups); err != nil {
			return nil, fmt.Errorf("rl: step %d: square-root allocator: %w", step+1, err)
		}
	}
	for i, d := range idx {
		v, err := gdro.StepStat(cfg.Stat, nOf[i], correctOf[i], max(cfg.StatK, 1))
		if err != nil {
			return nil, fmt.Errorf("rl: step %d: %w", step+1, err)
		}
		if err := t.Cls.Observe(t.Data[d].Ex.ID, v); err != nil {
			return nil, fmt.Errorf("rl: step %d: %w", step+1, err)
		}
	}
	t.Step++

	// Metrics.
	mt := Metrics{"step": float64(t.Step)}
	fM := float64(M)
	mean := rewardSum / fM
	mt["reward"] = mean
	mt["reward_std"] = math.Sqrt(max(rewardSq/fM-mean*mean, 0))
	var nCorrect int
	for _, r := range resps {
		if r.correct {
			nCorrect++
		}
	}
	mt["accuracy"] = float64(nCorrect) / fM
	mt["frac_reward_zero_std"] = float64(zeroStd) / float64(N)
	mt["completions/mean_length"] = float64(genTokens) / fM
	mt["completions/clipped_ratio"] = float64(clippedResp) / fM
	u := float64(max(updates, 1))
	mt["loss"] = lossSum / u
	mt["clip_ratio/low_mean"] = clipLow / u
	mt["clip_ratio/high_mean"] = clipHigh / u
	mt["kl"] = klSum / u
	mt["entropy"] = entSum / float64(max(entTok, 1))
	mt["grad_norm"] = gradNormSum / u
	mt["learning_rate"] = lr
	mt["timing/gen_s"] = genTime.Seconds()
	mt["timing/train_s"] = trainTime.Seconds()
	mt["step_time"] = time.Since(start).Seconds()
	mt["throughput/gen_tok_s"] = float64(genTokens) / max(genTime.Seconds(), 1e-9)
	mt["throughput/train_tok_s"] = float64(trainTokens) / max(trainTime.Seconds(), 1e-9)
	binCount := make([]int, B)
	binCorrect := make([]int, B)
	binResp := make([]int, B)
	for i := range idx {
		binCount[bins[i]]++
	}
	for _, r := range resps {
		binResp[r.bin]++
		if r.correct {
			binCorrect[r.bin]++
		}
	}
	var binW []float64
	if t.PG != nil {
		binW = t.PG.BinWeights()
	}
	for b := 0; b < B; b++ {
		s := strconv.Itoa(b)
		mt["gdro/bin_count/"+s] = float64(binCount[b])
		if binResp[b] > 0 {
			mt["gdro/bin_accuracy/"+s] = float64(binCorrect[b]) / float64(binResp[b])
			mt["gdro/rollouts/"+s] = float64(binResp[b]) / float64(binCount[b])
		}
		if binW != nil && binCount[b] > 0 {
			mt["gdro/prompt_weight/"+s] = binW[b]
		}
	}
	if t.RG != nil {
		mt["gdro/shadow_price"] = t.RG.ShadowPrice()
	}
	return mt, nil
}

// minibatch runs forward, loss, backward and one optimizer update over the
// responses of some prompt groups.
func (t *Trainer) minibatch(idx []int, resps []response) (res PolicyLoss, tokens int, entSum float64, entN int, gradNorm float64, err error) {
	seqs := make([][]int32, len(resps))
	nLoss := make([]int, len(resps))
	for j, r := range resps {
		prompt := t.Data[idx[r.prompt]].Prompt
		seqs[j] = append(append([]int32(nil), prompt...), r.comp.Tokens...)
		nLoss[j] = len(r.comp.Tokens)
	}
	ids, starts, targets := Pack(seqs, nLoss)
	n := len(ids)
	pb := PolicyBatch{
		OldLogP: make([]float32, n), Adv: make([]float32, n), RawAdv: make([]float32, n),
		Resp: make([]int32, n), NumResp: len(resps),
	}
	for j, r := range resps {
		s0, s1 := int(starts[j]), int(starts[j+1])
		first := s1 - 1 - len(r.comp.Tokens) // row predicting the first completion token
		for i := s0; i < s1; i++ {
			pb.Resp[i] = -1
			if i >= first && i < s1-1 {
				pb.Resp[i] = int32(j)
				pb.OldLogP[i] = r.comp.LogProbs[i-first]
				pb.RawAdv[i] = float32(r.adv)
				pb.Adv[i] = float32(r.adv * r.weight)
			}
		}
	}
	p, err := t.M.Forward(ids, starts)
	if err != nil {
		return res, 0, 0, 0, 0, err
	}
	logp, ent, err := t.M.TokenLogProbs(p, targets, true)
	if err != nil {
		return res, 0, 0, 0, 0, err
	}
	pb.LogP = logp
	if t.Cfg.Loss.KLCoef != 0 {
		if t.Ref == nil {
			return res, 0, 0, 0, 0, fmt.Errorf("the KL coefficient is %g but there is no reference model", t.Cfg.Loss.KLCoef)
		}
		rp, err := t.Ref.Forward(ids, starts)
		if err != nil {
			return res, 0, 0, 0, 0, fmt.Errorf("reference forward: %w", err)
		}
		if pb.RefLogP, _, err = t.Ref.TokenLogProbs(rp, targets, false); err != nil {
			return res, 0, 0, 0, 0, err
		}
	}
	res, err = ComputePolicyLoss(pb, t.Cfg.Loss)
	if err != nil {
		return res, 0, 0, 0, 0, err
	}
	for i, r := range pb.Resp {
		if r >= 0 {
			entSum += float64(ent[i])
			entN++
		}
	}
	t.M.ZeroGrad()
	if err := t.M.Backward(p, targets, res.DLogP); err != nil {
		return res, 0, 0, 0, 0, err
	}
	gradNorm, err = t.Opt.Step(t.M.Params, t.M.Grads)
	if err != nil {
		return res, 0, 0, 0, 0, nonFiniteGrad(t.M, err)
	}
	return res, n, entSum, entN, gradNorm, nil
}

// TrainerState is the GRPO part of trainer_state.json: the step, the data
// position and every controller's state.
type TrainerState struct {
	Step         int             `json:"step"`
	DataPosition int             `json:"data_position"` // prompts consumed: Step × N
	Classifier   json.RawMessage `json:"classifier"`
	PromptGDRO   json.RawMessage `json:"prompt_gdro,omitempty"`
	RolloutGDRO  json.RawMessage `json:"rollout_gdro,omitempty"`
	Sqrt         json.RawMessage `json:"sqrt_allocator,omitempty"`
	SaidFallback bool            `json:"said_fallback,omitempty"`
}

// State captures the trainer for a checkpoint (the model and optimizer are
// saved beside it).
func (t *Trainer) State() (TrainerState, error) {
	s := TrainerState{Step: t.Step, DataPosition: t.Step * t.Cfg.PromptsPerStep, SaidFallback: t.saidF}
	var err error
	if s.Classifier, err = json.Marshal(t.Cls); err != nil {
		return s, fmt.Errorf("rl: classifier state: %w", err)
	}
	if t.PG != nil {
		if s.PromptGDRO, err = json.Marshal(t.PG); err != nil {
			return s, fmt.Errorf("rl: prompt-gdro state: %w", err)
		}
	}
	if t.RG != nil {
		if s.RolloutGDRO, err = json.Marshal(t.RG); err != nil {
			return s, fmt.Errorf("rl: rollout-gdro state: %w", err)
		}
	}
	if t.Sqrt != nil {
		if s.Sqrt, err = json.Marshal(t.Sqrt); err != nil {
			return s, fmt.Errorf("rl: square-root allocator state: %w", err)
		}
	}
	return s, nil
}

// Restore sets the trainer from a checkpoint's state. The controllers it
// restores must be the ones this trainer was built with.
func (t *Trainer) Restore(s TrainerState) error {
	t.Step, t.saidF = s.Step, s.SaidFallback
	if err := json.Unmarshal(s.Classifier, t.Cls); err != nil {
		return fmt.Errorf("rl: restoring the classifier: %w", err)
	}
	restore := func(name string, raw json.RawMessage, v any, on bool) error {
		if !on {
			return nil
		}
		if len(raw) == 0 {
			return fmt.Errorf("rl: the checkpoint has no %s state, but this run uses it (resume with the same -algo)", name)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("rl: restoring %s: %w", name, err)
		}
		return nil
	}
	if err := restore("prompt-gdro", s.PromptGDRO, t.PG, t.PG != nil); err != nil {
		return err
	}
	if err := restore("rollout-gdro", s.RolloutGDRO, t.RG, t.RG != nil); err != nil {
		return err
	}
	return restore("square-root allocator", s.Sqrt, t.Sqrt, t.Sqrt != nil)
}
