package rl

import (
	"math"
	"strconv"
	"time"
)

// Metrics of one step, by the names of ARCHITECTURE.md.
type Metrics map[string]float64

// metrics returns a finished step's metrics: the generation statistics over
// every rollout generated (dropped ones included), the update's means over
// its minibatches, the timings, the rollout counts (generated and trained
// this step, generated in all steps so far, generation rounds) and the
// per-bin figures of the trained groups.
func (t *Trainer) metrics(b *batch, elapsed time.Duration) Metrics {
	g, u := b.gen, b.upd
	mt := Metrics{"step": float64(t.Step)}
	fM := float64(g.rollouts)
	mean := g.rewardSum / fM
	mt["reward"] = mean
	mt["reward_std"] = math.Sqrt(max(g.rewardSq/fM-mean*mean, 0))
	mt["accuracy"] = float64(g.correct) / fM
	mt["frac_reward_zero_std"] = float64(g.zeroStd) / float64(g.groups)
	mt["completions/mean_length"] = float64(g.tokens) / fM
	mt["completions/clipped_ratio"] = float64(g.clipped) / fM
	n := float64(max(u.updates, 1))
	mt["loss"] = u.loss / n
	mt["clip_ratio/low_mean"] = u.clipLow / n
	mt["clip_ratio/high_mean"] = u.clipHigh / n
	mt["clip_ratio/dual_mean"] = u.dual / n
	mt["kl"] = u.kl / n
	mt["entropy"] = u.entSum / float64(max(u.entTokens, 1))
	mt["grad_norm"] = u.gradNorm / n
	mt["learning_rate"] = b.lr
	mt["timing/gen_s"] = b.genTime.Seconds()
	mt["timing/train_s"] = b.trainDur.Seconds()
	mt["step_time"] = elapsed.Seconds()
	mt["throughput/gen_tok_s"] = float64(g.tokens) / max(b.genTime.Seconds(), 1e-9)
	mt["throughput/train_tok_s"] = float64(u.tokens) / max(b.trainDur.Seconds(), 1e-9)
	mt["rollouts/generated"] = float64(g.rollouts)
	mt["rollouts/kept"] = float64(len(b.rollouts))
	mt["rollouts/total"] = float64(t.generated)
	mt["rollouts/rounds"] = float64(b.rounds)
	t.binMetrics(mt, b)
	return mt
}

// binMetrics adds the per-bin figures of the trained groups: prompts,
// accuracy, rollouts per prompt and Prompt-GDRO's weight, and Rollout-GDRO's
// shadow price.
func (t *Trainer) binMetrics(mt Metrics, b *batch) {
	B := t.Cls.NumBins()
	count, correct, resp := make([]int, B), make([]int, B), make([]int, B)
	for _, g := range b.groups {
		count[g.bin]++
	}
	for _, r := range b.rollouts {
		resp[r.bin]++
		if r.correct {
			correct[r.bin]++
		}
	}
	var binW []float64
	if t.PG != nil {
		binW = t.PG.BinWeights()
	}
	for bin := 0; bin < B; bin++ {
		s := strconv.Itoa(bin)
		mt["gdro/bin_count/"+s] = float64(count[bin])
		if resp[bin] > 0 {
			mt["gdro/bin_accuracy/"+s] = float64(correct[bin]) / float64(resp[bin])
			mt["gdro/rollouts/"+s] = float64(resp[bin]) / float64(count[bin])
		}
		if binW != nil && count[bin] > 0 {
			mt["gdro/prompt_weight/"+s] = binW[bin]
		}
	}
	if t.RG != nil {
		mt["gdro/shadow_price"] = t.RG.ShadowPrice()
	}
}
