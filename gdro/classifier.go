package gdro

import (
	"encoding/json"
	"fmt"
)

// ClassifierConfig sets the online difficulty classifier.
type ClassifierConfig struct {
	// Edges are the interior bin edges a_1 < ... < a_{B-1}, each in (0, 1);
	// a_0 = 0 and a_B = 1 are implied, so there are len(Edges)+1 bins.
	// Bin 0 holds the lowest pass rates.
	Edges []float64 `json:"edges"`
	// Window is H, the number of most recent per-step values averaged into
	// a prompt's pass-rate estimate (2); 0 averages its whole history.
	Window int `json:"window"`
	// Delta is the symmetric hysteresis margin δ of (4), in [0, 0.5). The
	// lowest edge must be at least δ and the top edge at most 1-δ, or bin
	// 0 or the top bin could not be reached.
	Delta float64 `json:"delta"`
}

// DefaultClassifierConfig returns the paper's main setting: 10 bins with
// edges 0.1, ..., 0.9 (App. A), a window of 50 steps and δ = 0.03, the
// released code's values for its Prompt-GDRO runs.
func DefaultClassifierConfig() ClassifierConfig {
	edges := make([]float64, 9)
	for i := range edges {
		edges[i] = float64(i+1) / 10
	}
	return ClassifierConfig{Edges: edges, Window: 50, Delta: 0.03}
}

// UniformEdges returns the interior edges of numBins equal-width bins on
// [0, 1]: 1/B, 2/B, ..., (B-1)/B.
func UniformEdges(numBins int) ([]float64, error) {
	if numBins < 1 {
		return nil, fmt.Errorf("gdro: uniform edges: need at least 1 bin, got %d", numBins)
	}
	edges := make([]float64, numBins-1)
	for i := range edges {
		edges[i] = float64(i+1) / float64(numBins)
	}
	return edges, nil
}

// maxWindow bounds H; a run is far shorter.
const maxWindow = 1 << 20

// validate checks the settings: edges strictly inside (0, 1) and strictly
// increasing, the window in range, δ in [0, 0.5), and the outer edges far
// enough from 0 and 1 for the hysteresis (see checkEdgeMargins).
func (cfg ClassifierConfig) validate() error {
	k := len(cfg.Edges)
	for i, a := range cfg.Edges {
		if !(a > 0 && a < 1) {
			return fmt.Errorf("gdro: classifier: edge %d of %d is %v, want a value strictly between 0 and 1 (the outer edges 0 and 1 are implied)", i+1, k, a)
		}
		if i > 0 && !(a > cfg.Edges[i-1]) {
			return fmt.Errorf("gdro: classifier: edge %d of %d (%v) is not above edge %d (%v): edges must increase strictly", i+1, k, a, i, cfg.Edges[i-1])
		}
	}
	if cfg.Window < 0 || cfg.Window > maxWindow {
		return fmt.Errorf("gdro: classifier: window is %d, want 0 (whole history) to %d", cfg.Window, maxWindow)
	}
	if !(cfg.Delta >= 0 && cfg.Delta < 0.5) {
		return fmt.Errorf("gdro: classifier: hysteresis delta is %v, want a value in [0, 0.5)", cfg.Delta)
	}
	return cfg.checkEdgeMargins()
}

// checkEdgeMargins rejects outer edges within δ of 0 or 1. Under (4) a
// prompt enters the top bin only with p̂ >= a_{B-1}+δ and returns to bin 0
// only with p̂ <= a_1-δ; since p̂ lies in [0, 1], an edge closer than δ to
// either end makes that bin unreachable and traps the prompts on the
// other side of it. The tests use the same arithmetic as the rule.
func (cfg ClassifierConfig) checkEdgeMargins() error {
	if len(cfg.Edges) == 0 {
		return nil
	}
	d := cfg.Delta
	if lo := cfg.Edges[0]; lo-d < 0 {
		return fmt.Errorf("gdro: classifier: the lowest edge %v is within the hysteresis delta %v of 0, so a prompt that leaves bin 0 can never return to it (that needs a pass rate of at most %.6g): use a lowest edge of at least %.6g or a delta of at most %.6g", lo, d, lo-d, d, lo)
	}
	if hi := cfg.Edges[len(cfg.Edges)-1]; hi+d > 1 {
		return fmt.Errorf("gdro: classifier: the top edge %v is within the hysteresis delta %v of 1, so no prompt can reach the top bin (that needs a pass rate of at least %.6g): use a top edge of at most %.6g or a delta of at most %.6g", hi, d, hi+d, 1-d, 1-hi)
	}
	return nil
}

// Classifier assigns each prompt a difficulty bin from the history of its
// per-step statistic (design note section 3). A prompt never observed is in
// bin 0. Bins depend only on observations already made, so labelling a
// batch before generation uses the history up to the previous step.
type Classifier struct {
	cfg   ClassifierConfig
	edges []float64 // a_0 = 0, a_1 .. a_{B-1}, a_B = 1
	items map[string]*history
}

// history is one prompt's state. With a window, vals is a ring of the last
// len(vals) <= H values whose oldest entry is at head; without one, sum and
// count accumulate the whole history in the order observed.
type history struct {
	vals  []float64
	head  int
	sum   float64
	count int
	bin   int
}

// NewClassifier returns a classifier with no history.
func NewClassifier(cfg ClassifierConfig) (*Classifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Edges = append([]float64(nil), cfg.Edges...)
	c := &Classifier{cfg: cfg, items: make(map[string]*history)}
	c.edges = make([]float64, 0, len(cfg.Edges)+2)
	c.edges = append(c.edges, 0)
	c.edges = append(c.edges, cfg.Edges...)
	c.edges = append(c.edges, 1)
	return c, nil
}

// Config returns the classifier's settings.
func (c *Classifier) Config() ClassifierConfig {
	cfg := c.cfg
	cfg.Edges = append([]float64(nil), cfg.Edges...)
	return cfg
}

// NumBins returns B, the number of difficulty bins.
func (c *Classifier) NumBins() int { return len(c.edges) - 1 }

// NumPrompts returns how many distinct prompts have been observed.
func (c *Classifier) NumPrompts() int { return len(c.items) }

// Occupancy returns how many of the observed prompts sit in each bin,
// indexed by bin. Prompts never observed, which are in bin 0, are not
// counted; NumPrompts is the total.
func (c *Classifier) Occupancy() []int {
	occ := make([]int, c.NumBins())
	for _, h := range c.items {
		occ[h.bin]++
	}
	return occ
}

// Bin returns the difficulty bin of prompt id: 0 for a prompt never
// observed, otherwise the bin set by its last Observe.
func (c *Classifier) Bin(id string) int {
	if h, ok := c.items[id]; ok {
		return h.bin
	}
	return 0
}

// Estimate returns the pass-rate estimate p̂ of (2) for prompt id and
// whether the prompt has been observed; an unseen prompt has p̂ = 0.
func (c *Classifier) Estimate(id string) (float64, bool) {
	h, ok := c.items[id]
	if !ok {
		return 0, false
	}
	return h.mean(), true
}

// RawBin returns the bin b with p ∈ [a_b, a_{b+1}), before hysteresis (3);
// p = 1 falls in the top bin.
func (c *Classifier) RawBin(p float64) int {
	// Binary search over the interior edges: the raw bin is the number of
	// interior edges a_1..a_{B-1} that are <= p.
	lo, hi := 0, len(c.cfg.Edges)
	for lo < hi {
		mid := (lo + hi) / 2
		if c.cfg.Edges[mid] <= p {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Observe records this step's statistic for prompt id (a value in [0, 1],
// usually from StepStat) and moves the prompt's bin by the hysteresis rule
// (4). Going up from bin prev, the prompt moves only if p̂ >= a_{prev+1}+δ,
// and then to the highest bin b <= raw with p̂ >= a_b+δ; going down, only
// if p̂ <= a_prev-δ, and then to the lowest bin b >= raw with
// p̂ <= a_{b+1}-δ. So a prompt never crosses an edge by less than δ, and
// with δ = 0 it always lands in its raw bin. A prompt's first observation
// moves it from bin 0, where unseen prompts sit. A value outside [0, 1]
// (or NaN) is rejected with an error and leaves the state unchanged.
func (c *Classifier) Observe(id string, value float64) error {
	if c.items == nil {
		return fmt.Errorf("gdro: classifier: not set up (use NewClassifier)")
	}
	if !(value >= 0 && value <= 1) {
		return fmt.Errorf("gdro: classifier: prompt %q: value %v is outside [0, 1]", id, value)
	}
	h, ok := c.items[id]
	if !ok {
		h = &history{}
		if c.cfg.Window > 0 {
			h.vals = make([]float64, 0, min(c.cfg.Window, 16)) // grows to H
		}
		c.items[id] = h
	}
	h.push(value, c.cfg.Window)
	h.bin = c.move(h.bin, h.mean())
	return nil
}

// move applies the hysteresis rule (4) to a prompt in bin prev whose
// estimate is now p.
func (c *Classifier) move(prev int, p float64) int {
	raw := c.RawBin(p)
	a, d := c.edges, c.cfg.Delta
	switch {
	case raw > prev:
		b := prev
		for b < raw && p >= a[b+1]+d {
			b++
		}
		return b
	case raw < prev:
		b := prev
		for b > raw && p <= a[b]-d {
			b--
		}
		return b
	}
	return prev
}

func (h *history) push(v float64, window int) {
	if window == 0 {
		h.sum += v
		h.count++
		return
	}
	if len(h.vals) < window {
		h.vals = append(h.vals, v)
		return
	}
	h.vals[h.head] = v
	h.head = (h.head + 1) % window
}

// mean is p̂ of (2): the mean of the window, summed from oldest to newest,
// or the running mean of the whole history.
func (h *history) mean() float64 {
	if h.vals == nil {
		if h.count == 0 {
			return 0
		}
		return h.sum / float64(h.count)
	}
	if len(h.vals) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range h.vals[h.head:] {
		s += v
	}
	for _, v := range h.vals[:h.head] {
		s += v
	}
	return s / float64(len(h.vals))
}

// classifierJSON is the serialized form of a Classifier.
type classifierJSON struct {
	Config  ClassifierConfig       `json:"config"`
	Prompts map[string]historyJSON `json:"prompts"`
}

// historyJSON holds one prompt's history: the window's values oldest
// first, or the running sum and count without a window.
type historyJSON struct {
	Values []float64 `json:"values,omitempty"`
	Sum    float64   `json:"sum,omitempty"`
	Count  int       `json:"count,omitempty"`
	Bin    int       `json:"bin"`
}

// MarshalJSON writes the settings and every prompt's history.
func (c *Classifier) MarshalJSON() ([]byte, error) {
	out := classifierJSON{Config: c.cfg, Prompts: make(map[string]historyJSON, len(c.items))}
	for id, h := range c.items {
		hj := historyJSON{Sum: h.sum, Count: h.count, Bin: h.bin}
		if h.vals != nil {
			hj.Values = make([]float64, len(h.vals))
			for i := range h.vals {
				hj.Values[i] = h.vals[(h.head+i)%len(h.vals)]
			}
		}
		out.Prompts[id] = hj
	}
	return json.Marshal(out)
}

// UnmarshalJSON restores a classifier written by MarshalJSON, settings
// included, replacing c's state.
func (c *Classifier) UnmarshalJSON(data []byte) error {
	var in classifierJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("gdro: classifier state: %w", err)
	}
	nc, err := NewClassifier(in.Config)
	if err != nil {
		return fmt.Errorf("gdro: classifier state: %w", err)
	}
	for id, hj := range in.Prompts {
		if hj.Bin < 0 || hj.Bin >= nc.NumBins() {
			return fmt.Errorf("gdro: classifier state: prompt %q: bin %d out of range [0, %d)", id, hj.Bin, nc.NumBins())
		}
		h := &history{bin: hj.Bin}
		if w := nc.cfg.Window; w > 0 {
			if len(hj.Values) > w {
				return fmt.Errorf("gdro: classifier state: prompt %q: %d values exceed window %d", id, len(hj.Values), w)
			}
			// oldest first, so head = 0; non-nil marks window mode
			h.vals = append(make([]float64, 0, len(hj.Values)), hj.Values...)
		} else {
			if len(hj.Values) > 0 || hj.Count < 0 || !(hj.Sum >= 0 && hj.Sum <= float64(hj.Count)) {
				return fmt.Errorf("gdro: classifier state: prompt %q: bad cumulative history", id)
			}
			h.sum, h.count = hj.Sum, hj.Count
		}
		for _, v := range h.vals {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("gdro: classifier state: prompt %q: value %v outside [0, 1]", id, v)
			}
		}
		nc.items[id] = h
	}
	*c = *nc
	return nil
}
