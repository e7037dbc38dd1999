// Package sample generates completions from a model: batched decoding with a
// KV cache, where each prompt's prefill is computed once and shared by its
// samples, with temperature, top-k and top-p sampling, stopping at an EOS id
// or a length limit.
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
	"math"
	"math/rand/v2"
	"sort"

	"github.com/frontier-rl/frontier/model"
)

// Config says how to pick each next token.
type Config struct {
	// Temperature divides the logits before sampling; 0 means greedy
	// (the arg-max, lowest id on ties).
	Temperature float64
	// TopK keeps only the k most likely tokens (0 keeps all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches p (1 or 0 keeps all).
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
	if cfg.MaxNew <= 0 {
		return nil, fmt.Errorf("sample: MaxNew is %d, want at least 1", cfg.MaxNew)
	}
	if cfg.Temperature < 0 || cfg.TopK < 0 || cfg.TopP < 0 || cfg.TopP > 1 {
		return nil, fmt.Errorf("sample: invalid config (temperature %g, top-k %d, top-p %g)", cfg.Temperature, cfg.TopK, cfg.TopP)
	}
	V := m.Config.VocabSize
	type seq struct {
		req, idx, slot int
		pos            int32 // position of the next token to feed
		rng            *rand.Rand
		out            *Completion
	}
	out := make([][]Completion, len(reqs))
	var seqs []*seq
	maxPrompt, slots := 0, 0
	var pIDs, pSlot, pPos, pOut []int32
	firstSlot := make([]int, len(reqs))
	for i, r := range reqs {
		if len(r.Prompt) == 0 {
			return nil, fmt.Errorf("sample: request %d has an empty prompt", i)
		}
		out[i] = make([]Completion, len(r.Seeds))
		maxPrompt = max(maxPrompt, len(r.Prompt))
		firstSlot[i] = slots
		if len(r.Seeds) == 0 {
			continue
		}
		for t, id := range r.Prompt {
			if id < 0 || int(id) >= V {
				return nil, fmt.Errorf("sample: request %d: prompt token %d at position %d is outside the vocabulary [0, %d)", i, id, t, V)
			}
			pIDs = append(pIDs, id)
			pSlot = append(pSlot, int32(slots))
			pPos = append(pPos, int32(t))
		}
		pOut = append(pOut, int32(len(pIDs)-1))
		for j, s := range r.Seeds {
			seqs = append(seqs, &seq{req: i, idx: j, slot: slots + j, pos: int32(len(r.Prompt)),
				rng: rand.New(rand.NewPCG(s, 0xda3e39cb94b95bdb)), out: &out[i][j]})
		}
		slots += len(r.Seeds)
	}
	if len(seqs) == 0 {
		return out, nil
	}
	cache := m.NewKVCache(slots, maxPrompt+cfg.MaxNew)
	logits, err := m.ForwardCached(cache, pIDs, pSlot, pPos, pOut)
	if err != nil {
		return nil, fmt.Errorf("sample: prefill: %w", err)
	}
	// Share each prompt's prefill with its other samples; every sample
	// starts from its prompt's last logits.
	rowOf := make([]int, len(reqs))
	k := 0
	for i, r := range reqs {
		if len(r.Seeds) == 0 {
			continue
		}
		for j := 1; j < len(r.Seeds); j++ {
			cache.CopySlot(firstSlot[i]+j, firstSlot[i], len(r.Prompt))
		}
		rowOf[i] = k
		k++
	}
	isEOS := map[int32]bool{}
	for _, e := range cfg.EOS {
		isEOS[e] = true
	}
	var pk picker
	active := seqs
	rows := make([][]float32, len(seqs))
	for i, s := range seqs {
		row := rowOf[s.req]
		rows[i] = logits[row*V : (row+1)*V]
	}
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
			ids = append(ids, tok)
			slot = append(slot, int32(s.slot))
			pos = append(pos, s.pos)
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
		logits, err = m.ForwardCached(cache, ids, slot, pos, outRows)
		if err != nil {
			return nil, fmt.Errorf("sample: decode step %d: %w", step, err)
		}
		rows = rows[:len(active)]
		for i := range active {
			rows[i] = logits[i*V : (i+1)*V]
		}
	}
	return out, nil
}

// picker holds scratch space for choosing tokens.
type picker struct {
	probs []float64
	order []int32
}

// pick chooses the next token from one row of logits and returns it with its
// log-probability at temperature 1.
func (p *picker) pick(logits []float32, cfg Config, r *rand.Rand) (int32, float32) {
	V := len(logits)
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	mx := float64(logits[best])
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - mx)
	}
	logZ := mx + math.Log(z)
	logp := func(i int) float32 { return float32(float64(logits[i]) - logZ) }
	if cfg.Temperature == 0 {
		return int32(best), logp(best)
	}
	if cap(p.probs) < V {
		p.probs = make([]float64, V)
		p.order = make([]int32, V)
	}
	probs := p.probs[:V]
	invT := 1 / cfg.Temperature
	var total float64
	for i, v := range logits {
		probs[i] = math.Exp((float64(v) - mx) * invT)
		total += probs[i]
	}
	truncate := (cfg.TopK > 0 && cfg.TopK < V) || (cfg.TopP > 0 && cfg.TopP < 1)
	u := r.Float64()
	if !truncate {
		target := u * total
		var acc float64
		for i, q := range probs {
			acc += q
			if acc > target {
				return int32(i), logp(i)
			}
		}
		return int32(V - 1), logp(V - 1)
	}
	order := p.order[:V]
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	keep := V
	if cfg.TopK > 0 && cfg.TopK < keep {
		keep = cfg.TopK
	}
	if cfg.TopP > 0 && cfg.TopP < 1 {
		var acc float64
		for i := 0; i < keep; i++ {
			acc += probs[order[i]]
			if acc >= cfg.TopP*total {
				keep = i + 1
				break
			}
		}
	}
	var kept float64
	for _, id := range order[:keep] {
		kept += probs[id]
	}
	target := u * kept
	var acc float64
	for _, id := range order[:keep] {
		acc += probs[id]
		if acc > target {
			return id, logp(int(id))
		}
	}
	id := order[keep-1]
	return id, logp(int(id))
}
