package gdro

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// The arm-feedback sign options of Rollout-GDRO (16).
const (
	// SignCode is the released code's feedback s_b(n_b) += ℓ̄_b - μ(n_b - n̄).
	SignCode = "code"
	// SignPaper follows the paper's arm loss (13):
	// s_b(n_b) += Ĵ_b - μ·n_b with Ĵ_b = -ℓ̄_b.
	SignPaper = "paper"
)

// RolloutConfig sets Rollout-GDRO (design note section 5).
type RolloutConfig struct {
	// NMin and NMax bound the rollout counts (arms) a bin may get.
	NMin int `json:"n_min"`
	NMax int `json:"n_max"`
	// NBar is the mean budget n̄ of rollouts per prompt, in [NMin, NMax].
	NBar int `json:"n_bar"`
	// Eta is the softmax temperature η of the arm distribution (14).
	Eta float64 `json:"eta"`
	// Gamma is the exploration mix γ of (14), in [0, 1].
	Gamma float64 `json:"gamma"`
	// AlphaMu is the shadow-price step α_μ of (17).
	AlphaMu float64 `json:"alpha_mu"`
	// Sign is SignCode or SignPaper, the feedback rule (16).
	Sign string `json:"sign"`
}

// DefaultRolloutConfig returns the paper's and released code's settings:
// arms {2..12}, n̄ = 4, η = 0.65, γ = 0.01, α_μ = 0.05, the code's sign.
func DefaultRolloutConfig() RolloutConfig {
	return RolloutConfig{NMin: 2, NMax: 12, NBar: 4, Eta: 0.65, Gamma: 0.01, AlphaMu: 0.05, Sign: SignCode}
}

func validateBudget(what string, nMin, nMax, nBar int) error {
	if nMin < 1 || nMax < nMin || nMax-nMin >= 256 || nMax > 1<<16 {
		return fmt.Errorf("gdro: %s: rollout range [%d, %d] invalid: want 1 <= n_min <= n_max < n_min+256, n_max <= 65536", what, nMin, nMax)
	}
	if nBar < nMin || nBar > nMax {
		return fmt.Errorf("gdro: %s: mean budget %d outside [%d, %d]", what, nBar, nMin, nMax)
	}
	return nil
}

func (cfg RolloutConfig) validate() error {
	if err := validateBudget("rollout-gdro", cfg.NMin, cfg.NMax, cfg.NBar); err != nil {
		return err
	}
	switch {
	case !(cfg.Eta >= 0) || math.IsInf(cfg.Eta, 0):
		return fmt.Errorf("gdro: rollout-gdro: eta is %v, want a finite value >= 0", cfg.Eta)
	case !(cfg.Gamma >= 0 && cfg.Gamma <= 1):
		return fmt.Errorf("gdro: rollout-gdro: gamma is %v, want a value in [0, 1]", cfg.Gamma)
	case !(cfg.AlphaMu >= 0) || math.IsInf(cfg.AlphaMu, 0):
		return fmt.Errorf("gdro: rollout-gdro: alpha_mu is %v, want a finite value >= 0", cfg.AlphaMu)
	case cfg.Sign != SignCode && cfg.Sign != SignPaper:
		return fmt.Errorf("gdro: rollout-gdro: sign %q, want %q or %q", cfg.Sign, SignCode, SignPaper)
	}
	return nil
}

// RolloutGDRO picks how many rollouts each difficulty bin's prompts get, at
// a fixed mean budget of n̄ rollouts per prompt. Each bin keeps cumulative
// scores s_b(n) over the arms n ∈ {NMin..NMax}; the arms are drawn
// deterministically by the exact-budget programme (15), and a shadow price
// μ (17) charges for rollouts spent beyond the budget.
//
// Where the rollouts go depends on the sign and on the loss fed to Update.
// Since the choice is deterministic, SignCode with a loss that is never
// negative (ErrorLoss, for one) reinforces the first allocation, n̄ in
// every bin, and never leaves it (CheckRolloutSignal refuses that).
// SignPaper with VarianceLoss, each response's loss set to its prompt's
// SquaredStdErr, penalises an arm by about v_b/n_b per use,
// and with Gamma = 0 it moves rollouts towards the bins with the highest
// reward variance v_b, as the square-root law does; with Gamma > 0 the
// floor γ/|arms| caps the cost of heavily penalised arms, which over long
// runs reverses that order (the package's simulation tests show both).
type RolloutGDRO struct {
	cfg    RolloutConfig
	scores [][]float64 // [bin][n-NMin], s_b(n)
	mu     float64
	last   lastAlloc // the allocation of the last Choose
}

// NewRolloutGDRO returns Rollout-GDRO over numBins bins with every arm score
// 0 and μ = 0.
func NewRolloutGDRO(cfg RolloutConfig, numBins int) (*RolloutGDRO, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if numBins < 1 {
		return nil, fmt.Errorf("gdro: rollout-gdro: %d bins, want at least 1", numBins)
	}
	r := &RolloutGDRO{cfg: cfg, scores: make([][]float64, numBins)}
	for b := range r.scores {
		r.scores[b] = make([]float64, cfg.NMax-cfg.NMin+1)
	}
	return r, nil
}

// Config returns the settings.
func (r *RolloutGDRO) Config() RolloutConfig { return r.cfg }

// NumBins returns the number of bins.
func (r *RolloutGDRO) NumBins() int { return len(r.scores) }

// ShadowPrice returns μ.
func (r *RolloutGDRO) ShadowPrice() float64 { return r.mu }

// LastCounts returns a copy of the prompts per bin, c_b, of the last
// Choose, indexed by bin (0 for bins without prompts), or nil before the
// first Choose.
func (r *RolloutGDRO) LastCounts() []int {
	c, _ := r.last.copies()
	return c
}

// LastRollouts returns a copy of the rollouts per prompt, n_b, that the
// last Choose gave each bin, indexed by bin (0 for bins without prompts),
// or nil before the first Choose.
func (r *RolloutGDRO) LastRollouts() []int {
	_, n := r.last.copies()
	return n
}

// ArmScores returns a copy of bin b's arm scores s_b(n), indexed by
// n-NMin, or nil for a bin out of range.
func (r *RolloutGDRO) ArmScores(b int) []float64 {
	if b < 0 || b >= len(r.scores) {
		return nil
	}
	return append([]float64(nil), r.scores[b]...)
}

// ArmProbs returns bin b's arm distribution (14),
// p_b(n) = (1-γ)·softmax(η·s_b)(n) + γ/|arms|, indexed by n-NMin, or nil
// for a bin out of range.
func (r *RolloutGDRO) ArmProbs(b int) []float64 {
	if b < 0 || b >= len(r.scores) {
		return nil
	}
	return ExpWeights(r.scores[b], r.cfg.Eta, r.cfg.Gamma, 0)
}

// armCosts returns -log p_b(n) for each arm, computed in the log domain
// where p underflows (possible only with γ = 0).
func (r *RolloutGDRO) armCosts(b int) []float64 {
	s := r.scores[b]
	top := math.Inf(-1)
	for _, v := range s {
		top = max(top, r.cfg.Eta*v)
	}
	sum := 0.0
	for _, v := range s {
		sum += math.Exp(r.cfg.Eta*v - top)
	}
	logZ := top + math.Log(sum)
	u := r.cfg.Gamma / float64(len(s))
	cost := make([]float64, len(s))
	for a, v := range s {
		logSoft := r.cfg.Eta*v - logZ
		p := (1-r.cfg.Gamma)*math.Exp(logSoft) + u
		if p > 0 {
			cost[a] = -math.Log(p)
		} else {
			cost[a] = -math.Log1p(-r.cfg.Gamma) - logSoft
		}
	}
	return cost
}

// Choose returns the rollout count n_b for each bin with prompts, given
// counts (prompts per bin, c_b) and n, the number of prompts, which must
// equal the sum of counts. It minimises Σ_b -log p_b(n_b) subject to
// Σ_b c_b·n_b = n·n̄ (15); that budget is always reachable, since n_b = n̄
// for every bin meets it. Equal costs go to the allocation nearest to n̄
// everywhere, so a fresh controller gives every bin n̄.
func (r *RolloutGDRO) Choose(counts map[int]int, n int) (map[int]int, error) {
	bins, cs, err := presentBins(len(r.scores), counts, n)
	if err != nil {
		return nil, fmt.Errorf("gdro: rollout-gdro choose: %w", err)
	}
	cost := make([][]float64, len(bins))
	for g, b := range bins {
		cost[g] = r.armCosts(b)
	}
	sol, err := allocate(cs, cost, r.cfg.NMin, r.cfg.NMax, r.cfg.NBar, n*r.cfg.NBar)
	if err != nil {
		return nil, fmt.Errorf("gdro: rollout-gdro choose: %w", err)
	}
	r.last.record(len(r.scores), bins, cs, sol)
	return solutionMap(bins, sol), nil
}

// presentBins checks a Choose request and returns the bins with prompts in
// increasing order with their counts.
func presentBins(numBins int, counts map[int]int, n int) ([]int, []int, error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("%d prompts, want at least 1", n)
	}
	var bins []int
	total := 0
	for b, c := range counts {
		if b < 0 || b >= numBins {
			return nil, nil, fmt.Errorf("bin %d out of range [0, %d)", b, numBins)
		}
		if c < 0 {
			return nil, nil, fmt.Errorf("bin %d has %d prompts", b, c)
		}
		if c > 0 {
			bins = append(bins, b)
			total += c
		}
	}
	if total != n {
		return nil, nil, fmt.Errorf("bin counts add up to %d prompts, but n = %d", total, n)
	}
	sort.Ints(bins)
	cs := make([]int, len(bins))
	for g, b := range bins {
		cs[g] = counts[b]
	}
	return bins, cs, nil
}

func solutionMap(bins, sol []int) map[int]int {
	out := make(map[int]int, len(bins))
	for g, b := range bins {
		out[b] = sol[g]
	}
	return out
}

// Update gives the arms chosen for this step their feedback (16) and moves
// the shadow price (17). chosen must be the allocation the last Choose
// returned; respBins and loss give each response's bin and loss ℓ (the
// same signal as PromptGDRO.Update, without share normalization), and may
// cover only some of the step's responses (the loss signal of minibatches
// 2..M, say). For each bin with responses, with ℓ̄_b its mean loss and
// n_b = chosen[b]:
//
//	SignCode:  s_b(n_b) += ℓ̄_b - μ(n_b - n̄)
//	SignPaper: s_b(n_b) += -ℓ̄_b - μ·n_b
//
// Scores are cumulative sums; other arms are unchanged. Then
// μ ← μ + α_μ(n̂ - n̄) with n̂ = Σ_b c_b·n_b / N taken from the allocation,
// not from the number of responses passed, so a partial signal does not
// move μ. Under exact budget matching n̂ = n̄ and μ keeps its value.
func (r *RolloutGDRO) Update(chosen map[int]int, respBins []int, loss []float64) error {
	if err := r.checkChosen(chosen); err != nil {
		return fmt.Errorf("gdro: rollout-gdro update: %w", err)
	}
	means, counts, err := binMeans(len(r.scores), respBins, loss)
	if err != nil {
		return fmt.Errorf("gdro: rollout-gdro update: %w", err)
	}
	for b, cnt := range counts {
		if cnt > 0 && r.last.counts[b] == 0 {
			return fmt.Errorf("gdro: rollout-gdro update: bin %d has responses but no prompts in the last Choose", b)
		}
	}
	for b, cnt := range counts {
		if cnt == 0 {
			continue
		}
		n := chosen[b]
		var fb float64
		if r.cfg.Sign == SignPaper {
			fb = -means[b] - r.mu*float64(n)
		} else {
			fb = means[b] - r.mu*float64(n-r.cfg.NBar)
		}
		r.scores[b][n-r.cfg.NMin] += fb
	}
	r.mu += r.cfg.AlphaMu * (r.last.meanRollouts() - float64(r.cfg.NBar))
	return nil
}

// checkChosen checks that chosen is the allocation of the last Choose:
// the same bins, each with the same rollout count.
func (r *RolloutGDRO) checkChosen(chosen map[int]int) error {
	if !r.last.chosen() {
		return fmt.Errorf("no Choose before Update")
	}
	for b, n := range chosen {
		if b < 0 || b >= len(r.scores) || r.last.counts[b] == 0 {
			return fmt.Errorf("chosen allocation has bin %d, which had no prompts in the last Choose", b)
		}
		if n != r.last.rollouts[b] {
			return fmt.Errorf("bin %d: chosen rollout count %d, but the last Choose gave %d", b, n, r.last.rollouts[b])
		}
	}
	for b, c := range r.last.counts {
		if _, ok := chosen[b]; c > 0 && !ok {
			return fmt.Errorf("chosen allocation lacks bin %d, which had %d prompts in the last Choose", b, c)
		}
	}
	return nil
}

// rolloutJSON is the serialized form of a RolloutGDRO.
type rolloutJSON struct {
	Config RolloutConfig `json:"config"`
	Scores [][]float64   `json:"scores"`
	Mu     float64       `json:"mu"`
	// LastCounts and LastRollouts are the last Choose's c_b and n_b per
	// bin; absent before the first Choose.
	LastCounts   []int `json:"last_counts,omitempty"`
	LastRollouts []int `json:"last_rollouts,omitempty"`
}

// MarshalJSON writes the settings, arm scores, shadow price and the last
// allocation.
func (r *RolloutGDRO) MarshalJSON() ([]byte, error) {
	return json.Marshal(rolloutJSON{Config: r.cfg, Scores: r.scores, Mu: r.mu,
		LastCounts: r.last.counts, LastRollouts: r.last.rollouts})
}

// UnmarshalJSON restores a RolloutGDRO written by MarshalJSON, settings
// included, replacing r's state.
func (r *RolloutGDRO) UnmarshalJSON(data []byte) error {
	var in rolloutJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("gdro: rollout-gdro state: %w", err)
	}
	nr, err := NewRolloutGDRO(in.Config, len(in.Scores))
	if err != nil {
		return fmt.Errorf("gdro: rollout-gdro state: %w", err)
	}
	for b, row := range in.Scores {
		if len(row) != len(nr.scores[b]) {
			return fmt.Errorf("gdro: rollout-gdro state: bin %d has %d arm scores, want %d", b, len(row), len(nr.scores[b]))
		}
		copy(nr.scores[b], row)
	}
	if math.IsNaN(in.Mu) || math.IsInf(in.Mu, 0) {
		return fmt.Errorf("gdro: rollout-gdro state: shadow price %v is not finite", in.Mu)
	}
	nr.last = lastAlloc{counts: in.LastCounts, rollouts: in.LastRollouts}
	if err := nr.last.check(len(nr.scores), nr.cfg.NMin, nr.cfg.NMax); err != nil {
		return fmt.Errorf("gdro: rollout-gdro state: %w", err)
	}
	nr.mu = in.Mu
	*r = *nr
	return nil
}

// SquaredStdErr returns the squared standard error of one prompt's mean
// reward: the unbiased sample variance of its n rollouts' rewards divided
// by n (0 for a single rollout). It estimates v/n, the prompt's term of the
// variance proxy (18), and is the per-response loss under which SignPaper
// Rollout-GDRO gives more rollouts to high-variance bins (see VarianceLoss).
func SquaredStdErr(rewards []float64) (float64, error) {
	if len(rewards) == 0 {
		return 0, fmt.Errorf("gdro: squared standard error: no rewards")
	}
	if err := checkFinite("reward", rewards); err != nil {
		return 0, fmt.Errorf("gdro: squared standard error: %w", err)
	}
	v, _ := sampleVar(rewards)
	return v / float64(len(rewards)), nil
}
