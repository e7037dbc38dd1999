package tokenizer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfc returns s in Unicode Normalization Form C. Invalid UTF-8 bytes are
// kept as they are and split s into runs that are normalised separately.
func nfc(s string) string {
	if utf8.ValidString(s) {
		return norm.NFC.String(s)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			sb.WriteString(norm.NFC.String(s[start:i]))
			sb.WriteByte(s[i])
			i++
			start = i
			continue
		}
		i += n
	}
	sb.WriteString(norm.NFC.String(s[start:]))
	return sb.String()
}
