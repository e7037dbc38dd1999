//go:build cuda || cudaemu

package cuda

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/model"
)

// footprint is the device memory a backend holds.
func footprint(be *Backend) int64 {
	st := be.MemStats()
	return st.InUse + st.Cached
}

// withoutGC turns the garbage collector off for the rest of the test, so that
// only the collections the backend forces return device memory.
func withoutGC(t *testing.T) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// TestMemoryBounded runs steps that each allocate and drop buffers. With the
// budget, the memory the backend holds stops growing after the first steps;
// without it (and with the garbage collector off) it grows with every step,
// which is what made device memory climb until an allocation failed.
func TestMemoryBounded(t *testing.T) {
	sizes := []int{1000, 3000, 250, 8000, 1000, 60000, 17}
	perStep := int64(0)
	for _, n := range sizes {
		perStep += sizeClass(int64(n) * 4)
	}
	for _, tc := range []struct {
		name    string
		budget  int64
		bounded bool
	}{
		{"budget", 4 * perStep, true},
		{"no budget", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withoutGC(t)
			be, err := newTestBackend()
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			be.gcBudget = tc.budget
			const steps = 40
			held := make([]int64, steps)
			for s := range steps {
				var bufs []kernels.Buffer
				for _, n := range sizes {
					b := be.Alloc(n)
					be.Fill(b, float32(s))
					bufs = append(bufs, b)
				}
				be.Axpy(1, bufs[0], bufs[4]) // the buffers are used, then dropped
				held[s] = footprint(be)
			}
			st := be.MemStats()
			t.Logf("held after steps 1, 10, %d: %d, %d, %d bytes; %d forced collections; peak %d", steps, held[0], held[9], held[steps-1], st.Collections, st.Peak)
			if tc.bounded {
				if held[steps-1] > held[9] || held[steps-1] > tc.budget+2*perStep {
					t.Errorf("memory grew: %d bytes after step 10, %d after step %d (budget %d, %d per step)", held[9], held[steps-1], steps, tc.budget, perStep)
				}
				if st.Collections == 0 {
					t.Error("no collection was forced")
				}
			} else if held[steps-1] < steps*perStep {
				t.Errorf("without a budget and without the garbage collector, %d bytes held after %d steps of %d", held[steps-1], steps, perStep)
			}
		})
	}
}

// TestCollect returns the memory of dropped buffers to the pool at once and
// keeps the buffers still referenced.
func TestCollect(t *testing.T) {
	withoutGC(t)
	be, err := newTestBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	keep := be.Alloc(5000)
	be.Fill(keep, 2)
	for range 10 {
		be.Alloc(5000)
	}
	before := be.MemStats()
	be.Collect()
	after := be.MemStats()
	one := sizeClass(5000 * 4)
	if after.InUse != one || after.Cached != before.Cached+10*one || after.InUse+after.Cached != before.InUse+before.Cached {
		t.Errorf("before %+v, after %+v; want %d in use and 10 blocks of %d more cached", before, after, one, one)
	}
	got := make([]float32, 5000)
	be.Download(got, keep)
	if got[0] != 2 || got[4999] != 2 {
		t.Error("a referenced buffer was reclaimed")
	}
	// Reuse comes from the pool, not the driver.
	be.Alloc(5000)
	if st := be.MemStats(); st.InUse+st.Cached != after.InUse+after.Cached {
		t.Errorf("allocation after a collection took new memory: %+v", st)
	}
}

// TestTrainStepMemoryFlat runs training steps of the tiny fixture model with
// the garbage collector off and a small budget: the device memory held does
// not grow over the second half of the steps.
func TestTrainStepMemoryFlat(t *testing.T) {
	withoutGC(t)
	be, err := newTestBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	m, err := model.Load(filepath.Join(fixtureDir, "tied"), be)
	if err != nil {
		t.Fatal(err)
	}
	m.EnableGrad()
	be.gcBudget = 1 << 20
	const S, T = 2, 12
	r := rand.New(rand.NewPCG(7, 8))
	ids, targets, weight := make([]int32, S*T), make([]int32, S*T), make([]float32, S*T)
	starts := []int32{0, T, 2 * T}
	for i := range ids {
		ids[i] = int32(r.IntN(m.Config.VocabSize))
		weight[i] = 1
	}
	for i := range targets {
		targets[i] = -1
		if (i+1)%T != 0 {
			targets[i] = ids[i+1]
		}
	}
	mom, vel := be.Alloc(m.NumParams()), be.Alloc(m.NumParams())
	const steps = 8
	held := make([]int64, steps)
	for s := range steps {
		p, err := m.Forward(ids, starts)
		if err != nil {
			t.Fatal(err)
		}
		logp, _, err := m.TokenLogProbs(p, targets, false)
		if err != nil {
			t.Fatal(err)
		}
		_, dlogp, err := model.WeightedNLL(logp, weight, float64(len(logp)))
		if err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.Backward(p, targets, dlogp); err != nil {
			t.Fatal(err)
		}
		be.AdamW(m.Params, m.Grads, mom, vel, 1e-3, 0.9, 0.95, 1e-8, 0.1, s+1)
		held[s] = footprint(be)
	}
	st := be.MemStats()
	t.Logf("held after each step: %v bytes; %d forced collections", held, st.Collections)
	for s := steps / 2; s < steps; s++ {
		if held[s] > held[steps/2-1] {
			t.Errorf("device memory grew from %d bytes after step %d to %d after step %d", held[steps/2-1], steps/2, held[s], s+1)
		}
	}
	if st.Collections == 0 {
		t.Error("no collection was forced")
	}
}

// TestStagedIndices checks that an op reuses index arrays staged by an
// earlier op with equal contents, uploads changed ones (even when the caller
// changed a slice in place), and still computes what the CPU backend does.
func TestStagedIndices(t *testing.T) {
	be, err := newTestBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	r := newRand(13)
	const n, heads, hd, maxPos = 24, 2, 16, 40
	cos, sin := randF32(r, maxPos*hd/2, -1, 1), randF32(r, maxPos*hd/2, -1, 1)
	cc, sc := ref.Alloc(len(cos)), ref.Alloc(len(sin))
	ref.Upload(cc, cos)
	ref.Upload(sc, sin)
	cg, sg := be.Alloc(len(cos)), be.Alloc(len(sin))
	be.Upload(cg, cos)
	be.Upload(sg, sin)
	x0 := randF32(r, n*heads*hd, -1, 1)
	xc, xg := ref.Alloc(len(x0)), be.Alloc(len(x0))
	ref.Upload(xc, x0)
	be.Upload(xg, x0)
	pos := randIDs(r, n, maxPos)
	starts := []int32{0, 10, n}
	q := randF32(r, n*heads*hd, -1, 1)
	qg, og, lg := be.Alloc(len(q)), be.Alloc(len(q)), be.Alloc(n*heads)
	be.Upload(qg, q)

	rope := func() {
		ref.RoPE(xc, cc, sc, pos, n, heads, hd)
		be.RoPE(xg, cg, sg, pos, n, heads, hd)
	}
	steps := []struct {
		name    string
		run     func()
		uploads int
	}{
		{"first rope", rope, 1},
		{"same positions", rope, 0},
		{"rope backward, same positions", func() {
			ref.RoPEBackward(xc, cc, sc, pos, n, heads, hd)
			be.RoPEBackward(xg, cg, sg, pos, n, heads, hd)
		}, 0},
		{"positions changed in place", func() { pos[3] = (pos[3] + 1) % maxPos; rope() }, 1},
		{"first attention", func() { be.Attention(og, lg, qg, qg, qg, starts, heads, heads, hd, 0.25) }, 1},
		{"attention again", func() { be.Attention(og, lg, qg, qg, qg, starts, heads, heads, hd, 0.25) }, 0},
		{"rope after attention", rope, 0},
		{"evicting", func() {
			for i := range maxStaged {
				p := make([]int32, n)
				p[0] = int32(i + 1)
				be.RoPE(xg, cg, sg, p, n, heads, hd)
				ref.RoPE(xc, cc, sc, p, n, heads, hd)
			}
		}, maxStaged},
		{"evicted positions again", rope, 1},
	}
	for _, st := range steps {
		before := be.idx.uploads
		st.run()
		if got := be.idx.uploads - before; got != st.uploads {
			t.Errorf("%s: %d uploads, want %d", st.name, got, st.uploads)
		}
		if len(be.idx.entries) > maxStaged {
			t.Errorf("%s: %d staged entries", st.name, len(be.idx.entries))
		}
		got, want := make([]float32, len(x0)), make([]float32, len(x0))
		be.Download(got, xg)
		ref.Download(want, xc)
		if e := relErr(got, want); e > tolFP32 {
			t.Fatalf("%s: x differs from the CPU backend by %.3g", st.name, e)
		}
	}
}

// faultDevice fails every synchronisation, as a device does after a kernel
// fault.
type faultDevice struct{ device }

func (faultDevice) synchronize() error { return errors.New("an illegal memory access was encountered") }

// TestSyncNamesTheOp checks FRONTIER_CUDA_SYNC=1: the backend synchronises
// after every op, and a fault is reported under the name of the op that
// caused it.
func TestSyncNamesTheOp(t *testing.T) {
	t.Setenv("FRONTIER_CUDA_SYNC", "1")
	base, err := newTestBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	if !base.sync {
		t.Fatal("FRONTIER_CUDA_SYNC=1 did not turn on synchronisation")
	}
	be := newBackend(faultDevice{base.d}, "fault", false, true, 0)
	x := be.Alloc(64)
	for _, tc := range []struct {
		op   string
		run  func()
		want string
	}{
		{"Scale", func() { be.Scale(2, x) }, "scale"},
		{"RoPE", func() { be.RoPE(x, x, x, []int32{0}, 1, 1, 4) }, "rope"},
		{"Gemm", func() { be.Gemm(false, false, 4, 4, 4, 1, x, x, 0, be.Slice(x, 32, 16)) }, "Gemm 4x4x4"},
	} {
		t.Run(tc.op, func(t *testing.T) {
			msg := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				tc.run()
				return ""
			}()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "illegal memory access") {
				t.Errorf("panic %q, want it to name %q and the fault", msg, tc.want)
			}
		})
	}
}
