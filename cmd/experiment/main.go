// Command experiment measures GDRO against GRPO the way the paper's Table 1
// does, at small scale, on the built-in experiment.
//
// For each of S seeds it runs one SFT warm start, then every arm (grpo,
// dapo, prompt-gdro, rollout-gdro, sqrt, both) from that seed's SFT model,
// each to the same budget of generated training rollouts. It then writes
// results.md into the experiment directory: held-out mean@k, pass@k and
// greedy accuracy overall, per level and on the hard cells, with paired
// differences against grpo and bootstrap 95% intervals; the
// effective-gradient figures (zero-variance groups per bin); and PNG figures
// of the curriculum (bin x step heat maps).
//
//	go run ./cmd/experiment                          # the default size
//	go run ./cmd/experiment -seeds 2 -arms grpo,prompt-gdro -budget 4096
//	go run ./cmd/experiment -- -lr 5e-5 -pool 2048    # flags after -- go to every run
//
// Every run uses the built-in experiment's defaults (package pipeline, as
// cmd/train) with the flags after --. Rerun the same command after a kill:
// finished runs are skipped and partial ones resume from their checkpoints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "experiment:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "experiment:", err)
		os.Exit(1)
	}
}
