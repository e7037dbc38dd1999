package par

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Pool runs loops like For on worker goroutines that outlive a loop by a
// few tens of microseconds, spinning for the next one. A CPU training step
// is hundreds of short parallel loops back to back (a tiny model's products
// take 0.1 to 1 ms); starting fresh goroutines for each lets the runtime
// park the idle thread between loops, and waking it costs tens of
// microseconds each time (measured: 2-thread SGEMM at n = 256 kept 1.3 of
// its 2 cores busy). A worker that finds no loop within poolSpin exits, so
// an idle Pool holds no goroutines.
//
// One loop runs on a Pool at a time; a loop started while another runs
// (from another goroutine) runs as For runs it, on fresh goroutines. A nil
// *Pool is valid and always does that. The chunks and what each computes
// are the same either way, so results never depend on the pool.
type Pool struct {
	threads int
	busy    atomic.Bool         // a loop owns the workers
	gen     atomic.Uint64       // bumped when a loop is published
	loop    atomic.Pointer[job] // the loop last published
	live    atomic.Int64        // workers running or spinning
}

// job is one loop on a Pool: its chunks, handed out in order.
type job struct {
	fn     func(ci int)
	chunks int64
	seats  atomic.Int64 // workers that may still join
	next   atomic.Int64 // next chunk to hand out
	done   atomic.Int64 // chunks finished
}

// poolSpin is how long an idle worker waits for the next loop before it
// exits: longer than the gaps between a step's loops, short enough that
// an idle process stops burning a core almost at once.
const poolSpin = 50 * time.Microsecond

// NewPool returns a pool for loops of up to threads goroutines (the
// caller's included).
func NewPool(threads int) *Pool { return &Pool{threads: threads} }

// For runs fn(ci) for every chunk ci in [0, chunks) on up to threads
// goroutines, the caller's among them, and returns when all have run, like
// the package's For. With the pool's workers every participant that joins
// runs chunks until none is left; at least min(threads, chunks) goroutines
// take part, so chunks that wait for each other (a barrier inside) do not
// deadlock.
func (p *Pool) For(chunks, threads int, fn func(ci int)) {
	workers := min(threads, chunks)
	if workers <= 1 {
		for ci := 0; ci < chunks; ci++ {
			fn(ci)
		}
		return
	}
	if p == nil || workers > p.threads || runtime.GOMAXPROCS(0) < workers || !p.busy.CompareAndSwap(false, true) {
		spawnFor(chunks, workers, fn)
		return
	}
	defer p.busy.Store(false)
	j := &job{fn: fn, chunks: int64(chunks)}
	j.seats.Store(int64(workers - 1))
	p.loop.Store(j)
	p.gen.Add(1)
	for n := int64(workers-1) - p.live.Load(); n > 0; n-- {
		p.live.Add(1)
		go p.work(p.gen.Load() - 1)
	}
	j.run()
	for i := 0; j.done.Load() < j.chunks; i++ {
		if i%256 == 255 {
			runtime.Gosched()
		}
	}
}

// Range is the package's Range on the pool.
func (p *Pool) Range(n, grain, threads int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	p.For((n+grain-1)/grain, threads, func(ci int) {
		lo := ci * grain
		fn(lo, min(lo+grain, n))
	})
}

// run takes chunks until none is left.
func (j *job) run() {
	for {
		ci := j.next.Add(1) - 1
		if ci >= j.chunks {
			return
		}
		j.fn(int(ci))
		j.done.Add(1)
	}
}

// work is a worker: it joins each loop published after generation seen,
// while a seat is free, and exits after poolSpin without one. Its exit
// re-checks the generation after giving up its place in live, so a loop
// published meanwhile either counted it gone (and started another worker)
// or is joined.
func (p *Pool) work(seen uint64) {
	for {
		deadline := time.Now().Add(poolSpin)
		for i := 0; p.gen.Load() == seen; i++ {
			if i%64 == 63 {
				if time.Now().After(deadline) {
					p.live.Add(-1)
					if p.gen.Load() == seen {
						return
					}
					p.live.Add(1)
					break
				}
				if i%1024 == 1023 {
					runtime.Gosched()
				}
			}
		}
		seen = p.gen.Load()
		if j := p.loop.Load(); j.seats.Add(-1) >= 0 {
			j.run()
		}
	}
}
