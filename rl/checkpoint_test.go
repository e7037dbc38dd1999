package rl

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/weights"
)

// The child half of TestKillDuringCheckpointWrite: it starts writing a second
// checkpoint and stalls after its first file, waiting to be killed.
func TestCheckpointChild(t *testing.T) {
	run := os.Getenv("FRONTIER_CHECKPOINT_CHILD")
	if run == "" {
		t.Skip("helper process for TestKillDuringCheckpointWrite")
	}
	m := toyModel(t, 2)
	ck := Checkpoint{Model: m, DType: weights.F32, Files: map[string][]byte{"tokenizer.json": []byte("{}")}}
	ck.afterFile = func(name string) {
		os.WriteFile(filepath.Join(run, "child-is-writing"), []byte(name), 0o644)
		time.Sleep(time.Minute)
	}
	SaveCheckpoint(run, "checkpoint-2", ck)
}

// TestKillDuringCheckpointWrite kills a process in the middle of writing a
// checkpoint and checks that the previous checkpoint is still the latest and
// loads.
func TestKillDuringCheckpointWrite(t *testing.T) {
	run := t.TempDir()
	m := toyModel(t, 1)
	opt, _ := optim.NewAdamW(optim.DefaultConfig(), m.B, m.NumParams())
	if _, err := SaveCheckpoint(run, "checkpoint-1", Checkpoint{Model: m, DType: weights.F32, Opt: opt, State: map[string]int{"step": 1}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCheckpointChild$")
	cmd.Env = append(os.Environ(), "FRONTIER_CHECKPOINT_CHILD="+run)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(run, "child-is-writing")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never started writing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	dir, err := LatestCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "checkpoint-1" {
		t.Fatalf("latest is %s after a killed write, want checkpoint-1", dir)
	}
	loaded, err := model.Load(dir, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(params(loaded), params(m)) {
		t.Fatal("the previous checkpoint's weights changed")
	}
	opt2, _ := optim.NewAdamW(optim.DefaultConfig(), m.B, m.NumParams())
	if err := LoadOptimizer(dir, opt2); err != nil {
		t.Fatal(err)
	}
	// The next save cleans up the half-written directory.
	if _, err := SaveCheckpoint(run, "checkpoint-3", Checkpoint{Model: m, DType: weights.F32}); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(run, ".tmp-*")); len(left) != 0 {
		t.Fatalf("temporary directories left behind: %v", left)
	}
	if dir, _ := LatestCheckpoint(run); filepath.Base(dir) != "checkpoint-3" {
		t.Fatalf("latest is %s, want checkpoint-3", dir)
	}
}

func TestCheckpointErrors(t *testing.T) {
	run := t.TempDir()
	if _, err := LatestCheckpoint(run); err == nil {
		t.Error("empty run directory has a latest checkpoint")
	}
	os.WriteFile(filepath.Join(run, LatestFile), []byte("../../etc\n"), 0o644)
	if _, err := LatestCheckpoint(run); err == nil {
		t.Error("a latest file pointing outside the run was accepted")
	}
	if err := LoadOptimizer(run, nil); err == nil {
		t.Error("missing optimizer file accepted")
	}
}
