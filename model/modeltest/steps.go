package modeltest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
)

// StepsFolders are the fixture folders that have a training-steps reference,
// testdata/qwen3-tiny-steps/<folder>.json.
var StepsFolders = []string{"tied", "untied"}

// Tolerances of CheckSteps against the float64 reference, about 20 times
// what the CPU backend shows (measured on the 2-core AMD EPYC, AVX2): losses
// within 4e-7, gradient norms within 2e-7 relative, final tensor norms within
// 4e-8 relative and the norms of their changes within 5e-6 relative.
const (
	stepsLossTol       = 1e-5 // absolute, per step
	stepsGradNormTol   = 1e-5 // relative, per step
	stepsNormTol       = 1e-6 // relative, per tensor
	stepsUpdateNormTol = 1e-4 // relative, per tensor
)

// stepsRef is the reference file written by scripts/reference_steps.py.
type stepsRef struct {
	Fixture   string `json:"fixture"`
	Optimizer struct {
		LR          float64 `json:"lr"`
		Beta1       float64 `json:"beta1"`
		Beta2       float64 `json:"beta2"`
		Eps         float64 `json:"eps"`
		WeightDecay float64 `json:"weight_decay"`
		ClipNorm    float64 `json:"clip_norm"`
		Warmup      int     `json:"warmup"`
		Total       int     `json:"total"`
		MinRatio    float64 `json:"min_ratio"`
	} `json:"optimizer"`
	Steps []struct {
		IDs      []int32   `json:"ids"`     // [N] packed sequences
		Starts   []int32   `json:"starts"`  // [S+1] cu_seqlens
		Targets  []int32   `json:"targets"` // [N], -1 where a row has none
		Weights  []float32 `json:"weights"` // [N] per-token loss weights
		Denom    float64   `json:"denom"`
		Loss     float64   `json:"loss"`      // before the update
		GradNorm float64   `json:"grad_norm"` // before clipping
	} `json:"steps"`
	Tensors map[string]struct {
		Norm       float64 `json:"norm"`        // |final parameter|
		UpdateNorm float64 `json:"update_norm"` // |final − initial|
	} `json:"tensors"`
}

// readStepsRef reads and sanity-checks a reference file.
func readStepsRef(path string) (*stepsRef, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("steps reference: %w", err)
	}
	var ref stepsRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		return nil, fmt.Errorf("steps reference %s: %w", path, err)
	}
	if len(ref.Steps) == 0 || len(ref.Tensors) == 0 {
		return nil, fmt.Errorf("steps reference %s: no steps or no tensors", path)
	}
	return &ref, nil
}

// newStepsOptimizer builds the AdamW of the reference for n parameters.
func newStepsOptimizer(ref *stepsRef, b kernels.Backend, n int) (*optim.AdamW, error) {
	o := ref.Optimizer
	cfg := optim.Config{
		LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay, ClipNorm: o.ClipNorm,
		Schedule: optim.Schedule{Kind: "cosine", Warmup: o.Warmup, Total: o.Total, MinRatio: o.MinRatio},
	}
	return optim.NewAdamW(cfg, b, n)
}

// CheckSteps loads the fixture folder dir on backend b and runs the whole
// training step of the reference file refPath (written by
// scripts/reference_steps.py) for each of its batches: forward, weighted
// NLL, backward, gradient clipping and an AdamW update. Each step's loss and
// gradient norm, and at the end every tensor's norm and the norm of its
// change, must match the float64 PyTorch reference.
func CheckSteps(t *testing.T, dir, refPath string, b kernels.Backend) {
	t.Helper()
	ref, err := readStepsRef(refPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir, b)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	opt, err := newStepsOptimizer(ref, b, m.NumParams())
	if err != nil {
		t.Fatal(err)
	}
	init := make([]float32, m.NumParams())
	b.Download(init, m.Params)
	for i := range ref.Steps {
		trainStep(t, m, opt, ref, i)
	}
	checkFinalTensors(t, m, ref, init)
}

// trainStep runs step i of the reference and compares its loss and
// gradient norm.
func trainStep(t *testing.T, m *model.Model, opt *optim.AdamW, ref *stepsRef, i int) {
	t.Helper()
	s := ref.Steps[i]
	p, err := m.Forward(s.IDs, s.Starts)
	if err != nil {
		t.Fatalf("step %d: %v", i+1, err)
	}
	logp, _, err := m.TokenLogProbs(p, s.Targets, false)
	if err != nil {
		t.Fatalf("step %d: %v", i+1, err)
	}
	loss, dlogp, err := model.WeightedNLL(logp, s.Weights, s.Denom)
	if err != nil {
		t.Fatalf("step %d: %v", i+1, err)
	}
	m.ZeroGrad()
	if err := m.Backward(p, s.Targets, dlogp); err != nil {
		t.Fatalf("step %d: %v", i+1, err)
	}
	norm, err := opt.Step(m.Params, m.Grads)
	if err != nil {
		t.Fatalf("step %d: %v", i+1, err)
	}
	dl, dn := math.Abs(loss-s.Loss), math.Abs(norm-s.GradNorm)/s.GradNorm
	if !(dl <= stepsLossTol) {
		t.Errorf("step %d: loss %.7f, want %.7f (diff %.3g > %.3g)", i+1, loss, s.Loss, dl, stepsLossTol)
	}
	if !(dn <= stepsGradNormTol) {
		t.Errorf("step %d: gradient norm %.6f, want %.6f (rel diff %.3g > %.3g)", i+1, norm, s.GradNorm, dn, stepsGradNormTol)
	}
	t.Logf("step %d: loss %.7f (diff %.3g), gradient norm %.6f (rel diff %.3g)", i+1, loss, dl, norm, dn)
}

// checkFinalTensors compares every tensor's norm, and the norm of its change
// from init (the flat parameters before the first step), with the reference.
func checkFinalTensors(t *testing.T, m *model.Model, ref *stepsRef, init []float32) {
	t.Helper()
	if len(ref.Tensors) != len(m.Tensors) {
		t.Errorf("reference has %d tensors, model has %d", len(ref.Tensors), len(m.Tensors))
	}
	final := make([]float32, m.NumParams())
	m.B.Download(final, m.Params)
	worstNorm, worstUpdate := 0.0, 0.0
	for _, p := range m.Tensors {
		want, ok := ref.Tensors[p.Name]
		if !ok {
			t.Errorf("reference has no tensor %s", p.Name)
			continue
		}
		var norm, update float64
		for i := p.Off; i < p.Off+p.N; i++ {
			f, d := float64(final[i]), float64(final[i])-float64(init[i])
			norm += f * f
			update += d * d
		}
		dn := math.Abs(math.Sqrt(norm)-want.Norm) / want.Norm
		du := math.Abs(math.Sqrt(update)-want.UpdateNorm) / want.UpdateNorm
		worstNorm, worstUpdate = max(worstNorm, dn), max(worstUpdate, du)
		if !(dn <= stepsNormTol) {
			t.Errorf("%s: norm %.7g, want %.7g (rel diff %.3g > %.3g)", p.Name, math.Sqrt(norm), want.Norm, dn, stepsNormTol)
		}
		if !(du <= stepsUpdateNormTol) {
			t.Errorf("%s: norm of the change %.7g, want %.7g (rel diff %.3g > %.3g)", p.Name, math.Sqrt(update), want.UpdateNorm, du, stepsUpdateNormTol)
		}
	}
	t.Logf("final tensors: worst norm rel diff %.3g, worst change rel diff %.3g", worstNorm, worstUpdate)
}
