// Package optim holds what updates parameters from gradients: AdamW with
// decoupled weight decay and bias correction, global gradient-norm clipping,
// and the learning-rate schedule (linear warm-up, then constant or cosine).
//
// It is its own package because SFT and RL share it and because its state
// (the moments and the step count) is part of every checkpoint: a resumed run
// restores it exactly through State and Restore.
//
// The optimizer works on a model's flat parameter and gradient buffers
// through the kernels.Backend, so it runs on whichever backend the model
// lives on.
package optim

import (
	"fmt"
	"math"

	"github.com/frontier-rl/frontier/kernels"
)

// Config holds AdamW's hyper-parameters. The defaults (DefaultConfig) are
// those of torch.optim.AdamW except the weight decay, which is 0.01 as in
// verl's actor optimizer.
type Config struct {
	LR          float64 // peak learning rate
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64
	ClipNorm    float64 // global gradient-norm clip; 0 disables
	Schedule    Schedule
}

// DefaultConfig returns AdamW with lr 1e-3, betas (0.9, 0.999), eps 1e-8,
// weight decay 0.01, gradient clipping at 1.0 and a constant schedule.
func DefaultConfig() Config {
	return Config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, ClipNorm: 1.0,
		Schedule: Schedule{Kind: Constant}}
}

// ScheduleKind names the shape of a learning-rate schedule.
type ScheduleKind string

// The schedules Factor knows.
const (
	Constant ScheduleKind = "constant"
	Cosine   ScheduleKind = "cosine"
)

// Schedule maps a step to a multiplier of the peak learning rate.
//
//	step < Warmup:          (step+1)/Warmup
//	Kind "constant":        1
//	Kind "cosine":          MinRatio + (1−MinRatio)·(1+cos(π·p))/2, p = (step−Warmup)/(Total−Warmup)
type Schedule struct {
	Kind     ScheduleKind // Constant (or empty) or Cosine
	Warmup   int
	Total    int     // total steps (cosine only)
	MinRatio float64 // final multiplier of the cosine (e.g. 0.1)
}

// Validate reports a schedule that cannot be evaluated.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "", Constant:
	case Cosine:
		if s.Total <= s.Warmup {
			return fmt.Errorf("optim: cosine schedule needs total steps (%d) > warm-up steps (%d)", s.Total, s.Warmup)
		}
	default:
		return fmt.Errorf("optim: unknown learning-rate schedule %q (use constant or cosine)", s.Kind)
	}
	if s.Warmup < 0 || s.MinRatio < 0 || s.MinRatio > 1 {
		return fmt.Errorf("optim: schedule warm-up %d and min ratio %g must be >= 0 and in [0, 1]", s.Warmup, s.MinRatio)
	}
	return nil
}

// Factor returns the multiplier of the peak learning rate at step (0-based).
func (s Schedule) Factor(step int) float64 {
	if step < s.Warmup {
		return float64(step+1) / float64(s.Warmup)
	}
	if s.Kind != Cosine {
		return 1
	}
	p := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	p = min(max(p, 0), 1)
	return s.MinRatio + (1-s.MinRatio)*0.5*(1+math.Cos(math.Pi*p))
}

// AdamW updates one flat parameter buffer from its flat gradient buffer.
type AdamW struct {
	Cfg  Config
	b    kernels.Backend
	m, v kernels.Buffer // first and second moments, same length as the parameters
	step int            // number of updates taken
}

// NewAdamW returns an optimizer for n parameters on backend b.
func NewAdamW(cfg Config, b kernels.Backend, n int) (*AdamW, error) {
	if err := cfg.Schedule.Validate(); err != nil {
		return nil, err
	}
	if !(cfg.LR >= 0) || !(cfg.Beta1 >= 0 && cfg.Beta1 < 1) || !(cfg.Beta2 >= 0 && cfg.Beta2 < 1) || !(cfg.Eps > 0) || cfg.WeightDecay < 0 || cfg.ClipNorm < 0 {
		return nil, fmt.Errorf("optim: invalid AdamW config %+v (need lr >= 0, betas in [0,1), eps > 0, weight decay >= 0, clip >= 0)", cfg)
	}
	return &AdamW{Cfg: cfg, b: b, m: b.Alloc(n), v: b.Alloc(n)}, nil
}

// Steps is the number of updates taken so far.
func (o *AdamW) Steps() int { return o.step }

// LR is the learning rate the next update will use.
func (o *AdamW) LR() float64 { return o.Cfg.LR * o.Cfg.Schedule.Factor(o.step) }

// Step clips the gradient g to the configured global norm (in place), then
// applies one AdamW update to p. It returns the gradient norm before
// clipping. A non-finite norm is an error and leaves p untouched; call
// NonFinite to find the tensor responsible.
func (o *AdamW) Step(p, g kernels.Buffer) (gradNorm float64, err error) {
	gradNorm = math.Sqrt(o.b.SumSquares(g))
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		return gradNorm, fmt.Errorf("optim: gradient norm is %v", gradNorm)
	}
	if c := o.Cfg.ClipNorm; c > 0 && gradNorm > c {
		o.b.Scale(float32(c/(gradNorm+1e-6)), g)
	}
	lr := o.LR()
	o.step++
	o.b.AdamW(p, g, o.m, o.v, float32(lr), float32(o.Cfg.Beta1), float32(o.Cfg.Beta2), float32(o.Cfg.Eps), float32(o.Cfg.WeightDecay), o.step)
	return gradNorm, nil
}

// State returns the optimizer's moments (host copies) and step count, for a
// checkpoint.
func (o *AdamW) State() (m, v []float32, step int) {
	m, v = make([]float32, o.m.Len()), make([]float32, o.v.Len())
	o.b.Download(m, o.m)
	o.b.Download(v, o.v)
	return m, v, o.step
}

// Restore sets the moments and step count from a checkpoint.
func (o *AdamW) Restore(m, v []float32, step int) error {
	if len(m) != o.m.Len() || len(v) != o.v.Len() {
		return fmt.Errorf("optim: checkpoint has moments of %d and %d values for %d parameters (was it saved for another model?)", len(m), len(v), o.m.Len())
	}
	if step < 0 {
		return fmt.Errorf("optim: checkpoint step %d is negative", step)
	}
	o.b.Upload(o.m, m)
	o.b.Upload(o.v, v)
	o.step = step
	return nil
}
