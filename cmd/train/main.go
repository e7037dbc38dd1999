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
//
// Launched by mpirun or srun (a binary built with -tags mpi) with
// -grad-shards, it trains data parallel over the ranks; rank 0 writes the
// run directory (docs/scaling.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontier-rl/frontier/collective"
	"github.com/frontier-rl/frontier/pipeline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute is the command: it parses args, joins the world this process
// was launched into, if any, checks every flag and file, runs, and returns
// the exit status: 0; 2 for flags that do not parse or a world that cannot
// be joined; 130 when a signal stopped the run (after its checkpoint); 1 for
// any other error, which it prints to stderr as one line.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := pipeline.ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return 2
	}
	kind := ""
	if collective.Launched() {
		kind = "mpi"
	}
	comm, err := collective.Open(kind)
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return 2
	}
	defer comm.Close()
	out, cleanup, err := pipeline.JoinWorld(opts, comm, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return 1
	}
	defer cleanup()
	if err := pipeline.Run(ctx, opts, out); err != nil {
		if comm.Size() > 1 {
			fmt.Fprintf(stderr, "train: rank %d: %v\n", comm.Rank(), err)
		} else {
			fmt.Fprintln(stderr, "train:", err)
		}
		return 1
	}
	if ctx.Err() != nil {
		// A signal stopped the run after it saved a checkpoint: a script
		// must still see that the run did not finish.
		fmt.Fprintln(stderr, "train: interrupted: the run saved a checkpoint; continue it with -resume and its run directory")
		return 130
	}
	return 0
}
