package model_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/model/modeltest"
	"github.com/frontier-rl/frontier/weights"
)

// tinyConfig is a random-weight test model: GQA with 2 query heads per kv head
// and head_dim independent of hidden/heads.
func tinyConfig(tied bool) weights.Config {
	return weights.Config{
		ModelType: "qwen3", VocabSize: 37, HiddenSize: 24, IntermediateSize: 40,
		NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		RopeTheta: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: tied,
		MaxPositionEmbeddings: 256, InitializerRange: 0.3, HiddenAct: "silu",
	}
}

func newTiny(t *testing.T, tied bool, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(tinyConfig(tied), cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(seed)
	// Make the norm gains non-trivial so their gradients are exercised.
	r := rand.New(rand.NewPCG(seed, 7))
	for _, p := range m.Tensors {
		if len(p.Shape) == 1 {
			w := cpu.Data(p.W)
			for i := range w {
				w[i] = 1 + 0.2*float32(r.NormFloat64())
			}
		}
	}
	return m
}

func randIDs(r *rand.Rand, n, vocab int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(r.IntN(vocab))
	}
	return ids
}

// lossOf runs forward and a weighted NLL with the given per-token weights.
func lossOf(t *testing.T, m *model.Model, ids, starts, targets []int32, w []float32) (float64, *model.Pass, []float32) {
	t.Helper()
	p, err := m.Forward(ids, starts)
	if err != nil {
		t.Fatal(err)
	}
	logp, _, err := m.TokenLogProbs(p, targets, false)
	if err != nil {
		t.Fatal(err)
	}
	loss, dlogp, err := model.WeightedNLL(logp, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	return loss, p, dlogp
}

// TestFiniteDifferences checks the backward of every parameter kind against
// central differences of a weighted loss (signed weights, as advantages are).
func TestFiniteDifferences(t *testing.T) {
	for _, tied := range []bool{true, false} {
		m := newTiny(t, tied, 11)
		r := rand.New(rand.NewPCG(3, 4))
		starts := []int32{0, 6, 7, 16}
		ids := randIDs(r, 16, m.Config.VocabSize)
		targets := randIDs(r, 16, m.Config.VocabSize)
		targets[5], targets[15] = -1, -1
		w := make([]float32, 16)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		_, p, dlogp := lossOf(t, m, ids, starts, targets, w)
		m.ZeroGrad()
		if err := m.Backward(p, targets, dlogp); err != nil {
			t.Fatal(err)
		}
		for _, prm := range m.Tensors {
			W, G := cpu.Data(prm.W), cpu.Data(prm.G)
			// The largest-gradient coordinate plus three random ones.
			coords := []int{0, r.IntN(prm.N), r.IntN(prm.N), r.IntN(prm.N)}
			for i := range G {
				if math.Abs(float64(G[i])) > math.Abs(float64(G[coords[0]])) {
					coords[0] = i
				}
			}
			for _, i := range coords {
				const h = 1e-2
				old := W[i]
				W[i] = old + h
				lp, _, _ := lossOf(t, m, ids, starts, targets, w)
				W[i] = old - h
				lm, _, _ := lossOf(t, m, ids, starts, targets, w)
				W[i] = old
				num := (lp - lm) / (2 * h)
				ana := float64(G[i])
				if math.Abs(num-ana) > 2e-2*math.Max(math.Abs(num), math.Abs(ana))+1e-3 {
					t.Errorf("tied=%v %s[%d]: analytic %.6g, numeric %.6g", tied, prm.Name, i, ana, num)
				}
			}
		}
	}
}

// TestPackedEqualsSeparate: a packed batch gives the same logits and the same
// summed gradients as running each sequence alone.
func TestPackedEqualsSeparate(t *testing.T) {
	m := newTiny(t, false, 5)
	r := rand.New(rand.NewPCG(9, 9))
	lens := []int{5, 1, 9, 3}
	var ids, starts []int32
	starts = append(starts, 0)
	for _, l := range lens {
		ids = append(ids, randIDs(r, l, m.Config.VocabSize)...)
		starts = append(starts, int32(len(ids)))
	}
	targets := randIDs(r, len(ids), m.Config.VocabSize)
	w := make([]float32, len(ids))
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	_, p, dlogp := lossOf(t, m, ids, starts, targets, w)
	packed := m.LogitsHost(p)
	m.ZeroGrad()
	if err := m.Backward(p, targets, dlogp); err != nil {
		t.Fatal(err)
	}
	gPacked := append([]float32(nil), cpu.Data(m.Grads)...)

	m.ZeroGrad()
	V := m.Config.VocabSize
	for s := range lens {
		a, b := starts[s], starts[s+1]
		_, ps, dl := lossOf(t, m, ids[a:b], []int32{0, b - a}, targets[a:b], w[a:b])
		if d := modeltest.MaxDiff(m.LogitsHost(ps), packed[int(a)*V:int(b)*V]); d > 1e-5 {
			t.Errorf("sequence %d: logits differ by %.3g", s, d)
		}
		if err := m.Backward(ps, targets[a:b], dl); err != nil {
			t.Fatal(err)
		}
	}
	if d := modeltest.MaxDiff(cpu.Data(m.Grads), gPacked); d > 1e-5*modeltest.MaxAbs(gPacked) {
		t.Errorf("summed gradients differ by %.3g", d)
	}
}

// TestKVCacheDecode: token-by-token decoding (with two slots decoded together,
// one of them forked from the other's prefill) matches the full forward.
func TestKVCacheDecode(t *testing.T) {
	for _, tied := range []bool{true, false} {
		m := newTiny(t, tied, 21)
		r := rand.New(rand.NewPCG(1, 2))
		V := m.Config.VocabSize
		prompt := randIDs(r, 6, V)
		contA := randIDs(r, 10, V)
		contB := randIDs(r, 10, V)
		seqA := append(append([]int32(nil), prompt...), contA...)
		seqB := append(append([]int32(nil), prompt...), contB...)
		ref := func(seq []int32) []float32 {
			p, err := m.Forward(seq, []int32{0, int32(len(seq))})
			if err != nil {
				t.Fatal(err)
			}
			return m.LogitsHost(p)
		}
		refA, refB := ref(seqA), ref(seqB)

		c := m.NewKVCache(2, 32)
		slots := make([]int32, len(prompt))
		pos := make([]int32, len(prompt))
		for i := range pos {
			pos[i] = int32(i)
		}
		last := int32(len(prompt) - 1)
		lg, err := m.ForwardCached(c, prompt, slots, pos, []int32{last})
		if err != nil {
			t.Fatal(err)
		}
		checkRow := func(got, want []float32, what string) {
			t.Helper()
			scale := modeltest.MaxAbs(want)
			if d := modeltest.MaxDiff(got, want); d > 1e-5*scale+1e-6 {
				t.Errorf("tied=%v %s: logits differ by %.3g (scale %.3g)", tied, what, d, scale)
			}
		}
		checkRow(lg, refA[int(last)*V:int(last+1)*V], "prefill")
		c.CopySlot(1, 0, len(prompt))
		for j := range contA {
			p := int32(len(prompt) + j)
			lg, err := m.ForwardCached(c, []int32{contA[j], contB[j]}, []int32{0, 1}, []int32{p, p}, []int32{0, 1})
			if err != nil {
				t.Fatal(err)
			}
			checkRow(lg[:V], refA[int(p)*V:int(p+1)*V], "slot 0 step")
			checkRow(lg[V:], refB[int(p)*V:int(p+1)*V], "slot 1 step")
		}
	}
}

// TestSaveLoadRoundTrip: F32 is bit-exact, BF16 equals round-to-nearest-even.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, tied := range []bool{true, false} {
		m := newTiny(t, tied, 33)
		for _, dt := range []weights.DType{weights.F32, weights.BF16} {
			dir := t.TempDir()
			if err := m.Save(dir, dt); err != nil {
				t.Fatal(err)
			}
			got, err := model.Load(dir, cpu.New(0))
			if err != nil {
				t.Fatal(err)
			}
			if got.Config.TieWordEmbeddings != tied || len(got.Tensors) != len(m.Tensors) {
				t.Fatalf("reloaded config differs: %+v", got.Config)
			}
			a, b := cpu.Data(m.Params), cpu.Data(got.Params)
			for i := range a {
				want := a[i]
				if dt == weights.BF16 {
					want = weights.BF16Round(a[i])
				}
				if math.Float32bits(b[i]) != math.Float32bits(want) {
					t.Fatalf("tied=%v %s: element %d is %v, want %v", tied, dt, i, b[i], want)
				}
			}
		}
	}
}

func TestForwardRejectsBadBatches(t *testing.T) {
	m := newTiny(t, true, 1)
	cases := []struct {
		name        string
		ids, starts []int32
	}{
		{"empty", nil, []int32{0}},
		{"token out of vocab", []int32{1, 99}, []int32{0, 2}},
		{"negative token", []int32{-1, 2}, []int32{0, 2}},
		{"starts not ending at N", []int32{1, 2, 3}, []int32{0, 2}},
		{"empty sequence", []int32{1, 2}, []int32{0, 0, 2}},
		{"starts not at 0", []int32{1, 2}, []int32{1, 2}},
	}
	for _, tc := range cases {
		if _, err := m.Forward(tc.ids, tc.starts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
