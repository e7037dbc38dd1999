package model_test

import (
	"path/filepath"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model/modeltest"
)

// fixtureDir is the copy of the golden Qwen3 fixtures shipped with the repo.
const fixtureDir = "../testdata/qwen3-tiny"

// TestGoldenFixtures checks logits, hidden states, RoPE tables, loss and the
// gradient of every parameter against the float64 PyTorch reference, at the
// tolerances of the fixture README, on the CPU backend.
func TestGoldenFixtures(t *testing.T) {
	for _, folder := range modeltest.Folders {
		t.Run(folder, func(t *testing.T) {
			modeltest.CheckGolden(t, filepath.Join(fixtureDir, folder), cpu.New(0))
		})
	}
}

// stepsDir holds the expected losses of ten training steps on the fixtures,
// written by scripts/reference_steps.py.
const stepsDir = "../testdata/qwen3-tiny-steps"

// TestTrainingSteps runs ten whole training steps (forward, loss, backward,
// clipping, AdamW) from the fixture weights on the CPU backend and holds the
// losses, gradient norms and final parameters to the PyTorch reference.
func TestTrainingSteps(t *testing.T) {
	for _, folder := range modeltest.StepsFolders {
		t.Run(folder, func(t *testing.T) {
			modeltest.CheckSteps(t, filepath.Join(fixtureDir, folder), filepath.Join(stepsDir, folder+".json"), cpu.New(0))
		})
	}
}
