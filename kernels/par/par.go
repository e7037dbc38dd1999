// Package par is the parallel-for of the CPU kernels: work cut into chunks
// whose boundaries depend only on the problem size, run on up to a given
// number of goroutines. A computation whose chunks write disjoint outputs,
// and whose reductions add chunk results in chunk order afterwards, gives the
// same bits whatever the number of threads or the scheduling.
//
// For and Range start fresh goroutines for each loop; a Pool keeps its
// workers between loops, which a training step's hundreds of short loops
// need (the CPU backend runs every loop on one).
package par

import (
	"sync"
	"sync/atomic"
)

// For runs fn(ci) for every chunk ci in [0, chunks) on up to threads
// goroutines, the caller's among them, and returns when all have run. Which
// goroutine runs a chunk varies from call to call; what a chunk computes
// must not depend on it. With one thread or one chunk it runs inline and
// starts no goroutine.
func For(chunks, threads int, fn func(ci int)) {
	(*Pool)(nil).For(chunks, threads, fn)
}

// spawnFor is For on workers fresh goroutines (workers <= chunks).
func spawnFor(chunks, workers int, fn func(ci int)) {
	var next atomic.Int64
	work := func() {
		for {
			ci := int(next.Add(1)) - 1
			if ci >= chunks {
				return
			}
			fn(ci)
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for range workers - 1 {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// Range runs fn(lo, hi) over [0, n) cut into chunks of grain elements (the
// last may be shorter), through For.
func Range(n, grain, threads int, fn func(lo, hi int)) {
	(*Pool)(nil).Range(n, grain, threads, fn)
}
