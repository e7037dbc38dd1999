package rl

import (
	"fmt"
	"math"

	"github.com/frontier-rl/frontier/collective"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/sample"
)

// dataParallel is the GRPO step spread over the ranks of a collective.Comm
// (docs/scaling.md). Every rank holds the whole batch and the same
// controllers; only two stages are split:
//
//   - generate: the prompt groups are cut into shards, each sampled as one
//     generation batch; rank r samples its shards and the completions are
//     gathered, so that every rank scores, weighs and observes the whole
//     batch (the GDRO state stays global);
//   - update: each minibatch is cut into shards, a fixed number of runs of
//     whole rollouts that does not depend on the world size; each rank
//     computes the gradients of its shards, with the loss's token means
//     taken over the whole minibatch, and the shards' gradients are
//     gathered and added in shard order on every rank before the same
//     optimizer update.
//
// The sums therefore do not depend on the world size: a run on W ranks
// equals the run on one rank with the same shard count, bit for bit. It
// differs from the default path (one GEMM over the whole minibatch), which
// adds the rows in another order.
type dataParallel struct {
	comm   collective.Comm
	shards int // gradient shards per minibatch
	chunk  int // gradient elements per shard per all-gather; 0 means gatherChunk
}

// EnableDataParallel spreads the training steps over comm's ranks with the
// given number of gradient shards per minibatch; shards must be a multiple
// of the world size (each rank computes shards/size of them). Each
// generation round is cut into the same number of generation batches.
func (t *Trainer) EnableDataParallel(comm collective.Comm, shards int) error {
	if comm == nil {
		return fmt.Errorf("rl: data parallel without a collective world")
	}
	if shards < 1 || shards%comm.Size() != 0 {
		return fmt.Errorf("rl: %d gradient shards (-grad-shards) over %d ranks: want a positive multiple of the world size", shards, comm.Size())
	}
	t.dp = &dataParallel{comm: comm, shards: shards}
	return nil
}

// generate samples the requests in d.shards fixed runs, one generation
// batch each (a batch's row count picks the GEMM path, so the runs must not
// depend on the world size), rank r sampling the runs collective.Span gives
// it, and gathers every rank's completions, in request order.
func (d *dataParallel) generate(m *model.Model, reqs []sample.Request, cfg sample.Config) ([][]sample.Completion, error) {
	first, last := collective.Span(d.shards, d.comm.Rank(), d.comm.Size())
	var local [][]sample.Completion
	for s := first; s < last; s++ {
		lo, hi := collective.Span(len(reqs), s, d.shards)
		if hi == lo {
			continue
		}
		comps, err := sample.Generate(m, reqs[lo:hi], cfg)
		if err != nil {
			return nil, fmt.Errorf("generation shard %d of %d: %w", s+1, d.shards, err)
		}
		local = append(local, comps...)
	}
	parts, err := collective.GatherVar(d.comm, encodeCompletions(local))
	if err != nil {
		return nil, fmt.Errorf("gather completions: %w", err)
	}
	out := make([][]sample.Completion, 0, len(reqs))
	for r, p := range parts {
		first, last := collective.Span(d.shards, r, d.comm.Size())
		lo, _ := collective.Span(len(reqs), first, d.shards)
		hi, _ := collective.Span(len(reqs), last, d.shards)
		got, err := decodeCompletions(p, reqs[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("completions from rank %d: %w", r, err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// encodeCompletions lays completions out as float32 words: per completion
// its length, its truncation flag, its token ids (as bits) and its
// log-probabilities.
func encodeCompletions(comps [][]sample.Completion) []float32 {
	var out []float32
	for _, cs := range comps {
		for _, c := range cs {
			trunc := 0
			if c.Truncated {
				trunc = 1
			}
			out = append(out, collective.IntBits(len(c.Tokens)), collective.IntBits(trunc))
			for _, id := range c.Tokens {
				out = append(out, collective.IntBits(int(id)))
			}
			out = append(out, c.LogProbs...)
		}
	}
	return out
}

// decodeCompletions reads encodeCompletions' layout back, one completion
// per seed of each request.
func decodeCompletions(buf []float32, reqs []sample.Request) ([][]sample.Completion, error) {
	out := make([][]sample.Completion, len(reqs))
	for i, rq := range reqs {
		out[i] = make([]sample.Completion, len(rq.Seeds))
		for j := range out[i] {
			if len(buf) < 2 {
				return nil, fmt.Errorf("request %d sample %d: buffer ends early", i, j)
			}
			n, trunc := collective.BitsInt(buf[0]), collective.BitsInt(buf[1])
			if n < 0 || len(buf) < 2+2*n {
				return nil, fmt.Errorf("request %d sample %d: %d tokens in %d words", i, j, n, len(buf))
			}
			c := sample.Completion{Tokens: make([]int32, n), Truncated: trunc == 1}
			for k := range c.Tokens {
				c.Tokens[k] = int32(collective.BitsInt(buf[2+k]))
			}
			c.LogProbs = append([]float32(nil), buf[2+n:2+2*n]...)
			out[i][j] = c
			buf = buf[2+2*n:]
		}
	}
	if len(buf) != 0 {
		return nil, fmt.Errorf("%d words left over", len(buf))
	}
	return out, nil
}

// minibatch computes this rank's shards of a minibatch, gathers the
// shards' gradients and statistics, adds them in shard order and applies
// the optimizer update, the same on every rank.
func (d *dataParallel) minibatch(t *Trainer, rs []rollout) (mbResult, error) {
	var out mbResult
	norm := 0
	for _, r := range rs {
		norm += len(r.comp.Tokens)
	}
	var stats []float32
	err := d.sumShards(t.M, func(s int, g []float32) error {
		lo, hi := collective.Span(len(rs), s, d.shards)
		res, err := d.shard(t, rs[lo:hi], norm, g)
		stats = append(stats, encodeResult(res)...)
		return err
	})
	if err != nil {
		return out, err
	}
	if out, err = d.gatherResults(stats, len(rs)); err != nil {
		return out, err
	}
	if out.gradNorm, err = t.Opt.Step(t.M.Params, t.M.Grads); err != nil {
		return out, nonFiniteGrad(t.M, err)
	}
	return out, nil
}

// gatherChunk is the most gradient elements per shard that one all-gather
// of sumShards moves: it bounds the receive buffer to shards × gatherChunk
// values whatever the model's size.
const gatherChunk = 1 << 20

// sumShards runs grad(s, g) for each of this rank's shards s, which must
// leave shard s's gradient in g, gathers every shard's gradient, chunk by
// chunk, and sets m.Grads to their sum in shard order.
func (d *dataParallel) sumShards(m *model.Model, grad func(s int, g []float32) error) error {
	P := m.NumParams()
	first, last := collective.Span(d.shards, d.comm.Rank(), d.comm.Size())
	mine := last - first
	local := make([]float32, mine*P)
	for s := first; s < last; s++ {
		if err := grad(s, local[(s-first)*P:(s-first+1)*P]); err != nil {
			return fmt.Errorf("gradient shard %d of %d: %w", s+1, d.shards, err)
		}
	}
	chunk := d.chunk
	if chunk <= 0 {
		chunk = gatherChunk
	}
	sum := make([]float32, P)
	send := make([]float32, mine*min(chunk, P))
	all := make([]float32, d.shards*min(chunk, P))
	parts := make([][]float32, d.shards)
	for off := 0; off < P; off += chunk {
		c := min(chunk, P-off)
		for i := 0; i < mine; i++ {
			copy(send[i*c:(i+1)*c], local[i*P+off:i*P+off+c])
		}
		if err := d.comm.AllGather(send[:mine*c], all[:d.shards*c]); err != nil {
			return fmt.Errorf("gather gradients: %w", err)
		}
		for s := range parts {
			parts[s] = all[s*c : (s+1)*c]
		}
		copy(sum[off:off+c], collective.SumOrdered(parts))
	}
	m.B.Upload(m.Grads, sum)
	return nil
}

// SFTStepParallel is SFTStep spread over comm's ranks: every rank passes
// the same batch, cut into shards runs of whole examples (a positive
// multiple of comm.Size()); each rank computes its shards' gradients, with
// the token mean over the whole batch, and the gradients and losses are
// added in shard order. The result does not depend on the world size.
func SFTStepParallel(m *model.Model, opt *optim.AdamW, batch []SFTExample, comm collective.Comm, shards int) (loss, gradNorm float64, err error) {
	if comm == nil || shards < 1 || shards%comm.Size() != 0 {
		return 0, 0, fmt.Errorf("rl: SFT over %d gradient shards: want a positive multiple of the world size and a world", shards)
	}
	if err := checkSFT(batch); err != nil {
		return 0, 0, err
	}
	count := 0
	for _, ex := range batch {
		count += len(ex.Answer)
	}
	d := &dataParallel{comm: comm, shards: shards}
	var losses []float32
	err = d.sumShards(m, func(s int, g []float32) error {
		lo, hi := collective.Span(len(batch), s, shards)
		var l float64
		if hi > lo {
			if l, err = sftGradients(m, batch[lo:hi], float64(count)); err != nil {
				return err
			}
			m.B.Download(g, m.Grads)
		}
		losses = appendFloat64(losses, l)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("rl: SFT: %w", err)
	}
	all := make([]float32, 2*shards)
	if err := comm.AllGather(losses, all); err != nil {
		return 0, 0, fmt.Errorf("rl: SFT: gather losses: %w", err)
	}
	for s := 0; s < shards; s++ {
		loss += readFloat64(all[2*s:])
	}
	if gradNorm, err = opt.Step(m.Params, m.Grads); err != nil {
		return loss, gradNorm, fmt.Errorf("rl: SFT update: %w", nonFiniteGrad(m, err))
	}
	return loss, gradNorm, nil
}

// shard computes one shard's gradient into g (zero for an empty shard).
func (d *dataParallel) shard(t *Trainer, rs []rollout, norm int, g []float32) (mbResult, error) {
	if len(rs) == 0 {
		return mbResult{}, nil
	}
	res, err := t.gradients(rs, norm)
	if err != nil {
		return res, err
	}
	t.M.B.Download(g, t.M.Grads)
	return res, nil
}

// resultWords is the fixed part of encodeResult's layout, in float32 words.
const resultWords = 2*6 + 3

// encodeResult lays a shard's result out as float32 words, float64 values
// as two words of bits: loss, clip fractions, KL, entropy sum, then the
// entropy rows, the packed rows and the response count, then each
// response's loss signal.
func encodeResult(r mbResult) []float32 {
	out := make([]float32, 0, resultWords+2*len(r.loss.RespLoss))
	for _, v := range []float64{r.loss.Loss, r.loss.ClipLow, r.loss.ClipHigh, r.loss.DualClip, r.loss.KL, r.entSum} {
		out = appendFloat64(out, v)
	}
	out = append(out, collective.IntBits(r.entTokens), collective.IntBits(r.tokens), collective.IntBits(len(r.loss.RespLoss)))
	for _, v := range r.loss.RespLoss {
		out = appendFloat64(out, v)
	}
	return out
}

// gatherResults gathers every shard's encoded result and adds them in
// shard order into the minibatch's result over n rollouts.
func (d *dataParallel) gatherResults(local []float32, n int) (mbResult, error) {
	var out mbResult
	parts, err := collective.GatherVar(d.comm, local)
	if err != nil {
		return out, fmt.Errorf("gather shard results: %w", err)
	}
	out.loss.RespLoss = make([]float64, 0, n)
	for _, buf := range parts {
		for len(buf) > 0 {
			if len(buf) < resultWords {
				return out, fmt.Errorf("shard result of %d words: want at least %d", len(buf), resultWords)
			}
			var v [6]float64
			for i := range v {
				v[i] = readFloat64(buf[2*i:])
			}
			nr := collective.BitsInt(buf[14])
			if nr < 0 || len(buf) < resultWords+2*nr {
				return out, fmt.Errorf("shard result with %d responses in %d words", nr, len(buf))
			}
			l := &out.loss
			l.Loss, l.ClipLow, l.ClipHigh, l.DualClip, l.KL = l.Loss+v[0], l.ClipLow+v[1], l.ClipHigh+v[2], l.DualClip+v[3], l.KL+v[4]
			out.entSum += v[5]
			out.entTokens += collective.BitsInt(buf[12])
			out.tokens += collective.BitsInt(buf[13])
			for k := 0; k < nr; k++ {
				l.RespLoss = append(l.RespLoss, readFloat64(buf[resultWords+2*k:]))
			}
			buf = buf[resultWords+2*nr:]
		}
	}
	if len(out.loss.RespLoss) != n {
		return out, fmt.Errorf("shard results hold %d responses; want %d", len(out.loss.RespLoss), n)
	}
	return out, nil
}

// appendFloat64 appends v's 64 bits as two float32 words.
func appendFloat64(out []float32, v float64) []float32 {
	b := math.Float64bits(v)
	return append(out, math.Float32frombits(uint32(b>>32)), math.Float32frombits(uint32(b)))
}

// readFloat64 reads appendFloat64's two words.
func readFloat64(w []float32) float64 {
	return math.Float64frombits(uint64(math.Float32bits(w[0]))<<32 | uint64(math.Float32bits(w[1])))
}

// EvaluateParallel is Evaluate spread over comm's ranks: the generation
// batches (EvalConfig.BatchPrompts prompts each, the same as Evaluate's)
// are dealt to the ranks in contiguous runs and the results gathered, so
// every rank returns exactly what Evaluate returns.
func EvaluateParallel(m *model.Model, items []Item, env Env, cfg EvalConfig, comm collective.Comm) ([]PromptResult, error) {
	if cfg.Samples < 1 {
		return nil, fmt.Errorf("rl: evaluation with %d samples per prompt: need at least 1 (-eval-samples)", cfg.Samples)
	}
	bp := cfg.batchPrompts()
	nb := (len(items) + bp - 1) / bp
	first, last := collective.Span(nb, comm.Rank(), comm.Size())
	var local []float32
	for b := first; b < last; b++ {
		res, err := evalBatch(m, items, b*bp, min((b+1)*bp, len(items)), env, cfg)
		if err != nil {
			return nil, err
		}
		for _, pr := range res {
			g := 0
			if pr.Greedy {
				g = 1
			}
			local = append(local, collective.IntBits(pr.Correct), collective.IntBits(g))
		}
	}
	parts, err := collective.GatherVar(comm, local)
	if err != nil {
		return nil, fmt.Errorf("rl: evaluation: gather results: %w", err)
	}
	var words []float32
	for _, p := range parts {
		words = append(words, p...)
	}
	if len(words) != 2*len(items) {
		return nil, fmt.Errorf("rl: evaluation: gathered %d results for %d prompts", len(words)/2, len(items))
	}
	out := make([]PromptResult, len(items))
	for i, it := range items {
		out[i] = PromptResult{ID: it.Ex.ID, Family: it.Ex.Family, Level: it.Ex.Level, N: cfg.Samples,
			Correct: collective.BitsInt(words[2*i]), Greedy: collective.BitsInt(words[2*i+1]) == 1}
	}
	return out, nil
}
