package main

import (
	"fmt"
	"math"
	"runtime"
	"unicode/utf8"

	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

// maxSamples bounds -n: every sample holds a KV cache slot.
const maxSamples = 1024

// maxThreadsPerCore bounds -threads: more would only add scheduling cost.
const maxThreadsPerCore = 16

// plan is what validation established before any work: the model's
// config, and for -prompt the tokenizer, the text to encode and the
// end-of-sequence ids; for -ids the ids.
type plan struct {
	cfg  weights.Config
	tok  *tokenizer.Tokenizer
	text string
	ids  []int32
	eos  []int32
}

// validate checks every flag and every file before any work is done, and
// returns the first problem as an error naming the flag, file or field.
func validate(o options, set map[string]bool, extra []string) (plan, error) {
	if err := checkFlags(o, set, extra); err != nil {
		return plan{}, err
	}
	cfg, ck, err := weights.OpenModel(o.model)
	if err != nil {
		return plan{}, fmt.Errorf("-model: %w", err)
	}
	ck.Close()
	p := plan{cfg: cfg}
	if o.ids != "" {
		if err := weights.CheckOutput("-logits", o.logits, weights.ModelInputs(o.model)...); err != nil {
			return plan{}, err
		}
		if p.ids, err = parseIDs(o.ids, cfg); err != nil {
			return plan{}, err
		}
		return p, nil
	}
	return p, checkPrompt(o, &p)
}

// checkFlags validates the flag values alone, with no file read.
func checkFlags(o options, set map[string]bool, extra []string) error {
	if len(extra) > 0 {
		return fmt.Errorf("unexpected argument %q: every input is given by a flag (quote a -prompt that holds spaces)", extra[0])
	}
	if o.model == "" {
		return fmt.Errorf("-model DIR is required")
	}
	if (o.ids == "") == (o.prompt == "") {
		return fmt.Errorf("give exactly one of -ids (with -logits) or -prompt")
	}
	if o.ids != "" {
		if o.logits == "" {
			return fmt.Errorf("-ids needs -logits FILE to write the logits to")
		}
		for _, name := range []string{"chat", "thinking", "max-new", "temperature", "top-p", "top-k", "n", "seed", "bf16"} {
			if set[name] {
				return fmt.Errorf("-%s applies to -prompt generation only, not to -ids with -logits: remove it", name)
			}
		}
	} else if set["logits"] {
		return fmt.Errorf("-logits applies to -ids only: with -prompt the text goes to standard output")
	}
	if set["thinking"] && !o.chat {
		return fmt.Errorf("-thinking applies with -chat only: add -chat or remove -thinking")
	}
	if o.prompt != "" && !utf8.ValidString(o.prompt) {
		return fmt.Errorf("-prompt is not valid UTF-8 (bad byte at offset %d): pass text in UTF-8", invalidAt(o.prompt))
	}
	type check struct {
		bad  bool
		flag string
		v    any
		want string
	}
	for _, c := range []check{
		{o.maxNew < 1, "max-new", o.maxNew, "at least 1"},
		{o.n < 1 || o.n > maxSamples, "n", o.n, fmt.Sprintf("from 1 to %d", maxSamples)},
		{o.topK < 0, "top-k", o.topK, "0 (off) or more"},
		{!(o.topP > 0 && o.topP <= 1), "top-p", o.topP, "in (0, 1]; 1 turns it off"},
		{!(o.temperature >= 0) || math.IsInf(o.temperature, 0), "temperature", o.temperature, "a finite number, 0 (greedy) or more"},
		{o.threads < 0 || o.threads > maxThreadsPerCore*runtime.NumCPU(), "threads", o.threads, fmt.Sprintf("0 (all cores) or more, at most %d per core", maxThreadsPerCore)},
	} {
		if c.bad {
			return fmt.Errorf("-%s is %v: it must be %s", c.flag, c.v, c.want)
		}
	}
	if o.device != "cpu" && o.device != "cuda" {
		return fmt.Errorf("-device %q: use cpu or cuda", o.device)
	}
	if o.temperature == 0 {
		if o.n > 1 {
			return fmt.Errorf("-n %d with -temperature 0 gives %d identical greedy samples: set -temperature above 0 to sample", o.n, o.n)
		}
		if o.topP != 1 || o.topK != 0 {
			return fmt.Errorf("-top-p and -top-k have no effect with -temperature 0 (greedy decoding): set -temperature above 0 or remove them")
		}
	}
	return nil
}

// invalidAt returns the byte offset of the first invalid UTF-8 sequence.
func invalidAt(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return i
			}
		}
	}
	return len(s)
}

// checkPrompt loads the model directory's tokenizer and end-of-sequence
// ids, and checks that the encoded prompt and -max-new new tokens fit in
// the model's positions.
func checkPrompt(o options, p *plan) error {
	tok, err := tokenizer.Load(o.model)
	if err != nil {
		return fmt.Errorf("-prompt needs the model directory's tokenizer: %w", err)
	}
	if tok.VocabSize() > p.cfg.VocabSize {
		return fmt.Errorf("-model %s: the tokenizer has %d tokens but config.json's vocab_size is %d: the tokenizer does not belong to this model",
			o.model, tok.VocabSize(), p.cfg.VocabSize)
	}
	p.tok = tok
	p.text = o.prompt
	if o.chat {
		p.text = tokenizer.RenderChat([]tokenizer.Message{{Role: "user", Content: o.prompt}}, true, o.thinking)
	}
	n := len(tok.Encode(p.text))
	if n == 0 {
		return fmt.Errorf("-prompt encodes to no tokens: give some text")
	}
	maxPos := p.cfg.MaxPositionEmbeddings
	if n > maxPos {
		return fmt.Errorf("-prompt is %d tokens, more than the model's %d positions (max_position_embeddings in config.json): shorten it", n, maxPos)
	}
	if n+o.maxNew > maxPos {
		return fmt.Errorf("-max-new %d after a %d-token prompt goes past the model's %d positions (max_position_embeddings): use -max-new %d or less",
			o.maxNew, n, maxPos, maxPos-n)
	}
	eos, err := weights.EOSIDs(o.model)
	if err != nil {
		return fmt.Errorf("-model: %w", err)
	}
	for _, id := range eos {
		if id >= p.cfg.VocabSize {
			return fmt.Errorf("-model %s: end-of-sequence id %d is not below vocab_size %d: fix eos_token_id in config.json or generation_config.json", o.model, id, p.cfg.VocabSize)
		}
		p.eos = append(p.eos, int32(id))
	}
	return nil
}
