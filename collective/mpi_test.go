//go:build mpi

package collective

import (
	"os"
	"testing"
)

// TestMPIWorld checks every collective across the ranks it is launched
// with: mpirun -np 2 ./collective.test (one rank alone passes too).
func TestMPIWorld(t *testing.T) {
	c, err := Open("mpi")
	if err != nil {
		t.Fatal(err)
	}
	r, n := c.Rank(), c.Size()
	buf := []float32{float32(r + 1), 1}
	if err := c.AllReduce(buf); err != nil {
		t.Fatal(err)
	}
	if want := float32(n * (n + 1) / 2); buf[0] != want || buf[1] != float32(n) {
		t.Fatalf("rank %d: all-reduce = %v; want [%v %v]", r, buf, want, n)
	}
	recv := make([]float32, 2*n)
	if err := c.AllGather([]float32{float32(r), IntBits(-r)}, recv); err != nil {
		t.Fatal(err)
	}
	for q := 0; q < n; q++ {
		if recv[2*q] != float32(q) || BitsInt(recv[2*q+1]) != -q {
			t.Fatalf("rank %d: all-gather = %v", r, recv)
		}
	}
	parts, err := GatherVar(c, make([]float32, r+1))
	if err != nil {
		t.Fatal(err)
	}
	for q, p := range parts {
		if len(p) != q+1 {
			t.Fatalf("rank %d: GatherVar part %d has %d values; want %d", r, q, len(p), q+1)
		}
	}
	b := []float32{float32(r)}
	if err := c.Broadcast(b, n-1); err != nil || b[0] != float32(n-1) {
		t.Fatalf("rank %d: broadcast = %v, %v", r, b, err)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c, err := Open("mpi"); err == nil {
		c.Close()
	}
	os.Exit(code)
}
