package weights

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Tensor is a named float32 tensor to write.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// DefaultMaxShardBytes is the shard size transformers uses by default (5 GB).
const DefaultMaxShardBytes = 5_000_000_000

// Standard file names of a Hugging Face model directory.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
	ConfigFileName = "config.json"
)

// shardPattern matches the shard names WriteSharded produces.
var shardPattern = regexp.MustCompile(`^model-[0-9]{5}-of-[0-9]{5}\.safetensors$`)

// WriteFile writes tensors to a safetensors file at path, converting them to
// dtype (F32, BF16 or F16; BF16 and F16 round to nearest even). Tensors are
// stored in name order, contiguously; metadata goes in "__metadata__", which
// always has "format" (set to "pt" unless metadata gives it). The write is
// atomic: on any error the previous file at path, if any, is left intact.
func WriteFile(path string, tensors []Tensor, dtype DType, metadata map[string]string) error {
	if dtype != F32 && dtype != BF16 && dtype != F16 {
		return fmt.Errorf("weights: %s: cannot write dtype %q: use F32, BF16 or F16", path, dtype)
	}
	sorted, err := checkTensors(path, tensors)
	if err != nil {
		return err
	}
	js, err := buildHeader(sorted, dtype, metadata)
	if err != nil {
		return fmt.Errorf("weights: %s: %w", path, err)
	}
	return writeAtomic(path, 0o644, func(w io.Writer) error {
		var prefix [8]byte
		putUint64(prefix[:], uint64(len(js)))
		if _, err := w.Write(prefix[:]); err != nil {
			return err
		}
		if _, err := w.Write(js); err != nil {
			return err
		}
		return writeData(w, sorted, dtype)
	})
}

// putUint64 stores v little-endian in b[:8].
func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// checkTensors validates tensors for writing and returns them sorted by name.
func checkTensors(path string, tensors []Tensor) ([]Tensor, error) {
	sorted := append([]Tensor(nil), tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i, t := range sorted {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("weights: %s: a tensor has an empty name: give every tensor a name", path)
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("weights: %s: tensor %q: the name is not valid UTF-8, which a safetensors header cannot hold: rename the tensor", path, t.Name)
		case t.Name == "__metadata__":
			return nil, fmt.Errorf("weights: %s: tensor %q: the name is reserved for the header's metadata: rename the tensor", path, t.Name)
		case i > 0 && sorted[i-1].Name == t.Name:
			return nil, fmt.Errorf("weights: %s: tensor %q is given twice: names must be unique", path, t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("weights: %s: tensor %q: shape %v has a negative dimension", path, t.Name, t.Shape)
			}
			if d != 0 && n > len(t.Data)/d {
				n = -1 // more elements than the data holds; reported below
				break
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("weights: %s: tensor %q: shape %v does not match its %d values: fix the shape or the data", path, t.Name, t.Shape, len(t.Data))
		}
	}
	return sorted, nil
}

// buildHeader returns the JSON header for tensors (sorted by name) stored
// contiguously as dtype, padded with spaces to a multiple of 8 bytes.
func buildHeader(tensors []Tensor, dtype DType, metadata map[string]string) ([]byte, error) {
	meta := map[string]string{"format": "pt"}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("metadata %q: %q: not valid UTF-8, which a safetensors header cannot hold", k, v)
		}
		meta[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	str := func(s string) error {
		if err := enc.Encode(s); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode appends a newline
		return nil
	}
	buf.WriteString(`{"__metadata__":`)
	if err := enc.Encode(meta); err != nil {
		return nil, fmt.Errorf("encoding metadata: %w", err)
	}
	buf.Truncate(buf.Len() - 1)
	size := int64(dtype.Size())
	off := int64(0)
	for _, t := range tensors {
		buf.WriteByte(',')
		if err := str(t.Name); err != nil {
			return nil, fmt.Errorf("tensor %q: encoding name: %w", t.Name, err)
		}
		buf.WriteString(`:{"dtype":"`)
		buf.WriteString(string(dtype))
		buf.WriteString(`","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(d))
		}
		end := off + size*int64(len(t.Data))
		fmt.Fprintf(&buf, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	return buf.Bytes(), nil
}

// writeData writes the tensors' values as dtype, in order.
func writeData(w io.Writer, tensors []Tensor, dtype DType) error {
	const chunk = 1 << 14 // elements per conversion
	size := dtype.Size()
	buf := make([]byte, chunk*size)
	for _, t := range tensors {
		for i := 0; i < len(t.Data); i += chunk {
			part := t.Data[i:min(i+chunk, len(t.Data))]
			encodeFloat32(dtype, part, buf[:len(part)*size])
			if _, err := w.Write(buf[:len(part)*size]); err != nil {
				return fmt.Errorf("tensor %q: %w", t.Name, err)
			}
		}
	}
	return nil
}

// WriteFileAtomic writes data to path atomically: to a temporary file in the
// same directory, synced, renamed over path, and the directory synced. On
// error the previous file at path, if any, is left intact and the temporary
// file is removed. perm is applied as given (it is not masked by the umask).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic writes path with write, which streams the contents to w,
// atomically as WriteFileAtomic does: if write or any step fails, the
// previous file at path, if any, is left intact.
func WriteAtomic(path string, perm os.FileMode, write func(w io.Writer) error) error {
	return writeAtomic(path, perm, write)
}

// writeAtomic writes path with write, atomically (see WriteFileAtomic).
func writeAtomic(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("weights: %s: creating temporary file: %w (check that the directory exists and is writable)", path, err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmpName)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(bw); err != nil {
		return fmt.Errorf("weights: %s: writing: %w (the previous file, if any, is unchanged)", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("weights: %s: writing: %w (is the disk full? the previous file, if any, is unchanged)", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("weights: %s: setting permissions: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("weights: %s: syncing: %w (the previous file, if any, is unchanged)", path, err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("weights: %s: closing: %w (the previous file, if any, is unchanged)", path, err)
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("weights: %s: renaming temporary file into place: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability across a crash is in
		// doubt, so report without removing anything.
		return fmt.Errorf("weights: %s: syncing directory %s: %w", path, dir, err)
	}
	return nil
}

// shardName returns the name of shard i (0-based) of n.
func shardName(i, n int) string {
	return fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)
}

// indexFile is the JSON layout of model.safetensors.index.json.
type indexFile struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// WriteSharded writes tensors into dir as a Hugging Face checkpoint: a single
// model.safetensors if their data fits in maxShardBytes, else shards
// model-00001-of-0000N.safetensors, each holding at most maxShardBytes of
// tensor data (a larger tensor gets a shard of its own), plus
// model.safetensors.index.json. Tensors go to shards in name order. dir is
// created if needed. Once the new files are in place, weight files of an
// earlier write that the new layout does not use (a stale model.safetensors,
// index or shard) are removed, so OpenDir sees only the new checkpoint.
func WriteSharded(dir string, tensors []Tensor, dtype DType, maxShardBytes int64) error {
	if maxShardBytes <= 0 {
		return fmt.Errorf("weights: %s: maxShardBytes is %d: give a positive shard size (DefaultMaxShardBytes is transformers' default)", dir, maxShardBytes)
	}
	if dtype != F32 && dtype != BF16 && dtype != F16 {
		return fmt.Errorf("weights: %s: cannot write dtype %q: use F32, BF16 or F16", dir, dtype)
	}
	sorted, err := checkTensors(dir, tensors)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	size := int64(dtype.Size())
	var shards [][]Tensor
	var cur []Tensor
	var curBytes, total int64
	for _, t := range sorted {
		b := size * int64(len(t.Data))
		total += b
		if len(cur) > 0 && curBytes+b > maxShardBytes {
			shards = append(shards, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, t)
		curBytes += b
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}

	keep := map[string]bool{}
	if len(shards) == 1 {
		if err := WriteFile(filepath.Join(dir, SingleFileName), sorted, dtype, nil); err != nil {
			return err
		}
		keep[SingleFileName] = true
	} else {
		idx := indexFile{Metadata: map[string]any{"total_size": total}, WeightMap: map[string]string{}}
		for i, sh := range shards {
			name := shardName(i, len(shards))
			if err := WriteFile(filepath.Join(dir, name), sh, dtype, nil); err != nil {
				return err
			}
			keep[name] = true
			for _, t := range sh {
				idx.WeightMap[t.Name] = name
			}
		}
		js, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			return fmt.Errorf("weights: %s: encoding index: %w", dir, err)
		}
		if err := WriteFileAtomic(filepath.Join(dir, IndexFileName), append(js, '\n'), 0o644); err != nil {
			return err
		}
		keep[IndexFileName] = true
	}
	return removeStale(dir, keep)
}

// removeStale removes weight files in dir that are not in keep.
func removeStale(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("weights: %s: listing to remove stale weight files: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		stale := name == SingleFileName || name == IndexFileName || shardPattern.MatchString(name)
		if !stale || keep[name] || e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("weights: %s: removing stale weight file %s: %w (remove it by hand: OpenDir would read it)", dir, name, err)
		}
	}
	return nil
}
