package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// patternKind names a supported pre-tokenizer split pattern.
type patternKind uint8

const (
	// patternQwen2 is the pattern of Qwen2 and Qwen3 (also used by
	// Llama 3 style models, except for the digit rule).
	patternQwen2 patternKind = iota + 1
	// patternGPT2 is GPT-2's original pattern, used by ByteLevel
	// pre-tokenizers with use_regex true.
	patternGPT2
)

// The pattern strings exactly as they appear in tokenizer.json files.
const (
	qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	gpt2Pattern  = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

func (p patternKind) String() string {
	switch p {
	case patternQwen2:
		return qwen2Pattern
	case patternGPT2:
		return gpt2Pattern
	}
	return "unknown pattern"
}

// charClass is the class of one character as the split patterns see it.
type charClass uint8

const (
	clsOther   charClass = iota // [^\s\p{L}\p{N}], and every invalid UTF-8 byte
	clsLetter                   // \p{L}
	clsNumber                   // \p{N}
	clsSpace                    // \s other than \r and \n
	clsNewline                  // \r or \n
)

var asciiClass = func() [128]charClass {
	var t [128]charClass
	for c := 0; c < 128; c++ {
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

// classAt returns the class, the character and its width in bytes at s[i].
// An invalid UTF-8 byte is reported as utf8.RuneError of width 1 and class
// clsOther.
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

// classAfter returns the class at s[i], or ok false at the end of s.
func classAfter(s string, i int) (cls charClass, ok bool) {
	if i >= len(s) {
		return 0, false
	}
	cls, _, _ = classAt(s, i)
	return cls, true
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
// both match 's'), as case-insensitive matching in Oniguruma does.
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

// contraction returns the length in bytes of the contraction suffix
// ('s, 't, 're, 've, 'm, 'll, 'd without the apostrophe) at the start of s,
// or 0. With fold false the letters must be lower case.
func contraction(s string, fold bool) int {
	if len(s) == 0 {
		return 0
	}
	eq := func(r rune, l byte) bool {
		if fold {
			return foldEq(r, l)
		}
		return r == rune(l)
	}
	r1, n1 := utf8.DecodeRuneInString(s)
	if eq(r1, 's') || eq(r1, 't') || eq(r1, 'm') || eq(r1, 'd') {
		return n1
	}
	var second byte
	switch {
	case eq(r1, 'r'), eq(r1, 'v'):
		second = 'e'
	case eq(r1, 'l'):
		second = 'l'
	default:
		return 0
	}
	if n1 >= len(s) {
		return 0
	}
	r2, n2 := utf8.DecodeRuneInString(s[n1:])
	if eq(r2, second) {
		return n1 + n2
	}
	return 0
}

// whitespaceEnd returns the end of a whitespace run that begins at a
// whitespace character at i, following the shared tail of both patterns:
// \s+(?!\S)|\s+ (and for Qwen2 first \s*[\r\n]+).
func whitespaceEnd(s string, i int, newlineRule bool) int {
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
	case newlineRule && afterNL > 0:
		return afterNL // \s*[\r\n]+ : up to the last line break
	case j == len(s):
		return j // \s+(?!\S) at the end of the text
	case lastStart > i:
		return lastStart // \s+(?!\S): leave the last space for the next piece
	}
	return j // \s+
}

// nextPiece returns the end of the piece that starts at i (i < len(s)).
func (p patternKind) nextPiece(s string, i int) int {
	if p == patternGPT2 {
		return nextPieceGPT2(s, i)
	}
	return nextPieceQwen2(s, i)
}

// nextPieceQwen2 implements the Qwen2 pattern's alternatives in order.
func nextPieceQwen2(s string, i int) int {
	c0, r0, n0 := classAt(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r0 == '\'' {
		if l := contraction(s[i+1:], true); l > 0 {
			return i + 1 + l
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == clsLetter {
		return skipClass(s, i+n0, clsLetter)
	}
	c1, ok1 := classAfter(s, i+n0)
	if (c0 == clsOther || c0 == clsSpace) && ok1 && c1 == clsLetter {
		return skipClass(s, i+n0, clsLetter)
	}
	// \p{N}
	if c0 == clsNumber {
		return i + n0
	}
	// ' '?[^\s\p{L}\p{N}]+[\r\n]*
	if r0 == ' ' && ok1 && c1 == clsOther {
		return skipNewlines(s, skipClass(s, i+1, clsOther))
	}
	if c0 == clsOther {
		return skipNewlines(s, skipClass(s, i+n0, clsOther))
	}
	// \s*[\r\n]+|\s+(?!\S)|\s+
	return whitespaceEnd(s, i, true)
}

// nextPieceGPT2 implements GPT-2's pattern's alternatives in order.
func nextPieceGPT2(s string, i int) int {
	c0, r0, n0 := classAt(s, i)
	if r0 == '\'' {
		if l := contraction(s[i+1:], false); l > 0 {
			return i + 1 + l
		}
	}
	start := i
	if r0 == ' ' {
		if c1, ok := classAfter(s, i+1); ok && c1 != clsSpace && c1 != clsNewline {
			return skipClass(s, i+1, c1) // ' '?\p{L}+ | ' '?\p{N}+ | ' '?[^\s\p{L}\p{N}]+
		}
	}
	switch c0 {
	case clsLetter, clsNumber, clsOther:
		return skipClass(s, start+n0, c0)
	}
	return whitespaceEnd(s, i, false)
}

// splitPieces calls fn with every piece of s in order.
func (p patternKind) splitPieces(s string, fn func(piece string)) {
	for i := 0; i < len(s); {
		j := p.nextPiece(s, i)
		fn(s[i:j])
		i = j
	}
}
