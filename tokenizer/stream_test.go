package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStreamDecoder(t *testing.T) {
	tok := loadQwen3(t)
	texts := []string{
		"Hello world",
		"你好，世界！ 😀👍🏽 👨‍👩‍👧‍👦 🇯🇵",
		"<|im_start|>assistant\n<think>\n\n</think>\n\n答案是 42<|im_end|>",
		"ðŸ˜€ mixed é and e\u0301",
	}
	for _, text := range texts {
		ids := tok.Encode(text)
		d := tok.NewStreamDecoder()
		var sb strings.Builder
		for _, id := range ids {
			out := d.Add(id)
			if !utf8.ValidString(out) {
				t.Fatalf("%q: Add returned invalid UTF-8 %q", text, out)
			}
			sb.WriteString(out)
		}
		sb.WriteString(d.Flush())
		if got, want := sb.String(), tok.Decode(ids); got != want {
			t.Errorf("stream decode %q, want %q", got, want)
		}
	}
}

// TestStreamDecoderBytes feeds single byte tokens, including sequences that
// never complete.
func TestStreamDecoderBytes(t *testing.T) {
	tok := loadQwen3(t)
	tests := []struct {
		in   string
		adds []string // what each Add returns
		want string   // everything, with Flush
	}{
		{"\xe4\xbd\xa0a", []string{"", "", "你", "a"}, "你a"},
		{"\xe4\xbdb", []string{"", "", "\ufffdb"}, "\ufffdb"},
		{"\xff", []string{"\ufffd"}, "\ufffd"},
		{"a\xf0\x9f\x98", []string{"a", "", "", ""}, "a\ufffd"},
		{"\xed\xa0\x80", []string{"", "\ufffd\ufffd", "\ufffd"}, "\ufffd\ufffd\ufffd"}, // a surrogate
	}
	for _, tt := range tests {
		d := tok.NewStreamDecoder()
		var all strings.Builder
		for i := 0; i < len(tt.in); i++ {
			got := d.Add(tok.byteIDs[tt.in[i]])
			if got != tt.adds[i] {
				t.Errorf("%q: Add #%d = %q, want %q", tt.in, i, got, tt.adds[i])
			}
			all.WriteString(got)
		}
		all.WriteString(d.Flush())
		if all.String() != tt.want {
			t.Errorf("%q: decoded %q, want %q", tt.in, all.String(), tt.want)
		}
		if got := validUTF8(tt.in); got != tt.want {
			t.Errorf("validUTF8(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if d.Flush() != "" {
			t.Errorf("%q: second Flush returned text", tt.in)
		}
	}
}
