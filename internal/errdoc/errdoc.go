// Package errdoc keeps the bad-input tables of docs/errors.md in step with
// the tests that produce them. The commands' table-driven error tests
// (cmd/generate, cmd/tokenize, cmd/train) run every case through the
// command's entry point, format it as a Markdown row here, and compare the
// rows with the command's section of the document, or rewrite it.
package errdoc

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// docPath is docs/errors.md, found from the test's package directory
// (cmd/NAME) when the test binary starts, before any test changes the
// working directory.
var docPath, docPathErr = filepath.Abs(filepath.Join("..", "..", "docs", "errors.md"))

// Args shows a command line as a user would type it: an argument that is
// empty or holds a space, a comma or a character needing an escape is
// quoted. With maxLen > 0, an argument longer than maxLen is cut to
// maxLen-4 characters and "...".
func Args(args []string, maxLen int) string {
	shown := make([]string, 0, len(args))
	for _, a := range args {
		if maxLen > 0 && len(a) > maxLen {
			a = a[:maxLen-4] + "..."
		}
		if q := strconv.Quote(a); a == "" || strings.ContainsAny(a, " ,") || q[1:len(q)-1] != a {
			a = q
		}
		shown = append(shown, a)
	}
	return strings.Join(shown, " ")
}

// Cell escapes the text of one Markdown table cell.
func Cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Row joins cells, already escaped, into one Markdown table row.
func Row(cells ...string) string { return "| " + strings.Join(cells, " | ") + " |" }

// Sync compares header and rows with the section of docs/errors.md between
// the markers for cmd, or rewrites that section when update is set.
func Sync(t *testing.T, cmd, header string, rows []string, update bool) {
	t.Helper()
	if docPathErr != nil {
		t.Fatal(docPathErr)
	}
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+cmd+" table: begin -->\n", "<!-- "+cmd+" table: end -->"
	i, j := bytes.Index(b, []byte(begin)), bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s: no %q ... %q markers", docPath, begin, end)
	}
	table := header + strings.Join(rows, "\n") + "\n"
	if update {
		out := append(append(append([]byte{}, b[:i+len(begin)]...), table...), b[j:]...)
		if err := os.WriteFile(docPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := string(b[i+len(begin) : j]); got != table {
		t.Errorf("%s is out of date for %s (%d cases): run go test ./cmd/%s -run TestErrorTable -update-doc", docPath, cmd, len(rows), cmd)
	}
}
