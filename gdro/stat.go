package gdro

import (
	"fmt"
	"math"
)

// The per-step statistics the classifier can record for a prompt (the
// design note's decision on -gdro-stat).
const (
	// StatAny is (1): 1 if any of this step's rollouts was correct, else 0.
	// It is the released code's statistic.
	StatAny = "any"
	// StatMean is the fraction of this step's rollouts that were correct.
	StatMean = "mean"
	// StatPassK is the unbiased pass@k estimate (21) from this step's
	// rollouts.
	StatPassK = "passk"
)

// StepStat turns one prompt's step outcome, correct successes out of n
// rollouts, into the value in [0, 1] that Classifier.Observe records. kind
// is StatAny, StatMean or StatPassK; k is used by StatPassK only, and when
// k exceeds n it is lowered to n (n samples cannot estimate pass@k for a
// larger k; pass@n is the same as StatAny).
func StepStat(kind string, n, correct, k int) (float64, error) {
	if n < 1 {
		return 0, fmt.Errorf("gdro: step statistic: %d rollouts, want at least 1", n)
	}
	if correct < 0 || correct > n {
		return 0, fmt.Errorf("gdro: step statistic: %d correct out of %d rollouts", correct, n)
	}
	switch kind {
	case StatAny:
		if correct > 0 {
			return 1, nil
		}
		return 0, nil
	case StatMean:
		return float64(correct) / float64(n), nil
	case StatPassK:
		if k < 1 {
			return 0, fmt.Errorf("gdro: step statistic: pass@k needs k >= 1, got %d", k)
		}
		return PassAtK(n, correct, min(k, n)), nil
	}
	return 0, fmt.Errorf("gdro: step statistic: unknown kind %q (want %q, %q or %q)", kind, StatAny, StatMean, StatPassK)
}

// PassAtK is the unbiased estimator (21) of Chen et al. (arXiv:2107.03374)
// of the probability that at least one of k samples is correct, given c
// correct among n samples: 1 - C(n-c, k)/C(n, k), computed in the stable
// product form 1 - Π_{i=n-c+1}^{n} (1 - k/i), and 1 when n-c < k. It
// returns NaN unless 0 <= c <= n and 1 <= k <= n.
func PassAtK(n, c, k int) float64 {
	if n < 1 || c < 0 || c > n || k < 1 || k > n {
		return math.NaN()
	}
	if n-c < k {
		return 1
	}
	prod := 1.0
	for i := n - c + 1; i <= n; i++ {
		prod *= 1 - float64(k)/float64(i)
	}
	return 1 - prod
}

// sampleVar returns the unbiased sample variance Σ(x-x̄)²/(n-1) of xs,
// with the sums in slice order, and false when xs has fewer than two
// values, which carry no information about the variance.
func sampleVar(xs []float64) (float64, bool) {
	n := len(xs)
	if n < 2 {
		return 0, false
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	v := 0.0
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	return v / float64(n-1), true
}

// checkFinite returns an error naming the first value of xs that is NaN or
// infinite.
func checkFinite(what string, xs []float64) error {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s %d is %v", what, i, x)
		}
	}
	return nil
}
