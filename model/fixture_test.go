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
