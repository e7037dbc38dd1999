package main

import (
	"math"
	"strconv"

	"github.com/frontier-rl/frontier/rl"
)

// numBins is the number of difficulty bins in an arm's metrics.
func numBins(ms []rl.Metrics) int {
	bins := 0
	for _, m := range ms {
		for bins < 1000 {
			if _, ok := m["gdro/bin_count/"+strconv.Itoa(bins)]; !ok {
				break
			}
			bins++
		}
	}
	return bins
}

// effGrad is an arm's effective-gradient figures per bin, summed over steps
// and seeds: prompt groups and rollouts, and how many of each had rewards
// that all agree (no GRPO gradient).
type effGrad struct {
	groups, zeroGroups, rollouts, zeroRollouts []float64
}

// effectiveGradient sums the ledger counts of an arm over seeds.
func effectiveGradient(data []*seedRuns, arm string, bins int) effGrad {
	e := effGrad{make([]float64, bins), make([]float64, bins), make([]float64, bins), make([]float64, bins)}
	for _, sr := range data {
		for _, m := range sr.arms[arm].metrics {
			for b := 0; b < bins; b++ {
				s := strconv.Itoa(b)
				e.groups[b] += m["zero_std/groups/"+s]
				e.zeroGroups[b] += m["zero_std/zero_groups/"+s]
				e.rollouts[b] += m["zero_std/rollouts/"+s]
				e.zeroRollouts[b] += m["zero_std/zero_rollouts/"+s]
			}
		}
	}
	return e
}

// share is num/den, NaN when den is 0.
func share(num, den float64) float64 {
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// sum adds a slice.
func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// curriculum is an arm's bin x step grids, averaged over the seeds that
// reached each step: Prompt-GDRO's weight, rollouts per prompt and the share
// of the batch in each bin. NaN marks a bin absent at a step.
type curriculum struct {
	steps                       int
	weight, rollouts, occupancy [][]float64 // [bin][step]
}

// buildCurriculum averages an arm's per-step bin metrics over seeds.
func buildCurriculum(data []*seedRuns, arm string, bins int) curriculum {
	steps := 0
	for _, sr := range data {
		steps = max(steps, len(sr.arms[arm].metrics))
	}
	grid := func(key string, perBatch bool) [][]float64 {
		g := make([][]float64, bins)
		for b := range g {
			g[b] = make([]float64, steps)
			for t := range g[b] {
				s, n := 0.0, 0
				for _, sr := range data {
					ms := sr.arms[arm].metrics
					if t >= len(ms) {
						continue
					}
					v, ok := ms[t][key+strconv.Itoa(b)]
					if !ok {
						continue
					}
					if perBatch {
						v /= max(batchSize(ms[t], bins), 1)
					}
					s += v
					n++
				}
				g[b][t] = share(s, float64(n))
			}
		}
		return g
	}
	return curriculum{steps: steps, weight: grid("gdro/prompt_weight/", false),
		rollouts: grid("gdro/rollouts/", false), occupancy: grid("gdro/bin_count/", true)}
}

// batchSize is the number of prompts in a step's batch.
func batchSize(m rl.Metrics, bins int) float64 {
	n := 0.0
	for b := 0; b < bins; b++ {
		n += m["gdro/bin_count/"+strconv.Itoa(b)]
	}
	return n
}
