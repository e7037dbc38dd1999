// Command train post-trains a Qwen3 model with GRPO, with the GDRO
// controllers acting inside the loss step.
//
// With no arguments it runs the built-in experiment on the CPU: it builds the
// synthetic task pool (sort and add at levels 1-6), trains a byte-level BPE
// tokenizer on it, builds a tiny Qwen3, warm-starts it with SFT from a
// teacher whose last digit is wrong more often at higher levels, evaluates
// it, runs GRPO with Prompt-GDRO, evaluates again, and writes the run
// directory runs/<name>/: checkpoints, metrics.jsonl, eval.json, curves.png
// and the final model in the Hugging Face layout. docs/testbed.md says why.
//
// With -model DIR and -data FILE it trains a real Qwen3 directory on a
// DAPO-format dataset (JSONL or Parquet with prompt and solution). With
// -resume RUNDIR it continues a run from its latest checkpoint exactly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontier-rl/frontier/pipeline"
)

func main() {
	opts, err := pipeline.ParseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := pipeline.Run(ctx, opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}
