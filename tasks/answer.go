package tasks

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AnswerWindow is the number of characters (runes) at the end of a
// completion that ExtractAnswer searches, as in the math_dapo reward.
const AnswerWindow = 300

// The patterns of the math_dapo reward (shared/design/gdro.md section 7).
// Compiled expressions are safe for concurrent use and never change.
var (
	answerLineRe = regexp.MustCompile(`(?i)Answer\s*:\s*([^\n]+)`)
	dollarPairRe = regexp.MustCompile(`(.*?)(\$)(.*?)(\$)(.*)`)
	textRe       = regexp.MustCompile(`(\\text\{)(.*?)(\})`)
	textbfRe     = regexp.MustCompile(`(\\textbf\{)(.*?)(\})`)
	overlineRe   = regexp.MustCompile(`(\\overline\{)(.*?)(\})`)
	boxedRe      = regexp.MustCompile(`(\\boxed\{)(.*)(\})`)
	fracShortRe  = regexp.MustCompile(`(frac)([^{])(.)`)
	sqrtShortRe  = regexp.MustCompile(`(sqrt)([^{])`)
)

// ExtractAnswer finds the final answer in a completion: the text after the
// last "Answer:" (any case, spaces allowed around the colon) up to the end of
// its line, searched in the last AnswerWindow characters. With acceptBoxed,
// the contents of a \boxed{...} (braces balanced) in the same window are
// accepted too, and whichever of the two starts later wins (gdro.md 10.11:
// the DAPO prompt asks for "Answer:", the GDRO preprocessing for \boxed{}).
// The result is trimmed but not normalized; ok is false when nothing is found.
func ExtractAnswer(text string, acceptBoxed bool) (answer string, ok bool) {
	tail := lastRunes(text, AnswerWindow)
	answerAt := -1
	if m := answerLineRe.FindAllStringSubmatchIndex(tail, -1); len(m) > 0 {
		last := m[len(m)-1]
		answerAt = last[0]
		answer, ok = strings.TrimSpace(tail[last[2]:last[3]]), true
	}
	if acceptBoxed {
		if at, inner, found := lastBoxed(tail); found && at > answerAt {
			return strings.TrimSpace(inner), true
		}
	}
	return answer, ok
}

// lastRunes returns the last n runes of s (all of s if it is shorter).
func lastRunes(s string, n int) string {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

// lastBoxed finds the last \boxed{...} of s whose braces balance and returns
// its byte offset and contents.
func lastBoxed(s string) (at int, inner string, ok bool) {
	const open = `\boxed{`
	for end := len(s); end > 0; {
		at = strings.LastIndex(s[:end], open)
		if at < 0 {
			return 0, "", false
		}
		start := at + len(open)
		depth := 1
		for i := start; i < len(s); i++ {
			switch s[i] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				return at, s[start:i], true
			}
		}
		end = at // unbalanced: try an earlier one
	}
	return 0, "", false
}

// NormalizeAnswer puts an answer (extracted or reference) into the canonical
// form that the math_dapo reward compares, by these steps in order:
//
//  1. keep only the text after the last "=" ("x = 5" gives "5");
//  2. drop the words "an " and "a ", a "$" after a ".", escaped dollars,
//     "\ " and all spaces; read \mbox as \text; "\text{and}" becomes a comma;
//     "\text{m}" becomes "\text{}";
//  3. delete units and decorations (square, ways, integers, dollars, mph,
//     inches, hours, km, units, \ldots, sue, points, feet, minutes, digits,
//     cents, degrees, cm, gm, pounds, meters, meals, edges, students,
//     childrentickets, multiples, \text{s}, \text{.}, empty \text{} with or
//     without a ^2 or ^3, \mathrm{th}, ^\circ, ^{\circ}, \;, ,\!, {,}, double
//     quotes, \dots);
//  4. keep what lies between a pair of "$", and unwrap \text{}, \textbf{},
//     \overline{} and \boxed{};
//  5. write "fracab" as "frac{a}{b}" and "sqrta" as "sqrt{a}", and delete
//     every "$";
//  6. if what is left is digits and commas, delete the commas ("1,000" gives
//     "1000");
//
// then trim surrounding white space. These are the rules of verl's math_dapo
// normalization, quirks included ("a " is dropped inside words too), so that
// rewards match those of the reference runs.
func NormalizeAnswer(s string) string {
	if i := strings.LastIndex(s, "="); i >= 0 {
		s = s[i+1:]
	}

	substitutions := [...][2]string{
		{"an ", ""}, {"a ", ""}, {".$", "$"}, {`\$`, ""}, {`\ `, ""}, {" ", ""},
		{"mbox", "text"}, {`,\text{and}`, ","}, {`\text{and}`, ","}, {`\text{m}`, `\text{}`},
	}
	for _, sub := range substitutions {
		s = strings.ReplaceAll(s, sub[0], sub[1])
	}

	removed := [...]string{
		"square", "ways", "integers", "dollars", "mph", "inches", "hours", "km", "units",
		`\ldots`, "sue", "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm",
		"pounds", "meters", "meals", "edges", "students", "childrentickets", "multiples",
		`\text{s}`, `\text{.}`, "\\text{\ns}", `\text{}^2`, `\text{}^3`, "\\text{\n}", `\text{}`,
		`\mathrm{th}`, `^\circ`, `^{\circ}`, `\;`, `,\!`, "{,}", `"`, `\dots`,
	}
	for _, r := range removed {
		s = strings.ReplaceAll(s, r, "")
	}

	s = dollarPairRe.ReplaceAllString(s, "$$${3}$$")
	s = textRe.ReplaceAllString(s, "${2}")
	s = textbfRe.ReplaceAllString(s, "${2}")
	s = overlineRe.ReplaceAllString(s, "${2}")
	s = boxedRe.ReplaceAllString(s, "${2}")

	s = fracShortRe.ReplaceAllString(s, "frac{${2}}{${3}}")
	s = sqrtShortRe.ReplaceAllString(s, "sqrt{${2}}")
	s = strings.ReplaceAll(s, "$", "")

	if digits := strings.ReplaceAll(s, ",", ""); isDigits(digits) {
		s = digits
	}
	return strings.TrimSpace(s)
}

// isDigits reports whether s is non-empty and made only of decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
