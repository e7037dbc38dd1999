package tasks

import (
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Example is one prompt with its reference answer.
type Example struct {
	ID     string // unique within its set: "pool-17", "heldout-3", "dapo-42"
	Prompt string
	Answer string
	Family string // built-in family name, or "dapo"
	Level  int    // 1.. for built-in tasks, 0 when unknown (DAPO data); for reporting only
}

// Cell names the example's (family, level) cell for per-cell reports:
// "sort/L3", or just the family when the level is unknown ("dapo").
func (ex Example) Cell() string {
	if ex.Level <= 0 {
		return ex.Family
	}
	return ex.Family + "/L" + strconv.Itoa(ex.Level)
}

// BuiltinConfig says which built-in prompts to generate.
type BuiltinConfig struct {
	Seed           uint64   // every prompt is a deterministic function of the seed
	PoolSize       int      // training prompts, revisited in epochs
	HeldOutPerCell int      // held-out prompts per (family, level) cell
	Families       []string // subset of BuiltinFamilies(), each equally likely
	MaxLevel       int      // levels 1..MaxLevel, P(level) proportional to 1/level
}

// DefaultBuiltinConfig returns the mix of shared/design/demo-recipe.md: all
// five families, levels 1..6, a pool of 512 prompts and 32 held-out prompts
// per cell.
func DefaultBuiltinConfig() BuiltinConfig {
	return BuiltinConfig{
		Seed:           1,
		PoolSize:       512,
		HeldOutPerCell: 32,
		Families:       BuiltinFamilies(),
		MaxLevel:       6,
	}
}

// Builtin holds the generated training pool and held-out set, and draws fresh
// supervised examples from the same mix. Its methods only read it, so they
// may run concurrently, each goroutine with its own *rand.Rand.
//
// Pool prompts are distinct and in generation order; Pool[i].ID is
// "pool-<i>". HeldOut is ordered by family (in Families order), then level,
// and HeldOut[i].ID is "heldout-<i>". No prompt text is in both.
//
// A cell holds at most a third of its distinct prompts out (sub at level 1
// has only 55, so it holds out 18), leaving the rest for training. When the
// pool has used up every prompt of a small cell, the pool's remaining draws
// skip that cell, so such a cell is slightly under-represented.
type Builtin struct {
	Pool    []Example
	HeldOut []Example

	cfg     BuiltinConfig
	cells   []cell
	mix     []float64       // cells[i].weight, for drawCell
	heldOut map[string]bool // held-out prompt texts
}

// cell is one (family, level) pair of the mix.
type cell struct {
	family   string
	level    int
	weight   float64 // probability of the cell in the mix
	capacity uint64  // distinct prompt texts the cell can produce
}

// Stream identifiers for the PCG generators, so that each use of the seed
// draws an independent sequence.
const (
	streamPool   = 1
	streamCorpus = 2
)

// maxDrawAttempts bounds the search for a new distinct prompt in one cell.
const maxDrawAttempts = 1 << 20

// corpusExtra is the number of fresh examples Corpus adds to the pool.
const corpusExtra = 2048

// Validate reports the first problem with the configuration.
func (c BuiltinConfig) Validate() error {
	if c.PoolSize < 0 {
		return fmt.Errorf("tasks: pool size %d is negative", c.PoolSize)
	}
	if c.HeldOutPerCell < 0 {
		return fmt.Errorf("tasks: held-out per cell %d is negative", c.HeldOutPerCell)
	}
	if c.MaxLevel < 1 || c.MaxLevel > MaxSupportedLevel {
		return fmt.Errorf("tasks: max level %d out of range 1..%d", c.MaxLevel, MaxSupportedLevel)
	}
	if len(c.Families) == 0 {
		return fmt.Errorf("tasks: no families given (choose from %s)", strings.Join(BuiltinFamilies(), ", "))
	}
	seen := make(map[string]bool)
	for _, f := range c.Families {
		if !IsBuiltinFamily(f) {
			return fmt.Errorf("tasks: unknown family %q (known: %s)", f, strings.Join(BuiltinFamilies(), ", "))
		}
		if seen[f] {
			return fmt.Errorf("tasks: family %q listed twice", f)
		}
		seen[f] = true
	}
	return nil
}

// NewBuiltin generates the held-out set and the training pool of cfg.
//
// Each cell's held-out prompts come from their own generator, seeded by the
// seed and the cell, so they do not change with the pool size or the list of
// other families. The pool is then drawn from the mix, skipping held-out
// texts and its own earlier texts.
func NewBuiltin(cfg BuiltinConfig) (*Builtin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Builtin{cfg: cfg, heldOut: make(map[string]bool)}
	b.cfg.Families = append([]string(nil), cfg.Families...)

	var harmonic float64
	for l := 1; l <= cfg.MaxLevel; l++ {
		harmonic += 1 / float64(l)
	}
	for _, f := range b.cfg.Families {
		for l := 1; l <= cfg.MaxLevel; l++ {
			b.cells = append(b.cells, cell{
				family:   f,
				level:    l,
				weight:   1 / float64(len(b.cfg.Families)) / float64(l) / harmonic,
				capacity: cellCapacity(f, l),
			})
		}
	}
	for _, c := range b.cells {
		b.mix = append(b.mix, c.weight)
	}

	used := make([]uint64, len(b.cells)) // distinct texts taken per cell
	for ci, c := range b.cells {
		n := min(uint64(cfg.HeldOutPerCell), c.capacity/3)
		r := rand.New(rand.NewPCG(cfg.Seed, cellStream(c.family, c.level)))
		for range n {
			ex, ok := drawDistinct(c, r, b.heldOut)
			if !ok {
				return nil, fmt.Errorf("tasks: could not draw %d distinct held-out prompts for %s level %d",
					n, c.family, c.level)
			}
			ex.ID = "heldout-" + strconv.Itoa(len(b.HeldOut))
			b.heldOut[ex.Prompt] = true
			b.HeldOut = append(b.HeldOut, ex)
			used[ci]++
		}
	}

	taken := make(map[string]bool, len(b.heldOut)+min(cfg.PoolSize, 1<<16))
	for p := range b.heldOut {
		taken[p] = true
	}
	weights := slices.Clone(b.mix) // a cell's weight drops to 0 once it is used up
	r := rand.New(rand.NewPCG(cfg.Seed, streamPool))
	for len(b.Pool) < cfg.PoolSize {
		ci, ok := drawCell(r, weights)
		if !ok {
			return nil, fmt.Errorf("tasks: pool size %d exceeds the %d distinct prompts left after the held-out set; "+
				"lower the pool size or add families or levels", cfg.PoolSize, len(b.Pool))
		}
		c := b.cells[ci]
		if used[ci] >= c.capacity {
			weights[ci] = 0
			continue
		}
		ex, ok := drawDistinct(c, r, taken)
		if !ok {
			weights[ci] = 0 // practically exhausted
			continue
		}
		ex.ID = "pool-" + strconv.Itoa(len(b.Pool))
		taken[ex.Prompt] = true
		b.Pool = append(b.Pool, ex)
		used[ci]++
	}
	return b, nil
}

// Config returns the configuration b was built from.
func (b *Builtin) Config() BuiltinConfig {
	cfg := b.cfg
	cfg.Families = append([]string(nil), b.cfg.Families...)
	return cfg
}

// IsHeldOut reports whether prompt is the text of a held-out prompt.
func (b *Builtin) IsHeldOut(prompt string) bool { return b.heldOut[prompt] }

// SFTExample draws a fresh example from the mix (family uniform, level
// proportional to 1/level) that is never a held-out prompt text; it may be a
// pool prompt. Its ID is "sft". The same sequence of r gives the same
// examples.
func (b *Builtin) SFTExample(r *rand.Rand) Example {
	ci, _ := drawCell(r, b.mix) // the weights are positive: always a cell
	c := b.cells[ci]
	// At most a third of a cell is held out, so each try succeeds with
	// probability at least 2/3 and the loop ends.
	for {
		ex := generate(c.family, c.level, r)
		if !b.heldOut[ex.Prompt] {
			ex.ID = "sft"
			return ex
		}
	}
}

// SFTStream returns an endless sequence of [Builtin.SFTExample] draws from a
// generator seeded by seed.
func (b *Builtin) SFTStream(seed uint64) iter.Seq[Example] {
	return func(yield func(Example) bool) {
		r := rand.New(rand.NewPCG(seed, streamSFT))
		for {
			if !yield(b.SFTExample(r)) {
				return
			}
		}
	}
}

// streamSFT is the PCG stream of SFTStream.
const streamSFT = 3

// Corpus returns text lines (prompt followed by answer) for training a BPE
// tokenizer: every pool example and a fixed number of fresh examples drawn
// from the mix with the configuration's seed. Held-out examples are left out.
func (b *Builtin) Corpus() []string {
	lines := make([]string, 0, len(b.Pool)+corpusExtra)
	for _, ex := range b.Pool {
		lines = append(lines, ex.Prompt+ex.Answer)
	}
	r := rand.New(rand.NewPCG(b.cfg.Seed, streamCorpus))
	for range corpusExtra {
		ex := b.SFTExample(r)
		lines = append(lines, ex.Prompt+ex.Answer)
	}
	return lines
}

// drawCell picks a cell index with probability proportional to weights; it
// reports false when every weight is zero.
func drawCell(r *rand.Rand, weights []float64) (int, bool) {
	var total float64
	last := -1
	for i, w := range weights {
		total += w
		if w > 0 {
			last = i
		}
	}
	if last < 0 {
		return 0, false
	}
	u := r.Float64() * total
	for i, w := range weights {
		if w > 0 && u < w {
			return i, true
		}
		u -= w
	}
	return last, true // rounding left u at the top
}

// drawDistinct draws an example of cell c whose prompt is not in taken.
func drawDistinct(c cell, r *rand.Rand, taken map[string]bool) (Example, bool) {
	for range maxDrawAttempts {
		ex := generate(c.family, c.level, r)
		if !taken[ex.Prompt] {
			return ex, true
		}
	}
	return Example{}, false
}

// cellStream derives the PCG stream of a cell's held-out generator from its
// family and level.
func cellStream(family string, level int) uint64 {
	h := fnv.New64a()
	h.Write([]byte("heldout/" + family + "/" + strconv.Itoa(level)))
	return h.Sum64()
}
