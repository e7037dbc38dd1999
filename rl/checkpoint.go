package rl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/weights"
)

// File names inside a checkpoint directory, beside the Hugging Face model
// files (config.json, model.safetensors, tokenizer.json,
// generation_config.json).
const (
	StateFile     = "trainer_state.json"
	OptimizerFile = "optimizer.safetensors"
	LatestFile    = "latest" // in the run directory: the name of the newest complete checkpoint
)

// Checkpoint is what SaveCheckpoint writes.
type Checkpoint struct {
	Model *model.Model
	DType weights.DType // of model.safetensors: F32 (exact resume) or BF16
	Opt   *optim.AdamW  // nil: no optimizer.safetensors
	State any           // marshalled to trainer_state.json
	Files map[string][]byte
	Keep  int // complete checkpoints to keep in the run directory (0 means 2)

	afterFile func(name string) // test hook: called after each file is written
}

// SaveCheckpoint writes a complete checkpoint as runDir/name and makes it the
// latest. The files go to a temporary directory first, which is synced and
// renamed into place; only then is runDir/latest replaced (atomically) to
// name it. A crash at any point leaves the previous latest checkpoint
// complete and loadable. Older checkpoints beyond Keep are removed afterwards.
func SaveCheckpoint(runDir, name string, ck Checkpoint) (string, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return "", fmt.Errorf("rl: checkpoint: %w", err)
	}
	// Leftovers of an interrupted save are never referenced: remove them.
	if old, _ := filepath.Glob(filepath.Join(runDir, ".tmp-*")); len(old) > 0 {
		for _, o := range old {
			os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(runDir, ".tmp-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("rl: checkpoint: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := ck.writeFiles(tmp, name); err != nil {
		return "", err
	}
	final, err := installCheckpoint(runDir, tmp, name)
	if err != nil {
		return "", err
	}
	ok = true
	ck.hook("rename")
	if err := weights.WriteFileAtomic(filepath.Join(runDir, LatestFile), []byte(name+"\n"), 0o644); err != nil {
		return final, fmt.Errorf("rl: checkpoint: %w", err)
	}
	keep := ck.Keep
	if keep <= 0 {
		keep = 2
	}
	prune(runDir, name, keep)
	return final, nil
}

// hook calls the test hook, if any, after file f is written.
func (ck Checkpoint) hook(f string) {
	if ck.afterFile != nil {
		ck.afterFile(f)
	}
}

// writeFiles writes the checkpoint's files into dir: the model, the
// optimizer moments, the trainer state and the extra files.
func (ck Checkpoint) writeFiles(dir, name string) error {
	if err := ck.Model.Save(dir, ck.DType); err != nil {
		return fmt.Errorf("rl: checkpoint %s: %w", name, err)
	}
	ck.hook("model.safetensors")
	if ck.Opt != nil {
		m, v, step := ck.Opt.State()
		n := len(m)
		err := weights.WriteFile(filepath.Join(dir, OptimizerFile), []weights.Tensor{
			{Name: "exp_avg", Shape: []int{n}, Data: m},
			{Name: "exp_avg_sq", Shape: []int{n}, Data: v},
		}, weights.F32, map[string]string{"format": "pt", "step": strconv.Itoa(step)})
		if err != nil {
			return fmt.Errorf("rl: checkpoint %s: %w", name, err)
		}
		ck.hook(OptimizerFile)
	}
	if ck.State != nil {
		js, err := json.MarshalIndent(ck.State, "", "  ")
		if err != nil {
			return fmt.Errorf("rl: checkpoint %s: encoding trainer state: %w", name, err)
		}
		if err := weights.WriteFileAtomic(filepath.Join(dir, StateFile), append(js, '\n'), 0o644); err != nil {
			return fmt.Errorf("rl: checkpoint %s: %w", name, err)
		}
		ck.hook(StateFile)
	}
	names := make([]string, 0, len(ck.Files))
	for f := range ck.Files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if err := weights.WriteFileAtomic(filepath.Join(dir, f), ck.Files[f], 0o644); err != nil {
			return fmt.Errorf("rl: checkpoint %s: %w", name, err)
		}
		ck.hook(f)
	}
	return nil
}

// installCheckpoint renames the complete temporary directory tmp to
// runDir/name and returns that path.
func installCheckpoint(runDir, tmp, name string) (string, error) {
	final := filepath.Join(runDir, name)
	if _, err := os.Stat(final); err == nil {
		// A checkpoint of the same name (a re-run of the same step after a
		// resume): move it aside, never delete it before the new one is in.
		if cur, _ := readLatest(runDir); cur == name {
			return "", fmt.Errorf("rl: checkpoint %s already exists and is the latest; not overwriting it", final)
		}
		if err := os.RemoveAll(final); err != nil {
			return "", fmt.Errorf("rl: checkpoint: removing stale %s: %w", final, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("rl: checkpoint: %w", err)
	}
	return final, nil
}

// readLatest returns the name in runDir/latest.
func readLatest(runDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(runDir, LatestFile))
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(b))
	if name == "" || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("rl: %s holds %q, not a checkpoint name", filepath.Join(runDir, LatestFile), name)
	}
	return name, nil
}

// LatestCheckpoint returns the directory of the newest complete checkpoint
// of a run directory.
func LatestCheckpoint(runDir string) (string, error) {
	name, err := readLatest(runDir)
	if err != nil {
		return "", fmt.Errorf("rl: %s has no complete checkpoint to resume from: %w", runDir, err)
	}
	dir := filepath.Join(runDir, name)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("rl: latest checkpoint %s is not complete: %w", dir, err)
	}
	return dir, nil
}

// prune removes checkpoint directories other than the newest keep ones (by
// modification order of their names' numeric suffix), never current.
func prune(runDir, current string, keep int) {
	entries, err := os.ReadDir(runDir)
	if err != nil {
		return
	}
	type ck struct {
		name string
		seq  int
	}
	var cks []ck
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "checkpoint-") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		cks = append(cks, ck{e.Name(), int(info.ModTime().UnixNano())})
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].seq > cks[j].seq })
	kept := 0
	for _, c := range cks {
		if c.name == current || kept < keep {
			kept++
			continue
		}
		os.RemoveAll(filepath.Join(runDir, c.name))
	}
}

// LoadOptimizer restores an optimizer's moments and step from a checkpoint
// directory.
func LoadOptimizer(dir string, opt *optim.AdamW) error {
	path := filepath.Join(dir, OptimizerFile)
	f, err := weights.Open(path)
	if err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	defer f.Close()
	m, _, err := f.Float32("exp_avg")
	if err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	v, _, err := f.Float32("exp_avg_sq")
	if err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	step, err := strconv.Atoi(f.Metadata()["step"])
	if err != nil {
		return fmt.Errorf("rl: %s: metadata \"step\" is missing or not a number", path)
	}
	if err := opt.Restore(m, v, step); err != nil {
		return fmt.Errorf("rl: %s: %w", path, err)
	}
	return nil
}

// LoadState reads a checkpoint's trainer_state.json into v.
func LoadState(dir string, v any) error {
	path := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("rl: %s: %w", path, err)
	}
	return nil
}
