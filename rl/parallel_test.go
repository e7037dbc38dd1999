package rl

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/collective"
	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/weights"
)

// dpConfigs are the settings the data-parallel equality is checked under:
// plain GRPO with KL, Prompt-GDRO with Rollout-GDRO on the loss signal,
// and DAPO's dynamic sampling, in a fixed order (every MPI rank must run
// them in the same order).
func dpConfigs() []namedConfig {
	plain := dpConfig()
	gdroCfg := dpConfig()
	gdroCfg.PromptGDRO, gdroCfg.Alloc = true, AllocGDRO
	dapo := dpConfig()
	dapo.DynamicSampling = true
	return []namedConfig{{"grpo", plain}, {"gdro", gdroCfg}, {"dapo", dapo}}
}

type namedConfig struct {
	name string
	cfg  Config
}

// dpConfig is the toy config with batches wide enough (32 rows) that a
// generation batch of the whole step and one of half of it take different
// GEMM paths (kernels/simd's skinny path below 16 rows): the split must
// not depend on the world size for the equality to hold.
func dpConfig() Config {
	cfg := toyConfig()
	cfg.PromptsPerStep = 8
	cfg.Sample.MaxNew = 6
	return cfg
}

// dpTrainer is newToyTrainer with a wider model (hidden 128, as the
// built-in experiment's), whose GEMM paths round differently.
func dpTrainer(t *testing.T, cfg Config) *Trainer {
	t.Helper()
	mcfg := weights.Config{ModelType: "qwen3", VocabSize: testVocab, HiddenSize: 128, IntermediateSize: 256,
		NumHiddenLayers: 1, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 32,
		RopeTheta: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 64,
		InitializerRange: 0.1, HiddenAct: "silu"}
	newModel := func() *model.Model {
		m, err := model.New(mcfg, cpu.New(1))
		if err != nil {
			t.Fatal(err)
		}
		m.InitRandom(5)
		return m
	}
	m := newModel()
	oc := optim.DefaultConfig()
	oc.LR = 0.05
	opt, err := optim.NewAdamW(oc, m.B, m.NumParams())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(cfg, m, opt, toyData(15), toyEnv())
	if err != nil {
		t.Fatal(err)
	}
	tr.Ref = newModel()
	return tr
}

// TestDataParallelMatchesOneRank: three steps on two in-process ranks give,
// on both ranks, the weights and metrics of the same steps on one rank,
// bit for bit.
func TestDataParallelMatchesOneRank(t *testing.T) {
	const steps, shards = 3, 4
	for _, nc := range dpConfigs() {
		cfg := nc.cfg
		t.Run(nc.name, func(t *testing.T) {
			one := dpTrainer(t, cfg)
			if err := one.EnableDataParallel(collective.Single{}, shards); err != nil {
				t.Fatal(err)
			}
			want := runSteps(t, one, steps)
			comms := collective.Local(2)
			got := make([][]Metrics, 2)
			trs := make([]*Trainer, 2)
			done := make(chan struct{})
			for r, c := range comms {
				trs[r] = dpTrainer(t, cfg)
				if err := trs[r].EnableDataParallel(c, shards); err != nil {
					t.Fatal(err)
				}
				trs[r].dp.chunk = 4099 // several all-gathers per minibatch, the last one short
				go func() {
					defer func() { done <- struct{}{} }()
					got[r] = runSteps(t, trs[r], steps)
				}()
			}
			<-done
			<-done
			for r := range trs {
				sameBits(t, params(one.M), params(trs[r].M), "rank weights")
				for s := range want {
					sameMetrics(t, want[s], got[r][s])
				}
			}
		})
	}
}

// runSteps runs n training steps and returns their metrics.
func runSteps(t *testing.T, tr *Trainer, n int) []Metrics {
	var out []Metrics
	for i := 0; i < n; i++ {
		mt, err := tr.TrainStep()
		if err != nil {
			t.Error(err)
			return nil
		}
		out = append(out, mt)
	}
	return out
}

func sameBits(t *testing.T, want, got []float32, what string) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s: parameter %d is %v; one rank has %v", what, i, got[i], want[i])
		}
	}
}

// sameMetrics compares every metric but the timings bit for bit.
func sameMetrics(t *testing.T, want, got Metrics) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d metrics; one rank has %d", len(got), len(want))
	}
	for k, v := range want {
		if strings.HasPrefix(k, "timing/") || strings.HasPrefix(k, "throughput/") || k == "step_time" {
			continue
		}
		if math.Float64bits(v) != math.Float64bits(got[k]) && !(math.IsNaN(v) && math.IsNaN(got[k])) {
			t.Errorf("step %v: %s = %v; one rank has %v", want["step"], k, got[k], v)
		}
	}
}

func TestEnableDataParallelRejects(t *testing.T) {
	tr := newToyTrainer(t, toyConfig())
	for _, tc := range []struct {
		comm   collective.Comm
		shards int
	}{{nil, 2}, {collective.Single{}, 0}, {collective.Local(2)[0], 3}} {
		if err := tr.EnableDataParallel(tc.comm, tc.shards); err == nil {
			t.Errorf("EnableDataParallel(%v, %d): no error", tc.comm, tc.shards)
		}
	}
}

// sftBatch is an SFT batch of the toy data.
func sftBatch() []SFTExample {
	var batch []SFTExample
	for _, it := range toyData(15) {
		batch = append(batch, SFTExample{Prompt: it.Prompt, Answer: []int32{it.Prompt[0], it.Prompt[1], 0}})
	}
	return batch
}

// sftRun runs SFT steps of the toy batch over c and returns the losses and
// the weights.
func sftRun(t *testing.T, c collective.Comm, steps, shards int) ([]float64, []float32) {
	tr := dpTrainer(t, dpConfig())
	var losses []float64
	for i := 0; i < steps; i++ {
		l, _, err := SFTStepParallel(tr.M, tr.Opt, sftBatch(), c, shards)
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		losses = append(losses, l)
	}
	return losses, params(tr.M)
}

// sameLosses compares losses bit for bit.
func sameLosses(t *testing.T, want, got []float64) {
	t.Helper()
	for i, l := range want {
		if math.Float64bits(l) != math.Float64bits(got[i]) {
			t.Fatalf("step %d: loss %v; one rank %v", i, got[i], l)
		}
	}
}

// TestSFTParallelMatchesOneRank: SFT steps on two in-process ranks equal
// the same steps on one rank, losses and weights to the bit.
func TestSFTParallelMatchesOneRank(t *testing.T) {
	const steps, shards = 4, 4
	wantLoss, wantW := sftRun(t, collective.Single{}, steps, shards)
	comms := collective.Local(2)
	losses := make([][]float64, 2)
	ws := make([][]float32, 2)
	done := make(chan struct{})
	for r, c := range comms {
		go func() {
			defer func() { done <- struct{}{} }()
			losses[r], ws[r] = sftRun(t, c, steps, shards)
		}()
	}
	<-done
	<-done
	for r := range comms {
		sameBits(t, wantW, ws[r], "SFT weights")
		sameLosses(t, wantLoss, losses[r])
	}
	if wantLoss[1] >= wantLoss[0] { // the first update lowers the loss (lr 0.05 overshoots later)
		t.Fatalf("SFT loss %v: the first update did not lower it", wantLoss)
	}
	if _, _, err := SFTStepParallel(nil, nil, sftBatch(), collective.Single{}, 0); err == nil {
		t.Fatal("0 shards: no error")
	}
}

// TestEvaluateParallelMatchesEvaluate: an evaluation over two in-process
// ranks returns Evaluate's results on every rank.
func TestEvaluateParallelMatchesEvaluate(t *testing.T) {
	tr := dpTrainer(t, dpConfig())
	cfg := EvalConfig{Samples: 3, Sample: sample.Config{Temperature: 1, MaxNew: 4, EOS: []int32{0}}, Greedy: true, Seed: 3, BatchPrompts: 4}
	want, err := Evaluate(tr.M, tr.Data, tr.Env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	comms := collective.Local(2)
	got := make([][]PromptResult, 2)
	errs := make(chan error, 2)
	for r, c := range comms {
		m := dpTrainer(t, dpConfig()).M
		go func() {
			var err error
			got[r], err = EvaluateParallel(m, tr.Data, tr.Env, cfg, c)
			errs <- err
		}()
	}
	for range comms {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for r := range comms {
		if !slices.Equal(want, got[r]) {
			t.Fatalf("rank %d: %v; Evaluate: %v", r, got[r], want)
		}
	}
}
