package rl

import (
	"fmt"
	"time"
)

// The step numbers that the evaluation and the probe pass use in sample
// seeds. GRPO steps are numbered from 0 in the seeds, so neither can meet
// a training step's samples.
const (
	evalSeedStep  = -1
	probeSeedStep = -2
)

// probeChunk is the number of prompts the probe pass generates at once (a
// memory bound; the samples do not depend on it).
const probeChunk = 64

// Probe seeds the difficulty classifier from one generation pass over the
// whole training pool before RL (the design note's -gdro-probe): n̄
// rollouts per prompt, judged and recorded with the same statistic as a
// training step. It trains nothing and returns the number of rollouts it
// generated.
func (t *Trainer) Probe() (int, error) {
	start := time.Now()
	rollouts := 0
	for lo := 0; lo < len(t.Data); lo += probeChunk {
		hi := min(lo+probeChunk, len(t.Data))
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		b := t.newBatch(idx, probeSeedStep, 0)
		for i := range b.groups {
			b.groups[i].n = t.Cfg.Rollouts
		}
		if err := t.generate(b); err != nil {
			return rollouts, fmt.Errorf("rl: probe pass: %w", err)
		}
		if err := t.score(b); err != nil {
			return rollouts, fmt.Errorf("rl: probe pass: %w", err)
		}
		if err := t.observeClassifier(b.groups); err != nil {
			return rollouts, fmt.Errorf("rl: probe pass: %w", err)
		}
		rollouts += len(b.rollouts)
	}
	t.Log("gdro: probe pass seeded the classifier with %d prompts x %d rollouts (%.1fs)", len(t.Data), t.Cfg.Rollouts, time.Since(start).Seconds())
	return rollouts, nil
}
