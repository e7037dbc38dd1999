package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder decodes a sequence of ids one at a time, as a model
// generates them, and never returns a broken UTF-8 sequence: the bytes of a
// character split across tokens are held back until it is complete. Bytes
// that cannot become valid UTF-8 are returned as U+FFFD, one for each
// maximal invalid part, as Hugging Face's decoders do.
//
// Concatenating the results of Add and Flush gives Decode(ids) with each
// maximal invalid part replaced by U+FFFD; for ids that decode to valid
// UTF-8 it is exactly Decode(ids).
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // bytes not yet returned: an incomplete character
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Add decodes one more id and returns the text that is now complete (often
// "", when id ends inside a character). Ids that stand for no token are
// skipped.
func (d *StreamDecoder) Add(id int32) string {
	if !d.t.has(id) {
		return ""
	}
	d.pending = append(d.pending, d.t.raw[id]...)
	return d.drain(false)
}

// Flush returns what is still pending (an incomplete character, as U+FFFD)
// and resets the decoder for a new sequence.
func (d *StreamDecoder) Flush() string { return d.drain(true) }

// drain returns the complete part of the pending bytes and keeps the rest;
// with all set it returns everything.
func (d *StreamDecoder) drain(all bool) string {
	p := d.pending
	if utf8.Valid(p) {
		d.pending = d.pending[:0]
		return string(p)
	}
	var sb strings.Builder
	sb.Grow(len(p))
	i := 0
	for i < len(p) {
		r, n := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || n > 1 {
			sb.Write(p[i : i+n])
			i += n
			continue
		}
		if !all && !utf8.FullRune(p[i:]) {
			break // the start of a character whose next bytes are still to come
		}
		sb.WriteRune(utf8.RuneError)
		i += validPrefixLen(p[i:])
	}
	d.pending = append(d.pending[:0], p[i:]...)
	return sb.String()
}

// validUTF8 returns s with every maximal invalid UTF-8 part replaced by
// U+FFFD, as the StreamDecoder does.
func validUTF8(s string) string {
	d := StreamDecoder{pending: []byte(s)}
	return d.drain(true)
}
