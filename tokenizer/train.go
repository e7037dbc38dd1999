package tokenizer

import (
	"container/heap"
	"fmt"
	"slices"
)

// TrainConfig sets what Train builds.
type TrainConfig struct {
	// VocabSize is the target number of ids: the 256 byte tokens, the
	// merged tokens and the special tokens. It must be at least
	// 256+len(Special); Train returns an error otherwise. The result may be
	// smaller when the corpus runs out of pairs to merge (with Qwen's split
	// pattern every digit is a piece of its own, so digits never merge).
	VocabSize int
	// Special tokens get the ids after the BPE vocabulary, in this order.
	// They are never split, and they are cut out of the corpus before
	// training.
	Special []string
	// MinFrequency is the least number of times a pair must occur in the
	// corpus to be merged; 0 and 1 merge any pair.
	MinFrequency int
}

// Train learns a byte-level BPE tokenizer from corpus. Each string is
// normalised to NFC and split with Qwen's pattern like Encode does; then,
// starting from the 256 byte tokens (ids 0-255, in the order of their
// byte-level characters, as in GPT-2 and Qwen vocabularies), the most
// frequent adjacent pair is merged into a new token until the vocabulary
// reaches cfg.VocabSize. Ties go to the pair with the smaller ids, so the
// result is deterministic. The tokenizer can be written with Save.
func Train(corpus []string, cfg TrainConfig) (*Tokenizer, error) {
	if floor := 256 + len(cfg.Special); cfg.VocabSize < floor {
		return nil, fmt.Errorf("tokenizer: train: vocab size %d is below the minimum %d (256 byte tokens + %d special tokens)",
			cfg.VocabSize, floor, len(cfg.Special))
	}
	// The base alphabet: the byte-level characters in code point order.
	var spell []string
	for b := range 256 {
		spell = append(spell, string(byteToRune[b]))
	}
	slices.Sort(spell)
	ids := make(map[string]int32, cfg.VocabSize)
	for i, s := range spell {
		ids[s] = int32(i)
	}
	var byteID [256]int32
	for b := range 256 {
		byteID[b] = ids[string(byteToRune[b])]
	}

	special := make([]AddedToken, len(cfg.Special))
	for i, s := range cfg.Special {
		if s == "" {
			return nil, fmt.Errorf("tokenizer: train: special token %d is empty", i)
		}
		if slices.Index(cfg.Special, s) != i {
			return nil, fmt.Errorf("tokenizer: train: special token %q is given twice", s)
		}
		special[i] = AddedToken{ID: int32(i), Content: s, Special: true}
	}
	// Count the pieces of the corpus.
	freq := make(map[string]int)
	count := func(s string) {
		splitPieces(nfc(s), func(p string) { freq[p]++ })
	}
	m := newAddedMatcher(special)
	for _, line := range corpus {
		if m == nil {
			count(line)
			continue
		}
		m.split(line, func(s string, id int32) {
			if id < 0 {
				count(s)
			}
		})
	}
	pieces := make([]string, 0, len(freq))
	for p := range freq {
		pieces = append(pieces, p)
	}
	slices.Sort(pieces)
	words := make([]trainWord, len(pieces))
	for i, p := range pieces {
		w := trainWord{ids: make([]int32, len(p)), n: freq[p]}
		for j := range len(p) {
			w.ids[j] = byteID[p[j]]
		}
		words[i] = w
	}

	var merges [][2]string
	pc := newPairCounts(words)
	minFreq := max(cfg.MinFrequency, 1)
	for len(spell)+len(special) < cfg.VocabSize {
		pair, n, ok := pc.best()
		if !ok || n < minFreq {
			break
		}
		a, b := int32(pair>>32), int32(uint32(pair))
		tok := spell[a] + spell[b]
		id, seen := ids[tok]
		if !seen {
			id = int32(len(spell))
			spell = append(spell, tok)
			ids[tok] = id
		}
		merges = append(merges, [2]string{spell[a], spell[b]})
		pc.merge(pair, id)
	}

	if len(spell)+len(special) > maxID {
		return nil, fmt.Errorf("tokenizer: train: vocab size %d is too large", len(spell)+len(special))
	}
	s := spec{vocab: make(map[string]int, len(spell)), merges: merges, nfc: true}
	for i, tok := range spell {
		s.vocab[tok] = i
	}
	for i := range special {
		if _, clash := ids[special[i].Content]; clash {
			return nil, fmt.Errorf("tokenizer: train: special token %q is also a vocabulary token", special[i].Content)
		}
		special[i].ID = int32(len(spell) + i)
	}
	s.added = special
	t, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	return t, nil
}

// trainWord is a distinct piece of the corpus: its current tokens and how
// often it occurs.
type trainWord struct {
	ids []int32
	n   int
}

// pairCounts tracks how often each adjacent pair occurs in the words.
type pairCounts struct {
	words  []trainWord
	counts map[uint64]int
	where  map[uint64][]int32 // pair -> words that held it (may be stale or repeat)
	queue  pairHeap           // may hold stale counts, never below the current one
	stamp  []int              // per word: the last merge that visited it
	merges int
}

func newPairCounts(words []trainWord) *pairCounts {
	pc := &pairCounts{
		words:  words,
		counts: make(map[uint64]int),
		where:  make(map[uint64][]int32),
		stamp:  make([]int, len(words)),
	}
	for wi, w := range words {
		for k := 0; k+1 < len(w.ids); k++ {
			p := pairKey(w.ids[k], w.ids[k+1])
			pc.counts[p] += w.n
			if l := pc.where[p]; len(l) == 0 || l[len(l)-1] != int32(wi) {
				pc.where[p] = append(l, int32(wi))
			}
		}
	}
	for p, n := range pc.counts {
		pc.queue = append(pc.queue, pairCount{pair: p, n: n})
	}
	heap.Init(&pc.queue)
	return pc
}

// best returns the most frequent pair (the smallest of equals), or ok false
// when no pair is left.
func (pc *pairCounts) best() (pair uint64, n int, ok bool) {
	for pc.queue.Len() > 0 {
		e := heap.Pop(&pc.queue).(pairCount)
		cur := pc.counts[e.pair]
		if cur == e.n {
			if cur <= 0 {
				continue
			}
			// Put it back: it stays the best until merge changes counts.
			heap.Push(&pc.queue, e)
			return e.pair, cur, true
		}
		if cur > 0 {
			heap.Push(&pc.queue, pairCount{pair: e.pair, n: cur})
		}
	}
	return 0, 0, false
}

// merge replaces every occurrence of pair in the words by the token id.
func (pc *pairCounts) merge(pair uint64, id int32) {
	pc.merges++
	a, b := int32(pair>>32), int32(uint32(pair))
	var grown []uint64 // pairs holding id, whose counts may have grown
	for _, wi := range pc.where[pair] {
		if pc.stamp[wi] == pc.merges {
			continue
		}
		pc.stamp[wi] = pc.merges
		w := &pc.words[wi]
		if !hasPair(w.ids, a, b) {
			continue
		}
		for k := 0; k+1 < len(w.ids); k++ {
			pc.counts[pairKey(w.ids[k], w.ids[k+1])] -= w.n
		}
		out := w.ids[:0]
		for k := 0; k < len(w.ids); k++ {
			if k+1 < len(w.ids) && w.ids[k] == a && w.ids[k+1] == b {
				out = append(out, id)
				k++
				continue
			}
			out = append(out, w.ids[k])
		}
		w.ids = out
		for k := 0; k+1 < len(w.ids); k++ {
			p := pairKey(w.ids[k], w.ids[k+1])
			pc.counts[p] += w.n
			if w.ids[k] == id || w.ids[k+1] == id {
				pc.where[p] = append(pc.where[p], int32(wi))
				grown = append(grown, p)
			}
		}
	}
	delete(pc.where, pair)
	slices.Sort(grown)
	for _, p := range slices.Compact(grown) {
		if n := pc.counts[p]; n > 0 {
			heap.Push(&pc.queue, pairCount{pair: p, n: n})
		}
	}
}

// hasPair reports whether ids holds a followed by b.
func hasPair(ids []int32, a, b int32) bool {
	for k := 0; k+1 < len(ids); k++ {
		if ids[k] == a && ids[k+1] == b {
			return true
		}
	}
	return false
}

// pairCount is a queue entry: a pair and its count when queued.
type pairCount struct {
	pair uint64
	n    int
}

// pairHeap orders pairs by count, largest first, then by ids, smallest
// first.
type pairHeap []pairCount

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].n != h[j].n {
		return h[i].n > h[j].n
	}
	return h[i].pair < h[j].pair
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairHeap) Pop() any     { x := (*h)[len(*h)-1]; *h = (*h)[:len(*h)-1]; return x }
