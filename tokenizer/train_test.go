package tokenizer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// arithmetic is a small corpus like the built-in experiment's prompts.
func arithmetic() []string {
	var lines []string
	for i := range 200 {
		a, b, c := i*37%100, i*53%1000, i%9
		lines = append(lines,
			fmt.Sprintf("s%d=%d", a*b, a+b),
			fmt.Sprintf("%d+%d+%d=%d", a, b, c, a+b+c),
			fmt.Sprintf("Q: what is %d-%d? A: %d<|im_end|>", b, a, b-a))
	}
	return lines
}

func TestTrainArithmetic(t *testing.T) {
	corpus := arithmetic()
	special := []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	tok, err := Train(corpus, TrainConfig{VocabSize: 320, Special: special})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.VocabSize(); got > 320 || got < 256+len(special) {
		t.Fatalf("VocabSize() = %d, want at most 320", got)
	}
	for i, s := range special {
		id, ok := tok.TokenID(s)
		if want := int32(tok.VocabSize() - len(special) + i); !ok || id != want || !tok.IsSpecial(id) {
			t.Errorf("TokenID(%q) = %d, %t; want special id %d", s, id, ok, want)
		}
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	imEnd, _ := tok.TokenID("<|im_end|>")
	for _, line := range corpus {
		ids := tok.Encode(line)
		if got := tok.Decode(ids); got != line {
			t.Errorf("round trip of %q gave %q", line, got)
		}
		if got := loaded.Encode(line); !slices.Equal(got, ids) {
			t.Errorf("%q: loaded tokenizer gives %v, trained one %v", line, got, ids)
		}
		if strings.HasSuffix(line, "<|im_end|>") && ids[len(ids)-1] != imEnd {
			t.Errorf("%q: does not end in <|im_end|> (%d): %v", line, imEnd, ids)
		}
		for _, id := range ids {
			if s, _ := tok.Token(id); len(s) > 1 && strings.ContainsAny(s, "0123456789") {
				t.Errorf("%q: digits merged into token %q", line, s)
			}
		}
	}
	if got, want := len(tok.Encode("Q: what is")), len("Q: what is"); got >= want {
		t.Errorf("no merges used: %d tokens for %d bytes", got, want)
	}
}

func TestTrainDeterministic(t *testing.T) {
	corpus := []string{"the cat sat on the mat", "the hat", "a cat, a hat, a mat", "你好你好世界"}
	var outs [][]byte
	for range 3 {
		tok, err := Train(corpus, TrainConfig{VocabSize: 290, Special: []string{"<s>"}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tok.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, buf.Bytes())
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Fatal("training twice gave different tokenizers")
		}
	}
}

func TestTrainMerges(t *testing.T) {
	// Pieces "ab", " ab" twice, " abc", "xy": "ab" (4 times) merges first,
	// then "Ġab" (3); of the pairs seen once, x+y has smaller ids than
	// Ġab+c.
	tok, err := Train([]string{"ab ab ab abc", "xy"}, TrainConfig{VocabSize: 260})
	if err != nil {
		t.Fatal(err)
	}
	var merged []string
	for id := int32(256); int(id) < tok.VocabSize(); id++ {
		s, _ := tok.Token(id)
		merged = append(merged, s)
	}
	if want := []string{"ab", "Ġab", "xy", "Ġabc"}; !slices.Equal(merged, want) {
		t.Errorf("merged tokens %q, want %q", merged, want)
	}
	if got, want := tok.Encode(" ab abc"), []int32{257, 259}; !slices.Equal(got, want) {
		t.Errorf("Encode(\" ab abc\") = %v, want %v", got, want)
	}
}

func TestTrainConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  TrainConfig
		want string
	}{
		{"too small", TrainConfig{VocabSize: 200}, "below the minimum 256"},
		{"too small with specials", TrainConfig{VocabSize: 257, Special: []string{"<a>", "<b>"}}, "below the minimum 258"},
		{"empty special", TrainConfig{VocabSize: 300, Special: []string{""}}, "empty"},
		{"repeated special", TrainConfig{VocabSize: 300, Special: []string{"<a>", "<a>"}}, "twice"},
		{"special is a byte", TrainConfig{VocabSize: 300, Special: []string{"+"}}, "also a vocabulary token"},
	}
	for _, tt := range tests {
		_, err := Train([]string{"1+1=2"}, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestTrainMinFrequency(t *testing.T) {
	corpus := []string{"aa aa aa bb"}
	tok, err := Train(corpus, TrainConfig{VocabSize: 1000, MinFrequency: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Only pairs seen at least 3 times merge: "aa" and then "Ġaa" (twice) does not.
	if got := tok.VocabSize(); got != 257 {
		t.Errorf("VocabSize() = %d, want 257", got)
	}
	tok, err = Train(corpus, TrainConfig{VocabSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var merged []string
	for id := int32(256); int(id) < tok.VocabSize(); id++ {
		s, _ := tok.Token(id)
		merged = append(merged, s)
	}
	// b+b (ids 65, 65) and Ġ+b (220, 65) tie; the smaller ids go first.
	if want := []string{"aa", "Ġaa", "bb", "Ġbb"}; !slices.Equal(merged, want) {
		t.Errorf("merged tokens %q, want %q", merged, want)
	}
	for _, s := range corpus {
		if tok.Decode(tok.Encode(s)) != s {
			t.Errorf("round trip of %q failed", s)
		}
	}
}
