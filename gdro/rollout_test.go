package gdro

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustRollout(t *testing.T, cfg RolloutConfig, bins int) *RolloutGDRO {
	t.Helper()
	r, err := NewRolloutGDRO(cfg, bins)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRolloutConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*RolloutConfig)
		want string
	}{
		{"n_min", func(c *RolloutConfig) { c.NMin = 0 }, "range"},
		{"n_max", func(c *RolloutConfig) { c.NMax = 1 }, "range"},
		{"too many arms", func(c *RolloutConfig) { c.NMax = 300 }, "range"},
		{"budget", func(c *RolloutConfig) { c.NBar = 13 }, "budget"},
		{"eta", func(c *RolloutConfig) { c.Eta = math.Inf(1) }, "eta"},
		{"gamma", func(c *RolloutConfig) { c.Gamma = -0.1 }, "gamma"},
		{"alpha", func(c *RolloutConfig) { c.AlphaMu = -1 }, "alpha"},
		{"sign", func(c *RolloutConfig) { c.Sign = "minus" }, "sign"},
	}
	for _, tt := range tests {
		cfg := DefaultRolloutConfig()
		tt.edit(&cfg)
		if _, err := NewRolloutGDRO(cfg, 3); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewRolloutGDRO(DefaultRolloutConfig(), 0); err == nil {
		t.Error("0 bins gave no error")
	}
}

// (14) p_b(n) = (1-γ)·softmax(η·s_b)(n) + γ/|arms|.
func TestEq14ArmProbs(t *testing.T) {
	cfg := RolloutConfig{NMin: 1, NMax: 2, NBar: 1, Eta: 1, Gamma: 0.1, Sign: SignCode}
	r := mustRollout(t, cfg, 2)
	r.scores[1] = []float64{0, math.Log(3)}
	if got := r.ArmProbs(0); !nearSlice(got, []float64{0.5, 0.5}) {
		t.Errorf("fresh arm probabilities %v", got)
	}
	want := []float64{0.9*0.25 + 0.05, 0.9*0.75 + 0.05}
	if got := r.ArmProbs(1); !nearSlice(got, want) {
		t.Errorf("arm probabilities %v, want %v", got, want)
	}
	cost := r.armCosts(1)
	for a := range want {
		if !near(cost[a], -math.Log(want[a])) {
			t.Errorf("arm %d cost %v, want -log p = %v", a, cost[a], -math.Log(want[a]))
		}
	}
	r.cfg.Gamma = 0
	r.scores[1] = []float64{0, 2000} // p underflows for arm 0
	if cost := r.armCosts(1); !near(cost[0], 2000) || cost[1] != 0 {
		t.Errorf("log-domain costs %v, want [2000 0]", cost)
	}
	if r.ArmProbs(2) != nil || r.ArmScores(-1) != nil {
		t.Error("out-of-range bin gave arm data")
	}
}

// (12), (15): the choice minimises Σ -log p_b(n_b) at Σ c_b·n_b = N·n̄.
func TestEq12Eq15Choose(t *testing.T) {
	cfg := RolloutConfig{NMin: 1, NMax: 3, NBar: 2, Eta: 1, Gamma: 0, Sign: SignCode}
	tests := []struct {
		name   string
		scores [][]float64
		counts map[int]int
		want   map[int]int
	}{
		{"fresh gives n̄", nil, map[int]int{0: 3, 1: 1, 2: 2}, map[int]int{0: 2, 1: 2, 2: 2}},
		// bin 0 prefers 3, bin 1 prefers 1: (3, 1) meets 2·2 = 4
		{"preferences fit", [][]float64{{0, 0, 2}, {2, 0, 0}, {0, 0, 0}}, map[int]int{0: 1, 1: 1}, map[int]int{0: 3, 1: 1}},
		// both prefer 3, only one can have it: bin 0's preference is
		// stronger, so (3, 1) costs less than (1, 3)
		{"budget binds", [][]float64{{0, 0, 3}, {0, 0, 1}, {0, 0, 0}}, map[int]int{0: 1, 1: 1}, map[int]int{0: 3, 1: 1}},
		// c = (2, 1), budget 6: 2·n0 + n1 = 6 allows only n0 = n1 = 2
		{"counts constrain", [][]float64{{0, 0, 5}, {5, 0, 0}, {0, 0, 0}}, map[int]int{0: 2, 1: 1}, map[int]int{0: 2, 1: 2}},
		{"empty bins skipped", nil, map[int]int{0: 0, 2: 4}, map[int]int{2: 2}},
	}
	for _, tt := range tests {
		r := mustRollout(t, cfg, 3)
		if tt.scores != nil {
			r.scores = tt.scores
		}
		n := 0
		for _, c := range tt.counts {
			n += c
		}
		got, err := r.Choose(tt.counts, n)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: chose %v, want %v", tt.name, got, tt.want)
		}
		for b, v := range tt.want {
			if got[b] != v {
				t.Errorf("%s: chose %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

func TestChooseErrors(t *testing.T) {
	r := mustRollout(t, DefaultRolloutConfig(), 3)
	tests := []struct {
		counts map[int]int
		n      int
		want   string
	}{
		{map[int]int{0: 2}, 0, "prompts"},
		{map[int]int{3: 2}, 2, "out of range"},
		{map[int]int{0: -1, 1: 3}, 2, "-1 prompts"},
		{map[int]int{0: 2, 1: 2}, 3, "add up"},
	}
	for _, tt := range tests {
		if _, err := r.Choose(tt.counts, tt.n); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Choose(%v, %d) error %v, want %q", tt.counts, tt.n, err, tt.want)
		}
	}
}

// (13), (16), (17): feedback under both signs and the shadow price.
func TestEq13Eq16Eq17Update(t *testing.T) {
	tests := []struct {
		name    string
		sign    string
		mu      float64
		counts  []int // c_b of the last Choose, which gave n = [3 1]
		resp    int   // responses in the signal, all in bin 0
		wantArm float64
		wantMu  float64
	}{
		// ℓ̄ = 0.6, n_0 = 3, n̄ = 2; counts [1 1] give n̂ = 2 = n̄
		{"code, μ = 0", SignCode, 0, []int{1, 1}, 3, 0.6, 0},
		{"code, μ = 0.5", SignCode, 0.5, []int{1, 1}, 3, 0.6 - 0.5*(3-2), 0.5},
		// paper: s += Ĵ - μn = -ℓ̄ - μn, i.e. minus the arm loss (13)
		{"paper, μ = 0.5", SignPaper, 0.5, []int{1, 1}, 3, -0.6 - 0.5*3, 0.5},
		// counts [2 1]: n̂ = (2·3 + 1)/3 = 7/3 > n̄
		{"over budget", SignCode, 0.25, []int{2, 1}, 3, 0.6 - 0.25*(3-2), 0.25 + 0.05*(7.0/3-2)},
		// a signal over part of the responses leaves μ where it was
		{"partial signal", SignPaper, 0, []int{1, 1}, 1, -0.3, 0},
	}
	for _, tt := range tests {
		cfg := RolloutConfig{NMin: 1, NMax: 3, NBar: 2, Eta: 1, Gamma: 0.01, AlphaMu: 0.05, Sign: tt.sign}
		r := mustRollout(t, cfg, 2)
		r.mu = tt.mu
		r.last = lastAlloc{counts: tt.counts, rollouts: []int{3, 1}}
		bins := make([]int, tt.resp)
		loss := []float64{0.3, 0.6, 0.9}[:tt.resp]
		if err := r.Update(map[int]int{0: 3, 1: 1}, bins, loss); err != nil {
			t.Fatal(err)
		}
		if got := r.ArmScores(0); !near(got[2], tt.wantArm) || got[0] != 0 || got[1] != 0 {
			t.Errorf("%s: arm scores %v, want [0 0 %v]", tt.name, got, tt.wantArm)
		}
		if got := r.ArmScores(1); got[0] != 0 {
			t.Errorf("%s: bin without responses got feedback %v", tt.name, got)
		}
		if !near(r.ShadowPrice(), tt.wantMu) {
			t.Errorf("%s: μ = %v, want %v", tt.name, r.ShadowPrice(), tt.wantMu)
		}
	}
}

// The shadow price must not drift when the loss signal covers only part of
// the step's responses, as the surrogate of minibatches 2..M does: n̂ comes
// from the allocation, which meets the budget exactly, so μ stays at μ_0
// over 100 steps.
func TestShadowPriceStaysUnderExactBudgets(t *testing.T) {
	for _, sign := range []string{SignCode, SignPaper} {
		cfg := DefaultRolloutConfig()
		cfg.Sign = sign
		r := mustRollout(t, cfg, len(varianceProbs))
		const mu0 = 0.3
		r.mu = mu0
		e := newEnv(varianceProbs, 16, 7)
		for step := range 100 {
			counts, n := e.counts()
			ch, err := r.Choose(counts, n)
			if err != nil {
				t.Fatal(err)
			}
			bt := e.rollouts(ch)
			half := len(bt.bins) / 2 // minibatches 2..M with M = 2
			if err := r.Update(ch, bt.bins[half:], bt.sqErr[half:]); err != nil {
				t.Fatal(err)
			}
			if r.ShadowPrice() != mu0 {
				t.Fatalf("%s sign, step %d: μ = %v, want μ_0 = %v", sign, step+1, r.ShadowPrice(), mu0)
			}
		}
	}
}

func TestRolloutUpdateErrors(t *testing.T) {
	r := mustRollout(t, DefaultRolloutConfig(), 3)
	if err := r.Update(map[int]int{0: 4}, []int{0}, []float64{1}); err == nil || !strings.Contains(err.Error(), "before") {
		t.Errorf("Update before Choose: error %v", err)
	}
	if _, err := r.Choose(map[int]int{0: 1, 1: 1}, 2); err != nil {
		t.Fatal(err)
	}
	ok := map[int]int{0: 4, 1: 4}
	tests := []struct {
		chosen map[int]int
		bins   []int
		loss   []float64
		want   string
	}{
		{ok, []int{0, 0}, []float64{1}, "2 bins but 1"},
		{ok, []int{2}, []float64{1}, "no prompts in the last Choose"},
		{map[int]int{0: 4}, []int{0}, []float64{1}, "lacks bin 1"},
		{map[int]int{0: 4, 1: 4, 2: 4}, []int{0}, []float64{1}, "has bin 2"},
		{map[int]int{0: 5, 1: 4}, []int{0}, []float64{1}, "the last Choose gave 4"},
		{ok, []int{0}, []float64{math.NaN()}, "not finite"},
	}
	for _, tt := range tests {
		if err := r.Update(tt.chosen, tt.bins, tt.loss); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Update(%v, %v, %v) error %v, want %q", tt.chosen, tt.bins, tt.loss, err, tt.want)
		}
	}
	for b := range 3 {
		for _, s := range r.ArmScores(b) {
			if s != 0 {
				t.Fatal("a rejected update changed the arm scores")
			}
		}
	}
}

// bruteAllocate enumerates every allocation and applies allocate's rule:
// closest reachable sum, then lower cost, then smaller deviation from n̄.
func bruteAllocate(counts []int, cost [][]float64, nMin, nBar, target int) (sol []int, total float64, dev int64) {
	arms := len(cost[0])
	idx := make([]int, len(counts))
	bestDist := -1
	for {
		sum, c, d := 0, 0.0, int64(0)
		for g, a := range idx {
			n := nMin + a
			sum += counts[g] * n
			c += cost[g][a]
			d += int64(counts[g]) * int64(n-nBar) * int64(n-nBar)
		}
		dist := absInt(sum - target)
		if bestDist < 0 || dist < bestDist || (dist == bestDist && (c < total || (c == total && d < dev))) {
			bestDist, total, dev = dist, c, d
			sol = make([]int, len(idx))
			for g, a := range idx {
				sol[g] = nMin + a
			}
		}
		g := 0
		for g < len(idx) && idx[g] == arms-1 {
			idx[g] = 0
			g++
		}
		if g == len(idx) {
			return sol, total, dev
		}
		idx[g]++
	}
}

// Property: on random small problems the programme meets the budget
// whenever some allocation does, and matches exhaustive search in cost
// and tie-break.
func TestAllocateMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		groups := 1 + rng.IntN(4)
		nMin := 1 + rng.IntN(3)
		nMax := nMin + rng.IntN(4)
		nBar := nMin + rng.IntN(nMax-nMin+1)
		counts := make([]int, groups)
		cost := make([][]float64, groups)
		for g := range counts {
			counts[g] = 1 + rng.IntN(5)
			cost[g] = make([]float64, nMax-nMin+1)
			for a := range cost[g] {
				// a coarse grid makes exact cost ties common
				cost[g][a] = float64(rng.IntN(4)) / 2
			}
		}
		n := 0
		for _, c := range counts {
			n += c
		}
		target := n * nBar
		if trial%3 == 0 {
			target = rng.IntN(n*nMax + 4)
		}
		got, err := allocate(counts, cost, nMin, nMax, nBar, target)
		if err != nil {
			t.Fatal(err)
		}
		want, wantCost, wantDev := bruteAllocate(counts, cost, nMin, nBar, target)
		sum, c, d := 0, 0.0, int64(0)
		for g, v := range got {
			sum += counts[g] * v
			c += cost[g][v-nMin]
			d += int64(counts[g]) * int64(v-nBar) * int64(v-nBar)
		}
		wantSum := 0
		for g, v := range want {
			wantSum += counts[g] * v
		}
		if absInt(sum-target) != absInt(wantSum-target) || c != wantCost || d != wantDev {
			t.Fatalf("trial %d: counts %v costs %v target %d: got %v (sum %d cost %v dev %d), brute force %v (sum %d cost %v dev %d)",
				trial, counts, cost, target, got, sum, c, d, want, wantSum, wantCost, wantDev)
		}
	}
}

// An unreachable target takes the closest sum; equally close sums go to
// the lower cost.
func TestAllocateClosest(t *testing.T) {
	tests := []struct {
		cost   []float64
		target int
		want   int
	}{
		{[]float64{0, 1, 0.5}, 5, 3}, // sums 2, 4, 6: 4 and 6 tie, 6 is cheaper
		{[]float64{0, 0.5, 1}, 5, 2},
		{[]float64{0, 0, 0}, 100, 3},
		{[]float64{5, 0, 0}, 0, 1},
	}
	for _, tt := range tests {
		got, err := allocate([]int{2}, [][]float64{tt.cost}, 1, 3, 2, tt.target)
		if err != nil || got[0] != tt.want {
			t.Errorf("costs %v target %d: got %v, %v; want %d", tt.cost, tt.target, got, err, tt.want)
		}
	}
	if _, err := allocate([]int{0}, [][]float64{{0}}, 1, 1, 1, 1); err == nil {
		t.Error("a group with 0 prompts gave no error")
	}
}

// Property: with up to 512 prompts and 10 bins, random scores, variances,
// arm ranges and bin counts, both controllers meet the budget exactly
// (it is always reachable: n_b = n̄ for every bin meets it).
func TestChooseBudgetProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 60 {
		nMin := 1 + rng.IntN(3)
		nMax := nMin + rng.IntN(12)
		nBar := nMin + rng.IntN(nMax-nMin+1)
		r := mustRollout(t, RolloutConfig{NMin: nMin, NMax: nMax, NBar: nBar, Eta: 0.65, Gamma: 0.01, Sign: SignCode}, 10)
		s := mustSqrt(t, SqrtConfig{NMin: nMin, NMax: nMax, NBar: nBar, Beta: 0.4, Eps: 0.01}, 10)
		for b := range r.scores {
			for a := range r.scores[b] {
				r.scores[b][a] = 5 * rng.NormFloat64()
			}
			s.vars[b], s.seen[b] = rng.Float64(), rng.IntN(4) > 0
		}
		counts := map[int]int{}
		n := 1 + rng.IntN(512)
		for range n {
			counts[int(10*math.Pow(rng.Float64(), 2))]++
		}
		for name, choose := range map[string]func(map[int]int, int) (map[int]int, error){"rollout": r.Choose, "sqrt": s.Choose} {
			got, err := choose(counts, n)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for b, c := range counts {
				if v := got[b]; c > 0 && (v < nMin || v > nMax) {
					t.Fatalf("%s trial %d: bin %d got %d rollouts, outside [%d, %d]", name, trial, b, v, nMin, nMax)
				}
				total += c * got[b]
			}
			if total != n*nBar {
				t.Fatalf("%s trial %d: spent %d rollouts, budget %d", name, trial, total, n*nBar)
			}
		}
	}
}

func TestAllocateOverflow(t *testing.T) {
	big := [][]float64{{1e308, 1e308}, {1e308, 1e308}}
	if _, err := allocate([]int{1, 1}, big, 1, 2, 1, 3); err == nil {
		t.Error("overflowing costs gave no error")
	}
	if _, err := allocate([]int{1}, [][]float64{{math.NaN(), 0}}, 1, 2, 1, 1); err == nil {
		t.Error("a NaN cost gave no error")
	}
}

func TestSquaredStdErr(t *testing.T) {
	tests := []struct {
		rewards []float64
		want    float64
	}{
		{[]float64{1, -1}, 2.0 / 2},           // s² = 2
		{[]float64{1, 1, 1, -1}, 1.0 / 4},     // mean 0.5, s² = 3/3
		{[]float64{1, 1, 1}, 0},               // no spread
		{[]float64{-1}, 0},                    // one rollout
		{[]float64{1, 0, 0, 0}, 0.25 / 4 * 1}, // mean 0.25, s² = 0.75/3
	}
	for _, tt := range tests {
		got, err := SquaredStdErr(tt.rewards)
		if err != nil || !near(got, tt.want) {
			t.Errorf("SquaredStdErr(%v) = %v, %v; want %v", tt.rewards, got, err, tt.want)
		}
	}
	if _, err := SquaredStdErr(nil); err == nil {
		t.Error("no rewards gave no error")
	}
	if _, err := SquaredStdErr([]float64{1, math.NaN()}); err == nil {
		t.Error("a NaN reward gave no error")
	}
}
