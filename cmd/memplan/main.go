// Command memplan measures what a full-size model costs on this machine: the
// wall time and peak resident memory of one SFT step (forward, backward and
// AdamW) on a packed batch, and of generating samples with the KV cache, for
// a randomly initialised model of Qwen3-0.6B's full shape (28 layers) or any
// other shape given by flags. Each phase runs in its own process, so its peak
// RSS is its own.
//
//	go run ./cmd/memplan                 # Qwen3-0.6B shape, 512 SFT tokens, 8 samples x 128 tokens
//	go run ./cmd/memplan -layers 2       # a quick look
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/weights"
)

func main() {
	phase := flag.String("phase", "", "run one phase in this process: sft or generate (default: both, each in a child process)")
	layers := flag.Int("layers", 28, "decoder layers (Qwen3-0.6B has 28)")
	tokens := flag.Int("tokens", 512, "tokens in the SFT batch")
	samples := flag.Int("samples", 8, "samples to generate")
	newTok := flag.Int("new", 128, "tokens per sample")
	prompt := flag.Int("prompt", 32, "prompt tokens")
	flag.Parse()
	if *phase == "" {
		for _, p := range []string{"sft", "generate"} {
			cmd := exec.Command(os.Args[0], append([]string{"-phase", p}, os.Args[1:]...)...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "memplan:", p, err)
				os.Exit(1)
			}
		}
		return
	}
	cfg := weights.Config{ModelType: "qwen3", VocabSize: 151936, HiddenSize: 1024, IntermediateSize: 3072,
		NumHiddenLayers: *layers, NumAttentionHeads: 16, NumKeyValueHeads: 8, HeadDim: 128, RopeTheta: 1e6,
		RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 40960, InitializerRange: 0.02, HiddenAct: "silu"}
	b := cpu.New(0)
	m, err := model.New(cfg, b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memplan:", err)
		os.Exit(1)
	}
	m.InitRandom(1)
	r := rand.New(rand.NewPCG(1, 2))
	tok := func() int32 { return int32(r.IntN(cfg.VocabSize)) }
	fmt.Printf("%s: %d layers, %.3fB parameters, %d threads (%s)\n", *phase, *layers, float64(m.NumParams())/1e9, runtime.GOMAXPROCS(0), b.Name())
	switch *phase {
	case "sft":
		opt, err := optim.NewAdamW(optim.DefaultConfig(), b, m.NumParams())
		if err != nil {
			fmt.Fprintln(os.Stderr, "memplan:", err)
			os.Exit(1)
		}
		var batch []rl.SFTExample
		for n := 0; n < *tokens; n += 128 {
			ex := rl.SFTExample{}
			for i := 0; i < 64; i++ {
				ex.Prompt = append(ex.Prompt, tok())
				ex.Answer = append(ex.Answer, tok())
			}
			batch = append(batch, ex)
		}
		start := time.Now()
		loss, _, err := rl.SFTStep(m, opt, batch)
		if err != nil {
			fmt.Fprintln(os.Stderr, "memplan:", err)
			os.Exit(1)
		}
		fmt.Printf("  one SFT step on %d tokens: %.1fs (loss %.3f), peak RSS %.2f GB\n", len(batch)*128, time.Since(start).Seconds(), loss, peakGB())
	case "generate":
		p := make([]int32, *prompt)
		for i := range p {
			p[i] = tok()
		}
		seeds := make([]uint64, *samples)
		for i := range seeds {
			seeds[i] = uint64(i)
		}
		start := time.Now()
		_, err := sample.Generate(m, []sample.Request{{Prompt: p, Seeds: seeds}}, sample.Config{Temperature: 1, MaxNew: *newTok})
		if err != nil {
			fmt.Fprintln(os.Stderr, "memplan:", err)
			os.Exit(1)
		}
		el := time.Since(start).Seconds()
		fmt.Printf("  %d samples x %d new tokens (prompt %d): %.1fs, %.1f tokens/s, peak RSS %.2f GB\n", *samples, *newTok, *prompt, el, float64(*samples**newTok)/el, peakGB())
	}
}

// peakGB is the process's peak resident set size in GB.
func peakGB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Maxrss) * 1024 / 1e9 // Maxrss is in KiB on Linux
}
