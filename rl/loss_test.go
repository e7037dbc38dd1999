package rl

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestGroupAdvantages(t *testing.T) {
	tests := []struct {
		name     string
		r        []float64
		meanOnly bool
		clip     float64
		want     []float64
	}{
		{"one response", []float64{1}, false, 5, []float64{0}},
		{"all equal", []float64{-1, -1, -1}, false, 5, []float64{0, 0, 0}},
		// mean 0, unbiased std sqrt(4/3)
		{"pm1 half", []float64{1, -1, 1, -1}, false, 5, []float64{1 / (math.Sqrt(4.0/3) + 1e-6), -1 / (math.Sqrt(4.0/3) + 1e-6), 1 / (math.Sqrt(4.0/3) + 1e-6), -1 / (math.Sqrt(4.0/3) + 1e-6)}},
		// mean -0.5, std = sqrt((2.25+3*0.25)/3) = 1
		{"one of four", []float64{1, -1, -1, -1}, false, 5, []float64{1.5 / (1 + 1e-6), -0.5 / (1 + 1e-6), -0.5 / (1 + 1e-6), -0.5 / (1 + 1e-6)}},
		{"dr grpo", []float64{1, -1, -1, -1}, true, 5, []float64{1.5, -0.5, -0.5, -0.5}},
		{"clipped", []float64{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 5, nil},
	}
	for _, tc := range tests {
		got := GroupAdvantages(tc.r, tc.meanOnly, tc.clip)
		if tc.want == nil {
			if got[0] != 5 {
				t.Errorf("%s: A_0 = %g, want the clip 5", tc.name, got[0])
			}
			continue
		}
		for j := range got {
			if math.Abs(got[j]-tc.want[j]) > 1e-12 {
				t.Errorf("%s: A = %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestPolicyLossHandValues(t *testing.T) {
	// Row 0: ρ = e^0.5 ≈ 1.65 > 1.28 with A = 2 > 0: clipped high, no gradient.
	// Row 1: ρ = 1, A = −1: unclipped, L = 1, dL/dlogp = 1.
	// Row 2: ρ = e^−1 ≈ 0.37 < 0.8 with A = −1: clipped low, no gradient.
	// Row 3: prompt row, no loss.
	b := PolicyBatch{
		LogP:    []float32{0.5, -1, -2, 0},
		OldLogP: []float32{0, -1, -1, 0},
		Adv:     []float32{2, -1, -1, 9},
		RawAdv:  []float32{2, -1, -1, 9},
		Resp:    []int32{0, 0, 1, -1},
		NumResp: 2,
	}
	got, err := ComputePolicyLoss(b, LossConfig{ClipLow: 0.2, ClipHigh: 0.28})
	if err != nil {
		t.Fatal(err)
	}
	want := (-1.28*2 + 1 + 0.8) / 3
	if math.Abs(got.Loss-want) > 1e-6 {
		t.Errorf("loss %g, want %g", got.Loss, want)
	}
	if got.DLogP[0] != 0 || got.DLogP[2] != 0 || got.DLogP[3] != 0 || math.Abs(float64(got.DLogP[1])-1.0/3) > 1e-7 {
		t.Errorf("dlogp %v", got.DLogP)
	}
	if math.Abs(got.ClipHigh-1.0/3) > 1e-12 || math.Abs(got.ClipLow-1.0/3) > 1e-12 || got.Tokens != 3 {
		t.Errorf("clip fractions %g %g tokens %d", got.ClipLow, got.ClipHigh, got.Tokens)
	}
	// Response 0: tokens 0 and 1: max(−2·1.65, −2·1.28) = −2.56; max(1, 1) = 1.
	if w := (-2.56 + 1) / 2; math.Abs(got.RespLoss[0]-w) > 1e-6 {
		t.Errorf("response 0 loss %g, want %g", got.RespLoss[0], w)
	}
	if w := math.Max(math.Exp(-1), 0.8); math.Abs(got.RespLoss[1]-w) > 1e-6 {
		t.Errorf("response 1 loss %g, want %g", got.RespLoss[1], w)
	}
}

// TestPolicyLossFiniteDifferences checks DLogP against central differences of
// Loss, with clipping active on some rows, GDRO weights in the advantages and
// the KL term on.
func TestPolicyLossFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 64
	b := PolicyBatch{LogP: make([]float32, n), OldLogP: make([]float32, n), RefLogP: make([]float32, n),
		Adv: make([]float32, n), RawAdv: make([]float32, n), Resp: make([]int32, n), NumResp: 8}
	for i := 0; i < n; i++ {
		b.OldLogP[i] = float32(-r.Float64() * 3)
		b.LogP[i] = b.OldLogP[i] + float32(r.NormFloat64()*0.4)
		b.RefLogP[i] = b.OldLogP[i] + float32(r.NormFloat64()*0.2)
		b.RawAdv[i] = float32(r.NormFloat64())
		w := 0.5 + r.Float64()*2 // a GDRO weight
		b.Adv[i] = b.RawAdv[i] * float32(w)
		b.Resp[i] = int32(i % 9)
		if i%9 == 8 {
			b.Resp[i] = -1
		}
	}
	cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.28, KLCoef: 0.05}
	base, err := ComputePolicyLoss(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if base.ClipLow == 0 || base.ClipHigh == 0 {
		t.Fatalf("test inputs should clip some rows both ways: %g %g", base.ClipLow, base.ClipHigh)
	}
	const h = 1e-3
	checked := 0
	for i := 0; i < n; i++ {
		d := float64(b.LogP[i]) - float64(b.OldLogP[i])
		rho := math.Exp(d)
		if math.Abs(rho-0.8) < 0.01 || math.Abs(rho-1.28) < 0.01 {
			continue // too close to a kink for a central difference
		}
		orig := b.LogP[i]
		b.LogP[i] = orig + h
		up, _ := ComputePolicyLoss(b, cfg)
		b.LogP[i] = orig - h
		down, _ := ComputePolicyLoss(b, cfg)
		b.LogP[i] = orig
		fd := (up.Loss - down.Loss) / (2 * float64(h))
		if math.Abs(fd-float64(base.DLogP[i])) > 2e-4 {
			t.Errorf("row %d: analytic %g, finite difference %g", i, base.DLogP[i], fd)
		}
		checked++
	}
	if checked < n/2 {
		t.Fatalf("only %d rows checked", checked)
	}
}

func TestPolicyLossRejectsNaN(t *testing.T) {
	b := PolicyBatch{LogP: []float32{float32(math.NaN())}, OldLogP: []float32{0}, Adv: []float32{1}, RawAdv: []float32{1}, Resp: []int32{0}, NumResp: 1}
	if _, err := ComputePolicyLoss(b, LossConfig{ClipLow: 0.2, ClipHigh: 0.28}); err == nil {
		t.Fatal("NaN log-prob accepted")
	}
}
