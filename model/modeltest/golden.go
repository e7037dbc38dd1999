// Package modeltest holds test support shared by the backends' tests, so that
// the CPU and CUDA backends are held to the same comparisons: CheckGolden, one
// forward and backward against the golden Qwen3 fixtures
// (testdata/qwen3-tiny), and CheckSteps, ten whole training steps against a
// PyTorch reference (testdata/qwen3-tiny-steps).
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

// golden is one fixture folder opened for checking: the model, the expected
// tensors and the batch ([B, T] ids and targets, packed).
type golden struct {
	m            *model.Model
	exp          *weights.File
	ids, targets []int32 // [B·T]
	starts       []int32 // [B+1]
	T            int
}

// openGolden loads the model of fixture folder dir on backend b with its
// expected tensors and batch. The caller closes g.exp.
func openGolden(t *testing.T, dir string, b kernels.Backend) *golden {
	t.Helper()
	m, err := model.Load(dir, b)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	exp, err := weights.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatalf("open expected: %v", err)
	}
	ids64, shape, err := exp.Ints("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	tg64, _, err := exp.Ints("targets")
	if err != nil {
		t.Fatal(err)
	}
	B, T := shape[0], shape[1]
	g := &golden{m: m, exp: exp, ids: make([]int32, B*T), targets: make([]int32, B*T), starts: make([]int32, B+1), T: T}
	for i := range g.ids {
		g.ids[i], g.targets[i] = int32(ids64[i]), int32(tg64[i])
	}
	for s := range g.starts {
		g.starts[s] = int32(s * T)
	}
	return g
}

// get reads one expected tensor.
func (g *golden) get(t *testing.T, name string) []float32 {
	t.Helper()
	v, _, err := g.exp.Float32(name)
	if err != nil {
		t.Fatalf("expected %s: %v", name, err)
	}
	return v
}

// checkClose fails when got and want differ by more than tol anywhere.
func checkClose(t *testing.T, name string, got, want []float32, tol float64) {
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

// CheckGolden loads the fixture folder dir on backend b and checks logits,
// hidden states, RoPE tables, loss and the gradient of every parameter
// against the float64 PyTorch reference, at the fixture README's tolerances
// (logits and hidden states 1e-4, loss 1e-5, gradients 1e-4 of each
// tensor's largest value).
func CheckGolden(t *testing.T, dir string, b kernels.Backend) {
	t.Helper()
	g := openGolden(t, dir, b)
	defer g.exp.Close()
	p, err := g.m.Forward(g.ids, g.starts)
	if err != nil {
		t.Fatal(err)
	}
	g.checkForward(t, p)
	g.checkRope(t)
	g.checkBackward(t, p, dir)
}

// checkForward compares the logits and every hidden state.
func (g *golden) checkForward(t *testing.T, p *model.Pass) {
	t.Helper()
	m := g.m
	checkClose(t, "logits", m.LogitsHost(p), g.get(t, "logits"), 1e-4)
	checkClose(t, "hidden.embed", m.Hidden(p, -1), g.get(t, "hidden.embed"), 1e-4)
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		name := fmt.Sprintf("hidden.layer%d", l)
		checkClose(t, name, m.Hidden(p, l), g.get(t, name), 1e-4)
	}
	checkClose(t, "hidden.final_norm", m.Hidden(p, m.Config.NumHiddenLayers), g.get(t, "hidden.final_norm"), 1e-4)
}

// checkRope compares the RoPE tables. The fixture's tables are [T, head_dim]
// with each angle twice (rotate-half); ours are [T, head_dim/2].
func (g *golden) checkRope(t *testing.T) {
	t.Helper()
	T := g.T
	cos, sin := g.m.RopeTables(T)
	half := g.m.Config.HeadDim / 2
	gotCos, gotSin := make([]float32, T*2*half), make([]float32, T*2*half)
	for tt := 0; tt < T; tt++ {
		for i := 0; i < half; i++ {
			gotCos[tt*2*half+i], gotCos[tt*2*half+half+i] = cos[tt*half+i], cos[tt*half+i]
			gotSin[tt*2*half+i], gotSin[tt*2*half+half+i] = sin[tt*half+i], sin[tt*half+i]
		}
	}
	checkClose(t, "rope.cos", gotCos, g.get(t, "rope.cos"), 1e-6)
	checkClose(t, "rope.sin", gotSin, g.get(t, "rope.sin"), 1e-6)
}

// meanNLL is the mean cross-entropy of pass p against targets and its
// derivative with respect to each token's log-prob.
func meanNLL(t *testing.T, m *model.Model, p *model.Pass, targets []int32) (float64, []float32) {
	t.Helper()
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
	return loss, dlogp
}

// checkBackward compares the loss and the gradient of every parameter with
// grads.safetensors in dir.
func (g *golden) checkBackward(t *testing.T, p *model.Pass, dir string) {
	t.Helper()
	m := g.m
	loss, dlogp := meanNLL(t, m, p, g.targets)
	if want := float64(g.get(t, "loss")[0]); math.Abs(loss-want) > 1e-5 {
		t.Errorf("loss %.7f, want %.7f", loss, want)
	}
	m.ZeroGrad()
	if err := m.Backward(p, g.targets, dlogp); err != nil {
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
