package tokenizer

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// smallTokenizerJSON trains a small tokenizer with special tokens and
// returns its tokenizer.json, a seed for FuzzParse.
func smallTokenizerJSON(tb testing.TB, nfc bool) []byte {
	tb.Helper()
	tok, err := Train([]string{"s3142=1234", "3+5+2=10", "hello hello world", "naïve café"},
		TrainConfig{VocabSize: 280, Special: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}})
	if err != nil {
		tb.Fatal(err)
	}
	tok.nfc = nfc
	var buf bytes.Buffer
	if err := tok.WriteJSON(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// slowParse is the most one FuzzParse input may take; more means a
// tokenizer.json can stall a command (the fuzzer's instrumentation and a
// busy machine are allowed for).
const slowParse = 20 * time.Second

// longNumber matches a number of 6 or more digits.
var longNumber = regexp.MustCompile(`[0-9]{6}`)

// FuzzParse feeds arbitrary bytes to the tokenizer.json parser. It must
// never panic; a tokenizer it accepts must encode and decode any text
// without panicking, and survive a WriteJSON and Parse round trip that
// encodes the same text to the same ids.
func FuzzParse(f *testing.F) {
	small := smallTokenizerJSON(f, false)
	f.Add(small, "hello world 3+5=8")
	f.Add(smallTokenizerJSON(f, true), "<|im_start|>user\nnaïve<|im_end|>")
	for _, edit := range [][2]string{
		{`"type": "BPE"`, `"type": "WordPiece"`},
		{`"added_tokens": [`, `"added_tokens": [{"id": 0, "content": "", "special": true},`},
		{`"vocab": {`, `"vocab": {"dup": 1, `},
		{`"merges": [`, `"merges": ["a b c", `},
		{`"decoder": `, `"decoder": null, "x": `},
	} {
		f.Add(bytes.Replace(small, []byte(edit[0]), []byte(edit[1]), 1), "hi")
	}
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"model": null}`, `{"model": {"type": "BPE", "vocab": {}, "merges": []}}`,
		`{"model": {"vocab": {"a": 0}, "merges": []}, "decoder": {"type": "ByteLevel"}}`,
		`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}}`,
		`{"added_tokens": [{"id": 1, "content": "x"}], "model": {"merges": [["a", "b"]]}}`} {
		f.Add([]byte(s), "a")
	}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > slowParse {
				t.Fatalf("one input took %v", d)
			}
		}()
		if longNumber.Match(data) {
			// Ids up to maxID are valid, but a tokenizer with a
			// large sparse id costs a second to build, which would
			// leave the fuzzer doing little else.
			t.Skip("number of 6 or more digits")
		}
		tok, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error does not say where it comes from: %v", err)
			}
			return
		}
		ids := tok.Encode(text)
		out := tok.Decode(ids)
		if utf8.ValidString(text) && len(ids) > 0 && out == "" {
			t.Fatalf("%q encodes to %v but decodes to nothing", text, ids)
		}
		var buf bytes.Buffer
		if err := tok.WriteJSON(&buf); err != nil {
			t.Fatalf("accepted tokenizer cannot be written: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("written tokenizer does not parse: %v\n%s", err, buf.Bytes())
		}
		if got := again.Encode(text); !slices.Equal(got, ids) {
			t.Fatalf("after a write and parse, %q encodes to %v, want %v", text, got, ids)
		}
	})
}

// FuzzRenderChat renders arbitrary conversations with Qwen3's chat
// template. It must never panic; every user turn's content must appear in
// the text; the generation prompt must end it when asked for.
func FuzzRenderChat(f *testing.F) {
	f.Add("system", "Be brief.", "user", "What is 2+2?", "assistant", "<think>\nadd\n</think>\n\n4", true, true)
	f.Add("user", "hi", "assistant", "</think>", "tool", "42", false, false)
	f.Add("tool", "<tool_response>x</tool_response>", "user", "<tool_response>y</tool_response>", "assistant", "<think><think></think>", true, false)
	f.Add("", "", "other", "\xff", "assistant", "", true, true)
	f.Fuzz(func(t *testing.T, r1, c1, r2, c2, r3, c3 string, genPrompt, thinking bool) {
		msgs := []Message{{r1, c1}, {r2, c2}, {r3, c3}}
		out := RenderChat(msgs, genPrompt, thinking)
		for _, m := range msgs {
			if m.Role == "user" && !strings.Contains(out, imStart+"user\n"+m.Content) {
				t.Fatalf("user content %q missing from %q", m.Content, out)
			}
		}
		suffix := imStart + "assistant\n"
		if !thinking {
			suffix += "<think>\n\n</think>\n\n"
		}
		if genPrompt && !strings.HasSuffix(out, suffix) {
			t.Fatalf("generation prompt missing: %q", out)
		}
		if !genPrompt && out != "" && !strings.HasSuffix(out, imEnd+"\n") {
			t.Fatalf("rendered text does not end a turn: %q", out)
		}
	})
}
