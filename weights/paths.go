package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// modelDirFiles are the files of a Hugging Face model directory that
// frontier's commands read, besides the shards an index lists.
var modelDirFiles = []string{
	ConfigFileName, SingleFileName, IndexFileName, GenerationConfigFileName,
	"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
}

// ModelInputs returns the existing files of model directory dir that
// loading the model and its tokenizer reads: config.json, the weights
// (model.safetensors, or the index and the shards it lists),
// generation_config.json and the tokenizer files. It reads only the index;
// a missing or malformed index adds no shards (loading reports it).
func ModelInputs(dir string) []string {
	var out []string
	for _, name := range modelDirFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, IndexFileName))
	if err != nil {
		return out
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if json.Unmarshal(js, &idx) != nil {
		return out
	}
	seen := map[string]bool{}
	var shards []string
	for _, shard := range idx.WeightMap {
		if !seen[shard] && shard == filepath.Base(shard) {
			seen[shard] = true
			shards = append(shards, filepath.Join(dir, shard))
		}
	}
	sort.Strings(shards)
	return append(out, shards...)
}

// CheckOutput validates out, the path a command will write, before any
// work: it must not be a directory, its directory must exist, and it must
// not be any of inputs (the same file by path, symbolic or hard link), so
// that a command never overwrites what it reads. flag names the option
// that gave out (e.g. "-logits") in errors.
func CheckOutput(flag, out string, inputs ...string) error {
	if out == "" {
		return fmt.Errorf("%s: the output path is empty: give a file name", flag)
	}
	st, err := os.Stat(out)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s %s: is a directory: give a file name to write", flag, out)
	case err == nil:
		for _, in := range inputs {
			ist, ierr := os.Stat(in)
			if ierr == nil && os.SameFile(st, ist) {
				return fmt.Errorf("%s %s: this is an input of the same command (%s): writing it would destroy it; choose another output path", flag, out, in)
			}
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: cannot check the output path: %v", flag, out, err)
	}
	parent := filepath.Dir(out)
	if pst, err := os.Stat(parent); err != nil || !pst.IsDir() {
		return fmt.Errorf("%s %s: directory %s does not exist: create it first or choose another path", flag, out, parent)
	}
	return nil
}
