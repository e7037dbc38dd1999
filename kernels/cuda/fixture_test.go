//go:build cuda || cudaemu

package cuda

import (
	"path/filepath"
	"testing"

	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/model/modeltest"
)

// fixtureDir is the copy of the golden Qwen3 fixtures shipped with the repo.
const fixtureDir = "../../testdata/qwen3-tiny"

// TestGoldenFixtures runs the model on the CUDA backend through the same
// golden check as the CPU backend (model/modeltest): logits, hidden states,
// RoPE tables, loss and every parameter gradient against the PyTorch
// reference, at the fixture README's tolerances.
func TestGoldenFixtures(t *testing.T) {
	for _, folder := range modeltest.Folders {
		t.Run(folder, func(t *testing.T) {
			modeltest.CheckGolden(t, filepath.Join(fixtureDir, folder), gpu)
		})
	}
}

// stepsDir holds the expected results of ten training steps on the fixtures,
// written by scripts/reference_steps.py.
const stepsDir = "../../testdata/qwen3-tiny-steps"

// TestTrainingSteps runs the same ten whole training steps (forward, loss,
// backward, clipping, AdamW) as the CPU backend's test in model/, on this
// backend, against the PyTorch reference.
func TestTrainingSteps(t *testing.T) {
	for _, folder := range modeltest.StepsFolders {
		t.Run(folder, func(t *testing.T) {
			modeltest.CheckSteps(t, filepath.Join(fixtureDir, folder), filepath.Join(stepsDir, folder+".json"), gpu)
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
