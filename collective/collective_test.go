package collective

import (
	"math"
	"testing"
)

func TestSingle(t *testing.T) {
	var c Comm = Single{}
	if c.Rank() != 0 || c.Size() != 1 {
		t.Fatalf("rank %d size %d; want 0 1", c.Rank(), c.Size())
	}
	buf := []float32{1, 2, 3}
	if err := c.AllReduce(buf); err != nil || buf[2] != 3 {
		t.Fatalf("all-reduce: %v %v", buf, err)
	}
	recv := make([]float32, 3)
	if err := c.AllGather(buf, recv); err != nil || recv[1] != 2 {
		t.Fatalf("all-gather: %v %v", recv, err)
	}
	if err := c.AllGather(buf, make([]float32, 2)); err == nil {
		t.Fatal("all-gather into a short buffer: no error")
	}
	if err := c.Broadcast(buf, 1); err == nil {
		t.Fatal("broadcast from rank 1 of 1: no error")
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct{ n, size int }{{10, 3}, {2, 4}, {0, 2}, {7, 1}, {8, 8}} {
		next := 0
		for r := 0; r < tc.size; r++ {
			lo, hi := Span(tc.n, r, tc.size)
			if lo != next || hi < lo {
				t.Fatalf("Span(%d, %d, %d) = [%d, %d); want it to start at %d", tc.n, r, tc.size, lo, hi, next)
			}
			next = hi
		}
		if next != tc.n {
			t.Fatalf("spans of %d over %d cover %d", tc.n, tc.size, next)
		}
	}
}

func TestIntBits(t *testing.T) {
	for _, v := range []int{0, 1, -1, 151_935, math.MaxInt32, math.MinInt32, 1 << 24, 1<<24 + 1} {
		if got := BitsInt(IntBits(v)); got != v {
			t.Errorf("BitsInt(IntBits(%d)) = %d", v, got)
		}
	}
}

func TestGatherVarAndSumOrdered(t *testing.T) {
	parts, err := GatherVar(Single{}, []float32{4, 5})
	if err != nil || len(parts) != 1 || len(parts[0]) != 2 || parts[0][1] != 5 {
		t.Fatalf("GatherVar = %v, %v", parts, err)
	}
	// 1e8 + 1 − 1e8 in float32 is 0 left to right: the order is the fold's.
	got := SumOrdered([][]float32{{1e8, 1}, {1, 2}, {-1e8, 3}})
	if got[0] != 0 || got[1] != 6 {
		t.Fatalf("SumOrdered = %v; want [0 6]", got)
	}
	if SumOrdered(nil) != nil {
		t.Fatal("SumOrdered(nil) != nil")
	}
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		kind string
		ok   bool
	}{{"", true}, {"single", true}, {"tcp", false}} {
		_, err := Open(tc.kind)
		if (err == nil) != tc.ok {
			t.Errorf("Open(%q) error %v; want ok=%v", tc.kind, err, tc.ok)
		}
	}
}

func TestLocal(t *testing.T) {
	const n = 3
	comms := Local(n)
	errs := make(chan error, n)
	sums := make([][]float32, n)
	for r, c := range comms {
		go func() {
			var err error
			defer func() { errs <- err }()
			for round := 0; round < 50 && err == nil; round++ {
				buf := []float32{float32(r), float32(round)}
				if err = c.AllReduce(buf); err != nil {
					return
				}
				sums[r] = buf
				var parts [][]float32
				if parts, err = GatherVar(c, make([]float32, r)); err == nil && len(parts[2]) != 2 {
					t.Errorf("rank %d: GatherVar part 2 has %d values", r, len(parts[2]))
				}
			}
		}()
	}
	for range comms {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for r, s := range sums {
		if s[0] != 3 || s[1] != 3*49 {
			t.Errorf("rank %d: last all-reduce %v; want [3 147]", r, s)
		}
	}
}
