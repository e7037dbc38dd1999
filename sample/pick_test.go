package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// refSupport is the reference of the sampler, written from Config's
// documentation: the probabilities at the sampling temperature, in float64,
// of every token (0 outside the top-k / top-p support), normalised over the
// support, and the margin by which the top-p cut is decided (how far the
// kept mass is from the threshold on either side, as a fraction of the
// top-k survivors' mass; +Inf without top-p). Top-p is taken over the
// probabilities renormalised over the top-k survivors.
func refSupport(logits []float32, cfg Config) (dist []float64, margin float64) {
	V := len(logits)
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	probs := make([]float64, V)
	for i, v := range logits {
		probs[i] = math.Exp((float64(v) - mx) / cfg.Temperature)
	}
	order := make([]int, V)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	keep := V
	if cfg.TopK > 0 && cfg.TopK < V {
		keep = cfg.TopK
	}
	var survivors float64
	for _, id := range order[:keep] {
		survivors += probs[id]
	}
	margin = math.Inf(1)
	if cfg.TopP > 0 && cfg.TopP < 1 {
		var acc float64
		for i := 0; i < keep; i++ {
			prev := acc
			acc += probs[order[i]] / survivors
			if acc >= cfg.TopP {
				keep = i + 1
				margin = math.Min(acc-cfg.TopP, cfg.TopP-prev)
				break
			}
		}
	}
	dist = make([]float64, V)
	var kept float64
	for _, id := range order[:keep] {
		kept += probs[id]
	}
	for _, id := range order[:keep] {
		dist[id] = probs[id] / kept
	}
	return dist, margin
}

// pickFunc is a sampler under test: one token from one row of logits.
type pickFunc func(logits []float32, cfg Config, r *rand.Rand) (int32, float32)

// checkSampler draws n tokens with pick from logits and returns an error if
// one lies outside the reference support, if a log-probability is not the
// temperature-1 log-softmax, or if a token's count is off its expected
// count n·p under the renormalised distribution by more than 5·sqrt(n·p) + 5
// (five standard deviations of a binomial count, with room for the skew of
// rare tokens).
func checkSampler(pick pickFunc, logits []float32, cfg Config, n int, seed uint64) error {
	dist, _ := refSupport(logits, cfg)
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - mx)
	}
	logZ := mx + math.Log(z)
	r := rand.New(rand.NewPCG(seed, 1))
	counts := make([]int, len(logits))
	for range n {
		id, lp := pick(logits, cfg, r)
		if id < 0 || int(id) >= len(logits) || dist[id] == 0 {
			return fmt.Errorf("drew token %d, outside the support", id)
		}
		if want := float64(logits[id]) - logZ; math.Abs(float64(lp)-want) > 1e-5*(1+math.Abs(want)) {
			return fmt.Errorf("token %d: log-prob %v, want %v", id, lp, want)
		}
		counts[id]++
	}
	for id, p := range dist {
		want := p * float64(n)
		if tol := 5*math.Sqrt(want) + 5; math.Abs(float64(counts[id])-want) > tol {
			return fmt.Errorf("token %d: drawn %d times in %d, want %.1f ± %.1f", id, counts[id], n, want, tol)
		}
	}
	return nil
}

// samplerCases are the (temperature, top-k, top-p) rows of the sampler test.
var samplerCases = []Config{
	{Temperature: 1},
	{Temperature: 0.7},
	{Temperature: 1, TopK: 1},
	{Temperature: 1, TopK: 5},
	{Temperature: 0.6, TopK: 20},
	{Temperature: 1, TopP: 0.5},
	{Temperature: 1.3, TopP: 0.9},
	{Temperature: 0.7, TopK: 20, TopP: 0.8},
	{Temperature: 1, TopK: 8, TopP: 0.95},
	{Temperature: 2, TopK: 300, TopP: 0.99},
}

// randomLogits returns V logits, normal with standard deviation sd, whose
// top-p cut under cfg is decided by a margin of at least 2e-5 of the total
// probability (redrawn until it is), so float32 arithmetic cannot move the
// boundary.
func randomLogits(r *rand.Rand, V int, sd float64, cfg Config) []float32 {
	for {
		x := make([]float32, V)
		for i := range x {
			x[i] = float32(sd * r.NormFloat64())
		}
		if _, m := refSupport(x, cfg); m >= 2e-5 {
			return x
		}
	}
}

// TestSamplerMatchesReference: on random logits, for every row of
// samplerCases and several vocabulary sizes (one past the picker's block
// size, so the block search runs), the picker draws only inside the
// reference support and with the reference's frequencies.
func TestSamplerMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var p picker
	for _, V := range []int{7, 64, 3*pickBlock + 5} {
		sd := 2.5
		if V > pickBlock {
			sd = 0.25 // a flat row, so the untruncated draw lands in every block
		}
		for ci, cfg := range samplerCases {
			logits := randomLogits(r, V, sd, cfg)
			n := 40000
			if V > pickBlock {
				n = 1000 // checks the support; the frequencies are checked on the small rows
			}
			if err := checkSampler(p.pick, logits, cfg, n, uint64(ci)); err != nil {
				t.Errorf("V=%d %+v: %v", V, cfg, err)
			}
		}
	}
}

// TestSortPickerMatchesReference: the benchmark's baseline passes the check
// too (on the small rows).
func TestSortPickerMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var p sortPicker
	for ci, cfg := range samplerCases {
		logits := randomLogits(r, 64, 2.5, cfg)
		if err := checkSampler(p.pick, logits, cfg, 20000, uint64(ci)); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// TestSamplerCheckCatchesIgnoredTruncation: the check fails a sampler that
// ignores top-k, and one that ignores top-p, alone and combined.
func TestSamplerCheckCatchesIgnoredTruncation(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var p picker
	for _, tc := range []struct {
		name   string
		cfg    Config
		broken func(Config) Config
	}{
		{"top-k", Config{Temperature: 1, TopK: 5}, func(c Config) Config { c.TopK = 0; return c }},
		{"top-p", Config{Temperature: 1, TopP: 0.5}, func(c Config) Config { c.TopP = 0; return c }},
		{"top-k before top-p", Config{Temperature: 1, TopK: 8, TopP: 0.9}, func(c Config) Config { c.TopK = 0; return c }},
		{"top-p after top-k", Config{Temperature: 1, TopK: 8, TopP: 0.5}, func(c Config) Config { c.TopP = 0; return c }},
	} {
		logits := randomLogits(r, 64, 1, tc.cfg)
		broken := func(l []float32, c Config, rr *rand.Rand) (int32, float32) { return p.pick(l, tc.broken(c), rr) }
		err := checkSampler(broken, logits, tc.cfg, 20000, 1)
		if err == nil {
			t.Errorf("a sampler ignoring %s passes the check", tc.name)
			continue
		}
		t.Logf("a sampler ignoring %s: %v", tc.name, err)
	}
}

// TestSamplerCheckCatchesWholeVocabularyTopP: the check fails a sampler
// whose top-p threshold is a fraction of the whole vocabulary's mass rather
// than of the top-k survivors'.
func TestSamplerCheckCatchesWholeVocabularyTopP(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cfg := Config{Temperature: 1, TopK: 8, TopP: 0.9}
	logits := randomLogits(r, 64, 1, cfg)
	err := checkSampler(wholeVocabTopP, logits, cfg, 20000, 1)
	if err == nil {
		t.Fatal("a sampler taking top-p over the whole vocabulary passes the check")
	}
	t.Logf("a sampler taking top-p over the whole vocabulary: %v", err)
}

// wholeVocabTopP is a wrong sampler: top-k, then top-p with the threshold
// taken over the whole vocabulary's mass.
func wholeVocabTopP(logits []float32, cfg Config, r *rand.Rand) (int32, float32) {
	V := len(logits)
	mx := float64(slices.Max(logits))
	probs := make([]float64, V)
	var total, z float64
	for i, v := range logits {
		probs[i] = math.Exp((float64(v) - mx) / cfg.Temperature)
		total += probs[i]
		z += math.Exp(float64(v) - mx)
	}
	order := make([]int, V)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	keep := min(cfg.TopK, V)
	var acc float64
	for i := 0; i < keep; i++ {
		acc += probs[order[i]]
		if acc >= cfg.TopP*total {
			keep = i + 1
			break
		}
	}
	var kept float64
	for _, id := range order[:keep] {
		kept += probs[id]
	}
	target, id := r.Float64()*kept, order[keep-1]
	acc = 0
	for _, j := range order[:keep] {
		if acc += probs[j]; acc > target {
			id = j
			break
		}
	}
	return int32(id), float32(float64(logits[id]) - mx - math.Log(z))
}

// TestGreedyTies: temperature 0 and top-k 1 pick the lowest id among equal
// maxima.
func TestGreedyTies(t *testing.T) {
	logits := []float32{0.5, 2, -1, 2, 2, 0}
	var p picker
	r := rand.New(rand.NewPCG(1, 1))
	for _, cfg := range []Config{{}, {Temperature: 1, TopK: 1}} {
		if id, _ := p.pick(logits, cfg, r); id != 1 {
			t.Errorf("%+v: picked %d, want 1", cfg, id)
		}
	}
}

// BenchmarkPick is one token's choice over a Qwen3-sized vocabulary
// (151,936 logits, normal with standard deviation 3) at temperature 0.7,
// untruncated and with top-k 20 / top-p 0.8, alternating so that both see
// the same machine load; "trunc/full" is the median over pairs of the ratio
// of their times.
func BenchmarkPick(b *testing.B) {
	const V = 151936
	r := rand.New(rand.NewPCG(3, 3))
	logits := make([]float32, V)
	for i := range logits {
		logits[i] = float32(3 * r.NormFloat64())
	}
	full := Config{Temperature: 0.7}
	trunc := Config{Temperature: 0.7, TopK: 20, TopP: 0.8}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"full", full}, {"topk20-topp0.8", trunc}, {"greedy", Config{}}} {
		b.Run(tc.name, func(b *testing.B) {
			var p picker
			for range b.N {
				p.pick(logits, tc.cfg, r)
			}
		})
	}
	b.Run("sort-baseline/topk20-topp0.8", func(b *testing.B) {
		var p sortPicker
		for range b.N {
			p.pick(logits, trunc, r)
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var p picker
		ratios := make([]float64, 0, b.N)
		for range b.N {
			t0 := time.Now()
			p.pick(logits, full, r)
			t1 := time.Now()
			p.pick(logits, trunc, r)
			ratios = append(ratios, float64(time.Since(t1))/float64(t1.Sub(t0)))
		}
		slices.Sort(ratios)
		b.ReportMetric(ratios[len(ratios)/2], "trunc/full")
	})
}

// sortPicker is the sampler as first written, the definition executed
// directly: float64 exponentials of every logit and a stable sort of the
// whole vocabulary whenever top-k or top-p is set. It is the baseline of
// BenchmarkPick and passes the same check as the picker.
type sortPicker struct {
	probs []float64
	order []int32
}

func (p *sortPicker) pick(logits []float32, cfg Config, r *rand.Rand) (int32, float32) {
	V := len(logits)
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	mx := float64(logits[best])
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - mx)
	}
	logZ := mx + math.Log(z)
	logp := func(i int) float32 { return float32(float64(logits[i]) - logZ) }
	if cfg.Temperature == 0 {
		return int32(best), logp(best)
	}
	if cap(p.probs) < V {
		p.probs = make([]float64, V)
		p.order = make([]int32, V)
	}
	probs := p.probs[:V]
	invT := 1 / cfg.Temperature
	var total float64
	for i, v := range logits {
		probs[i] = math.Exp((float64(v) - mx) * invT)
		total += probs[i]
	}
	truncate := (cfg.TopK > 0 && cfg.TopK < V) || (cfg.TopP > 0 && cfg.TopP < 1)
	u := r.Float64()
	if !truncate {
		target := u * total
		var acc float64
		for i, q := range probs {
			acc += q
			if acc > target {
				return int32(i), logp(i)
			}
		}
		return int32(V - 1), logp(V - 1)
	}
	order := p.order[:V]
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	keep := V
	if cfg.TopK > 0 && cfg.TopK < keep {
		keep = cfg.TopK
	}
	if cfg.TopP > 0 && cfg.TopP < 1 {
		var survivors float64
		for _, id := range order[:keep] {
			survivors += probs[id]
		}
		var acc float64
		for i := 0; i < keep; i++ {
			acc += probs[order[i]]
			if acc >= cfg.TopP*survivors {
				keep = i + 1
				break
			}
		}
	}
	var kept float64
	for _, id := range order[:keep] {
		kept += probs[id]
	}
	target := u * kept
	var acc float64
	for _, id := range order[:keep] {
		acc += probs[id]
		if acc > target {
			return id, logp(int(id))
		}
	}
	id := order[keep-1]
	return id, logp(int(id))
}
