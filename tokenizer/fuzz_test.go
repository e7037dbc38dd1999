package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzRoundTrip checks, for any string, that Encode gives ids of real
// tokens, that Decode gives back the normalised text, that re-encoding
// that text gives the same ids, and that the stream decoder agrees.
func FuzzRoundTrip(f *testing.F) {
	tok := loadQwen3(f)
	for _, c := range loadReference(f) {
		f.Add(c.Text)
	}
	for _, s := range []string{"\xff\xfe", "a\xe4\xb8", "<|im_end|\xcc\x81>", "<\u0338|im_end|>", "'S\u017f", " \r\n\t\u3000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A fresh word cache, so that each input runs the same code
		// whatever ran before it.
		tok := *tok
		tok.cache = newWordCache()
		ids := tok.Encode(s)
		for _, id := range ids {
			if !tok.has(id) {
				t.Fatalf("Encode(%q) gave id %d, which stands for no token", s, id)
			}
		}
		got := tok.Decode(ids)
		if want := tok.Normalize(s); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		if utf8.ValidString(s) {
			if !utf8.ValidString(got) || norm.NFC.String(got) != norm.NFC.String(s) {
				t.Fatalf("Decode(Encode(%q)) = %q, not canonically equivalent", s, got)
			}
		}
		if again := tok.Encode(got); !slices.Equal(again, ids) {
			t.Fatalf("Encode(%q) = %v, but Encode of its decoding %q = %v", s, ids, got, again)
		}
		d := tok.NewStreamDecoder()
		var sb strings.Builder
		for _, id := range ids {
			sb.WriteString(d.Add(id))
		}
		sb.WriteString(d.Flush())
		if sb.String() != validUTF8(got) {
			t.Fatalf("stream decoding of %q = %q, want %q", s, sb.String(), validUTF8(got))
		}
	})
}
