package tokenizer

import (
	"container/heap"
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
const longPiece = 64

// bpe appends to dst the token ids of one pre-tokenized piece (raw bytes).
func (t *Tokenizer) bpe(dst []int, piece string) []int {
	if t.ignoreMerges {
		if id, ok := t.vocab[piece]; ok {
			return append(dst, int(id))
		}
	}
	var buf [32]int32
	word := buf[:0]
	for i := 0; i < len(piece); i++ {
		id := t.byteIDs[piece[i]]
		if id < 0 {
			if t.unkID < 0 {
				continue // no token for this byte and no unknown token: dropped
			}
			id = t.unkID
		}
		word = append(word, id)
	}
	if len(word) > longPiece {
		word = t.mergeHeap(word)
	} else {
		word = t.mergeScan(word)
	}
	for _, id := range word {
		dst = append(dst, int(id))
	}
	return dst
}

// mergeScan applies merges by repeatedly merging every occurrence of the
// lowest-ranked pair, left to right.
func (t *Tokenizer) mergeScan(word []int32) []int32 {
	for len(word) > 1 {
		best := merge{rank: -1}
		for i := 0; i+1 < len(word); i++ {
			m, ok := t.merges[pairKey(word[i], word[i+1])]
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
				if m, ok := t.merges[pairKey(word[i], word[i+1])]; ok && m.rank == best.rank {
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
	rank, pos int32
	left      int32 // id of the left symbol when queued, to detect stale entries
	right     int32
}

type candHeap []mergeCand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(mergeCand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeHeap gives the same result as mergeScan for long pieces using a
// priority queue of candidate merges over a linked list of symbols.
func (t *Tokenizer) mergeHeap(word []int32) []int32 {
	n := len(word)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	for i := range word {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
	}
	next[n-1] = -1
	h := make(candHeap, 0, n)
	push := func(i int32) {
		j := next[i]
		if i < 0 || j < 0 {
			return
		}
		if m, ok := t.merges[pairKey(word[i], word[j])]; ok {
			h = append(h, mergeCand{rank: m.rank, pos: i, left: word[i], right: word[j]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i))
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(mergeCand)
		i := c.pos
		if !alive[i] || word[i] != c.left {
			continue
		}
		j := next[i]
		if j < 0 || word[j] != c.right {
			continue
		}
		m := t.merges[pairKey(word[i], word[j])]
		word[i] = m.result
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if p := prev[i]; p >= 0 {
			if mm, ok := t.merges[pairKey(word[p], word[i])]; ok {
				heap.Push(&h, mergeCand{rank: mm.rank, pos: p, left: word[p], right: word[i]})
			}
		}
		if k := next[i]; k >= 0 {
			if mm, ok := t.merges[pairKey(word[i], word[k])]; ok {
				heap.Push(&h, mergeCand{rank: mm.rank, pos: i, left: word[i], right: word[k]})
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

func (c *wordCache) reset() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// encodePiece appends the ids of one piece, using the word cache.
func (t *Tokenizer) encodePiece(dst []int, piece string) []int {
	if len(piece) > cacheMaxPieceLen {
		return t.bpe(dst, piece)
	}
	if ids, ok := t.cache.get(piece); ok {
		for _, id := range ids {
			dst = append(dst, int(id))
		}
		return dst
	}
	start := len(dst)
	dst = t.bpe(dst, piece)
	ids := make([]int32, len(dst)-start)
	for i, id := range dst[start:] {
		ids[i] = int32(id)
	}
	t.cache.put(piece, ids)
	return dst
}
