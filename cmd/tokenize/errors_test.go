package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/internal/errdoc"
	"github.com/frontier-rl/frontier/tokenizer"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite this command's table in docs/errors.md from the test's results")

// errorCase is one bad input to the command: its args (paths relative to
// a scratch directory holding tok.json, in.jsonl and ids.jsonl), its
// standard input, and a part of the message it must get.
type errorCase struct {
	input string
	args  []string
	stdin string
	want  string
}

func tokenizeCases() []errorCase {
	tok := func(args ...string) []string { return append([]string{"-tokenizer", "tok.json"}, args...) }
	return []errorCase{
		{"no -tokenizer", nil, "", "-tokenizer FILE is required"},
		{"stray argument", tok("in.jsonl"), "", `unexpected argument "in.jsonl"`},
		{"unknown flag", tok("-o", "x"), "", "flag provided but not defined: -o"},
		{"-tokenizer does not exist", []string{"-tokenizer", "nope.json"}, "", "nope.json does not exist"},
		{"-tokenizer not JSON", []string{"-tokenizer", "in.jsonl"}, "", "not a tokenizer.json"},
		{"-tokenizer of another kind", []string{"-tokenizer", "wordpiece.json"}, "", `model type "WordPiece" is not supported`},
		{"-tokenizer a directory without one", []string{"-tokenizer", "empty"}, "", "holds neither tokenizer.json"},
		{"line not a JSON string", tok(), "\"ok\"\n[1]\n", "line 2: want a JSON string"},
		{"line not JSON", tok(), "hello\n", "line 1: want a JSON string such as \"Hello\", found text that is not JSON"},
		{"empty line", tok(), "\"a\"\n\n", "line 2: want a JSON string such as \"Hello\", found an empty line"},
		{"byte-order mark (was vague)", tok(), "\xef\xbb\xbf\"hello\"\n", "line 1: starts with a UTF-8 byte-order mark"},
		{"-decode of 1.0 (was vague)", tok("-decode"), "[5,1.0]\n", "line 1: element 1 is spelt 1.0: write token ids as plain whole numbers"},
		{"-tokenizer is a config.json (was vague)", []string{"-tokenizer", "config.json"}, "", `has no "model" field`},
		{"invalid UTF-8", tok(), "\"ok\"\n\"caf\xe9\"\n", "line 2: not valid UTF-8 (bad byte at offset 4)"},
		{"lone surrogate escape", tok(), "\"\\ud800x\"\n", "line 1: the string holds a lone UTF-16 surrogate"},
		{"-decode of a string", tok("-decode"), "\"x\"\n", "line 1: want a JSON array of token ids such as [9707,1879], found a string"},
		{"-decode of a fraction", tok("-decode"), "[1,2.5]\n", "line 1: element 1 is 2.5, not a token id"},
		{"-decode of a word", tok("-decode"), "[1,\"a\"]\n", `line 1: element 1 is "a", not a token id`},
		{"-decode of an id beyond the vocabulary", tok("-decode"), "[1,999]\n", "line 1: id 999 is not a token of tok.json"},
		{"-decode of a negative id", tok("-decode"), "[-1]\n", "line 1: id -1 is not a token"},
		{"-in does not exist", tok("-in", "missing.jsonl"), "", "-in missing.jsonl: no such file"},
		{"-in is a directory", tok("-in", "empty"), "", "-in empty: is a directory"},
		{"-out is the tokenizer (was data loss)", tok("-out", "tok.json"), "", "-out tok.json: this is an input of the same command"},
		{"-out is the input", tok("-in", "in.jsonl", "-out", "in.jsonl"), "", "-out in.jsonl: this is an input of the same command"},
		{"-out in a missing directory", tok("-out", "no/ids.jsonl"), "", "directory no does not exist"},
		{"bad line with -out", tok("-in", "in.jsonl", "-out", "ids.jsonl", "-decode"), "", "(-out ids.jsonl was not written)"},
	}
}

// TestErrorTable runs every bad input of docs/errors.md through run and
// checks the message, and that no input or existing output was changed.
// The table in docs/errors.md is the test's own output: -update-doc
// rewrites it.
func TestErrorTable(t *testing.T) {
	t.Chdir(t.TempDir())
	tk, err := tokenizer.Train([]string{"1+1=2", "hello world"}, tokenizer.TrainConfig{VocabSize: 260})
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Save("tok.json"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("tok.json")
	write := func(name, s string) {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("wordpiece.json", strings.Replace(string(b), `"type": "BPE"`, `"type": "WordPiece"`, 1))
	write("config.json", `{"model_type": "qwen3", "vocab_size": 260}`)
	write("in.jsonl", "\"hello\"\n")
	write("ids.jsonl", "[1]\n")
	if err := os.Mkdir("empty", 0o755); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, f := range []string{"tok.json", "in.jsonl", "ids.jsonl"} {
		b, _ := os.ReadFile(f)
		before[f] = string(b)
	}
	var rows []string
	for _, tc := range tokenizeCases() {
		err := run(tc.args, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%s: no error", tc.input)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want one containing %q", tc.input, err, tc.want)
		}
		rows = append(rows, docRow(tc.input, tc.args, tc.stdin, "tokenize: "+err.Error()))
	}
	for f, want := range before {
		if b, _ := os.ReadFile(f); string(b) != want {
			t.Errorf("%s changed to %q", f, b)
		}
	}
	syncDoc(t, "tokenize", rows)
}

// TestStdoutIsInput checks that a standard output redirected onto the
// tokenizer file (already truncated by the shell) is refused, and the
// same for standard input and output being one file.
func TestStdoutIsInput(t *testing.T) {
	dir := t.TempDir()
	tk, err := tokenizer.Train([]string{"1+1=2"}, tokenizer.TrainConfig{VocabSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tok.json")
	if err := tk.Save(path); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	err = run([]string{"-tokenizer", path}, strings.NewReader(""), out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "standard output is "+path) {
		t.Errorf("stdout onto the tokenizer: error %v", err)
	}
	io2 := filepath.Join(dir, "io.jsonl")
	if err := os.WriteFile(io2, []byte("\"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := os.Open(io2)
	defer in.Close()
	out2, _ := os.OpenFile(io2, os.O_WRONLY|os.O_APPEND, 0)
	defer out2.Close()
	err = run([]string{"-tokenizer", path}, in, out2, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "standard input and standard output are the same file") {
		t.Errorf("stdin and stdout one file: error %v", err)
	}
}

// TestOutFile checks that -in and -out give the same result as the
// standard streams.
func TestOutFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(in, []byte("\"Hello world\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-tokenizer", "../../tokenizer/testdata/tokenizer.json.gz", "-in", in, "-out", out}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "[9707,1879]\n" {
		t.Errorf("-out holds %q", b)
	}
}

// docRow formats one case as a Markdown table row.
func docRow(input string, args []string, stdin, msg string) string {
	cmd := errdoc.Args(args, 0)
	if stdin != "" {
		cmd += " < " + strconv.Quote(stdin)
	}
	return errdoc.Row(errdoc.Cell(input), "`"+errdoc.Cell(cmd)+"`", errdoc.Cell(msg))
}

// syncDoc compares the rows with this command's section of docs/errors.md,
// or rewrites it with -update-doc.
func syncDoc(t *testing.T, cmd string, rows []string) {
	t.Helper()
	errdoc.Sync(t, cmd, "| Bad input | Arguments and standard input | Error (exit status 1) |\n|---|---|---|\n", rows, *updateDoc)
}
