package model

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/weights"
)

// fixtureDir is the copy of the golden Qwen3 fixtures shipped with the repo.
const fixtureDir = "../testdata/qwen3-tiny"

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestGoldenFixtures checks logits, hidden states, RoPE tables, loss and the
// gradient of every parameter against the float64 PyTorch reference, at the
// tolerances of the fixture README.
func TestGoldenFixtures(t *testing.T) {
	for _, folder := range []string{"tied", "tied-bf16", "untied", "untied-bf16"} {
		t.Run(folder, func(t *testing.T) {
			dir := filepath.Join(fixtureDir, folder)
			m, err := Load(dir, cpu.New(0))
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
				if d := maxDiff(got, want); d > tol {
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
			cos, sin := m.RopeTables(T)
			half := m.Config.HeadDim / 2
			wantCos, wantSin := get("rope.cos"), get("rope.sin")
			gotCos, gotSin := make([]float32, T*2*half), make([]float32, T*2*half)
			for tt := 0; tt < T; tt++ {
				for i := 0; i < half; i++ {
					gotCos[tt*2*half+i], gotCos[tt*2*half+half+i] = cos[tt*half+i], cos[tt*half+i]
					gotSin[tt*2*half+i], gotSin[tt*2*half+half+i] = sin[tt*half+i], sin[tt*half+i]
				}
			}
			check("rope.cos", gotCos, wantCos, 1e-6)
			check("rope.sin", gotSin, wantSin, 1e-6)

			logp, _, err := m.TokenLogProbs(p, targets, false)
			if err != nil {
				t.Fatal(err)
			}
			w := make([]float32, len(logp))
			for i := range w {
				w[i] = 1
			}
			loss, dlogp, err := WeightedNLL(logp, w, float64(len(logp)))
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
			if len(grads.Names()) != len(m.Tensors) {
				t.Errorf("grads file has %d tensors, model has %d", len(grads.Names()), len(m.Tensors))
			}
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
				if rel > 1e-4 {
					t.Errorf("grad %s: max diff / max|ref| = %.3g > 1e-4", prm.Name, rel)
				}
			}
			t.Logf("worst gradient relative diff %.3g", worst)
		})
	}
}
