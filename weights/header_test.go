package weights

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRejectsMalformed opens hand-made broken files and checks that each
// is refused with an error naming the file, the tensor where one is at
// fault, and the problem.
func TestOpenRejectsMalformed(t *testing.T) {
	zeros := func(n int) []byte { return make([]byte, n) }
	prefixOnly := func(n uint64) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	tests := []struct {
		name   string
		file   []byte
		tensor string   // the tensor the error must name; "" for none
		want   []string // further phrases the error must contain
	}{
		{"empty file", nil, "", []string{"empty"}},
		{"shorter than the length prefix", []byte{1, 0, 0}, "", []string{"3 bytes", "8-byte header length"}},
		{"header length 0", prefixOnly(0), "", []string{"header length is 0"}},
		{"header length 0 with data", append(prefixOnly(0), zeros(16)...), "", []string{"header length is 0"}},
		{"absurd header length", append(prefixOnly(1<<40), "{}"...), "", []string{"absurd", "1099511627776"}},
		{"header length past the end", append(prefixOnly(64), `{"a":`...), "", []string{"header length 64", "beyond the end"}},
		{"header cut short", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_o`, zeros(4)), "", []string{"not valid JSON"}},
		{"bad JSON", rawFile(`{"w": [}`, nil), "", []string{"not valid JSON"}},
		{"header not an object", rawFile(`[1, 2, 3]`, nil), "", []string{"not a JSON object"}},
		{"header a string", rawFile(`"weights"`, nil), "", []string{"not a JSON object"}},
		{"not UTF-8", rawFile("{\"\xff\":1}", nil), "", []string{"UTF-8"}},
		{"data after the JSON object", rawFile(`{} {}`, nil), "", []string{"not valid JSON", "after top-level value"}},
		{"entry not an object", rawFile(`{"w":[1,2]}`, nil), "w", []string{"must be an object"}},
		{"missing dtype", rawFile(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"no dtype"}},
		{"missing shape", rawFile(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, zeros(4)), "w", []string{"no shape"}},
		{"missing data_offsets", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, zeros(4)), "w", []string{"no data_offsets"}},
		{"unknown dtype", rawFile(`{"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"unknown dtype", "F7"}},
		{"lower-case dtype", rawFile(`{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"unknown dtype"}},
		{"one offset", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, zeros(4)), "w", []string{"[begin, end]"}},
		{"three offsets", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, zeros(8)), "w", []string{"[begin, end]"}},
		{"begin after end", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, zeros(8)), "w", []string{"[8, 4]", "0 <= begin <= end"}},
		{"negative begin", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, zeros(8)), "w", []string{"[-4, 0]"}},
		{"offsets out of range", rawFile(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, zeros(12)), "w", []string{"[0, 16]", "12-byte data section"}},
		{"truncated data", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, zeros(15)), "b", []string{"beyond", "truncated"}},
		{"non-integer offset", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}`, zeros(8)), "w", []string{"data_offsets is [0,4.5]", "two integers"}},
		{"offset past int64", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}`, zeros(8)), "w", []string{"data_offsets is [0,18446744073709551615]"}},
		{"overlapping tensors", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, zeros(12)), "b", []string{"overlap", `"a"`}},
		{"identical ranges", rawFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), "b", []string{"overlap", `"a"`}},
		{"one range inside another", rawFile(`{"big":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"small":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, zeros(16)), "small", []string{"overlap", `"big"`}},
		{"length too long for the shape", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}`, zeros(12)), "w", []string{"span 12 bytes", "needs 8"}},
		{"length too short for the shape", rawFile(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, zeros(24)), "w", []string{"span 20 bytes", "needs 24"}},
		{"dtype does not match the length", rawFile(`{"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,16]}}`, zeros(16)), "w", []string{"BF16", "span 16 bytes", "needs 8"}},
		{"scalar with two elements' bytes", rawFile(`{"w":{"dtype":"F32","shape":[],"data_offsets":[0,8]}}`, zeros(8)), "w", []string{"needs 4"}},
		{"zero-size tensor with bytes", rawFile(`{"w":{"dtype":"F32","shape":[0,3],"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"needs 0"}},
		{"negative dimension", rawFile(`{"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}}`, zeros(16)), "w", []string{"negative dimension"}},
		{"negative dimensions cancelling", rawFile(`{"w":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}`, zeros(16)), "w", []string{"negative dimension"}},
		{"non-integer dimension", rawFile(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"shape is [1.5]", "non-negative integers"}},
		{"shape a number", rawFile(`{"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}`, zeros(16)), "w", []string{"shape is 4", "a list"}},
		{"shape null", rawFile(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"shape is null"}},
		{"dtype a number", rawFile(`{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, zeros(4)), "w", []string{"dtype is 32", "a string"}},
		{"entry null", rawFile(`{"w":null}`, nil), "w", []string{"must be an object"}},
		{"shape overflowing int64", rawFile(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,16]}}`, zeros(16)), "w", []string{"needs more bytes"}},
		{"shape overflowing to the right size", rawFile(`{"w":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}}`, zeros(16)), "w", []string{"needs more bytes"}},
		{"tensor listed twice", rawFile(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, zeros(2)), "w", []string{"twice"}},
		{"empty tensor name", rawFile(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, zeros(1)), "", []string{"empty tensor name"}},
		{"metadata not strings", rawFile(`{"__metadata__":{"step":7}}`, nil), "", []string{"__metadata__", "strings"}},
		{"metadata twice", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), "", []string{"__metadata__ twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "broken.safetensors", tc.file)
			f, err := Open(path)
			if err == nil {
				f.Close()
			}
			parts := append([]string{path}, tc.want...)
			if tc.tensor != "" {
				parts = append(parts, "tensor "+`"`+tc.tensor+`"`)
			}
			wantErr(t, err, parts...)

			// The in-memory parser used by the fuzz target agrees.
			_, _, err = parseBytes(tc.file, "mem.safetensors")
			wantErr(t, err, append([]string{"mem.safetensors"}, tc.want...)...)
		})
	}
}

// TestOpenAcceptsEdgeCases opens unusual but valid files.
func TestOpenAcceptsEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		file  []byte
		names []string
	}{
		{"no tensors", rawFile(`{}`, nil), []string{}},
		{"metadata only", rawFile(`{"__metadata__":{"format":"pt"}}`, nil), []string{}},
		{"padded with spaces", rawFile(`{}      `, nil), []string{}},
		{"leading whitespace", rawFile(` {}`, nil), []string{}},
		{"scalar", rawFile(`{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)), []string{"s"}},
		{"zero-size tensors anywhere", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"F32","shape":[2,0],"data_offsets":[2,2]}}`, make([]byte, 4)), []string{"a", "b", "c"}},
		{"gap between tensors", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, make([]byte, 8)), []string{"a", "b"}},
		{"every known dtype", rawFile(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"c":{"dtype":"BOOL","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 16)), []string{"a", "b", "c"}},
		{"unicode name", rawFile(`{"wé\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), []string{"wéé"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(writeTemp(t, "ok.safetensors", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := f.Names(); strings.Join(got, ",") != strings.Join(tc.names, ",") {
				t.Errorf("names %q, want %q", got, tc.names)
			}
		})
	}
}

// TestOpenTruncatedEverywhere cuts a valid file at every length and checks
// that each prefix is refused with an error naming the file.
func TestOpenTruncatedEverywhere(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.safetensors")
	err := WriteFile(full, []Tensor{
		{Name: "a", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Shape: []int{2}, Data: []float32{7, 8}},
	}, BF16, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.safetensors")
	for n := 0; n < len(b); n++ {
		if err := os.WriteFile(cut, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(cut)
		if err == nil {
			f.Close()
			t.Fatalf("a file cut to %d of %d bytes opened without error", n, len(b))
		}
		if !strings.Contains(err.Error(), cut) {
			t.Fatalf("cut to %d bytes: error %q does not name the file", n, err)
		}
	}
}

// TestOpenNotAFile checks the errors for paths that are not safetensors
// files at all.
func TestOpenNotAFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "missing.safetensors"), "no such file"},
		{"directory", dir, "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.path)
			wantErr(t, err, tc.path, tc.want)
		})
	}
}

// TestReadErrors checks the errors of reading tensors from a valid file the
// wrong way.
func TestReadErrors(t *testing.T) {
	hdr := `{"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},` +
		`"q":{"dtype":"F8_E5M2","shape":[4],"data_offsets":[12,16]},` +
		`"u":{"dtype":"U64","shape":[1],"data_offsets":[16,24]}}`
	data := make([]byte, 24)
	binary.LittleEndian.PutUint64(data[16:], 1<<63) // beyond int64
	path := writeTemp(t, "x.safetensors", rawFile(hdr, data))
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		read func() error
		want []string
	}{
		{"unknown name", func() error { _, _, err := f.Float32("nope"); return err }, []string{`no tensor "nope"`}},
		{"unknown name into dst", func() error { return f.ReadFloat32("nope", nil) }, []string{`no tensor "nope"`}},
		{"unknown name as ints", func() error { _, _, err := f.Ints("nope"); return err }, []string{`no tensor "nope"`}},
		{"unknown name raw", func() error { _, err := f.Raw("nope"); return err }, []string{`no tensor "nope"`}},
		{"short destination", func() error { return f.ReadFloat32("f", make([]float32, 1)) }, []string{`tensor "f"`, "holds 1", "has 2"}},
		{"long destination", func() error { return f.ReadFloat32("f", make([]float32, 3)) }, []string{`tensor "f"`, "holds 3"}},
		{"ints as float", func() error { _, _, err := f.Float32("i"); return err }, []string{`tensor "i"`, "I32", "Ints"}},
		{"ints into dst", func() error { return f.ReadFloat32("i", make([]float32, 1)) }, []string{`tensor "i"`, "I32"}},
		{"float8 as float", func() error { _, _, err := f.Float32("q"); return err }, []string{`tensor "q"`, "F8_E5M2"}},
		{"float as ints", func() error { _, _, err := f.Ints("f"); return err }, []string{`tensor "f"`, "not an integer"}},
		{"u64 past int64", func() error { _, _, err := f.Ints("u"); return err }, []string{`tensor "u"`, "beyond int64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.read(), append([]string{path}, tc.want...)...)
		})
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Float32("f")
	wantErr(t, err, path, `tensor "f"`, "closed")
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
