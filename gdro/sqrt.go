package gdro

import (
	"encoding/json"
	"fmt"
	"math"
)

// SqrtConfig sets the square-root allocator (design note section 5.1).
type SqrtConfig struct {
	// NMin and NMax bound the rollout counts a bin may get.
	NMin int `json:"n_min"`
	NMax int `json:"n_max"`
	// NBar is the mean budget n̄ of rollouts per prompt, in [NMin, NMax].
	NBar int `json:"n_bar"`
	// Beta is the EMA rate of the per-bin reward variance, in (0, 1].
	Beta float64 `json:"beta"`
	// Eps is ε > 0, added to every variance so that no bin's share
	// vanishes.
	Eps float64 `json:"eps"`
}

// DefaultSqrtConfig returns arms {2..12} and n̄ = 4 (as for Rollout-GDRO),
// a variance EMA rate of 0.4 (the paper's App. A EMA value) and ε = 0.01
// (1% of the largest variance of ±1 rewards).
func DefaultSqrtConfig() SqrtConfig {
	return SqrtConfig{NMin: 2, NMax: 12, NBar: 4, Beta: 0.4, Eps: 0.01}
}

func (cfg SqrtConfig) validate() error {
	if err := validateBudget("sqrt allocator", cfg.NMin, cfg.NMax, cfg.NBar); err != nil {
		return err
	}
	if !(cfg.Beta > 0 && cfg.Beta <= 1) {
		return fmt.Errorf("gdro: sqrt allocator: beta is %v, want a value in (0, 1]", cfg.Beta)
	}
	if !(cfg.Eps > 0) || math.IsInf(cfg.Eps, 0) {
		return fmt.Errorf("gdro: sqrt allocator: eps is %v, want a finite value > 0", cfg.Eps)
	}
	return nil
}

// SqrtAllocator gives each bin a number of rollouts proportional to the
// square root of its reward variance, the minimiser of the variance proxy
// (18): n_b = n̄·√v_b / Σ_j q̄_j·√v_j, where q̄_j is bin j's share of the
// prompts. It is deterministic and needs no loss signal.
type SqrtAllocator struct {
	cfg  SqrtConfig
	vars []float64 // EMA of the reward variance per bin, without ε
	seen []bool
	last lastAlloc // the allocation of the last Choose
}

// NewSqrtAllocator returns a square-root allocator over numBins bins with
// no variance observed yet.
func NewSqrtAllocator(cfg SqrtConfig, numBins int) (*SqrtAllocator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if numBins < 1 {
		return nil, fmt.Errorf("gdro: sqrt allocator: %d bins, want at least 1", numBins)
	}
	return &SqrtAllocator{cfg: cfg, vars: make([]float64, numBins), seen: make([]bool, numBins)}, nil
}

// Config returns the settings.
func (s *SqrtAllocator) Config() SqrtConfig { return s.cfg }

// NumBins returns the number of bins.
func (s *SqrtAllocator) NumBins() int { return len(s.vars) }

// LastCounts returns a copy of the prompts per bin, c_b, of the last
// Choose, indexed by bin (0 for bins without prompts), or nil before the
// first Choose.
func (s *SqrtAllocator) LastCounts() []int {
	c, _ := s.last.copies()
	return c
}

// LastRollouts returns a copy of the rollouts per prompt, n_b, that the
// last Choose gave each bin, indexed by bin (0 for bins without prompts),
// or nil before the first Choose.
func (s *SqrtAllocator) LastRollouts() []int {
	_, n := s.last.copies()
	return n
}

// Variances returns a copy of the per-bin variance EMAs (without ε; 0 for
// bins never observed).
func (s *SqrtAllocator) Variances() []float64 { return append([]float64(nil), s.vars...) }

// Targets returns the continuous allocation x_b for the bins with prompts:
// x_b = clamp(λ·√v_b, NMin, NMax) with λ set so that Σ_b c_b·x_b = n·n̄,
// which is the square-root law when no clamp binds and the KKT solution
// n_b(μ) = clamp(√(v_b/μ)) of (18) otherwise. v_b is the bin's variance
// EMA plus ε; a bin never observed takes the mean of the observed bins
// present (ε included), and if none is observed every bin gets n̄.
func (s *SqrtAllocator) Targets(counts map[int]int, n int) (map[int]float64, error) {
	bins, cs, err := presentBins(len(s.vars), counts, n)
	if err != nil {
		return nil, fmt.Errorf("gdro: sqrt allocator: %w", err)
	}
	x := s.targets(bins, cs, n)
	out := make(map[int]float64, len(bins))
	for g, b := range bins {
		out[b] = x[g]
	}
	return out, nil
}

func (s *SqrtAllocator) targets(bins, cs []int, n int) []float64 {
	root := make([]float64, len(bins))
	seenSum, seenCount := 0.0, 0
	for _, b := range bins {
		if s.seen[b] {
			seenSum += s.vars[b] + s.cfg.Eps
			seenCount++
		}
	}
	fill := 1.0
	if seenCount > 0 {
		fill = seenSum / float64(seenCount)
	}
	minRoot := math.Inf(1)
	for g, b := range bins {
		v := fill
		if s.seen[b] {
			v = s.vars[b] + s.cfg.Eps
		}
		root[g] = math.Sqrt(v)
		minRoot = min(minRoot, root[g])
	}
	lo, hi := float64(s.cfg.NMin), float64(s.cfg.NMax)
	budget := float64(n * s.cfg.NBar)
	spend := func(lambda float64) float64 {
		t := 0.0
		for g, r := range root {
			t += float64(cs[g]) * max(lo, min(hi, lambda*r))
		}
		return t
	}
	// spend is continuous and nondecreasing in λ, from n·NMin at λ = 0 to
	// n·NMax at λ = NMax/min √v; bisect to the last bit.
	a, b := 0.0, hi/minRoot
	for range 200 {
		mid := a + (b-a)/2
		if mid <= a || mid >= b {
			break
		}
		if spend(mid) < budget {
			a = mid
		} else {
			b = mid
		}
	}
	x := make([]float64, len(root))
	for g, r := range root {
		x[g] = max(lo, min(hi, b*r))
	}
	return x
}

// Choose returns the rollout count n_b for each bin with prompts, given
// counts (prompts per bin, c_b) and n, the number of prompts, which must
// equal the sum of counts. It takes the targets x_b of Targets and rounds
// them with the same exact-budget programme as RolloutGDRO, minimising
// Σ_b c_b·(n_b - x_b)² subject to Σ_b c_b·n_b = n·n̄.
func (s *SqrtAllocator) Choose(counts map[int]int, n int) (map[int]int, error) {
	bins, cs, err := presentBins(len(s.vars), counts, n)
	if err != nil {
		return nil, fmt.Errorf("gdro: sqrt allocator: %w", err)
	}
	x := s.targets(bins, cs, n)
	cost := make([][]float64, len(bins))
	for g := range bins {
		cost[g] = make([]float64, s.cfg.NMax-s.cfg.NMin+1)
		for a := range cost[g] {
			d := float64(s.cfg.NMin+a) - x[g]
			cost[g][a] = float64(cs[g]) * d * d
		}
	}
	sol, err := allocate(cs, cost, s.cfg.NMin, s.cfg.NMax, s.cfg.NBar, n*s.cfg.NBar)
	if err != nil {
		return nil, fmt.Errorf("gdro: sqrt allocator: %w", err)
	}
	s.last.record(len(s.vars), bins, cs, sol)
	return solutionMap(bins, sol), nil
}

// Observe folds one step's rewards into the per-bin variance EMAs,
// pooling each bin's responses: for each bin with at least two responses,
// the unbiased sample variance of their rewards (about 4p(1-p) for ±1
// rewards with accuracy p), then v_b ← value the first time and
// v_b ← (1-β)·v_b + β·value after. A bin with a single response keeps its
// estimate. ObserveGroups uses the within-prompt variance instead.
func (s *SqrtAllocator) Observe(respBins []int, rewards []float64) error {
	if _, _, err := binMeans(len(s.vars), respBins, rewards); err != nil {
		return fmt.Errorf("gdro: sqrt allocator observe: %w", err)
	}
	byBin := make([][]float64, len(s.vars))
	for i, b := range respBins {
		byBin[b] = append(byBin[b], rewards[i])
	}
	for b, r := range byBin {
		if v, ok := sampleVar(r); ok {
			s.fold(b, v)
		}
	}
	return nil
}

// ObserveGroups is Observe with the within-prompt variance of the design
// note (5.1): bins[i] is prompt i's bin and rewards[i] its rollouts'
// rewards. Each prompt's value is the unbiased sample variance of its
// rewards, Σ_j (r_j - r̄)²/(n_i - 1), since the population form (divide by
// n_i) is biased low by the factor (n_i - 1)/n_i and would starve the
// bins that get few rollouts. A prompt with a single rollout carries no
// information about its variance and is left out; each bin's value is
// the mean over its remaining prompts, and a bin with none keeps its
// estimate.
func (s *SqrtAllocator) ObserveGroups(bins []int, rewards [][]float64) error {
	if len(bins) != len(rewards) {
		return fmt.Errorf("gdro: sqrt allocator observe: %d bins but %d reward groups", len(bins), len(rewards))
	}
	var used []int
	var vals []float64
	for i, r := range rewards {
		if len(r) == 0 {
			return fmt.Errorf("gdro: sqrt allocator observe: prompt %d has no rewards", i)
		}
		if err := checkFinite("reward", r); err != nil {
			return fmt.Errorf("gdro: sqrt allocator observe: prompt %d: %w", i, err)
		}
		if b := bins[i]; b < 0 || b >= len(s.vars) {
			return fmt.Errorf("gdro: sqrt allocator observe: prompt %d: bin %d out of range [0, %d)", i, b, len(s.vars))
		}
		if v, ok := sampleVar(r); ok {
			used, vals = append(used, bins[i]), append(vals, v)
		}
	}
	means, counts, err := binMeans(len(s.vars), used, vals)
	if err != nil {
		return fmt.Errorf("gdro: sqrt allocator observe: %w", err)
	}
	for b, c := range counts {
		if c > 0 {
			s.fold(b, means[b])
		}
	}
	return nil
}

func (s *SqrtAllocator) fold(b int, v float64) {
	if !s.seen[b] {
		s.vars[b], s.seen[b] = v, true
		return
	}
	s.vars[b] = (1-s.cfg.Beta)*s.vars[b] + s.cfg.Beta*v
}

// VarProxy is (18), Σ_b q_b·v_b/n_b: the variance proxy of the per-bin
// gradient estimates when bin b has share q_b, variance v_b and n_b
// rollouts per prompt.
func VarProxy(q, v, n []float64) (float64, error) {
	if len(q) != len(v) || len(q) != len(n) {
		return 0, fmt.Errorf("gdro: variance proxy: lengths %d, %d, %d differ", len(q), len(v), len(n))
	}
	t := 0.0
	for b := range q {
		if !(n[b] > 0) {
			return 0, fmt.Errorf("gdro: variance proxy: bin %d has %v rollouts", b, n[b])
		}
		t += q[b] * v[b] / n[b]
	}
	return t, nil
}

// sqrtJSON is the serialized form of a SqrtAllocator.
type sqrtJSON struct {
	Config    SqrtConfig `json:"config"`
	Variances []float64  `json:"variances"`
	Seen      []bool     `json:"seen"`
	// LastCounts and LastRollouts are the last Choose's c_b and n_b per
	// bin; absent before the first Choose.
	LastCounts   []int `json:"last_counts,omitempty"`
	LastRollouts []int `json:"last_rollouts,omitempty"`
}

// MarshalJSON writes the settings, variance EMAs and last allocation.
func (s *SqrtAllocator) MarshalJSON() ([]byte, error) {
	return json.Marshal(sqrtJSON{Config: s.cfg, Variances: s.vars, Seen: s.seen,
		LastCounts: s.last.counts, LastRollouts: s.last.rollouts})
}

// UnmarshalJSON restores a SqrtAllocator written by MarshalJSON, settings
// included, replacing s's state.
func (s *SqrtAllocator) UnmarshalJSON(data []byte) error {
	var in sqrtJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("gdro: sqrt allocator state: %w", err)
	}
	ns, err := NewSqrtAllocator(in.Config, len(in.Variances))
	if err != nil {
		return fmt.Errorf("gdro: sqrt allocator state: %w", err)
	}
	if len(in.Seen) != len(in.Variances) {
		return fmt.Errorf("gdro: sqrt allocator state: %d variances but %d seen flags", len(in.Variances), len(in.Seen))
	}
	for b, v := range in.Variances {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("gdro: sqrt allocator state: bin %d variance %v", b, v)
		}
	}
	ns.last = lastAlloc{counts: in.LastCounts, rollouts: in.LastRollouts}
	if err := ns.last.check(len(ns.vars), ns.cfg.NMin, ns.cfg.NMax); err != nil {
		return fmt.Errorf("gdro: sqrt allocator state: %w", err)
	}
	copy(ns.vars, in.Variances)
	copy(ns.seen, in.Seen)
	*s = *ns
	return nil
}
