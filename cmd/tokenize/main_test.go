package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/tokenizer"
)

func TestRun(t *testing.T) {
	qwen3 := "../../tokenizer/testdata/tokenizer.json.gz"
	tests := []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"encode", []string{"-tokenizer", qwen3},
			"\"Hello world\"\n\"<|im_start|>user\\nHi<|im_end|>\"\n\"\"\n",
			"[9707,1879]\n[151644,872,198,13048,151645]\n[]\n"},
		{"decode", []string{"-tokenizer", qwen3, "-decode"},
			"[9707,1879]\n[151644,872,198,13048,151645]\n[]\n",
			"\"Hello world\"\n\"<|im_start|>user\\nHi<|im_end|>\"\n\"\"\n"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if err := run(tt.args, strings.NewReader(tt.in), &out, &errOut); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.String() != tt.want {
			t.Errorf("%s: output %q, want %q", tt.name, out.String(), tt.want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	tok, err := tokenizer.Train([]string{"1+1=2"}, tokenizer.TrainConfig{VocabSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"no tokenizer", nil, "", "-tokenizer FILE is required"},
		{"missing file", []string{"-tokenizer", path + ".missing"}, "", "does not exist"},
		{"not a string", []string{"-tokenizer", path}, "\"ok\"\n[1]\n", "line 2: want a JSON string"},
		{"not ids", []string{"-tokenizer", path, "-decode"}, "\"x\"\n", "line 1: want a JSON array"},
		{"unknown id", []string{"-tokenizer", path, "-decode"}, "[1,999]\n", "line 1: id 999 is not a token"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := run(tt.args, strings.NewReader(tt.in), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
