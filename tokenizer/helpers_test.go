package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"testing"
)

// qwen3 loads testdata/tokenizer.json.gz once for all tests.
var qwen3 = sync.OnceValues(func() (*Tokenizer, error) {
	return Load("testdata/tokenizer.json.gz")
})

func loadQwen3(tb testing.TB) *Tokenizer {
	tb.Helper()
	tok, err := qwen3()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// refCase is a line of testdata/qwen3_tokenizer_reference.jsonl.
type refCase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

func loadReference(tb testing.TB) []refCase {
	tb.Helper()
	f, err := os.Open("testdata/qwen3_tokenizer_reference.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []refCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c refCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("reference line %d: %v", len(cases)+1, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return cases
}
