package rl

import (
	"math"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/collective"
	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
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
