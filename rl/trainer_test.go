package rl

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/gdro"
	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
	"github.com/frontier-rl/frontier/sample"
	"github.com/frontier-rl/frontier/tasks"
	"github.com/frontier-rl/frontier/weights"
)

// A toy environment: token id k is the letter 'a'+k; id 0 is EOS. The answer
// to a prompt is its first letter repeated once.
const testVocab = 12

func toyDecode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteByte(byte('a' + id))
	}
	return b.String()
}

func toyData(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		p := []int32{int32(1 + i%5), int32(1 + (i*7)%11), int32(1 + (i*3)%11)}
		items[i] = Item{Ex: tasks.Example{ID: fmt.Sprintf("toy-%d", i), Prompt: toyDecode(p), Answer: toyDecode(p[:1]), Family: "toy", Level: 1 + i%3}, Prompt: p}
	}
	return items
}

func toyModel(t *testing.T, seed uint64) *model.Model {
	t.Helper()
	cfg := weights.Config{ModelType: "qwen3", VocabSize: testVocab, HiddenSize: 16, IntermediateSize: 32,
		NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 8,
		RopeTheta: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 64,
		InitializerRange: 0.3, HiddenAct: "silu"}
	m, err := model.New(cfg, cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(seed)
	return m
}

func toyConfig() Config {
	cfg := DefaultConfig()
	cfg.PromptsPerStep = 6
	cfg.Rollouts = 4
	cfg.Minibatches = 2
	cfg.Sample = sample.Config{Temperature: 1, MaxNew: 3, EOS: []int32{0}}
	cfg.Classifier = gdro.ClassifierConfig{Edges: []float64{0.25, 0.5, 0.75}, Window: 0}
	rc := gdro.DefaultRolloutConfig()
	rc.NMin, rc.NMax = 2, 8
	cfg.RolloutCfg = rc
	sc := gdro.DefaultSqrtConfig()
	sc.NMin, sc.NMax = 2, 8
	cfg.SqrtCfg = sc
	return cfg
}

func toyEnv() Env { return Env{Decode: toyDecode, Verifier: tasks.ExactMatch(), EOS: []int32{0}} }

func newToyTrainer(t *testing.T, cfg Config) *Trainer {
	t.Helper()
	m := toyModel(t, 5)
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
	tr.Ref = toyModel(t, 5) // the starting policy, for the KL term
	return tr
}

func params(m *model.Model) []float32 {
	out := make([]float32, m.NumParams())
	m.B.Download(out, m.Params)
	return out
}

// TestGDROOffIsPlainGRPO: with both controllers off, a trainer step updates
// the model exactly as a plain GRPO step written out here from the same
// parts, bit for bit.
func TestGDROOffIsPlainGRPO(t *testing.T) {
	cfg := toyConfig()
	cfg.Minibatches = 1
	cfg.Loss = LossConfig{ClipLow: 0.2, ClipHigh: 0.28}
	tr := newToyTrainer(t, cfg)
	idx := tr.poolIndices(cfg.PromptsPerStep)
	tr.pos = 0
	if _, err := tr.TrainStep(); err != nil {
		t.Fatal(err)
	}

	got, want := params(tr.M), plainGRPOStep(t, cfg, idx)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("parameter %d: trainer %v, plain GRPO %v", i, got[i], want[i])
		}
	}
}

// plainGRPOStep writes out one GRPO step on the prompts idx of the toy data
// with a fresh toy model and returns the updated parameters.
func plainGRPOStep(t *testing.T, cfg Config, idx []int) []float32 {
	t.Helper()
	m := toyModel(t, 5)
	oc := optim.DefaultConfig()
	oc.LR = 0.05
	opt, _ := optim.NewAdamW(oc, m.B, m.NumParams())
	data := toyData(15)
	var reqs []sample.Request
	for _, d := range idx {
		seeds := []uint64{}
		for j := 0; j < cfg.Rollouts; j++ {
			seeds = append(seeds, sample.Seed(cfg.Seed, 0, d, j))
		}
		reqs = append(reqs, sample.Request{Prompt: data[d].Prompt, Seeds: seeds})
	}
	comps, err := sample.Generate(m, reqs, cfg.Sample)
	if err != nil {
		t.Fatal(err)
	}
	var seqs [][]int32
	var nLoss []int
	var advs [][]float64
	env := toyEnv()
	for i, d := range idx {
		var r []float64
		for _, c := range comps[i] {
			r = append(r, tasks.Reward(env.Correct(data[d], c), "pm1"))
			seqs = append(seqs, append(slices.Clone(data[d].Prompt), c.Tokens...))
			nLoss = append(nLoss, len(c.Tokens))
		}
		advs = append(advs, GroupAdvantages(r, false, 5))
	}
	ids, starts, targets := Pack(seqs, nLoss)
	n := len(ids)
	pb := PolicyBatch{Resp: make([]int32, n), OldLogP: make([]float32, n), Adv: make([]float32, n), NumResp: len(seqs)}
	k := 0
	for i := range idx {
		for j, c := range comps[i] {
			end := int(starts[k+1])
			for q := range c.Tokens {
				row := end - 1 - len(c.Tokens) + q
				pb.Resp[row] = int32(k)
				pb.OldLogP[row] = c.LogProbs[q]
				pb.Adv[row] = float32(advs[i][j])
			}
			k++
		}
	}
	for i := range pb.Resp {
		if targets[i] < 0 {
			pb.Resp[i] = -1
		}
	}
	pb.RawAdv = pb.Adv
	p, _ := m.Forward(ids, starts)
	pb.LogP, _, _ = m.TokenLogProbs(p, targets, false)
	res, err := ComputePolicyLoss(pb, cfg.Loss)
	if err != nil {
		t.Fatal(err)
	}
	m.ZeroGrad()
	if err := m.Backward(p, targets, res.DLogP); err != nil {
		t.Fatal(err)
	}
	if _, err := opt.Step(m.Params, m.Grads); err != nil {
		t.Fatal(err)
	}
	return params(m)
}

// TestResumeMatchesStraightRun: k steps, a checkpoint written to disk and
// read back into fresh objects, then k more steps, give the same metrics and
// weights as 2k steps straight, for each controller setting.
func TestResumeMatchesStraightRun(t *testing.T) {
	for _, setting := range []struct {
		name   string
		prompt bool
		alloc  Alloc
		sig    Signal
	}{
		{"grpo", false, AllocFixed, SignalAuto},
		{"prompt-gdro", true, AllocFixed, SignalLoss},
		{"rollout-gdro", false, AllocGDRO, SignalAuto},
		{"both-sqrt", true, AllocSqrt, SignalError},
		{"dapo", false, AllocFixed, SignalAuto},
	} {
		t.Run(setting.name, func(t *testing.T) {
			cfg := toyConfig()
			cfg.PromptGDRO, cfg.Alloc, cfg.Signal = setting.prompt, setting.alloc, setting.sig
			cfg.DynamicSampling = setting.name == "dapo"
			const k = 3
			straight := newToyTrainer(t, cfg)
			var want []Metrics
			for i := 0; i < 2*k; i++ {
				mt, err := straight.TrainStep()
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, mt)
			}
			first := newToyTrainer(t, cfg)
			for i := 0; i < k; i++ {
				if _, err := first.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			second := throughDisk(t, first)
			for i := k; i < 2*k; i++ {
				mt, err := second.TrainStep()
				if err != nil {
					t.Fatal(err)
				}
				for key, v := range want[i] {
					if strings.HasPrefix(key, "timing/") || strings.HasPrefix(key, "throughput/") || key == "step_time" {
						continue
					}
					if got, ok := mt[key]; !ok || (math.Float64bits(got) != math.Float64bits(v) && !(math.IsNaN(got) && math.IsNaN(v))) {
						t.Fatalf("step %d %s: resumed %v, straight %v", i, key, got, v)
					}
				}
			}
			a, b := params(straight.M), params(second.M)
			if !slices.Equal(a, b) {
				t.Fatal("weights differ after resume")
			}
		})
	}
}

// throughDisk saves tr's checkpoint and returns a trainer built from fresh
// objects read back from it.
func throughDisk(t *testing.T, tr *Trainer) *Trainer {
	t.Helper()
	st, err := tr.State()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := SaveCheckpoint(t.TempDir(), fmt.Sprintf("checkpoint-rl-%d", tr.Step), Checkpoint{Model: tr.M, DType: weights.F32, Opt: tr.Opt, State: st})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir, cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	oc := optim.DefaultConfig()
	oc.LR = 0.05
	opt, _ := optim.NewAdamW(oc, m.B, m.NumParams())
	if err := LoadOptimizer(dir, opt); err != nil {
		t.Fatal(err)
	}
	out, err := NewTrainer(tr.Cfg, m, opt, tr.Data, tr.Env)
	if err != nil {
		t.Fatal(err)
	}
	var st2 TrainerState
	if err := LoadState(dir, &st2); err != nil {
		t.Fatal(err)
	}
	if err := out.Restore(st2); err != nil {
		t.Fatal(err)
	}
	out.Ref = tr.Ref
	return out
}

func TestTrainerRejectsBadConfig(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no prompts":       func(c *Config) { c.PromptsPerStep = 0 },
		"bad alloc":        func(c *Config) { c.Alloc = "magic" },
		"bad signal":       func(c *Config) { c.Signal = "vibes" },
		"loss needs mb":    func(c *Config) { c.Signal, c.Minibatches = "loss", 1 },
		"bad reward":       func(c *Config) { c.Reward = "pm2" },
		"bad stat":         func(c *Config) { c.Stat = "median" },
		"too many mbatch":  func(c *Config) { c.Minibatches = 7 },
		"dual-clip c <= 1": func(c *Config) { c.Loss.DualClip = 0.5 },
		"negative KL":      func(c *Config) { c.Loss.KLCoef = -1 },
		"negative clamp":   func(c *Config) { c.Loss.LogRatioClamp = -1 },
	} {
		cfg := toyConfig()
		mod(&cfg)
		m := toyModel(t, 1)
		opt, _ := optim.NewAdamW(optim.DefaultConfig(), m.B, m.NumParams())
		if _, err := NewTrainer(cfg, m, opt, toyData(15), toyEnv()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSFTLearns(t *testing.T) {
	m := toyModel(t, 9)
	oc := optim.DefaultConfig()
	oc.LR = 0.02
	opt, _ := optim.NewAdamW(oc, m.B, m.NumParams())
	data := toyData(15)
	var batch []SFTExample
	for _, it := range data {
		batch = append(batch, SFTExample{Prompt: it.Prompt, Answer: []int32{it.Prompt[0], 0}})
	}
	first, _, err := SFTStep(m, opt, batch)
	if err != nil {
		t.Fatal(err)
	}
	var last float64
	for i := 0; i < 60; i++ {
		if last, _, err = SFTStep(m, opt, batch); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < first*0.3) {
		t.Fatalf("SFT loss %g -> %g: not learning", first, last)
	}
	res, err := Evaluate(m, data, toyEnv(), EvalConfig{Samples: 4, Sample: sample.Config{Temperature: 1, MaxNew: 3, EOS: []int32{0}}, Greedy: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(res, 4); s.Greedy < 0.9 {
		t.Fatalf("greedy accuracy after SFT %g", s.Greedy)
	}
}

func TestSummarize(t *testing.T) {
	prs := []PromptResult{{N: 8, Correct: 8, Greedy: true}, {N: 8, Correct: 0}, {N: 8, Correct: 2}, {N: 8, Correct: 1}}
	s := Summarize(prs, 8)
	// pass@8: 1, 0, 1, 1; pass@1: 1, 0, 0.25, 0.125.
	if s.Prompts != 4 || s.PassK != 0.75 || math.Abs(s.Pass1-1.375/4) > 1e-12 || s.MeanK != s.Pass1 || s.Greedy != 0.25 {
		t.Fatalf("%+v", s)
	}
	s = Summarize(prs, 2)
	// pass@2 with n=8: c=2: 1 - C(6,2)/C(8,2) = 1 - 15/28; c=1: 1 - 21/28.
	want := (1 + 0 + (1 - 15.0/28) + (1 - 21.0/28)) / 4
	if math.Abs(s.PassK-want) > 1e-12 {
		t.Fatalf("pass@2 %g, want %g", s.PassK, want)
	}
}

// TestNonFiniteStopsTheStep: a NaN weight makes the loss NaN and the step an
// error, with the parameters left as they were; a NaN gradient is reported
// with the name of its tensor.
func TestNonFiniteStopsTheStep(t *testing.T) {
	m := toyModel(t, 4)
	opt, _ := optim.NewAdamW(optim.DefaultConfig(), m.B, m.NumParams())
	p, _ := m.Param("model.layers.0.mlp.up_proj.weight")
	host := make([]float32, p.N)
	m.B.Download(host, p.W)
	host[3] = float32(math.NaN())
	m.B.Upload(p.W, host)
	before := params(m)
	batch := []SFTExample{{Prompt: []int32{1, 2}, Answer: []int32{3, 0}}}
	if _, _, err := SFTStep(m, opt, batch); err == nil || !strings.Contains(err.Error(), "loss") {
		t.Fatalf("NaN weight: error %v, want one about the loss", err)
	}
	if after := params(m); !slices.EqualFunc(before, after, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
		t.Fatal("a failed step changed the parameters")
	}
	m.ZeroGrad()
	g := make([]float32, p.N)
	g[5] = float32(math.Inf(1))
	m.B.Upload(p.G, g)
	err := nonFiniteGrad(m, fmt.Errorf("optim: gradient norm is +Inf"))
	if !strings.Contains(err.Error(), p.Name) {
		t.Fatalf("error %q does not name %s", err, p.Name)
	}
}

// TestProbeSeedsEveryPrompt: the probe pass records every pool prompt once
// with the step statistic, trains nothing, and repeats exactly.
func TestProbeSeedsEveryPrompt(t *testing.T) {
	cfg := toyConfig()
	cfg.Stat = gdro.StatMean
	a, b := newToyTrainer(t, cfg), newToyTrainer(t, cfg)
	before := params(a.M)
	n, err := a.Probe()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(a.Data) * cfg.Rollouts; n != want {
		t.Fatalf("probe generated %d rollouts, want %d", n, want)
	}
	if got := a.Cls.NumPrompts(); got != len(a.Data) {
		t.Fatalf("classifier knows %d prompts after the probe, want %d", got, len(a.Data))
	}
	if !slices.Equal(before, params(a.M)) || a.Step != 0 {
		t.Fatal("the probe pass changed the model or the step")
	}
	if _, err := b.Probe(); err != nil {
		t.Fatal(err)
	}
	for _, it := range a.Data {
		pa, _ := a.Cls.Estimate(it.Ex.ID)
		pb, _ := b.Cls.Estimate(it.Ex.ID)
		if pa != pb {
			t.Fatalf("%s: probe estimates %v and %v differ between two runs", it.Ex.ID, pa, pb)
		}
	}
}

// TestRolloutSignalSign: Rollout-GDRO with the code's arm sign and a signal
// that is never negative is fixed allocation, so the trainer refuses it
// naming the flags; the paper's sign with the variance signal is accepted
// and feeds each bin's arm -mean(s²/n) (gdro.VarianceLoss).
func TestRolloutSignalSign(t *testing.T) {
	for _, tc := range []struct {
		sign   string
		signal Signal
		mb     int
		ok     bool
	}{
		{gdro.SignCode, SignalError, 2, false},
		{gdro.SignCode, SignalAuto, 1, false},
		{gdro.SignCode, SignalVariance, 2, false},
		{gdro.SignCode, SignalLoss, 2, true},
		{gdro.SignCode, SignalAuto, 2, true},
		{gdro.SignPaper, SignalVariance, 1, true},
		{gdro.SignPaper, SignalError, 1, true},
	} {
		cfg := toyConfig()
		cfg.Alloc, cfg.Signal, cfg.Minibatches = AllocGDRO, tc.signal, tc.mb
		cfg.RolloutCfg.Sign = tc.sign
		m := toyModel(t, 1)
		opt, _ := optim.NewAdamW(optim.DefaultConfig(), m.B, m.NumParams())
		_, err := NewTrainer(cfg, m, opt, toyData(15), toyEnv())
		if tc.ok != (err == nil) {
			t.Errorf("sign %s, signal %s, %d minibatches: error %v, want ok=%v", tc.sign, tc.signal, tc.mb, err, tc.ok)
		}
		if err != nil && !(strings.Contains(err.Error(), "-gdro-arm-sign") && strings.Contains(err.Error(), "-gdro-signal")) {
			t.Errorf("error %q does not name -gdro-arm-sign and -gdro-signal", err)
		}
	}
	cfg := toyConfig()
	cfg.Alloc, cfg.Signal = AllocGDRO, SignalVariance
	cfg.RolloutCfg.Sign = gdro.SignPaper
	tr := newToyTrainer(t, cfg)
	warmStart(t, tr, 8)
	b := tr.newBatch(tr.poolIndices(cfg.PromptsPerStep), 0, 0)
	tr.pos = 0
	for _, stage := range []func(*batch) error{tr.classify, tr.allocate, tr.generate, tr.score} {
		if err := stage(b); err != nil {
			t.Fatal(err)
		}
	}
	want, err := gdro.VarianceLoss(b.groupRewards())
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range want {
		mean += v
	}
	mean /= float64(len(want))
	if mean == 0 {
		t.Fatal("test step has no reward variance")
	}
	if _, err := tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	// Step 1: every prompt is unseen, so in bin 0 with n̄ rollouts; μ = 0.
	if got := tr.RG.ArmScores(0)[cfg.Rollouts-cfg.RolloutCfg.NMin]; math.Abs(got+mean) > 1e-12 {
		t.Fatalf("bin 0 arm n̄ score %v, want -mean variance loss %v", got, -mean)
	}
}

func TestEvaluateNeedsSamples(t *testing.T) {
	m := toyModel(t, 1)
	_, err := Evaluate(m, toyData(3), toyEnv(), EvalConfig{Samples: 0, Greedy: true, Sample: sample.Config{MaxNew: 2, EOS: []int32{0}}})
	if err == nil || !strings.Contains(err.Error(), "-eval-samples") {
		t.Fatalf("0 samples: error %v, want one naming -eval-samples", err)
	}
}

// warmStart gives tr's model a few SFT steps on the toy answers, so that
// its rollouts are sometimes right.
func warmStart(t *testing.T, tr *Trainer, steps int) {
	t.Helper()
	oc := optim.DefaultConfig()
	oc.LR = 0.02
	opt, _ := optim.NewAdamW(oc, tr.M.B, tr.M.NumParams())
	var batch []SFTExample
	for _, it := range tr.Data {
		batch = append(batch, SFTExample{Prompt: it.Prompt, Answer: []int32{it.Prompt[0], 0}})
	}
	for i := 0; i < steps; i++ {
		if _, _, err := SFTStep(tr.M, opt, batch); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDynamicSampling: DAPO's dynamic sampling trains only on groups with
// reward variance, refills from the pool for at most ExtraRounds rounds,
// and counts every generated rollout, dropped ones included.
func TestDynamicSampling(t *testing.T) {
	cfg := toyConfig()
	cfg.DynamicSampling, cfg.ExtraRounds = true, 3
	N, n := cfg.PromptsPerStep, cfg.Rollouts
	for _, tc := range []struct {
		name      string
		warmSteps int
	}{
		{"every group all wrong", 0},
		{"some groups vary", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newToyTrainer(t, cfg)
			warmStart(t, tr, tc.warmSteps)
			if tc.warmSteps == 0 {
				tr.Env.Verifier = neverRight{}
			}
			total := 0
			for step := 0; step < 3; step++ {
				before := params(tr.M)
				mt, err := tr.TrainStep()
				if err != nil {
					t.Fatal(err)
				}
				gen, kept, rounds := int(mt["rollouts/generated"]), int(mt["rollouts/kept"]), int(mt["rollouts/rounds"])
				total += gen
				if gen != rounds*N*n || rounds < 1 || rounds > 1+cfg.ExtraRounds {
					t.Fatalf("step %d: %d rollouts generated in %d rounds, want %d per round", step+1, gen, rounds, N*n)
				}
				if kept > N*n || kept%n != 0 || (kept < N*n && rounds != 1+cfg.ExtraRounds) {
					t.Fatalf("step %d: %d rollouts kept after %d rounds", step+1, kept, rounds)
				}
				if int(mt["rollouts/total"]) != total || tr.RolloutsGenerated() != total {
					t.Fatalf("step %d: total %v / %d, want %d", step+1, mt["rollouts/total"], tr.RolloutsGenerated(), total)
				}
				if kept == 0 && !slices.Equal(before, params(tr.M)) {
					t.Fatalf("step %d: no group kept, yet the model changed", step+1)
				}
				if tc.warmSteps == 0 && (kept != 0 || rounds != 1+cfg.ExtraRounds) {
					t.Fatalf("step %d: all wrong, yet %d rollouts kept after %d rounds", step+1, kept, rounds)
				}
			}
			if tc.warmSteps > 0 && total == 3*N*n {
				t.Fatal("no group was ever dropped: the test does not exercise the refill")
			}
		})
	}
}

// TestRefillKeepsOnlyVariedGroups: after the refill stage every trained
// group has unequal rewards, holds its own rollouts, and there are at most N.
func TestRefillKeepsOnlyVariedGroups(t *testing.T) {
	cfg := toyConfig()
	cfg.DynamicSampling = true
	tr := newToyTrainer(t, cfg)
	warmStart(t, tr, 8)
	b := tr.newBatch(tr.poolIndices(cfg.PromptsPerStep), 0, 0)
	for _, stage := range []func(*batch) error{tr.classify, tr.allocate, tr.generate, tr.score, tr.refill} {
		if err := stage(b); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.groups) == 0 || len(b.groups) > cfg.PromptsPerStep {
		t.Fatalf("%d groups kept, want 1..%d", len(b.groups), cfg.PromptsPerStep)
	}
	for i, g := range b.groups {
		rs := b.rollouts[g.lo:g.hi]
		var rewards []float64
		for _, r := range rs {
			if r.group != i {
				t.Fatalf("group %d holds a rollout of group %d", i, r.group)
			}
			rewards = append(rewards, r.reward)
		}
		if allEqual(rewards) || g.equal {
			t.Fatalf("group %d kept with rewards %v", i, rewards)
		}
	}
	if b.start(len(b.groups)) != len(b.rollouts) || len(b.rollouts) != len(b.groups)*cfg.Rollouts {
		t.Fatalf("%d rollouts for %d groups", len(b.rollouts), len(b.groups))
	}
	if len(b.groups)+len(b.dropped) != b.gen.groups {
		t.Fatalf("%d kept + %d dropped groups, %d generated", len(b.groups), len(b.dropped), b.gen.groups)
	}
}

// neverRight is a verifier that accepts nothing.
type neverRight struct{}

func (neverRight) Correct(tasks.Example, string) bool { return false }

// countingVerifier counts its calls and accepts everything.
type countingVerifier struct{ calls int }

func (v *countingVerifier) Correct(tasks.Example, string) bool { v.calls++; return true }

// TestEnvCorrect: a truncated or empty completion is wrong, and the
// verifier still sees it (a counting verifier counts every rollout).
func TestEnvCorrect(t *testing.T) {
	v := &countingVerifier{}
	env := Env{Decode: toyDecode, Verifier: v, EOS: []int32{0}}
	it := toyData(1)[0]
	for _, tc := range []struct {
		name string
		c    sample.Completion
		want bool
	}{
		{"ends with EOS", sample.Completion{Tokens: []int32{1, 0}}, true},
		{"truncated", sample.Completion{Tokens: []int32{1, 2}, Truncated: true}, false},
		{"empty", sample.Completion{}, false},
	} {
		if got := env.Correct(it, tc.c); got != tc.want {
			t.Errorf("%s: correct %v, want %v", tc.name, got, tc.want)
		}
	}
	if v.calls != 3 {
		t.Fatalf("verifier called %d times for 3 completions", v.calls)
	}
}
