package rl

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/sample"
)

// EvalConfig says how to evaluate: Samples completions per prompt with
// Sample's settings (pass@k uses k = Samples), plus one greedy completion
// when Greedy is set.
type EvalConfig struct {
	Samples      int
	Sample       sample.Config
	Greedy       bool
	Seed         uint64
	BatchPrompts int // prompts per generation batch (memory bound); 0 means 64
}

// PromptResult is one evaluated prompt.
type PromptResult struct {
	ID      string `json:"id"`
	Family  string `json:"family,omitempty"`
	Level   int    `json:"level,omitempty"`
	N       int    `json:"n"`
	Correct int    `json:"correct"`
	Greedy  bool   `json:"greedy_correct"`
}

// Summary aggregates prompt results: pass@1 (the unbiased estimate c/n),
// pass@k (eq. 21 with k = Samples), mean@k (the mean correctness of the k
// samples, equal to pass@1 when n = k) and greedy accuracy.
type Summary struct {
	Prompts int     `json:"prompts"`
	Pass1   float64 `json:"pass@1"`
	PassK   float64 `json:"pass@k"`
	MeanK   float64 `json:"mean@k"`
	Greedy  float64 `json:"greedy"`
}

// Summarize aggregates results with pass@k at k.
func Summarize(prs []PromptResult, k int) Summary {
	var s Summary
	for _, p := range prs {
		if p.N == 0 {
			continue
		}
		s.Prompts++
		s.Pass1 += gdro.PassAtK(p.N, p.Correct, 1)
		s.PassK += gdro.PassAtK(p.N, p.Correct, min(k, p.N))
		s.MeanK += float64(p.Correct) / float64(p.N)
		if p.Greedy {
			s.Greedy++
		}
	}
	if s.Prompts > 0 {
		n := float64(s.Prompts)
		s.Pass1 /= n
		s.PassK /= n
		s.MeanK /= n
		s.Greedy /= n
	}
	return s
}

// SummarizeBy groups results by key and summarizes each group; the keys come
// back sorted (numerically where they are numbers).
func SummarizeBy(prs []PromptResult, k int, key func(PromptResult) string) ([]string, map[string]Summary) {
	groups := map[string][]PromptResult{}
	for _, p := range prs {
		kk := key(p)
		groups[kk] = append(groups[kk], p)
	}
	keys := make([]string, 0, len(groups))
	out := map[string]Summary{}
	for kk, g := range groups {
		keys = append(keys, kk)
		out[kk] = Summarize(g, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, ea := strconv.Atoi(keys[i])
		b, eb := strconv.Atoi(keys[j])
		if ea == nil && eb == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys, out
}

// Evaluate samples every item and reports per-prompt results in item order.
// Seeds depend on the item's position and the sample index only, so two
// evaluations of different checkpoints use the same random numbers.
func Evaluate(m *model.Model, items []Item, env Env, cfg EvalConfig) ([]PromptResult, error) {
	if cfg.Samples < 1 {
		// Summaries average over the sampled prompts: with no samples they
		// would report every figure, greedy included, over 0 prompts.
		return nil, fmt.Errorf("rl: evaluation with %d samples per prompt: need at least 1 (-eval-samples)", cfg.Samples)
	}
	bp := cfg.batchPrompts()
	out := make([]PromptResult, 0, len(items))
	for lo := 0; lo < len(items); lo += bp {
		res, err := evalBatch(m, items, lo, min(lo+bp, len(items)), env, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// batchPrompts is the prompts per generation batch.
func (cfg EvalConfig) batchPrompts() int {
	if cfg.BatchPrompts <= 0 {
		return 64
	}
	return cfg.BatchPrompts
}

// evalBatch evaluates items[lo:hi] as one generation batch (and one greedy
// batch); the seeds use the items' indices in items.
func evalBatch(m *model.Model, items []Item, lo, hi int, env Env, cfg EvalConfig) ([]PromptResult, error) {
	greedy := cfg.Sample
	greedy.Temperature = 0
	reqs := make([]sample.Request, 0, hi-lo)
	for i := lo; i < hi; i++ {
		seeds := make([]uint64, cfg.Samples)
		for j := range seeds {
			seeds[j] = sample.Seed(cfg.Seed, evalSeedStep, i, j)
		}
		reqs = append(reqs, sample.Request{Prompt: items[i].Prompt, Seeds: seeds})
	}
	comps, err := sample.Generate(m, reqs, cfg.Sample)
	if err != nil {
		return nil, fmt.Errorf("rl: evaluation: %w", err)
	}
	var gcomps [][]sample.Completion
	if cfg.Greedy {
		for i := range reqs {
			reqs[i].Seeds = []uint64{0}
		}
		if gcomps, err = sample.Generate(m, reqs, greedy); err != nil {
			return nil, fmt.Errorf("rl: evaluation (greedy): %w", err)
		}
	}
	out := make([]PromptResult, 0, hi-lo)
	for i := lo; i < hi; i++ {
		it := items[i]
		pr := PromptResult{ID: it.Ex.ID, Family: it.Ex.Family, Level: it.Ex.Level, N: cfg.Samples}
		for _, c := range comps[i-lo] {
			if env.Correct(it, c) {
				pr.Correct++
			}
		}
		if cfg.Greedy {
			pr.Greedy = env.Correct(it, gcomps[i-lo][0])
		}
		out = append(out, pr)
	}
	return out, nil
}
