package rl

import (
	"fmt"
	"math"
	"time"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/tasks"
)

// rollout is one completion in a step with everything the update and the
// controllers need from it: one row of the step.
type rollout struct {
	group   int     // index of its prompt group in the batch
	prompt  []int32 // the prompt's tokens (shared with the pool, not copied)
	comp    sample.Completion
	correct bool
	reward  float64
	adv     float64 // unweighted GRPO advantage (eq. 19)
	weight  float64 // Prompt-GDRO weight (1 when off)
	bin     int
	loss    float64 // surrogate loss ℓ (eq. 5) from the last PPO epoch; NaN until recorded
}

// group is one prompt of a step: its pool index, bin and rollout count, and
// where its rollouts lie in the batch.
type group struct {
	data    int // index of the prompt in the training pool
	bin     int
	n       int  // rollouts allocated
	lo, hi  int  // its rollouts are batch.rollouts[lo:hi]
	correct int  // rollouts judged correct
	equal   bool // all its rewards are equal: no GRPO gradient
}

// genStats sums what was generated and scored in a step, over every
// rollout generated.
type genStats struct {
	rollouts, groups, zeroStd int
	correct, tokens, clipped  int
	rewardSum, rewardSq       float64
}

// updateStats sums the PPO minibatch results of a step.
type updateStats struct {
	loss, clipLow, clipHigh, dual, kl, entSum, gradNorm float64
	entTokens, tokens, updates                          int
}

// batch is one step in progress. The stages fill it in order: classify sets
// each group's bin, allocate its rollout count, generate its rollouts,
// score their rewards and advantages, weigh their Prompt-GDRO weights,
// update their losses; observe and metrics read it.
type batch struct {
	seedStep int // the step number in the sample seeds
	seedOff  int // added to the sample index in the seeds
	groups   []group
	rollouts []rollout
	chosen   map[int]int // rollouts per bin from a rollout controller; nil when fixed
	dropped  []group     // generated but not trained (dynamic sampling); no rollouts
	rounds   int         // generation rounds
	gen      genStats
	upd      updateStats
	lr       float64 // learning rate of the update
	genTime  time.Duration
	trainDur time.Duration
}

// newBatch starts a batch over the given pool indices.
func (t *Trainer) newBatch(idx []int, seedStep, seedOff int) *batch {
	b := &batch{seedStep: seedStep, seedOff: seedOff, groups: make([]group, len(idx))}
	for i, d := range idx {
		b.groups[i] = group{data: d}
	}
	return b
}

// start returns the index of group p's first rollout (len(rollouts) for
// p = len(groups)).
func (b *batch) start(p int) int {
	if p < len(b.groups) {
		return b.groups[p].lo
	}
	return len(b.rollouts)
}

// respBins returns each rollout's bin.
func (b *batch) respBins() []int {
	out := make([]int, len(b.rollouts))
	for j, r := range b.rollouts {
		out[j] = r.bin
	}
	return out
}

// binCounts returns the number of prompts in each bin present.
func (b *batch) binCounts() map[int]int {
	counts := map[int]int{}
	for _, g := range b.groups {
		counts[g.bin]++
	}
	return counts
}

// classify labels each prompt with its difficulty bin from the history up
// to the previous step (design note step 2).
func (t *Trainer) classify(b *batch) error {
	for i := range b.groups {
		b.groups[i].bin = t.Cls.Bin(t.Data[b.groups[i].data].Ex.ID)
	}
	return nil
}

// allocate gives each prompt its rollout count: n̄, or its bin's count from
// the rollout controller (step 3).
func (t *Trainer) allocate(b *batch) error {
	var err error
	switch {
	case t.RG != nil:
		b.chosen, err = t.RG.Choose(b.binCounts(), len(b.groups))
	case t.Sqrt != nil:
		b.chosen, err = t.Sqrt.Choose(b.binCounts(), len(b.groups))
	}
	if err != nil {
		return err
	}
	for i := range b.groups {
		g := &b.groups[i]
		g.n = t.Cfg.Rollouts
		if b.chosen != nil {
			g.n = b.chosen[g.bin]
		}
	}
	return nil
}

// generate samples each group's rollouts, keeping the sampling
// log-probabilities (step 4). Sample j of the prompt at pool index d draws
// from the seed (run seed, seed step, d, j + seed offset).
func (t *Trainer) generate(b *batch) error {
	reqs := make([]sample.Request, len(b.groups))
	for i, g := range b.groups {
		seeds := make([]uint64, g.n)
		for j := range seeds {
			seeds[j] = sample.Seed(t.Cfg.Seed, b.seedStep, g.data, j+b.seedOff)
		}
		reqs[i] = sample.Request{Prompt: t.Data[g.data].Prompt, Seeds: seeds}
	}
	start := time.Now()
	var comps [][]sample.Completion
	var err error
	if t.dp != nil {
		comps, err = t.dp.generate(t.M, reqs, t.Cfg.Sample)
	} else {
		comps, err = sample.Generate(t.M, reqs, t.Cfg.Sample)
	}
	if err != nil {
		return err
	}
	b.genTime += time.Since(start)
	b.rounds++
	for i := range b.groups {
		g := &b.groups[i]
		g.lo = len(b.rollouts)
		for _, c := range comps[i] {
			b.rollouts = append(b.rollouts, rollout{group: i, prompt: reqs[i].Prompt, comp: c, weight: 1, bin: g.bin, loss: math.NaN()})
		}
		g.hi = len(b.rollouts)
	}
	return nil
}

// score judges every rollout, gives it its reward and its group's GRPO
// advantage (steps 5-6), and sums the generation statistics.
func (t *Trainer) score(b *batch) error {
	for i := range b.groups {
		g := &b.groups[i]
		rs := b.rollouts[g.lo:g.hi]
		rewards := make([]float64, len(rs))
		for j := range rs {
			r := &rs[j]
			r.correct = t.Env.Correct(t.Data[g.data], r.comp)
			r.reward = tasks.Reward(r.correct, t.Cfg.Reward)
			rewards[j] = r.reward
			if r.correct {
				g.correct++
			}
			b.gen.add(r)
		}
		adv := GroupAdvantages(rewards, t.Cfg.MeanOnly, t.Cfg.AdvClip)
		for j := range rs {
			rs[j].adv = adv[j]
		}
		b.gen.groups++
		if g.equal = allEqual(rewards); g.equal {
			b.gen.zeroStd++
		}
	}
	return nil
}

// add counts one scored rollout.
func (s *genStats) add(r *rollout) {
	s.rollouts++
	s.rewardSum += r.reward
	s.rewardSq += r.reward * r.reward
	s.tokens += len(r.comp.Tokens)
	if r.correct {
		s.correct++
	}
	if r.comp.Truncated {
		s.clipped++
	}
}

// allEqual reports whether every value equals the first (a group with zero
// reward variance, which carries no GRPO gradient).
func allEqual(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

// weigh sets each rollout's Prompt-GDRO weight from its bin (step 7).
func (t *Trainer) weigh(b *batch) error {
	if t.PG == nil {
		return nil
	}
	w := t.PG.Weights(b.respBins())
	for j := range b.rollouts {
		b.rollouts[j].weight = w[j]
	}
	return nil
}

// update runs the PPO epochs over the minibatches, split by prompt groups,
// and records each rollout's surrogate loss from the last epoch (step 8).
func (t *Trainer) update(b *batch) error {
	start := time.Now()
	b.lr = t.Opt.LR()
	N, M := len(b.groups), t.Cfg.Minibatches
	for epoch := 0; epoch < t.Cfg.PPOEpochs; epoch++ {
		for mb := 0; mb < M; mb++ {
			rs := b.rollouts[b.start(mb*N/M):b.start((mb+1)*N/M)]
			if len(rs) == 0 {
				continue
			}
			var res mbResult
			var err error
			if t.dp != nil {
				res, err = t.dp.minibatch(t, rs)
			} else {
				res, err = t.minibatch(rs)
			}
			if err != nil {
				return fmt.Errorf("minibatch %d of %d: %w", mb+1, M, err)
			}
			if epoch == t.Cfg.PPOEpochs-1 {
				for j := range rs {
					rs[j].loss = res.loss.RespLoss[j]
				}
			}
			b.upd.add(res)
		}
	}
	b.trainDur = time.Since(start)
	return nil
}

// add sums one minibatch's result.
func (s *updateStats) add(r mbResult) {
	s.loss += r.loss.Loss
	s.clipLow += r.loss.ClipLow
	s.clipHigh += r.loss.ClipHigh
	s.dual += r.loss.DualClip
	s.kl += r.loss.KL
	s.entSum += r.entSum
	s.entTokens += r.entTokens
	s.gradNorm += r.gradNorm
	s.tokens += r.tokens
	s.updates++
}

// observe feeds the step's outcome to the controllers and the classifier
// (step 9).
func (t *Trainer) observe(b *batch) error {
	sigBins, sigVals, err := t.signalValues(b)
	if err != nil {
		return fmt.Errorf("gdro signal: %w", err)
	}
	if t.PG != nil && len(sigBins) > 0 {
		if err := t.PG.Update(sigBins, sigVals); err != nil {
			return fmt.Errorf("prompt-gdro update: %w", err)
		}
	}
	if t.RG != nil {
		if err := t.RG.Update(b.chosen, sigBins, sigVals); err != nil {
			return fmt.Errorf("rollout-gdro update: %w", err)
		}
	}
	if t.Sqrt != nil {
		bins := make([]int, len(b.groups))
		for i, g := range b.groups {
			bins[i] = g.bin
		}
		if err := t.Sqrt.ObserveGroups(bins, b.groupRewards()); err != nil {
			return fmt.Errorf("square-root allocator: %w", err)
		}
	}
	if err := t.observeClassifier(b.groups); err != nil {
		return err
	}
	return t.observeClassifier(b.dropped)
}

// signalValues returns the bins and values of the GDRO loss signal. With
// the loss signal only minibatches 2..M carry information (the caveat of
// eq. 5), so the first minibatch's responses are left out.
func (t *Trainer) signalValues(b *batch) ([]int, []float64, error) {
	bins := b.respBins()
	switch t.signal() {
	case SignalError:
		correct := make([]bool, len(b.rollouts))
		for j, r := range b.rollouts {
			correct[j] = r.correct
		}
		return bins, gdro.ErrorLoss(correct), nil
	case SignalVariance:
		vals, err := gdro.VarianceLoss(b.groupRewards())
		return bins, vals, err
	}
	vals := make([]float64, len(b.rollouts))
	for j, r := range b.rollouts {
		if !math.IsNaN(r.loss) {
			vals[j] = r.loss
		}
	}
	first := b.start(len(b.groups) / t.Cfg.Minibatches)
	return bins[first:], vals[first:], nil
}

// groupRewards returns each group's rollout rewards.
func (b *batch) groupRewards() [][]float64 {
	out := make([][]float64, len(b.groups))
	for i, g := range b.groups {
		out[i] = make([]float64, 0, g.hi-g.lo)
		for _, r := range b.rollouts[g.lo:g.hi] {
			out[i] = append(out[i], r.reward)
		}
	}
	return out
}

// observeClassifier records each group's step statistic (Config.Stat) in
// the difficulty classifier.
func (t *Trainer) observeClassifier(groups []group) error {
	for _, g := range groups {
		v, err := gdro.StepStat(t.Cfg.Stat, g.n, g.correct, max(t.Cfg.StatK, 1))
		if err != nil {
			return err
		}
		if err := t.Cls.Observe(t.Data[g.data].Ex.ID, v); err != nil {
			return err
		}
	}
	return nil
}
