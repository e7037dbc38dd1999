package sample

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/frontier-rl/frontier/kernels/simd"
)

// pickBlock is the number of tokens whose probabilities are summed together
// (in float32, by simd.ExpSubSums) before the block sums are added in
// float64; the untruncated draw finds its block from these sums and scans
// only that block.
const pickBlock = 2048

// selBlock is the run of logits whose maximum argmax keeps, so that
// topTokens can skip the run at once when it does not beat the worst token
// it holds.
const selBlock = 128

// picker holds the scratch space of token choice, reused from one token to
// the next, so that a token costs no allocation.
type picker struct {
	probs  []float32 // [V] exp((logit−max)/T), unnormalised
	blocks []float64 // [ceil(V/pickBlock)] sums of probs over each block
	bmax   []float32 // [ceil(V/selBlock)] maximum of each run of selBlock logits
	cand   []int32   // candidate ids, best first after sorting
	runs   []int32   // the runs topTokens visits first
	seen   []bool    // [len(bmax)] runs visited (false between calls)
	w      []float64 // exp((logit−max)/T) of each candidate
}

// pick chooses the next token from one row of logits and returns it with its
// log-probability at temperature 1.
//
// The support and the distribution are those of the plain definition (kept
// as the reference in the tests): order the tokens by logit, highest first,
// ties by lower id; keep the first TopK; renormalise their probabilities
// at the sampling temperature and keep the shortest prefix whose
// renormalised probability reaches TopP; draw from the kept tokens in
// proportion to their probabilities. Here the top tokens are found by partial selection instead
// of a sort of the vocabulary, and the exponentials of the whole row are
// computed in float32 by the vector routine, summed per block in float64.
func (p *picker) pick(logits []float32, cfg Config, r *rand.Rand) (int32, float32) {
	best, mx := p.argmax(logits)
	logZ := float64(mx) + math.Log(p.expSums(logits, mx, 1))
	logp := func(id int32) float32 { return float32(float64(logits[id]) - logZ) }
	if cfg.Temperature == 0 {
		return best, logp(best)
	}
	V := len(logits)
	invT := 1 / cfg.Temperature
	topK := cfg.TopK > 0 && cfg.TopK < V
	topP := cfg.TopP > 0 && cfg.TopP < 1
	u := r.Float64()
	var id int32
	switch {
	case !topK && !topP:
		total := p.blocksTotal()
		if invT != 1 {
			total = p.expSums(logits, mx, invT)
		}
		id = p.drawAll(u * total)
	default:
		id = p.drawTruncated(logits, mx, invT, cfg, u)
	}
	return id, logp(id)
}

// argmax returns the index of the largest logit (the lowest such index) and
// its value. It takes the vector maximum of every run of selBlock logits,
// keeps them in p.bmax for topTokens, and scans the first run holding the
// largest.
func (p *picker) argmax(logits []float32) (int32, float32) {
	p.bmax = p.bmax[:0]
	best, mx := 0, float32(math.NaN())
	for lo := 0; lo < len(logits); lo += selBlock {
		m := simd.Max(logits[lo:min(lo+selBlock, len(logits))])
		p.bmax = append(p.bmax, m)
		if m > mx || mx != mx {
			best, mx = lo, m
		}
	}
	i := slices.Index(logits[best:min(best+selBlock, len(logits))], mx)
	return int32(best + max(i, 0)), mx
}

// expSums sets probs[i] = exp((logits[i]−mx)·invT) and the block sums, and
// returns their total.
func (p *picker) expSums(logits []float32, mx float32, invT float64) float64 {
	V := len(logits)
	if cap(p.probs) < V {
		p.probs = make([]float32, V)
		p.blocks = make([]float64, (V+pickBlock-1)/pickBlock)
	}
	p.probs, p.blocks = p.probs[:V], p.blocks[:(V+pickBlock-1)/pickBlock]
	t := float32(invT)
	var total float64
	for b := range p.blocks {
		lo, hi := b*pickBlock, min((b+1)*pickBlock, V)
		dst := p.probs[lo:hi]
		var s float32
		if invT == 1 {
			s, _ = simd.ExpSubSums(dst, logits[lo:hi], mx)
		} else {
			copy(dst, logits[lo:hi])
			simd.Scale(t, dst)
			s, _ = simd.ExpSubSums(dst, dst, mx*t)
		}
		p.blocks[b] = float64(s)
		total += float64(s)
	}
	return total
}

// blocksTotal is the sum of the block sums, in block order.
func (p *picker) blocksTotal() float64 {
	var total float64
	for _, s := range p.blocks {
		total += s
	}
	return total
}

// drawAll returns the token at which the running sum of probs first exceeds
// target: the block from the block sums, then the token within it. Should
// rounding leave the target past the block's last token, the block's last
// token of nonzero probability is returned.
func (p *picker) drawAll(target float64) int32 {
	b := 0
	for ; b < len(p.blocks)-1 && target >= p.blocks[b]; b++ {
		target -= p.blocks[b]
	}
	lo := b * pickBlock
	block := p.probs[lo:min(lo+pickBlock, len(p.probs))]
	var acc float64
	last := 0
	for i, q := range block {
		acc += float64(q)
		if acc > target {
			return int32(lo + i)
		}
		if q > 0 {
			last = i
		}
	}
	return int32(lo + last)
}

// drawTruncated draws from the top-k / top-p support of logits, with u
// uniform in [0, 1). Top-p applies to the probabilities renormalised over
// the top-k survivors (the whole vocabulary without top-k).
func (p *picker) drawTruncated(logits []float32, mx float32, invT float64, cfg Config, u float64) int32 {
	V := len(logits)
	k := V
	if cfg.TopK > 0 {
		k = min(cfg.TopK, V)
	}
	topP := cfg.TopP > 0 && cfg.TopP < 1
	var threshold float64 // the probability mass top-p must reach
	if topP && k == V {
		total := p.blocksTotal()
		if invT != 1 {
			total = p.expSums(logits, mx, invT)
		}
		threshold = cfg.TopP * total
	}
	cand := p.candidates(logits, mx, invT, k, threshold)
	if topP && k < V {
		var survivors float64
		for _, w := range p.w {
			survivors += w
		}
		threshold = cfg.TopP * survivors
	}
	keep := len(cand)
	if threshold > 0 {
		var acc float64
		for i, w := range p.w[:keep] {
			acc += w
			if acc >= threshold {
				keep = i + 1
				break
			}
		}
	}
	var kept float64
	for _, w := range p.w[:keep] {
		kept += w
	}
	target := u * kept
	var acc float64
	for i, w := range p.w[:keep] {
		acc += w
		if acc > target {
			return cand[i]
		}
	}
	return cand[keep-1]
}

// candidates returns the top k tokens, best first, with their weights in
// p.w. When a top-p threshold is set and k is the whole vocabulary, it
// selects a few tokens first and more only while their weight falls short of
// the threshold, so a peaked distribution never sorts the vocabulary.
func (p *picker) candidates(logits []float32, mx float32, invT float64, k int, threshold float64) []int32 {
	V := len(logits)
	n := k
	if threshold > 0 && k == V {
		n = min(64, V)
	}
	for {
		if n*4 >= V {
			n = k
		}
		p.topTokens(logits, n)
		p.w = p.w[:0]
		var mass float64
		for _, id := range p.cand {
			w := math.Exp((float64(logits[id]) - float64(mx)) * invT)
			p.w = append(p.w, w)
			mass += w
		}
		if n == k || mass >= threshold {
			return p.cand
		}
		n *= 8
	}
}

// better orders tokens: higher logit first, lower id on ties.
func better(logits []float32, a, b int32) bool {
	return logits[a] > logits[b] || (logits[a] == logits[b] && a < b)
}

// topTokens sets p.cand to the n best tokens of logits (by better), best
// first. From a quarter of the vocabulary up it sorts every id; below, it
// keeps a heap of the n best tokens seen, whose root is the worst of them,
// and visits the runs of selBlock logits (whose maxima argmax left in
// p.bmax) that can hold one: first the n runs with the largest maxima, which
// hold the n best tokens, then any other run whose maximum is not below the
// root (only a tie can bring one in). So nearly all of the vocabulary is
// passed over by looking at its runs' maxima.
func (p *picker) topTokens(logits []float32, n int) {
	V := len(logits)
	p.cand = p.cand[:0]
	if n*4 >= V {
		for i := range V {
			p.cand = append(p.cand, int32(i))
		}
		slices.SortFunc(p.cand, func(a, b int32) int { return order(logits, a, b) })
		p.cand = p.cand[:n]
		return
	}
	nb := min(n, len(p.bmax))
	p.runs = heapScan(p.runs[:0], p.bmax, 0, len(p.bmax), nb)
	if cap(p.seen) < len(p.bmax) {
		p.seen = make([]bool, len(p.bmax))
	}
	seen := p.seen[:len(p.bmax)]
	h := p.cand
	for _, b := range p.runs {
		h = heapScan(h, logits, int(b)*selBlock, min(int(b+1)*selBlock, V), n)
		seen[b] = true
	}
	for b, m := range p.bmax {
		if !seen[b] && (len(h) < n || m >= logits[h[0]]) {
			h = heapScan(h, logits, b*selBlock, min((b+1)*selBlock, V), n)
		}
	}
	for _, b := range p.runs {
		seen[b] = false
	}
	slices.SortFunc(h, func(a, b int32) int { return order(logits, a, b) })
	p.cand = h
}

// heapScan offers the tokens lo..hi-1 to the heap h of at most n tokens
// (worst at the root) and returns it.
func heapScan(h []int32, x []float32, lo, hi, n int) []int32 {
	for i := int32(lo); i < int32(hi); i++ {
		if len(h) < n {
			h = append(h, i)
			siftUp(h, x, len(h)-1)
			continue
		}
		if better(x, i, h[0]) {
			h[0] = i
			siftDown(h, x, 0)
		}
	}
	return h
}

// order is better as a comparison for slices.SortFunc.
func order(logits []float32, a, b int32) int {
	if c := cmp.Compare(logits[b], logits[a]); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// siftUp restores the heap (worst at the root) after h[i] was set.
func siftUp(h []int32, logits []float32, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !better(logits, h[parent], h[i]) {
			return
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

// siftDown restores the heap (worst at the root) after h[i] was replaced.
func siftDown(h []int32, logits []float32, i int) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && better(logits, h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(logits, h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}
