package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/kernels/simd"
)

// The element-wise ops as they were written before their loops moved to
// kernels/simd: the references the ops must match bit for bit, and the
// baselines of BenchmarkElementwise (the pure Go loops, with the same
// chunks).

func (c *Backend) adamWScalar(p, g, m, v kernels.Buffer, lr, beta1, beta2, eps, wd float32, t int) {
	P, G, M, V := Data(p), Data(g), Data(m), Data(v)
	bc1 := float32(1 - math.Pow(float64(beta1), float64(t)))
	bc2 := float32(1 - math.Pow(float64(beta2), float64(t)))
	c.parallel(len(P), 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gi := G[i]
			M[i] = beta1*M[i] + (1-beta1)*gi
			V[i] = beta2*V[i] + (1-beta2)*gi*gi
			mh := M[i] / bc1
			vh := V[i] / bc2
			P[i] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+eps) + wd*P[i])
		}
	})
}

func (c *Backend) rmsNormScalar(out, rstd, x, w kernels.Buffer, rows, d int, eps float32) {
	O, R, X, W := Data(out), Data(rstd), Data(x), Data(w)
	c.parallel(rows, grainRows(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := X[r*d : (r+1)*d]
			ss := float64(simd.SumSquares(xr))
			rs := float32(1 / math.Sqrt(ss/float64(d)+float64(eps)))
			R[r] = rs
			or := O[r*d : (r+1)*d]
			for j, v := range xr {
				or[j] = W[j] * (v * rs)
			}
		}
	})
}

func (c *Backend) rmsNormBackwardScalar(dx, dw, dout, x, w, rstd kernels.Buffer, rows, d int) {
	DX, DW, DO, X, W, R := Data(dx), Data(dw), Data(dout), Data(x), Data(w), Data(rstd)
	grain := grainRows(d)
	chunks := (rows + grain - 1) / grain
	parts := make([]float32, chunks*d)
	c.parallel(rows, grain, func(lo, hi int) {
		part := parts[(lo/grain)*d : (lo/grain+1)*d]
		for r := lo; r < hi; r++ {
			xr, dor, dxr := X[r*d:(r+1)*d], DO[r*d:(r+1)*d], DX[r*d:(r+1)*d]
			rs := R[r]
			var dot float64
			for j := range xr {
				dot += float64(W[j]*dor[j]) * float64(xr[j]*rs)
			}
			m := float32(dot / float64(d))
			for j := range xr {
				n := xr[j] * rs
				dxr[j] += rs * (W[j]*dor[j] - n*m)
				part[j] += dor[j] * n
			}
		}
	})
	for ci := 0; ci < chunks; ci++ {
		part := parts[ci*d : (ci+1)*d]
		for j := range part {
			DW[j] += part[j]
		}
	}
}

func (c *Backend) ropeScalar(x, cos, sin kernels.Buffer, pos []int32, n, heads, hd int, sign float32) {
	X, C, S := Data(x), Data(cos), Data(sin)
	half := hd / 2
	c.parallel(n, grainRows(heads*hd), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			cr := C[int(pos[i])*half : int(pos[i]+1)*half]
			sr := S[int(pos[i])*half : int(pos[i]+1)*half]
			for h := 0; h < heads; h++ {
				v := X[(i*heads+h)*hd : (i*heads+h+1)*hd]
				for j := 0; j < half; j++ {
					a, b := v[j], v[j+half]
					v[j] = a*cr[j] - sign*b*sr[j]
					v[j+half] = b*cr[j] + sign*a*sr[j]
				}
			}
		}
	})
}

func (c *Backend) swigluBackwardScalar(dgate, dup, dout, gate, up kernels.Buffer, n int) {
	DG, DU, DO, G, U := Data(dgate), Data(dup), Data(dout), Data(gate), Data(up)
	c.parallel(n, 1<<13, func(lo, hi int) {
		var sig [1 << 13]float32
		s := sig[:hi-lo]
		simd.Sigmoid(s, G[lo:hi])
		for i := lo; i < hi; i++ {
			g, sg := G[i], s[i-lo]
			DU[i] = DO[i] * g * sg
			DG[i] = DO[i] * U[i] * sg * (1 + g*(1-sg))
		}
	})
}

// TestElementwiseMatchesScalar requires AdamW, RMSNorm, RMSNormBackward,
// SwiGLUBackward, RoPE and RoPEBackward to give the bits of the scalar loops
// above, on shapes of one chunk and of several, with lengths that leave
// every remainder modulo 8.
func TestElementwiseMatchesScalar(t *testing.T) {
	be := newTestBackend()
	r := newRand(41)
	for _, n := range []int{1, 7, 8, 100, 8195, 100003} {
		p, m, v := randF32(r, n, -1, 1), randF32(r, n, -0.1, 0.1), randF32(r, n, 1e-6, 0.01)
		p1, m1, v1 := upload(be, p), upload(be, m), upload(be, v)
		p2, m2, v2 := upload(be, p), upload(be, m), upload(be, v)
		for step := 1; step <= 3; step++ {
			g := upload(be, randF32(r, n, -1, 1))
			be.AdamW(p1, g, m1, v1, 3e-3, 0.9, 0.95, 1e-8, 0.1, step)
			be.adamWScalar(p2, g, m2, v2, 3e-3, 0.9, 0.95, 1e-8, 0.1, step)
			name := fmt.Sprintf("AdamW n=%d step %d", n, step)
			checkBits(t, name+" p", download(be, p1), download(be, p2))
			checkBits(t, name+" m", download(be, m1), download(be, m2))
			checkBits(t, name+" v", download(be, v1), download(be, v2))
		}
	}
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {5, 64}, {37, 33}, {300, 128}, {1000, 45}, {3072, 32}} {
		rows, d := sh[0], sh[1]
		name := fmt.Sprintf("%dx%d", rows, d)
		x, w := upload(be, randF32(r, rows*d, -2, 2)), upload(be, randF32(r, d, 0.5, 1.5))
		o1, rs1 := upload(be, nanF32(rows*d)), upload(be, nanF32(rows))
		o2, rs2 := upload(be, nanF32(rows*d)), upload(be, nanF32(rows))
		be.RMSNorm(o1, rs1, x, w, rows, d, 1e-6)
		be.rmsNormScalar(o2, rs2, x, w, rows, d, 1e-6)
		checkBits(t, "RMSNorm "+name+" out", download(be, o1), download(be, o2))
		checkBits(t, "RMSNorm "+name+" rstd", download(be, rs1), download(be, rs2))
		dout := upload(be, randF32(r, rows*d, -1, 1))
		dx0, dw0 := randF32(r, rows*d, -1, 1), randF32(r, d, -1, 1)
		dx1, dw1, dx2, dw2 := upload(be, dx0), upload(be, dw0), upload(be, dx0), upload(be, dw0)
		be.RMSNormBackward(dx1, dw1, dout, x, w, rs1, rows, d)
		be.rmsNormBackwardScalar(dx2, dw2, dout, x, w, rs1, rows, d)
		checkBits(t, "RMSNormBackward "+name+" dx", download(be, dx1), download(be, dx2))
		checkBits(t, "RMSNormBackward "+name+" dw", download(be, dw1), download(be, dw2))
	}
	for _, n := range []int{1, 7, 8, 67, 8195, 20000} {
		g, u, dout := upload(be, randF32(r, n, -12, 12)), upload(be, randF32(r, n, -3, 3)), upload(be, randF32(r, n, -1, 1))
		dg1, du1, dg2, du2 := upload(be, nanF32(n)), upload(be, nanF32(n)), upload(be, nanF32(n)), upload(be, nanF32(n))
		be.SwiGLUBackward(dg1, du1, dout, g, u, n)
		be.swigluBackwardScalar(dg2, du2, dout, g, u, n)
		checkBits(t, fmt.Sprintf("SwiGLUBackward n=%d dgate", n), download(be, dg1), download(be, dg2))
		checkBits(t, fmt.Sprintf("SwiGLUBackward n=%d dup", n), download(be, du1), download(be, du2))
	}
	for _, sh := range [][3]int{{13, 3, 16}, {20, 2, 2}, {9, 4, 6}, {50, 4, 64}, {7, 2, 34}, {300, 2, 32}} {
		n, heads, hd := sh[0], sh[1], sh[2]
		const maxPos = 400
		cos, sin := ropeTables(maxPos, hd, 1e4)
		cb, sb := upload(be, cos), upload(be, sin)
		pos := randIDs(r, n, maxPos)
		x := randF32(r, n*heads*hd, -1, 1)
		for _, sign := range []float32{1, -1} {
			x1, x2 := upload(be, x), upload(be, x)
			if sign > 0 {
				be.RoPE(x1, cb, sb, pos, n, heads, hd)
			} else {
				be.RoPEBackward(x1, cb, sb, pos, n, heads, hd)
			}
			be.ropeScalar(x2, cb, sb, pos, n, heads, hd, sign)
			checkBits(t, fmt.Sprintf("RoPE %dx%dx%d sign %v", n, heads, hd, sign), download(be, x1), download(be, x2))
		}
	}
}

// BenchmarkElementwise times the element-wise ops on one thread, "scalar"
// (the loops above, as the ops were) against "simd" (the ops), at the tiny
// model's sizes: AdamW over 430k parameters, RMSNorm over 768 rows of 128
// (the hidden states of a step) and 3072 of 32 (the q/k norms), SwiGLU's
// backward over 768×384.
func BenchmarkElementwise(b *testing.B) {
	be := New(1)
	r := newRand(43)
	run := func(name string, scalar, simd func()) {
		b.Run(name+"/scalar", func(b *testing.B) {
			for range b.N {
				scalar()
			}
		})
		b.Run(name+"/simd", func(b *testing.B) {
			for range b.N {
				simd()
			}
		})
	}
	const np = 430_000
	p, g := upload(be, randF32(r, np, -1, 1)), upload(be, randF32(r, np, -1e-3, 1e-3))
	m, v := upload(be, randF32(r, np, -1e-3, 1e-3)), upload(be, randF32(r, np, 1e-8, 1e-6))
	run(fmt.Sprintf("AdamW/n=%d", np),
		func() { be.adamWScalar(p, g, m, v, 1e-4, 0.9, 0.95, 1e-8, 0.1, 10) },
		func() { be.AdamW(p, g, m, v, 1e-4, 0.9, 0.95, 1e-8, 0.1, 10) })
	for _, sh := range [][2]int{{768, 128}, {3072, 32}} {
		rows, d := sh[0], sh[1]
		x, w, dout := upload(be, randF32(r, rows*d, -2, 2)), upload(be, randF32(r, d, 0.5, 1.5)), upload(be, randF32(r, rows*d, -1, 1))
		out, rstd := be.Alloc(rows*d), be.Alloc(rows)
		dx, dw := be.Alloc(rows*d), be.Alloc(d)
		be.RMSNorm(out, rstd, x, w, rows, d, 1e-6)
		name := fmt.Sprintf("rows=%d/d=%d", rows, d)
		run("RMSNorm/"+name,
			func() { be.rmsNormScalar(out, rstd, x, w, rows, d, 1e-6) },
			func() { be.RMSNorm(out, rstd, x, w, rows, d, 1e-6) })
		run("RMSNormBackward/"+name,
			func() { be.rmsNormBackwardScalar(dx, dw, dout, x, w, rstd, rows, d) },
			func() { be.RMSNormBackward(dx, dw, dout, x, w, rstd, rows, d) })
	}
	const ns = 768 * 384
	gate, up, dout := upload(be, randF32(r, ns, -6, 6)), upload(be, randF32(r, ns, -2, 2)), upload(be, randF32(r, ns, -1, 1))
	dg, du := be.Alloc(ns), be.Alloc(ns)
	run(fmt.Sprintf("SwiGLUBackward/n=%d", ns),
		func() { be.swigluBackwardScalar(dg, du, dout, gate, up, ns) },
		func() { be.SwiGLUBackward(dg, du, dout, gate, up, ns) })
	const n, heads, hd = 768, 4, 32
	cos, sin := ropeTables(n, hd, 1e4)
	cb, sb, q := upload(be, cos), upload(be, sin), upload(be, randF32(r, n*heads*hd, -1, 1))
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	run(fmt.Sprintf("RoPE/n=%d/heads=%d/hd=%d", n, heads, hd),
		func() { be.ropeScalar(q, cb, sb, pos, n, heads, hd, 1) },
		func() { be.RoPE(q, cb, sb, pos, n, heads, hd) })
}
