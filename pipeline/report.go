package pipeline

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/weights"
)

// addEvalMetrics adds an evaluation's summary to a metrics object.
func addEvalMetrics(m rl.Metrics, res []rl.PromptResult, k int, prefix string) {
	s := rl.Summarize(res, k)
	m[prefix+"pass@1"] = s.Pass1
	m[prefix+fmt.Sprintf("pass@%d", k)] = s.PassK
	m[prefix+fmt.Sprintf("mean@%d", k)] = s.MeanK
	m[prefix+"greedy"] = s.Greedy
	keys, by := rl.SummarizeBy(res, k, func(p rl.PromptResult) string { return strconv.Itoa(p.Level) })
	for _, key := range keys {
		m[prefix+"level/"+key+fmt.Sprintf("/mean@%d", k)] = by[key].MeanK
		m[prefix+"level/"+key+fmt.Sprintf("/pass@%d", k)] = by[key].PassK
	}
}

// evalRow is one line of the final table.
type evalRow struct {
	Group string     `json:"group"`
	SFT   rl.Summary `json:"after_sft"`
	RL    rl.Summary `json:"after_rl"`
}

// report prints the evaluation table (after SFT vs after GRPO: overall, per
// task level, per family, per difficulty bin) and writes eval.json. The
// difficulty bins of the held-out prompts come from their accuracy in the
// independent after-SFT pass, with the classifier's edges, so a row follows
// the same prompts before and after, and its change is not regression to the
// mean of the samples that chose it.
func (r *runner) report(before, after []rl.PromptResult, edges []float64) error {
	k := r.o.EvalSamples
	cls, err := gdro.NewClassifier(gdro.ClassifierConfig{Edges: edges})
	if err != nil {
		return err
	}
	binOf := map[string]int{}
	for _, p := range r.state.SFTBinEval {
		binOf[p.ID] = cls.RawBin(float64(p.Correct) / float64(max(p.N, 1)))
	}
	var rows []evalRow
	add := func(prefix string, key func(rl.PromptResult) string) {
		ks, b := rl.SummarizeBy(before, k, key)
		_, a := rl.SummarizeBy(after, k, key)
		for _, kk := range ks {
			rows = append(rows, evalRow{Group: prefix + kk, SFT: b[kk], RL: a[kk]})
		}
	}
	add("", func(rl.PromptResult) string { return "overall" })
	add("level ", func(p rl.PromptResult) string { return strconv.Itoa(p.Level) })
	add("family ", func(p rl.PromptResult) string { return p.Family })
	if len(binOf) > 0 {
		add("SFT bin ", func(p rl.PromptResult) string { return strconv.Itoa(binOf[p.ID]) })
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "\nHeld-out evaluation (%d samples per prompt at T=%.2g, top-p %.2g, top-k %d; greedy = one greedy completion)\n", k, r.o.EvalTemp, r.o.EvalTopP, r.o.EvalTopK)
	fmt.Fprintf(&sb, "%-14s %7s | %8s %8s %8s | %8s %8s %8s | %8s %8s\n", "group", "prompts",
		fmt.Sprintf("mean@%d", k), fmt.Sprintf("pass@%d", k), "greedy", fmt.Sprintf("mean@%d", k), fmt.Sprintf("pass@%d", k), "greedy", "d mean", "d pass")
	fmt.Fprintf(&sb, "%-14s %7s | %26s | %26s |\n", "", "", "after SFT", "after GRPO")
	for _, row := range rows {
		fmt.Fprintf(&sb, "%-14s %7d | %8.3f %8.3f %8.3f | %8.3f %8.3f %8.3f | %+8.3f %+8.3f\n", row.Group, row.SFT.Prompts,
			row.SFT.MeanK, row.SFT.PassK, row.SFT.Greedy, row.RL.MeanK, row.RL.PassK, row.RL.Greedy,
			row.RL.MeanK-row.SFT.MeanK, row.RL.PassK-row.SFT.PassK)
	}
	fmt.Fprintf(&sb, "(SFT bin: the bin of the prompt's accuracy in a second, independently seeded evaluation after SFT)\n")
	fmt.Fprint(r.out, sb.String())
	doc := map[string]any{
		"algo": r.o.Algo, "seed": r.o.Seed, "k": k, "rows": rows,
		"sampling":  map[string]any{"temperature": r.o.EvalTemp, "top_p": r.o.EvalTopP, "top_k": r.o.EvalTopK, "max_new": r.o.EvalMaxNew},
		"after_sft": before, "after_rl": after, "sft_bin_pass": r.state.SFTBinEval,
		"rollouts_spent": r.state.Spent, "probe_rollouts": r.state.ProbeSpent,
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(r.dir, "eval.json")
	if err := weights.WriteFileAtomic(path, append(js, '\n'), 0o644); err != nil {
		return err
	}
	r.logf("evaluation table %s", path)
	return nil
}
