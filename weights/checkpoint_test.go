package weights

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestShardedRoundTrip writes tensors over several shards and reads them
// back through the index.
func TestShardedRoundTrip(t *testing.T) {
	tensors := testTensors()
	tests := []struct {
		name       string
		dtype      DType
		maxShard   int64
		wantShards int
	}{
		{"one file", F32, DefaultMaxShardBytes, 1},
		{"F32 shards", F32, 100, 4},
		{"BF16 shards", BF16, 64, 4},
		{"one tensor per shard", F32, 1, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt") // created by WriteSharded
			if err := WriteSharded(dir, tensors, tc.dtype, tc.maxShard); err != nil {
				t.Fatal(err)
			}
			c, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := len(c.Files()); got != tc.wantShards {
				t.Errorf("%d files %q, want %d", got, c.Files(), tc.wantShards)
			}
			got := readAll(t, c.Names(), unchecked(c), tensors)
			for _, w := range tensors {
				for i, x := range w.Data {
					want := x
					if tc.dtype == BF16 {
						want = refBF16(x)
					}
					if g := got[w.Name][i]; g != want && (g == g || want == want) {
						t.Errorf("%s[%d]: got %v, want %v", w.Name, i, g, want)
					}
				}
				dst := make([]float32, len(w.Data))
				err := c.ReadFloat32(w.Name, dst)
				if finite := checkFinite("", w.Name, w.Data) == nil; finite != (err == nil) {
					t.Errorf("%s: ReadFloat32 error %v, but finite data is %v", w.Name, err, finite)
				}
				if info, ok := c.Info(w.Name); !ok || info.DType != tc.dtype {
					t.Errorf("%s: info %+v, %v", w.Name, info, ok)
				}
			}
			if tc.wantShards == 1 {
				if names := dirEntries(t, dir); !slices.Equal(names, []string{SingleFileName}) {
					t.Errorf("directory holds %q, want only %s", names, SingleFileName)
				}
				return
			}
			var idx struct {
				Metadata  map[string]float64 `json:"metadata"`
				WeightMap map[string]string  `json:"weight_map"`
			}
			b, err := os.ReadFile(filepath.Join(dir, IndexFileName))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &idx); err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, w := range tensors {
				total += len(w.Data) * tc.dtype.Size()
				if shard := idx.WeightMap[w.Name]; !strings.HasSuffix(shard, fmt.Sprintf("-of-%05d.safetensors", tc.wantShards)) {
					t.Errorf("%s is in %q", w.Name, shard)
				}
			}
			if idx.Metadata["total_size"] != float64(total) {
				t.Errorf("total_size %v, want %d", idx.Metadata["total_size"], total)
			}
			for _, p := range c.Files() {
				sz := int64(0)
				f, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range f.Names() {
					info, _ := f.Info(n)
					sz += info.NumBytes()
				}
				f.Close()
				if len(f.Names()) > 1 && sz > tc.maxShard {
					t.Errorf("%s holds %d bytes of data, over the %d limit", p, sz, tc.maxShard)
				}
			}
			if _, _, err := c.Float32("missing"); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), `"missing"`) {
				t.Errorf("reading a missing tensor: %v", err)
			}
		})
	}
}

// TestShardedReplacesStale checks that rewriting a checkpoint with another
// layout removes the old layout's weight files and keeps other files.
func TestShardedReplacesStale(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tensors := testTensors()
	shards := func(n int) []string {
		names := []string{"config.json"}
		for i := range n {
			names = append(names, shardName(i, n))
		}
		return append(names, IndexFileName)
	}
	steps := []struct {
		maxShard int64
		want     []string
	}{
		{100, shards(4)},
		{300, shards(3)},
		{DefaultMaxShardBytes, []string{"config.json", SingleFileName}},
		{100, shards(4)},
	}
	for i, s := range steps {
		if err := WriteSharded(dir, tensors, F32, s.maxShard); err != nil {
			t.Fatal(err)
		}
		if names := dirEntries(t, dir); !slices.Equal(names, s.want) {
			t.Errorf("step %d: directory holds %q, want %q", i, names, s.want)
		}
		c, err := OpenDir(dir)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		readAll(t, c.Names(), unchecked(c), tensors)
		c.Close()
	}
	if err := WriteSharded(dir, tensors, F32, 0); err == nil || !strings.Contains(err.Error(), "maxShardBytes") {
		t.Errorf("shard size 0: %v", err)
	}
}

// TestOpenDirRejects checks the errors for broken checkpoint directories:
// each names the index or file and, where one is at fault, the tensor.
func TestOpenDirRejects(t *testing.T) {
	shard := rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"empty directory", nil, []string{"neither", SingleFileName, IndexFileName}},
		{"index not JSON", map[string]string{IndexFileName: `{"weight_map":`}, []string{IndexFileName, "not a valid index"}},
		{"index weight_map wrong type", map[string]string{IndexFileName: `{"weight_map":["a"]}`}, []string{IndexFileName, "not a valid index"}},
		{"index without weight_map", map[string]string{IndexFileName: `{"metadata":{}}`}, []string{IndexFileName, "weight_map is missing or empty"}},
		{"missing shard", map[string]string{IndexFileName: `{"weight_map":{"a":"s1.safetensors"}}`}, []string{"s1.safetensors", IndexFileName, "no such file"}},
		{"tensor not in its shard", map[string]string{IndexFileName: `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`, "s1.safetensors": string(shard)}, []string{IndexFileName, `tensor "b"`, "s1.safetensors", "does not hold it"}},
		{"shard outside the directory", map[string]string{IndexFileName: `{"weight_map":{"a":"../s1.safetensors"}}`}, []string{IndexFileName, `tensor "a"`, "plain file name"}},
		{"shard in a subdirectory", map[string]string{IndexFileName: `{"weight_map":{"a":"sub/s1.safetensors"}}`}, []string{IndexFileName, `tensor "a"`, "plain file name"}},
		{"empty shard name", map[string]string{IndexFileName: `{"weight_map":{"a":""}}`}, []string{IndexFileName, `tensor "a"`}},
		{"broken shard", map[string]string{IndexFileName: `{"weight_map":{"a":"s1.safetensors"}}`, "s1.safetensors": "\x02\x00\x00\x00\x00\x00\x00\x00[]"}, []string{"s1.safetensors", "not a JSON object", IndexFileName}},
		{"broken single file", map[string]string{SingleFileName: "short"}, []string{SingleFileName, "5 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := OpenDir(dir)
			if err == nil {
				c.Close()
			}
			wantErr(t, err, tc.want...)
		})
	}
	t.Run("not a directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nothing")
		_, err := OpenDir(missing)
		wantErr(t, err, missing, "not a directory")
	})
}

// TestOpenDirPrefersSingleFile checks that model.safetensors wins over an
// index, as in transformers.
func TestOpenDirPrefersSingleFile(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, SingleFileName), []Tensor{{Name: "single", Shape: []int{1}, Data: []float32{1}}}, F32, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), []byte(`{"weight_map":{"x":"missing.safetensors"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Names(); !slices.Equal(got, []string{"single"}) {
		t.Errorf("names %q, want [single]", got)
	}
}

// TestFixtureCheckpoints opens the golden fixtures: the tensor names and
// shapes Qwen3 has, the dtype of each folder, the BF16 folders equal to the
// bfloat16 rounding of the F32 ones, and the integer ids of
// expected.safetensors.
func TestFixtureCheckpoints(t *testing.T) {
	values := map[string]map[string][]float32{}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(fixtureDir, name)
			cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h, q, kv, hd, in := cfg.HiddenSize, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.IntermediateSize
			want := map[string][]int{
				"model.embed_tokens.weight": {cfg.VocabSize, h},
				"model.norm.weight":         {h},
			}
			if !cfg.TieWordEmbeddings {
				want["lm_head.weight"] = []int{cfg.VocabSize, h}
			}
			for l := range cfg.NumHiddenLayers {
				p := fmt.Sprintf("model.layers.%d.", l)
				want[p+"input_layernorm.weight"] = []int{h}
				want[p+"post_attention_layernorm.weight"] = []int{h}
				want[p+"self_attn.q_proj.weight"] = []int{q * hd, h}
				want[p+"self_attn.k_proj.weight"] = []int{kv * hd, h}
				want[p+"self_attn.v_proj.weight"] = []int{kv * hd, h}
				want[p+"self_attn.o_proj.weight"] = []int{h, q * hd}
				want[p+"self_attn.q_norm.weight"] = []int{hd}
				want[p+"self_attn.k_norm.weight"] = []int{hd}
				want[p+"mlp.gate_proj.weight"] = []int{in, h}
				want[p+"mlp.up_proj.weight"] = []int{in, h}
				want[p+"mlp.down_proj.weight"] = []int{h, in}
			}
			if len(c.Names()) != len(want) {
				t.Errorf("%d tensors, want %d", len(c.Names()), len(want))
			}
			wantDType := F32
			if strings.HasSuffix(name, "-bf16") {
				wantDType = BF16
			}
			values[name] = map[string][]float32{}
			for n, shape := range want {
				info, ok := c.Info(n)
				if !ok {
					t.Errorf("no tensor %s", n)
					continue
				}
				if !slices.Equal(info.Shape, shape) || info.DType != wantDType {
					t.Errorf("%s: %s %v, want %s %v", n, info.DType, info.Shape, wantDType, shape)
				}
				v, _, err := c.Float32(n)
				if err != nil {
					t.Fatal(err)
				}
				values[name][n] = v
			}

			exp, err := Open(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Close()
			ids, shape, err := exp.Ints("input_ids")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, []int{2, 7}) {
				t.Errorf("input_ids shape %v, want [2 7]", shape)
			}
			for _, id := range ids {
				if id < 0 || id >= int64(cfg.VocabSize) {
					t.Errorf("input id %d outside the vocabulary of %d", id, cfg.VocabSize)
				}
			}
		})
	}
	for _, base := range []string{"tied", "untied"} {
		for n, f32 := range values[base] {
			bf := values[base+"-bf16"][n]
			for i := range f32 {
				if bf[i] != BF16Round(f32[i]) {
					t.Fatalf("%s-bf16 %s[%d] = %v, want BF16Round(%v) = %v", base, n, i, bf[i], f32[i], BF16Round(f32[i]))
				}
			}
		}
	}
}

// unchecked reads a checkpoint tensor from the file holding it, without the
// finiteness check of Checkpoint.Float32, so that special values can be
// compared.
func unchecked(c *Checkpoint) func(string) ([]float32, []int, error) {
	return func(name string) ([]float32, []int, error) {
		f, err := c.file(name)
		if err != nil {
			return nil, nil, err
		}
		return f.Float32(name)
	}
}
