package model_test

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/model/modeltest"
)

// decodeLogits prefills prompt into slot 0 of a fresh cache (logits of
// every row) and then decodes each of cont one row at a time (its logits),
// so that both the many-row and the one-row products run.
func decodeLogits(t *testing.T, m *model.Model, prompt, cont []int32) []float32 {
	t.Helper()
	c := m.NewKVCache(1, len(prompt)+len(cont))
	n := len(prompt)
	slot, pos, rows := make([]int32, n), make([]int32, n), make([]int32, n)
	for i := range pos {
		pos[i], rows[i] = int32(i), int32(i)
	}
	out, err := m.ForwardCached(c, prompt, slot, pos, rows)
	if err != nil {
		t.Fatal(err)
	}
	for j, id := range cont {
		lg, err := m.ForwardCached(c, []int32{id}, []int32{0}, []int32{int32(n + j)}, []int32{0})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lg...)
	}
	return out
}

// TestDecodeBF16 compares the cached decode's logits with bfloat16 weights
// against float32 ones on the fixtures. On the fixture whose weights are
// bfloat16 values already, rounding them changes nothing and the logits
// agree to float32 rounding; on the float32 fixtures the difference is the
// rounding of the weights (logged, and held to 2% of the largest logit).
// Forward (training) stays float32 with the option on.
func TestDecodeBF16(t *testing.T) {
	for _, folder := range []string{"tied", "untied", "tied-bf16", "untied-bf16"} {
		t.Run(folder, func(t *testing.T) {
			m, err := model.Load(filepath.Join(fixtureDir, folder), cpu.New(0))
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(8, 9))
			V := m.Config.VocabSize
			prompt, cont := randIDs(r, 12, V), randIDs(r, 6, V)
			fwd := func() []float32 {
				p, err := m.Forward(prompt, []int32{0, int32(len(prompt))})
				if err != nil {
					t.Fatal(err)
				}
				return m.LogitsHost(p)
			}
			f32, train := decodeLogits(t, m, prompt, cont), fwd()
			if err := m.DecodeBF16(true); err != nil {
				t.Fatal(err)
			}
			bf := decodeLogits(t, m, prompt, cont)
			if d := modeltest.MaxDiff(fwd(), train); d != 0 {
				t.Errorf("Forward changed by %.3g with bfloat16 decoding on", d)
			}
			scale, d := modeltest.MaxAbs(f32), modeltest.MaxDiff(bf, f32)
			tol := 0.02 * scale
			if strings.HasSuffix(folder, "-bf16") {
				tol = 1e-5 * scale
			}
			t.Logf("%s: logits max abs diff %.3g (largest logit %.3g)", folder, d, scale)
			if !(d <= tol) {
				t.Errorf("bfloat16 logits differ by %.3g, more than %.3g", d, tol)
			}
			if err := m.DecodeBF16(false); err != nil {
				t.Fatal(err)
			}
			if d := modeltest.MaxDiff(decodeLogits(t, m, prompt, cont), f32); d != 0 {
				t.Errorf("turned off, the decode differs from float32 by %.3g", d)
			}
		})
	}
}
