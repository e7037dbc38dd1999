package gdro

import (
	"encoding/json"
	"fmt"
	"math"
)

// PromptConfig sets Prompt-GDRO (design note section 4).
type PromptConfig struct {
	// Eta is the exponential-weights step η_q of (8).
	Eta float64 `json:"eta"`
	// Gamma is the exploration mix γ of (9), in [0, 1].
	Gamma float64 `json:"gamma"`
	// Beta is the score EMA rate β of (7), in (0, 1].
	Beta float64 `json:"beta"`
	// WMax is the cap ω_max on a response's weight (10), at least 1.
	WMax float64 `json:"w_max"`
	// Clip is C of (8): scores are clipped to [-C, C] before the
	// exponential; 0 turns clipping off (the released code).
	Clip float64 `json:"clip"`
	// Floor is f of (6), the smallest batch share a bin's loss is divided
	// by when NormShare is on; 0 means no floor (the released code).
	Floor float64 `json:"floor"`
	// NormShare divides each bin's mean loss by its share of the batch (6).
	NormShare bool `json:"norm_share"`
	// Refill spreads the weight cut off by the cap over the uncapped bins,
	// in proportion to their weights, so that the weights keep mean 1 when
	// the cap binds. Off, (10) applies as written and the mean drops below
	// 1 instead (the released code).
	Refill bool `json:"refill,omitempty"`
}

// DefaultPromptConfig returns the paper's App. A settings (η_q = 0.65,
// γ = 0.01, β = 0.12, ω_max = 15, share normalization on) with the design
// note's score clip C = 5 and share floor f = 0.02.
func DefaultPromptConfig() PromptConfig {
	return PromptConfig{Eta: 0.65, Gamma: 0.01, Beta: 0.12, WMax: 15, Clip: 5, Floor: 0.02, NormShare: true}
}

func (cfg PromptConfig) validate() error {
	switch {
	case !(cfg.Eta >= 0) || math.IsInf(cfg.Eta, 0):
		return fmt.Errorf("gdro: prompt-gdro: eta is %v, want a finite value >= 0", cfg.Eta)
	case !(cfg.Gamma >= 0 && cfg.Gamma <= 1):
		return fmt.Errorf("gdro: prompt-gdro: gamma is %v, want a value in [0, 1]", cfg.Gamma)
	case !(cfg.Beta > 0 && cfg.Beta <= 1):
		return fmt.Errorf("gdro: prompt-gdro: beta is %v, want a value in (0, 1]", cfg.Beta)
	case !(cfg.WMax >= 1) || math.IsInf(cfg.WMax, 0):
		return fmt.Errorf("gdro: prompt-gdro: weight cap is %v, want a finite value >= 1", cfg.WMax)
	case !(cfg.Clip >= 0) || math.IsInf(cfg.Clip, 0):
		return fmt.Errorf("gdro: prompt-gdro: score clip is %v, want a finite value >= 0 (0 = off)", cfg.Clip)
	case !(cfg.Floor >= 0 && cfg.Floor <= 1):
		return fmt.Errorf("gdro: prompt-gdro: share floor is %v, want a value in [0, 1]", cfg.Floor)
	}
	return nil
}

// PromptGDRO is the adversary of the prompt game: it keeps an EMA score S_b
// of each difficulty bin's loss and turns the scores into per-response
// weights that multiply the GRPO advantages, so that bins with higher loss
// count for more.
type PromptGDRO struct {
	cfg    PromptConfig
	scores []float64 // S_b of (7); 0 for bins not yet seen
	seen   []bool
	last   []float64 // per-bin weight of the last Weights call; 0 if absent
}

// NewPromptGDRO returns Prompt-GDRO over numBins bins with every score 0.
func NewPromptGDRO(cfg PromptConfig, numBins int) (*PromptGDRO, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if numBins < 1 {
		return nil, fmt.Errorf("gdro: prompt-gdro: %d bins, want at least 1", numBins)
	}
	return &PromptGDRO{
		cfg:    cfg,
		scores: make([]float64, numBins),
		seen:   make([]bool, numBins),
		last:   make([]float64, numBins),
	}, nil
}

// Config returns the settings.
func (p *PromptGDRO) Config() PromptConfig { return p.cfg }

// NumBins returns the number of bins.
func (p *PromptGDRO) NumBins() int { return len(p.scores) }

// Scores returns a copy of the EMA scores S_b (0 for bins never seen).
func (p *PromptGDRO) Scores() []float64 { return append([]float64(nil), p.scores...) }

// ExpWeights is the exponential-weights rule (8)-(9) over the bins present
// in a batch: with ω_b = exp(η·clip(S_b, -C, C)), it returns
// q_b = (1-γ)·ω_b/Σ ω + γ/len(scores). clip <= 0 turns clipping off. The
// largest score is subtracted before the exponential, which leaves q
// unchanged and keeps it finite for any finite scores.
func ExpWeights(scores []float64, eta, gamma, clip float64) []float64 {
	q := make([]float64, len(scores))
	if len(scores) == 0 {
		return q
	}
	top := math.Inf(-1)
	for i, s := range scores {
		if clip > 0 {
			s = max(-clip, min(clip, s))
		}
		q[i] = eta * s
		top = max(top, q[i])
	}
	sum := 0.0
	for i := range q {
		q[i] = math.Exp(q[i] - top)
		sum += q[i]
	}
	u := gamma / float64(len(q))
	for i := range q {
		q[i] = (1-gamma)*q[i]/sum + u
	}
	return q
}

// Weights returns one weight per response, given each response's bin: q_b
// from (8)-(9) over the bins present, then (10)
// w = min(ω_max, q_b·M/Σ_responses q). The weights have mean 1 over the M
// responses unless the cap binds; then their mean is below 1, or still 1
// with Refill on. They multiply the responses' advantages (11). Weights
// also records the per-bin weights that BinWeights returns. If any bin is
// outside [0, NumBins), Weights returns neutral weights (all 1); Update
// rejects the same input with an error.
func (p *PromptGDRO) Weights(respBins []int) []float64 {
	w := make([]float64, len(respBins))
	for i := range w {
		w[i] = 1
	}
	if len(respBins) == 0 {
		return w
	}
	m := make([]int, len(p.scores))
	for _, b := range respBins {
		if b < 0 || b >= len(p.scores) {
			return w
		}
		m[b]++
	}
	var present []int
	var scores []float64
	for b, cnt := range m {
		if cnt > 0 {
			present = append(present, b)
			scores = append(scores, p.scores[b])
		}
	}
	q := ExpWeights(scores, p.cfg.Eta, p.cfg.Gamma, p.cfg.Clip)
	total := 0.0
	for j, b := range present {
		total += float64(m[b]) * q[j]
	}
	for b := range p.last {
		p.last[b] = 0
	}
	for j, b := range present {
		p.last[b] = min(p.cfg.WMax, q[j]*float64(len(respBins))/total)
	}
	if p.cfg.Refill {
		refill(p.last, m, q, present, p.cfg.WMax)
	}
	for i, b := range respBins {
		w[i] = p.last[b]
	}
	return w
}

// refill rescales the uncapped bins' weights so that the responses'
// weights sum to their number again: with C the capped bins, every other
// bin gets λ·q_b, where λ makes Σ_b m_b·w_b = Σ_b m_b; bins that λ pushes to
// the cap join C and λ is recomputed, at most once per bin. w and m are
// indexed by bin, q and present by position among the bins present.
func refill(w []float64, m []int, q []float64, present []int, wMax float64) {
	capped := make([]bool, len(present))
	binding := false
	for j, b := range present {
		capped[j] = w[b] >= wMax
		binding = binding || capped[j]
	}
	if !binding {
		return
	}
	for {
		rest, free := 0.0, 0.0 // weight left for the uncapped bins, their q mass
		for j, b := range present {
			rest += float64(m[b])
			if capped[j] {
				rest -= float64(m[b]) * wMax
			} else {
				free += float64(m[b]) * q[j]
			}
		}
		if free == 0 {
			return
		}
		lambda, grew := rest/free, false
		for j, b := range present {
			if capped[j] {
				continue
			}
			if w[b] = lambda * q[j]; w[b] >= wMax {
				w[b], capped[j], grew = wMax, true, true
			}
		}
		if !grew {
			return
		}
	}
}

// BinWeights returns the weight each bin's responses got in the last
// Weights call, 0 for bins absent from it, for logging.
func (p *PromptGDRO) BinWeights() []float64 { return append([]float64(nil), p.last...) }

// Update folds one step's per-response losses into the scores: the mean
// loss of each bin present (6), divided by max(share, Floor) when
// NormShare is on, then S_b ← ℓ̄_b the first time bin b is seen and
// S_b ← (1-β)·S_b + β·ℓ̄_b after (7). Bins absent from the step keep their
// scores.
//
// The loss is the per-response clipped surrogate (5) (see ResponseLoss).
// Where that signal is unavailable (a step with a single PPO minibatch),
// the fallback is the bin error rate: call Update(respBins,
// ErrorLoss(correct)), whose bin means are 1 - accuracy.
func (p *PromptGDRO) Update(respBins []int, loss []float64) error {
	means, counts, err := binMeans(len(p.scores), respBins, loss)
	if err != nil {
		return fmt.Errorf("gdro: prompt-gdro update: %w", err)
	}
	total := float64(len(respBins))
	for b, cnt := range counts {
		if cnt == 0 {
			continue
		}
		l := means[b]
		if p.cfg.NormShare {
			l /= max(float64(cnt)/total, p.cfg.Floor)
		}
		if !p.seen[b] {
			p.scores[b], p.seen[b] = l, true
		} else {
			p.scores[b] = (1-p.cfg.Beta)*p.scores[b] + p.cfg.Beta*l
		}
	}
	return nil
}

// binMeans returns the mean value and the number of entries per bin,
// checking that the slices match, the bins are in range and the values
// are finite. Sums run in slice order.
func binMeans(numBins int, bins []int, values []float64) ([]float64, []int, error) {
	if len(bins) != len(values) {
		return nil, nil, fmt.Errorf("%d bins but %d values", len(bins), len(values))
	}
	sums := make([]float64, numBins)
	counts := make([]int, numBins)
	for i, b := range bins {
		if b < 0 || b >= numBins {
			return nil, nil, fmt.Errorf("response %d: bin %d out of range [0, %d)", i, b, numBins)
		}
		v := values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("response %d: value %v is not finite", i, v)
		}
		sums[b] += v
		counts[b]++
	}
	for b, c := range counts {
		if c > 0 {
			sums[b] /= float64(c)
		}
	}
	return sums, counts, nil
}

// promptJSON is the serialized form of a PromptGDRO.
type promptJSON struct {
	Config      PromptConfig `json:"config"`
	Scores      []float64    `json:"scores"`
	Seen        []bool       `json:"seen"`
	LastWeights []float64    `json:"last_weights"`
}

// MarshalJSON writes the settings and the scores.
func (p *PromptGDRO) MarshalJSON() ([]byte, error) {
	return json.Marshal(promptJSON{Config: p.cfg, Scores: p.scores, Seen: p.seen, LastWeights: p.last})
}

// UnmarshalJSON restores a PromptGDRO written by MarshalJSON, settings
// included, replacing p's state.
func (p *PromptGDRO) UnmarshalJSON(data []byte) error {
	var in promptJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("gdro: prompt-gdro state: %w", err)
	}
	np, err := NewPromptGDRO(in.Config, len(in.Scores))
	if err != nil {
		return fmt.Errorf("gdro: prompt-gdro state: %w", err)
	}
	if len(in.Seen) != len(in.Scores) || len(in.LastWeights) != len(in.Scores) {
		return fmt.Errorf("gdro: prompt-gdro state: %d scores, %d seen flags, %d weights", len(in.Scores), len(in.Seen), len(in.LastWeights))
	}
	copy(np.scores, in.Scores)
	copy(np.seen, in.Seen)
	copy(np.last, in.LastWeights)
	*p = *np
	return nil
}
