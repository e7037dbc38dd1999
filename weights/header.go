package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unicode/utf8"
)

// MaxHeaderBytes is the largest JSON header accepted, as in the reference
// safetensors implementation. A larger length prefix means the file is
// corrupt or not a safetensors file.
const MaxHeaderBytes = 100_000_000

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are byte offsets relative to the start of the data
	// section (the byte after the header).
	Begin, End int64
}

// NumElements returns the number of elements: the product of Shape (1 for a
// scalar of shape []).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NumBytes returns the size of the tensor's data in bytes.
func (t TensorInfo) NumBytes() int64 { return t.End - t.Begin }

// header is a parsed and validated safetensors header.
type header struct {
	tensors  map[string]TensorInfo
	names    []string // sorted
	metadata map[string]string
}

// headerLen decodes the 8-byte length prefix of a safetensors file of size
// fileSize bytes and checks it against the file size.
func headerLen(prefix []byte, fileSize int64, source string) (int64, error) {
	if fileSize == 0 {
		return 0, fmt.Errorf("weights: %s: file is empty: it is truncated or not a safetensors file", source)
	}
	if fileSize < 8 || len(prefix) < 8 {
		return 0, fmt.Errorf("weights: %s: file is %d bytes, shorter than the 8-byte header length: it is truncated or not a safetensors file", source, fileSize)
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n == 0 {
		return 0, fmt.Errorf("weights: %s: header length is 0: a safetensors header is a JSON object of at least 2 bytes; the file is corrupt or not a safetensors file", source)
	}
	if n > MaxHeaderBytes {
		return 0, fmt.Errorf("weights: %s: header length %d is absurd (limit %d bytes): the file is corrupt or not a safetensors file", source, n, MaxHeaderBytes)
	}
	if int64(n) > fileSize-8 {
		return 0, fmt.Errorf("weights: %s: header length %d is beyond the end of the %d-byte file: the file is truncated or corrupt", source, n, fileSize)
	}
	return int64(n), nil
}

// parseBytes validates a whole safetensors file held in memory and returns
// its header and the offset of its data section.
func parseBytes(b []byte, source string) (*header, int64, error) {
	n, err := headerLen(b, int64(len(b)), source)
	if err != nil {
		return nil, 0, err
	}
	h, err := parseHeader(b[8:8+n], int64(len(b))-8-n, source)
	if err != nil {
		return nil, 0, err
	}
	return h, 8 + n, nil
}

// parseHeader parses and validates the JSON header of a safetensors file
// whose data section is dataSize bytes long.
func parseHeader(js []byte, dataSize int64, source string) (*header, error) {
	if !utf8.Valid(js) {
		return nil, fmt.Errorf("weights: %s: header is not valid UTF-8: the file is corrupt or not a safetensors file", source)
	}
	if !json.Valid(js) {
		var v any
		err := json.Unmarshal(js, &v)
		return nil, fmt.Errorf("weights: %s: header is not valid JSON (%v): the file is corrupt, truncated or not a safetensors file", source, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("weights: %s: reading header: %v", source, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("weights: %s: header is not a JSON object: the file is corrupt or not a safetensors file", source)
	}
	h := &header{tensors: map[string]TensorInfo{}}
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("weights: %s: reading header: %v", source, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("weights: %s: header has a non-string key", source)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("weights: %s: header entry %q: %v", source, key, err)
		}
		if key == "__metadata__" {
			if seenMeta {
				return nil, fmt.Errorf("weights: %s: header has __metadata__ twice: the file is corrupt", source)
			}
			seenMeta = true
			if err := json.Unmarshal(raw, &h.metadata); err != nil {
				return nil, fmt.Errorf("weights: %s: __metadata__ must map strings to strings: %v", source, err)
			}
			continue
		}
		if _, dup := h.tensors[key]; dup {
			return nil, fmt.Errorf("weights: %s: tensor %q is listed twice in the header: the file is corrupt", source, key)
		}
		info, err := parseEntry(key, raw, dataSize)
		if err != nil {
			return nil, fmt.Errorf("weights: %s: tensor %q: %v", source, key, err)
		}
		h.tensors[key] = info
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("weights: %s: reading header: %v", source, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("weights: %s: header has data after its JSON object: the file is corrupt", source)
	}
	if h.metadata == nil {
		h.metadata = map[string]string{}
	}
	h.names = make([]string, 0, len(h.tensors))
	for name := range h.tensors {
		h.names = append(h.names, name)
	}
	sort.Strings(h.names)
	if err := checkOverlaps(h, source); err != nil {
		return nil, err
	}
	return h, nil
}

// parseEntry validates one tensor entry against a data section of dataSize
// bytes. Errors leave the file and tensor names to the caller.
func parseEntry(name string, raw json.RawMessage, dataSize int64) (TensorInfo, error) {
	if name == "" {
		return TensorInfo{}, errors.New("empty tensor name")
	}
	var e map[string]json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil || e == nil {
		return TensorInfo{}, fmt.Errorf("entry %s must be an object with dtype, shape and data_offsets", clip(raw))
	}
	var (
		dtype    string
		rawShape []int64
		offs     []int64
		fields   = []struct {
			key, want string
			dst       any
		}{
			{"dtype", "a string such as \"F32\"", &dtype},
			{"shape", "a list of non-negative integers", &rawShape},
			{"data_offsets", "two integers [begin, end]", &offs},
		}
	)
	for _, f := range fields {
		v, ok := e[f.key]
		if !ok {
			return TensorInfo{}, fmt.Errorf("entry has no %s", f.key)
		}
		if err := json.Unmarshal(v, f.dst); err != nil || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return TensorInfo{}, fmt.Errorf("%s is %s: it must be %s", f.key, clip(v), f.want)
		}
	}
	dt := DType(dtype)
	size, ok := dtypeSizes[dt]
	if !ok {
		return TensorInfo{}, fmt.Errorf("unknown dtype %q (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64)", dtype)
	}
	if len(offs) != 2 {
		return TensorInfo{}, fmt.Errorf("data_offsets must be [begin, end], got %d numbers", len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return TensorInfo{}, fmt.Errorf("data_offsets [%d, %d] are not a range [begin, end] with 0 <= begin <= end", begin, end)
	}
	if end > dataSize {
		return TensorInfo{}, fmt.Errorf("data_offsets [%d, %d] end beyond the %d-byte data section: the file is truncated or corrupt", begin, end, dataSize)
	}
	shape := make([]int, len(rawShape))
	zero := false
	for i, d := range rawShape {
		if d < 0 {
			return TensorInfo{}, fmt.Errorf("shape %v has a negative dimension", rawShape)
		}
		if d > math.MaxInt {
			return TensorInfo{}, fmt.Errorf("shape %v has a dimension too large for this platform", rawShape)
		}
		shape[i] = int(d)
		zero = zero || d == 0
	}
	// The byte count, computed so that it cannot overflow: any product
	// past the data section's size is already an error.
	nbytes := int64(0)
	if !zero {
		nbytes = size
		for _, d := range rawShape {
			if nbytes > dataSize/d {
				return TensorInfo{}, fmt.Errorf("shape %v of %s needs more bytes than the %d-byte data section holds", rawShape, dt, dataSize)
			}
			nbytes *= d
		}
	}
	if nbytes/size > math.MaxInt {
		return TensorInfo{}, fmt.Errorf("shape %v has too many elements for this platform", rawShape)
	}
	if end-begin != nbytes {
		return TensorInfo{}, fmt.Errorf("data_offsets [%d, %d] span %d bytes but shape %v of %s needs %d", begin, end, end-begin, rawShape, dt, nbytes)
	}
	return TensorInfo{Name: name, DType: dt, Shape: shape, Begin: begin, End: end}, nil
}

// checkOverlaps rejects tensors whose byte ranges overlap. Gaps between
// tensors are allowed, and so are zero-size tensors anywhere.
func checkOverlaps(h *header, source string) error {
	ranges := make([]TensorInfo, 0, len(h.tensors))
	for _, name := range h.names {
		if t := h.tensors[name]; t.End > t.Begin {
			ranges = append(ranges, t)
		}
	}
	sort.Slice(ranges, func(i, j int) bool {
		if ranges[i].Begin != ranges[j].Begin {
			return ranges[i].Begin < ranges[j].Begin
		}
		return ranges[i].Name < ranges[j].Name
	})
	for i := 1; i < len(ranges); i++ {
		a, b := ranges[i-1], ranges[i]
		if b.Begin < a.End {
			return fmt.Errorf("weights: %s: tensor %q: data_offsets [%d, %d] overlap those of tensor %q [%d, %d]: the file is corrupt", source, b.Name, b.Begin, b.End, a.Name, a.Begin, a.End)
		}
	}
	return nil
}

// clip returns a JSON value for an error message, shortened if long.
func clip(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) > 64 {
		return string(v[:61]) + "..."
	}
	return string(v)
}
