package gdro

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func nearSlice(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

func mustPrompt(t *testing.T, cfg PromptConfig, bins int) *PromptGDRO {
	t.Helper()
	p, err := NewPromptGDRO(cfg, bins)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPromptConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*PromptConfig)
		bins int
		want string
	}{
		{"eta", func(c *PromptConfig) { c.Eta = -1 }, 3, "eta"},
		{"gamma", func(c *PromptConfig) { c.Gamma = 1.5 }, 3, "gamma"},
		{"beta zero", func(c *PromptConfig) { c.Beta = 0 }, 3, "beta"},
		{"cap below one", func(c *PromptConfig) { c.WMax = 0.5 }, 3, "cap"},
		{"cap infinite", func(c *PromptConfig) { c.WMax = math.Inf(1) }, 3, "cap"},
		{"clip", func(c *PromptConfig) { c.Clip = math.NaN() }, 3, "clip"},
		{"floor", func(c *PromptConfig) { c.Floor = 2 }, 3, "floor"},
		{"bins", func(c *PromptConfig) {}, 0, "bins"},
	}
	for _, tt := range tests {
		cfg := DefaultPromptConfig()
		tt.edit(&cfg)
		if _, err := NewPromptGDRO(cfg, tt.bins); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// (5) ℓ = (1/L) Σ_t max(-Aρ, -A·clip(ρ, 1-ε_lo, 1+ε_hi)).
func TestEq5ResponseLoss(t *testing.T) {
	tests := []struct {
		adv   float64
		ratio []float64
		want  float64
	}{
		// A = 1: ρ=1 → -1; ρ=1.5 → max(-1.5, -1.28); ρ=0.5 → max(-0.5, -0.8)
		{1, []float64{1, 1.5, 0.5}, (-1 - 1.28 - 0.5) / 3},
		// A = -2: ρ=1.5 → max(3, 2.56); ρ=0.5 → max(1, 1.6)
		{-2, []float64{1.5, 0.5}, (3 + 1.6) / 2},
		{0, []float64{3, 0.1}, 0},
		{0.5, []float64{1}, -0.5}, // on-policy: -A
	}
	for _, tt := range tests {
		got, err := ResponseLoss(tt.adv, tt.ratio, 0.2, 0.28)
		if err != nil || !near(got, tt.want) {
			t.Errorf("ResponseLoss(%v, %v) = %v, %v; want %v", tt.adv, tt.ratio, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		adv   float64
		ratio []float64
		lo    float64
	}{{1, nil, 0.2}, {math.NaN(), []float64{1}, 0.2}, {1, []float64{-1}, 0.2}, {1, []float64{1}, 1.2}} {
		if _, err := ResponseLoss(bad.adv, bad.ratio, bad.lo, 0.28); err == nil {
			t.Errorf("ResponseLoss(%v, %v, %v) gave no error", bad.adv, bad.ratio, bad.lo)
		}
	}
}

// (6)-(7): bin means, share normalization with a floor, first-seen and
// EMA updates, absent bins untouched.
func TestEq6Eq7Update(t *testing.T) {
	bins := []int{0, 0, 1, 2}
	loss := []float64{1, 3, 2, -1} // means 2, 2, -1; shares 0.5, 0.25, 0.25
	tests := []struct {
		name       string
		norm       bool
		floor      float64
		first      []float64
		afterTwice []float64 // after a second Update with losses ×2, β = 0.5
	}{
		{"plain", false, 0, []float64{2, 2, -1, 0}, []float64{3, 3, -1.5, 0}},
		{"share", true, 0, []float64{4, 8, -4, 0}, []float64{6, 12, -6, 0}},
		{"share with floor", true, 0.3, []float64{4, 2 / 0.3, -1 / 0.3, 0}, []float64{6, 3 / 0.3, -1.5 / 0.3, 0}},
	}
	for _, tt := range tests {
		cfg := PromptConfig{Eta: 1, Beta: 0.5, WMax: 15, Floor: tt.floor, NormShare: tt.norm}
		p := mustPrompt(t, cfg, 4)
		if err := p.Update(bins, loss); err != nil {
			t.Fatal(err)
		}
		if !nearSlice(p.Scores(), tt.first) {
			t.Errorf("%s: scores %v, want %v", tt.name, p.Scores(), tt.first)
		}
		double := []float64{2, 6, 4, -2}
		if err := p.Update(bins, double); err != nil {
			t.Fatal(err)
		}
		if !nearSlice(p.Scores(), tt.afterTwice) {
			t.Errorf("%s: scores after EMA %v, want %v", tt.name, p.Scores(), tt.afterTwice)
		}
	}
}

func TestPromptUpdateErrors(t *testing.T) {
	p := mustPrompt(t, DefaultPromptConfig(), 3)
	tests := []struct {
		bins []int
		loss []float64
		want string
	}{
		{[]int{0, 1}, []float64{1}, "2 bins but 1"},
		{[]int{0, 3}, []float64{1, 1}, "out of range"},
		{[]int{-1}, []float64{1}, "out of range"},
		{[]int{0}, []float64{math.Inf(1)}, "not finite"},
	}
	for _, tt := range tests {
		if err := p.Update(tt.bins, tt.loss); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Update(%v, %v) error %v, want %q", tt.bins, tt.loss, err, tt.want)
		}
	}
	if !nearSlice(p.Scores(), []float64{0, 0, 0}) {
		t.Error("a rejected update changed the scores")
	}
}

// (8)-(9): q_b = (1-γ)·exp(η·clip(S_b))/Σ + γ/|P|.
func TestEq8Eq9ExpWeights(t *testing.T) {
	tests := []struct {
		name              string
		scores            []float64
		eta, gamma, clipC float64
		want              []float64
	}{
		{"equal", []float64{0.3, 0.3}, 1, 0, 0, []float64{0.5, 0.5}},
		{"ratio 3", []float64{0, math.Log(3)}, 1, 0, 0, []float64{0.25, 0.75}},
		{"exploration", []float64{0, math.Log(3)}, 1, 0.2, 0, []float64{0.3, 0.7}},
		{"eta", []float64{0, math.Log(3)}, 2, 0, 0, []float64{0.1, 0.9}},
		{"clip", []float64{0, 10}, 1, 0, 1, []float64{1 / (1 + math.E), math.E / (1 + math.E)}},
		{"huge scores", []float64{1000, 1000 + math.Log(3)}, 1, 0, 0, []float64{0.25, 0.75}},
		{"single", []float64{-7}, 0.65, 0.01, 5, []float64{1}},
	}
	for _, tt := range tests {
		if got := ExpWeights(tt.scores, tt.eta, tt.gamma, tt.clipC); !nearSlice(got, tt.want) {
			t.Errorf("%s: q = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// (10)-(11): w = min(ω_max, q_b·M/Σ q), mean 1, over the bins present only.
func TestEq10Eq11Weights(t *testing.T) {
	cfg := PromptConfig{Eta: 1, Beta: 1, WMax: 15}
	p := mustPrompt(t, cfg, 3)
	p.scores = []float64{0, 100, math.Log(3)} // bin 1 is absent below
	// q over {0, 2} = 0.25, 0.75; Σ over responses 3·0.25+0.75 = 1.5; M = 4
	w := p.Weights([]int{0, 2, 0, 0})
	if want := []float64{2.0 / 3, 2, 2.0 / 3, 2.0 / 3}; !nearSlice(w, want) {
		t.Errorf("weights %v, want %v", w, want)
	}
	if bw := p.BinWeights(); !nearSlice(bw, []float64{2.0 / 3, 0, 2}) {
		t.Errorf("bin weights %v", bw)
	}
	p.cfg.WMax = 1.5
	if w := p.Weights([]int{0, 2, 0, 0}); !nearSlice(w, []float64{2.0 / 3, 1.5, 2.0 / 3, 2.0 / 3}) {
		t.Errorf("capped weights %v", w)
	}
	// Refill: bin 2 capped at 1.5 leaves 4 - 1.5 = 2.5 for bin 0's three
	// responses: 2.5/3 each.
	p.cfg.Refill = true
	if w := p.Weights([]int{0, 2, 0, 0}); !nearSlice(w, []float64{2.5 / 3, 1.5, 2.5 / 3, 2.5 / 3}) {
		t.Errorf("refilled weights %v", w)
	}
	p.cfg.Refill = false
	adv := []float64{1, -1, 0.5, 2}
	if err := Reweight(adv, []float64{2.0 / 3, 1.5, 2.0 / 3, 2.0 / 3}); err != nil {
		t.Fatal(err)
	}
	if !nearSlice(adv, []float64{2.0 / 3, -1.5, 1.0 / 3, 4.0 / 3}) {
		t.Errorf("reweighted advantages %v", adv)
	}
	if err := Reweight(adv, []float64{1}); err == nil {
		t.Error("Reweight with mismatched lengths gave no error")
	}
	if w := p.Weights([]int{0, 5}); !nearSlice(w, []float64{1, 1}) {
		t.Errorf("out-of-range bins gave %v, want neutral weights", w)
	}
	if w := p.Weights(nil); len(w) != 0 {
		t.Errorf("no responses gave %v", w)
	}
}

// The fallback signal: Update with ErrorLoss gives bin means 1 - accuracy.
func TestErrorLossFallback(t *testing.T) {
	p := mustPrompt(t, PromptConfig{Beta: 1, WMax: 15}, 2)
	bins := []int{0, 0, 1, 1, 1, 1}
	correct := []bool{true, true, false, true, false, false}
	if err := p.Update(bins, ErrorLoss(correct)); err != nil {
		t.Fatal(err)
	}
	if !nearSlice(p.Scores(), []float64{0, 0.75}) {
		t.Errorf("scores %v, want 1 - accuracy = [0 0.75]", p.Scores())
	}
}

// Property: weights are positive, never above the cap, and have mean 1
// whenever the cap does not bind or Refill is on (below 1 otherwise).
func TestWeightsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	refilled := 0
	for trial := range 500 {
		nb := 1 + rng.IntN(12)
		cfg := PromptConfig{
			Eta:    3 * rng.Float64(),
			Gamma:  rng.Float64() * 0.2,
			Beta:   0.5,
			WMax:   1 + 20*rng.Float64(),
			Clip:   float64(rng.IntN(3)) * 3,
			Refill: trial%2 == 1,
		}
		if trial%10 == 3 {
			cfg.WMax = 1 // with Refill every weight is then exactly 1
		}
		p := mustPrompt(t, cfg, nb)
		for b := range p.scores {
			p.scores[b] = 10 * rng.NormFloat64()
		}
		bins := make([]int, 1+rng.IntN(300))
		for i := range bins {
			bins[i] = min(nb-1, int(float64(nb)*math.Pow(rng.Float64(), 3)))
		}
		w := p.Weights(bins)
		sum, capped := 0.0, false
		for _, x := range w {
			if !(x > 0) && cfg.Gamma > 0 {
				t.Fatalf("trial %d: weight %v not positive", trial, x)
			}
			if x > cfg.WMax {
				t.Fatalf("trial %d: weight %v above cap %v", trial, x, cfg.WMax)
			}
			capped = capped || x == cfg.WMax
			sum += x
		}
		mean := sum / float64(len(w))
		if (!capped || cfg.Refill) && math.Abs(mean-1) > 1e-12 {
			t.Fatalf("trial %d: mean weight %v, want 1", trial, mean)
		}
		if capped && mean > 1+1e-12 {
			t.Fatalf("trial %d: capped weights have mean %v above 1", trial, mean)
		}
		if capped && cfg.Refill {
			refilled++
		}
	}
	if refilled < 20 {
		t.Fatalf("only %d trials refilled capped weights", refilled)
	}
}
