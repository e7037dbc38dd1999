package weights

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, SingleFileName)
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.safetensors")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.safetensors")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, out string
		want      []string // empty: accepted
	}{
		{"new file", filepath.Join(dir, "out.safetensors"), nil},
		{"same path", in, []string{"-o", "input of the same command", "another output path"}},
		{"dotted path", filepath.Join(dir, ".", SingleFileName), []string{"input of the same command"}},
		{"symbolic link", link, []string{"input of the same command"}},
		{"hard link", hard, []string{"input of the same command"}},
		{"directory", dir, []string{"is a directory"}},
		{"missing directory", filepath.Join(dir, "no", "x"), []string{"does not exist", "create it first"}},
		{"empty", "", []string{"empty"}},
	}
	for _, tc := range tests {
		err := CheckOutput("-o", tc.out, in)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		t.Run(tc.name, func(t *testing.T) { wantErr(t, err, tc.want...) })
	}
}

func TestModelInputs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{ConfigFileName, IndexFileName, "tokenizer.json", "model-00001-of-00002.safetensors"} {
		body := "{}"
		if name == IndexFileName {
			body = `{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"../x"}}`
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := ModelInputs(dir)
	var want []string
	for _, n := range []string{ConfigFileName, IndexFileName, "tokenizer.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		want = append(want, filepath.Join(dir, n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("ModelInputs = %q, want %q", got, want)
	}
}
