package weights

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The element types this package decodes. Other dtypes listed in dtypeSizes
// are accepted in headers (so a file holding them can be opened and its
// other tensors read) but cannot be decoded.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	BF16 DType = "BF16"
	F16  DType = "F16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	U16  DType = "U16"
	U32  DType = "U32"
	U64  DType = "U64"
	Bool DType = "BOOL"
)

// dtypeSizes maps every dtype a header may name to its size in bytes.
var dtypeSizes = map[DType]int64{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"I64":     8,
	"U64":     8,
	"F64":     8,
}

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return int(dtypeSizes[d]) }

// IsFloat reports whether tensors of this dtype can be read as float32.
func (d DType) IsFloat() bool {
	switch d {
	case F32, BF16, F16, F64:
		return true
	}
	return false
}

// IsInt reports whether tensors of this dtype can be read as int64.
func (d DType) IsInt() bool {
	switch d {
	case I64, I32, I16, I8, U8, U16, U32, U64, Bool:
		return true
	}
	return false
}

// BF16Round returns x rounded to the nearest bfloat16 (ties to even) and
// widened back to float32. NaN stays NaN (with its sign); values past the
// largest bfloat16 round to infinity, as in PyTorch.
func BF16Round(x float32) float32 {
	return math.Float32frombits(uint32(bf16Bits(x)) << 16)
}

// bf16Bits returns the bfloat16 encoding of x, rounding to nearest even.
func bf16Bits(x float32) uint16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep sign, force a quiet NaN
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// bf16ToF32 widens a bfloat16 encoding exactly.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// f16ToF32 widens an IEEE half-precision encoding exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24)) // subnormal (or zero), exact
		return math.Float32frombits(math.Float32bits(v) | sign)
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// f16Bits returns the IEEE half-precision encoding of x, rounding to nearest
// even; overflow gives infinity and NaN stays NaN.
func f16Bits(x float32) uint16 {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // a carry into the exponent is the correct result, up to infinity
	}
	return sign | uint16(r)
}

// decodeFloat32 decodes len(dst) elements of dtype d from src (little-endian)
// into dst. src must hold exactly len(dst)*d.Size() bytes.
func decodeFloat32(d DType, src []byte, dst []float32) error {
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = bf16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	default:
		return fmt.Errorf("dtype %s cannot be read as float32 (supported: F32, BF16, F16, F64)", d)
	}
	return nil
}

// decodeInt64 decodes len(dst) integer elements of dtype d from src.
func decodeInt64(d DType, src []byte, dst []int64) error {
	le := binary.LittleEndian
	switch d {
	case I64:
		for i := range dst {
			dst[i] = int64(le.Uint64(src[8*i:]))
		}
	case U64:
		for i := range dst {
			v := le.Uint64(src[8*i:])
			if v > math.MaxInt64 {
				return fmt.Errorf("element %d is %d, beyond int64", i, v)
			}
			dst[i] = int64(v)
		}
	case I32:
		for i := range dst {
			dst[i] = int64(int32(le.Uint32(src[4*i:])))
		}
	case U32:
		for i := range dst {
			dst[i] = int64(le.Uint32(src[4*i:]))
		}
	case I16:
		for i := range dst {
			dst[i] = int64(int16(le.Uint16(src[2*i:])))
		}
	case U16:
		for i := range dst {
			dst[i] = int64(le.Uint16(src[2*i:]))
		}
	case I8:
		for i := range dst {
			dst[i] = int64(int8(src[i]))
		}
	case U8, Bool:
		for i := range dst {
			dst[i] = int64(src[i])
		}
	default:
		return fmt.Errorf("dtype %s cannot be read as integers (supported: I64, I32, I16, I8, U64, U32, U16, U8, BOOL)", d)
	}
	return nil
}

// encodeFloat32 encodes src as dtype d (F32, BF16 or F16) into dst, which
// must hold exactly len(src)*d.Size() bytes.
func encodeFloat32(d DType, src []float32, dst []byte) {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i, v := range src {
			le.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case BF16:
		for i, v := range src {
			le.PutUint16(dst[2*i:], bf16Bits(v))
		}
	case F16:
		for i, v := range src {
			le.PutUint16(dst[2*i:], f16Bits(v))
		}
	}
}
