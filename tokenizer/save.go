package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Save writes the tokenizer to path as a Hugging Face tokenizer.json,
// atomically: to a temporary file in the same directory, synced, then
// renamed over path.
func (t *Tokenizer) Save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	if err := writeAndClose(f, t); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("tokenizer: save %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	return nil
}

// writeAndClose writes t to f, syncs and closes it.
func writeAndClose(f *os.File, t *Tokenizer) error {
	err := t.WriteJSON(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteJSON writes the tokenizer to w in the format of a Hugging Face
// tokenizer.json: model BPE (vocab in id order, merges as pairs), the
// added tokens, the NFC normalizer (if any), Qwen's Split pre-tokenizer
// followed by ByteLevel, and the ByteLevel post-processor and decoder.
func (t *Tokenizer) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var quoteBuf bytes.Buffer
	enc := json.NewEncoder(&quoteBuf)
	enc.SetEscapeHTML(false)
	quote := func(s string) []byte {
		quoteBuf.Reset()
		_ = enc.Encode(s) // a string always encodes; invalid UTF-8 becomes U+FFFD
		return bytes.TrimSuffix(quoteBuf.Bytes(), []byte("\n"))
	}
	const byteLevel = `{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}`

	bw.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range t.added {
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": %t, \"rstrip\": %t, \"normalized\": %t, \"special\": %t}",
			a.ID, quote(a.Content), a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	if len(t.added) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"normalizer\": ")
	if t.nfc {
		bw.WriteString(`{"type": "NFC"}`)
	} else {
		bw.WriteString("null")
	}
	fmt.Fprintf(bw, ",\n  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": %s}, \"behavior\": \"Isolated\", \"invert\": false}, %s]},\n",
		quote(qwenPattern), byteLevel)
	fmt.Fprintf(bw, "  \"post_processor\": %s,\n  \"decoder\": %s,\n", byteLevel, byteLevel)
	fmt.Fprintf(bw, "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"+
		"    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"+
		"    \"byte_fallback\": false,\n    \"ignore_merges\": %t,\n    \"vocab\": {", t.ignoreMerges)
	first := true
	for id, tok := range t.spell {
		if v, ok := t.vocab[tok]; !ok || int(v) != id {
			continue
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		bw.WriteString("\n      ")
		bw.Write(quote(tok))
		bw.WriteString(": ")
		bw.WriteString(strconv.Itoa(id))
	}
	bw.WriteString("\n    },\n    \"merges\": [")
	for i, m := range t.mergeList {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n      [")
		bw.Write(quote(t.spell[m[0]]))
		bw.WriteString(", ")
		bw.Write(quote(t.spell[m[1]]))
		bw.WriteString("]")
	}
	bw.WriteString("\n    ]\n  }\n}\n")
	return bw.Flush()
}
