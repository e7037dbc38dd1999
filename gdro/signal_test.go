package gdro

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// SurrogateTerm is the summand of (5) and (20), with its slope in ρ.
func TestSurrogateTerm(t *testing.T) {
	tests := []struct {
		adv, ratio, want, slope float64
	}{
		{1, 1, -1, -1},          // on-policy: -A
		{1, 1.5, -1.28, 0},      // A > 0, ρ above 1+ε_hi: clipped
		{1, 0.5, -0.5, -1},      // A > 0, ρ below 1-ε_lo: unclipped is larger
		{-2, 1.5, 3, 2},         // A < 0, ρ high: unclipped is larger
		{-2, 0.5, 1.6, 0},       // A < 0, ρ below 1-ε_lo: clipped
		{-2, 1.28, 2.56, 2},     // tie at the clip edge: unclipped branch
		{0, 3, 0, 0},            // no advantage, no loss
		{0.5, 1.1, -0.55, -0.5}, // inside the clip range
	}
	for _, tt := range tests {
		got, slope := SurrogateTerm(tt.adv, tt.ratio, 0.2, 0.28)
		if !near(got, tt.want) || !near(slope, tt.slope) {
			t.Errorf("SurrogateTerm(%v, %v) = %v, %v; want %v, %v", tt.adv, tt.ratio, got, slope, tt.want, tt.slope)
		}
	}
	// The slope is the derivative away from the kinks, and ResponseLoss is
	// the mean of the terms.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		adv, ratio := 4*rng.Float64()-2, 2*rng.Float64()
		if math.Abs(ratio-0.8) < 1e-3 || math.Abs(ratio-1.28) < 1e-3 {
			continue
		}
		const h = 1e-6
		up, slope := SurrogateTerm(adv, ratio+h, 0.2, 0.28)
		down, _ := SurrogateTerm(adv, ratio-h, 0.2, 0.28)
		if num := (up - down) / (2 * h); math.Abs(num-slope) > 1e-6 {
			t.Fatalf("A = %v, ρ = %v: slope %v, numerical %v", adv, ratio, slope, num)
		}
		rs := []float64{ratio, 1, 2 - ratio}
		sum := 0.0
		for _, r := range rs {
			v, _ := SurrogateTerm(adv, r, 0.2, 0.28)
			sum += v
		}
		if l, err := ResponseLoss(adv, rs, 0.2, 0.28); err != nil || l != sum/3 {
			t.Fatalf("ResponseLoss = %v, %v; want the mean of the terms %v", l, err, sum/3)
		}
	}
}

func TestResolveSignal(t *testing.T) {
	tests := []struct {
		signal string
		mb     int
		want   string
		err    string
	}{
		{SignalAuto, 2, SignalLoss, ""},
		{SignalAuto, 1, SignalError, ""},
		{SignalLoss, 4, SignalLoss, ""},
		{SignalLoss, 1, "", "-gdro-signal loss needs at least 2 minibatches"},
		{SignalError, 1, SignalError, ""},
		{SignalVariance, 1, SignalVariance, ""},
		{"surrogate", 2, "", `-gdro-signal "surrogate"`},
		{SignalAuto, 0, "", "0 minibatches"},
	}
	for _, tt := range tests {
		got, err := ResolveSignal(tt.signal, tt.mb)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolveSignal(%q, %d) error %v, want %q", tt.signal, tt.mb, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveSignal(%q, %d) = %q, %v; want %q", tt.signal, tt.mb, got, err, tt.want)
		}
	}
}

// The code's sign with a signal that is never negative is fixed allocation
// (TestRolloutCodeSignLocksIn shows it); the check refuses it and names
// both flags.
func TestCheckRolloutSignal(t *testing.T) {
	tests := []struct {
		sign, signal string
		mb           int
		ok           bool
	}{
		{SignCode, SignalLoss, 2, true},
		{SignCode, SignalAuto, 2, true},
		{SignCode, SignalAuto, 1, false},
		{SignCode, SignalError, 2, false},
		{SignCode, SignalVariance, 2, false},
		{SignPaper, SignalVariance, 1, true},
		{SignPaper, SignalError, 1, true},
		{SignPaper, SignalAuto, 1, true},
		{SignPaper, SignalLoss, 1, false}, // the surrogate is 0 on-policy
		{"backwards", SignalVariance, 2, false},
	}
	for _, tt := range tests {
		err := CheckRolloutSignal(tt.sign, tt.signal, tt.mb)
		if tt.ok != (err == nil) {
			t.Errorf("CheckRolloutSignal(%q, %q, %d) = %v, want ok %v", tt.sign, tt.signal, tt.mb, err, tt.ok)
		}
	}
	err := CheckRolloutSignal(SignCode, SignalError, 2)
	for _, want := range []string{"-gdro-arm-sign code", "-gdro-signal error", "fixed allocation", "-gdro-arm-sign paper -gdro-signal variance"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestVarianceLoss(t *testing.T) {
	got, err := VarianceLoss([][]float64{{1, -1}, {1}, {1, 1, 1, -1}})
	// {1, -1}: s² = 2, /2 → 1; {1}: 0; {1, 1, 1, -1}: s² = 1, /4 → 0.25
	want := []float64{1, 1, 0, 0.25, 0.25, 0.25, 0.25}
	if err != nil || !nearSlice(got, want) {
		t.Errorf("VarianceLoss = %v, %v; want %v", got, err, want)
	}
	for _, bad := range [][][]float64{{{}}, {{1, math.Inf(1)}}} {
		if _, err := VarianceLoss(bad); err == nil {
			t.Errorf("VarianceLoss(%v) gave no error", bad)
		}
	}
}

func TestReweight(t *testing.T) {
	adv := []float64{1, -2, 0.5}
	if err := Reweight(adv, []float64{2, 0.5, 0}); err != nil || !nearSlice(adv, []float64{2, -1, 0}) {
		t.Errorf("Reweight gave %v, %v; want [2 -1 0]", adv, err)
	}
	if err := Reweight(adv, []float64{1}); err == nil {
		t.Error("mismatched lengths gave no error")
	}
}
