package gdro

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustClassifier(t *testing.T, cfg ClassifierConfig) *Classifier {
	t.Helper()
	c, err := NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassifierConfigErrors(t *testing.T) {
	hundred, err := UniformEdges(100) // 0.01, ..., 0.99
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  ClassifierConfig
		want string // "" for a valid config
	}{
		{"edge zero", ClassifierConfig{Edges: []float64{0, 0.5}}, "edge 1 of 2 is 0"},
		{"edge one", ClassifierConfig{Edges: []float64{0.5, 1}}, "edge 2 of 2 is 1"},
		{"edge negative", ClassifierConfig{Edges: []float64{-0.2}}, "strictly between 0 and 1"},
		{"edge NaN", ClassifierConfig{Edges: []float64{math.NaN()}}, "edge 1 of 1 is NaN"},
		{"edge +Inf", ClassifierConfig{Edges: []float64{math.Inf(1)}}, "edge 1 of 1"},
		{"repeated", ClassifierConfig{Edges: []float64{0.5, 0.5}}, "edge 2 of 2 (0.5) is not above edge 1 (0.5)"},
		{"decreasing", ClassifierConfig{Edges: []float64{0.2, 0.6, 0.4}}, "increase strictly"},
		{"negative window", ClassifierConfig{Window: -1}, "window"},
		{"huge window", ClassifierConfig{Window: maxWindow + 1}, "window"},
		{"negative delta", ClassifierConfig{Delta: -0.1}, "delta"},
		{"NaN delta", ClassifierConfig{Delta: math.NaN()}, "delta"},
		{"delta too large", ClassifierConfig{Delta: 0.5}, "delta"},
		// the trap: 100 uniform bins with δ = 0.03
		{"top bin unreachable", ClassifierConfig{Edges: hundred, Delta: 0.03}, "the lowest edge 0.01 is within the hysteresis delta 0.03 of 0"},
		{"top edge within delta of 1", ClassifierConfig{Edges: []float64{0.5, 0.99}, Delta: 0.03},
			"the top edge 0.99 is within the hysteresis delta 0.03 of 1, so no prompt can reach the top bin (that needs a pass rate of at least 1.02): use a top edge of at most 0.97 or a delta of at most 0.01"},
		{"lowest edge within delta of 0", ClassifierConfig{Edges: []float64{0.02, 0.5}, Delta: 0.03},
			"a prompt that leaves bin 0 can never return to it (that needs a pass rate of at most -0.01): use a lowest edge of at least 0.03 or a delta of at most 0.02"},
		{"single edge near 1", ClassifierConfig{Edges: []float64{0.9}, Delta: 0.2}, "top edge 0.9"},
		{"edges at the margins", ClassifierConfig{Edges: []float64{0.03, 0.5, 0.97}, Delta: 0.03}, ""},
		{"100 bins without hysteresis", ClassifierConfig{Edges: hundred}, ""},
		{"one bin", ClassifierConfig{Delta: 0.4}, ""},
		{"default", DefaultClassifierConfig(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClassifier(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// With the outer edges exactly δ from 0 and 1, as validation allows, both
// outer bins stay reachable: a prompt climbs to the top bin at p̂ = 1 and
// returns to bin 0 at p̂ = 0.
func TestEdgeMarginsKeepOuterBinsReachable(t *testing.T) {
	for _, d := range []float64{0.01, 0.03, 0.05, 0.07, 0.1} {
		c, err := NewClassifier(ClassifierConfig{Edges: []float64{d, 0.5, 1 - d}, Window: 1, Delta: d})
		if err != nil {
			t.Fatalf("δ = %v: %v", d, err)
		}
		if err := c.Observe("x", 1); err != nil || c.Bin("x") != 3 {
			t.Errorf("δ = %v: at p̂ = 1 the prompt is in bin %d (%v), want the top bin 3", d, c.Bin("x"), err)
		}
		if err := c.Observe("x", 0); err != nil || c.Bin("x") != 0 {
			t.Errorf("δ = %v: at p̂ = 0 the prompt is in bin %d (%v), want bin 0", d, c.Bin("x"), err)
		}
	}
}

func TestDefaultClassifierConfig(t *testing.T) {
	c := mustClassifier(t, DefaultClassifierConfig())
	if c.NumBins() != 10 {
		t.Fatalf("NumBins = %d, want 10", c.NumBins())
	}
	edges, err := UniformEdges(10)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range DefaultClassifierConfig().Edges {
		if a != edges[i] {
			t.Errorf("edge %d = %v, want %v", i, a, edges[i])
		}
	}
	if _, err := UniformEdges(0); err == nil {
		t.Error("UniformEdges(0) gave no error")
	}
}

// (1) c_t(x): StatAny is 1 exactly when some rollout is correct.
func TestEq1AnyCorrect(t *testing.T) {
	tests := []struct{ n, c int }{{4, 0}, {4, 1}, {4, 4}, {1, 0}, {1, 1}}
	for _, tt := range tests {
		got, err := StepStat(StatAny, tt.n, tt.c, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := 0.0
		if tt.c > 0 {
			want = 1
		}
		if got != want {
			t.Errorf("any(n=%d, c=%d) = %v, want %v", tt.n, tt.c, got, want)
		}
	}
}

func TestStepStat(t *testing.T) {
	tests := []struct {
		kind     string
		n, c, k  int
		want     float64
		errMatch string
	}{
		{kind: StatMean, n: 4, c: 1, want: 0.25},
		{kind: StatMean, n: 8, c: 8, want: 1},
		{kind: StatPassK, n: 4, c: 1, k: 2, want: 0.5},     // 1 - C(3,2)/C(4,2) = 1 - 3/6
		{kind: StatPassK, n: 8, c: 0, k: 4, want: 0},       // no success, no pass
		{kind: StatPassK, n: 4, c: 3, k: 2, want: 1},       // n-c = 1 < k
		{kind: StatPassK, n: 2, c: 1, k: 4, want: 1},       // k lowered to n = 2
		{kind: StatPassK, n: 3, c: 1, k: 1, want: 1.0 / 3}, // pass@1 is the mean
		{kind: StatAny, n: 0, errMatch: "rollouts"},
		{kind: StatAny, n: 4, c: 5, errMatch: "correct"},
		{kind: StatMean, n: 4, c: -1, errMatch: "correct"},
		{kind: StatPassK, n: 4, c: 1, k: 0, errMatch: "k >= 1"},
		{kind: "best", n: 4, c: 1, errMatch: "unknown kind"},
	}
	for _, tt := range tests {
		got, err := StepStat(tt.kind, tt.n, tt.c, tt.k)
		if tt.errMatch != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
				t.Errorf("StepStat(%q, %d, %d, %d) error %v, want %q", tt.kind, tt.n, tt.c, tt.k, err, tt.errMatch)
			}
			continue
		}
		if err != nil || math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("StepStat(%q, %d, %d, %d) = %v, %v; want %v", tt.kind, tt.n, tt.c, tt.k, got, err, tt.want)
		}
	}
}

// binomial returns C(n, k) exactly for the small n used here.
func binomial(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// (21) pass@k = 1 - C(n-c, k)/C(n, k).
func TestEq21PassAtK(t *testing.T) {
	tests := []struct {
		n, c, k int
		want    float64
	}{
		{4, 1, 1, 0.25},
		{4, 2, 2, 5.0 / 6},    // 1 - 1/6
		{5, 2, 3, 0.9},        // 1 - C(3,3)/C(5,3) = 1 - 1/10
		{10, 3, 2, 24.0 / 45}, // 1 - C(7,2)/C(10,2) = 1 - 21/45
		{8, 1, 8, 1},          // n = k: any correct
		{8, 0, 8, 0},
		{8, 8, 1, 1},
	}
	for _, tt := range tests {
		if got := PassAtK(tt.n, tt.c, tt.k); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("PassAtK(%d, %d, %d) = %v, want %v", tt.n, tt.c, tt.k, got, tt.want)
		}
	}
	for n := 1; n <= 16; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= n; k++ {
				want := 1 - binomial(n-c, k)/binomial(n, k)
				if got := PassAtK(n, c, k); math.Abs(got-want) > 1e-12 {
					t.Errorf("PassAtK(%d, %d, %d) = %v, binomial form %v", n, c, k, got, want)
				}
			}
		}
	}
	for _, bad := range [][3]int{{0, 0, 1}, {4, 5, 1}, {4, -1, 1}, {4, 1, 0}, {4, 1, 5}} {
		if got := PassAtK(bad[0], bad[1], bad[2]); !math.IsNaN(got) {
			t.Errorf("PassAtK%v = %v, want NaN", bad, got)
		}
	}
}

// (2) p̂ is the mean of the last H values, or of the whole history for H = 0;
// an unseen prompt has p̂ = 0 and sits in bin 0.
func TestEq2Estimate(t *testing.T) {
	tests := []struct {
		window int
		values []float64
		want   float64
	}{
		{0, nil, 0},
		{3, []float64{1, 0, 1, 1}, 2.0 / 3},
		{3, []float64{1, 0}, 0.5},
		{1, []float64{0.25, 0.75}, 0.75},
		{0, []float64{1, 0, 1, 1}, 0.75},
		{2, []float64{1, 1, 0, 0, 0.5}, 0.25},
	}
	for _, tt := range tests {
		c := mustClassifier(t, ClassifierConfig{Edges: []float64{0.5}, Window: tt.window})
		for _, v := range tt.values {
			if err := c.Observe("x", v); err != nil {
				t.Fatal(err)
			}
		}
		got, seen := c.Estimate("x")
		if got != tt.want || seen != (len(tt.values) > 0) {
			t.Errorf("H=%d values %v: p̂ = %v (seen %v), want %v", tt.window, tt.values, got, seen, tt.want)
		}
	}
	c := mustClassifier(t, DefaultClassifierConfig())
	if c.Bin("never") != 0 || c.NumPrompts() != 0 {
		t.Error("an unseen prompt is not in bin 0")
	}
}

// (3) raw bin b with p̂ ∈ [a_b, a_{b+1}); p̂ = 1 in the top bin.
func TestEq3RawBin(t *testing.T) {
	c := mustClassifier(t, DefaultClassifierConfig())
	tests := []struct {
		p    float64
		want int
	}{{0, 0}, {0.05, 0}, {0.1, 1}, {0.15, 1}, {0.3, 3}, {0.5, 5}, {0.8999, 8}, {0.9, 9}, {0.95, 9}, {1, 9}}
	for _, tt := range tests {
		if got := c.RawBin(tt.p); got != tt.want {
			t.Errorf("RawBin(%v) = %d, want %d", tt.p, got, tt.want)
		}
	}
	three := mustClassifier(t, ClassifierConfig{Edges: []float64{0.2, 0.7}})
	for p, want := range map[float64]int{0.1: 0, 0.2: 1, 0.69: 1, 0.7: 2, 1: 2} {
		if got := three.RawBin(p); got != want {
			t.Errorf("3 bins: RawBin(%v) = %d, want %d", p, got, want)
		}
	}
}

// (4) hysteresis: hand-worked paths with window 1, so p̂ is the last value.
func TestEq4Hysteresis(t *testing.T) {
	tests := []struct {
		name  string
		cfg   ClassifierConfig
		steps []float64
		bins  []int
	}{
		{
			// edge 0.5, δ = 0.1: up needs p̂ >= 0.6, down needs p̂ <= 0.4
			name:  "two bins",
			cfg:   ClassifierConfig{Edges: []float64{0.5}, Window: 1, Delta: 0.1},
			steps: []float64{0.55, 0.65, 0.45, 0.55, 0.35, 0.45},
			bins:  []int{0, 1, 1, 1, 0, 0},
		},
		{
			// default edges, δ = 0.03. 0.51 from 0: clears 0.4+δ but not
			// 0.5+δ, so bin 4. 0.12 from 4: clears 0.2-δ but not 0.1-δ, so
			// bin 1. 0.115 from 1: raw bin 1, stay. 1 from 1: bin 9.
			// 0.88 from 9: raw 8 but 0.88 > 0.9-δ, stay. 0.86: bin 8.
			name:  "ten bins",
			cfg:   ClassifierConfig{Edges: DefaultClassifierConfig().Edges, Window: 1, Delta: 0.03},
			steps: []float64{0.51, 0.12, 0.115, 1, 0.88, 0.86},
			bins:  []int{4, 1, 1, 9, 9, 8},
		},
		{
			name:  "no hysteresis",
			cfg:   ClassifierConfig{Edges: DefaultClassifierConfig().Edges, Window: 1},
			steps: []float64{0.51, 0.12, 0.1, 0.0999, 1, 0.9},
			bins:  []int{5, 1, 1, 0, 9, 9},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustClassifier(t, tt.cfg)
			for i, v := range tt.steps {
				if err := c.Observe("x", v); err != nil {
					t.Fatal(err)
				}
				if got := c.Bin("x"); got != tt.bins[i] {
					t.Fatalf("step %d (p̂ = %v): bin %d, want %d", i, v, got, tt.bins[i])
				}
			}
		})
	}
}

func TestObserveRejectsBadValues(t *testing.T) {
	c := mustClassifier(t, DefaultClassifierConfig())
	for _, v := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		if err := c.Observe("x", v); err == nil {
			t.Errorf("Observe(%v) gave no error", v)
		}
	}
	if c.NumPrompts() != 0 {
		t.Error("a rejected value changed the state")
	}
	var zero Classifier
	if err := zero.Observe("x", 0.5); err == nil {
		t.Error("a classifier not made by NewClassifier accepted a value")
	}
}

// Property: over random edges, δ, windows and values, a move never crosses
// an edge by less than δ, lands between the previous and the raw bin, and
// with δ = 0 lands on the raw bin.
func TestHysteresisProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := range 200 {
		nb := 1 + rng.IntN(12)
		edges := make([]float64, 0, nb-1)
		for len(edges) < nb-1 {
			a := (float64(len(edges)+1) + 0.8*(rng.Float64()-0.5)) / float64(nb)
			edges = append(edges, a)
		}
		delta := 0.0
		if trial%4 != 0 {
			delta = 0.2 * rng.Float64() / float64(nb)
		}
		c := mustClassifier(t, ClassifierConfig{Edges: edges, Window: rng.IntN(4), Delta: delta})
		a := append(append([]float64{0}, edges...), 1)
		for step := range 60 {
			id := string(rune('a' + rng.IntN(5)))
			prev := c.Bin(id)
			v := rng.Float64()
			if step%3 == 0 {
				v = float64(rng.IntN(2))
			}
			if err := c.Observe(id, v); err != nil {
				t.Fatal(err)
			}
			p, _ := c.Estimate(id)
			got, raw := c.Bin(id), c.RawBin(p)
			if (got-prev)*(got-raw) > 0 {
				t.Fatalf("trial %d: moved from %d to %d, outside [prev, raw=%d]", trial, prev, got, raw)
			}
			for e := prev + 1; e <= got; e++ {
				if p < a[e]+delta {
					t.Fatalf("trial %d: moved up across edge %v with p̂ = %v, δ = %v", trial, a[e], p, delta)
				}
			}
			for e := got + 1; e <= prev; e++ {
				if p > a[e]-delta {
					t.Fatalf("trial %d: moved down across edge %v with p̂ = %v, δ = %v", trial, a[e], p, delta)
				}
			}
			if delta == 0 && got != raw {
				t.Fatalf("trial %d: δ = 0 but bin %d != raw %d", trial, got, raw)
			}
		}
	}
}
