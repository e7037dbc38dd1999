package gdro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// controllers is every controller of a run, as the trainer would save them.
type controllers struct {
	Classifier *Classifier    `json:"classifier"`
	Cumulative *Classifier    `json:"cumulative"`
	Prompt     *PromptGDRO    `json:"prompt"`
	Rollout    *RolloutGDRO   `json:"rollout"`
	Sqrt       *SqrtAllocator `json:"sqrt"`
}

func newControllers(t *testing.T) *controllers {
	t.Helper()
	cum := DefaultClassifierConfig()
	cum.Window, cum.Delta = 0, 0
	rcfg := DefaultRolloutConfig()
	rcfg.Sign = SignPaper
	c := &controllers{
		Classifier: mustClassifier(t, ClassifierConfig{Edges: DefaultClassifierConfig().Edges, Window: 3, Delta: 0.03}),
		Cumulative: mustClassifier(t, cum),
		Prompt:     mustPrompt(t, DefaultPromptConfig(), 10),
		Rollout:    mustRollout(t, rcfg, 10),
		Sqrt:       mustSqrt(t, DefaultSqrtConfig(), 10),
	}
	return c
}

// step runs one synthetic training step: a pool of 40 prompts with fixed
// success probabilities, 16 of them per step, and returns a trace of
// everything the controllers decided.
func (c *controllers) step(t *testing.T, e *env, k int) string {
	t.Helper()
	var trace strings.Builder
	ids := make([]string, 16)
	probs := make([]float64, 16)
	counts := map[int]int{}
	bins := make([]int, 16)
	for i := range ids {
		j := (k*16 + i) % 40
		ids[i], probs[i] = fmt.Sprintf("p%d", j), float64(j)/40
		bins[i] = c.Classifier.Bin(ids[i])
		counts[bins[i]]++
	}
	chosen, err := c.Rollout.Choose(counts, 16)
	if err != nil {
		t.Fatal(err)
	}
	sq, err := c.Sqrt.Choose(counts, 16)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(&trace, bins, chosen, sq)
	var respBins []int
	var rewards, loss []float64
	for i, id := range ids {
		correct := 0
		for range chosen[bins[i]] {
			r := -1.0
			if e.rng.Float64() < probs[i] {
				r, correct = 1, correct+1
			}
			respBins = append(respBins, bins[i])
			rewards = append(rewards, r)
			loss = append(loss, 0.1*e.rng.NormFloat64())
		}
		v, err := StepStat(StatPassK, chosen[bins[i]], correct, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Classifier.Observe(id, v); err != nil {
			t.Fatal(err)
		}
		if err := c.Cumulative.Observe(id, v); err != nil {
			t.Fatal(err)
		}
	}
	w := c.Prompt.Weights(respBins)
	fmt.Fprintln(&trace, w)
	if err := c.Prompt.Update(respBins, loss); err != nil {
		t.Fatal(err)
	}
	if err := c.Rollout.Update(chosen, respBins, loss); err != nil {
		t.Fatal(err)
	}
	if err := c.Sqrt.Observe(respBins, rewards); err != nil {
		t.Fatal(err)
	}
	return trace.String()
}

// Save, restore and continue must equal an uninterrupted run bit for bit.
func TestStateResumeIsExact(t *testing.T) {
	const steps, cut = 40, 17
	full := newControllers(t)
	fullEnv := newEnv(nil, 0, 42)
	var fullTrace []string
	for k := range steps {
		fullTrace = append(fullTrace, full.step(t, fullEnv, k))
	}

	first := newControllers(t)
	e := newEnv(nil, 0, 42)
	for k := range cut {
		if got := first.step(t, e, k); got != fullTrace[k] {
			t.Fatalf("step %d differs before the cut", k)
		}
	}
	saved, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	var resumed controllers
	if err := json.Unmarshal(saved, &resumed); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(&resumed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, again) {
		t.Fatal("restored state marshals differently")
	}
	for k := cut; k < steps; k++ {
		if got := resumed.step(t, e, k); got != fullTrace[k] {
			t.Fatalf("step %d after resume:\n%s\nuninterrupted:\n%s", k, got, fullTrace[k])
		}
	}
	a, _ := json.Marshal(full)
	b, _ := json.Marshal(&resumed)
	if !bytes.Equal(a, b) {
		t.Fatal("final states differ")
	}
	if full.Rollout.ArmScores(0) == nil || full.Classifier.NumPrompts() != 40 {
		t.Fatal("the run did not exercise the controllers")
	}
}

func TestUnmarshalRejectsBadState(t *testing.T) {
	tests := []struct {
		name   string
		target json.Unmarshaler
		data   string
		want   string
	}{
		{"classifier json", &Classifier{}, `{`, "classifier state"},
		{"classifier config", &Classifier{}, `{"config":{"edges":[0.5,0.4]}}`, "increase"},
		{"classifier bin", &Classifier{}, `{"config":{"edges":[0.5]},"prompts":{"a":{"bin":2}}}`, "out of range"},
		{"classifier window", &Classifier{}, `{"config":{"edges":[0.5],"window":1},"prompts":{"a":{"values":[1,0],"bin":0}}}`, "exceed"},
		{"classifier value", &Classifier{}, `{"config":{"edges":[0.5],"window":2},"prompts":{"a":{"values":[2],"bin":0}}}`, "outside"},
		{"classifier sum", &Classifier{}, `{"config":{"edges":[0.5]},"prompts":{"a":{"sum":3,"count":2,"bin":0}}}`, "cumulative"},
		{"prompt lengths", &PromptGDRO{}, `{"config":{"eta":1,"beta":1,"w_max":15},"scores":[0,0],"seen":[true],"last_weights":[0,0]}`, "seen"},
		{"prompt config", &PromptGDRO{}, `{"config":{"beta":0,"w_max":15},"scores":[0]}`, "beta"},
		{"rollout arms", &RolloutGDRO{}, `{"config":{"n_min":1,"n_max":2,"n_bar":1,"sign":"code"},"scores":[[0]]}`, "arm scores"},
		{"rollout sign", &RolloutGDRO{}, `{"config":{"n_min":1,"n_max":2,"n_bar":1,"sign":"x"},"scores":[[0,0]]}`, "sign"},
		{"sqrt variance", &SqrtAllocator{}, `{"config":{"n_min":1,"n_max":2,"n_bar":1,"beta":1,"eps":1},"variances":[-1],"seen":[true]}`, "variance"},
	}
	for _, tt := range tests {
		err := tt.target.UnmarshalJSON([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}
