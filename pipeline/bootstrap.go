package pipeline

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Interval is a point estimate with a two-sided percentile bootstrap
// interval.
type Interval struct {
	Est, Lo, Hi float64
}

// PairedBootstrap estimates the mean paired difference over seeds and its
// 95% interval by a two-stage bootstrap. diffs[s][i] is the difference of
// one prompt i (the same prompt for both methods) in seed s; the estimate is
// the mean over seeds of each seed's mean over its prompts. A replicate
// draws len(diffs) seeds with replacement, then for each drawn seed its
// prompts with replacement, so the interval covers both the variation
// between seeds (training runs) and the sampling of held-out prompts. The
// draws depend on seed and reps only.
func PairedBootstrap(diffs [][]float64, reps int, seed uint64) (Interval, error) {
	if len(diffs) == 0 {
		return Interval{}, fmt.Errorf("bootstrap: no seeds")
	}
	for s, d := range diffs {
		if len(d) == 0 {
			return Interval{}, fmt.Errorf("bootstrap: seed %d has no prompts", s+1)
		}
	}
	if reps < 1 {
		return Interval{}, fmt.Errorf("bootstrap: %d replicates", reps)
	}
	est := 0.0
	for _, d := range diffs {
		est += mean(d)
	}
	est /= float64(len(diffs))
	rng := rand.New(rand.NewPCG(seed, 0xb0075712a9))
	stats := make([]float64, reps)
	for r := range stats {
		total := 0.0
		for range diffs {
			d := diffs[rng.IntN(len(diffs))]
			sum := 0.0
			for range d {
				sum += d[rng.IntN(len(d))]
			}
			total += sum / float64(len(d))
		}
		stats[r] = total / float64(len(diffs))
	}
	slices.Sort(stats)
	return Interval{Est: est, Lo: quantile(stats, 0.025), Hi: quantile(stats, 0.975)}, nil
}

// mean is the arithmetic mean of a non-empty slice.
func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// quantile is the q-quantile of sorted values, linearly interpolated
// between order statistics.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}
