package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// byteToRune maps each byte to the printable character that stands for it in
// byte-level BPE vocabularies (the GPT-2 convention): printable Latin-1
// bytes stand for themselves, the others are moved to U+0100 and up.
var byteToRune = func() [256]rune {
	var t [256]rune
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// runeToByte is the inverse of byteToRune; entries that are not byte-level
// characters hold -1.
var runeToByte = func() [324]int16 {
	var t [324]int16
	for i := range t {
		t[i] = -1
	}
	for b, r := range byteToRune {
		t[r] = int16(b)
	}
	return t
}()

// byteLevelEncode returns the byte-level form of raw bytes, as stored in
// tokenizer.json vocabularies.
func byteLevelEncode(raw string) string {
	var sb strings.Builder
	sb.Grow(len(raw) * 2)
	for i := 0; i < len(raw); i++ {
		sb.WriteRune(byteToRune[raw[i]])
	}
	return sb.String()
}

// byteLevelDecode turns a byte-level token string back into raw bytes. A
// string holding characters outside the byte-level alphabet is returned
// unchanged with ok false (Hugging Face's ByteLevel decoder does the same).
func byteLevelDecode(tok string) (raw string, ok bool) {
	buf := make([]byte, 0, len(tok))
	for _, r := range tok {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return tok, false
		}
		buf = append(buf, byte(runeToByte[r]))
	}
	if !utf8.ValidString(tok) {
		return tok, false
	}
	return string(buf), true
}
