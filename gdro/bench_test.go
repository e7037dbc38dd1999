package gdro

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchStep holds one training step's controller inputs at N = 512
// prompts, 10 bins and 4 responses per prompt.
type benchStep struct {
	cls      *Classifier
	pg       *PromptGDRO
	rg       *RolloutGDRO
	sq       *SqrtAllocator
	ids      []string
	bins     []int
	stat     []float64
	respBins []int
	loss     []float64
	rewards  []float64
	counts   map[int]int
	chosen   map[int]int
}

const benchPrompts, benchPerPrompt = 512, 4

func newBenchStep(b *testing.B) *benchStep {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	cls, err := NewClassifier(DefaultClassifierConfig())
	if err != nil {
		b.Fatal(err)
	}
	s := &benchStep{cls: cls, ids: make([]string, benchPrompts), bins: make([]int, benchPrompts), stat: make([]float64, benchPrompts)}
	for i := range s.ids {
		s.ids[i] = fmt.Sprintf("prompt-%d", i)
		rate := rng.Float64()
		for range 50 {
			if err := cls.Observe(s.ids[i], rate); err != nil {
				b.Fatal(err)
			}
		}
		s.stat[i] = float64(rng.IntN(2))
	}
	s.pg, _ = NewPromptGDRO(DefaultPromptConfig(), cls.NumBins())
	s.rg, _ = NewRolloutGDRO(DefaultRolloutConfig(), cls.NumBins())
	s.sq, _ = NewSqrtAllocator(DefaultSqrtConfig(), cls.NumBins())
	s.respBins = make([]int, benchPrompts*benchPerPrompt)
	s.loss = make([]float64, len(s.respBins))
	s.rewards = make([]float64, len(s.respBins))
	for i := range s.loss {
		s.loss[i] = 0.1 * rng.NormFloat64()
		s.rewards[i] = float64(2*rng.IntN(2) - 1)
	}
	s.classify()
	s.rollout(b)
	return s
}

func (s *benchStep) classify() {
	s.counts = make(map[int]int, s.cls.NumBins())
	for i, id := range s.ids {
		s.bins[i] = s.cls.Bin(id)
		s.counts[s.bins[i]]++
	}
	for i := range s.respBins {
		s.respBins[i] = s.bins[i/benchPerPrompt]
	}
}

func (s *benchStep) observe(b *testing.B) {
	for i, id := range s.ids {
		if err := s.cls.Observe(id, s.stat[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func (s *benchStep) prompt(b *testing.B) {
	_ = s.pg.Weights(s.respBins)
	if err := s.pg.Update(s.respBins, s.loss); err != nil {
		b.Fatal(err)
	}
}

func (s *benchStep) rollout(b *testing.B) {
	var err error
	if s.chosen, err = s.rg.Choose(s.counts, benchPrompts); err != nil {
		b.Fatal(err)
	}
	if err := s.rg.Update(s.chosen, s.respBins, s.loss); err != nil {
		b.Fatal(err)
	}
}

func (s *benchStep) sqrt(b *testing.B) {
	if _, err := s.sq.Choose(s.counts, benchPrompts); err != nil {
		b.Fatal(err)
	}
	if err := s.sq.Observe(s.respBins, s.rewards); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkControllerStep measures one training step's controller work at
// N = 512 prompts and 10 bins: label 512 prompts, Rollout-GDRO choose and
// update, square-root choose and observe, Prompt-GDRO weights and update
// over 512·4 responses, and 512 classifier observations (window 50).
func BenchmarkControllerStep(b *testing.B) {
	s := newBenchStep(b)
	b.ReportAllocs()
	for b.Loop() {
		s.classify()
		s.rollout(b)
		s.sqrt(b)
		s.prompt(b)
		s.observe(b)
	}
}

// BenchmarkControllerParts times the parts of BenchmarkControllerStep.
func BenchmarkControllerParts(b *testing.B) {
	parts := []struct {
		name string
		run  func(*benchStep, *testing.B)
	}{
		{"classify", func(s *benchStep, _ *testing.B) { s.classify() }},
		{"observe", (*benchStep).observe},
		{"prompt", (*benchStep).prompt},
		{"rollout", (*benchStep).rollout},
		{"sqrt", (*benchStep).sqrt},
	}
	for _, p := range parts {
		b.Run(p.name, func(b *testing.B) {
			s := newBenchStep(b)
			b.ReportAllocs()
			for b.Loop() {
				p.run(s, b)
			}
		})
	}
}
