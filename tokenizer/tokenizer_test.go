package tokenizer

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestReferenceEncodings(t *testing.T) {
	tok := loadQwen3(t)
	cases := loadReference(t)
	if len(cases) != 350 {
		t.Fatalf("reference has %d cases, want 350", len(cases))
	}
	failed := 0
	for i, c := range cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			failed++
			t.Errorf("case %d: Encode(%q)\n got %v\nwant %v\npieces %q", i+1, c.Text, got, c.IDs, Pretokenize(norm.NFC.String(c.Text)))
		}
		if dec, want := tok.Decode(c.IDs), norm.NFC.String(c.Text); dec != want {
			t.Errorf("case %d: Decode(ids of %q) = %q, want %q", i+1, c.Text, dec, want)
		}
	}
	t.Logf("%d of %d reference cases match", len(cases)-failed, len(cases))
}

func TestAnchors(t *testing.T) {
	tok := loadQwen3(t)
	tests := []struct {
		text string
		want []int32
	}{
		{"Hello world", []int32{9707, 1879}},
		{"<|im_start|>user\nHi<|im_end|>", []int32{151644, 872, 198, 13048, 151645}},
		{"", []int32{}},
	}
	for _, tt := range tests {
		if got := tok.Encode(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestVocabAndTokens(t *testing.T) {
	tok := loadQwen3(t)
	if got := tok.VocabSize(); got != 151669 {
		t.Errorf("VocabSize() = %d, want 151669", got)
	}
	tests := []struct {
		token   string
		id      int32
		special bool
	}{
		{"<|endoftext|>", 151643, true},
		{"<|im_start|>", 151644, true},
		{"<|im_end|>", 151645, true},
		{"<think>", 151667, false},
		{"</think>", 151668, false},
		{"Ġ", 220, false},
		{"a", 64, false},
	}
	for _, tt := range tests {
		id, ok := tok.TokenID(tt.token)
		if !ok || id != tt.id {
			t.Errorf("TokenID(%q) = %d, %t; want %d, true", tt.token, id, ok, tt.id)
		}
		if s, ok := tok.Token(tt.id); !ok || s != tt.token {
			t.Errorf("Token(%d) = %q, %t; want %q, true", tt.id, s, ok, tt.token)
		}
		if got := tok.IsSpecial(tt.id); got != tt.special {
			t.Errorf("IsSpecial(%d) = %t, want %t", tt.id, got, tt.special)
		}
	}
	if _, ok := tok.TokenID("<|no such token|>"); ok {
		t.Error("TokenID of an unknown token reported ok")
	}
	for _, id := range []int32{-1, 151669, 151935, math.MaxInt32} {
		if s, ok := tok.Token(id); ok {
			t.Errorf("Token(%d) = %q, true; want false", id, s)
		}
	}
	if n := len(tok.AddedTokens()); n != 26 {
		t.Errorf("%d added tokens, want 26", n)
	}
}

func TestDecodeSkipsUnknownIDs(t *testing.T) {
	tok := loadQwen3(t)
	if got := tok.Decode([]int32{9707, -5, 151700, math.MaxInt32, 1879}); got != "Hello world" {
		t.Errorf("Decode = %q, want %q", got, "Hello world")
	}
}

// TestByteRoundTrip encodes every single byte and every pair of bytes
// (valid UTF-8 or not) and decodes them back.
func TestByteRoundTrip(t *testing.T) {
	tok := loadQwen3(t)
	for a := range 256 {
		s := string([]byte{byte(a)})
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Fatalf("byte 0x%02x: round trip gave %q", a, got)
		}
		for b := 0; b < 256; b += 7 {
			s := string([]byte{byte(a), byte(b), 'x', byte(b)})
			if got, want := tok.Decode(tok.Encode(s)), tok.Normalize(s); got != want {
				t.Fatalf("%q: round trip gave %q, want %q", s, got, want)
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	tok := loadQwen3(t)
	tests := []string{
		"\xff",
		"abc\xffdef",
		"e\xcc\x81\xff e\xcc\x81",    // NFC on each side of the invalid byte
		"\xe4\xb8",                   // truncated character
		"<|im_end|>\x80<|im_start|>", // invalid byte between added tokens
		strings.Repeat("\xc3", 100),
	}
	for _, s := range tests {
		got := tok.Decode(tok.Encode(s))
		if got != tok.Normalize(s) {
			t.Errorf("%q: round trip gave %q, want %q", s, got, tok.Normalize(s))
		}
		if utf8.ValidString(s) != utf8.ValidString(got) {
			t.Errorf("%q: round trip changed UTF-8 validity: %q", s, got)
		}
	}
	if got, want := tok.Normalize("e\xcc\x81\xff"), "\u00e9\xff"; got != want {
		t.Errorf("Normalize = %q, want %q", got, want)
	}
}

// TestLongPieces checks the heap merge of long pieces against the simple
// merge loop.
func TestLongPieces(t *testing.T) {
	tok := loadQwen3(t)
	pieces := []string{
		strings.Repeat("a", 200),
		strings.Repeat(" ", 1000),
		strings.Repeat("ab", 150),
		strings.Repeat("=-", 100),
		strings.Repeat("天地玄黄", 40),
		"Supercalifragilisticexpialidocious" + strings.Repeat("ness", 30),
	}
	for _, c := range loadReference(t) {
		pieces = append(pieces, c.Text) // whole texts as single words
	}
	for _, p := range pieces {
		var word []int32
		for i := 0; i < len(p); i++ {
			word = append(word, tok.byteIDs[p[i]])
		}
		fast := tok.mergeHeap(slices.Clone(word))
		slow := tok.mergeScan(slices.Clone(word))
		if !slices.Equal(fast, slow) {
			t.Errorf("piece %.20q...: heap merge %v, scan merge %v", p, fast, slow)
		}
		if got := tok.Decode(tok.Encode(p)); got != tok.Normalize(p) {
			t.Errorf("piece %.20q...: round trip failed", p)
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadQwen3(t)
	cases := loadReference(t)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := g; i < len(cases); i += 2 {
				ok = ok && slices.Equal(tok.Encode(cases[i].Text), cases[i].IDs)
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Encode gave wrong ids")
		}
	}
}
