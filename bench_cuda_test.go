//go:build cuda

package frontier

// GPU benchmarks for kernels/cuda at Qwen3-0.6B's shapes. They need an NVIDIA
// GPU and the CUDA toolkit:
//
//	go test -tags cuda -run '^$' -bench . -benchtime 10x .
//
// BenchmarkGemm reports TFLOP/s of the backend's Gemm (FP32 and TF32) next to
// cuBLAS called directly on the same handle and device memory;
// BenchmarkAttention the attention kernels' TFLOP/s; BenchmarkTrainStep and
// BenchmarkDecode report tokens/s and the device memory held at most.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/cuda"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/weights"
)

// qwen3_06B is Qwen3-0.6B's config.json.
func qwen3_06B() weights.Config {
	return weights.Config{
		ModelType: "qwen3", VocabSize: 151936, HiddenSize: 1024, IntermediateSize: 3072,
		NumHiddenLayers: 28, NumAttentionHeads: 16, NumKeyValueHeads: 8, HeadDim: 128,
		RopeTheta: 1e6, RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 40960,
		InitializerRange: 0.02, HiddenAct: "silu",
	}
}

func newCUDA(b *testing.B, tf32 bool) *cuda.Backend {
	b.Helper()
	be, err := cuda.New(cuda.Options{TF32: tf32})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

func randomBuffer(be kernels.Backend, r *rand.Rand, n int) kernels.Buffer {
	host := make([]float32, n)
	for i := range host {
		host[i] = float32(r.NormFloat64())
	}
	buf := be.Alloc(n)
	be.Upload(buf, host)
	return buf
}

// TestCuBLASLoads loads cuBLAS by name, as the backend does, and reports
// which library it found; it needs no GPU, so it proves on any machine that
// this binary starts and finds a cuBLAS it can use.
func TestCuBLASLoads(t *testing.T) {
	info, err := cuda.LoadCuBLAS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", info)
}

// reportMemory adds the device memory the backend held at most, in GiB.
func reportMemory(b *testing.B, be *cuda.Backend) {
	st := be.MemStats()
	b.ReportMetric(float64(st.Peak)/(1<<30), "peak-GiB")
	b.ReportMetric(float64(st.Collections), "collections")
}

// BenchmarkGemm times y = x·Wᵀ for the linear layers of Qwen3-0.6B over a
// packed batch of 4096 tokens.
func BenchmarkGemm(b *testing.B) {
	cfg := qwen3_06B()
	const N = 4096
	D, I, V := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	qd := cfg.NumAttentionHeads * cfg.HeadDim
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"q_proj", N, qd, D}, {"o_proj", N, D, qd}, {"gate_proj", N, I, D}, {"down_proj", N, D, I}, {"lm_head", N, V, D},
	}
	fp32, tf32 := newCUDA(b, false), newCUDA(b, true)
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		x, w := randomBuffer(fp32, r, s.m*s.k), randomBuffer(fp32, r, s.n*s.k)
		y := fp32.Alloc(s.m * s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e12, "TFLOP/s")
		}
		for _, be := range []*cuda.Backend{fp32, tf32} {
			mode := "fp32"
			if be.TF32() {
				mode = "tf32"
			}
			b.Run(fmt.Sprintf("%s/%dx%dx%d/frontier-%s", s.name, s.m, s.n, s.k, mode), func(b *testing.B) {
				be.Gemm(false, true, s.m, s.n, s.k, 1, x, w, 0, y) // warm-up
				if err := be.Synchronize(); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					be.Gemm(false, true, s.m, s.n, s.k, 1, x, w, 0, y)
				}
				if err := be.Synchronize(); err != nil {
					b.Fatal(err)
				}
				report(b)
			})
		}
		b.Run(fmt.Sprintf("%s/%dx%dx%d/cublas-direct-fp32", s.name, s.m, s.n, s.k), func(b *testing.B) {
			// cuBLAS on the same handle, called back to back with none of
			// Gemm's per-call work.
			if err := fp32.CuBLASGemm(false, true, s.m, s.n, s.k, 1, x, w, 0, y, 1); err != nil {
				b.Fatal(err)
			}
			if err := fp32.Synchronize(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := fp32.CuBLASGemm(false, true, s.m, s.n, s.k, 1, x, w, 0, y, b.N); err != nil {
				b.Fatal(err)
			}
			if err := fp32.Synchronize(); err != nil {
				b.Fatal(err)
			}
			report(b)
		})
	}
}

// BenchmarkAttention times the causal attention kernels at Qwen3-0.6B's
// head shapes (16 query heads, 8 key/value heads, head dimension 128) on 8
// packed sequences of 512 tokens, forward and backward, in TFLOP/s of the
// matrix products they compute (QKᵀ and PV forward; four products backward),
// to set against BenchmarkGemm's cuBLAS figures.
func BenchmarkAttention(b *testing.B) {
	cfg := qwen3_06B()
	const S, T = 8, 512
	H, KV, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim
	N := S * T
	be := newCUDA(b, false)
	r := rand.New(rand.NewPCG(7, 8))
	q, k, v := randomBuffer(be, r, N*H*hd), randomBuffer(be, r, N*KV*hd), randomBuffer(be, r, N*KV*hd)
	out, lse, dout := be.Alloc(N*H*hd), be.Alloc(N*H), randomBuffer(be, r, N*H*hd)
	dq, dk, dv := be.Alloc(N*H*hd), be.Alloc(N*KV*hd), be.Alloc(N*KV*hd)
	starts := make([]int32, S+1)
	for s := range starts {
		starts[s] = int32(s * T)
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	// Causal: each sequence has T(T+1)/2 query-key pairs per head.
	pairs := float64(S) * float64(T) * float64(T+1) / 2 * float64(H)
	for _, c := range []struct {
		name     string
		products float64
		run      func()
	}{
		{"forward", 2, func() { be.Attention(out, lse, q, k, v, starts, H, KV, hd, scale) }},
		{"backward", 4, func() {
			be.AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, starts, H, KV, hd, scale)
		}},
	} {
		b.Run(fmt.Sprintf("%s/S%d_T%d", c.name, S, T), func(b *testing.B) {
			be.Attention(out, lse, q, k, v, starts, H, KV, hd, scale)
			c.run()
			if err := be.Synchronize(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				c.run()
			}
			if err := be.Synchronize(); err != nil {
				b.Fatal(err)
			}
			flops := 2 * float64(hd) * pairs * c.products
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e12, "TFLOP/s")
			b.ReportMetric(float64(N*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkTrainStep times one training step (forward, log-probabilities,
// backward, AdamW over every parameter) of Qwen3-0.6B on 8 sequences of 512
// tokens, packed.
func BenchmarkTrainStep(b *testing.B) {
	for _, tf := range []bool{false, true} {
		b.Run(fmt.Sprintf("tf32=%v", tf), func(b *testing.B) {
			be := newCUDA(b, tf)
			m, err := model.New(qwen3_06B(), be)
			if err != nil {
				b.Fatal(err)
			}
			m.InitRandom(1)
			const S, T = 8, 512
			r := rand.New(rand.NewPCG(3, 4))
			ids, targets := make([]int32, S*T), make([]int32, S*T)
			for i := range ids {
				ids[i] = int32(r.IntN(m.Config.VocabSize))
			}
			starts := make([]int32, S+1)
			for s := range starts {
				starts[s] = int32(s * T)
			}
			for i := range targets {
				targets[i] = -1
				if (i+1)%T != 0 {
					targets[i] = ids[i+1]
				}
			}
			weight := make([]float32, S*T)
			for i := range weight {
				weight[i] = 1
			}
			m.EnableGrad()
			mom, vel := be.Alloc(m.NumParams()), be.Alloc(m.NumParams())
			step := func(t int) {
				p, err := m.Forward(ids, starts)
				if err != nil {
					b.Fatal(err)
				}
				logp, _, err := m.TokenLogProbs(p, targets, false)
				if err != nil {
					b.Fatal(err)
				}
				_, dlogp, err := model.WeightedNLL(logp, weight, float64(len(logp)))
				if err != nil {
					b.Fatal(err)
				}
				m.ZeroGrad()
				if err := m.Backward(p, targets, dlogp); err != nil {
					b.Fatal(err)
				}
				be.AdamW(m.Params, m.Grads, mom, vel, 1e-5, 0.9, 0.95, 1e-8, 0.1, t)
			}
			step(1) // warm-up
			if err := be.Synchronize(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step(i + 2)
			}
			if err := be.Synchronize(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(S*T*b.N)/b.Elapsed().Seconds(), "tokens/s")
			reportMemory(b, be)
		})
	}
}

// BenchmarkDecode times batched decoding with a KV cache at batch 1 and 64:
// the sequences share a 128-token prompt's prefill, then each step decodes one
// token for every sequence (greedy, logits downloaded every step as a sampler
// needs them).
func BenchmarkDecode(b *testing.B) {
	for _, slots := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch%d", slots), func(b *testing.B) { benchDecode(b, slots) })
	}
}

func benchDecode(b *testing.B, slots int) {
	be := newCUDA(b, false)
	m, err := model.New(qwen3_06B(), be)
	if err != nil {
		b.Fatal(err)
	}
	m.InitRandom(1)
	V := m.Config.VocabSize
	const prompt, steps = 128, 64
	cache := m.NewKVCache(slots, prompt+steps)
	r := rand.New(rand.NewPCG(5, 6))
	ids, slot, pos := make([]int32, prompt), make([]int32, prompt), make([]int32, prompt)
	for i := range ids {
		ids[i], pos[i] = int32(r.IntN(V)), int32(i)
	}
	if _, err := m.ForwardCached(cache, ids, slot, pos, []int32{prompt - 1}); err != nil {
		b.Fatal(err)
	}
	rows := make([]int32, slots)
	sl := make([]int32, slots)
	for i := range rows {
		rows[i], sl[i] = int32(i), int32(i)
	}
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for s := 1; s < slots; s++ {
			cache.CopySlot(s, 0, prompt)
		}
		next := make([]int32, slots)
		for i := range next {
			next[i] = int32(r.IntN(V))
		}
		for st := 0; st < steps; st++ {
			ps := make([]int32, slots)
			for i := range ps {
				ps[i] = int32(prompt + st)
			}
			logits, err := m.ForwardCached(cache, next, sl, ps, rows)
			if err != nil {
				b.Fatal(err)
			}
			for i := range next {
				row := logits[i*V : (i+1)*V]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				next[i] = int32(best)
			}
		}
	}
	b.ReportMetric(float64(slots*steps*b.N)/b.Elapsed().Seconds(), "tokens/s")
	reportMemory(b, be)
}
