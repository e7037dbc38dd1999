package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

func TestPretokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},
		{"don't DON'T We'Ve I'll", []string{"don", "'t", " DON", "'T", " We", "'Ve", " I", "'ll"}},
		{"'sx 're", []string{"'s", "x", " '", "re"}},
		{"'hello", []string{"'hello"}},
		{"12345", []string{"1", "2", "3", "4", "5"}},
		{"s3142=1234", []string{"s", "3", "1", "4", "2", "=", "1", "2", "3", "4"}},
		{"3+5+2=10", []string{"3", "+", "5", "+", "2", "=", "1", "0"}},
		{"x  y", []string{"x", " ", " y"}},
		{"x   ", []string{"x", "   "}},
		{"x  !", []string{"x", " ", " !"}},
		{"a\t!", []string{"a", "\t", "!"}},
		{"a\tb", []string{"a", "\tb"}},
		{" 5", []string{" ", "5"}},
		{"  5", []string{" ", " ", "5"}},
		{"a\n\nb", []string{"a", "\n\n", "b"}},
		{"a \n \n  b", []string{"a", " \n \n", " ", " b"}},
		{"a\r\n", []string{"a", "\r\n"}},
		{"x!!\n\ny", []string{"x", "!!\n\n", "y"}},
		{"x ...\r\ny", []string{"x", " ...\r\n", "y"}},
		{"\u00a0a", []string{"\u00a0a"}},
		{"a\u3000\u3000b", []string{"a", "\u3000", "\u3000b"}},
		{"\u4f60\u597d\uff0c\u4e16\u754c", []string{"\u4f60\u597d", "\uff0c\u4e16\u754c"}},
		{"\u0661\u0662", []string{"\u0661", "\u0662"}},
		{"x\xffy", []string{"x", "\xffy"}},
		{"\xff\xfe!", []string{"\xff\xfe!"}},
		{"'\u017f", []string{"'\u017f"}}, // long s folds to s: a contraction
	}
	for _, tt := range tests {
		got := Pretokenize(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Pretokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("Pretokenize(%q): pieces do not concatenate to the input", tt.in)
		}
	}
}

func FuzzPretokenize(f *testing.F) {
	for _, s := range []string{"Hello, world!", "a \n \n  b", "x\xffy", "'S'll 3.14"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pieces := Pretokenize(s)
		for _, p := range pieces {
			if p == "" {
				t.Fatalf("empty piece in %q", pieces)
			}
		}
		if strings.Join(pieces, "") != s {
			t.Fatalf("pieces %q do not concatenate to %q", pieces, s)
		}
	})
}
