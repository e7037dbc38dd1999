//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/weights"
)

// fixtureDir is the copy of the golden Qwen3 fixtures shipped with the repo.
const fixtureDir = "../../testdata/qwen3-tiny"

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// TestGoldenFixtures runs the model on the CUDA backend and checks logits,
// hidden states, loss and every parameter gradient against the PyTorch
// reference, at the fixture README's tolerances (the same the CPU backend
// meets in model/fixture_test.go).
func TestGoldenFixtures(t *testing.T) {
	for _, folder := range []string{"tied", "tied-bf16", "untied", "untied-bf16"} {
		t.Run(folder, func(t *testing.T) {
			dir := filepath.Join(fixtureDir, folder)
			m, err := model.Load(dir, gpu)
			if err != nil {
				t.Fatalf("load %s: %v", dir, err)
			}
			exp, err := weights.Open(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatalf("open expected: %v", err)
			}
			defer exp.Close()
			ids64, shape, err := exp.Ints("input_ids")
			if err != nil {
				t.Fatal(err)
			}
			tg64, _, err := exp.Ints("targets")
			if err != nil {
				t.Fatal(err)
			}
			B, T := shape[0], shape[1]
			ids, targets := make([]int32, B*T), make([]int32, B*T)
			for i := range ids {
				ids[i], targets[i] = int32(ids64[i]), int32(tg64[i])
			}
			starts := make([]int32, B+1)
			for s := range starts {
				starts[s] = int32(s * T)
			}
			p, err := m.Forward(ids, starts)
			if err != nil {
				t.Fatal(err)
			}
			get := func(name string) []float32 {
				t.Helper()
				v, _, err := exp.Float32(name)
				if err != nil {
					t.Fatalf("expected %s: %v", name, err)
				}
				return v
			}
			check := func(name string, got, want []float32, tol float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
				}
				if d := maxDiff(got, want); d > tol || math.IsNaN(d) {
					t.Errorf("%s: max abs diff %.3g > %.3g", name, d, tol)
				} else {
					t.Logf("%s: max abs diff %.3g", name, d)
				}
			}
			check("logits", m.LogitsHost(p), get("logits"), 1e-4)
			check("hidden.embed", m.Hidden(p, -1), get("hidden.embed"), 1e-4)
			for l := 0; l < m.Config.NumHiddenLayers; l++ {
				check(fmt.Sprintf("hidden.layer%d", l), m.Hidden(p, l), get(fmt.Sprintf("hidden.layer%d", l)), 1e-4)
			}
			check("hidden.final_norm", m.Hidden(p, m.Config.NumHiddenLayers), get("hidden.final_norm"), 1e-4)

			logp, _, err := m.TokenLogProbs(p, targets, false)
			if err != nil {
				t.Fatal(err)
			}
			w := make([]float32, len(logp))
			for i := range w {
				w[i] = 1
			}
			loss, dlogp, err := model.WeightedNLL(logp, w, float64(len(logp)))
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(get("loss")[0]); math.Abs(loss-want) > 1e-5 {
				t.Errorf("loss %.7f, want %.7f", loss, want)
			}
			m.ZeroGrad()
			if err := m.Backward(p, targets, dlogp); err != nil {
				t.Fatal(err)
			}
			grads, err := weights.Open(filepath.Join(dir, "grads.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer grads.Close()
			worst := 0.0
			for _, prm := range m.Tensors {
				want, _, err := grads.Float32(prm.Name)
				if err != nil {
					t.Fatalf("grad %s: %v", prm.Name, err)
				}
				got := make([]float32, prm.N)
				m.B.Download(got, prm.G)
				rel := maxDiff(got, want) / maxAbs(want)
				worst = max(worst, rel)
				if rel > 1e-4 || math.IsNaN(rel) {
					t.Errorf("grad %s: max diff / max|ref| = %.3g > 1e-4", prm.Name, rel)
				}
			}
			t.Logf("worst gradient relative diff %.3g", worst)
		})
	}
}

// TestDecodeMatchesCPU runs a prefill and a few cached decode steps on both
// backends and compares the logits.
func TestDecodeMatchesCPU(t *testing.T) {
	dir := filepath.Join(fixtureDir, "tied")
	mg, err := model.Load(dir, gpu)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := model.Load(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	const slots, maxLen = 2, 32
	cg, cc := mg.NewKVCache(slots, maxLen), mc.NewKVCache(slots, maxLen)
	prompt := []int32{5, 17, 3, 99, 42, 7}
	n := len(prompt)
	slot, pos := make([]int32, n), make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	last := []int32{int32(n - 1)}
	lg, err := mg.ForwardCached(cg, prompt, slot, pos, last)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := mc.ForwardCached(cc, prompt, slot, pos, last)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(lg, lc); e > 1e-4 {
		t.Fatalf("prefill logits: relative error %.3g", e)
	}
	cg.CopySlot(1, 0, n)
	cc.CopySlot(1, 0, n)
	next := []int32{11, 23}
	for step := 0; step < 4; step++ {
		p := int32(n + step)
		ids, sl, ps, rows := next, []int32{0, 1}, []int32{p, p}, []int32{0, 1}
		lg, err = mg.ForwardCached(cg, ids, sl, ps, rows)
		if err != nil {
			t.Fatal(err)
		}
		lc, err = mc.ForwardCached(cc, ids, sl, ps, rows)
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(lg, lc); e > 1e-4 {
			t.Fatalf("decode step %d logits: relative error %.3g", step, e)
		}
		next = []int32{int32(step*13+1) % 128, int32(step*29+5) % 128}
	}
}
