// Package sample generates completions from a model: batched decoding with a
// KV cache, where each prompt's prefill is computed once and shared by its
// samples, with temperature, top-k and top-p sampling, stopping at an EOS id
// or a length limit.
//
// Truncation follows Hugging Face's and vLLM's order: the logits are divided
// by the temperature, top-k keeps the k most likely tokens, and top-p keeps
// the shortest run of them, most likely first, whose probability reaches p
// once the probabilities are renormalised over the top-k survivors (over the
// whole vocabulary without top-k). So top-k 20 with top-p 0.8 keeps the
// tokens holding 80% of the mass of the best 20, not 80% of the vocabulary's
// mass. The token is drawn from the kept ones in proportion to their
// probabilities at the temperature; its reported log-probability is at
// temperature 1 over the whole vocabulary.
//
// It is its own package because three callers share it (RL rollouts, the
// evaluation, and cmd/generate) and because its reproducibility contract is
// easy to state and test on its own: every sample draws its random numbers
// from its own generator, seeded by the caller (the trainer derives the seed
// from step, prompt index and sample index), so a sample's tokens do not
// depend on which other prompts are in the batch or on the thread count.
package sample

import (
	"fmt"
	"math/rand/v2"

	"github.com/frontier-rl/frontier/model"
)

// Config says how to pick each next token.
type Config struct {
	// Temperature divides the logits before sampling; 0 means greedy
	// (the arg-max, lowest id on ties).
	Temperature float64
	// TopK keeps only the k most likely tokens (0 keeps all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability,
	// renormalised over the top-k survivors, reaches p (1 or 0 keeps all).
	TopP float64
	// MaxNew is the most tokens generated per sample.
	MaxNew int
	// EOS lists the ids that end a completion (the EOS id is kept in Tokens).
	EOS []int32
}

// Request is one prompt and the seeds of its samples: len(Seeds) samples are
// drawn, sample j from a generator seeded with Seeds[j].
type Request struct {
	Prompt []int32
	Seeds  []uint64
}

// Completion is one sampled continuation.
type Completion struct {
	Tokens []int32 // generated ids, the EOS id included when it stopped there
	// LogProbs[t] is the model's log-probability of Tokens[t] at temperature
	// 1 (the policy's own distribution, which PPO's ratio uses), whatever the
	// sampling temperature, top-k or top-p.
	LogProbs  []float32
	Truncated bool // true when MaxNew was reached before an EOS id
}

// Seed derives the seed of one sample from the run seed, the step, the
// prompt's index and the sample's index (a SplitMix64-style mix, so nearby
// inputs give unrelated seeds).
func Seed(run uint64, step, prompt, sample int) uint64 {
	h := run
	for _, v := range []uint64{uint64(step), uint64(prompt), uint64(sample)} {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = mix64(h)
	}
	return h
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Generate samples completions for every request: out[i][j] is sample j of
// request i. All samples decode together, one token per step, against one KV
// cache; each prompt is prefilled once into the first of its slots and
// copied to the others.
func Generate(m *model.Model, reqs []Request, cfg Config) ([][]Completion, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b, err := newBatch(reqs, m.Config.VocabSize)
	if err != nil || len(b.seqs) == 0 {
		return b.out, err
	}
	rows, err := b.prefill(m, reqs, cfg.MaxNew)
	if err != nil {
		return nil, err
	}
	if err := b.decode(m, rows, cfg); err != nil {
		return nil, err
	}
	return b.out, nil
}

// validate reports a configuration Generate cannot sample with.
func (cfg Config) validate() error {
	if cfg.MaxNew <= 0 {
		return fmt.Errorf("sample: MaxNew is %d, want at least 1", cfg.MaxNew)
	}
	if cfg.Temperature < 0 || cfg.TopK < 0 || cfg.TopP < 0 || cfg.TopP > 1 {
		return fmt.Errorf("sample: invalid config (temperature %g, top-k %d, top-p %g)", cfg.Temperature, cfg.TopK, cfg.TopP)
	}
	return nil
}

// seq is one sample being decoded.
type seq struct {
	req, slot int
	pos       int32 // position of the next token to feed
	rng       *rand.Rand
	out       *Completion
}

// batch is the state of one Generate call: the samples, where their
// completions go, and the packed prefill of the prompts that have samples.
type batch struct {
	out       [][]Completion
	seqs      []*seq
	firstSlot []int // first cache slot of each request
	slots     int   // cache slots in all (one per sample)
	maxPrompt int
	cache     *model.KVCache
	// The prefill: every prompt token with its slot and position, and the
	// row of each prompt's last token.
	ids, slot, pos, last []int32
}

// newBatch checks the requests against a vocabulary of V tokens and lays
// out their samples: one cache slot each, the slots of a request adjacent.
func newBatch(reqs []Request, V int) (*batch, error) {
	b := &batch{out: make([][]Completion, len(reqs)), firstSlot: make([]int, len(reqs))}
	for i, r := range reqs {
		if len(r.Prompt) == 0 {
			return b, fmt.Errorf("sample: request %d has an empty prompt", i)
		}
		b.out[i] = make([]Completion, len(r.Seeds))
		b.maxPrompt = max(b.maxPrompt, len(r.Prompt))
		b.firstSlot[i] = b.slots
		if len(r.Seeds) == 0 {
			continue
		}
		for t, id := range r.Prompt {
			if id < 0 || int(id) >= V {
				return b, fmt.Errorf("sample: request %d: prompt token %d at position %d is outside the vocabulary [0, %d)", i, id, t, V)
			}
			b.ids = append(b.ids, id)
			b.slot = append(b.slot, int32(b.slots))
			b.pos = append(b.pos, int32(t))
		}
		b.last = append(b.last, int32(len(b.ids)-1))
		for j, s := range r.Seeds {
			b.seqs = append(b.seqs, &seq{req: i, slot: b.slots + j, pos: int32(len(r.Prompt)),
				rng: rand.New(rand.NewPCG(s, 0xda3e39cb94b95bdb)), out: &b.out[i][j]})
		}
		b.slots += len(r.Seeds)
	}
	return b, nil
}

// prefill runs every prompt once, copies each prompt's cache to its other
// samples' slots and returns the logits row ([V]) each sample starts from.
func (b *batch) prefill(m *model.Model, reqs []Request, maxNew int) ([][]float32, error) {
	V := m.Config.VocabSize
	b.cache = m.NewKVCache(b.slots, b.maxPrompt+maxNew)
	logits, err := m.ForwardCached(b.cache, b.ids, b.slot, b.pos, b.last)
	if err != nil {
		return nil, fmt.Errorf("sample: prefill: %w", err)
	}
	rowOf := make([]int, len(reqs)) // prefill output row of each request
	k := 0
	for i, r := range reqs {
		if len(r.Seeds) == 0 {
			continue
		}
		for j := 1; j < len(r.Seeds); j++ {
			b.cache.CopySlot(b.firstSlot[i]+j, b.firstSlot[i], len(r.Prompt))
		}
		rowOf[i] = k
		k++
	}
	rows := make([][]float32, len(b.seqs))
	for i, s := range b.seqs {
		row := rowOf[s.req]
		rows[i] = logits[row*V : (row+1)*V]
	}
	return rows, nil
}

// decode picks a token for every active sample from its logits row, feeds
// the ones that go on through the model, and repeats until every sample has
// stopped at an EOS id or at cfg.MaxNew tokens.
func (b *batch) decode(m *model.Model, rows [][]float32, cfg Config) error {
	V := m.Config.VocabSize
	isEOS := map[int32]bool{}
	for _, e := range cfg.EOS {
		isEOS[e] = true
	}
	var pk picker
	active := b.seqs
	for step := 0; len(active) > 0; step++ {
		next := active[:0:0]
		var ids, slot, pos []int32
		for i, s := range active {
			tok, lp := pk.pick(rows[i], cfg, s.rng)
			s.out.Tokens = append(s.out.Tokens, tok)
			s.out.LogProbs = append(s.out.LogProbs, lp)
			if isEOS[tok] {
				continue
			}
			if len(s.out.Tokens) >= cfg.MaxNew {
				s.out.Truncated = true
				continue
			}
			next = append(next, s)
			ids, slot, pos = append(ids, tok), append(slot, int32(s.slot)), append(pos, s.pos)
			s.pos++
		}
		active = next
		if len(active) == 0 {
			break
		}
		outRows := make([]int32, len(active))
		for i := range outRows {
			outRows[i] = int32(i)
		}
		logits, err := m.ForwardCached(b.cache, ids, slot, pos, outRows)
		if err != nil {
			return fmt.Errorf("sample: decode step %d: %w", step, err)
		}
		rows = rows[:len(active)]
		for i := range active {
			rows[i] = logits[i*V : (i+1)*V]
		}
	}
	return nil
}
