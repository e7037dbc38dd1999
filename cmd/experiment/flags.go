package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/frontier-rl/frontier/pipeline"
)

// allArms are the methods of the table, the baseline first.
var allArms = []string{"grpo", "dapo", "prompt-gdro", "rollout-gdro", "sqrt", "both"}

// baseline is the arm every other arm is compared with.
const baseline = "grpo"

// reserved are the run flags the experiment sets itself.
var reserved = []string{"seed", "algo", "name", "out", "resume", "model", "data", "eval-data",
	"sft-only", "base-eval", "threads", "rollout-budget", "profile", "device"}

// config is the experiment's settings.
type config struct {
	Out, Name string
	Seeds     int
	FirstSeed uint64
	Arms      []string
	Budget    int
	Jobs      int
	Threads   int
	HardFrac  float64
	Boot      int
	BootSeed  uint64
	Train     []string // run flags (after --), given to every run

	// recipe is the run options of the built-in experiment with Train
	// applied: the defaults come from package pipeline, never a copy.
	recipe *pipeline.Options
	// dropped are default arms this build's trainer does not know.
	dropped []string
	command string // the command line, for results.md
	// interruptAt, when set (tests), cancels the experiment before the job
	// with this directory (relative to the experiment directory) starts.
	interruptAt string
}

// dir is the experiment directory.
func (c *config) dir() string { return c.Out + "/" + c.Name }

// parseConfig parses and validates every flag before any work.
func parseConfig(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("experiment", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Out, "out", "runs", "parent directory of the experiment directory")
	fs.StringVar(&c.Name, "name", "experiment", "experiment directory name: OUT/NAME (rerun to resume)")
	fs.IntVar(&c.Seeds, "seeds", 5, "seeds (one SFT each, shared by that seed's arms)")
	fs.Uint64Var(&c.FirstSeed, "first-seed", 1, "the seeds are first-seed, first-seed+1, ...")
	arms := fs.String("arms", strings.Join(allArms, ","), "comma-separated arms: "+strings.Join(allArms, ", ")+" (grpo is the baseline and must be one)")
	fs.IntVar(&c.Budget, "budget", defaultBudget, "training rollouts per arm (0 = the recipe's steps x prompts x rollouts); each arm stops once it has generated this many")
	fs.IntVar(&c.Jobs, "jobs", 2, "runs at a time")
	fs.IntVar(&c.Threads, "threads", 1, "CPU threads per run")
	fs.Float64Var(&c.HardFrac, "hard-frac", 0.25, "hard cells: this fraction of the family x level cells, those with the lowest mean@k in the independent after-SFT pass (cells with no correct sample excluded)")
	fs.IntVar(&c.Boot, "bootstrap", 2000, "bootstrap replicates")
	fs.Uint64Var(&c.BootSeed, "bootstrap-seed", 1, "seed of the bootstrap draws")
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: experiment [flags] [-- run flags of cmd/train]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.Train = fs.Args()
	c.command = strings.TrimSpace("go run ./cmd/experiment " + strings.Join(args, " "))
	if len(c.Train) > 0 && args[len(args)-len(c.Train)-1] != "--" {
		return nil, fmt.Errorf("unexpected arguments %q (run flags go after --)", c.Train)
	}
	armsSet := false
	fs.Visit(func(f *flag.Flag) { armsSet = armsSet || f.Name == "arms" })
	if err := c.validate(*arms, armsSet); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks the settings and the run flags.
func (c *config) validate(arms string, armsSet bool) error {
	switch {
	case c.Seeds < 1:
		return fmt.Errorf("-seeds %d: need at least 1", c.Seeds)
	case c.Budget < 0:
		return fmt.Errorf("-budget %d: must be >= 0", c.Budget)
	case c.Jobs < 1:
		return fmt.Errorf("-jobs %d: need at least 1", c.Jobs)
	case c.Threads < 1:
		return fmt.Errorf("-threads %d: need at least 1 (results may depend on it, so it is fixed per run)", c.Threads)
	case c.HardFrac <= 0 || c.HardFrac > 1:
		return fmt.Errorf("-hard-frac %g: must be in (0, 1]", c.HardFrac)
	case c.Boot < 100:
		return fmt.Errorf("-bootstrap %d: need at least 100 replicates", c.Boot)
	case c.Name == "" || strings.ContainsAny(c.Name, `/\`):
		return fmt.Errorf("-name %q: need a plain directory name", c.Name)
	case c.Out == "":
		return fmt.Errorf("-out is empty: give the directory that will hold the experiment directory (the default is runs)")
	}
	if st, err := os.Stat(c.Out); err == nil && !st.IsDir() {
		return fmt.Errorf("-out %s: is a file: give the directory that will hold the experiment directory", c.Out)
	}
	recipe, err := pipeline.ParseFlags(c.Train, io.Discard)
	if err != nil {
		return fmt.Errorf("run flags after --: %w", err)
	}
	for _, name := range reserved {
		if recipe.IsSet(name) {
			return fmt.Errorf("run flag -%s: the experiment sets it itself (use the experiment's own flags)", name)
		}
	}
	if err := recipe.Validate(); err != nil {
		return fmt.Errorf("run flags: %w", err)
	}
	c.recipe = recipe
	return c.chooseArms(arms, armsSet)
}

// chooseArms parses -arms and checks each arm against the trainer. A
// default arm this build does not know is dropped with a note; one asked
// for by name is an error.
func (c *config) chooseArms(arms string, armsSet bool) error {
	for _, a := range strings.Split(arms, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if slices.Contains(c.Arms, a) {
			return fmt.Errorf("-arms %q: %s given twice", arms, a)
		}
		o, err := pipeline.ParseFlags(append(slices.Clone(c.Train), "-algo", a), io.Discard)
		if err == nil {
			err = o.Validate()
		}
		if err != nil {
			if !armsSet && a != baseline {
				c.dropped = append(c.dropped, a)
				continue
			}
			return fmt.Errorf("-arms: arm %s: %w", a, err)
		}
		c.Arms = append(c.Arms, a)
	}
	if !slices.Contains(c.Arms, baseline) {
		return fmt.Errorf("-arms %q: must include %s, the baseline of every difference", arms, baseline)
	}
	return nil
}

// budget is the training rollouts each arm may generate.
func (c *config) budget() int {
	if c.Budget > 0 {
		return c.Budget
	}
	return c.recipe.Steps * c.recipe.Prompts * c.recipe.Rollouts
}

// seedList is the seeds of the experiment.
func (c *config) seedList() []uint64 {
	out := make([]uint64, c.Seeds)
	for i := range out {
		out[i] = c.FirstSeed + uint64(i)
	}
	return out
}

// defaultBudget is -budget's default: 0 takes the recipe's own RL budget
// (cmd/train's -steps x -prompts x -rollouts), so the experiment follows the
// built-in recipe. Measured in CPU time of one run with 1 thread on the
// 2-core AMD EPYC (AVX2), SFT with its two evaluations / one arm with its
// probe and final evaluation:
//
//	600 SFT steps, 96 x 32 x 8 rollouts (5 families):         48 s / 33 s
//	600 SFT steps, 200 x 32 x 8 rollouts (sort,add, teacher
//	with errors, 1,024-prompt pool, probe):                    50 s / 79 s
//
// so 5 SFTs + 30 arms need about 1,230 or 2,620 CPU seconds: 11 or 22
// minutes on two free cores. Keep 5 x SFT + 30 x arm under about 6,000 CPU
// seconds when the recipe grows (the experiment must finish within 60
// minutes), or set -budget.
const defaultBudget = 0
