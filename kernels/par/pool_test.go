package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolCoversOnce: on a pool, every chunk runs exactly once, for loops of
// every size, thread count and pool size, one after another.
func TestPoolCoversOnce(t *testing.T) {
	for _, poolThreads := range []int{1, 2, 4} {
		p := NewPool(poolThreads)
		for _, tc := range []struct{ n, grain, threads int }{
			{0, 4, 2}, {1, 4, 2}, {10, 3, 1}, {10, 3, 2}, {10, 3, 8}, {1000, 7, 3}, {5, 0, 2}, {64, 1, 4},
		} {
			for rep := 0; rep < 50; rep++ {
				seen := make([]atomic.Int32, tc.n)
				p.Range(tc.n, tc.grain, tc.threads, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if c := seen[i].Load(); c != 1 {
						t.Fatalf("pool %d, %+v: element %d visited %d times", poolThreads, tc, i, c)
					}
				}
			}
		}
	}
}

// TestPoolBarrierChunks: chunks that each wait until all have started (as
// Sgemm's do) finish, so every chunk got its own goroutine.
func TestPoolBarrierChunks(t *testing.T) {
	p := NewPool(3)
	for rep := 0; rep < 2000; rep++ {
		for _, threads := range []int{2, 3} {
			var started atomic.Int32
			p.For(threads, threads, func(ci int) {
				started.Add(1)
				for started.Load() < int32(threads) {
					runtime.Gosched()
				}
			})
		}
		if rep%500 == 0 {
			time.Sleep(2 * poolSpin) // let the workers exit, so new ones start
		}
	}
}

// TestPoolConcurrentLoops: loops started from several goroutines at once on
// one pool (one gets the workers, the others run on fresh goroutines), and
// loops nested in a chunk, all cover their chunks once.
func TestPoolConcurrentLoops(t *testing.T) {
	p := NewPool(2)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 200; rep++ {
				var sum atomic.Int64
				p.For(8, 2, func(ci int) {
					var inner atomic.Int64
					p.For(4, 2, func(cj int) { inner.Add(int64(cj)) })
					sum.Add(int64(ci) + inner.Load())
				})
				if sum.Load() != 28+8*6 {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d loops summed wrong", bad.Load())
	}
}

// TestPoolIdleExits: the workers exit soon after the last loop.
func TestPoolIdleExits(t *testing.T) {
	p := NewPool(4)
	p.For(16, 4, func(int) {})
	deadline := time.Now().Add(2 * time.Second)
	for p.live.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still live 2 s after the last loop", p.live.Load())
		}
		time.Sleep(time.Millisecond)
	}
}
