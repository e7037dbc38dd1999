// Package tokenizer implements the byte-level BPE tokenizer used by the
// Qwen2 and Qwen3 model families, in pure Go.
//
// It reads a Hugging Face tokenizer.json (or the older vocab.json plus
// merges.txt pair), encodes text to token ids with the same results as the
// reference implementations, decodes ids back to text (also incrementally,
// for generation), renders Qwen3's chat template, and trains small
// byte-level BPE vocabularies that it can save as tokenizer.json.
//
// # Encoding pipeline
//
// Encode runs the same steps as Hugging Face's tokenizers library:
//
//  1. Added tokens (for Qwen3 "<|im_start|>", "<think>" and so on) are found
//     in the raw text, leftmost first and longest at a position; each becomes
//     its id and the text between them is encoded separately.
//
//  2. Each remaining segment is normalised to Unicode NFC.
//
//  3. The segment is split into pieces with Qwen's pre-tokenizer pattern
//     (below), the only one supported.
//
//  4. Every piece is byte-level BPE encoded: its UTF-8 bytes start as single
//     byte tokens and adjacent pairs are merged by merge rank, lowest
//     first and leftmost among equals. Results are kept in a word cache.
//
// Qwen's pattern is
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// It needs a negative look-ahead that Go's regexp lacks, so it is
// implemented by a hand-written scanner with the backtracking semantics of
// the original (\s is Unicode White_Space, as in Oniguruma).
//
// # Training
//
// Train learns a byte-level BPE vocabulary from a corpus with the same
// pre-tokenizer, deterministically, and Save writes it as a tokenizer.json
// that Load and Hugging Face's loaders read.
//
// # Invalid UTF-8
//
// Go strings may hold invalid UTF-8. Such bytes are kept: each invalid byte
// is treated by the pre-tokenizer as a punctuation-like character, NFC is
// applied only to the valid runs around it, and the byte is encoded as its
// byte token, so Decode(Encode(s)) == Normalize(s) for every string s.
//
// # Concurrency
//
// A *Tokenizer is safe for concurrent use. Its word cache is guarded by a
// lock; the package has no mutable global state.
package tokenizer
