package cpu

import "math"

// Independent float64 versions of the forward ops, written from the
// kernels.Backend documentation (the GEMM reference, shared with the SGEMM
// tests, is kerneltest.Gemm64). They are the oracles for the forward tests
// and the functions the finite-difference gradient checks differentiate.

func naiveEmbedding(table []float64, ids []int32, d int) []float64 {
	out := make([]float64, len(ids)*d)
	for i, id := range ids {
		copy(out[i*d:(i+1)*d], table[int(id)*d:(int(id)+1)*d])
	}
	return out
}

func naiveRMSNorm(x, w []float64, rows, d int, eps float64) (out, rstd []float64) {
	out = make([]float64, rows*d)
	rstd = make([]float64, rows)
	for r := 0; r < rows; r++ {
		var ss float64
		for j := 0; j < d; j++ {
			ss += x[r*d+j] * x[r*d+j]
		}
		rs := 1 / math.Sqrt(ss/float64(d)+eps)
		rstd[r] = rs
		for j := 0; j < d; j++ {
			out[r*d+j] = w[j] * x[r*d+j] * rs
		}
	}
	return out, rstd
}

// naiveRoPE returns the rotated copy of x [n, heads, hd]:
// y1 = x1·cos − x2·sin, y2 = x2·cos + x1·sin with x1 = x[j], x2 = x[j+hd/2].
func naiveRoPE(x, cos, sin []float64, pos []int32, n, heads, hd int) []float64 {
	half := hd / 2
	out := make([]float64, len(x))
	for i := 0; i < n; i++ {
		p := int(pos[i])
		for h := 0; h < heads; h++ {
			base := (i*heads + h) * hd
			for j := 0; j < half; j++ {
				c, s := cos[p*half+j], sin[p*half+j]
				x1, x2 := x[base+j], x[base+j+half]
				out[base+j] = x1*c - x2*s
				out[base+j+half] = x2*c + x1*s
			}
		}
	}
	return out
}

// naiveAttention is causal grouped-query attention over packed sequences,
// evaluated directly from the definition.
func naiveAttention(q, k, v []float64, starts []int32, heads, kvHeads, hd int, scale float64) (out, lse []float64) {
	n := int(starts[len(starts)-1])
	group := heads / kvHeads
	qw, kw := heads*hd, kvHeads*hd
	out = make([]float64, n*qw)
	lse = make([]float64, n*heads)
	for s := 0; s+1 < len(starts); s++ {
		s0, s1 := int(starts[s]), int(starts[s+1])
		for h := 0; h < heads; h++ {
			kh := h / group
			for t := s0; t < s1; t++ {
				scores := make([]float64, t-s0+1)
				mx := math.Inf(-1)
				for j := s0; j <= t; j++ {
					var d float64
					for e := 0; e < hd; e++ {
						d += q[t*qw+h*hd+e] * k[j*kw+kh*hd+e]
					}
					scores[j-s0] = d * scale
					mx = max(mx, d*scale)
				}
				var sum float64
				for _, sc := range scores {
					sum += math.Exp(sc - mx)
				}
				l := mx + math.Log(sum)
				lse[t*heads+h] = l
				for j := s0; j <= t; j++ {
					p := math.Exp(scores[j-s0] - l)
					for e := 0; e < hd; e++ {
						out[t*qw+h*hd+e] += p * v[j*kw+kh*hd+e]
					}
				}
			}
		}
	}
	return out, lse
}

func silu64(g float64) float64 { return g / (1 + math.Exp(-g)) }

func naiveSwiGLU(gate, up []float64) []float64 {
	out := make([]float64, len(gate))
	for i := range gate {
		out[i] = silu64(gate[i]) * up[i]
	}
	return out
}

// naiveTokenLogProbs returns log softmax(logits[i])[targets[i]] (0 for negative
// targets) and the entropy of each row's softmax.
func naiveTokenLogProbs(logits []float64, targets []int32, n, v int) (logp, ent []float64) {
	logp = make([]float64, n)
	ent = make([]float64, n)
	for i := 0; i < n; i++ {
		row := logits[i*v : (i+1)*v]
		mx := math.Inf(-1)
		for _, x := range row {
			mx = max(mx, x)
		}
		var sum float64
		for _, x := range row {
			sum += math.Exp(x - mx)
		}
		logZ := mx + math.Log(sum)
		if targets[i] >= 0 {
			logp[i] = row[targets[i]] - logZ
		}
		var h float64
		for _, x := range row {
			lp := x - logZ
			h -= math.Exp(lp) * lp
		}
		ent[i] = h
	}
	return logp, ent
}

// naiveAdamW applies one AdamW step in float64, in place.
func naiveAdamW(p, g, m, v []float64, lr, beta1, beta2, eps, wd float64, t int) {
	bc1 := 1 - math.Pow(beta1, float64(t))
	bc2 := 1 - math.Pow(beta2, float64(t))
	for i := range p {
		m[i] = beta1*m[i] + (1-beta1)*g[i]
		v[i] = beta2*v[i] + (1-beta2)*g[i]*g[i]
		p[i] -= lr * ((m[i]/bc1)/(math.Sqrt(v[i]/bc2)+eps) + wd*p[i])
	}
}
