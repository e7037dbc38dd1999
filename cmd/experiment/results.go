package main

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/frontier-rl/frontier/weights"
)

// methodName is a method's row title.
func methodName(m string) string {
	if m == "" {
		return "after SFT (start)"
	}
	return m
}

// fmtCell writes a value, and for a compared arm its difference against
// the baseline with the 95% interval; a difference whose interval excludes
// 0 is bold.
func fmtCell(ce cell) string {
	if math.IsNaN(ce.value) {
		return "n/a"
	}
	s := fmt.Sprintf("%.3f", ce.value)
	if ce.delta == nil {
		return s
	}
	d := fmt.Sprintf("%+.3f [%+.3f, %+.3f]", ce.delta.Est, ce.delta.Lo, ce.delta.Hi)
	if ce.delta.Lo > 0 || ce.delta.Hi < 0 {
		d = "**" + d + "**"
	}
	return s + " (" + d + ")"
}

// mdTable writes a markdown table.
func mdTable(sb *strings.Builder, head []string, rows [][]string) {
	fmt.Fprintf(sb, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range rows {
		fmt.Fprintf(sb, "| %s |\n", strings.Join(r, " | "))
	}
	sb.WriteString("\n")
}

// mainTable is Table 1: rows are methods; columns are the metrics overall
// and on the hard cells.
func mainTable(sb *strings.Builder, t *table) {
	head := []string{"method"}
	for _, g := range []string{"overall", "hard cells"} {
		for _, m := range t.metrics {
			head = append(head, g+" "+m.name)
		}
	}
	var rows [][]string
	for _, me := range t.methods {
		row := []string{methodName(me)}
		for _, g := range []string{"overall", "hard cells"} {
			for _, m := range t.metrics {
				row = append(row, fmtCell(t.cells[[3]string{me, g, m.name}]))
			}
		}
		rows = append(rows, row)
	}
	mdTable(sb, head, rows)
}

// levelTable is one metric per level: rows are methods, columns are levels.
func levelTable(sb *strings.Builder, t *table, m metric) {
	head := []string{"method"}
	var gs []string
	for _, g := range t.groups {
		if strings.HasPrefix(g.name, "level ") {
			gs = append(gs, g.name)
			head = append(head, g.name)
		}
	}
	var rows [][]string
	for _, me := range t.methods {
		row := []string{methodName(me)}
		for _, g := range gs {
			row = append(row, fmtCell(t.cells[[3]string{me, g, m.name}]))
		}
		rows = append(rows, row)
	}
	mdTable(sb, head, rows)
}

// budgetTable reports the training rollouts and steps each arm spent.
func budgetTable(sb *strings.Builder, c *config, data []*seedRuns) {
	var rows [][]string
	for _, arm := range c.Arms {
		var spent, steps []float64
		secs, probe := 0.0, 0.0
		for _, sr := range data {
			a := sr.arms[arm]
			spent = append(spent, float64(a.mark.Spent))
			probe += float64(a.mark.Probe)
			steps = append(steps, float64(len(a.metrics)))
			for _, m := range a.metrics {
				secs += m["step_time"]
			}
		}
		rows = append(rows, []string{arm, fmt.Sprintf("%.0f", sum(spent)/float64(len(spent))),
			fmt.Sprintf("%.0f - %.0f", slices.Min(spent), slices.Max(spent)), fmt.Sprintf("%.0f", probe/float64(len(data))),
			fmt.Sprintf("%.1f", sum(steps)/float64(len(steps))),
			fmt.Sprintf("%.0f", secs/float64(len(data)))})
	}
	mdTable(sb, []string{"method", "training rollouts (mean over seeds)", "min - max", "probe rollouts", "GRPO steps", "RL seconds per run"}, rows)
}

// effGradTable reports, per arm and bin, the share of zero-variance groups
// and of the rollouts spent on them.
func effGradTable(sb *strings.Builder, arms []string, eg map[string]effGrad, bins int) {
	head := []string{"method", "all bins"}
	for b := 0; b < bins; b++ {
		head = append(head, fmt.Sprintf("bin %d", b))
	}
	pct := func(num, den float64) string {
		if den == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*num/den)
	}
	var rows [][]string
	for _, arm := range arms {
		e := eg[arm]
		row := []string{arm, pct(sum(e.zeroGroups), sum(e.groups)) + " / " + pct(sum(e.zeroRollouts), sum(e.rollouts))}
		for b := 0; b < bins; b++ {
			row = append(row, pct(e.zeroGroups[b], e.groups[b])+" / "+pct(e.zeroRollouts[b], e.rollouts[b]))
		}
		rows = append(rows, row)
	}
	mdTable(sb, head, rows)
}

// writeResults writes results.md and the figures into the experiment
// directory.
func writeResults(c *config, data []*seedRuns, t *table, command string) error {
	var sb strings.Builder
	k := t.k
	fmt.Fprintf(&sb, "# GDRO against GRPO at small scale\n\n")
	fmt.Fprintf(&sb, "Produced by `%s`.\n\n", command)
	writeSetup(&sb, c, data)
	fmt.Fprintf(&sb, "## Table 1: held-out accuracy after RL\n\n")
	fmt.Fprintf(&sb, "Mean over %d seeds. For each arm other than %s: in brackets, the paired difference against %s of the same seed "+
		"(same SFT model, same held-out prompts) with its bootstrap 95%% interval; bold where the interval excludes 0.\n\n", len(data), baseline, baseline)
	mainTable(&sb, t)
	if same := identicalArms(c, data); len(same) > 0 {
		fmt.Fprintf(&sb, "Note: %s scored exactly as %s on every held-out prompt of every seed: the controller never acted "+
			"(for example, every prompt stayed in one difficulty bin; without -gdro-probe that lasts the whole first epoch over the pool).\n\n",
			strings.Join(same, ", "), baseline)
	}
	for _, m := range t.metrics {
		fmt.Fprintf(&sb, "### %s per level\n\n", m.name)
		levelTable(&sb, t, m)
	}
	fmt.Fprintf(&sb, "## Training rollouts spent\n\n")
	budgetTable(&sb, c, data)

	bins := numBins(data[0].arms[baseline].metrics)
	eg := map[string]effGrad{}
	for _, arm := range c.Arms {
		eg[arm] = effectiveGradient(data, arm, bins)
	}
	fmt.Fprintf(&sb, "## Effective gradient\n\n")
	fmt.Fprintf(&sb, "Share of prompt groups whose rewards all agree (no GRPO gradient) / share of the training rollouts spent on them, "+
		"over all steps and seeds, by the prompt's difficulty bin when it was drawn. Every generated rollout counts, including "+
		"groups an algorithm drops. Figure: `effective_gradient.png`.\n\n")
	effGradTable(&sb, c.Arms, eg, bins)
	if bins > 0 {
		if err := writeEffGrad(filepath.Join(c.dir(), "effective_gradient.png"), c.Arms, eg, bins); err != nil {
			return fmt.Errorf("effective_gradient.png: %w", err)
		}
	}
	fmt.Fprintf(&sb, "## Curriculum\n\n")
	fmt.Fprintf(&sb, "Heat maps of difficulty bin x GRPO step, averaged over seeds: Prompt-GDRO's weight per bin, rollouts per prompt, "+
		"and the share of the batch in each bin.\n\n")
	for _, arm := range c.Arms {
		name := "curriculum-" + arm + ".png"
		if err := writeCurriculum(filepath.Join(c.dir(), name), arm, buildCurriculum(data, arm, bins)); err != nil {
			fmt.Fprintf(&sb, "- %s: no figure (%v)\n", arm, err)
			continue
		}
		fmt.Fprintf(&sb, "- %s: `%s`\n", arm, name)
	}
	fmt.Fprintf(&sb, "\n")
	writeMethod(&sb, c, data, k)
	return weights.WriteFileAtomic(filepath.Join(c.dir(), "results.md"), []byte(sb.String()), 0o644)
}

// identicalArms lists the arms whose held-out results equal the
// baseline's on every prompt of every seed.
func identicalArms(c *config, data []*seedRuns) []string {
	var out []string
	for _, arm := range c.Arms {
		if arm == baseline {
			continue
		}
		same := true
		for _, sr := range data {
			same = same && slices.Equal(sr.arms[arm].after, sr.arms[baseline].after)
		}
		if same {
			out = append(out, arm)
		}
	}
	return out
}

// writeSetup states the settings, and says when the RL budget is smaller
// than cmd/train's default.
func writeSetup(sb *strings.Builder, c *config, data []*seedRuns) {
	r := c.recipe
	recipeBudget := r.Steps * r.Prompts * r.Rollouts
	seeds := make([]string, len(data))
	for i, sr := range data {
		seeds[i] = fmt.Sprint(sr.seed)
	}
	fmt.Fprintf(sb, "- Seeds %s; one SFT per seed, shared by that seed's arms; arms %s.\n", strings.Join(seeds, ", "), strings.Join(c.Arms, ", "))
	if len(c.dropped) > 0 {
		fmt.Fprintf(sb, "- Not run: %s (this build's trainer does not have it).\n", strings.Join(c.dropped, ", "))
	}
	fmt.Fprintf(sb, "- Recipe: the built-in experiment's defaults (package pipeline, as `go run ./cmd/train`)")
	if len(c.Train) > 0 {
		fmt.Fprintf(sb, " with `%s`", strings.Join(c.Train, " "))
	}
	fmt.Fprintf(sb, ": SFT %d steps x %d; GRPO %d prompts x %d rollouts per step, lr %g.\n", r.SFTSteps, r.SFTBatch, r.Prompts, r.Rollouts, r.LR)
	fmt.Fprintf(sb, "- RL budget: %d training rollouts per arm (every completion a GRPO step generates, kept or dropped); each arm stops at the first step that reaches it. "+
		"A probe pass before RL, where the recipe has one, is the same for every arm and reported beside the budget.", c.budget())
	if c.budget() < recipeBudget {
		fmt.Fprintf(sb, " This is smaller than cmd/train's RL budget with this recipe (%d steps x %d x %d = %d rollouts).",
			r.Steps, r.Prompts, r.Rollouts, recipeBudget)
	}
	fmt.Fprintf(sb, "\n- Held-out evaluation: %d samples per prompt at T = %g, top-p %g, top-k %d, plus one greedy completion.\n\n",
		r.EvalSamples, r.EvalTemp, r.EvalTopP, r.EvalTopK)
}

// writeMethod explains the statistics and lists the hard cells.
func writeMethod(sb *strings.Builder, c *config, data []*seedRuns, k int) {
	fmt.Fprintf(sb, "## Method\n\n")
	fmt.Fprintf(sb, "- mean@%d: the share of correct samples per prompt; pass@%d: the unbiased estimate from the %d samples; greedy: one greedy completion. "+
		"Each is averaged over a group's prompts, then over seeds.\n", k, k, k)
	fmt.Fprintf(sb, "- Intervals: two-stage percentile bootstrap, %d replicates, seed %d. The resampling units are the seeds (with replacement), "+
		"then the held-out prompts within each drawn seed (with replacement); a prompt's difference pairs the same prompt under both methods.\n", c.Boot, c.BootSeed)
	fmt.Fprintf(sb, "- Hard cells: per seed, fixed before RL: the %.0f%% of family x level cells with the lowest mean@%d in a second, "+
		"independently seeded evaluation of the SFT model (not the one reported as \"after SFT\"), leaving out cells with no correct sample in it.\n", 100*c.HardFrac, k)
	for _, sr := range data {
		cells := slices.Sorted(maps.Keys(sr.hard))
		fmt.Fprintf(sb, "  - seed %d: %s\n", sr.seed, strings.Join(cells, ", "))
	}
}
