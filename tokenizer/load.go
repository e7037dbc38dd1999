package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Load reads a tokenizer from path: a Hugging Face tokenizer.json file
// (plain or gzip-compressed), or a model directory holding tokenizer.json
// or else vocab.json and merges.txt.
//
// Only byte-level BPE tokenizers of the Qwen2/Qwen3 kind are accepted:
// model BPE, normalizer NFC or none, pre-tokenizer Split with Qwen's pattern
// followed by ByteLevel, and decoder ByteLevel. A file of another kind is
// refused with an error that says what it holds.
func Load(path string) (*Tokenizer, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, missingError{path}
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if info.IsDir() {
		dir := path
		path = filepath.Join(dir, "tokenizer.json")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			vocab, merges := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
			if _, err := os.Stat(vocab); err != nil {
				return nil, fmt.Errorf("tokenizer: directory %s holds neither tokenizer.json nor vocab.json and merges.txt", dir)
			}
			return LoadVocabMerges(vocab, merges)
		}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s: is a directory, not a file: put the model's tokenizer.json there", path)
	}
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// missingError says that the path given to Load does not exist; it
// matches fs.ErrNotExist.
type missingError struct{ path string }

func (e missingError) Error() string {
	return fmt.Sprintf("tokenizer: %s does not exist: give a tokenizer.json file or a model directory holding one", e.path)
}

func (e missingError) Unwrap() error { return fs.ErrNotExist }

// readMaybeGzip returns the contents of the file at path, decompressed if
// they are gzip-compressed.
func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err = io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: decompressing: %w", path, err)
	}
	return data, nil
}

// fileJSON is the part of tokenizer.json that the loader reads.
type fileJSON struct {
	AddedTokens  []addedJSON     `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        *modelJSON      `json:"model"`
}

// addedJSON is an entry of added_tokens (and of tokenizer_config.json's
// added_tokens_decoder, which has no id field).
type addedJSON struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

func (a addedJSON) token() (AddedToken, error) {
	if a.SingleWord {
		return AddedToken{}, fmt.Errorf("added token %q: single_word is not supported", a.Content)
	}
	if a.ID < 0 || a.ID >= maxID {
		return AddedToken{}, fmt.Errorf("added token %q has id %d, outside [0, %d)", a.Content, a.ID, maxID)
	}
	return AddedToken{ID: int32(a.ID), Content: a.Content, Special: a.Special,
		LStrip: a.LStrip, RStrip: a.RStrip, Normalized: a.Normalized}, nil
}

// modelJSON is tokenizer.json's model object.
type modelJSON struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	Dropout                 *float64        `json:"dropout"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	IgnoreMerges            bool            `json:"ignore_merges"`
}

// component is any normalizer, pre-tokenizer or decoder object.
type component struct {
	Type          string            `json:"type"`
	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
}

// jsonProblem explains a JSON decoding error in terms of the file: the
// line and column of a syntax error, or the field and the kind of value
// that does not fit, never the Go types involved.
func jsonProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off := min(max(syn.Offset, 0), int64(len(data)))
		before := data[:off]
		line := bytes.Count(before, []byte("\n")) + 1
		col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
		return fmt.Sprintf("bad JSON at line %d, column %d: %v", line, max(col, 1), err)
	case errors.As(err, &typ):
		want := "another kind of value"
		switch typ.Type.Kind() {
		case reflect.Struct, reflect.Map:
			want = "an object"
		case reflect.Slice, reflect.Array:
			want = "a list"
		case reflect.String:
			want = "a string"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			want = "a whole number"
		case reflect.Float32, reflect.Float64:
			want = "a number"
		case reflect.Bool:
			want = "true or false"
		case reflect.Pointer:
			want = "an object"
		}
		if typ.Field == "" {
			return fmt.Sprintf("found a JSON %s where %s is expected", typ.Value, want)
		}
		return fmt.Sprintf("field %q holds a JSON %s where %s is expected", typ.Field, typ.Value, want)
	}
	return err.Error()
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// describe summarises a component for error messages.
func describe(raw json.RawMessage) string {
	if isNull(raw) {
		return "none"
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	switch c.Type {
	case "Sequence":
		var parts []string
		for _, p := range append(c.Normalizers, c.Pretokenizers...) {
			parts = append(parts, describe(p))
		}
		return "Sequence[" + strings.Join(parts, ", ") + "]"
	case "Split":
		if c.Pattern != nil && c.Pattern.Regex != nil {
			return fmt.Sprintf("Split(regex %q, behavior %s, invert %t)", *c.Pattern.Regex, c.Behavior, c.Invert)
		}
		if c.Pattern != nil && c.Pattern.String != nil {
			return fmt.Sprintf("Split(string %q)", *c.Pattern.String)
		}
		return "Split(no pattern)"
	case "ByteLevel":
		useRegex := c.UseRegex == nil || *c.UseRegex
		return fmt.Sprintf("ByteLevel(add_prefix_space %t, use_regex %t)", c.AddPrefixSpace, useRegex)
	case "":
		return "an object without a type"
	}
	return c.Type
}

// parseNormalizer reports whether raw is NFC (true) or no normalizer (false).
func parseNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if isNull(raw) {
		return false, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("normalizer: %w", err)
	}
	switch c.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		for _, n := range c.Normalizers {
			sub, err := parseNormalizer(n)
			if err != nil {
				return false, err
			}
			nfc = nfc || sub
		}
		return nfc, nil
	}
	return false, fmt.Errorf("normalizer %s is not supported (want NFC or none)", describe(raw))
}

// checkPreTokenizer accepts only Qwen's Split pattern followed by a
// ByteLevel step that adds no prefix space and uses no regex of its own.
func checkPreTokenizer(raw json.RawMessage) error {
	bad := fmt.Errorf("pre_tokenizer %s is not supported; want Sequence[Split(regex %q, behavior Isolated), ByteLevel(add_prefix_space false, use_regex false)]",
		describe(raw), qwenPattern)
	var seq component
	if err := json.Unmarshal(raw, &seq); err != nil || seq.Type != "Sequence" || len(seq.Pretokenizers) != 2 {
		return bad
	}
	var split, bl component
	if json.Unmarshal(seq.Pretokenizers[0], &split) != nil || json.Unmarshal(seq.Pretokenizers[1], &bl) != nil {
		return bad
	}
	if split.Type != "Split" || split.Pattern == nil || split.Pattern.Regex == nil ||
		*split.Pattern.Regex != qwenPattern || split.Behavior != "Isolated" || split.Invert {
		return bad
	}
	if bl.Type != "ByteLevel" || bl.AddPrefixSpace || bl.UseRegex == nil || *bl.UseRegex {
		return bad
	}
	return nil
}

// Parse reads a tokenizer from the contents of a tokenizer.json file. See
// Load for what is accepted.
func Parse(data []byte) (*Tokenizer, error) {
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

func parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %s", jsonProblem(data, err))
	}
	if f.Model == nil {
		return nil, errors.New(`not a tokenizer.json: it has no "model" field (the tokenizer's vocabulary and merges); give a Hugging Face tokenizer.json`)
	}
	m := *f.Model
	if m.Type == "" && !isNull(m.Merges) {
		m.Type = "BPE" // older files leave out the type of BPE models
	}
	if m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported; only byte-level BPE models (such as Qwen2 and Qwen3) are", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("model: BPE dropout %g is not supported", *m.Dropout)
	}
	if p := m.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("model: continuing_subword_prefix %q is not supported", *p)
	}
	if p := m.EndOfWordSuffix; p != nil && *p != "" {
		return nil, fmt.Errorf("model: end_of_word_suffix %q is not supported", *p)
	}
	nfc, err := parseNormalizer(f.Normalizer)
	if err != nil {
		return nil, err
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if d := describe(f.Decoder); !strings.HasPrefix(d, "ByteLevel") {
		return nil, fmt.Errorf("decoder %s is not supported (want ByteLevel)", d)
	}
	s := spec{nfc: nfc, ignoreMerges: m.IgnoreMerges}
	if err := json.Unmarshal(m.Vocab, &s.vocab); err != nil {
		return nil, fmt.Errorf("model: vocab: %s (want an object of token: id)", jsonProblem(m.Vocab, err))
	}
	if s.merges, err = parseMerges(m.Merges); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	for _, a := range f.AddedTokens {
		tok, err := a.token()
		if err != nil {
			return nil, err
		}
		s.added = append(s.added, tok)
	}
	return build(s)
}

// parseMerges reads the merges of a BPE model, either as strings "a b" or
// as pairs ["a", "b"].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, nil
	}
	rest := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("[")))
	if len(rest) > 0 && rest[0] == '"' {
		var lines []string
		if err := json.Unmarshal(raw, &lines); err != nil {
			return nil, fmt.Errorf("merges: %w", err)
		}
		merges := make([][2]string, len(lines))
		for i, line := range lines {
			a, b, err := splitMerge(line)
			if err != nil {
				return nil, fmt.Errorf("merge %d: %w", i, err)
			}
			merges[i] = [2]string{a, b}
		}
		return merges, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	merges := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("merge %d has %d parts, want 2", i, len(p))
		}
		merges[i] = [2]string{p[0], p[1]}
	}
	return merges, nil
}

// splitMerge splits a merge written as one string, "a b".
func splitMerge(line string) (a, b string, err error) {
	parts := strings.Split(line, " ")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("%q is not two tokens separated by one space", line)
	}
	return parts[0], parts[1], nil
}

// LoadVocabMerges reads a tokenizer from the older pair of files, vocab.json
// and merges.txt, as Qwen2Tokenizer does: NFC normalizer and Qwen's split
// pattern. Added tokens are read from the added_tokens_decoder of a
// tokenizer_config.json beside vocab.json, when there is one.
func LoadVocabMerges(vocabPath, mergesPath string) (*Tokenizer, error) {
	data, err := readMaybeGzip(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	s := spec{nfc: true}
	if err := json.Unmarshal(data, &s.vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: want a JSON object of token to id: %w", vocabPath, err)
	}
	f, err := os.Open(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || (n == 1 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, b, err := splitMerge(line)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s:%d: %w", mergesPath, n, err)
		}
		s.merges = append(s.merges, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", mergesPath, err)
	}
	cfgPath := filepath.Join(filepath.Dir(vocabPath), "tokenizer_config.json")
	if s.added, err = readAddedTokensDecoder(cfgPath); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", cfgPath, err)
	}
	t, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s and %s: %w", vocabPath, mergesPath, err)
	}
	return t, nil
}

// readAddedTokensDecoder returns the added tokens of a tokenizer_config.json
// file, or none if there is no such file.
func readAddedTokensDecoder(path string) ([]AddedToken, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cfg struct {
		AddedTokensDecoder map[string]addedJSON `json:"added_tokens_decoder"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(cfg.AddedTokensDecoder))
	for k := range cfg.AddedTokensDecoder {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var added []AddedToken
	for _, k := range keys {
		a := cfg.AddedTokensDecoder[k]
		id, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("added_tokens_decoder: key %q is not an id", k)
		}
		a.ID = id
		tok, err := a.token()
		if err != nil {
			return nil, err
		}
		added = append(added, tok)
	}
	return added, nil
}
