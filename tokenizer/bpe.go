package tokenizer

import (
	"slices"
	"strings"
	"sync"
)

// merge is the outcome of merging one pair of tokens.
type merge struct {
	rank   int32 // position in the merge list; lower merges first
	result int32 // id of the merged token
}

// pairKey packs two token ids into a map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// longPiece is the length in tokens above which BPE uses a heap instead of
// repeated scans, to stay O(n log n) on very long pieces.
const longPiece = 16

// bpe appends to dst the token ids of one pre-tokenized piece (raw bytes).
func (t *Tokenizer) bpe(dst []int32, piece string) []int32 {
	if t.ignoreMerges {
		if id, ok := t.vocab[byteLevelEncode(piece)]; ok {
			return append(dst, id)
		}
	}
	var buf [32]int32
	word := buf[:0]
	for i := 0; i < len(piece); i++ {
		word = append(word, t.byteIDs[piece[i]])
	}
	if len(word) > longPiece {
		word = t.mergeHeap(word)
	} else {
		word = t.mergeScan(word)
	}
	return append(dst, word...)
}

// mergeScan applies merges by repeatedly merging every occurrence of the
// lowest-ranked pair, left to right.
func (t *Tokenizer) mergeScan(word []int32) []int32 {
	for len(word) > 1 {
		best := merge{rank: -1}
		for i := 0; i+1 < len(word); i++ {
			m, ok := t.merges.get(pairKey(word[i], word[i+1]))
			if ok && (best.rank < 0 || m.rank < best.rank) {
				best = m
			}
		}
		if best.rank < 0 {
			break
		}
		out := word[:0]
		for i := 0; i < len(word); i++ {
			if i+1 < len(word) {
				if m, ok := t.merges.get(pairKey(word[i], word[i+1])); ok && m.rank == best.rank {
					out = append(out, m.result)
					i++
					continue
				}
			}
			out = append(out, word[i])
		}
		word = out
	}
	return word
}

// mergeCand is a candidate merge of the symbol at pos with its right
// neighbour.
type mergeCand struct {
	rank, pos   int32
	left, right int32 // the pair when queued, to detect stale entries
	result      int32 // the merged token
}

// candHeap is a binary min-heap of candidates ordered by rank, then by
// position (leftmost first).
type candHeap []mergeCand

func (h candHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h candHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h candHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// push returns h with c added; h must have room for it (mergeHeap sizes
// it so).
func (h candHeap) push(c mergeCand) candHeap {
	h = h[:len(h)+1]
	h[len(h)-1] = c
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

// pop returns the first candidate and h without it.
func (h candHeap) pop() (mergeCand, candHeap) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	h.down(0)
	return top, h
}

// mergeHeap gives the same result as mergeScan for long pieces using a
// priority queue of candidate merges over a linked list of symbols.
func (t *Tokenizer) mergeHeap(word []int32) []int32 {
	n := len(word)
	if n < 2 {
		return word
	}
	// Small pieces use buffers on the stack. The queue never holds more
	// than 3n entries: n-1 at first and at most 2 more per merge.
	var linkBuf [2 * 64]int32
	var candBuf [3 * 64]mergeCand
	var links []int32
	var h candHeap
	if n <= 64 {
		links, h = linkBuf[:2*n], candBuf[:0]
	} else {
		links, h = make([]int32, 2*n), make(candHeap, 0, 3*n)
	}
	prev, next := links[:n], links[n:]
	for i := range word {
		prev[i], next[i] = int32(i-1), int32(i+1)
	}
	next[n-1] = -1
	for i := int32(0); i+1 < int32(n); i++ {
		if m, ok := t.merges.get(pairKey(word[i], word[i+1])); ok {
			h = h[:len(h)+1]
			h[len(h)-1] = mergeCand{rank: m.rank, pos: i, left: word[i], right: word[i+1], result: m.result}
		}
	}
	h.init()
	for len(h) > 0 {
		var c mergeCand
		c, h = h.pop()
		i := c.pos
		if word[i] < 0 || word[i] != c.left {
			continue
		}
		j := next[i]
		if j < 0 || word[j] != c.right {
			continue
		}
		word[i] = c.result
		word[j] = -1 // dead
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if p := prev[i]; p >= 0 {
			if mm, ok := t.merges.get(pairKey(word[p], word[i])); ok {
				h = h.push(mergeCand{rank: mm.rank, pos: p, left: word[p], right: word[i], result: mm.result})
			}
		}
		if k := next[i]; k >= 0 {
			if mm, ok := t.merges.get(pairKey(word[i], word[k])); ok {
				h = h.push(mergeCand{rank: mm.rank, pos: i, left: word[i], right: word[k], result: mm.result})
			}
		}
	}
	out := word[:0]
	for i := int32(0); i >= 0 && int(i) < n; i = next[i] {
		out = append(out, word[i])
	}
	return out
}

// wordCache remembers the ids of recently encoded pieces. It is bounded:
// when full it is emptied and refilled.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const (
	cacheMaxEntries  = 1 << 16
	cacheMaxPieceLen = 64
)

func newWordCache() *wordCache { return &wordCache{m: make(map[string][]int32)} }

func (c *wordCache) get(piece string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[piece]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(piece string, ids []int32) {
	c.mu.Lock()
	if len(c.m) >= cacheMaxEntries {
		clear(c.m)
	}
	c.m[strings.Clone(piece)] = ids // a copy: piece points into the caller's text
	c.mu.Unlock()
}

// encodePiece appends the ids of one piece, using the word cache.
func (t *Tokenizer) encodePiece(dst []int32, piece string) []int32 {
	if len(piece) == 1 {
		return append(dst, t.byteIDs[piece[0]])
	}
	if len(piece) > cacheMaxPieceLen {
		return t.bpe(dst, piece)
	}
	if ids, ok := t.cache.get(piece); ok {
		return append(dst, ids...)
	}
	start := len(dst)
	dst = t.bpe(dst, piece)
	t.cache.put(piece, slices.Clone(dst[start:]))
	return dst
}
