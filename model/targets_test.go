package model_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/model/modeltest"
)

// TestForwardTargetsEqualsForward: running the last layer's second half and
// the head over the target rows alone gives the same log-probabilities,
// entropies and gradients as the full pass, for every mask shape.
func TestForwardTargetsEqualsForward(t *testing.T) {
	masks := []struct {
		name string
		keep func(i, s, start, end int) bool // row i of sequence s [start, end)
	}{
		{"completions", func(i, s, start, end int) bool { return i >= start+(end-start)/2 && i < end-1 }},
		{"alternate", func(i, s, start, end int) bool { return i%2 == 1 }},
		{"one row", func(i, s, start, end int) bool { return i == 3 }},
		{"every row", func(i, s, start, end int) bool { return true }},
		{"no row", func(i, s, start, end int) bool { return false }},
		{"one sequence", func(i, s, start, end int) bool { return s == 2 }},
	}
	for _, tied := range []bool{true, false} {
		for _, mk := range masks {
			m := newTiny(t, tied, 21)
			r := rand.New(rand.NewPCG(5, 6))
			starts := []int32{0, 7, 8, 19, 30}
			N := int(starts[len(starts)-1])
			ids := randIDs(r, N, m.Config.VocabSize)
			targets := randIDs(r, N, m.Config.VocabSize)
			w := make([]float32, N)
			for s := 0; s+1 < len(starts); s++ {
				for i := int(starts[s]); i < int(starts[s+1]); i++ {
					if !mk.keep(i, s, int(starts[s]), int(starts[s+1])) {
						targets[i] = -1
					} else {
						w[i] = float32(r.NormFloat64())
					}
				}
			}
			run := func(p *model.Pass, err error) (logp, ent, grads []float32) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				logp, ent, err = m.TokenLogProbs(p, targets, true)
				if err != nil {
					t.Fatal(err)
				}
				_, dlogp, err := model.WeightedNLL(logp, w, 1)
				if err != nil {
					t.Fatal(err)
				}
				m.ZeroGrad()
				if err := m.Backward(p, targets, dlogp); err != nil {
					t.Fatal(err)
				}
				return logp, ent, append([]float32(nil), cpu.Data(m.Grads)...)
			}
			lpAll, entAll, gAll := run(m.Forward(ids, starts))
			lp, ent, g := run(m.ForwardTargets(ids, starts, targets))
			for i := range targets {
				if targets[i] < 0 {
					entAll[i] = 0 // ForwardTargets has no entropy for rows without a target
				}
			}
			name := mk.name
			if d := modeltest.MaxDiff(lp, lpAll); d > 1e-5 {
				t.Errorf("tied=%v %s: log-probs differ by %.3g", tied, name, d)
			}
			if mk.name != "every row" && mk.name != "no row" {
				if d := modeltest.MaxDiff(ent, entAll); d > 1e-5 {
					t.Errorf("tied=%v %s: entropies differ by %.3g", tied, name, d)
				}
			}
			if d := modeltest.MaxDiff(g, gAll); d > 1e-5*modeltest.MaxAbs(gAll)+1e-12 {
				t.Errorf("tied=%v %s: gradients differ by %.3g (largest %.3g)", tied, name, d, modeltest.MaxAbs(gAll))
			}
		}
	}
}

// TestForwardTargetsRefusesOtherTargets: a pass made for some target rows
// refuses log-probs or a backward asked for other rows.
func TestForwardTargetsRefusesOtherTargets(t *testing.T) {
	m := newTiny(t, true, 3)
	ids := []int32{1, 2, 3, 4, 5, 6}
	starts := []int32{0, 6}
	targets := []int32{-1, -1, 4, 5, 6, -1}
	p, err := m.ForwardTargets(ids, starts, targets)
	if err != nil {
		t.Fatal(err)
	}
	other := []int32{-1, 3, 4, 5, 6, -1}
	if _, _, err := m.TokenLogProbs(p, other, false); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("TokenLogProbs with another target row: %v, want an error naming row 1", err)
	}
	fewer := []int32{-1, -1, 4, 5, -1, -1}
	if err := m.Backward(p, fewer, make([]float32, 6)); err == nil {
		t.Error("Backward with fewer target rows: no error")
	}
	if _, err := m.ForwardTargets(ids, starts, targets[:5]); err == nil {
		t.Error("ForwardTargets with 5 targets for 6 tokens: no error")
	}
}
