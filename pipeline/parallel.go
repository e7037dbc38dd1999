package pipeline

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/frontier-rl/frontier/collective"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/rl"
)

// validateParallel checks -grad-shards against the world.
func (o *Options) validateParallel() error {
	size := 1
	if o.Comm != nil {
		size = o.Comm.Size()
	}
	switch {
	case o.GradShards < 0:
		return fmt.Errorf("-grad-shards %d: want >= 0 (0 = data parallel off)", o.GradShards)
	case size > 1 && o.GradShards == 0:
		return fmt.Errorf("launched on %d ranks without -grad-shards: give a multiple of %d (e.g. %d)", size, size, 2*size)
	case o.GradShards%size != 0:
		return fmt.Errorf("-grad-shards %d over %d ranks: want a multiple of the world size", o.GradShards, size)
	}
	return nil
}

// world is the data-parallel world: o.Comm, or one process.
func (o *Options) world() collective.Comm {
	if o.Comm == nil {
		return collective.Single{}
	}
	return o.Comm
}

// dataParallel spreads the trainer's steps over the world when
// -grad-shards is set.
func (r *runner) dataParallel(tr *rl.Trainer) error {
	if r.o.GradShards == 0 {
		return nil
	}
	r.logf("data parallel: %d ranks, %d gradient shards per minibatch", r.o.world().Size(), r.o.GradShards)
	return tr.EnableDataParallel(r.o.world(), r.o.GradShards)
}

// sftStep is one SFT step, over the world's ranks when -grad-shards is
// set.
func (r *runner) sftStep(m *model.Model, opt *optim.AdamW, batch []rl.SFTExample) (loss, gradNorm float64, err error) {
	if r.o.GradShards == 0 {
		return rl.SFTStep(m, opt, batch)
	}
	return rl.SFTStepParallel(m, opt, batch, r.o.world(), r.o.GradShards)
}

// JoinWorld sets the options and output of this rank of a data-parallel
// run. Rank 0 runs as a single process would. Every other rank computes
// the same run but writes its run directory under a temporary directory
// (a resumed run reads a copy of the run directory, taken before rank 0
// writes to it) and its log to io.Discard; call the returned cleanup when
// the run ends.
func JoinWorld(o *Options, c collective.Comm, out io.Writer) (io.Writer, func(), error) {
	o.Comm = c
	if c.Rank() == 0 {
		return out, func() {}, c.Barrier()
	}
	tmp, err := os.MkdirTemp("", fmt.Sprintf("frontier-rank%d-", c.Rank()))
	if err != nil {
		return nil, nil, fmt.Errorf("rank %d: %w", c.Rank(), err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	o.Out = tmp
	if o.Resume != "" {
		dst := filepath.Join(tmp, filepath.Base(o.Resume))
		if err := os.CopyFS(dst, os.DirFS(o.Resume)); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("rank %d: copying -resume %s: %w", c.Rank(), o.Resume, err)
		}
		o.Resume = dst
	}
	return io.Discard, cleanup, c.Barrier()
}

// evalHeldOut evaluates the held-out prompts, split over the world's ranks
// when there are several (the results are the same either way).
func (r *runner) evalHeldOut(cfg rl.EvalConfig) ([]rl.PromptResult, error) {
	if r.o.world().Size() == 1 {
		return rl.Evaluate(r.w.m, r.w.heldOut, r.w.env, cfg)
	}
	return rl.EvaluateParallel(r.w.m, r.w.heldOut, r.w.env, cfg, r.o.world())
}
