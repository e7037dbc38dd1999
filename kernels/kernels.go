// Package kernels defines the Backend interface: the complete set of numeric
// operations the Qwen3 model, the optimizer and the RL loss need, forward and
// backward. The model is written once against this interface; kernels/cpu
// implements it on the host (plain Go plus AVX2/FMA assembly) and kernels/cuda
// implements it on an NVIDIA GPU (behind the cuda build tag).
//
// Conventions used by every method:
//
//	N   number of token rows in a packed batch (all sequences concatenated)
//	D   hidden size, I intermediate size, V vocabulary size
//	H   query heads, KV key/value heads, hd head dimension
//	S   number of sequences; starts is cu_seqlens: S+1 offsets, starts[0] = 0,
//	    starts[S] = N; sequence s owns rows starts[s] .. starts[s+1]-1
//
// Matrices are row-major float32. A weight of a linear layer is stored as
// [out, in] (the Hugging Face layout), so y = x · Wᵀ. Buffers never alias unless
// a method says it works in place. "Accumulates" means the result is added to
// what the destination holds; otherwise the destination is overwritten.
//
// Every implementation must be deterministic: the same inputs give the same
// bits whatever the number of threads or the scheduling.
package kernels

// Buffer is a one-dimensional float32 array owned by a backend: a Go slice on the
// CPU, device memory on a GPU. Views made with Backend.Slice share storage.
type Buffer interface {
	// Len is the number of float32 elements.
	Len() int
}

// Backend is the op set of the model. All integer index slices ([]int32) live
// on the host; a device backend copies them as it needs.
type Backend interface {
	// Name identifies the backend and its code path, e.g. "cpu/avx2".
	Name() string

	// Alloc returns a zero-filled buffer of n elements.
	Alloc(n int) Buffer
	// Slice returns a view of b[off : off+n].
	Slice(b Buffer, off, n int) Buffer
	// Upload copies src into dst (len(src) <= dst.Len()).
	Upload(dst Buffer, src []float32)
	// Download copies src into dst (len(dst) <= src.Len()).
	Download(dst []float32, src Buffer)
	// Copy copies src into dst (same length).
	Copy(dst, src Buffer)
	// Fill sets every element of dst to v.
	Fill(dst Buffer, v float32)

	// Gemm computes C = alpha·op(A)·op(B) + beta·C with op(A) [m,k] and op(B) [k,n]:
	// A is [m,k] (or [k,m] when transA), B is [k,n] (or [n,k] when transB), C is [m,n].
	// beta = 0 overwrites C without reading it.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a, b Buffer, beta float32, c Buffer)
	// Axpy computes y += alpha·x.
	Axpy(alpha float32, x, y Buffer)
	// Scale computes x *= alpha.
	Scale(alpha float32, x Buffer)
	// SumSquares returns Σ x², accumulated in float64 in a fixed order.
	SumSquares(x Buffer) float64

	// Embedding gathers rows: out[i,:] = table[ids[i],:]. out is [len(ids), d].
	Embedding(out, table Buffer, ids []int32, d int)
	// EmbeddingBackward scatters: dtable[ids[i],:] += dout[i,:] (accumulates).
	EmbeddingBackward(dtable, dout Buffer, ids []int32, d int)

	// RMSNorm computes out[r,:] = w ⊙ x[r,:] / sqrt(mean(x[r,:]²) + eps) for
	// rows r < rows, and stores rstd[r] = 1/sqrt(mean(x²)+eps). x, out are [rows, d].
	RMSNorm(out, rstd, x, w Buffer, rows, d int, eps float32)
	// RMSNormBackward accumulates dx += ∂L/∂x and dw += ∂L/∂w given dout.
	RMSNormBackward(dx, dw, dout, x, w, rstd Buffer, rows, d int)

	// RoPE rotates x in place: x is [n, heads, hd]; row i uses position pos[i].
	// cos and sin are [maxPos, hd/2]; the rotate-half convention pairs element j
	// with j+hd/2.
	RoPE(x, cos, sin Buffer, pos []int32, n, heads, hd int)
	// RoPEBackward applies the inverse rotation to a gradient in place.
	RoPEBackward(dx, cos, sin Buffer, pos []int32, n, heads, hd int)

	// Attention is causal grouped-query attention over packed sequences.
	// q is [N, H·hd], k and v are [N, KV·hd], out is [N, H·hd], lse is [N, H]
	// (the log-sum-exp of each row's scaled scores, kept for the backward).
	// Query head j reads key/value head j / (H/KV).
	Attention(out, lse, q, k, v Buffer, starts []int32, heads, kvHeads, hd int, scale float32)
	// AttentionBackward overwrites dq, dk, dv from dout.
	AttentionBackward(dq, dk, dv, dout, q, k, v, out, lse Buffer, starts []int32, heads, kvHeads, hd int, scale float32)

	// KVWrite stores rows of src [n, width] into a cache [slots, maxLen, width]:
	// cache[slot[i], pos[i], :] = src[i, :].
	KVWrite(cache, src Buffer, slot, pos []int32, maxLen, width int)
	// AttentionCached is attention of query rows against a KV cache: row i
	// (q is [n, H·hd]) attends to positions 0 .. length[i]-1 of cache slot slot[i].
	// kc and vc are [slots, maxLen, KV·hd]; out is [n, H·hd].
	AttentionCached(out, q, kc, vc Buffer, slot, length []int32, maxLen, heads, kvHeads, hd int, scale float32)

	// SwiGLU computes out = silu(gate) ⊙ up elementwise over n elements; out may
	// be gate or up (it works in place).
	SwiGLU(out, gate, up Buffer, n int)
	// SwiGLUBackward overwrites dgate and dup from dout.
	SwiGLUBackward(dgate, dup, dout, gate, up Buffer, n int)

	// TokenLogProbs computes, for each row i of logits [n, v], the log-softmax at
	// targets[i] into logp[i] (0 when targets[i] < 0) and, if entropy is not nil,
	// the entropy of the row's softmax into entropy[i].
	TokenLogProbs(logp, entropy, logits Buffer, targets []int32, n, v int)
	// TokenLogProbsBackward overwrites dlogits[i,:] = dlogp[i]·(onehot(targets[i]) − softmax(logits[i,:]))
	// (zero rows where targets[i] < 0).
	TokenLogProbsBackward(dlogits, logits Buffer, targets []int32, dlogp Buffer, n, v int)

	// AdamW updates p in place from gradient g with moments m and v (decoupled
	// weight decay, bias correction for step t >= 1):
	//
	//	m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
	//	p -= lr·( m/(1−β1ᵗ) / (sqrt(v/(1−β2ᵗ)) + eps) + wd·p )
	AdamW(p, g, m, v Buffer, lr, beta1, beta2, eps, wd float32, t int)
}

// BF16Weights is implemented by a backend that can keep weight matrices in
// bfloat16 for inference (sampling and decoding), at half the bytes of
// float32; the products widen them back and compute in float32. Training
// never uses it: its master weights stay float32.
type BF16Weights interface {
	// ToBF16 returns a bfloat16 copy of w (rounded to nearest, ties to
	// even); its Len is w.Len().
	ToBF16(w Buffer) Buffer
	// GemmBF16 computes y = x·wᵀ, or y += x·wᵀ when accumulate is set: x is
	// [m, k] float32, w [n, k] a copy made by ToBF16, y [m, n] float32.
	GemmBF16(m, n, k int, x, w Buffer, accumulate bool, y Buffer)
}
