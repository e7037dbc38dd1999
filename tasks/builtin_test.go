package tasks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// solve recomputes the answer of a built-in prompt from its text alone,
// independently of the generators.
func solve(t *testing.T, prompt string) (family, answer string) {
	t.Helper()
	body, ok := strings.CutSuffix(prompt, "=")
	if !ok {
		t.Fatalf("prompt %q does not end with '='", prompt)
	}
	atoi := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("prompt %q: %v", prompt, err)
		}
		return n
	}
	switch {
	case strings.HasPrefix(body, "s"):
		d := []byte(body[1:])
		slices.Sort(d)
		return FamilySort, string(d)
	case strings.HasPrefix(body, "c"):
		target, digits, ok := strings.Cut(body[1:], ":")
		if !ok || len(target) != 1 {
			t.Fatalf("bad count prompt %q", prompt)
		}
		return FamilyCount, strconv.Itoa(strings.Count(digits, target))
	case strings.HasPrefix(body, "a"):
		x, y, _ := strings.Cut(body[1:], "+")
		s := []byte(strconv.FormatInt(atoi(x)+atoi(y), 10))
		slices.Reverse(s)
		return FamilyAdd, string(s)
	case strings.Contains(body, "-"):
		x, y, _ := strings.Cut(body, "-")
		return FamilySub, strconv.FormatInt(atoi(x)-atoi(y), 10)
	default:
		var sum int64
		for _, term := range strings.Split(body, "+") {
			if len(term) != 1 {
				t.Fatalf("chain prompt %q has a term %q of more than one digit", prompt, term)
			}
			sum += atoi(term)
		}
		return FamilyChain, strconv.FormatInt(sum, 10)
	}
}

// levelOf recomputes the level of a built-in prompt from its size.
func levelOf(t *testing.T, ex Example) int {
	t.Helper()
	body := strings.TrimSuffix(ex.Prompt, "=")
	switch ex.Family {
	case FamilySort:
		return len(body) - 2
	case FamilyChain:
		return strings.Count(body, "+")
	case FamilyCount:
		_, digits, _ := strings.Cut(body, ":")
		return len(digits)/2 - 1
	case FamilySub:
		a, _, _ := strings.Cut(body, "-")
		return len(a)
	case FamilyAdd:
		a, _, _ := strings.Cut(body[1:], "+")
		return len(a)
	}
	t.Fatalf("unknown family %q", ex.Family)
	return 0
}

func newBuiltin(t *testing.T, cfg BuiltinConfig) *Builtin {
	t.Helper()
	b, err := NewBuiltin(cfg)
	if err != nil {
		t.Fatalf("NewBuiltin(%+v): %v", cfg, err)
	}
	return b
}

func TestBuiltinDeterministic(t *testing.T) {
	cfg := DefaultBuiltinConfig()
	a, b := newBuiltin(t, cfg), newBuiltin(t, cfg)
	if !reflect.DeepEqual(a.Pool, b.Pool) || !reflect.DeepEqual(a.HeldOut, b.HeldOut) {
		t.Fatal("same seed gave different pools or held-out sets")
	}
	cfg.Seed++
	c := newBuiltin(t, cfg)
	samePool, sameHeld := 0, 0
	for i := range a.Pool {
		if a.Pool[i].Prompt == c.Pool[i].Prompt {
			samePool++
		}
	}
	for i := range a.HeldOut {
		if a.HeldOut[i].Prompt == c.HeldOut[i].Prompt {
			sameHeld++
		}
	}
	// Level-1 cells are small, so a few prompts may coincide by chance.
	if samePool > len(a.Pool)/10 || sameHeld > len(a.HeldOut)/10 {
		t.Errorf("seeds %d and %d share %d/%d pool and %d/%d held-out prompts",
			cfg.Seed-1, cfg.Seed, samePool, len(a.Pool), sameHeld, len(a.HeldOut))
	}
}

func TestHeldOutIndependentOfPool(t *testing.T) {
	cfg := DefaultBuiltinConfig()
	a := newBuiltin(t, cfg)
	cfg.PoolSize = 100
	b := newBuiltin(t, cfg)
	if !reflect.DeepEqual(a.HeldOut, b.HeldOut) {
		t.Error("the held-out set changed with the pool size")
	}
}

func TestBuiltinSplits(t *testing.T) {
	cfg := DefaultBuiltinConfig()
	b := newBuiltin(t, cfg)
	if len(b.Pool) != cfg.PoolSize {
		t.Fatalf("pool has %d prompts, want %d", len(b.Pool), cfg.PoolSize)
	}
	held := make(map[string]bool)
	perCell := make(map[string]int)
	for i, ex := range b.HeldOut {
		if want := fmt.Sprintf("heldout-%d", i); ex.ID != want {
			t.Errorf("held-out %d has ID %q, want %q", i, ex.ID, want)
		}
		if held[ex.Prompt] {
			t.Errorf("held-out prompt %q appears twice", ex.Prompt)
		}
		held[ex.Prompt] = true
		perCell[fmt.Sprintf("%s/%d", ex.Family, ex.Level)]++
		if !b.IsHeldOut(ex.Prompt) {
			t.Errorf("IsHeldOut(%q) = false", ex.Prompt)
		}
	}
	for _, f := range cfg.Families {
		for l := 1; l <= cfg.MaxLevel; l++ {
			want := cfg.HeldOutPerCell
			if f == FamilySub && l == 1 {
				want = 18 // a third of the 55 prompts of the cell
			}
			if got := perCell[fmt.Sprintf("%s/%d", f, l)]; got != want {
				t.Errorf("cell %s level %d holds out %d prompts, want %d", f, l, got, want)
			}
		}
	}
	pool := make(map[string]bool)
	for i, ex := range b.Pool {
		if want := fmt.Sprintf("pool-%d", i); ex.ID != want {
			t.Errorf("pool %d has ID %q, want %q", i, ex.ID, want)
		}
		if held[ex.Prompt] {
			t.Errorf("pool prompt %q is also held out", ex.Prompt)
		}
		if pool[ex.Prompt] {
			t.Errorf("pool prompt %q appears twice", ex.Prompt)
		}
		pool[ex.Prompt] = true
	}
}

func TestAnswersCorrect(t *testing.T) {
	b := newBuiltin(t, DefaultBuiltinConfig())
	all := slices.Concat(b.Pool, b.HeldOut)
	r := rand.New(rand.NewPCG(7, 7))
	for range 5000 {
		all = append(all, b.SFTExample(r))
	}
	for l := 1; l <= MaxSupportedLevel; l++ {
		for _, f := range BuiltinFamilies() {
			ex, err := GenerateExample(f, l, r)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, ex)
		}
	}
	for _, ex := range all {
		family, answer := solve(t, ex.Prompt)
		if family != ex.Family || answer != ex.Answer {
			t.Errorf("%q: got family %s answer %q, recomputed %s %q", ex.Prompt, ex.Family, ex.Answer, family, answer)
		}
		if l := levelOf(t, ex); l != ex.Level {
			t.Errorf("%q: level %d, but its size says %d", ex.Prompt, ex.Level, l)
		}
		if !ExactMatch().Correct(ex, " "+ex.Answer+"\n") {
			t.Errorf("%q: ExactMatch rejects its own answer %q", ex.Prompt, ex.Answer)
		}
	}
}

func TestLevelDistribution(t *testing.T) {
	cfg := DefaultBuiltinConfig()
	b := newBuiltin(t, cfg)
	harmonic := 0.0
	for l := 1; l <= cfg.MaxLevel; l++ {
		harmonic += 1 / float64(l)
	}
	check := func(name string, exs []Example, tol float64) {
		t.Helper()
		levels := make(map[int]int)
		families := make(map[string]int)
		for _, ex := range exs {
			levels[ex.Level]++
			families[ex.Family]++
		}
		n := float64(len(exs))
		for l := 1; l <= cfg.MaxLevel; l++ {
			want := 1 / float64(l) / harmonic
			if got := float64(levels[l]) / n; math.Abs(got-want) > tol {
				t.Errorf("%s: level %d has share %.3f, want %.3f +- %.3f", name, l, got, want, tol)
			}
		}
		for _, f := range cfg.Families {
			want := 1 / float64(len(cfg.Families))
			if got := float64(families[f]) / n; math.Abs(got-want) > tol {
				t.Errorf("%s: family %s has share %.3f, want %.3f +- %.3f", name, f, got, want, tol)
			}
		}
	}
	// About 5 standard deviations for a share near 0.4 in 512 draws.
	check("pool", b.Pool, 0.11)
	var sft []Example
	for ex := range b.SFTStream(3) {
		sft = append(sft, ex)
		if len(sft) == 20000 {
			break
		}
	}
	check("sft", sft, 0.02)
}

func TestSFTAvoidsHeldOut(t *testing.T) {
	// One small cell whose held-out third is often drawn.
	cfg := BuiltinConfig{Seed: 5, PoolSize: 10, HeldOutPerCell: 32, Families: []string{FamilySub}, MaxLevel: 1}
	b := newBuiltin(t, cfg)
	seen := make(map[string]bool)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		ex := b.SFTExample(r)
		if b.IsHeldOut(ex.Prompt) {
			t.Fatalf("SFTExample returned held-out prompt %q", ex.Prompt)
		}
		seen[ex.Prompt] = true
	}
	if want := 55 - 18; len(seen) != want {
		t.Errorf("SFT drew %d distinct prompts, want all %d that are not held out", len(seen), want)
	}
}

func TestSFTStreamDeterministic(t *testing.T) {
	b := newBuiltin(t, DefaultBuiltinConfig())
	take := func(seed uint64) []Example {
		var out []Example
		for ex := range b.SFTStream(seed) {
			out = append(out, ex)
			if len(out) == 100 {
				break
			}
		}
		return out
	}
	if !reflect.DeepEqual(take(1), take(1)) {
		t.Error("the same seed gave different SFT streams")
	}
	if reflect.DeepEqual(take(1), take(2)) {
		t.Error("different seeds gave the same SFT stream")
	}
}

func TestCorpus(t *testing.T) {
	b := newBuiltin(t, DefaultBuiltinConfig())
	lines := b.Corpus()
	if !reflect.DeepEqual(lines, b.Corpus()) {
		t.Error("Corpus is not deterministic")
	}
	if len(lines) != len(b.Pool)+corpusExtra {
		t.Errorf("Corpus has %d lines, want %d", len(lines), len(b.Pool)+corpusExtra)
	}
	if want := b.Pool[0].Prompt + b.Pool[0].Answer; lines[0] != want {
		t.Errorf("Corpus line 0 is %q, want %q", lines[0], want)
	}
	held := make(map[string]bool)
	for _, ex := range b.HeldOut {
		held[ex.Prompt+ex.Answer] = true
	}
	for _, l := range lines {
		if held[l] {
			t.Errorf("Corpus holds the held-out line %q", l)
		}
	}
}

func TestPoolExhaustion(t *testing.T) {
	cfg := BuiltinConfig{Seed: 1, HeldOutPerCell: 32, Families: []string{FamilySub}, MaxLevel: 1}
	cfg.PoolSize = 55 - 18
	b := newBuiltin(t, cfg)
	if len(b.Pool) != cfg.PoolSize {
		t.Fatalf("pool has %d prompts, want %d", len(b.Pool), cfg.PoolSize)
	}
	cfg.PoolSize++
	if _, err := NewBuiltin(cfg); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("pool larger than the prompts left: got error %v, want one saying it exceeds them", err)
	}
}

func TestCellCapacity(t *testing.T) {
	tests := []struct {
		family string
		level  int
		want   uint64
	}{
		{FamilySort, 1, 100},
		{FamilyChain, 1, 100},
		{FamilySub, 1, 55},
		{FamilySub, 2, 4995},
		{FamilyAdd, 1, 100},
		{FamilyAdd, 2, 8100},
		{FamilyCount, 1, 99630},
		{FamilySort, 12, 10000000000000},
	}
	for _, tt := range tests {
		if got := cellCapacity(tt.family, tt.level); got != tt.want {
			t.Errorf("cellCapacity(%s, %d) = %d, want %d", tt.family, tt.level, got, tt.want)
		}
	}
	// Small cells: the generator reaches exactly that many texts.
	r := rand.New(rand.NewPCG(3, 4))
	for _, f := range []string{FamilySort, FamilyChain, FamilySub, FamilyAdd} {
		seen := make(map[string]bool)
		for range 20000 {
			seen[generate(f, 1, r).Prompt] = true
		}
		if got, want := uint64(len(seen)), cellCapacity(f, 1); got != want {
			t.Errorf("%s level 1: generator reached %d texts, capacity says %d", f, got, want)
		}
	}
}

func TestBuiltinConfigErrors(t *testing.T) {
	ok := DefaultBuiltinConfig()
	tests := []struct {
		name   string
		modify func(*BuiltinConfig)
		want   string
	}{
		{"negative pool", func(c *BuiltinConfig) { c.PoolSize = -1 }, "pool size -1"},
		{"negative held-out", func(c *BuiltinConfig) { c.HeldOutPerCell = -2 }, "held-out per cell -2"},
		{"level zero", func(c *BuiltinConfig) { c.MaxLevel = 0 }, "max level 0"},
		{"level too high", func(c *BuiltinConfig) { c.MaxLevel = MaxSupportedLevel + 1 }, "out of range"},
		{"no families", func(c *BuiltinConfig) { c.Families = nil }, "no families"},
		{"unknown family", func(c *BuiltinConfig) { c.Families = []string{"sort", "mul"} }, `unknown family "mul"`},
		{"duplicate family", func(c *BuiltinConfig) { c.Families = []string{"sort", "sort"} }, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			cfg.Families = slices.Clone(ok.Families)
			tt.modify(&cfg)
			_, err := NewBuiltin(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestGenerateExampleErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	if _, err := GenerateExample("mul", 1, r); err == nil {
		t.Error("unknown family: no error")
	}
	if _, err := GenerateExample(FamilySort, 0, r); err == nil {
		t.Error("level 0: no error")
	}
}

func TestEmptyPoolAndHeldOut(t *testing.T) {
	cfg := DefaultBuiltinConfig()
	cfg.PoolSize, cfg.HeldOutPerCell = 0, 0
	b := newBuiltin(t, cfg)
	if len(b.Pool) != 0 || len(b.HeldOut) != 0 {
		t.Errorf("got %d pool and %d held-out prompts, want none", len(b.Pool), len(b.HeldOut))
	}
	if ex := b.SFTExample(rand.New(rand.NewPCG(1, 1))); ex.Prompt == "" {
		t.Error("SFTExample returned an empty prompt")
	}
}

func TestExampleCell(t *testing.T) {
	tests := []struct {
		ex   Example
		want string
	}{
		{Example{Family: FamilySort, Level: 3}, "sort/L3"},
		{Example{Family: FamilyDAPO}, "dapo"},
	}
	for _, tt := range tests {
		if got := tt.ex.Cell(); got != tt.want {
			t.Errorf("%+v.Cell() = %q, want %q", tt.ex, got, tt.want)
		}
	}
}
