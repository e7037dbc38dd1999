package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testTensors returns tensors of several shapes filled with random values
// and the special values a writer must keep: signed zeros, infinities,
// subnormals, NaNs with payloads and bfloat16 rounding ties.
func testTensors() []Tensor {
	rng := rand.New(rand.NewPCG(7, 8))
	special := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1,
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc12345), math.Float32frombits(0x7f800001),
		math.Float32frombits(0x00000001), math.Float32frombits(0x007fffff), math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32,
		1 + 1.0/256, 1 + 3.0/256, math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000),
	}
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	bits := make([]float32, 64)
	for i := range bits {
		bits[i] = math.Float32frombits(rng.Uint32())
	}
	return []Tensor{
		{Name: "model.layers.0.mlp.up_proj.weight", Shape: []int{6, 5}, Data: rnd(30)},
		{Name: "model.embed_tokens.weight", Shape: []int{7, 3}, Data: rnd(21)},
		{Name: "special", Shape: []int{len(special)}, Data: special},
		{Name: "random_bits", Shape: []int{8, 8}, Data: bits},
		{Name: "scalar", Shape: []int{}, Data: []float32{3.25}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
		{Name: "ünïcode \"quoted\" <name>", Shape: []int{2}, Data: []float32{1.5, -2.5}},
	}
}

// readAll reads every tensor of f into a map, checking the shapes against
// want.
func readAll(t *testing.T, names []string, read func(string) ([]float32, []int, error), want []Tensor) map[string][]float32 {
	t.Helper()
	var wantNames []string
	for _, w := range want {
		wantNames = append(wantNames, w.Name)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Fatalf("names %q, want %q", names, wantNames)
	}
	got := map[string][]float32{}
	for _, w := range want {
		v, shape, err := read(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(shape, w.Shape) && !(len(shape) == 0 && len(w.Shape) == 0) {
			t.Errorf("%s: shape %v, want %v", w.Name, shape, w.Shape)
		}
		got[w.Name] = v
	}
	return got
}

// TestRoundTrip writes tensors as F32, BF16 and F16 and reads them back:
// F32 is bit-exact (NaN payloads included), BF16 and F16 equal the
// round-to-nearest-even of the input.
func TestRoundTrip(t *testing.T) {
	tensors := testTensors()
	tests := []struct {
		dtype DType
		want  func(float32) float32
	}{
		{F32, func(x float32) float32 { return x }},
		{BF16, refBF16},
		{F16, func(x float32) float32 { return f16ToF32(f16Bits(x)) }},
	}
	for _, tc := range tests {
		t.Run(string(tc.dtype), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := WriteFile(path, tensors, tc.dtype, nil); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := readAll(t, f.Names(), f.Float32, tensors)
			for _, w := range tensors {
				info, _ := f.Info(w.Name)
				if info.DType != tc.dtype {
					t.Errorf("%s: dtype %s, want %s", w.Name, info.DType, tc.dtype)
				}
				for i, x := range w.Data {
					g, want := got[w.Name][i], tc.want(x)
					if want != want {
						if g == g {
							t.Errorf("%s[%d]: %v read back as %v, want NaN", w.Name, i, x, g)
						}
						if tc.dtype == F32 && math.Float32bits(g) != math.Float32bits(x) {
							t.Errorf("%s[%d]: NaN 0x%08x read back as 0x%08x", w.Name, i, math.Float32bits(x), math.Float32bits(g))
						}
						continue
					}
					if math.Float32bits(g) != math.Float32bits(want) {
						t.Errorf("%s[%d]: %v (0x%08x) read back as %v (0x%08x), want %v", w.Name, i, x, math.Float32bits(x), g, math.Float32bits(g), want)
					}
				}
			}
			if tc.dtype == F16 {
				// Spot-check F16 against the definition, independently of
				// the encoder: 1.5 and -2.5 are exact halves.
				if v := got["ünïcode \"quoted\" <name>"]; v[0] != 1.5 || v[1] != -2.5 {
					t.Errorf("F16 values %v, want [1.5 -2.5]", v)
				}
			}
		})
	}
}

// TestWriteLayout checks the bytes of a written file: an 8-byte aligned
// header padded with spaces, tensors in name order and contiguous, and
// __metadata__ kept with "format" defaulting to "pt".
func TestWriteLayout(t *testing.T) {
	tests := []struct {
		name     string
		metadata map[string]string
		want     map[string]string
	}{
		{"no metadata", nil, map[string]string{"format": "pt"}},
		{"extra keys", map[string]string{"step": "7", "note": "a \"quoted\" <value> é"}, map[string]string{"format": "pt", "step": "7", "note": "a \"quoted\" <value> é"}},
		{"format given", map[string]string{"format": "np"}, map[string]string{"format": "np"}},
	}
	for _, tc := range tests {
		// Names of every length from 1 to 9 move the header through all
		// eight residues mod 8.
		for nameLen := 1; nameLen <= 9; nameLen++ {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			tensors := []Tensor{
				{Name: "b", Shape: []int{3}, Data: []float32{1, 2, 3}},
				{Name: strings.Repeat("a", nameLen), Shape: []int{1, 2}, Data: []float32{4, 5}},
			}
			if err := WriteFile(path, tensors, BF16, tc.metadata); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			n := binary.LittleEndian.Uint64(b)
			if n%8 != 0 {
				t.Errorf("%s, name length %d: header length %d is not a multiple of 8", tc.name, nameLen, n)
			}
			js := b[8 : 8+n]
			if trimmed := bytes.TrimRight(js, " "); len(js)-len(trimmed) >= 8 || trimmed[len(trimmed)-1] != '}' {
				t.Errorf("%s: header %q is not a JSON object padded with fewer than 8 spaces", tc.name, js)
			}
			if int(8+n)+2*5 != len(b) {
				t.Errorf("%s: file is %d bytes, want %d (header then 5 BF16 values)", tc.name, len(b), 8+n+10)
			}
			var hdr map[string]json.RawMessage
			if err := json.Unmarshal(js, &hdr); err != nil {
				t.Fatalf("%s: header is not JSON: %v", tc.name, err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Metadata(); !mapsEqual(got, tc.want) {
				t.Errorf("%s: metadata %v, want %v", tc.name, got, tc.want)
			}
			a, _ := f.Info(strings.Repeat("a", nameLen))
			bi, _ := f.Info("b")
			if a.Begin != 0 || a.End != 4 || bi.Begin != 4 || bi.End != 10 {
				t.Errorf("%s: offsets a [%d, %d], b [%d, %d]; want name order, contiguous: [0, 4], [4, 10]", tc.name, a.Begin, a.End, bi.Begin, bi.End)
			}
			f.Close()
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestWriteRejects checks that bad tensors or arguments give errors naming
// the file and the tensor, and write nothing.
func TestWriteRejects(t *testing.T) {
	ok := Tensor{Name: "ok", Shape: []int{2}, Data: []float32{1, 2}}
	tests := []struct {
		name    string
		tensors []Tensor
		dtype   DType
		want    []string
	}{
		{"data longer than the shape", []Tensor{ok, {Name: "w", Shape: []int{2, 2}, Data: make([]float32, 5)}}, F32, []string{`tensor "w"`, "[2 2]", "5 values"}},
		{"data shorter than the shape", []Tensor{{Name: "w", Shape: []int{3}, Data: make([]float32, 2)}}, BF16, []string{`tensor "w"`, "2 values"}},
		{"shape overflowing", []Tensor{{Name: "w", Shape: []int{1 << 40, 1 << 40}, Data: make([]float32, 1)}}, F32, []string{`tensor "w"`}},
		{"negative dimension", []Tensor{{Name: "w", Shape: []int{-2, -1}, Data: make([]float32, 2)}}, F32, []string{`tensor "w"`, "negative"}},
		{"empty name", []Tensor{{Name: "", Shape: []int{1}, Data: []float32{1}}}, F32, []string{"empty name"}},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, F32, []string{`tensor "__metadata__"`, "reserved"}},
		{"name not UTF-8", []Tensor{{Name: "w\xff", Shape: []int{1}, Data: []float32{1}}}, F32, []string{`tensor "w\xff"`, "UTF-8"}},
		{"duplicate name", []Tensor{ok, ok}, F32, []string{`tensor "ok"`, "twice"}},
		{"unwritable dtype", []Tensor{ok}, I32, []string{`"I32"`, "F32, BF16 or F16"}},
		{"unknown dtype", []Tensor{ok}, DType("F7"), []string{`"F7"`}},
	}
	t.Run("metadata not UTF-8", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "m.safetensors")
		wantErr(t, WriteFile(path, []Tensor{ok}, F32, map[string]string{"note": "\xff"}), path, "metadata", "UTF-8")
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Errorf("a failed write left %q", names)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "m.safetensors")
			err := WriteFile(path, tc.tensors, tc.dtype, nil)
			wantErr(t, err, append([]string{path}, tc.want...)...)
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Errorf("a failed write left %q", names)
			}
			err = WriteSharded(dir, tc.tensors, tc.dtype, 8)
			wantErr(t, err, append([]string{dir}, tc.want...)...)
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Errorf("a failed sharded write left %q", names)
			}
		})
	}
}

// TestAtomicWrite checks that a write that fails, early or half-way, leaves
// the existing file byte for byte as it was and no temporary file behind.
func TestAtomicWrite(t *testing.T) {
	old := []Tensor{{Name: "w", Shape: []int{2}, Data: []float32{1, 2}}}
	good := []Tensor{{Name: "w", Shape: []int{3}, Data: []float32{4, 5, 6}}}
	tests := []struct {
		name  string
		write func(path string) error
		want  []string
	}{
		{"data length wrong", func(path string) error {
			return WriteFile(path, []Tensor{{Name: "w", Shape: []int{4}, Data: []float32{1}}}, F32, nil)
		}, []string{`tensor "w"`}},
		{"failure half-way through the data", func(path string) error {
			return writeAtomic(path, 0o644, func(w io.Writer) error {
				if _, err := w.Write(bytes.Repeat([]byte{0xaa}, 3<<20)); err != nil {
					return err
				}
				return errors.New("disk on fire")
			})
		}, []string{"disk on fire", "unchanged"}},
		{"rename onto a directory", func(path string) error {
			return WriteFile(filepath.Join(filepath.Dir(path), "sub"), good, F32, nil)
		}, []string{"renaming"}},
		{"missing directory", func(path string) error {
			return WriteFile(filepath.Join(filepath.Dir(path), "nodir", "m.safetensors"), good, F32, nil)
		}, []string{"nodir", "temporary file"}},
		{"path is a file's child", func(path string) error {
			return WriteFile(filepath.Join(path, "m.safetensors"), good, F32, nil)
		}, []string{"temporary file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.safetensors")
			if err := WriteFile(path, old, F32, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", "keep"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, tc.write(path), tc.want...)
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the existing file changed (%v)", err)
			}
			if names := dirEntries(t, dir); !slices.Equal(names, []string{"model.safetensors", "sub"}) {
				t.Errorf("directory holds %q after the failed write, want only model.safetensors and sub", names)
			}
			if names := dirEntries(t, filepath.Join(dir, "sub")); !slices.Equal(names, []string{"keep"}) {
				t.Errorf("sub holds %q, want only keep", names)
			}
		})
	}

	// A successful write replaces the file and leaves nothing else.
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	for _, ts := range [][]Tensor{old, good} {
		if err := WriteFile(path, ts, F32, nil); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _, err := f.Float32("w"); err != nil || !slices.Equal(v, good[0].Data) {
		t.Errorf("after replacing: %v, %v; want %v", v, err, good[0].Data)
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("directory holds %q, want only model.safetensors", names)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode(), err)
	}
}

// TestWriteFileAtomic checks the plain-bytes atomic writer.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")
	for _, s := range []string{"first", "second"} {
		if err := WriteFileAtomic(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != s {
			t.Errorf("read %q, %v; want %q", b, err, s)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode())
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"x.json"}) {
		t.Errorf("directory holds %q", names)
	}
}

// TestBF16MatchesPyTorch writes the F32 fixtures as BF16 and compares the
// tensor bytes with the BF16 fixtures, which PyTorch rounded.
func TestBF16MatchesPyTorch(t *testing.T) {
	for _, name := range []string{"tied", "untied"} {
		t.Run(name, func(t *testing.T) {
			f32, err := OpenDir(filepath.Join(fixtureDir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f32.Close()
			bf16, err := Open(filepath.Join(fixtureDir, name+"-bf16", SingleFileName))
			if err != nil {
				t.Fatal(err)
			}
			defer bf16.Close()
			var tensors []Tensor
			for _, n := range f32.Names() {
				v, shape, err := f32.Float32(n)
				if err != nil {
					t.Fatal(err)
				}
				tensors = append(tensors, Tensor{Name: n, Shape: shape, Data: v})
			}
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := WriteFile(path, tensors, BF16, nil); err != nil {
				t.Fatal(err)
			}
			ours, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ours.Close()
			if !slices.Equal(ours.Names(), bf16.Names()) {
				t.Fatalf("names %q, want %q", ours.Names(), bf16.Names())
			}
			for _, n := range bf16.Names() {
				want, err := bf16.Raw(n)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ours.Raw(n)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: our BF16 bytes differ from PyTorch's", n)
				}
			}
		})
	}
}
