package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/pipeline"
	"github.com/frontier-rl/frontier/rl"
)

// tinyRun is a run recipe small enough for a test (flags after --).
var tinyRun = []string{"--", "-pool", "24", "-heldout", "2", "-families", "sort,chain",
	"-hidden", "32", "-intermediate", "64", "-heads", "2", "-kv-heads", "1", "-head-dim", "16", "-layers", "1",
	"-sft-steps", "6", "-sft-warmup", "2", "-sft-batch", "8", "-prompts", "4", "-rollouts", "3",
	"-minibatches", "2", "-eval-samples", "2", "-save-every", "1", "-gdro-window", "0"}

// tinyArgs is a 2-seed x 2-arm experiment of 3 GRPO steps per arm.
func tinyArgs(out string) []string {
	return append([]string{"-out", out, "-seeds", "2", "-arms", "grpo,prompt-gdro", "-budget", "36", "-bootstrap", "200"}, tinyRun...)
}

func mustConfig(t *testing.T, args []string) *config {
	t.Helper()
	c, err := parseConfig(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// results reads results.md without its first lines (the command line).
func results(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "experiment", "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	return s[strings.Index(s, "- Seeds"):]
}

// TestEndToEndAndResume runs the tiny experiment straight through, and
// again with an interruption (one arm stopped before it starts, the other
// running job stopped wherever it is) followed by a rerun; both write the
// same results, and a third run finds everything finished.
func TestEndToEndAndResume(t *testing.T) {
	dir := t.TempDir()
	straight := filepath.Join(dir, "a")
	var log bytes.Buffer
	if err := run(context.Background(), mustConfig(t, tinyArgs(straight)), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, f := range []string{"results.md", "effective_gradient.png", "curriculum-grpo.png", "curriculum-prompt-gdro.png",
		"seed1/sft/eval.json", "seed2/prompt-gdro/done.json", "seed2/grpo/metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(straight, "experiment", f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	// An arm starts from its seed's SFT model: it trains no SFT of its own
	// even though the recipe sets -sft-steps.
	if armLog, err := os.ReadFile(filepath.Join(straight, "experiment", "seed1", "grpo.log")); err != nil || strings.Contains(string(armLog), "SFT:") {
		t.Errorf("the grpo arm ran SFT again (or has no log: %v)", err)
	}
	if n := strings.Count(log.String(), " done in "); n != 6 {
		t.Errorf("%d progress lines with 'done in', want 6 (2 SFTs + 4 arms):\n%s", n, log.String())
	}

	split := filepath.Join(dir, "b")
	c := mustConfig(t, tinyArgs(split))
	c.interruptAt = filepath.Join("seed1", "prompt-gdro")
	log.Reset()
	if err := run(context.Background(), c, &log); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted run: error %v, want errInterrupted\n%s", err, log.String())
	}
	if _, err := os.Stat(filepath.Join(split, "experiment", "seed1", "prompt-gdro", doneFile)); err == nil {
		t.Fatalf("the interrupted arm is marked done")
	}
	log.Reset()
	if err := run(context.Background(), mustConfig(t, tinyArgs(split)), &log); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "already finished") {
		t.Errorf("the rerun did not skip finished runs:\n%s", log.String())
	}
	if a, b := results(t, straight), results(t, split); stripTimes(a) != stripTimes(b) {
		t.Errorf("results differ after an interruption:\n--- straight\n%s\n--- resumed\n%s", a, b)
	}
	log.Reset()
	if err := run(context.Background(), mustConfig(t, tinyArgs(split)), &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "6 of 6 runs already finished") {
		t.Errorf("a finished experiment ran again:\n%s", log.String())
	}
}

// stripTimes drops the seconds column of the budget table, the one part of
// results.md that depends on the machine.
func stripTimes(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "| grpo | 36") || strings.HasPrefix(line, "| prompt-gdro | 36") {
			line = line[:strings.LastIndex(strings.TrimSuffix(line, " |"), "|")]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// TestResultsTableShape checks Table 1 and the per-level tables on made-up
// runs whose differences are known: a header of metric columns, one row per
// method, a delta with its interval on every compared arm.
func TestResultsTableShape(t *testing.T) {
	dir := t.TempDir()
	c := mustConfig(t, append([]string{"-out", dir, "-seeds", "2", "-arms", "grpo,prompt-gdro"}, tinyRun...))
	if err := os.MkdirAll(c.dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	data := madeUpRuns()
	tab, err := buildTable(c, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeResults(c, data, tab, "test"); err != nil {
		t.Fatal(err)
	}
	md := results(t, dir)
	tables := mdTables(md)
	if len(tables) < 4 {
		t.Fatalf("%d tables, want Table 1 and three per-level tables:\n%s", len(tables), md)
	}
	for i, tab := range tables[:4] {
		head := cells(tab[0])
		if i == 0 {
			want := []string{"method", "overall mean@8", "overall pass@8", "overall greedy", "hard cells mean@8", "hard cells pass@8", "hard cells greedy"}
			if !slices.Equal(head, want) {
				t.Errorf("Table 1 header %q, want %q", head, want)
			}
		} else if head[1] != "level 1" || head[len(head)-1] != "level 6" {
			t.Errorf("table %d header %q, want levels 1-6", i, head)
		}
		rows := tab[2:]
		if len(rows) != 3 {
			t.Fatalf("table %d: %d rows, want after SFT, grpo, prompt-gdro", i, len(rows))
		}
		for j, row := range rows {
			cs := cells(row)
			if len(cs) != len(head) {
				t.Errorf("table %d row %d: %d cells, header %d", i, j, len(cs), len(head))
			}
			if strings.Contains(row, "[") != (cs[0] == "prompt-gdro") {
				t.Errorf("table %d row %q: a delta only on the compared arm", i, row)
			}
		}
	}
	// prompt-gdro has one more correct sample of 8 on every prompt: +0.125
	// everywhere, with no spread to resample.
	if row := cells(tables[0][4]); row[1] != "0.688 (**+0.125 [+0.125, +0.125]**)" {
		t.Errorf("Table 1 prompt-gdro mean@8 %q, want 0.688 (**+0.125 [+0.125, +0.125]**)", row[1])
	}
	// Hard cells: the quarter of the 12 cells with the lowest independent
	// mean@8 among those with any correct sample: chain L6 (1/8), then the
	// tie at 3/8 of chain L5 and sort L5; sort L6 (0/8) is left out.
	if !strings.Contains(md, "seed 1: chain L5, chain L6, sort L5") {
		t.Errorf("hard cells not listed as expected:\n%s", md)
	}
}

// madeUpRuns are two seeds of 2 families x 6 levels x 2 prompts. After
// SFT, a prompt of level L has 7-L of 8 samples correct (mean@8 3.5/8);
// the independent pass differs (sort L6 has no correct sample in it);
// grpo adds one correct sample to every prompt (4.5/8) and prompt-gdro one
// more (5.5/8).
func madeUpRuns() []*seedRuns {
	var out []*seedRuns
	for seed := uint64(1); seed <= 2; seed++ {
		var sft, bins, grpo, pg []rl.PromptResult
		for _, fam := range []string{"chain", "sort"} {
			for level := 1; level <= 6; level++ {
				for i := range 2 {
					p := rl.PromptResult{ID: fmt.Sprintf("%s-%d-%d", fam, level, i), Family: fam, Level: level, N: 8, Correct: 7 - level, Greedy: level < 3}
					sft = append(sft, p)
					b := p
					b.Correct = 8 - level
					if fam == "chain" && level == 6 {
						b.Correct = 1
					}
					if fam == "sort" && level == 6 {
						b.Correct = 0
					}
					if fam == "sort" && level == 5 {
						b.Correct = 3
					}
					bins = append(bins, b)
					g := p
					g.Correct = min(p.Correct+1, 8)
					grpo = append(grpo, g)
					q := g
					q.Correct = g.Correct + 1
					pg = append(pg, q)
				}
			}
		}
		be := &pipeline.BaseEval{Seed: seed, K: 8, AfterSFT: sft, BinPass: bins}
		sr := &seedRuns{seed: seed, sft: be, arms: map[string]*armRun{"grpo": {after: grpo}, "prompt-gdro": {after: pg}}}
		sr.hard = hardCells(be.BinPass, be.K, 0.25)
		out = append(out, sr)
	}
	return out
}

// mdTables splits markdown into its tables (each a list of lines).
func mdTables(md string) [][]string {
	var out [][]string
	var cur []string
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") {
			cur = append(cur, line)
			continue
		}
		if cur != nil {
			out = append(out, cur)
			cur = nil
		}
	}
	return out
}

func cells(row string) []string {
	parts := strings.Split(strings.Trim(row, "| "), " | ")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// TestBadFlags: every bad flag is a clear error before any work.
func TestBadFlags(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-seeds", "0"}, "-seeds"},
		{[]string{"-arms", "grpo,magic"}, "magic"},
		{[]string{"-arms", "prompt-gdro"}, "must include grpo"},
		{[]string{"-arms", "grpo,grpo"}, "twice"},
		{[]string{"-budget", "-1"}, "-budget"},
		{[]string{"-jobs", "0"}, "-jobs"},
		{[]string{"-threads", "0"}, "-threads"},
		{[]string{"-hard-frac", "2"}, "-hard-frac"},
		{[]string{"-bootstrap", "5"}, "-bootstrap"},
		{[]string{"-name", "a/b"}, "-name"},
		{[]string{"-out", ""}, "-out is empty"},
		{[]string{"-out", "/etc/hostname"}, "is a file"},
		{[]string{"--", "-vocab", "1000000000"}, "-vocab 1000000000: must be at most"},
		{[]string{"--", "-pool", "2000000000"}, "-pool 2000000000: must be at most"},
		{[]string{"stray"}, "after --"},
		{[]string{"--", "-seed", "3"}, "-seed"},
		{[]string{"--", "-lr", "x"}, "lr"},
		{[]string{"--", "-save-dtype", "f8"}, "save-dtype"},
		{[]string{"--", "-sft-steps", "10", "-sft-warmup", "20"}, "sft-warmup"},
		{[]string{"--", "-families", "sort,poetry"}, "poetry"},
		{[]string{"--", "-vocab", "100"}, "-vocab"},
		{[]string{"--", "-gdro-edges", "0.5,0.2"}, "classifier"},
		{[]string{"--", "-eval-samples", "0"}, "-eval-samples"},
	} {
		_, err := parseConfig(append([]string{"-out", out}, tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("bad flags wrote %v", entries)
	}
}

// TestDefaultArms: by default every arm the trainer knows runs, grpo
// among them; the others are dropped with a note, never silently.
func TestDefaultArms(t *testing.T) {
	c := mustConfig(t, []string{"-out", t.TempDir()})
	got := append(slices.Clone(c.Arms), c.dropped...)
	slices.Sort(got)
	want := slices.Clone(allArms)
	slices.Sort(want)
	if !slices.Equal(got, want) || !slices.Contains(c.Arms, baseline) {
		t.Errorf("arms %v, dropped %v: want every one of %v, grpo run", c.Arms, c.dropped, allArms)
	}
}

// TestChangedSettingsRefused: rerunning an experiment directory with
// another recipe is an error, not a mix of runs.
func TestChangedSettingsRefused(t *testing.T) {
	out := t.TempDir()
	c := mustConfig(t, []string{"-out", out, "-budget", "100"})
	if err := c.claimDir(); err != nil {
		t.Fatal(err)
	}
	c = mustConfig(t, []string{"-out", out, "-budget", "200"})
	if err := c.claimDir(); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("error %v, want one about other settings", err)
	}
}
