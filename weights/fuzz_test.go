package weights

import (
	"strings"
	"testing"
)

// FuzzParseHeader feeds arbitrary JSON headers, over a zeroed data section
// of arbitrary size, to the safetensors parser, and the same bytes as a
// whole file. Neither may panic; every error must name the source; a header
// that is accepted must describe tensors that lie inside the data section,
// do not overlap and have exactly dtype size x shape product bytes, and
// every tensor of a decodable dtype must read back without error.
func FuzzParseHeader(f *testing.F) {
	seeds := []string{
		`{}`,
		`{"__metadata__":{"format":"pt"}}`,
		`{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`,
		`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}}`,
		`{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"z":{"dtype":"I64","shape":[0,5],"data_offsets":[8,8]}}`,
		`{"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"U8","shape":[4],"data_offsets":[8,12]},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[12,13]}}`,
		`{"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]},"u":{"dtype":"U64","shape":[1],"data_offsets":[8,16]}}`,
		`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`,
		`{"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}}`,
		`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,16]}}`,
		`{"w":{"dtype":"XX","shape":[1],"data_offsets":[0,4]}}`,
		`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`,
		`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`,
		`{"__metadata__":{"n":1}}`,
		`[1,2]`,
		`{"w":`,
		"{\"\xff\":1}",
		`{}        `,
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint16(16))
	}
	f.Add([]byte{}, uint16(0))
	f.Add(rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), uint16(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'}, uint16(3))

	const source = "fuzz.safetensors"
	f.Fuzz(func(t *testing.T, js []byte, dataLen uint16) {
		// The bytes as a whole file: only the error contract is checked.
		if _, _, err := parseBytes(js, source); err != nil && !strings.Contains(err.Error(), source) {
			t.Fatalf("whole-file error does not name the file: %v", err)
		}

		file := rawFile(string(js), make([]byte, dataLen))
		h, start, err := parseBytes(file, source)
		if err != nil {
			if !strings.Contains(err.Error(), source) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if start != int64(8+len(js)) {
			t.Fatalf("data section starts at %d, want %d", start, 8+len(js))
		}
		if len(h.names) != len(h.tensors) {
			t.Fatalf("%d names for %d tensors", len(h.names), len(h.tensors))
		}
		dataSize := int64(dataLen)
		for i, name := range h.names {
			ti := h.tensors[name]
			if i > 0 && h.names[i-1] >= name {
				t.Fatalf("names not sorted: %q then %q", h.names[i-1], name)
			}
			if ti.Begin < 0 || ti.Begin > ti.End || ti.End > dataSize {
				t.Fatalf("tensor %q: range [%d, %d] outside the %d-byte data section", name, ti.Begin, ti.End, dataSize)
			}
			size := int64(ti.DType.Size())
			if size == 0 {
				t.Fatalf("tensor %q: accepted unknown dtype %q", name, ti.DType)
			}
			if n := int64(ti.NumElements()); n < 0 || n*size != ti.NumBytes() {
				t.Fatalf("tensor %q: %d elements of %d bytes but %d bytes of data", name, n, size, ti.NumBytes())
			}
			for _, d := range ti.Shape {
				if d < 0 {
					t.Fatalf("tensor %q: negative dimension in %v", name, ti.Shape)
				}
			}
			for _, other := range h.names[:i] {
				o := h.tensors[other]
				if ti.Begin < o.End && o.Begin < ti.End {
					t.Fatalf("tensors %q [%d, %d] and %q [%d, %d] overlap", other, o.Begin, o.End, name, ti.Begin, ti.End)
				}
			}
		}
		r, err := openBytes(file, source)
		if err != nil {
			t.Fatalf("parseBytes accepted the file but openBytes did not: %v", err)
		}
		for _, name := range r.Names() {
			ti, _ := r.Info(name)
			switch {
			case ti.DType.IsFloat():
				v, shape, err := r.Float32(name)
				if err != nil || len(v) != ti.NumElements() || len(shape) != len(ti.Shape) {
					t.Fatalf("tensor %q: Float32 gave %d values, shape %v, error %v", name, len(v), shape, err)
				}
			case ti.DType.IsInt():
				v, _, err := r.Ints(name)
				if err != nil || len(v) != ti.NumElements() {
					t.Fatalf("tensor %q: Ints gave %d values, error %v", name, len(v), err)
				}
			}
			raw, err := r.Raw(name)
			if err != nil || int64(len(raw)) != ti.NumBytes() {
				t.Fatalf("tensor %q: Raw gave %d bytes, error %v", name, len(raw), err)
			}
		}
	})
}

// FuzzParseConfig feeds arbitrary bytes to the config.json and
// generation_config.json parsers: neither may panic, every error must name
// the source, and an accepted config must pass Validate and describe a model
// whose head count and head_dim are usable.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(minimalConfig))
	f.Add([]byte(`{"model_type":"qwen3","vocab_size":151936,"hidden_size":1024,"intermediate_size":3072,` +
		`"num_hidden_layers":28,"num_attention_heads":16,"num_key_value_heads":8,"head_dim":128,"rope_theta":1000000,` +
		`"rms_norm_eps":1e-06,"tie_word_embeddings":true,"eos_token_id":151645,"bos_token_id":151643,"rope_scaling":null}`))
	f.Add([]byte(`{"model_type":"llama"}`))
	f.Add([]byte(`{"eos_token_id":[151645,151643],"temperature":0.6,"top_k":20,"top_p":0.95,"do_sample":true}`))
	f.Add([]byte(`{"eos_token_id":2}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"model_type":"qwen3","vocab_size":1e3}`))
	const source = "fuzz/config.json"
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, source)
		if err != nil {
			if !strings.Contains(err.Error(), source) {
				t.Fatalf("error does not name the file: %v", err)
			}
		} else {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("accepted a config that Validate rejects: %v", verr)
			}
			if c.HeadDim <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
				t.Fatalf("accepted an unusable config: %+v", c)
			}
			for _, id := range c.EOSIDs() {
				if id < 0 {
					t.Fatalf("negative eos id %d", id)
				}
			}
		}
		g, err := ParseGenerationConfig(data, source)
		if err != nil {
			if !strings.Contains(err.Error(), source) {
				t.Fatalf("generation config error does not name the file: %v", err)
			}
			return
		}
		for _, id := range g.EOSTokenIDs {
			if id < 0 {
				t.Fatalf("negative eos id %d", id)
			}
		}
	})
}
