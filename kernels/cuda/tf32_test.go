package cuda

import (
	"math"
	"testing"
)

// roundTF32 rounds x to TF32, the input format of tensor-core FP32
// products: the sign, the 8-bit exponent and the top 10 of the 23 mantissa
// bits, to nearest with ties away from zero (PTX cvt.rna.tf32.f32). Inf and
// NaN are returned unchanged; a value that rounds past the largest finite
// TF32 becomes Inf.
func roundTF32(x float32) float32 {
	u := math.Float32bits(x)
	if u&0x7f800000 == 0x7f800000 {
		return x
	}
	return math.Float32frombits((u + 0x1000) &^ 0x1fff)
}

func TestRoundTF32(t *testing.T) {
	ulp := float32(math.Ldexp(1, -10)) // TF32's unit in the last place at 1
	tests := []struct {
		name    string
		in, out float32
	}{
		{"zero", 0, 0},
		{"one", 1, 1},
		{"exact", 1 + 3*ulp, 1 + 3*ulp},
		{"below half rounds down", 1 + ulp*0.499, 1},
		{"above half rounds up", 1 + ulp*0.501, 1 + ulp},
		{"tie rounds away from zero", 1 + ulp/2, 1 + ulp},
		{"negative tie rounds away from zero", -(1 + ulp/2), -(1 + ulp)},
		{"even tie also rounds away", 1 + 2*ulp + ulp/2, 1 + 3*ulp},
		{"carry into the exponent", 2 - ulp/2, 2},
		{"largest float overflows", math.MaxFloat32, float32(math.Inf(1))},
		{"largest TF32 stays", float32(math.Ldexp(2-math.Ldexp(1, -10), 127)), float32(math.Ldexp(2-math.Ldexp(1, -10), 127))},
		{"subnormal", math.Float32frombits(0x00001fff), math.Float32frombits(0x00002000)},
		{"small subnormal flushes to zero", math.Float32frombits(0x00000fff), 0},
		{"infinity", float32(math.Inf(-1)), float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundTF32(tc.in); math.Float32bits(got) != math.Float32bits(tc.out) {
				t.Errorf("roundTF32(%v) = %v, want %v", tc.in, got, tc.out)
			}
		})
	}
	if nan := roundTF32(float32(math.NaN())); !math.IsNaN(float64(nan)) {
		t.Errorf("roundTF32(NaN) = %v", nan)
	}
	// Every rounded value has a 10-bit mantissa and is within half a TF32 ulp.
	for i := uint32(0); i < 1<<20; i++ {
		x := math.Float32frombits(0x3f800000 | i*7919&0x7fffff)
		r := roundTF32(x)
		if math.Float32bits(r)&0x1fff != 0 || math.Abs(float64(r)-float64(x)) > float64(ulp)/2 {
			t.Fatalf("roundTF32(%v) = %v", x, r)
		}
	}
}
