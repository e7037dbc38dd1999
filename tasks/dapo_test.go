package tasks

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDAPOJSON(t *testing.T) {
	want := []Example{
		{ID: "dapo-0", Prompt: "What is 2+2?", Answer: "4", Family: FamilyDAPO},
		{ID: "dapo-1", Prompt: "Name 1000.", Answer: "1000", Family: FamilyDAPO},
	}
	tests := []struct {
		name, file, content string
	}{
		{"jsonl", "a.jsonl",
			`{"prompt": "What is 2+2?", "solution": "4", "data_source": "x", "extra_info": {"index": 7}}` + "\n" +
				"\n" + // blank lines are skipped
				`{"prompt": "Name 1000.", "solution": "1000"}` + "\n"},
		{"ground truth fallback", "b.jsonl",
			`{"prompt": "What is 2+2?", "reward_model": {"ground_truth": "4", "style": "rule"}}` + "\n" +
				`{"prompt": "Name 1000.", "solution": null, "reward_model": {"ground_truth": 1000}}`},
		{"chat messages", "c.jsonl",
			`{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}], "solution": 4}` + "\n" +
				`{"prompt": [{"role": "user", "content": "Name 1000."}], "solution": "1000"}`},
		{"json lines with .json", "d.json",
			`{"prompt": "What is 2+2?", "solution": "4"}` + "\r\n" + `{"prompt": "Name 1000.", "solution": "1000"}`},
		{"byte order mark", "f.jsonl",
			"\ufeff" + `{"prompt": "What is 2+2?", "solution": "4"}` + "\n" + `{"prompt": "Name 1000.", "solution": "1000"}`},
		{"json array", "e.json",
			` [{"prompt": "What is 2+2?", "solution": "4"}, {"prompt": "Name 1000.", "solution": "1000"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadDAPO(writeFile(t, tt.file, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestLoadDAPOJSONErrors(t *testing.T) {
	good := `{"prompt": "p", "solution": "1"}` + "\n"
	tests := []struct {
		name, file, content string
		want                []string // substrings of the error
	}{
		{"empty file", "a.jsonl", "", []string{"a.jsonl", "no records"}},
		{"only blank lines", "a.jsonl", "\n  \n", []string{"no records"}},
		{"bad JSON", "a.jsonl", good + `{"prompt": "p", "solution": }`, []string{"a.jsonl", "line 2", "bad JSON"}},
		{"not an object", "a.jsonl", good + good + `[1, 2]`, []string{"line 3", "bad JSON"}},
		{"null record", "a.jsonl", `null`, []string{"line 1", "null"}},
		{"missing prompt", "a.jsonl", `{"solution": "1"}`, []string{"line 1", `missing "prompt"`}},
		{"empty prompt", "a.jsonl", `{"prompt": " ", "solution": "1"}`, []string{"line 1", `empty "prompt"`}},
		{"prompt of wrong type", "a.jsonl", `{"prompt": 5, "solution": "1"}`, []string{"line 1", `"prompt" is a number`}},
		{"missing solution", "a.jsonl", good + `{"prompt": "p"}`, []string{"line 2", `missing "solution"`}},
		{"null solution without ground truth", "a.jsonl", `{"prompt": "p", "solution": null, "reward_model": {}}`,
			[]string{"line 1", `missing "solution"`}},
		{"empty solution", "a.jsonl", `{"prompt": "p", "solution": ""}`, []string{"line 1", `empty "solution"`}},
		{"empty ground truth", "a.jsonl", `{"prompt": "p", "reward_model": {"ground_truth": " "}}`,
			[]string{"line 1", `empty "reward_model.ground_truth"`}},
		{"solution of wrong type", "a.jsonl", `{"prompt": "p", "solution": [1]}`,
			[]string{"line 1", `"solution"`, "is a list"}},
		{"reward model of wrong type", "a.jsonl", `{"prompt": "p", "reward_model": "4"}`,
			[]string{"line 1", `"reward_model" is a string`}},
		{"bad array element", "a.json", `[{"prompt": "p", "solution": "1"}, {"prompt": "p"}]`,
			[]string{"a.json", "array element 1", `missing "solution"`}},
		{"unterminated array", "a.json", `[{"prompt": "p", "solution": "1"}`, []string{"a.json", "bad JSON"}},
		{"empty array", "a.json", `[]`, []string{"no records"}},
		{"unknown extension", "a.csv", "prompt,solution\n", []string{"a.csv", "unknown extension"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDAPO(writeFile(t, tt.file, tt.content))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := LoadDAPO(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
		t.Error("missing file: no error")
	}
}

// Parquet layouts used by the tests.
type dapoRow struct {
	Prompt     string  `parquet:"prompt"`
	Solution   *string `parquet:"solution,optional"`
	DataSource string  `parquet:"data_source"`
	Reward     struct {
		GroundTruth string `parquet:"ground_truth"`
	} `parquet:"reward_model"`
}

type chatMessage struct {
	Content string `parquet:"content"`
	Role    string `parquet:"role"`
}

type chatRow struct {
	Prompt []chatMessage `parquet:"prompt,list"`
	Reward struct {
		GroundTruth string `parquet:"ground_truth"`
	} `parquet:"reward_model"`
}

type noSolutionRow struct {
	Prompt string `parquet:"prompt"`
}

type intSolutionRow struct {
	Prompt   string `parquet:"prompt"`
	Solution int64  `parquet:"solution"`
}

func writeParquet[T any](t *testing.T, rows []T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr(s string) *string { return &s }

func dapoRows(solutions ...*string) []dapoRow {
	rows := make([]dapoRow, len(solutions))
	for i, s := range solutions {
		rows[i].Prompt = "Problem " + string(rune('A'+i))
		rows[i].Solution = s
		rows[i].DataSource = "math_dapo"
		rows[i].Reward.GroundTruth = "gt" + string(rune('A'+i))
	}
	return rows
}

func TestLoadDAPOParquet(t *testing.T) {
	got, err := LoadDAPO(writeParquet(t, dapoRows(ptr("34"), nil, ptr("1,000"))))
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{ID: "dapo-0", Prompt: "Problem A", Answer: "34", Family: FamilyDAPO},
		{ID: "dapo-1", Prompt: "Problem B", Answer: "gtB", Family: FamilyDAPO}, // null solution: ground truth
		{ID: "dapo-2", Prompt: "Problem C", Answer: "1,000", Family: FamilyDAPO},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	chat := []chatRow{{Prompt: []chatMessage{{"Be brief.", "system"}, {"What is 2+2?", "user"}, {"Four.", "assistant"}}}}
	chat[0].Reward.GroundTruth = "4"
	got, err = LoadDAPO(writeParquet(t, chat))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Prompt != "What is 2+2?" || got[0].Answer != "4" {
		t.Errorf("chat prompt: got %+v, want the user message and its ground truth", got)
	}

	got, err = LoadDAPO(writeParquet(t, []intSolutionRow{{"p", 12}}))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Answer != "12" {
		t.Errorf("integer solution: got %q, want \"12\"", got[0].Answer)
	}
}

func TestLoadDAPOParquetErrors(t *testing.T) {
	emptyPrompt := dapoRows(ptr("1"), ptr("2"))
	emptyPrompt[1].Prompt = ""
	emptyTruth := dapoRows(ptr("1"), nil)
	emptyTruth[1].Reward.GroundTruth = ""
	tests := []struct {
		name string
		path func(t *testing.T) string
		want []string
	}{
		{"empty solution", func(t *testing.T) string { return writeParquet(t, dapoRows(ptr("1"), ptr("2"), ptr(" "))) },
			[]string{"data.parquet", "row 2", `empty "solution"`}},
		{"empty prompt", func(t *testing.T) string { return writeParquet(t, emptyPrompt) },
			[]string{"row 1", `empty "prompt"`}},
		{"null solution, empty ground truth", func(t *testing.T) string { return writeParquet(t, emptyTruth) },
			[]string{"row 1", `empty "reward_model.ground_truth"`}},
		{"no solution column", func(t *testing.T) string { return writeParquet(t, []noSolutionRow{{"p"}}) },
			[]string{"data.parquet", `no "solution"`, "columns: prompt"}},
		{"no rows", func(t *testing.T) string { return writeParquet(t, []dapoRow{}) },
			[]string{"data.parquet", "no records"}},
		{"zero bytes", func(t *testing.T) string { return writeFile(t, "data.parquet", "") },
			[]string{"data.parquet", "empty"}},
		{"not parquet", func(t *testing.T) string { return writeFile(t, "data.parquet", `{"prompt": "p"}`) },
			[]string{"data.parquet", "not a readable Parquet file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDAPO(tt.path(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadDAPOParquetTruncated(t *testing.T) {
	path := writeParquet(t, dapoRows(ptr("1"), ptr("2"), ptr("3")))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the middle of the file (the column data), keep the footer.
	for i := 4; i < len(data)/2; i++ {
		data[i] = 0xff
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDAPO(path); err == nil {
		t.Error("damaged Parquet file: no error")
	} else if !strings.Contains(err.Error(), "data.parquet") {
		t.Errorf("error %q does not name the file", err)
	}
}

// Flipping a byte of a Parquet file must give a result or an error, never a
// panic. Every third byte keeps the test short.
func TestLoadDAPOParquetBitFlips(t *testing.T) {
	path := writeParquet(t, dapoRows(ptr("1"), nil, ptr("3")))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(orig); i += 3 {
		data := slices.Clone(orig)
		data[i] ^= 0x5a
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		exs, err := LoadDAPO(path)
		if err == nil && len(exs) == 0 {
			t.Errorf("byte %d flipped: no examples and no error", i)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		`{"prompt": "p", "solution": "1"}`,
		`{"prompt": [{"role": "user", "content": "p"}], "reward_model": {"ground_truth": 3}}`,
		`{"prompt": null}`, `[]`, `null`, `{"prompt": "p", "reward_model": 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		prompt, answer, err := parseRecord(data)
		if err == nil && (strings.TrimSpace(prompt) == "" || strings.TrimSpace(answer) == "") {
			t.Errorf("parseRecord(%q) accepted an empty prompt %q or answer %q", data, prompt, answer)
		}
	})
}
