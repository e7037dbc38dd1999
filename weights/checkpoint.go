package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Checkpoint is the weights of a Hugging Face model directory: either one
// model.safetensors, or the shards listed by model.safetensors.index.json.
// Like transformers, it prefers model.safetensors when both exist.
type Checkpoint struct {
	dir    string
	files  []*File
	byName map[string]*File
	names  []string
}

// OpenDir opens the checkpoint in dir and validates every file's header. For
// a sharded checkpoint, every tensor the index lists must be in the shard it
// names; tensors a shard holds but the index does not list are ignored, as
// transformers does.
func OpenDir(dir string) (*Checkpoint, error) {
	single := filepath.Join(dir, SingleFileName)
	if st, err := os.Stat(single); err == nil && st.IsDir() {
		return nil, fmt.Errorf("weights: %s: is a directory, not a safetensors file: put the model's weights file there", single)
	} else if err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		c := &Checkpoint{dir: dir, files: []*File{f}, byName: map[string]*File{}, names: f.Names()}
		for _, n := range c.names {
			c.byName[n] = f
		}
		return c, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("weights: %w", err)
	}
	indexPath := filepath.Join(dir, IndexFileName)
	js, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
			return nil, fmt.Errorf("weights: %s: not a directory: give the model directory holding %s or %s", dir, SingleFileName, IndexFileName)
		}
		return nil, fmt.Errorf("weights: %s: neither %s nor %s is there: give a Hugging Face model directory (frontier reads safetensors weights only)", dir, SingleFileName, IndexFileName)
	}
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(js, &idx); err != nil {
		return nil, fmt.Errorf("weights: %s: not a valid index (%v): it should be {\"metadata\": {...}, \"weight_map\": {tensor: file}}", indexPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("weights: %s: weight_map is missing or empty: the index lists no tensors", indexPath)
	}
	c := &Checkpoint{dir: dir, byName: map[string]*File{}}
	shards := map[string]*File{}
	names := make([]string, 0, len(idx.WeightMap))
	for name := range idx.WeightMap {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		shard := idx.WeightMap[name]
		if shard == "" || shard != filepath.Base(shard) || strings.ContainsAny(shard, `/\`) || shard == "." || shard == ".." {
			c.Close()
			return nil, fmt.Errorf("weights: %s: tensor %q: shard name %q is not a plain file name in the model directory", indexPath, name, shard)
		}
		f, ok := shards[shard]
		if !ok {
			var err error
			f, err = Open(filepath.Join(dir, shard))
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("%w (listed in %s)", err, indexPath)
			}
			shards[shard] = f
			c.files = append(c.files, f)
		}
		if _, ok := f.Info(name); !ok {
			c.Close()
			return nil, fmt.Errorf("weights: %s: tensor %q: the index puts it in %s, which does not hold it: the checkpoint is incomplete or its index is stale", indexPath, name, shard)
		}
		c.byName[name] = f
	}
	c.names = names
	return c, nil
}

// Close closes every file of the checkpoint.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Dir returns the directory the checkpoint was opened from.
func (c *Checkpoint) Dir() string { return c.dir }

// Files returns the paths of the checkpoint's safetensors files.
func (c *Checkpoint) Files() []string {
	paths := make([]string, len(c.files))
	for i, f := range c.files {
		paths[i] = f.Path()
	}
	return paths
}

// Names returns every tensor name in sorted order. The slice is a copy.
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Info returns the description of the named tensor; Begin and End are
// relative to the data section of the file that holds it.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	f, ok := c.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// file returns the file holding the named tensor, or an error naming dir.
func (c *Checkpoint) file(name string) (*File, error) {
	f, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("weights: %s: no tensor %q in the checkpoint (it has %d tensors; check the name against Names)", c.dir, name, len(c.names))
	}
	return f, nil
}

// ReadFloat32 decodes the named tensor into dst (see File.ReadFloat32).
// Model weights must be finite: a NaN or an infinity is an error naming
// the file, the tensor and the element's flat index.
func (c *Checkpoint) ReadFloat32(name string, dst []float32) error {
	f, err := c.file(name)
	if err != nil {
		return err
	}
	if err := f.ReadFloat32(name, dst); err != nil {
		return err
	}
	return checkFinite(f.Path(), name, dst)
}

// Float32 decodes the named tensor into a new slice (see File.Float32); as
// with ReadFloat32, a NaN or an infinity is an error.
func (c *Checkpoint) Float32(name string) ([]float32, []int, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, nil, err
	}
	v, shape, err := f.Float32(name)
	if err != nil {
		return nil, nil, err
	}
	if err := checkFinite(f.Path(), name, v); err != nil {
		return nil, nil, err
	}
	return v, shape, nil
}

// Ints decodes the named integer tensor (see File.Ints).
func (c *Checkpoint) Ints(name string) ([]int64, []int, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Ints(name)
}
