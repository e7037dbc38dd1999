package gdro

import (
	"math"
	"math/rand/v2"
	"testing"
)

// env is a synthetic environment: every batch holds perBin prompts of each
// difficulty bin, and a rollout of a bin-b prompt is correct (reward +1)
// with the fixed probability probs[b], otherwise wrong (reward -1).
type env struct {
	probs  []float64
	perBin int
	rng    *rand.Rand
}

func newEnv(probs []float64, perBin int, seed uint64) *env {
	return &env{probs: probs, perBin: perBin, rng: rand.New(rand.NewPCG(seed, 1))}
}

func (e *env) counts() (map[int]int, int) {
	m := map[int]int{}
	for b := range e.probs {
		m[b] = e.perBin
	}
	return m, e.perBin * len(e.probs)
}

// batch is one step's responses.
type batch struct {
	bins    []int
	rewards []float64
	correct []bool
	// sqErr is the variance signal, VarianceLoss: each response's
	// prompt's SquaredStdErr (an estimate of v_b/n_b, a term of (18)).
	sqErr []float64
}

// rollouts draws n[b] rollouts for every prompt of bin b.
func (e *env) rollouts(n map[int]int) batch {
	var out batch
	var groups [][]float64
	for b, p := range e.probs {
		for range e.perBin {
			r := make([]float64, n[b])
			for j := range r {
				r[j] = -1
				if e.rng.Float64() < p {
					r[j] = 1
				}
			}
			groups = append(groups, r)
			for _, x := range r {
				out.bins = append(out.bins, b)
				out.rewards = append(out.rewards, x)
				out.correct = append(out.correct, x > 0)
			}
		}
	}
	var err error
	if out.sqErr, err = VarianceLoss(groups); err != nil {
		panic(err) // every group has n[b] >= 1 finite rewards
	}
	return out
}

func fixedN(numBins, n int) map[int]int {
	m := map[int]int{}
	for b := range numBins {
		m[b] = n
	}
	return m
}

// Prompt-GDRO on the error-rate signal must weight the bins in order of
// their loss: the lowest success probability gets the largest weight.
func TestSimPromptWeightsFollowLoss(t *testing.T) {
	probs := []float64{0.9, 0.1, 0.5, 0.3, 0.7} // loss 1-p: bin 1 highest, then 3, 2, 4, 0
	order := []int{1, 3, 2, 4, 0}
	for _, norm := range []bool{false, true} {
		cfg := DefaultPromptConfig()
		cfg.NormShare = norm
		p, err := NewPromptGDRO(cfg, len(probs))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(probs, 100, 3)
		for range 200 {
			bt := e.rollouts(fixedN(len(probs), 4))
			p.Weights(bt.bins)
			if err := p.Update(bt.bins, ErrorLoss(bt.correct)); err != nil {
				t.Fatal(err)
			}
		}
		bt := e.rollouts(fixedN(len(probs), 4))
		p.Weights(bt.bins)
		w := p.BinWeights()
		t.Logf("normShare=%v bin weights %.3f", norm, w)
		for i := 1; i < len(order); i++ {
			if !(w[order[i-1]] > w[order[i]]) {
				t.Errorf("normShare=%v: weight of bin %d (%.4f) not above bin %d (%.4f)", norm, order[i-1], w[order[i-1]], order[i], w[order[i]])
			}
		}
	}
}

// allocations runs a controller for steps steps and returns the mean
// rollout count per bin over the second half.
func allocations(t *testing.T, e *env, steps int, choose func(map[int]int, int) (map[int]int, error), update func(map[int]int, batch) error) []float64 {
	t.Helper()
	counts, n := e.counts()
	avg := make([]float64, len(e.probs))
	for step := range steps {
		ch, err := choose(counts, n)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for b, c := range counts {
			total += c * ch[b]
		}
		if total != n*4 {
			t.Fatalf("step %d: budget %d, want %d", step, total, n*4)
		}
		if err := update(ch, e.rollouts(ch)); err != nil {
			t.Fatal(err)
		}
		if step >= steps/2 {
			for b := range avg {
				avg[b] += float64(ch[b]) / float64(steps-steps/2)
			}
		}
	}
	return avg
}

// The variances 4p(1-p) of the bins below are 0.078, 1, 0.51 and 0.078:
// both controllers must give bin 1 the most rollouts, then bin 2, and the
// two low-variance bins fewer than n̄ = 4.
var varianceProbs = []float64{0.02, 0.5, 0.85, 0.98}

func checkVarianceOrder(t *testing.T, name string, avg []float64) {
	t.Helper()
	t.Logf("%s: mean rollouts per bin %.2f", name, avg)
	if !(avg[1] > avg[2] && avg[2] > 4 && avg[0] < 4 && avg[3] < 4) {
		t.Errorf("%s: rollouts per bin %.2f do not follow the variances 0.078, 1, 0.51, 0.078", name, avg)
	}
}

func TestSimSqrtFollowsVariance(t *testing.T) {
	s, err := NewSqrtAllocator(DefaultSqrtConfig(), len(varianceProbs))
	if err != nil {
		t.Fatal(err)
	}
	avg := allocations(t, newEnv(varianceProbs, 16, 7), 200, s.Choose, func(_ map[int]int, bt batch) error {
		return s.Observe(bt.bins, bt.rewards)
	})
	checkVarianceOrder(t, "sqrt", avg)
}

// Rollout-GDRO follows the variance with the paper's sign, the squared
// standard error of each prompt's mean reward as the loss, and no
// exploration floor (γ = 0). Every chosen arm is then penalised by about
// v_b/n_b per use, so a bin rotates towards the arms whose cumulative
// penalty is smallest, which are the large arms in high-variance bins.
// With γ > 0 the cost -log p_b(n) of a heavily penalised arm is capped at
// -log(γ/|arms|), which flattens the high-variance bins' costs first; over
// long runs that reverses the order (seen in simulation), so the test pins
// γ = 0. With the code's sign and a nonnegative loss the first allocation
// (n̄ everywhere) is reinforced and never changes
// (TestRolloutCodeSignLocksIn).
func TestSimRolloutFollowsVariance(t *testing.T) {
	cfg := DefaultRolloutConfig()
	cfg.Sign = SignPaper
	cfg.Gamma = 0
	r, err := NewRolloutGDRO(cfg, len(varianceProbs))
	if err != nil {
		t.Fatal(err)
	}
	avg := allocations(t, newEnv(varianceProbs, 16, 7), 600, r.Choose, func(ch map[int]int, bt batch) error {
		return r.Update(ch, bt.bins, bt.sqErr)
	})
	checkVarianceOrder(t, "rollout-gdro", avg)
	if r.ShadowPrice() != 0 {
		t.Errorf("shadow price moved to %v under exact budget matching", r.ShadowPrice())
	}
}

// With the code's sign, any signal that is never negative keeps n̄ in
// every bin: the combination CheckRolloutSignal refuses.
func TestRolloutCodeSignLocksIn(t *testing.T) {
	signals := []struct {
		name string
		loss func(batch) []float64
	}{
		{SignalError, func(bt batch) []float64 { return ErrorLoss(bt.correct) }},
		{SignalVariance, func(bt batch) []float64 { return bt.sqErr }},
	}
	for _, sg := range signals {
		if err := CheckRolloutSignal(SignCode, sg.name, 2); err == nil {
			t.Errorf("CheckRolloutSignal accepts the code's sign with the %s signal", sg.name)
		}
		r, err := NewRolloutGDRO(DefaultRolloutConfig(), len(varianceProbs))
		if err != nil {
			t.Fatal(err)
		}
		avg := allocations(t, newEnv(varianceProbs, 16, 7), 100, r.Choose, func(ch map[int]int, bt batch) error {
			return r.Update(ch, bt.bins, sg.loss(bt))
		})
		for b, a := range avg {
			if math.Abs(a-4) > 1e-9 {
				t.Errorf("%s signal, bin %d: mean rollouts %v, want n̄ = 4", sg.name, b, a)
			}
		}
	}
}

// hedgeRegret plays the exponential-weights rule (8)-(9) as the adversary
// (it gains the loss) on cumulative scores over T rounds of a fixed loss
// sequence, with the step η = sqrt(8 ln K / T), and returns its average
// regret against the best fixed bin.
func hedgeRegret(losses func(t int) []float64, K, T int) float64 {
	eta := math.Sqrt(8 * math.Log(float64(K)) / float64(T))
	cum := make([]float64, K)
	gained := 0.0
	for t := range T {
		q := ExpWeights(cum, eta, 0, 0)
		l := losses(t)
		for b := range K {
			gained += q[b] * l[b]
			cum[b] += l[b]
		}
	}
	best := cum[0]
	for _, c := range cum {
		best = max(best, c)
	}
	return (best - gained) / float64(T)
}

// adversarialLosses is a fixed sequence that punishes following the leader:
// the leader flips every round between bins 0 and 1, while bin 2 is a
// steady 0.45.
func adversarialLosses(t int) []float64 {
	switch {
	case t == 0:
		return []float64{0.5, 0, 0.45}
	case t%2 == 1:
		return []float64{0, 1, 0.45}
	}
	return []float64{1, 0, 0.45}
}

func TestSimAdversaryRegretFalls(t *testing.T) {
	prev := math.Inf(1)
	for _, T := range []int{10, 100, 1000, 10000, 100000} {
		r := hedgeRegret(adversarialLosses, 3, T)
		bound := math.Sqrt(math.Log(3) / (2 * float64(T)))
		t.Logf("T=%d average regret %.5f (bound %.5f)", T, r, bound)
		if r > bound {
			t.Errorf("T=%d: average regret %v above the Hedge bound %v", T, r, bound)
		}
		if !(r < prev) {
			t.Errorf("T=%d: average regret %v did not fall (was %v)", T, r, prev)
		}
		prev = r
	}
}

// promptRegret plays PromptGDRO itself (EMA scores, fixed η, default
// settings without share normalization) as the adversary on the same
// sequence, one response per bin, and returns its average regret. Its
// per-bin weights over 3 equal-share bins are 3·q_b.
func promptRegret(t *testing.T, losses func(t int) []float64, T int) float64 {
	t.Helper()
	cfg := DefaultPromptConfig()
	cfg.NormShare = false
	p := mustPrompt(t, cfg, 3)
	bins := []int{0, 1, 2}
	cum := make([]float64, 3)
	gained := 0.0
	for s := range T {
		w := p.Weights(bins)
		l := losses(s)
		for b := range 3 {
			gained += w[b] / 3 * l[b]
			cum[b] += l[b]
		}
		if err := p.Update(bins, l); err != nil {
			t.Fatal(err)
		}
	}
	return (max(cum[0], cum[1], cum[2]) - gained) / float64(T)
}

// Prompt-GDRO's EMA scores forget, and its η is fixed, so its average
// regret falls with T towards a floor (about 0.023 here) rather than to 0.
func TestSimPromptRegretFalls(t *testing.T) {
	prev := math.Inf(1)
	for _, T := range []int{10, 100, 1000, 10000} {
		r := promptRegret(t, adversarialLosses, T)
		t.Logf("T=%d Prompt-GDRO average regret %.5f", T, r)
		if !(r < prev) {
			t.Errorf("T=%d: average regret %v did not fall (was %v)", T, r, prev)
		}
		prev = r
	}
}
