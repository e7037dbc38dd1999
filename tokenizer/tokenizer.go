package tokenizer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is a token that Encode looks for in the text before any other
// step, such as Qwen3's "<|im_start|>" or "<think>".
type AddedToken struct {
	ID      int32
	Content string
	// Special marks control tokens ("<|im_end|>"), as opposed to added
	// tokens that are ordinary text to the model ("<think>" in Qwen3).
	Special bool
	// LStrip and RStrip make a match absorb the whitespace on its left or
	// right side.
	LStrip, RStrip bool
	// Normalized tokens are matched in the NFC-normalised text rather than
	// in the raw text.
	Normalized bool
}

// tokenKind says what an id stands for.
type tokenKind uint8

const (
	kindNone    tokenKind = iota // no token has this id
	kindVocab                    // a token of the BPE vocabulary
	kindAdded                    // an added token that is not special
	kindSpecial                  // a special added token
)

// Tokenizer is a byte-level BPE tokenizer. Create one with Load, Parse,
// LoadVocabMerges or Train. It is safe for concurrent use.
type Tokenizer struct {
	vocab        map[string]int32 // byte-level spelling -> id, BPE vocabulary only
	merges       mergeTable       // (left id, right id) -> rank and result
	mergeList    [][2]int32       // merges in rank order, as written by Save
	byteIDs      [256]int32       // id of the single-byte token of each byte
	ignoreMerges bool             // a piece that is a whole vocabulary token is not split
	nfc          bool             // the normalizer is NFC (otherwise none)

	kind  []tokenKind // by id
	spell []string    // by id: the vocabulary spelling, or an added token's content
	raw   []string    // by id: the bytes that Decode writes

	added     []AddedToken     // sorted by id
	addedIDs  map[string]int32 // content -> id
	rawMatch  *addedMatcher    // added tokens matched in the raw text; nil if none
	normMatch *addedMatcher    // added tokens matched after normalisation; nil if none

	cache *wordCache
}

// Encode returns the token ids of text. Added tokens are matched first, the
// text between them is normalised, split with Qwen's pattern and byte-level
// BPE encoded. No BOS or EOS token is added.
func (t *Tokenizer) Encode(text string) []int32 {
	ids := make([]int32, 0, len(text)/3+1)
	t.walk(text, func(s string, id int32) {
		if id >= 0 {
			ids = append(ids, id)
			return
		}
		splitPieces(s, func(piece string) { ids = t.encodePiece(ids, piece) })
	})
	return ids
}

// Normalize returns text as Encode sees it: the added tokens unchanged and
// the text between them in NFC (when the tokenizer's normalizer is NFC).
// Decode(Encode(text)) == Normalize(text) for every string, valid UTF-8 or
// not.
func (t *Tokenizer) Normalize(text string) string {
	var sb strings.Builder
	sb.Grow(len(text))
	t.walk(text, func(s string, id int32) {
		if id >= 0 {
			sb.WriteString(t.raw[id])
			return
		}
		sb.WriteString(s)
	})
	return sb.String()
}

// walk calls fn, in order, with every added token of text (s is its
// content, id >= 0) and with every normalised run of text between them
// (id -1, s not empty).
func (t *Tokenizer) walk(text string, fn func(s string, id int32)) {
	plain := func(s string) {
		if t.nfc {
			s = nfc(s)
		}
		if t.normMatch == nil {
			if s != "" {
				fn(s, -1)
			}
			return
		}
		t.normMatch.split(s, fn)
	}
	if t.rawMatch == nil {
		plain(text)
		return
	}
	t.rawMatch.split(text, func(s string, id int32) {
		if id >= 0 {
			fn(s, id)
			return
		}
		plain(s)
	})
}

// Decode returns the text of ids: the bytes of every token, concatenated.
// Ids that stand for no token are skipped. The result is not checked for
// valid UTF-8 (ids cut from the middle of a sequence may split a
// character); use a StreamDecoder to decode a growing sequence safely.
func (t *Tokenizer) Decode(ids []int32) string {
	var sb strings.Builder
	for _, id := range ids {
		if t.has(id) {
			sb.WriteString(t.raw[id])
		}
	}
	return sb.String()
}

// has reports whether id stands for a token.
func (t *Tokenizer) has(id int32) bool {
	return id >= 0 && int(id) < len(t.kind) && t.kind[id] != kindNone
}

// VocabSize returns the largest id plus one, added tokens included. Some
// ids below it may stand for no token (none do in Qwen3's tokenizer, whose
// model nevertheless has a larger embedding matrix).
func (t *Tokenizer) VocabSize() int { return len(t.kind) }

// TokenID returns the id of a token given as an added token's content
// ("<|im_end|>") or as its spelling in the vocabulary (byte-level, so " a"
// is spelled "Ġa").
func (t *Tokenizer) TokenID(token string) (int32, bool) {
	if id, ok := t.addedIDs[token]; ok {
		return id, true
	}
	if id, ok := t.vocab[token]; ok {
		return id, true
	}
	return 0, false
}

// Token returns the spelling of id as TokenID accepts it.
func (t *Tokenizer) Token(id int32) (string, bool) {
	if !t.has(id) {
		return "", false
	}
	return t.spell[id], true
}

// IsSpecial reports whether id is a special added token, such as
// "<|im_end|>" (tokens one may want to hide when showing generated text).
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.kind) && t.kind[id] == kindSpecial
}

// AddedTokens returns the added tokens in id order.
func (t *Tokenizer) AddedTokens() []AddedToken { return slices.Clone(t.added) }

// maxID bounds the ids a file may use, so that a corrupt file cannot make
// the loader allocate without limit.
const maxID = 1 << 21

// spec is everything a Tokenizer is built from.
type spec struct {
	vocab        map[string]int // byte-level spelling -> id
	merges       [][2]string    // in rank order
	added        []AddedToken
	nfc          bool
	ignoreMerges bool
}

// build checks s and makes a Tokenizer of it. Errors name what is wrong but
// not the source, which the caller adds.
func build(s spec) (*Tokenizer, error) {
	t := &Tokenizer{
		vocab:        make(map[string]int32, len(s.vocab)),
		merges:       newMergeTable(len(s.merges)),
		mergeList:    make([][2]int32, 0, len(s.merges)),
		ignoreMerges: s.ignoreMerges,
		nfc:          s.nfc,
		addedIDs:     make(map[string]int32, len(s.added)),
		cache:        newWordCache(),
	}
	size := 0
	for tok, id := range s.vocab {
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("vocab: token %q has id %d, outside [0, %d)", tok, id, maxID)
		}
		size = max(size, id+1)
	}
	for _, a := range s.added {
		if a.ID < 0 || a.ID >= maxID {
			return nil, fmt.Errorf("added token %q has id %d, outside [0, %d)", a.Content, a.ID, maxID)
		}
		size = max(size, int(a.ID)+1)
	}
	t.kind = make([]tokenKind, size)
	t.spell = make([]string, size)
	t.raw = make([]string, size)
	for tok, id := range s.vocab {
		if t.kind[id] != kindNone {
			a, b := min(tok, t.spell[id]), max(tok, t.spell[id]) // deterministic message
			return nil, fmt.Errorf("vocab: tokens %q and %q share id %d", a, b, id)
		}
		t.kind[id] = kindVocab
		t.spell[id] = tok
		raw, ok := byteLevelDecode(tok)
		if !ok {
			raw = tok // as Hugging Face's ByteLevel decoder does
		}
		t.raw[id] = raw
		t.vocab[tok] = int32(id)
	}
	for b := range 256 {
		tok := string(byteToRune[b])
		id, ok := t.vocab[tok]
		if !ok {
			return nil, fmt.Errorf("vocab has no token %q for byte 0x%02x: not a byte-level BPE vocabulary", tok, b)
		}
		t.byteIDs[b] = id
	}
	for rank, m := range s.merges {
		a, okA := t.vocab[m[0]]
		b, okB := t.vocab[m[1]]
		r, okR := t.vocab[m[0]+m[1]]
		if !okA || !okB || !okR {
			missing := m[0]
			switch {
			case !okA:
			case !okB:
				missing = m[1]
			default:
				missing = m[0] + m[1]
			}
			return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocab", rank, m[0], m[1], missing)
		}
		// A repeated pair takes its last rank, as in Hugging Face's loader.
		t.merges.set(pairKey(a, b), merge{rank: int32(rank), result: r})
		t.mergeList = append(t.mergeList, [2]int32{a, b})
	}
	t.added = slices.Clone(s.added)
	slices.SortFunc(t.added, func(a, b AddedToken) int { return cmp.Compare(a.ID, b.ID) })
	var rawToks, normToks []AddedToken
	for i, a := range t.added {
		if a.Content == "" {
			return nil, fmt.Errorf("added token with id %d has empty content", a.ID)
		}
		if i > 0 && t.added[i-1].ID == a.ID {
			return nil, fmt.Errorf("added tokens %q and %q share id %d", t.added[i-1].Content, a.Content, a.ID)
		}
		if prev, dup := t.addedIDs[a.Content]; dup {
			return nil, fmt.Errorf("added token %q has two ids, %d and %d", a.Content, prev, a.ID)
		}
		if t.kind[a.ID] == kindVocab && t.spell[a.ID] != a.Content {
			return nil, fmt.Errorf("added token %q has id %d, which the vocab gives to %q", a.Content, a.ID, t.spell[a.ID])
		}
		t.kind[a.ID] = kindAdded
		if a.Special {
			t.kind[a.ID] = kindSpecial
		}
		t.spell[a.ID] = a.Content
		t.raw[a.ID] = a.Content
		t.addedIDs[a.Content] = a.ID
		if a.Normalized {
			if t.nfc {
				a.Content = nfc(a.Content)
			}
			normToks = append(normToks, a)
		} else {
			rawToks = append(rawToks, a)
		}
	}
	t.rawMatch = newAddedMatcher(rawToks)
	t.normMatch = newAddedMatcher(normToks)
	return t, nil
}

// addedMatcher finds added tokens in text, leftmost first and longest at a
// position.
type addedMatcher struct {
	byFirst [256][]AddedToken // by first byte, longest first
}

// newAddedMatcher returns a matcher of toks, or nil if toks is empty.
func newAddedMatcher(toks []AddedToken) *addedMatcher {
	if len(toks) == 0 {
		return nil
	}
	m := &addedMatcher{}
	for _, a := range toks {
		m.byFirst[a.Content[0]] = append(m.byFirst[a.Content[0]], a)
	}
	for i := range m.byFirst {
		slices.SortStableFunc(m.byFirst[i], func(a, b AddedToken) int { return len(b.Content) - len(a.Content) })
	}
	return m
}

// find returns the first match in s at or after from: its span (with the
// whitespace it strips) and the token, or ok false.
func (m *addedMatcher) find(s string, from int) (start, end int, tok AddedToken, ok bool) {
	for i := from; i < len(s); i++ {
		for _, a := range m.byFirst[s[i]] {
			if !strings.HasPrefix(s[i:], a.Content) {
				continue
			}
			start, end = i, i+len(a.Content)
			if a.LStrip {
				start = from + len(strings.TrimRightFunc(s[from:start], unicode.IsSpace))
			}
			if a.RStrip {
				end = len(s) - len(strings.TrimLeftFunc(s[end:], unicode.IsSpace))
			}
			return start, end, a, true
		}
	}
	return 0, 0, AddedToken{}, false
}

// split calls fn with the runs of s between added tokens (id -1, skipped
// when empty) and with each added token (its content and id), in order.
func (m *addedMatcher) split(s string, fn func(s string, id int32)) {
	for i := 0; i < len(s); {
		start, end, a, ok := m.find(s, i)
		if !ok {
			fn(s[i:], -1)
			return
		}
		if start > i {
			fn(s[i:start], -1)
		}
		fn(a.Content, a.ID)
		i = end
	}
}

// validPrefixLen returns the length of the longest prefix of p (at most 3
// bytes) that could begin a valid UTF-8 sequence but does not complete one;
// it is at least 1. p must not start with a complete valid sequence.
func validPrefixLen(p []byte) int {
	n := 1
	for k := 2; k <= len(p) && k <= utf8.UTFMax-1; k++ {
		if utf8.FullRune(p[:k]) {
			break
		}
		n = k
	}
	return n
}
