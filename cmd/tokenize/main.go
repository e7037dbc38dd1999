// Command tokenize encodes text to token ids, or decodes token ids to text,
// with a Hugging Face tokenizer.json (such as Qwen3's).
//
// Usage:
//
//	tokenize -tokenizer FILE          < strings.jsonl > ids.jsonl
//	tokenize -tokenizer FILE -decode  < ids.jsonl > strings.jsonl
//	tokenize -tokenizer FILE -in strings.jsonl -out ids.jsonl
//
// Encoding reads one JSON string per line and prints one JSON array of ids
// per line; -decode reads arrays of ids and prints strings. FILE may also
// be a model directory. Added tokens such as "<|im_end|>" in the text
// become their ids; no BOS or EOS is added. Input must be UTF-8. Flags and
// files are checked before any input is read; -out is written atomically,
// so a failed run leaves the previous file in place, and an output that is
// one of the command's inputs is refused.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tokenize:", err)
		os.Exit(1)
	}
}

// maxLine bounds the length of one input line.
const maxLine = 64 << 20

// options are the command's flags.
type options struct {
	tokenizer, in, out string
	decode             bool
}

func run(args []string, in io.Reader, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var o options
	fs.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer.json file or model `directory` (required)")
	fs.BoolVar(&o.decode, "decode", false, "read JSON arrays of ids and print JSON strings")
	fs.StringVar(&o.in, "in", "", "read this `file` instead of standard input")
	fs.StringVar(&o.out, "out", "", "write this `file` (atomically: replaced only when all input is done) instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: tokenize -tokenizer FILE [-decode] [-in FILE] [-out FILE] < input > output")
		fmt.Fprintln(errOut, "Encodes one JSON string per line to a JSON array of ids, or with -decode the reverse.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, err := validate(o, fs.Args(), in, out)
	if err != nil {
		return err
	}
	if o.in != "" {
		f, err := os.Open(o.in)
		if err != nil {
			return fmt.Errorf("-in: %w", err)
		}
		defer f.Close()
		in = f
	}
	if o.out == "" {
		return convert(tok, o, in, out)
	}
	var convErr error
	err = weights.WriteAtomic(o.out, 0o644, func(w io.Writer) error {
		convErr = convert(tok, o, in, w)
		return convErr
	})
	if convErr != nil {
		return fmt.Errorf("%w (-out %s was not written)", convErr, o.out)
	}
	if err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return nil
}

// validate checks the flags and files before any input is read, and loads
// the tokenizer.
func validate(o options, extra []string, in io.Reader, out io.Writer) (*tokenizer.Tokenizer, error) {
	if o.tokenizer == "" {
		return nil, errors.New("-tokenizer FILE is required: give a tokenizer.json or a model directory")
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("unexpected argument %q: input comes from standard input or -in FILE", extra[0])
	}
	inputs := []string{o.tokenizer}
	if st, err := os.Stat(o.tokenizer); err == nil && st.IsDir() {
		inputs = weights.ModelInputs(o.tokenizer)
	}
	if o.in != "" {
		st, err := os.Stat(o.in)
		if err != nil {
			return nil, fmt.Errorf("-in %s: %w", o.in, errors.Unwrap(err))
		}
		if st.IsDir() {
			return nil, fmt.Errorf("-in %s: is a directory: give a file of JSON lines", o.in)
		}
		inputs = append(inputs, o.in)
	} else if f, ok := in.(*os.File); ok {
		inputs = append(inputs, f.Name())
		if err := notSameAsStdout(f, inputs[:len(inputs)-1], out); err != nil {
			return nil, err
		}
	}
	if o.out != "" {
		if err := weights.CheckOutput("-out", o.out, inputs...); err != nil {
			return nil, err
		}
	} else if err := notSameAsStdout(nil, inputs, out); err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(o.tokenizer)
	if err != nil {
		return nil, fmt.Errorf("-tokenizer: %w", err)
	}
	return tok, nil
}

// notSameAsStdout refuses a standard output that is a regular file also
// read by the command (stdin, if given, or one of inputs): the shell has
// already truncated it, and writing would lose the rest.
func notSameAsStdout(stdin *os.File, inputs []string, out io.Writer) error {
	f, ok := out.(*os.File)
	if !ok {
		return nil
	}
	ost, err := f.Stat()
	if err != nil || !ost.Mode().IsRegular() {
		return nil
	}
	if stdin != nil {
		if ist, err := stdin.Stat(); err == nil && os.SameFile(ost, ist) {
			return errors.New("standard input and standard output are the same file: the shell truncated it before tokenize started; restore it and write to another file (or use -out)")
		}
		return nil
	}
	for _, p := range inputs {
		if ist, err := os.Stat(p); err == nil && os.SameFile(ost, ist) {
			return fmt.Errorf("standard output is %s, an input of this command: the shell truncated it before tokenize started; restore it and write to another file (or use -out)", p)
		}
	}
	return nil
}

// convert encodes or decodes every line of in to out.
func convert(tok *tokenizer.Tokenizer, o options, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var buf []byte
	n := 1
	for ; sc.Scan(); n++ {
		if n == 1 && bytes.HasPrefix(sc.Bytes(), []byte("\xef\xbb\xbf")) {
			return fmt.Errorf("line 1: starts with a UTF-8 byte-order mark (EF BB BF): save the input without one")
		}
		if !utf8.Valid(sc.Bytes()) {
			return fmt.Errorf("line %d: not valid UTF-8 (bad byte at offset %d): the input must be UTF-8 JSON", n, invalidAt(sc.Bytes()))
		}
		if o.decode {
			var ids []int32
			if err := json.Unmarshal(sc.Bytes(), &ids); err != nil {
				return fmt.Errorf("line %d: %s", n, whyNotIDs(sc.Bytes()))
			}
			for _, id := range ids {
				if _, ok := tok.Token(id); !ok {
					return fmt.Errorf("line %d: id %d is not a token of %s (vocab size %d)", n, id, o.tokenizer, tok.VocabSize())
				}
			}
			if err := enc.Encode(tok.Decode(ids)); err != nil {
				return err
			}
		} else {
			var text string
			if err := json.Unmarshal(sc.Bytes(), &text); err != nil {
				return fmt.Errorf("line %d: want a JSON string such as \"Hello\", found %s", n, jsonKind(sc.Bytes()))
			}
			if strings.ContainsRune(text, utf8.RuneError) && !hasReplacement(sc.Bytes()) {
				return fmt.Errorf("line %d: the string holds a lone UTF-16 surrogate escape (\\ud800 to \\udfff): it is not valid Unicode text", n)
			}
			buf = append(buf[:0], '[')
			for i, id := range tok.Encode(text) {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, int64(id), 10)
			}
			buf = append(buf, ']', '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("line %d is longer than %d MiB: split the input", n, maxLine>>20)
	} else if err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	return w.Flush()
}

// invalidAt returns the offset of the first invalid UTF-8 byte of b.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// hasReplacement reports whether a JSON line spells U+FFFD itself, as the
// character or as an escape, rather than getting it from a bad escape.
func hasReplacement(line []byte) bool {
	return bytes.ContainsRune(line, utf8.RuneError) || bytes.Contains(bytes.ToLower(line), []byte(`\ufffd`))
}

// jsonKind names the kind of JSON value a line holds, for errors.
func jsonKind(line []byte) string {
	t := bytes.TrimSpace(line)
	if !json.Valid(t) {
		if len(t) == 0 {
			return "an empty line"
		}
		return "text that is not JSON"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// rawElement returns element i of a JSON array as the line spells it.
func rawElement(line []byte, i int) string {
	var raw []json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil || i >= len(raw) {
		return "?"
	}
	return string(raw[i])
}

// whyNotIDs explains why a line is not a JSON array of token ids.
func whyNotIDs(line []byte) string {
	const want = "want a JSON array of token ids such as [9707,1879]"
	var vals []any
	if err := json.Unmarshal(line, &vals); err != nil {
		return fmt.Sprintf("%s, found %s", want, jsonKind(line))
	}
	for i, v := range vals {
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
			if raw := rawElement(line, i); strings.ContainsAny(raw, ".eE") {
				// A whole value that json.Unmarshal refuses as an id.
				return fmt.Sprintf("element %d is spelt %s: write token ids as plain whole numbers, without a decimal point or exponent", i, raw)
			}
		}
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			b, _ := json.Marshal(v)
			return fmt.Sprintf("element %d is %s, not a token id (a whole number)", i, b)
		}
	}
	return want
}
