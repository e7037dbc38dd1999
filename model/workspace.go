package model

import "github.com/frontier-rl/frontier/kernels"

// arena hands out buffers for one pass as views of a few large backend
// buffers, kept from one pass to the next, so that a training step does not
// allocate its activations and gradients afresh. reset starts a new pass:
// every view handed out before is reused. After a pass that needed more
// than the first chunk held, reset replaces the chunks with one chunk as
// large as that pass's total, so the arena settles at the largest pass seen
// in a single buffer.
//
// Views are not zeroed: a caller that accumulates into one fills it first.
type arena struct {
	b      kernels.Backend
	chunks []kernels.Buffer
	cur    int // index of the chunk being carved
	off    int // elements used in chunks[cur]
	used   int // elements handed out since reset
}

// alloc returns a view of n elements, not zeroed.
func (a *arena) alloc(n int) kernels.Buffer {
	a.used += n
	for a.cur < len(a.chunks) {
		if c := a.chunks[a.cur]; a.off+n <= c.Len() {
			v := a.b.Slice(c, a.off, n)
			a.off += n
			return v
		}
		a.cur++
		a.off = 0
	}
	c := a.b.Alloc(max(n, a.used))
	a.chunks = append(a.chunks, c)
	a.off = n
	return a.b.Slice(c, 0, n)
}

// reset makes every buffer free again for the next pass.
func (a *arena) reset() {
	if len(a.chunks) > 1 {
		a.chunks = []kernels.Buffer{a.b.Alloc(a.used)}
	}
	a.cur, a.off, a.used = 0, 0, 0
}
