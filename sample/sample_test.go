package sample

import (
	"math"
	"slices"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/weights"
)

func tinyModel(t *testing.T, threads int) *model.Model {
	t.Helper()
	cfg := weights.Config{ModelType: "qwen3", VocabSize: 40, HiddenSize: 32, IntermediateSize: 64,
		NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		RopeTheta: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 256,
		InitializerRange: 0.5, HiddenAct: "silu"}
	m, err := model.New(cfg, cpu.New(threads))
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(7)
	return m
}

func seeds(step, prompt, n int) []uint64 {
	s := make([]uint64, n)
	for j := range s {
		s[j] = Seed(42, step, prompt, j)
	}
	return s
}

// TestBatchAndThreadIndependence: a prompt's samples are the same alone, in
// a batch with other prompts, and with another thread count.
func TestBatchAndThreadIndependence(t *testing.T) {
	cfg := Config{Temperature: 1, MaxNew: 12, EOS: []int32{3}}
	a := Request{Prompt: []int32{5, 6, 7, 8}, Seeds: seeds(1, 0, 4)}
	b := Request{Prompt: []int32{9, 10}, Seeds: seeds(1, 1, 3)}
	c := Request{Prompt: []int32{11, 12, 13, 14, 15, 16}, Seeds: seeds(1, 2, 5)}
	alone, err := Generate(tinyModel(t, 1), []Request{a}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batched, err := Generate(tinyModel(t, 4), []Request{b, a, c}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for j := range alone[0] {
		x, y := alone[0][j], batched[1][j]
		if !slices.Equal(x.Tokens, y.Tokens) || !slices.Equal(x.LogProbs, y.LogProbs) || x.Truncated != y.Truncated {
			t.Errorf("sample %d: alone %v %v, batched %v %v", j, x.Tokens, x.LogProbs, y.Tokens, y.LogProbs)
		}
	}
	// Different samples of one prompt differ (at temperature 1 on a random
	// model they almost surely do).
	if slices.Equal(alone[0][0].Tokens, alone[0][1].Tokens) && slices.Equal(alone[0][1].Tokens, alone[0][2].Tokens) {
		t.Error("three samples with different seeds are identical")
	}
}

// TestLogProbsMatchForward: the returned log-probs equal those of a full
// forward pass over prompt+completion, and greedy decoding picks the arg-max.
func TestLogProbsMatchForward(t *testing.T) {
	m := tinyModel(t, 2)
	for _, temp := range []float64{0, 0.7} {
		cfg := Config{Temperature: temp, TopK: 10, TopP: 0.9, MaxNew: 10}
		prompt := []int32{1, 2, 3, 4, 5}
		out, err := Generate(m, []Request{{Prompt: prompt, Seeds: seeds(0, 0, 2)}}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out[0] {
			if !c.Truncated || len(c.Tokens) != 10 {
				t.Fatalf("want a truncated 10-token completion, got %d tokens truncated=%v", len(c.Tokens), c.Truncated)
			}
			ids := append(slices.Clone(prompt), c.Tokens...)
			p, err := m.Forward(ids, []int32{0, int32(len(ids))})
			if err != nil {
				t.Fatal(err)
			}
			targets := make([]int32, len(ids))
			for i := range targets {
				targets[i] = -1
				if i+1 < len(ids) {
					targets[i] = ids[i+1]
				}
			}
			lp, _, _ := m.TokenLogProbs(p, targets, false)
			logits := m.LogitsHost(p)
			V := m.Config.VocabSize
			for t2, tok := range c.Tokens {
				row := len(prompt) - 1 + t2
				if d := math.Abs(float64(lp[row] - c.LogProbs[t2])); d > 1e-4 {
					t.Errorf("T=%g token %d: log-prob %g, full forward %g", temp, t2, c.LogProbs[t2], lp[row])
				}
				if temp == 0 {
					r := logits[row*V : (row+1)*V]
					if am := int32(slices.Index(r, slices.Max(r))); am != tok {
						t.Errorf("greedy token %d is %d, arg-max %d", t2, tok, am)
					}
				}
			}
		}
	}
}

func TestStopsAtEOS(t *testing.T) {
	m := tinyModel(t, 1)
	// Find the greedy first token and make it the EOS id.
	out, err := Generate(m, []Request{{Prompt: []int32{4, 5}, Seeds: []uint64{1}}}, Config{MaxNew: 3})
	if err != nil {
		t.Fatal(err)
	}
	eos := out[0][0].Tokens[0]
	out, err = Generate(m, []Request{{Prompt: []int32{4, 5}, Seeds: []uint64{1}}, {Prompt: []int32{6}, Seeds: nil}}, Config{MaxNew: 3, EOS: []int32{eos}})
	if err != nil {
		t.Fatal(err)
	}
	if c := out[0][0]; len(c.Tokens) != 1 || c.Tokens[0] != eos || c.Truncated {
		t.Fatalf("want [%d] not truncated, got %v truncated=%v", eos, c.Tokens, c.Truncated)
	}
	if len(out[1]) != 0 {
		t.Fatalf("a request without seeds got %d samples", len(out[1]))
	}
}

func TestRejectsBadRequests(t *testing.T) {
	m := tinyModel(t, 1)
	for name, tc := range map[string]struct {
		reqs []Request
		cfg  Config
	}{
		"no max":       {[]Request{{Prompt: []int32{1}, Seeds: []uint64{1}}}, Config{}},
		"empty prompt": {[]Request{{Prompt: nil, Seeds: []uint64{1}}}, Config{MaxNew: 2}},
		"bad token":    {[]Request{{Prompt: []int32{99}, Seeds: []uint64{1}}}, Config{MaxNew: 2}},
		"bad top-p":    {[]Request{{Prompt: []int32{1}, Seeds: []uint64{1}}}, Config{MaxNew: 2, TopP: 2}},
	} {
		if _, err := Generate(m, tc.reqs, tc.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
