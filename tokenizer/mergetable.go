package tokenizer

import "math/bits"

// mergeTable maps a pair of token ids to its merge. It is an open-addressing
// hash table with linear probing, kept at most half full: BPE spends much of
// its time looking up pairs, and this is faster than a Go map for it.
type mergeTable struct {
	keys  []uint64 // pairKey | usedBit; 0 marks an empty slot
	vals  []merge
	shift uint // 64 - log2(len(keys))
}

const usedBit = 1 << 63 // pair keys use at most 53 bits: ids are below maxID

// newMergeTable returns a table with room for n merges at most half full.
func newMergeTable(n int) mergeTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return mergeTable{
		keys:  make([]uint64, size),
		vals:  make([]merge, size),
		shift: uint(64 - bits.TrailingZeros(uint(size))),
	}
}

func (m *mergeTable) slot(k uint64) uint64 { return (k * 0x9e3779b97f4a7c15) >> m.shift }

// set stores v for key, replacing any earlier value. The table must have
// been made with room for all keys.
func (m *mergeTable) set(key uint64, v merge) {
	k := key | usedBit
	mask := uint64(len(m.keys) - 1)
	for i := m.slot(k); ; i = (i + 1) & mask {
		if m.keys[i] == 0 || m.keys[i] == k {
			m.keys[i], m.vals[i] = k, v
			return
		}
	}
}

// get returns the merge of key.
func (m *mergeTable) get(key uint64) (merge, bool) {
	k := key | usedBit
	mask := uint64(len(m.keys) - 1)
	for i := m.slot(k); ; i = (i + 1) & mask {
		switch m.keys[i] {
		case k:
			return m.vals[i], true
		case 0:
			return merge{}, false
		}
	}
}
