package tasks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// checkLoaded fails the test if LoadDAPO's result breaks its contract: an
// error names the file; a success holds examples with non-empty prompts
// and answers, numbered from 0.
func checkLoaded(t *testing.T, path string, exs []Example, err error) {
	t.Helper()
	if err != nil {
		if !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	if len(exs) == 0 {
		t.Fatal("no examples and no error")
	}
	for i, ex := range exs {
		if strings.TrimSpace(ex.Prompt) == "" || strings.TrimSpace(ex.Answer) == "" {
			t.Fatalf("example %d: empty prompt %q or answer %q accepted", i, ex.Prompt, ex.Answer)
		}
		if want := dapoExample(i, ex.Prompt, ex.Answer); ex != want {
			t.Fatalf("example %d is %+v, want %+v", i, ex, want)
		}
	}
}

// FuzzLoadDAPOJSON feeds whole files, as JSON lines or one JSON array, to
// LoadDAPO.
func FuzzLoadDAPOJSON(f *testing.F) {
	for _, s := range []string{
		"{\"prompt\": \"p\", \"solution\": \"1\"}\n{\"prompt\": \"q\", \"reward_model\": {\"ground_truth\": 2}}\n",
		"[{\"prompt\": [{\"role\": \"user\", \"content\": \"p\"}], \"solution\": \"x\"}]",
		"\n\n{\"prompt\": \"p\", \"solution\": null, \"reward_model\": {\"ground_truth\": \"7\"}}\r\n",
		"  [ ]", "[", "{", "{}\n", "\xef\xbb\xbf{\"prompt\": \"p\", \"solution\": \"1\"}",
		"{\"prompt\": \"p\", \"solution\": \"1\"} {\"prompt\": \"q\", \"solution\": \"2\"}",
		"{\"prompt\": \"\\ud800\", \"solution\": \"1\"}\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "rows.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		exs, err := LoadDAPO(path)
		checkLoaded(t, path, exs, err)
	})
}

// fuzzRow is a DAPO Parquet row whose fields the fuzzer chooses.
type fuzzRow struct {
	Prompt   string  `parquet:"prompt"`
	Solution *string `parquet:"solution,optional"`
	Reward   struct {
		GroundTruth string `parquet:"ground_truth"`
	} `parquet:"reward_model"`
}

// FuzzLoadDAPOParquet writes Parquet files of two rows with fuzzed fields,
// optionally with one byte changed, and loads them.
func FuzzLoadDAPOParquet(f *testing.F) {
	f.Add("Problem A", "34", true, "gt", "Problem B", uint16(0), byte(0))
	f.Add("", "", false, "", " ", uint16(0), byte(0))
	f.Add("p", "\xff", false, "\x00", "q", uint16(40), byte(0x5a))
	f.Add("p", "1", true, "2", "q", uint16(65535), byte(0xff))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, prompt, solution string, hasSolution bool, truth, prompt2 string, flipAt uint16, flip byte) {
		rows := make([]fuzzRow, 2)
		rows[0].Prompt, rows[0].Reward.GroundTruth = prompt, truth
		if hasSolution {
			rows[0].Solution = &solution
		}
		rows[1].Prompt, rows[1].Reward.GroundTruth = prompt2, truth
		path := filepath.Join(dir, "rows.parquet")
		if err := parquet.WriteFile(path, rows); err != nil {
			t.Skip(err)
		}
		if flip != 0 {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[int(flipAt)%len(data)] ^= flip
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		exs, err := LoadDAPO(path)
		checkLoaded(t, path, exs, err)
	})
}
