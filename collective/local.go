package collective

import (
	"fmt"
	"sync"
)

// Local returns the ranks of an in-process world of n, one Comm per rank,
// each to be driven by its own goroutine: it runs data-parallel code
// without MPI (tests, examples). Its collectives copy and add in rank
// order.
func Local(n int) []Comm {
	h := &hub{n: n, slots: make([][]float32, n)}
	h.cond = sync.NewCond(&h.mu)
	out := make([]Comm, n)
	for r := range out {
		out[r] = &localComm{h: h, rank: r}
	}
	return out
}

// hub is the meeting point of a Local world's ranks: each collective is
// one exchange, in which every rank posts its buffer and reads all.
type hub struct {
	n       int
	mu      sync.Mutex
	cond    *sync.Cond
	slots   [][]float32
	arrived int
	round   int // exchanges completed
	readers int // ranks still reading the current round's slots
}

// exchange posts send as rank r's buffer and returns a copy of every
// rank's, once all have posted.
func (h *hub) exchange(r int, send []float32) [][]float32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.readers > 0 { // the previous round is still being read
		h.cond.Wait()
	}
	h.slots[r] = append([]float32(nil), send...) // the caller may reuse send at once
	h.arrived++
	round := h.round
	if h.arrived == h.n {
		h.arrived, h.readers = 0, h.n
		h.round++
		h.cond.Broadcast()
	}
	for h.round == round {
		h.cond.Wait()
	}
	out := make([][]float32, h.n)
	for q, s := range h.slots {
		out[q] = s
	}
	if h.readers--; h.readers == 0 {
		h.cond.Broadcast()
	}
	return out
}

type localComm struct {
	h    *hub
	rank int
}

func (c *localComm) Rank() int { return c.rank }
func (c *localComm) Size() int { return c.h.n }

func (c *localComm) AllReduce(buf []float32) error {
	all := c.h.exchange(c.rank, buf)
	for _, p := range all {
		if len(p) != len(buf) {
			return fmt.Errorf("collective: all-reduce of %d values met one of %d", len(buf), len(p))
		}
	}
	copy(buf, SumOrdered(all))
	return nil
}

func (c *localComm) AllGather(send, recv []float32) error {
	all := c.h.exchange(c.rank, send)
	if len(recv) != c.h.n*len(send) {
		return fmt.Errorf("collective: all-gather of %d values over %d ranks into %d", len(send), c.h.n, len(recv))
	}
	for q, p := range all {
		if len(p) != len(send) {
			return fmt.Errorf("collective: all-gather of %d values met one of %d", len(send), len(p))
		}
		copy(recv[q*len(send):], p)
	}
	return nil
}

func (c *localComm) Broadcast(buf []float32, root int) error {
	if root < 0 || root >= c.h.n {
		return fmt.Errorf("collective: broadcast from rank %d in a world of %d", root, c.h.n)
	}
	all := c.h.exchange(c.rank, buf)
	copy(buf, all[root])
	return nil
}

func (c *localComm) Barrier() error {
	c.h.exchange(c.rank, nil)
	return nil
}

func (c *localComm) Close() error { return nil }
