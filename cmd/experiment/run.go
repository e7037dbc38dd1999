package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/frontier-rl/frontier/weights"
)

// settingsFile records what fixes the results of an experiment directory.
const settingsFile = "experiment.json"

// settings are the flags a resumed experiment must keep: changing them
// would mix runs of different recipes. Seeds and arms may grow.
type settings struct {
	Train     []string `json:"train"`
	Budget    int      `json:"budget"`
	Threads   int      `json:"threads"`
	FirstSeed uint64   `json:"first_seed"`
}

// run runs (or resumes) the experiment, then writes results.md and the
// figures.
func run(ctx context.Context, c *config, out io.Writer) error {
	if err := c.claimDir(); err != nil {
		return err
	}
	jobs := plan(c)
	fmt.Fprintf(out, "experiment %s: %d seeds x %d arms (%s) + %d SFTs, %d training rollouts per arm, %d runs at a time x %d thread(s)\n",
		c.dir(), c.Seeds, len(c.Arms), strings.Join(c.Arms, ", "), c.Seeds, c.budget(), c.Jobs, c.Threads)
	if len(c.dropped) > 0 {
		fmt.Fprintf(out, "not run: %s (this build's trainer does not have it)\n", strings.Join(c.dropped, ", "))
	}
	start := time.Now()
	if err := runAll(ctx, c, jobs, out); err != nil {
		return err
	}
	data, err := load(c, jobs)
	if err != nil {
		return err
	}
	t, err := buildTable(c, data)
	if err != nil {
		return err
	}
	if err := writeResults(c, data, t, c.command); err != nil {
		return err
	}
	fmt.Fprintf(out, "results %s (%s)\n", filepath.Join(c.dir(), "results.md"), fmtDur(time.Since(start).Seconds()))
	return nil
}

// claimDir creates the experiment directory, or checks that an existing one
// was started with the same recipe.
func (c *config) claimDir() error {
	want := settings{Train: slices.Clone(c.Train), Budget: c.budget(), Threads: c.Threads, FirstSeed: c.FirstSeed}
	if want.Train == nil {
		want.Train = []string{}
	}
	js, _ := json.MarshalIndent(want, "", "  ")
	path := filepath.Join(c.dir(), settingsFile)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		var got settings
		if err := json.Unmarshal(old, &got); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		gotJS, _ := json.MarshalIndent(got, "", "  ")
		if string(gotJS) != string(js) {
			return fmt.Errorf("%s was started with other settings:\n%s\nnow:\n%s\nrerun with the same run flags, -budget and -threads, or choose another -name", c.dir(), gotJS, js)
		}
		return nil
	case os.IsNotExist(err):
		if err := os.MkdirAll(c.dir(), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", c.dir(), err)
		}
		return weights.WriteFileAtomic(path, append(js, '\n'), 0o644)
	default:
		return fmt.Errorf("%s: %w", path, err)
	}
}
