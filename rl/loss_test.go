package rl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/gdro"
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
		Resp:    []int32{0, 1, 1, -1},
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
	// Response 0: token 0: max(−2·1.65, −2·1.28) = −2.56.
	if w := -2.56; math.Abs(got.RespLoss[0]-w) > 1e-6 {
		t.Errorf("response 0 loss %g, want %g", got.RespLoss[0], w)
	}
	// Response 1: tokens 1 and 2: max(1, 1) = 1; max(e^−1, 0.8) = 0.8.
	if w := (1 + math.Max(math.Exp(-1), 0.8)) / 2; math.Abs(got.RespLoss[1]-w) > 1e-6 {
		t.Errorf("response 1 loss %g, want %g", got.RespLoss[1], w)
	}
}

// randomPolicyBatch returns a batch of n rows over 8 responses (every 9th
// row a prompt row) with ratios and reference log-ratios spread around 1
// and GDRO weights in the advantages.
func randomPolicyBatch(n int) PolicyBatch {
	r := rand.New(rand.NewPCG(3, 4))
	b := PolicyBatch{LogP: make([]float32, n), OldLogP: make([]float32, n), RefLogP: make([]float32, n),
		Adv: make([]float32, n), RawAdv: make([]float32, n), Resp: make([]int32, n), NumResp: 8}
	raw, w := make([]float32, 8), make([]float32, 8)
	for j := range raw {
		raw[j] = float32(r.NormFloat64())
		w[j] = float32(0.5 + r.Float64()*2) // a GDRO weight
	}
	for i := 0; i < n; i++ {
		b.OldLogP[i] = float32(-r.Float64() * 3)
		b.LogP[i] = b.OldLogP[i] + float32(r.NormFloat64()*0.4)
		b.RefLogP[i] = b.OldLogP[i] + float32(r.NormFloat64()*0.2)
		b.Resp[i] = int32(i % 9)
		if i%9 == 8 {
			b.Resp[i] = -1
			continue
		}
		b.RawAdv[i] = raw[i%9]
		b.Adv[i] = raw[i%9] * w[i%9]
	}
	return b
}

// TestPolicyLossFiniteDifferences checks DLogP against central differences of
// Loss, with clipping active on some rows, GDRO weights in the advantages and
// the KL term on, with and without verl's clamps and dual-clip.
func TestPolicyLossFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  LossConfig
	}{
		{"plain", LossConfig{ClipLow: 0.2, ClipHigh: 0.28, KLCoef: 0.05}},
		{"verl options", LossConfig{ClipLow: 0.2, ClipHigh: 0.28, KLCoef: 0.05, LogRatioClamp: 0.6, KLClamp: 0.01, DualClip: 1.4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkFiniteDifferences(t, randomPolicyBatch(64), tc.cfg)
		})
	}
}

// nearKink reports whether row i is within a central difference's reach of
// a kink of the loss.
func nearKink(b PolicyBatch, i int, cfg LossConfig) bool {
	d := float64(b.LogP[i]) - float64(b.OldLogP[i])
	rho := math.Exp(d)
	kinks := []float64{1 - cfg.ClipLow, 1 + cfg.ClipHigh}
	if cfg.DualClip > 0 {
		kinks = append(kinks, cfg.DualClip)
	}
	if cfg.LogRatioClamp > 0 {
		kinks = append(kinks, math.Exp(cfg.LogRatioClamp), math.Exp(-cfg.LogRatioClamp))
		dr := float64(b.RefLogP[i]) - float64(b.LogP[i])
		if math.Abs(math.Abs(dr)-cfg.LogRatioClamp) < 0.01 {
			return true
		}
	}
	for _, k := range kinks {
		if math.Abs(rho-k) < 0.01 {
			return true
		}
	}
	if cfg.KLClamp > 0 {
		dr := float64(b.RefLogP[i]) - float64(b.LogP[i])
		if math.Abs(math.Exp(dr)-dr-1-cfg.KLClamp) < 2e-3 {
			return true
		}
	}
	return false
}

func checkFiniteDifferences(t *testing.T, b PolicyBatch, cfg LossConfig) {
	t.Helper()
	base, err := ComputePolicyLoss(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DualClip > 0 && base.DualClip == 0 {
		t.Fatal("test inputs should reach the dual clip")
	}
	if base.ClipLow == 0 || base.ClipHigh == 0 {
		t.Fatalf("test inputs should clip some rows both ways: %g %g", base.ClipLow, base.ClipHigh)
	}
	const h = 1e-3
	checked := 0
	for i := range b.LogP {
		if b.Resp[i] < 0 || nearKink(b, i, cfg) {
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
	if checked < len(b.LogP)/2 {
		t.Fatalf("only %d rows checked", checked)
	}
}

func TestPolicyLossRejectsNaN(t *testing.T) {
	b := PolicyBatch{LogP: []float32{float32(math.NaN())}, OldLogP: []float32{0}, Adv: []float32{1}, RawAdv: []float32{1}, Resp: []int32{0}, NumResp: 1}
	if _, err := ComputePolicyLoss(b, LossConfig{ClipLow: 0.2, ClipHigh: 0.28}); err == nil {
		t.Fatal("NaN log-prob accepted")
	}
}

// TestPolicyLossVerlOptions: one row with a large ratio or a far reference,
// with and without each of verl's options, against hand values.
func TestPolicyLossVerlOptions(t *testing.T) {
	base := LossConfig{ClipLow: 0.2, ClipHigh: 0.28}
	tests := []struct {
		name           string
		logp, ref, adv float32
		mod            func(*LossConfig)
		loss, dlogp    float64
		dual           float64
		wantErr        bool
	}{
		// A = −1, ρ = 5: the unclipped branch, 5, with gradient −Aρ = 5.
		{"no dual-clip", float32(math.Log(5)), 0, -1, func(*LossConfig) {}, 5, 5, 0, false},
		// Dual-clip c = 3 caps it at −A·c = 3, with no gradient.
		{"dual-clip", float32(math.Log(5)), 0, -1, func(c *LossConfig) { c.DualClip = 3 }, 3, 0, 1, false},
		// ρ = 2 < c: dual-clip does not act.
		{"dual-clip below c", float32(math.Log(2)), 0, -1, func(c *LossConfig) { c.DualClip = 3 }, 2, 2, 0, false},
		// log ρ = 800 overflows exp without the clamp.
		{"no log-ratio clamp", 800, 0, -1, func(*LossConfig) {}, 0, 0, 0, true},
		{"log-ratio clamp", 800, 0, -1, func(c *LossConfig) { c.LogRatioClamp = 20 }, math.Exp(20), 0, 0, false},
		// Δ = 5: k3 = e^5 − 6, gradient β(1 − e^Δ), with β = 1 and A = 0.
		{"no KL clamp", 0, 5, 0, func(c *LossConfig) { c.KLCoef = 1 }, math.Exp(5) - 6, 1 - math.Exp(5), 0, false},
		{"KL clamp", 0, 5, 0, func(c *LossConfig) { c.KLCoef, c.KLClamp = 1, 10 }, 10, 0, 0, false},
		{"KL log-ratio clamp", 0, 5, 0, func(c *LossConfig) { c.KLCoef, c.LogRatioClamp = 1, 2 }, math.Exp(2) - 3, 0, 0, false},
	}
	for _, tc := range tests {
		cfg := base
		tc.mod(&cfg)
		b := PolicyBatch{LogP: []float32{tc.logp}, OldLogP: []float32{0}, RefLogP: []float32{tc.ref},
			Adv: []float32{tc.adv}, RawAdv: []float32{tc.adv}, Resp: []int32{0}, NumResp: 1}
		got, err := ComputePolicyLoss(b, cfg)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: no error, loss %v", tc.name, got.Loss)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if math.Abs(got.Loss-tc.loss) > 1e-4*math.Max(1, math.Abs(tc.loss)) || math.Abs(float64(got.DLogP[0])-tc.dlogp) > 1e-4*math.Max(1, math.Abs(tc.dlogp)) || got.DualClip != tc.dual {
			t.Errorf("%s: loss %v, dlogp %v, dual-clip fraction %v; want %v, %v, %v", tc.name, got.Loss, got.DLogP[0], got.DualClip, tc.loss, tc.dlogp, tc.dual)
		}
	}
}

// TestResponseLossIsGDROs: the loss signal of each response is
// gdro.ResponseLoss of its unweighted advantage and its rows' ratios.
func TestResponseLossIsGDROs(t *testing.T) {
	b := randomPolicyBatch(64)
	cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.28}
	got, err := ComputePolicyLoss(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < b.NumResp; j++ {
		var ratios []float64
		var adv float64
		for i, r := range b.Resp {
			if int(r) == j {
				ratios = append(ratios, math.Exp(float64(b.LogP[i])-float64(b.OldLogP[i])))
				adv = float64(b.RawAdv[i])
			}
		}
		want, err := gdro.ResponseLoss(adv, ratios, cfg.ClipLow, cfg.ClipHigh)
		if err != nil {
			t.Fatal(err)
		}
		if got.RespLoss[j] != want {
			t.Errorf("response %d: loss %v, gdro.ResponseLoss %v", j, got.RespLoss[j], want)
		}
	}
}
