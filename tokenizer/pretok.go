package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// qwenPattern is the pre-tokenizer split pattern of Qwen2 and Qwen3, exactly
// as it appears in their tokenizer.json. splitPieces implements it.
const qwenPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// charClass is the class of one character as the split pattern sees it.
type charClass uint8

const (
	clsOther   charClass = iota // [^\s\p{L}\p{N}], and every invalid UTF-8 byte
	clsLetter                   // \p{L}
	clsNumber                   // \p{N}
	clsSpace                    // \s other than \r and \n
	clsNewline                  // \r or \n
)

// asciiClass holds the class of every ASCII character.
var asciiClass = func() [utf8.RuneSelf]charClass {
	var t [utf8.RuneSelf]charClass
	for c := range utf8.RuneSelf {
		switch {
		case c == '\r' || c == '\n':
			t[c] = clsNewline
		case c == ' ' || (c >= '\t' && c <= '\r'):
			t[c] = clsSpace
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsNumber
		default:
			t[c] = clsOther
		}
	}
	return t
}()

// classAt returns the class, the character and its width in bytes at s[i]
// (i < len(s)). An invalid UTF-8 byte is reported as utf8.RuneError of
// width 1 and class clsOther. \s is Unicode's White_Space property, as in
// Oniguruma, the regex engine of Hugging Face's tokenizers.
func classAt(s string, i int) (charClass, rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return clsOther, r, 1
	}
	switch {
	case unicode.IsLetter(r):
		return clsLetter, r, n
	case unicode.IsNumber(r):
		return clsNumber, r, n
	case unicode.Is(unicode.White_Space, r):
		return clsSpace, r, n
	}
	return clsOther, r, n
}

// skipClass returns the end of the run of characters of class cls that
// starts at i.
func skipClass(s string, i int, cls charClass) int {
	for i < len(s) {
		c, _, n := classAt(s, i)
		if c != cls {
			break
		}
		i += n
	}
	return i
}

// skipNewlines returns the end of the run of \r and \n that starts at i.
func skipNewlines(s string, i int) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// foldEq reports whether r equals the ASCII lower-case letter l under
// Unicode simple case folding ("S" and U+017F LATIN SMALL LETTER LONG S
// both match 's'), as case-insensitive matching does.
func foldEq(r rune, l byte) bool {
	start := rune(l)
	for c := start; ; {
		if c == r {
			return true
		}
		c = unicode.SimpleFold(c)
		if c == start {
			return false
		}
	}
}

// contraction returns the length in bytes of a contraction suffix matched
// case-insensitively at the start of s (s, t, re, ve, m, ll or d: the part
// after the apostrophe), or 0.
func contraction(s string) int {
	if len(s) == 0 {
		return 0
	}
	r1, n1 := utf8.DecodeRuneInString(s)
	if foldEq(r1, 's') || foldEq(r1, 't') || foldEq(r1, 'm') || foldEq(r1, 'd') {
		return n1
	}
	var second byte
	switch {
	case foldEq(r1, 'r'), foldEq(r1, 'v'):
		second = 'e'
	case foldEq(r1, 'l'):
		second = 'l'
	default:
		return 0
	}
	if n1 >= len(s) {
		return 0
	}
	r2, n2 := utf8.DecodeRuneInString(s[n1:])
	if foldEq(r2, second) {
		return n1 + n2
	}
	return 0
}

// whitespaceEnd returns the end of the piece that starts at the whitespace
// character at i, following the pattern's last three alternatives:
// \s*[\r\n]+ | \s+(?!\S) | \s+.
func whitespaceEnd(s string, i int) int {
	j := i
	lastStart := i // start of the last character of the run
	afterNL := -1  // end of the last \r or \n in the run
	for j < len(s) {
		c, _, n := classAt(s, j)
		if c != clsSpace && c != clsNewline {
			break
		}
		lastStart = j
		j += n
		if c == clsNewline {
			afterNL = j
		}
	}
	switch {
	case afterNL > 0:
		// \s*[\r\n]+ : the greedy \s* backs off to the last line break.
		return afterNL
	case j == len(s):
		// \s+(?!\S) at the end of the text.
		return j
	case lastStart > i:
		// \s+(?!\S): leave the last space to start the next piece.
		return lastStart
	}
	return j // \s+ : a single space before a non-space
}

// nextPiece returns the end of the piece that starts at s[i] (i < len(s)).
// It tries the pattern's alternatives in order, as a backtracking regex
// engine does, and returns the end of the first one that matches.
func nextPiece(s string, i int) int {
	c0, r0, n0 := classAt(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r0 == '\'' {
		if l := contraction(s[i+1:]); l > 0 {
			return i + 1 + l
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == clsLetter {
		return skipClass(s, i+n0, clsLetter)
	}
	c1 := clsNewline // stands for "no next character": it matches nothing below
	if i+n0 < len(s) {
		c1, _, _ = classAt(s, i+n0)
	}
	if (c0 == clsOther || c0 == clsSpace) && c1 == clsLetter {
		return skipClass(s, i+n0, clsLetter)
	}
	// \p{N}
	if c0 == clsNumber {
		return i + n0
	}
	// ' '?[^\s\p{L}\p{N}]+[\r\n]*
	if r0 == ' ' && c1 == clsOther {
		return skipNewlines(s, skipClass(s, i+1, clsOther))
	}
	if c0 == clsOther {
		return skipNewlines(s, skipClass(s, i+n0, clsOther))
	}
	// \s*[\r\n]+ | \s+(?!\S) | \s+
	return whitespaceEnd(s, i)
}

// splitPieces calls fn with every piece of s in order. The pieces are
// non-empty and concatenate to s.
func splitPieces(s string, fn func(piece string)) {
	for i := 0; i < len(s); {
		j := nextPiece(s, i)
		fn(s[i:j])
		i = j
	}
}

// Pretokenize returns the pieces that Qwen's split pattern cuts text into,
// before byte-level BPE. It does not normalise text or look for added
// tokens; it is exposed for inspection and tests.
func Pretokenize(text string) []string {
	var pieces []string
	splitPieces(text, func(p string) { pieces = append(pieces, p) })
	return pieces
}
