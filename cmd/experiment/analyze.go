package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/pipeline"
	"github.com/frontier-rl/frontier/rl"
)

// armRun is one finished arm of one seed.
type armRun struct {
	after   []rl.PromptResult // held-out evaluation after RL
	metrics []rl.Metrics      // metrics.jsonl
	mark    doneMark
}

// seedRuns is everything one seed produced.
type seedRuns struct {
	seed uint64
	sft  *pipeline.BaseEval
	arms map[string]*armRun
	hard map[string]bool // hard cells, "family L<level>"
}

// load reads every finished run of the experiment.
func load(c *config, jobs []*job) ([]*seedRuns, error) {
	bySeed := map[uint64]*seedRuns{}
	var out []*seedRuns
	for _, j := range jobs {
		if j.arm == "" {
			be, err := readEval(filepath.Join(j.dir, "eval.json"))
			if err != nil {
				return nil, err
			}
			sr := &seedRuns{seed: j.seed, sft: be, arms: map[string]*armRun{}}
			sr.hard = hardCells(be.BinPass, be.K, c.HardFrac)
			bySeed[j.seed] = sr
			out = append(out, sr)
		}
	}
	for _, j := range jobs {
		if j.arm == "" {
			continue
		}
		sr := bySeed[j.seed]
		be, err := readEval(filepath.Join(j.dir, "eval.json"))
		if err != nil {
			return nil, err
		}
		if err := sameprompts(sr.sft.AfterSFT, be.AfterRL); err != nil {
			return nil, fmt.Errorf("%s: %w", j.dir, err)
		}
		ms, err := pipeline.ReadMetrics(filepath.Join(j.dir, "metrics.jsonl"))
		if err != nil {
			return nil, err
		}
		var mark doneMark
		if data, err := os.ReadFile(filepath.Join(j.dir, doneFile)); err == nil {
			_ = json.Unmarshal(data, &mark)
		}
		sr.arms[j.arm] = &armRun{after: be.AfterRL, metrics: ms, mark: mark}
	}
	return out, nil
}

// readEval reads a run's eval.json.
func readEval(path string) (*pipeline.BaseEval, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var be pipeline.BaseEval
	if err := json.Unmarshal(data, &be); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if be.K < 1 {
		be.K = 1
	}
	return &be, nil
}

// sameprompts checks that two evaluations scored the same prompts in the
// same order, so their differences pair up.
func sameprompts(a, b []rl.PromptResult) error {
	if len(a) != len(b) {
		return fmt.Errorf("evaluations of %d and %d prompts do not pair", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			return fmt.Errorf("held-out prompt %d is %q in one evaluation and %q in the other", i, a[i].ID, b[i].ID)
		}
	}
	return nil
}

// cellOf names a prompt's family x level cell.
func cellOf(p rl.PromptResult) string { return p.Family + " L" + strconv.Itoa(p.Level) }

// hardCells picks the ceil(frac x cells) family x level cells with the
// lowest mean@k in the independent after-SFT pass, leaving out cells with
// no correct sample at all (RL has nothing to reinforce there). Ties break
// by name, so the choice is deterministic.
func hardCells(pass []rl.PromptResult, k int, frac float64) map[string]bool {
	sum, n := map[string]float64{}, map[string]int{}
	for _, p := range pass {
		sum[cellOf(p)] += meanK(p, k)
		n[cellOf(p)]++
	}
	var cells []string
	var all int
	for cell := range n {
		all++
		if sum[cell] > 0 {
			cells = append(cells, cell)
		}
	}
	slices.SortFunc(cells, func(a, b string) int {
		ma, mb := sum[a]/float64(n[a]), sum[b]/float64(n[b])
		switch {
		case ma < mb:
			return -1
		case ma > mb:
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	want := min(int(math.Ceil(frac*float64(all))), len(cells))
	out := map[string]bool{}
	for _, c := range cells[:want] {
		out[c] = true
	}
	return out
}

// metric is a per-prompt score.
type metric struct {
	name string
	of   func(p rl.PromptResult, k int) float64
}

// metrics returns mean@k, pass@k and greedy.
func metrics(k int) []metric {
	return []metric{
		{fmt.Sprintf("mean@%d", k), meanK},
		{fmt.Sprintf("pass@%d", k), passK},
		{"greedy", func(p rl.PromptResult, _ int) float64 { return b2f(p.Greedy) }},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// meanK is the prompt's share of correct samples.
func meanK(p rl.PromptResult, _ int) float64 { return float64(p.Correct) / float64(max(p.N, 1)) }

// passK is the unbiased pass@k estimate from the prompt's samples (k
// lowered to n when larger), as rl.Summarize computes it.
func passK(p rl.PromptResult, k int) float64 { return gdro.PassAtK(p.N, p.Correct, min(k, p.N)) }

// group selects held-out prompts: overall, a level, or the hard cells.
type group struct {
	name string
	in   func(sr *seedRuns, p rl.PromptResult) bool
}

// groups returns overall, the hard cells, then each level present.
func groups(data []*seedRuns) []group {
	gs := []group{
		{"overall", func(*seedRuns, rl.PromptResult) bool { return true }},
		{"hard cells", func(sr *seedRuns, p rl.PromptResult) bool { return sr.hard[cellOf(p)] }},
	}
	levels := map[int]bool{}
	for _, p := range data[0].sft.AfterSFT {
		levels[p.Level] = true
	}
	for _, l := range slices.Sorted(maps.Keys(levels)) {
		gs = append(gs, group{"level " + strconv.Itoa(l), func(_ *seedRuns, p rl.PromptResult) bool { return p.Level == l }})
	}
	return gs
}

// cell is one table entry: the mean over seeds, and for an arm other than
// the baseline its paired difference against the baseline.
type cell struct {
	value float64
	delta *pipeline.Interval
}

// score is the mean over seeds of the mean of m over the group's prompts of
// res(seed); NaN when a seed has no prompt in the group.
func score(data []*seedRuns, g group, m metric, k int, res func(*seedRuns) []rl.PromptResult) float64 {
	total := 0.0
	for _, sr := range data {
		sum, n := 0.0, 0
		for _, p := range res(sr) {
			if g.in(sr, p) {
				sum += m.of(p, k)
				n++
			}
		}
		if n == 0 {
			return math.NaN()
		}
		total += sum / float64(n)
	}
	return total / float64(len(data))
}

// compare is the bootstrap of arm minus baseline over the group's prompts.
func compare(c *config, data []*seedRuns, g group, m metric, k int, arm string) (*pipeline.Interval, error) {
	diffs := make([][]float64, len(data))
	for s, sr := range data {
		a, b := sr.arms[arm].after, sr.arms[baseline].after
		if err := sameprompts(a, b); err != nil {
			return nil, fmt.Errorf("seed %d %s vs %s: %w", sr.seed, arm, baseline, err)
		}
		for i := range a {
			if g.in(sr, a[i]) {
				diffs[s] = append(diffs[s], m.of(a[i], k)-m.of(b[i], k))
			}
		}
		if len(diffs[s]) == 0 {
			return nil, nil // the group is empty in some seed
		}
	}
	iv, err := pipeline.PairedBootstrap(diffs, c.Boot, c.BootSeed)
	if err != nil {
		return nil, err
	}
	return &iv, nil
}

// table holds every (method, group, metric) entry; method "" is after SFT.
type table struct {
	k       int
	methods []string
	groups  []group
	metrics []metric
	cells   map[[3]string]cell
}

// buildTable scores every method and compares each arm with the baseline.
func buildTable(c *config, data []*seedRuns) (*table, error) {
	k := data[0].sft.K
	t := &table{k: k, methods: append([]string{""}, c.Arms...), groups: groups(data), metrics: metrics(k), cells: map[[3]string]cell{}}
	for _, g := range t.groups {
		for _, m := range t.metrics {
			t.cells[[3]string{"", g.name, m.name}] = cell{value: score(data, g, m, k, func(sr *seedRuns) []rl.PromptResult { return sr.sft.AfterSFT })}
			for _, arm := range c.Arms {
				ce := cell{value: score(data, g, m, k, func(sr *seedRuns) []rl.PromptResult { return sr.arms[arm].after })}
				if arm != baseline {
					iv, err := compare(c, data, g, m, k, arm)
					if err != nil {
						return nil, err
					}
					ce.delta = iv
				}
				t.cells[[3]string{arm, g.name, m.name}] = ce
			}
		}
	}
	return t, nil
}
