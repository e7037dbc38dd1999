package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// refF16 is the value of a half-precision encoding, computed from the
// definition in float64.
func refF16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

// refBF16 rounds x to bfloat16 from the definition: of the two bfloat16
// neighbours of x, the nearer, the one with an even last bit on a tie;
// values past the largest finite bfloat16 (by at least half an ulp) become
// infinite.
func refBF16(x float32) float32 {
	if x != x {
		return x
	}
	b := math.Float32bits(x)
	lo := math.Float32frombits(b &^ 0xffff) // toward zero
	hi := math.Float32frombits(b&^0xffff + 0x10000)
	if b&0xffff == 0 {
		return x
	}
	dlo := math.Abs(float64(x) - float64(lo))
	// hi may be infinite; measure its distance as if the exponent went on.
	var dhi float64
	if math.IsInf(float64(hi), 0) {
		dhi = math.Abs(math.Ldexp(math.Copysign(1, float64(x)), 128) - float64(x))
	} else {
		dhi = math.Abs(float64(hi) - float64(x))
	}
	switch {
	case dlo < dhi:
		return lo
	case dhi < dlo:
		return hi
	case (b>>16)&1 == 0:
		return lo
	}
	return hi
}

// TestF16Decode checks every one of the 65536 half-precision encodings
// against the definition, and a few by their known values.
func TestF16Decode(t *testing.T) {
	for h := 0; h <= 0xffff; h++ {
		got := f16ToF32(uint16(h))
		want := refF16(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("0x%04x: got %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("0x%04x: got %v, want %v", h, got, want)
		}
	}
	known := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0400, 6.103515625e-05},       // smallest normal, 2^-14
		{0x03ff, 6.097555160522461e-05}, // largest subnormal, 1023 x 2^-24
		{0x0001, 5.960464477539063e-08}, // smallest subnormal, 2^-24
		{0x8001, -5.960464477539063e-08},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, k := range known {
		if got := f16ToF32(k.h); got != k.want {
			t.Errorf("0x%04x: got %v, want %v", k.h, got, k.want)
		}
	}
	if got := f16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("0x8000: got %v, want -0", got)
	}
}

// TestF16Encode checks that encoding inverts decoding for every non-NaN
// half, and that values between two halves round to nearest even.
func TestF16Encode(t *testing.T) {
	for h := 0; h <= 0xffff; h++ {
		v := f16ToF32(uint16(h))
		if v != v {
			if got := f16Bits(v); f16ToF32(got) == f16ToF32(got) {
				t.Fatalf("NaN 0x%04x encoded as non-NaN 0x%04x", h, got)
			}
			continue
		}
		if got := f16Bits(v); got != uint16(h) {
			t.Fatalf("%v: encoded as 0x%04x, want 0x%04x", v, got, h)
		}
	}
	tests := []struct {
		x    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},             // tie between 1 and 1+2^-10: even
		{1 + 3.0/2048, 0x3c02},             // tie, rounds up to even
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // just past the tie
		{65520, 0x7c00},                    // halfway to 2^16: overflows to inf
		{65519, 0x7bff},
		{1e-8, 0x0000},      // below half the smallest subnormal
		{3e-8, 0x0001},      // above half the smallest subnormal
		{2.98e-8, 0x0000},   // just below half
		{-1e10, 0xfc00},     // overflow keeps the sign
		{6.1e-5, 0x03ff},    // rounds into the largest subnormal
		{6.1035e-5, 0x0400}, // rounds up into the smallest normal
	}
	for _, tc := range tests {
		if got := f16Bits(tc.x); got != tc.want {
			t.Errorf("%v: got 0x%04x, want 0x%04x", tc.x, got, tc.want)
		}
	}
}

// TestBF16Round checks BF16Round against the definition on hand-picked and
// random values.
func TestBF16Round(t *testing.T) {
	tests := []struct {
		x, want float32
	}{
		{1, 1},
		{1 + 1.0/256, 1},           // tie between 1 and 1+2^-7: even
		{1 + 3.0/256, 1 + 4.0/256}, // tie, rounds up to even
		{1 + 1.0/256 + 1.0/65536, 1 + 1.0/128},
		{-(1 + 3.0/256), -(1 + 4.0/256)},
		{math.MaxFloat32, float32(math.Inf(1))},
		{-math.MaxFloat32, float32(math.Inf(-1))},
		{math.Float32frombits(0x7f7f7fff), math.Float32frombits(0x7f7f0000)}, // largest finite stays
		{math.Float32frombits(0x00000001), 0},                                // smallest subnormal
		{math.Float32frombits(0x00008000), 0},                                // tie to even zero
		{math.Float32frombits(0x00018000), math.Float32frombits(0x00020000)}, // tie to even up
		{float32(math.Inf(1)), float32(math.Inf(1))},
		{0.1, 0.10009765625},
	}
	for _, tc := range tests {
		if got := BF16Round(tc.x); math.Float32bits(got) != math.Float32bits(tc.want) {
			t.Errorf("BF16Round(%v) = %v (0x%08x), want %v (0x%08x)", tc.x, got, math.Float32bits(got), tc.want, math.Float32bits(tc.want))
		}
		if got := refBF16(tc.x); math.Float32bits(got) != math.Float32bits(tc.want) {
			t.Errorf("reference rounding of %v = %v, want %v (the test's reference is wrong)", tc.x, got, tc.want)
		}
	}
	nan := math.Float32frombits(0x7fc00001)
	if got := BF16Round(nan); got == got {
		t.Errorf("BF16Round(NaN) = %v", got)
	}
	if got := BF16Round(math.Float32frombits(0x7f800001)); got == got { // NaN whose payload is all below bit 16
		t.Errorf("BF16Round of a low-payload NaN = %v, want NaN", got)
	}
	if got := BF16Round(float32(math.Copysign(0, -1))); math.Float32bits(got) != 0x80000000 {
		t.Errorf("BF16Round(-0) = 0x%08x, want -0", math.Float32bits(got))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		x := math.Float32frombits(rng.Uint32())
		if x != x {
			continue
		}
		if got, want := BF16Round(x), refBF16(x); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("BF16Round(%v = 0x%08x) = 0x%08x, want 0x%08x", x, math.Float32bits(x), math.Float32bits(got), math.Float32bits(want))
		}
	}
}

// TestReadF16File reads a file written by hand with F16 tensors, as
// PyTorch's float16 would store them.
func TestReadF16File(t *testing.T) {
	halves := []uint16{0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x3555}
	data := make([]byte, 2*len(halves))
	for i, h := range halves {
		binary.LittleEndian.PutUint16(data[2*i:], h)
	}
	hdr := `{"__metadata__":{"format":"pt"},"h":{"dtype":"F16","shape":[3,4],"data_offsets":[0,24]}}`
	f, err := Open(writeTemp(t, "half.safetensors", rawFile(hdr, data)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, shape, err := f.Float32("h")
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || shape[0] != 3 || shape[1] != 4 {
		t.Errorf("shape %v, want [3 4]", shape)
	}
	inf := float32(math.Inf(1))
	want := []float32{0, 0, 1, -2, 65504, 5.960464477539063e-08, 6.097555160522461e-05, 6.103515625e-05, inf, -inf, 0, 0.333251953125}
	for i := range want {
		if i == 10 {
			if got[i] == got[i] {
				t.Errorf("element %d: got %v, want NaN", i, got[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("element %d (0x%04x): got %v, want %v", i, halves[i], got[i], want[i])
		}
	}
	if !math.Signbit(float64(got[1])) {
		t.Errorf("element 1: got %v, want -0", got[1])
	}
}

// TestReadIntsAndF64 reads integer and F64 tensors of every width.
func TestReadIntsAndF64(t *testing.T) {
	le := binary.LittleEndian
	data := make([]byte, 0, 64)
	data = le.AppendUint64(data, uint64(0xffffffffffffff85)) // I64 -123
	data = le.AppendUint32(data, 0xfffffff9)                 // I32 -7
	data = le.AppendUint32(data, 0xfffffff9)                 // U32 4294967289
	data = le.AppendUint16(data, 0x8000)                     // I16 -32768
	data = le.AppendUint16(data, 0x8000)                     // U16 32768
	data = append(data, 0xff, 0xff, 1, 0)                    // I8 -1, U8 255, BOOL true, pad
	data = le.AppendUint64(data, 42)                         // U64 42
	data = le.AppendUint64(data, math.Float64bits(-2.5))     // F64 -2.5
	hdr := `{"i64":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},` +
		`"i32":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},` +
		`"u32":{"dtype":"U32","shape":[1],"data_offsets":[12,16]},` +
		`"i16":{"dtype":"I16","shape":[1],"data_offsets":[16,18]},` +
		`"u16":{"dtype":"U16","shape":[1],"data_offsets":[18,20]},` +
		`"i8":{"dtype":"I8","shape":[1],"data_offsets":[20,21]},` +
		`"u8":{"dtype":"U8","shape":[1],"data_offsets":[21,22]},` +
		`"b":{"dtype":"BOOL","shape":[],"data_offsets":[22,23]},` +
		`"u64":{"dtype":"U64","shape":[1],"data_offsets":[24,32]},` +
		`"f64":{"dtype":"F64","shape":[1],"data_offsets":[32,40]}}`
	f, err := Open(writeTemp(t, "ints.safetensors", rawFile(hdr, data)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ints := []struct {
		name string
		want int64
	}{{"i64", -123}, {"i32", -7}, {"u32", 4294967289}, {"i16", -32768}, {"u16", 32768}, {"i8", -1}, {"u8", 255}, {"b", 1}, {"u64", 42}}
	for _, tc := range ints {
		got, _, err := f.Ints(tc.name)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: got %v, %v; want [%d]", tc.name, got, err, tc.want)
		}
	}
	if got, _, err := f.Float32("f64"); err != nil || len(got) != 1 || got[0] != -2.5 {
		t.Errorf("f64: got %v, %v; want [-2.5]", got, err)
	}
}

// TestStreamedReads reads a file through positioned reads, as on systems
// without mmap, with a tensor larger than one read chunk.
func TestStreamedReads(t *testing.T) {
	n := streamChunk/2 + 12345 // BF16: more than one chunk of bytes
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i%1000) - 500.25
	}
	small := []float32{1, 2, 3}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := WriteFile(path, []Tensor{{Name: "big", Shape: []int{n}, Data: data}, {Name: "small", Shape: []int{3}, Data: small}}, BF16, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mapped, _, err := f.Float32("big")
	if err != nil {
		t.Fatal(err)
	}
	s, err := openStreamed(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	streamed, _, err := s.Float32("big")
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if want := BF16Round(data[i]); mapped[i] != want || streamed[i] != want {
			t.Fatalf("element %d: mapped %v, streamed %v, want %v", i, mapped[i], streamed[i], want)
		}
	}
	rawMapped, _ := f.Raw("small")
	rawStreamed, err := s.Raw("small")
	if err != nil || string(rawMapped) != string(rawStreamed) {
		t.Errorf("raw bytes differ: mapped %x, streamed %x (%v)", rawMapped, rawStreamed, err)
	}
}

// TestLargeFileNotCopied opens a sparse 3 GiB file and reads its last
// tensor, mapped and streamed: neither may allocate more than a small
// fraction of the file, so a multi-gigabyte checkpoint never needs a second
// copy in memory.
func TestLargeFileNotCopied(t *testing.T) {
	const big int64 = 3 << 30
	hdr := fmt.Sprintf(`{"big":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]},"tail":{"dtype":"F32","shape":[2],"data_offsets":[%d,%d]}}`, big, big, big, big+8)
	path := filepath.Join(t.TempDir(), "big.safetensors")
	osf, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tail := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(-3))
	head := rawFile(hdr, nil)
	if _, err := osf.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := osf.WriteAt(tail, int64(len(head))+big); err != nil { // the gap stays a hole
		t.Fatal(err)
	}
	if err := osf.Close(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		open func(string) (*File, error)
	}{{"mapped", Open}, {"streamed", openStreamed}} {
		t.Run(mode.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f, err := mode.open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			v, _, err := f.Float32("tail")
			if err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if v[0] != 1.5 || v[1] != -3 {
				t.Errorf("tail %v, want [1.5 -3]", v)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("opening a 3 GiB file and reading 8 bytes allocated %d bytes", alloc)
			}
		})
	}
}
