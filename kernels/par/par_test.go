package par

import (
	"sync/atomic"
	"testing"
)

// TestRangeCoversOnce: every element is visited exactly once, in the chunks
// the grain fixes, for any thread count.
func TestRangeCoversOnce(t *testing.T) {
	for _, tc := range []struct{ n, grain, threads int }{
		{0, 4, 2}, {1, 4, 2}, {10, 3, 1}, {10, 3, 2}, {10, 3, 8}, {1000, 7, 3}, {5, 0, 2},
	} {
		seen := make([]atomic.Int32, tc.n)
		var bad atomic.Bool
		Range(tc.n, tc.grain, tc.threads, func(lo, hi int) {
			if g := max(tc.grain, 1); lo%g != 0 || (hi-lo != g && hi != tc.n) {
				bad.Store(true)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		if bad.Load() {
			t.Errorf("%+v: a chunk is not grain-aligned", tc)
		}
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("%+v: element %d visited %d times", tc, i, c)
			}
		}
	}
}
