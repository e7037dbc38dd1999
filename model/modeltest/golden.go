// Package modeltest holds test support shared by the backends' tests: the
// check of a model against the golden Qwen3 fixtures (testdata/qwen3-tiny),
// so that the CPU and CUDA backends are held to the same comparison.
package modeltest

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/weights"
)

// Folders are the four fixture folders: tied and untied heads, F32 and BF16
// weights.
var Folders = []string{"tied", "tied-bf16", "untied", "untied-bf16"}

// MaxDiff is the largest |a[i] − b[i]|; NaN anywhere makes it NaN.
func MaxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return d
		}
		m = max(m, d)
	}
	return m
}

// MaxAbs is the largest |x[i]|.
func MaxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// CheckGolden loads the fixture folder dir on backend b and checks logits,
// hidden states, RoPE tables, loss and the gradient of every parameter
// against the float64 PyTorch reference, at the fixture README's tolerances
// (logits and hidden states 1e-4, loss 1e-5, gradients 1e-4 of each
// tensor's largest value).
func CheckGolden(t *testing.T, dir string, b kernels.Backend) {
	t.Helper()
	m, err := model.Load(dir, b)
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
		if d := MaxDiff(got, want); d > tol || math.IsNaN(d) {
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
	// The fixture's tables are [T, head_dim] with each angle twice
	// (rotate-half); ours are [T, head_dim/2].
	cos, sin := m.RopeTables(T)
	half := m.Config.HeadDim / 2
	gotCos, gotSin := make([]float32, T*2*half), make([]float32, T*2*half)
	for tt := 0; tt < T; tt++ {
		for i := 0; i < half; i++ {
			gotCos[tt*2*half+i], gotCos[tt*2*half+half+i] = cos[tt*half+i], cos[tt*half+i]
			gotSin[tt*2*half+i], gotSin[tt*2*half+half+i] = sin[tt*half+i], sin[tt*half+i]
		}
	}
	check("rope.cos", gotCos, get("rope.cos"), 1e-6)
	check("rope.sin", gotSin, get("rope.sin"), 1e-6)

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
		rel := MaxDiff(got, want) / MaxAbs(want)
		worst = max(worst, rel)
		if rel > 1e-4 || math.IsNaN(rel) {
			t.Errorf("grad %s: max diff / max|ref| = %.3g > 1e-4", prm.Name, rel)
		}
	}
	t.Logf("worst gradient relative diff %.3g", worst)
}
