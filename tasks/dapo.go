package tasks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// FamilyDAPO is the Family of examples loaded by LoadDAPO.
const FamilyDAPO = "dapo"

// maxLineBytes bounds one JSON line (DAPO prompts are a few kilobytes).
const maxLineBytes = 64 << 20

// LoadDAPO reads prompts in the DAPO-Math-17k format from a JSON-lines file
// (.jsonl, .ndjson, or .json holding lines or one array) or a Parquet file
// (.parquet), chosen by extension.
//
// Each record needs a non-empty "prompt" and a non-empty reference answer,
// taken from "solution" or, when that is absent or null, from
// "reward_model"."ground_truth". A prompt may be a string or a list of chat
// messages ({"role", "content"}); then the last user message is used. Other
// columns are ignored. Example i (counting from 0 in file order) gets ID
// "dapo-<i>", Family "dapo" and Level 0.
//
// A bad record is an error naming the file, the line (JSON lines, from 1) or
// row (Parquet, from 0) and the problem; so is a file without records.
func LoadDAPO(path string) ([]Example, error) {
	var (
		exs []Example
		err error
	)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".jsonl", ".ndjson", ".json":
		exs, err = loadJSON(path)
	case ".parquet":
		exs, err = loadParquet(path)
	default:
		return nil, fmt.Errorf("tasks: %s: unknown extension %q (use .jsonl, .json or .parquet)", path, ext)
	}
	if err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("tasks: %s: file holds no records", path)
	}
	return exs, nil
}

// dapoExample builds example i from a record's fields.
func dapoExample(i int, prompt, answer string) Example {
	return Example{ID: "dapo-" + strconv.Itoa(i), Prompt: prompt, Answer: answer, Family: FamilyDAPO}
}

// loadJSON reads JSON lines, or a single JSON array when the file's first
// non-space byte is '['.
func loadJSON(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if first, err := firstNonSpace(br); err == nil && first == '[' {
		return loadJSONArray(path, br)
	}

	var exs []Example
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<16), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff")) // a byte order mark
		}
		if len(text) == 0 {
			continue
		}
		prompt, answer, err := parseRecord(text)
		if err != nil {
			return nil, fmt.Errorf("tasks: %s: line %d: %w", path, line, err)
		}
		exs = append(exs, dapoExample(len(exs), prompt, answer))
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("tasks: %s: line %d: longer than %d MiB", path, line+1, maxLineBytes>>20)
	} else if err != nil {
		return nil, fmt.Errorf("tasks: %s: line %d: %w", path, line+1, err)
	}
	return exs, nil
}

// firstNonSpace peeks at the first byte of r that is not white space.
func firstNonSpace(r *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := r.Peek(n)
		if len(b) < n {
			return 0, err
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c, nil
		}
	}
}

// loadJSONArray reads a file holding one JSON array of records.
func loadJSONArray(path string, r io.Reader) ([]Example, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // the '['
		return nil, fmt.Errorf("tasks: %s: %w", path, err)
	}
	var exs []Example
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("tasks: %s: array element %d: bad JSON: %w", path, i, err)
		}
		prompt, answer, err := parseRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("tasks: %s: array element %d: %w", path, i, err)
		}
		exs = append(exs, dapoExample(len(exs), prompt, answer))
	}
	if _, err := dec.Token(); err != nil { // the ']'
		return nil, fmt.Errorf("tasks: %s: array not closed after element %d: bad JSON: %w", path, len(exs)-1, err)
	}
	return exs, nil
}

// message is one chat turn of a prompt given as a conversation.
type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// parseRecord extracts the prompt and reference answer of one JSON record.
func parseRecord(data []byte) (prompt, answer string, err error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(data, &rec); err != nil {
		return "", "", fmt.Errorf("bad JSON: %w", err)
	}
	if rec == nil {
		return "", "", errors.New("record is null, want an object with prompt and solution")
	}

	raw, ok := rec["prompt"]
	if !ok || isNull(raw) {
		return "", "", errors.New(`missing "prompt"`)
	}
	if err := json.Unmarshal(raw, &prompt); err != nil {
		var msgs []message
		if json.Unmarshal(raw, &msgs) != nil {
			return "", "", fmt.Errorf(`"prompt" is %s, want a string or a list of {"role", "content"} messages`,
				jsonKind(raw))
		}
		prompt = promptFromMessages(msgs)
	}
	if strings.TrimSpace(prompt) == "" {
		return "", "", errors.New(`empty "prompt"`)
	}

	field := "solution"
	raw, ok = rec["solution"]
	if !ok || isNull(raw) {
		field = "reward_model.ground_truth"
		raw = nil
		if rm, ok := rec["reward_model"]; ok && !isNull(rm) {
			var sub map[string]json.RawMessage
			if json.Unmarshal(rm, &sub) != nil {
				return "", "", fmt.Errorf(`no "solution", and "reward_model" is %s, want an object`, jsonKind(rm))
			}
			raw = sub["ground_truth"]
		}
		if raw == nil || isNull(raw) {
			return "", "", errors.New(`missing "solution" (and no "reward_model"."ground_truth")`)
		}
	}
	answer, err = scalarText(raw)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", field, err)
	}
	if strings.TrimSpace(answer) == "" {
		return "", "", fmt.Errorf("empty %q", field)
	}
	return prompt, answer, nil
}

// promptFromMessages returns the content of the last user message, or of the
// last message when no message has the role "user".
func promptFromMessages(msgs []message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content
		}
	}
	if len(msgs) > 0 {
		return msgs[len(msgs)-1].Content
	}
	return ""
}

// scalarText returns a JSON string's value, or a JSON number's literal text.
func scalarText(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("is %s, want a string or a number", jsonKind(raw))
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "empty"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// parquetColumns locates the leaf columns LoadDAPO reads; -1 marks a column
// the file lacks.
type parquetColumns struct {
	prompt      int // "prompt" as a string
	content     int // "prompt" as a list of messages: their contents ...
	role        int // ... and roles
	solution    int
	groundTruth int
}

// loadParquet reads a Parquet file. Opening or reading a damaged file can
// panic inside the Parquet library; such a panic is turned into an error
// naming the file.
func loadParquet(path string) (exs []Example, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("tasks: %s: file is empty", path)
	}
	defer func() {
		if p := recover(); p != nil {
			exs, err = nil, fmt.Errorf("tasks: %s: damaged Parquet file (read %d rows): %v", path, len(exs), p)
		}
	}()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("tasks: %s: not a readable Parquet file: %w", path, err)
	}
	cols, err := findParquetColumns(pf.Schema())
	if err != nil {
		return nil, fmt.Errorf("tasks: %s: %w", path, err)
	}

	rd := parquet.NewReader(pf)
	defer rd.Close()
	rows := make([]parquet.Row, 64)
	for {
		n, rerr := rd.ReadRows(rows)
		for _, row := range rows[:n] {
			prompt, answer, perr := cols.record(row)
			if perr != nil {
				return nil, fmt.Errorf("tasks: %s: row %d: %w", path, len(exs), perr)
			}
			exs = append(exs, dapoExample(len(exs), prompt, answer))
		}
		if rerr == io.EOF {
			return exs, nil
		}
		if rerr != nil {
			return nil, fmt.Errorf("tasks: %s: row %d: %w", path, len(exs), rerr)
		}
	}
}

// findParquetColumns finds the prompt and answer columns of a schema.
func findParquetColumns(s *parquet.Schema) (parquetColumns, error) {
	cols := parquetColumns{prompt: -1, content: -1, role: -1, solution: -1, groundTruth: -1}
	if leaf, ok := s.Lookup("prompt"); ok {
		cols.prompt = leaf.ColumnIndex
	}
	if leaf, ok := s.Lookup("solution"); ok {
		cols.solution = leaf.ColumnIndex
	}
	if leaf, ok := s.Lookup("reward_model", "ground_truth"); ok {
		cols.groundTruth = leaf.ColumnIndex
	}
	for _, path := range s.Columns() {
		if len(path) < 2 || path[0] != "prompt" {
			continue
		}
		leaf, _ := s.Lookup(path...)
		switch path[len(path)-1] {
		case "content":
			cols.content = leaf.ColumnIndex
		case "role":
			cols.role = leaf.ColumnIndex
		}
	}
	var names []string
	for _, path := range s.Columns() {
		names = append(names, strings.Join(path, "."))
	}
	if cols.prompt < 0 && cols.content < 0 {
		return cols, fmt.Errorf(`no "prompt" column (columns: %s)`, strings.Join(names, ", "))
	}
	if cols.solution < 0 && cols.groundTruth < 0 {
		return cols, fmt.Errorf(`no "solution" or "reward_model.ground_truth" column (columns: %s)`,
			strings.Join(names, ", "))
	}
	return cols, nil
}

// record extracts the prompt and reference answer of one row.
func (c parquetColumns) record(row parquet.Row) (prompt, answer string, err error) {
	var contents, roles []string
	var hasPrompt, hasSolution, hasTruth bool
	var solution, truth string
	for _, v := range row {
		col := v.Column()
		if v.IsNull() || (col != c.prompt && col != c.content && col != c.role &&
			col != c.solution && col != c.groundTruth) {
			continue
		}
		text, err := valueText(v)
		if err != nil {
			return "", "", fmt.Errorf("column %d: %w", col, err)
		}
		switch col {
		case c.prompt:
			prompt, hasPrompt = text, true
		case c.content:
			contents = append(contents, text)
		case c.role:
			roles = append(roles, text)
		case c.solution:
			solution, hasSolution = text, true
		case c.groundTruth:
			truth, hasTruth = text, true
		}
	}

	if !hasPrompt && len(contents) > 0 {
		msgs := make([]message, len(contents))
		for i, text := range contents {
			msgs[i].Content = text
			if len(roles) == len(contents) {
				msgs[i].Role = roles[i]
			}
		}
		prompt, hasPrompt = promptFromMessages(msgs), true
	}
	if !hasPrompt {
		return "", "", errors.New(`missing "prompt"`)
	}
	if strings.TrimSpace(prompt) == "" {
		return "", "", errors.New(`empty "prompt"`)
	}
	field := "solution"
	answer = solution
	if !hasSolution {
		if !hasTruth {
			return "", "", errors.New(`missing "solution" (and no "reward_model.ground_truth")`)
		}
		field, answer = "reward_model.ground_truth", truth
	}
	if strings.TrimSpace(answer) == "" {
		return "", "", fmt.Errorf("empty %q", field)
	}
	return prompt, answer, nil
}

// valueText converts a Parquet value of a string or number column to text.
func valueText(v parquet.Value) (string, error) {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray()), nil
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10), nil
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10), nil
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32), nil
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64), nil
	}
	return "", fmt.Errorf("holds a %v value, want a string or a number", v.Kind())
}
