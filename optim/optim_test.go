package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
)

func TestScheduleFactor(t *testing.T) {
	cos := Schedule{Kind: Cosine, Warmup: 10, Total: 110, MinRatio: 0.1}
	tests := []struct {
		s    Schedule
		step int
		want float64
	}{
		{Schedule{Kind: Constant}, 0, 1},
		{Schedule{Kind: Constant, Warmup: 4}, 0, 0.25},
		{Schedule{Kind: Constant, Warmup: 4}, 3, 1},
		{Schedule{Kind: Constant, Warmup: 4}, 100, 1},
		{cos, 9, 1},
		{cos, 10, 1},
		{cos, 60, 0.55},
		{cos, 110, 0.1},
		{cos, 500, 0.1},
	}
	for _, tc := range tests {
		if got := tc.s.Factor(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v step %d: factor %g, want %g", tc.s, tc.step, got, tc.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	for _, s := range []Schedule{{Kind: "linear"}, {Kind: Cosine, Warmup: 5, Total: 5}, {Warmup: -1}} {
		if s.Validate() == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

// TestAdamWMatchesFormula checks two steps of AdamW (with clipping) against
// the update written out in float64.
func TestAdamWMatchesFormula(t *testing.T) {
	b := cpu.New(1)
	r := rand.New(rand.NewPCG(1, 2))
	n := 37
	p0 := make([]float32, n)
	for i := range p0 {
		p0[i] = float32(r.NormFloat64())
	}
	cfg := Config{LR: 0.01, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1, ClipNorm: 0.5, Schedule: Schedule{Kind: Constant, Warmup: 2}}
	o, err := NewAdamW(cfg, b, n)
	if err != nil {
		t.Fatal(err)
	}
	p := cpu.Wrap(append([]float32(nil), p0...))
	ref := make([]float64, n)
	m, v := make([]float64, n), make([]float64, n)
	for i := range ref {
		ref[i] = float64(p0[i])
	}
	for step := 1; step <= 2; step++ {
		g := make([]float32, n)
		var ss float64
		for i := range g {
			g[i] = float32(r.NormFloat64())
			ss += float64(g[i]) * float64(g[i])
		}
		norm := math.Sqrt(ss)
		gb := cpu.Wrap(append([]float32(nil), g...))
		lr := cfg.LR * cfg.Schedule.Factor(step-1)
		got, err := o.Step(p, gb)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-norm) > 1e-9*norm {
			t.Fatalf("norm %g want %g", got, norm)
		}
		scale := 1.0
		if norm > cfg.ClipNorm {
			scale = cfg.ClipNorm / (norm + 1e-6)
		}
		for i := range ref {
			gi := float64(float32(float64(g[i]) * scale))
			m[i] = cfg.Beta1*m[i] + (1-cfg.Beta1)*gi
			v[i] = cfg.Beta2*v[i] + (1-cfg.Beta2)*gi*gi
			mh := m[i] / (1 - math.Pow(cfg.Beta1, float64(step)))
			vh := v[i] / (1 - math.Pow(cfg.Beta2, float64(step)))
			ref[i] -= lr * (mh/(math.Sqrt(vh)+cfg.Eps) + cfg.WeightDecay*ref[i])
		}
	}
	got := cpu.Data(p)
	for i := range ref {
		if math.Abs(float64(got[i])-ref[i]) > 1e-5*(1+math.Abs(ref[i])) {
			t.Fatalf("p[%d] = %g, want %g", i, got[i], ref[i])
		}
	}
	// State round trip.
	ms, vs, st := o.State()
	o2, _ := NewAdamW(cfg, b, n)
	if err := o2.Restore(ms, vs, st); err != nil {
		t.Fatal(err)
	}
	if o2.Steps() != 2 || o2.LR() != o.LR() {
		t.Fatalf("restored step %d lr %g, want 2 and %g", o2.Steps(), o2.LR(), o.LR())
	}
	if err := o2.Restore(ms[:3], vs, st); err == nil {
		t.Fatal("restore of wrong length accepted")
	}
}

func TestAdamWRejectsNonFinite(t *testing.T) {
	b := cpu.New(1)
	o, _ := NewAdamW(DefaultConfig(), b, 3)
	p := cpu.Wrap([]float32{1, 2, 3})
	g := cpu.Wrap([]float32{0, float32(math.NaN()), 1})
	if _, err := o.Step(p, g); err == nil {
		t.Fatal("NaN gradient accepted")
	}
	if d := cpu.Data(p); d[0] != 1 || d[1] != 2 || d[2] != 3 || o.Steps() != 0 {
		t.Fatalf("parameters changed by a rejected step: %v", d)
	}
}
