package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyJSON returns a small byte-level BPE tokenizer.json with one merge in
// the given form, with parts of it replaced by the edits (top-level keys
// or, for "model.X", keys of the model).
// Ids 0-255 are the bytes by value, 256 is "ab".
func tinyJSON(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(byteToRune[b])] = len(vocab)
	}
	vocab["ab"] = len(vocab)
	model := map[string]any{
		"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
		"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
		"vocab": vocab, "merges": []any{[]string{"a", "b"}},
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	file := map[string]any{
		"version": "1.0",
		"added_tokens": []any{map[string]any{"id": 257, "content": "<|end|>", "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false, "special": true}},
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwenPattern}, "behavior": "Isolated", "invert": false},
			byteLevel}},
		"decoder": byteLevel,
		"model":   model,
	}
	for k, v := range edits {
		if name, ok := strings.CutPrefix(k, "model."); ok {
			model[name] = v
		} else {
			file[k] = v
		}
	}
	data, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]any
	}{
		{"pair merges", nil},
		{"string merges", map[string]any{"model.merges": []string{"a b"}}},
		{"no normalizer", map[string]any{"normalizer": nil}},
		{"no type", map[string]any{"model.type": nil}},
	}
	for _, tt := range tests {
		tok, err := Parse(tinyJSON(t, tt.edits))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got, want := tok.Encode("abc<|end|>"), []int32{256, 99, 257}; !slices.Equal(got, want) {
			t.Errorf("%s: Encode = %v, want %v", tt.name, got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	metaspace := map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}
	tests := []struct {
		name  string
		edits map[string]any
		want  string
	}{
		{"WordPiece", map[string]any{"model.type": "WordPiece"}, `model type "WordPiece" is not supported`},
		{"Unigram", map[string]any{"model.type": "Unigram", "model.vocab": [][]any{{"a", -1.0}}}, `model type "Unigram"`},
		{"Metaspace", map[string]any{"pre_tokenizer": metaspace}, "pre_tokenizer Metaspace is not supported"},
		{"GPT-2 byte level", map[string]any{"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}},
			"pre_tokenizer ByteLevel(add_prefix_space false, use_regex true) is not supported"},
		{"other pattern", map[string]any{"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\p{N}{1,3}`}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}}}},
			`Split(regex "\\p{N}{1,3}"`},
		{"no pre-tokenizer", map[string]any{"pre_tokenizer": nil}, "pre_tokenizer none is not supported"},
		{"NFKC", map[string]any{"normalizer": map[string]any{"type": "NFKC"}}, "normalizer NFKC is not supported"},
		{"decoder", map[string]any{"decoder": metaspace}, "decoder Metaspace is not supported"},
		{"dropout", map[string]any{"model.dropout": 0.1}, "dropout"},
		{"suffix", map[string]any{"model.end_of_word_suffix": "</w>"}, "end_of_word_suffix"},
		{"missing byte", map[string]any{"model.vocab": map[string]int{"a": 0}}, "not a byte-level BPE vocabulary"},
		{"bad merge", map[string]any{"model.merges": []string{"a c"}}, `"ac" is not in the vocab`},
		{"merge form", map[string]any{"model.merges": []string{"abc"}}, "not two tokens separated by one space"},
		{"merge pair", map[string]any{"model.merges": [][]string{{"a", "b", "c"}}}, "has 3 parts"},
		{"negative id", map[string]any{"model.vocab": map[string]int{"a": -1}}, "outside"},
		{"added id clash", map[string]any{"added_tokens": []any{map[string]any{"id": 0, "content": "<x>"}}}, "which the vocab gives to"},
		{"single word", map[string]any{"added_tokens": []any{map[string]any{"id": 300, "content": "<x>", "single_word": true}}}, "single_word"},
	}
	for _, tt := range tests {
		_, err := Parse(tinyJSON(t, tt.edits))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	for _, data := range []string{"", "[]", "{}", `{"model": 3}`, "\x1f\x8b"} {
		if _, err := Parse([]byte(data)); err == nil {
			t.Errorf("Parse(%q) succeeded", data)
		}
	}
}

func TestAddedTokenStrip(t *testing.T) {
	data := tinyJSON(t, map[string]any{"added_tokens": []any{
		map[string]any{"id": 300, "content": "<L>", "lstrip": true},
		map[string]any{"id": 301, "content": "<R>", "rstrip": true},
		map[string]any{"id": 302, "content": "é", "normalized": true},
	}})
	tok, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []int32
	}{
		{"a  <L> b", []int32{97, 300, 32, 98}},
		{"a <R>  b", []int32{97, 32, 301, 98}},
		{"e\u0301", []int32{302}}, // matched after NFC
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"model": {"type": "WordPiece", "vocab": {}}}`), 0o644)
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "missing.json"), "does not exist"},
		{dir, "holds neither tokenizer.json nor vocab.json"},
		{bad, bad + `: model type "WordPiece"`},
	}
	for _, tt := range tests {
		_, err := Load(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s): error %v, want one containing %q", tt.path, err, tt.want)
		}
	}
}

// TestSaveQwen3 writes Qwen3's tokenizer and checks that the file holds the
// same data as the original, and loads to the same tokenizer.
func TestSaveQwen3(t *testing.T) {
	if testing.Short() {
		t.Skip("writes an 11 MB file")
	}
	tok := loadQwen3(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	orig, err := readMaybeGzip("testdata/tokenizer.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	if err := json.Unmarshal(orig, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(saved, &b); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"} {
		if !jsonEqual(a[key], b[key]) {
			t.Errorf("saved %s differs from the original", key)
		}
	}
	am, bm := a["model"].(map[string]any), b["model"].(map[string]any)
	for _, key := range []string{"type", "vocab", "merges", "ignore_merges", "byte_fallback"} {
		if !jsonEqual(am[key], bm[key]) {
			t.Errorf("saved model.%s differs from the original", key)
		}
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range loadReference(t) {
		if got := loaded.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Fatalf("reloaded tokenizer: Encode(%q) = %v, want %v", c.Text, got, c.IDs)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestLoadVocabMerges writes Qwen3's vocabulary as vocab.json, merges.txt
// and tokenizer_config.json, and checks the reference encodings.
func TestLoadVocabMerges(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 7 MB vocabulary")
	}
	tok := loadQwen3(t)
	dir := t.TempDir()
	vocab := make(map[string]int, len(tok.vocab))
	for s, id := range tok.vocab {
		vocab[s] = int(id)
	}
	data, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var merges strings.Builder
	merges.WriteString("#version: 0.2\n")
	for _, m := range tok.mergeList {
		merges.WriteString(tok.spell[m[0]] + " " + tok.spell[m[1]] + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(merges.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("testdata/tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir) // no tokenizer.json: falls back to the pair
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VocabSize() != tok.VocabSize() {
		t.Errorf("VocabSize() = %d, want %d", loaded.VocabSize(), tok.VocabSize())
	}
	for _, c := range loadReference(t) {
		if got := loaded.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Fatalf("Encode(%q) = %v, want %v", c.Text, got, c.IDs)
		}
	}
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\nĠ Ġ\nbad line here\n"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "merges.txt:3") {
		t.Errorf("bad merges.txt: error %v, want one naming merges.txt:3", err)
	}
}

func TestSave(t *testing.T) {
	tok, err := Train([]string{"1+1=2"}, TrainConfig{VocabSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	for range 2 { // the second Save replaces the first file
		if err := tok.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "tokenizer.json" {
		t.Errorf("directory holds %v, want only tokenizer.json", entries)
	}
	if err := tok.Save(filepath.Join(dir, "missing", "tokenizer.json")); err == nil || !strings.Contains(err.Error(), "tokenizer: save") {
		t.Errorf("Save into a missing directory: error %v", err)
	}
}
