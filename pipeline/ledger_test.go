package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/tasks"
)

// TestBinCounts: groups and rollouts with zero reward variance, including
// groups whose completions were all truncated and so never verified.
func TestBinCounts(t *testing.T) {
	g := func(n, correct int) *ledgerGroup { return &ledgerGroup{n: n, correct: correct} }
	for _, tc := range []struct {
		name                                string
		seen                                []*ledgerGroup
		trained, size                       int
		groups, zero, rollouts, zeroRollout int
	}{
		{"empty bin", nil, 0, 0, 0, 0, 0, 0},
		{"mixed and uniform groups", []*ledgerGroup{g(4, 2), g(4, 4), g(4, 0)}, 3, 4, 3, 2, 12, 8},
		// A group with 3 of 4 completions verified (one truncated) and all
		// 3 correct has variance: the truncated one is wrong.
		{"one truncated", []*ledgerGroup{g(3, 3)}, 1, 4, 1, 0, 4, 0},
		{"all truncated", []*ledgerGroup{g(4, 1)}, 3, 4, 3, 2, 12, 8},
		{"no step figures", []*ledgerGroup{g(2, 1), g(5, 0)}, 0, 0, 2, 1, 7, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups, zero, rollouts, zeroRollouts := binCounts(tc.seen, tc.trained, tc.size)
			if groups != tc.groups || zero != tc.zero || rollouts != tc.rollouts || zeroRollouts != tc.zeroRollout {
				t.Errorf("got %d %d %d %d, want %d %d %d %d", groups, zero, rollouts, zeroRollouts, tc.groups, tc.zero, tc.rollouts, tc.zeroRollout)
			}
		})
	}
}

// TestLedgerFlush: concurrent verification, per-bin keys and the total.
func TestLedgerFlush(t *testing.T) {
	l := newLedger(tasks.ExactMatch())
	l.binOf = func(id string) int {
		if id == "b" {
			return 1
		}
		return 0
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := []string{"a", "b"}[i%2]
			l.Correct(tasks.Example{ID: id, Answer: "7"}, []string{"7", "8"}[i/2%2])
		}()
	}
	wg.Wait()
	mt := rl.Metrics{"gdro/bin_count/0": 1, "gdro/rollouts/0": 4, "gdro/bin_count/1": 2, "gdro/rollouts/1": 4}
	if got := l.flush(mt, 2); got != 12 {
		t.Errorf("spent %d, want 12 (bin 0: 1 x 4, bin 1: 2 x 4)", got)
	}
	// Prompt b: 4 verified, 2 correct (variance); a second, unseen group in
	// bin 1 was all truncated.
	want := map[string]float64{"zero_std/groups/1": 2, "zero_std/zero_groups/1": 1, "zero_std/rollouts/1": 8,
		"zero_std/zero_rollouts/1": 4, "zero_std/groups/0": 1, "zero_std/zero_groups/0": 0, "spent/rollouts": 12}
	for k, v := range want {
		if mt[k] != v {
			t.Errorf("%s = %v, want %v", k, mt[k], v)
		}
	}
	if got := l.flush(rl.Metrics{}, 2); got != 0 {
		t.Errorf("after a flush the next step starts empty; spent %d", got)
	}
}

// TestLoadBaseEval: an evaluation of other prompts is refused, naming the
// file and field.
func TestLoadBaseEval(t *testing.T) {
	dir := t.TempDir()
	held := []rl.Item{{Ex: tasks.Example{ID: "h1"}}, {Ex: tasks.Example{ID: "h2"}}}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"k":8,"after_sft":[{"id":"h1","n":8},{"id":"h2","n":8}],"sft_bin_pass":[{"id":"h1","n":8},{"id":"h2","n":8}]}`
	if be, err := LoadBaseEval(write("good.json", good), held); err != nil || be.K != 8 || len(be.BinPass) != 2 {
		t.Fatalf("good file: %+v, %v", be, err)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"after_sft":[{"id":"h1"}],"sft_bin_pass":[{"id":"h1"},{"id":"h2"}]}`, "after_sft has 1 prompts"},
		{`{"after_sft":[{"id":"h1"},{"id":"h2"}],"sft_bin_pass":[{"id":"h1"},{"id":"x"}]}`, `sft_bin_pass prompt 1 is "x"`},
		{`{"after_sft":[{"id":"h1"},{"id":"h2"}]}`, "sft_bin_pass has 0 prompts"},
		{`not json`, "bad.json"},
	} {
		_, err := LoadBaseEval(write("bad.json", tc.body), held)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.body, err, tc.want)
		}
	}
	if _, err := LoadBaseEval(filepath.Join(dir, "missing.json"), held); err == nil || !strings.Contains(err.Error(), "-base-eval") {
		t.Errorf("missing file: error %v", err)
	}
}
