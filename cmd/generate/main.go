// Command generate runs a Qwen3 model directory (a Hugging Face download or
// a frontier checkpoint).
//
// Logits of a token sequence, as one F32 tensor "logits" of shape
// [T, vocab_size]:
//
//	go run ./cmd/generate -model DIR -ids "1 2 3" -logits out.safetensors
//
// Text generation with the directory's tokenizer.json, greedy by default or
// sampled with -temperature, -top-p, -top-k and -n:
//
//	go run ./cmd/generate -model DIR -prompt "s3142=" -max-new 16
//	go run ./cmd/generate -model DIR -chat -prompt "What is 2+2?" -temperature 0.6 -n 4
//
// -bf16 decodes with bfloat16 copies of the projection and head weights
// (model.Model.DecodeBF16): half the bytes read per token, the products
// still in float32. -logits always uses the float32 weights.
//
// Every flag and file is checked before the backend starts or the model is
// allocated (see docs/errors.md); -logits is never one of the model's own
// files.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/frontier-rl/frontier/kernels/device"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/pipeline"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/weights"
)

type options struct {
	model, ids, logits, prompt, device string
	chat, thinking, bf16               bool
	maxNew, topK, n, threads           int
	temperature, topP                  float64
	seed                               uint64
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.model, "model", "", "Qwen3 model directory (config.json, model.safetensors, tokenizer.json)")
	fs.StringVar(&o.ids, "ids", "", "space-separated token ids to run (with -logits)")
	fs.StringVar(&o.logits, "logits", "", "write the logits of -ids to this safetensors file")
	fs.StringVar(&o.prompt, "prompt", "", "text to continue, encoded with the model directory's tokenizer.json")
	fs.BoolVar(&o.chat, "chat", false, "wrap -prompt in Qwen3's chat template as one user turn")
	fs.BoolVar(&o.thinking, "thinking", true, "with -chat: thinking enabled (false prefills an empty think block)")
	fs.IntVar(&o.maxNew, "max-new", 128, "most new tokens per sample")
	fs.Float64Var(&o.temperature, "temperature", 0, "sampling temperature (0 = greedy)")
	fs.Float64Var(&o.topP, "top-p", 1, "top-p (1 = off)")
	fs.IntVar(&o.topK, "top-k", 0, "top-k (0 = off)")
	fs.IntVar(&o.n, "n", 1, "number of samples")
	fs.Uint64Var(&o.seed, "seed", 1, "sampling seed")
	fs.StringVar(&o.device, "device", "cpu", "backend: cpu or cuda (cuda needs a binary built with -tags cuda)")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads (0 = all cores)")
	fs.BoolVar(&o.bf16, "bf16", false, "decode with bfloat16 copies of the weights (half the bytes read per token; float32 arithmetic)")
	if err := fs.Parse(args); err != nil {
		return pipeline.ExplainFlagError(fs, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	p, err := validate(o, set, fs.Args())
	if err != nil {
		return err
	}
	b, err := device.New(o.device, o.threads)
	if err != nil {
		return err
	}
	m, err := model.Load(o.model, b)
	if err != nil {
		return err
	}
	if o.ids != "" {
		return writeLogits(m, o, p.ids)
	}
	if o.bf16 {
		if err := m.DecodeBF16(true); err != nil {
			return err
		}
	}
	return generate(m, o, p, stdout)
}

// parseIDs reads space- or comma-separated token ids, each below the
// config's vocab_size, no more than its max_position_embeddings.
func parseIDs(s string, cfg weights.Config) ([]int32, error) {
	var ids []int32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil || v < 0 || int(v) >= cfg.VocabSize {
			return nil, fmt.Errorf("-ids: %q is not a token id: ids are whole numbers from 0 to %d (vocab_size - 1)", f, cfg.VocabSize-1)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("-ids holds no token ids: give them separated by spaces or commas")
	}
	if len(ids) > cfg.MaxPositionEmbeddings {
		return nil, fmt.Errorf("-ids holds %d ids, more than the model's %d positions (max_position_embeddings in config.json): give fewer", len(ids), cfg.MaxPositionEmbeddings)
	}
	return ids, nil
}

func writeLogits(m *model.Model, o options, ids []int32) error {
	p, err := m.Forward(ids, []int32{0, int32(len(ids))})
	if err != nil {
		return err
	}
	logits := m.LogitsHost(p)
	return weights.WriteFile(o.logits, []weights.Tensor{{Name: "logits", Shape: []int{len(ids), m.Config.VocabSize}, Data: logits}}, weights.F32, nil)
}

// generate samples from the validated plan p and prints each completion.
func generate(m *model.Model, o options, p plan, out io.Writer) error {
	tok, text := p.tok, p.text
	prompt := tok.Encode(text)
	if len(prompt) == 0 {
		return fmt.Errorf("-prompt encodes to no tokens")
	}
	eos := p.eos
	seeds := make([]uint64, o.n)
	for j := range seeds {
		seeds[j] = sample.Seed(o.seed, 0, 0, j)
	}
	cfg := sample.Config{Temperature: o.temperature, TopP: o.topP, TopK: o.topK, MaxNew: o.maxNew, EOS: eos}
	res, err := sample.Generate(m, []sample.Request{{Prompt: prompt, Seeds: seeds}}, cfg)
	if err != nil {
		return err
	}
	for j, c := range res[0] {
		if o.n > 1 {
			fmt.Fprintf(out, "--- sample %d\n", j)
		}
		dec := tok.NewStreamDecoder()
		var sb strings.Builder
		for _, id := range c.Tokens {
			if tok.IsSpecial(id) {
				continue
			}
			sb.WriteString(dec.Add(id))
		}
		sb.WriteString(dec.Flush())
		fmt.Fprintln(out, sb.String())
		if c.Truncated {
			fmt.Fprintf(out, "[stopped at -max-new %d]\n", o.maxNew)
		}
	}
	return nil
}
