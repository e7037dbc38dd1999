package gdro

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustSqrt(t *testing.T, cfg SqrtConfig, bins int) *SqrtAllocator {
	t.Helper()
	s, err := NewSqrtAllocator(cfg, bins)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSqrtConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*SqrtConfig)
		want string
	}{
		{"budget", func(c *SqrtConfig) { c.NBar = 1 }, "budget"},
		{"beta", func(c *SqrtConfig) { c.Beta = 0 }, "beta"},
		{"eps", func(c *SqrtConfig) { c.Eps = 0 }, "eps"},
	}
	for _, tt := range tests {
		cfg := DefaultSqrtConfig()
		tt.edit(&cfg)
		if _, err := NewSqrtAllocator(cfg, 3); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// (18) VarProxy = Σ q_b·v_b/n_b.
func TestEq18VarProxy(t *testing.T) {
	got, err := VarProxy([]float64{0.5, 0.5}, []float64{1, 0.25}, []float64{2, 1})
	if err != nil || !near(got, 0.375) {
		t.Errorf("VarProxy = %v, %v; want 0.375", got, err)
	}
	if _, err := VarProxy([]float64{1}, []float64{1}, []float64{0}); err == nil {
		t.Error("0 rollouts gave no error")
	}
	if _, err := VarProxy([]float64{1}, nil, nil); err == nil {
		t.Error("mismatched lengths gave no error")
	}
}

// (18): n_b* = n̄·√v_b/Σ q̄_j √v_j, clamped by water-filling, then rounded
// at the exact budget.
func TestEq18SqrtLaw(t *testing.T) {
	tests := []struct {
		name        string
		nMin, nMax  int
		nBar        int
		vars        []float64 // EMA values; ε = 0.01 is added
		counts      map[int]int
		wantTargets map[int]float64
		want        map[int]int
	}{
		// √v = 1, 0.5; n̄ = 3: 3/(0.5·1 + 0.5·0.5) = 4 → targets 4, 2
		{"law", 1, 10, 3, []float64{0.99, 0.24}, map[int]int{0: 1, 1: 1}, map[int]float64{0: 4, 1: 2}, map[int]int{0: 4, 1: 2}},
		// n_max = 3 clamps bin 0; bin 1 rises to meet the budget
		{"clamped", 1, 3, 3, []float64{0.99, 0.24}, map[int]int{0: 1, 1: 1}, map[int]float64{0: 3, 1: 3}, map[int]int{0: 3, 1: 3}},
		// c = (1, 3), √v = 1, 0.5, n̄ = 2: λ = 8/(1 + 1.5) = 3.2 → 3.2, 1.6;
		// rounding at 1·n0 + 3·n1 = 8: (2, 2) costs 1.44 + 3·0.16 = 1.92,
		// (5, 1) costs 3.24 + 3·0.36 = 4.32
		{"rounded", 1, 6, 2, []float64{0.99, 0.24}, map[int]int{0: 1, 1: 3}, map[int]float64{0: 3.2, 1: 1.6}, map[int]int{0: 2, 1: 2}},
	}
	for _, tt := range tests {
		s := mustSqrt(t, SqrtConfig{NMin: tt.nMin, NMax: tt.nMax, NBar: tt.nBar, Beta: 0.5, Eps: 0.01}, len(tt.vars))
		copy(s.vars, tt.vars)
		for b := range s.seen {
			s.seen[b] = true
		}
		n := 0
		for _, c := range tt.counts {
			n += c
		}
		x, err := s.Targets(tt.counts, n)
		if err != nil {
			t.Fatal(err)
		}
		for b, want := range tt.wantTargets {
			if math.Abs(x[b]-want) > 1e-9 {
				t.Errorf("%s: targets %v, want %v", tt.name, x, tt.wantTargets)
				break
			}
		}
		got, err := s.Choose(tt.counts, n)
		if err != nil {
			t.Fatal(err)
		}
		for b, want := range tt.want {
			if got[b] != want {
				t.Errorf("%s: chose %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

// The unclamped square-root targets minimise (18) at the budget: moving
// budget between any two bins does not lower it.
func TestSqrtTargetsMinimiseVarProxy(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 100 {
		nb := 2 + rng.IntN(6)
		s := mustSqrt(t, SqrtConfig{NMin: 1, NMax: 255, NBar: 8, Beta: 1, Eps: 0.01}, nb)
		counts, n := map[int]int{}, 0
		for b := range nb {
			s.vars[b], s.seen[b] = 0.05+rng.Float64(), true
			counts[b] = 1 + rng.IntN(20)
			n += counts[b]
		}
		x, err := s.Targets(counts, n)
		if err != nil {
			t.Fatal(err)
		}
		q, v, xs := make([]float64, nb), make([]float64, nb), make([]float64, nb)
		spent := 0.0
		for b := range nb {
			q[b], v[b], xs[b] = float64(counts[b])/float64(n), s.vars[b]+0.01, x[b]
			spent += q[b] * x[b]
		}
		if math.Abs(spent-8) > 1e-9 {
			t.Fatalf("trial %d: mean rollouts %v, want 8", trial, spent)
		}
		best, _ := VarProxy(q, v, xs)
		i, j := rng.IntN(nb), rng.IntN(nb)
		if i == j {
			continue
		}
		for _, h := range []float64{0.01, -0.01} {
			ys := append([]float64(nil), xs...)
			ys[i] += h / q[i]
			ys[j] -= h / q[j]
			if moved, _ := VarProxy(q, v, ys); moved < best-1e-12 {
				t.Fatalf("trial %d: moving budget lowers VarProxy from %v to %v", trial, best, moved)
			}
		}
	}
}

func TestSqrtObserve(t *testing.T) {
	s := mustSqrt(t, SqrtConfig{NMin: 1, NMax: 8, NBar: 4, Beta: 0.5, Eps: 0.01}, 3)
	// bin 0: {1, 1, 1, -1}, mean 0.5, Σ(r-r̄)² = 3, unbiased 3/3 = 1
	// (the population form gives 0.75); bin 1: all wrong → 0; bin 2: a
	// single response, no estimate
	if err := s.Observe([]int{0, 0, 0, 0, 1, 1, 2}, []float64{1, 1, 1, -1, -1, -1, 1}); err != nil {
		t.Fatal(err)
	}
	if !nearSlice(s.Variances(), []float64{1, 0, 0}) || s.seen[2] {
		t.Errorf("variances %v (bin 2 seen %v), want [1 0 0] with bin 2 unseen", s.Variances(), s.seen[2])
	}
	// bin 0: {1, -1} → 2; EMA 0.5·1 + 0.5·2
	if err := s.Observe([]int{0, 0}, []float64{1, -1}); err != nil {
		t.Fatal(err)
	}
	if !nearSlice(s.Variances(), []float64{1.5, 0, 0}) {
		t.Errorf("variances %v, want [1.5 0 0]", s.Variances())
	}
	for _, bad := range []struct {
		bins    []int
		rewards []float64
	}{{[]int{0}, nil}, {[]int{3}, []float64{1}}, {[]int{0}, []float64{math.NaN()}}} {
		if err := s.Observe(bad.bins, bad.rewards); err == nil {
			t.Errorf("Observe(%v, %v) gave no error", bad.bins, bad.rewards)
		}
	}
}

// ObserveGroups estimates each prompt's variance with the unbiased (n-1)
// form, leaves out prompts with one rollout, and averages per bin.
func TestSqrtObserveGroupsUnbiased(t *testing.T) {
	tests := []struct {
		name    string
		bins    []int
		rewards [][]float64
		want    []float64 // variance per bin after one step
		seen    []bool
	}{
		// {1, -1}: population 1, unbiased 2
		{"two rollouts", []int{0}, [][]float64{{1, -1}}, []float64{2, 0}, []bool{true, false}},
		// {1, 1, 1, -1}: population 0.75, unbiased 1
		{"four rollouts", []int{1}, [][]float64{{1, 1, 1, -1}}, []float64{0, 1}, []bool{false, true}},
		// prompts with variances 2 and 0 average to 1
		{"two prompts", []int{0, 0}, [][]float64{{1, -1}, {1, 1}}, []float64{1, 0}, []bool{true, false}},
		// n_i = 1: no information, the prompt is left out
		{"single rollout left out", []int{0, 0}, [][]float64{{1}, {1, -1, 1, -1}}, []float64{4.0 / 3, 0}, []bool{true, false}},
		{"bin of single rollouts", []int{0, 1}, [][]float64{{-1}, {1, -1}}, []float64{0, 2}, []bool{false, true}},
	}
	for _, tt := range tests {
		s := mustSqrt(t, SqrtConfig{NMin: 1, NMax: 8, NBar: 4, Beta: 0.5, Eps: 0.01}, 2)
		if err := s.ObserveGroups(tt.bins, tt.rewards); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !nearSlice(s.Variances(), tt.want) || s.seen[0] != tt.seen[0] || s.seen[1] != tt.seen[1] {
			t.Errorf("%s: variances %v seen %v, want %v seen %v", tt.name, s.Variances(), s.seen, tt.want, tt.seen)
		}
	}
	s := mustSqrt(t, DefaultSqrtConfig(), 2)
	for _, bad := range []struct {
		name    string
		bins    []int
		rewards [][]float64
	}{
		{"no rewards", []int{0}, [][]float64{{}}},
		{"mismatched lengths", []int{0, 1}, [][]float64{{1}}},
		{"bin out of range", []int{2}, [][]float64{{1, -1}}},
		{"bin out of range, one rollout", []int{-1}, [][]float64{{1}}},
		{"NaN reward", []int{0}, [][]float64{{1, math.NaN()}}},
	} {
		if err := s.ObserveGroups(bad.bins, bad.rewards); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}

// Bins never observed: all unseen gives n̄ everywhere; an unseen bin next to
// seen ones takes their mean variance.
func TestSqrtUnseenBins(t *testing.T) {
	s := mustSqrt(t, DefaultSqrtConfig(), 3)
	got, err := s.Choose(map[int]int{0: 5, 2: 3}, 8)
	if err != nil || got[0] != 4 || got[2] != 4 {
		t.Errorf("fresh allocator chose %v, %v; want n̄ = 4", got, err)
	}
	s.vars[0], s.seen[0] = 0.99, true
	x, err := s.Targets(map[int]int{0: 1, 1: 1}, 2)
	if err != nil || math.Abs(x[0]-x[1]) > 1e-9 {
		t.Errorf("unseen bin next to a seen one: targets %v, %v; want equal", x, err)
	}
	if _, err := s.Choose(map[int]int{0: 1}, 2); err == nil {
		t.Error("counts not adding up to n gave no error")
	}
}
