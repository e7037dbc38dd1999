package frontier_test

// Top-level benchmarks: SGEMM against gonum's pure Go Sgemm (and, through
// scripts/bench-openblas.sh, OpenBLAS) at square sizes and at the Qwen3-0.6B
// projection shapes for 512 tokens, and the model's training and decoding
// throughput on the two configs of the PyTorch baseline
// (/work/shared/tools/torch_baseline.py: tiny and 0.6b-2l).
//
//	go test -run '^$' -bench 'Sgemm' -benchtime 5x .
//	go test -run '^$' -bench 'Model' -benchtime 3x .
//	go test -tags noasm -run '^$' -bench 'ModelTrain/0.6b' -benchtime 1x .

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/kernels/par"
	"github.com/frontier-rl/frontier/kernels/simd"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/weights"
)

// sgemmShape is one benchmarked product; its name matches the lines of
// scripts/bench-openblas.sh.
type sgemmShape struct {
	name           string
	m, n, k        int
	transA, transB bool
}

func sgemmShapes() []sgemmShape {
	var s []sgemmShape
	for _, n := range []int{64, 128, 256, 512, 1024, 2048} {
		s = append(s, sgemmShape{fmt.Sprintf("%dx%dx%d", n, n, n), n, n, n, false, false})
	}
	// Qwen3-0.6B projections for 512 tokens: hidden 1024, q 2048, kv 1024,
	// intermediate 3072 (C = X·W as stored by the NN layout), then the two
	// layouts the model's forward (NT) and weight gradients (TN) use.
	return append(s,
		sgemmShape{"q_512x2048x1024", 512, 2048, 1024, false, false},
		sgemmShape{"kv_512x1024x1024", 512, 1024, 1024, false, false},
		sgemmShape{"o_512x1024x2048", 512, 1024, 2048, false, false},
		sgemmShape{"gateup_512x3072x1024", 512, 3072, 1024, false, false},
		sgemmShape{"down_512x1024x3072", 512, 1024, 3072, false, false},
		sgemmShape{"gateupNT_512x1024x3072", 512, 1024, 3072, false, true},
		sgemmShape{"gateupTN_1024x3072x512", 1024, 3072, 512, true, false},
	)
}

// tinySgemmShapes are the products of the tiny model's training step
// (8 x 128 tokens, hidden 128, kv 64, intermediate 384, vocabulary 512):
// the forward's x·Wᵀ (NT), the backward's dY·W (NN) and dYᵀ·X (TN).
func tinySgemmShapes() []sgemmShape {
	return []sgemmShape{
		{"tiny_q_1024x128x128_NT", 1024, 128, 128, false, true},
		{"tiny_kv_1024x64x128_NT", 1024, 64, 128, false, true},
		{"tiny_gateup_1024x384x128_NT", 1024, 384, 128, false, true},
		{"tiny_down_1024x128x384_NT", 1024, 128, 384, false, true},
		{"tiny_head_1024x512x128_NT", 1024, 512, 128, false, true},
		{"tiny_dx_1024x128x384_NN", 1024, 128, 384, false, false},
		{"tiny_dw_384x128x1024_TN", 384, 128, 1024, true, false},
		{"tiny_dw_128x128x1024_TN", 128, 128, 1024, true, false},
		{"tiny_dw_512x128x1024_TN", 512, 128, 1024, true, false},
		// The default run's shapes: about 740 packed rows, and the last layer
		// over its ~250 rows with a target.
		{"demo_kv_740x64x128_NT", 740, 64, 128, false, true},
		{"demo_dw_64x128x740_TN", 64, 128, 740, true, false},
		{"demo_gateup_250x384x128_NT", 250, 384, 128, false, true},
		{"demo_dw_128x384x250_TN", 128, 384, 250, true, false},
	}
}

// sgemmOperands returns random A, B, C and leading dimensions for a shape.
func sgemmOperands(s sgemmShape) (a []float32, lda int, b []float32, ldb int, c []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.Float64() - 0.5)
		}
		return x
	}
	lda, ldb = s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	return fill(s.m * s.k), lda, fill(s.k * s.n), ldb, fill(s.m * s.n)
}

func reportGFLOPS(b *testing.B, s sgemmShape) {
	flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
	b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm is frontier's SGEMM (kernels/simd: AVX2+FMA assembly where
// the processor has it, pure Go with -tags noasm), reusing its packing
// buffers as the CPU backend does.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range append(sgemmShapes(), tinySgemmShapes()...) {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", s.name, threads), func(b *testing.B) {
				a, lda, bb, ldb, c := sgemmOperands(s)
				ws := simd.NewWorkspace(par.NewPool(threads))
				ws.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n, threads)
				b.ResetTimer()
				for range b.N {
					ws.Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n, threads)
				}
				reportGFLOPS(b, s)
			})
		}
	}
}

// BenchmarkGonumSgemm is gonum's pure Go Sgemm on the same shapes; threads
// sets GOMAXPROCS, which bounds gonum's goroutines.
func BenchmarkGonumSgemm(b *testing.B) {
	impl := gonum.Implementation{}
	for _, s := range sgemmShapes() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", s.name, threads), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
				a, lda, bb, ldb, c := sgemmOperands(s)
				ta, tb := blas.NoTrans, blas.NoTrans
				if s.transA {
					ta = blas.Trans
				}
				if s.transB {
					tb = blas.Trans
				}
				impl.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				b.ResetTimer()
				for range b.N {
					impl.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				reportGFLOPS(b, s)
			})
		}
	}
}

// benchConfig is one model shape of the PyTorch baseline, with its training
// batch (batch sequences of seqLen tokens).
type benchConfig struct {
	name          string
	cfg           weights.Config
	batch, seqLen int
}

func benchConfigs() []benchConfig {
	qwen := func(vocab, hidden, inter, layers, heads, kv, hd int) weights.Config {
		return weights.Config{
			ModelType: "qwen3", VocabSize: vocab, HiddenSize: hidden, IntermediateSize: inter,
			NumHiddenLayers: layers, NumAttentionHeads: heads, NumKeyValueHeads: kv, HeadDim: hd,
			RopeTheta: 1e6, RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 4096,
			InitializerRange: 0.02, HiddenAct: "silu",
		}
	}
	return []benchConfig{
		{"tiny", qwen(512, 128, 384, 4, 4, 2, 32), 8, 128},
		{"0.6b-2l", qwen(151936, 1024, 3072, 2, 16, 8, 128), 1, 512},
	}
}

func newBenchModel(b *testing.B, bc benchConfig) *model.Model {
	m, err := model.New(bc.cfg, cpu.New(0))
	if err != nil {
		b.Fatal(err)
	}
	m.InitRandom(1)
	return m
}

// BenchmarkModelTrain is one forward (logits and target log-probs) and
// backward pass over a packed batch; tokens/s counts every token.
func BenchmarkModelTrain(b *testing.B) {
	for _, bc := range benchConfigs() {
		b.Run(bc.name, func(b *testing.B) {
			m := newBenchModel(b, bc)
			r := rand.New(rand.NewPCG(3, 4))
			n := bc.batch * bc.seqLen
			ids := make([]int32, n)
			targets := make([]int32, n)
			dlogp := make([]float32, n)
			starts := make([]int32, bc.batch+1)
			for i := range ids {
				ids[i] = int32(r.IntN(bc.cfg.VocabSize))
			}
			for s := 0; s < bc.batch; s++ {
				starts[s+1] = int32((s + 1) * bc.seqLen)
				for t := s * bc.seqLen; t < (s+1)*bc.seqLen; t++ {
					targets[t] = -1
					dlogp[t] = 0
					if t+1 < (s+1)*bc.seqLen {
						targets[t] = ids[t+1]
						dlogp[t] = -1 / float32(n)
					}
				}
			}
			step := func() {
				p, err := m.Forward(ids, starts)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := m.TokenLogProbs(p, targets, false); err != nil {
					b.Fatal(err)
				}
				if err := m.Backward(p, targets, dlogp); err != nil {
					b.Fatal(err)
				}
			}
			m.ZeroGrad()
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkModelDecode prefills a 32-token prompt per sequence, then decodes
// 128 new tokens one step at a time (greedy) with the KV cache; tokens/s is
// batch·128 over the decode time (the prefill is not timed). The "/bf16"
// variants decode with bfloat16 weights (Model.DecodeBF16).
func BenchmarkModelDecode(b *testing.B) {
	for _, bc := range benchConfigs() {
		for _, batch := range []int{1, 8} {
			for _, bf16 := range []bool{false, true} {
				name := fmt.Sprintf("%s/batch=%d", bc.name, batch)
				if bf16 {
					name += "/bf16"
				}
				b.Run(name, func(b *testing.B) { benchDecode(b, bc, batch, bf16) })
			}
		}
	}
}

// benchDecode is one case of BenchmarkModelDecode.
func benchDecode(b *testing.B, bc benchConfig, batch int, bf16 bool) {
	const prompt, newTokens = 32, 128
	m := newBenchModel(b, bc)
	if err := m.DecodeBF16(bf16); err != nil {
		b.Fatal(err)
	}
	V := bc.cfg.VocabSize
	r := rand.New(rand.NewPCG(5, 6))
	var decodeSec float64
	for range b.N {
		b.StopTimer()
		cache := m.NewKVCache(batch, prompt+newTokens)
		ids := make([]int32, batch*prompt)
		slot := make([]int32, batch*prompt)
		pos := make([]int32, batch*prompt)
		last := make([]int32, batch)
		for s := 0; s < batch; s++ {
			for t := 0; t < prompt; t++ {
				i := s*prompt + t
				ids[i], slot[i], pos[i] = int32(r.IntN(V)), int32(s), int32(t)
			}
			last[s] = int32(s*prompt + prompt - 1)
		}
		logits, err := m.ForwardCached(cache, ids, slot, pos, last)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := b.Elapsed()
		next := make([]int32, batch)
		dslot := make([]int32, batch)
		dpos := make([]int32, batch)
		rows := make([]int32, batch)
		for step := 0; step < newTokens; step++ {
			for s := 0; s < batch; s++ {
				row := logits[s*V : (s+1)*V]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				next[s], dslot[s], dpos[s], rows[s] = int32(best), int32(s), int32(prompt+step), int32(s)
			}
			if logits, err = m.ForwardCached(cache, next, dslot, dpos, rows); err != nil {
				b.Fatal(err)
			}
		}
		decodeSec += (b.Elapsed() - start).Seconds()
	}
	b.ReportMetric(float64(batch*newTokens*b.N)/decodeSec, "tokens/s")
	perWeight := 4.0
	if bf16 {
		perWeight = 2
	}
	b.ReportMetric(float64(matrixWeights(bc.cfg))*perWeight/1e6, "weightMB/step")
}

// matrixWeights is the number of weights in the matrices one decoding step
// reads in full: every layer's projections and the output head (the
// embedding table is only indexed). The norms' vectors are left out.
func matrixWeights(c weights.Config) int {
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	layer := c.HiddenSize*q + 2*c.HiddenSize*kv + q*c.HiddenSize + 3*c.HiddenSize*c.IntermediateSize
	return c.NumHiddenLayers*layer + c.VocabSize*c.HiddenSize
}
