package pipeline

import (
	"math"
	"testing"
)

// TestPairedBootstrap checks the estimate and interval on cases whose
// answer is known.
func TestPairedBootstrap(t *testing.T) {
	for _, tc := range []struct {
		name           string
		diffs          [][]float64
		est, lo, hi    float64
		tolLo, tolHigh float64
	}{
		// Every difference is 0.1: every replicate is 0.1.
		{"constant", [][]float64{{0.1, 0.1, 0.1}, {0.1, 0.1}}, 0.1, 0.1, 0.1, 1e-12, 1e-12},
		// Two seeds with one prompt each, 0 and 1: a replicate is 0, 0.5 or
		// 1 with probabilities 1/4, 1/2, 1/4, so the 2.5% and 97.5%
		// quantiles are 0 and 1.
		{"two seeds", [][]float64{{0}, {1}}, 0.5, 0, 1, 1e-12, 1e-12},
		// One seed, prompts 0/1 half and half: the mean of 400 Bernoulli(0.5)
		// draws has sd 0.025, so the interval is about 0.5 +- 0.049.
		{"prompts", [][]float64{alternating(400)}, 0.5, 0.451, 0.549, 0.01, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iv, err := PairedBootstrap(tc.diffs, 4000, 7)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(iv.Est-tc.est) > 1e-12 || math.Abs(iv.Lo-tc.lo) > tc.tolLo || math.Abs(iv.Hi-tc.hi) > tc.tolHigh {
				t.Errorf("got %+v, want est %v interval [%v, %v]", iv, tc.est, tc.lo, tc.hi)
			}
			again, _ := PairedBootstrap(tc.diffs, 4000, 7)
			if again != iv {
				t.Errorf("not deterministic: %+v then %+v", iv, again)
			}
		})
	}
	for _, bad := range [][][]float64{nil, {{}}, {{1}, {}}} {
		if _, err := PairedBootstrap(bad, 10, 1); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func alternating(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i % 2)
	}
	return x
}
