// Command tokenize encodes text to token ids, or decodes token ids to text,
// with a Hugging Face tokenizer.json (such as Qwen3's).
//
// Usage:
//
//	tokenize -tokenizer FILE          < strings.jsonl > ids.jsonl
//	tokenize -tokenizer FILE -decode  < ids.jsonl > strings.jsonl
//
// Encoding reads one JSON string per line and prints one JSON array of ids
// per line; -decode reads arrays of ids and prints strings. FILE may also
// be a model directory. Added tokens such as "<|im_end|>" in the text
// become their ids; no BOS or EOS is added.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/frontier-rl/frontier/tokenizer"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tokenize:", err)
		os.Exit(1)
	}
}

// maxLine bounds the length of one input line.
const maxLine = 64 << 20

func run(args []string, in io.Reader, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(errOut)
	path := fs.String("tokenizer", "", "tokenizer.json file or model `directory` (required)")
	decode := fs.Bool("decode", false, "read JSON arrays of ids and print JSON strings")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: tokenize -tokenizer FILE [-decode] < input > output")
		fmt.Fprintln(errOut, "Encodes one JSON string per line to a JSON array of ids, or with -decode the reverse.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-tokenizer FILE is required and no arguments are taken")
	}
	tok, err := tokenizer.Load(*path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var buf []byte
	for n := 1; sc.Scan(); n++ {
		if *decode {
			var ids []int32
			if err := json.Unmarshal(sc.Bytes(), &ids); err != nil {
				return fmt.Errorf("line %d: want a JSON array of token ids: %w", n, err)
			}
			for _, id := range ids {
				if _, ok := tok.Token(id); !ok {
					return fmt.Errorf("line %d: id %d is not a token of %s (vocab size %d)", n, id, *path, tok.VocabSize())
				}
			}
			if err := enc.Encode(tok.Decode(ids)); err != nil {
				return err
			}
		} else {
			var text string
			if err := json.Unmarshal(sc.Bytes(), &text); err != nil {
				return fmt.Errorf("line %d: want a JSON string: %w", n, err)
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
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	return w.Flush()
}
