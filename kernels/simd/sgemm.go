package simd

import (
	"fmt"
	"runtime"
	"sync"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is [m,k]:
// A is [m,lda] if !transA, else A is [k,lda] holding A^T. op(B) is [k,n]:
// B is [k,ldb] if !transB, else [n,ldb]. C is [m,ldc]. beta==0 means C is
// overwritten (NaNs in C ignored). threads<=0 means runtime.GOMAXPROCS(0).
//
// When k == 0 or alpha == 0, A and B are not read and C = beta*C.
//
// The result is deterministic and the same for every value of threads:
// each element of C is computed by one goroutine, summing over k in the
// same blocks and the same order whatever the split.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	checkGemm("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if m*n*k <= smallGemm {
		sgemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	sgemmBlocked(&gemmArch, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
}

// SgemmRef is the reference for Sgemm, with the same arguments: a plain
// triple loop that sums over k in order, in float32, then stores
// alpha*s + beta*C (alpha*s when beta == 0). threads is ignored.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	checkGemm("SgemmRef", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var x, y float32
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += x * y
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// checkGemm panics when a size, a leading dimension or a slice length is
// inconsistent.
func checkGemm(fn string, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("simd.%s: negative size m=%d n=%d k=%d", fn, m, n, k))
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if ld < max(cols, 1) {
			panic(fmt.Sprintf("simd.%s: ld%s=%d < %d", fn, name, ld, cols))
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("simd.%s: len(%s)=%d < %d for [%d,%d] with ld %d", fn, name, len(s), (rows-1)*ld+cols, rows, cols, ld))
		}
	}
	if transA {
		check("a", a, k, m, lda)
	} else {
		check("a", a, m, k, lda)
	}
	if transB {
		check("b", b, n, k, ldb)
	} else {
		check("b", b, k, n, ldb)
	}
	check("c", c, m, n, ldc)
}

// scaleC sets C = beta*C (C = 0 when beta == 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			scale(beta, row)
		}
	}
}

// smallGemm is the m*n*k up to which Sgemm skips packing and threads.
const smallGemm = 32 * 32 * 32

// sgemmSmall is the path for tiny products: one goroutine, no packing,
// built on the vector routines.
func sgemmSmall(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch {
		case !transB:
			scaleC(1, n, beta, row, n)
			for p := 0; p < k; p++ {
				var x float32
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				axpy(alpha*x, b[p*ldb:p*ldb+n], row)
			}
		case !transA:
			ar := a[i*lda : i*lda+k]
			for j := range row {
				s := alpha * dot(ar, b[j*ldb:j*ldb+k])
				if beta != 0 {
					s += beta * row[j]
				}
				row[j] = s
			}
		default:
			for j := range row {
				br := b[j*ldb : j*ldb+k]
				var s float32
				for p, y := range br {
					s += a[p*lda+i] * y
				}
				s *= alpha
				if beta != 0 {
					s += beta * row[j]
				}
				row[j] = s
			}
		}
	}
}

// gemmSpec describes a micro-kernel and the cache blocking tuned for it.
//
// kernel(k, a, b, c, ldc, beta) multiplies an mr×k packed panel of A
// (a[p*mr+i] = A(i,p)) by a k×nr packed panel of B (b[p*nr+j] = B(p,j)):
// for i < mr, j < nr, with s the sum over p < k of a[p*mr+i]*b[p*nr+j],
// it stores c[i*ldc+j] = s when beta == 0 (c is not read) and
// c[i*ldc+j] = beta*c[i*ldc+j] + s otherwise.
type gemmSpec struct {
	name       string
	mr, nr     int
	mc, kc, nc int // block sizes: mc a multiple of mr, nc of nr
	kernel     func(k int, a, b, c *float32, ldc int, beta float32)
	pool       *sync.Pool
}

// gemmBuf is one goroutine's packing space.
type gemmBuf struct {
	a, b, tmp []float32
}

func (sp *gemmSpec) getBuf() *gemmBuf {
	if v := sp.pool.Get(); v != nil {
		return v.(*gemmBuf)
	}
	return &gemmBuf{
		a:   make([]float32, sp.mc*sp.kc),
		b:   make([]float32, sp.kc*sp.nc),
		tmp: make([]float32, sp.mr*sp.nr),
	}
}

// kBlock returns the k-block length for a product of depth k: the k range
// is cut in equal blocks of at most sp.kc. It depends on k alone, which
// keeps the summation order independent of the thread split.
func (sp *gemmSpec) kBlock(k int) int {
	nb := (k + sp.kc - 1) / sp.kc
	return (k + nb - 1) / nb
}

// sgemmBlocked is the packed, cache-blocked path. C is cut on the grid of
// mr×nr tiles into tm×tn rectangles, one per goroutine.
func sgemmBlocked(sp *gemmSpec, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	mt := (m + sp.mr - 1) / sp.mr
	nt := (n + sp.nr - 1) / sp.nr
	// At least about 4 MFLOP per goroutine.
	if w := 2 * m * n * k / (4 << 20); threads > w {
		threads = max(w, 1)
	}
	tm, tn := gridSplit(threads, mt, nt)
	if tm*tn == 1 {
		gemmRect(sp, transA, transB, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	var wg sync.WaitGroup
	for ti := 0; ti < tm; ti++ {
		i0, i1 := min(mt*ti/tm*sp.mr, m), min(mt*(ti+1)/tm*sp.mr, m)
		for tj := 0; tj < tn; tj++ {
			j0, j1 := min(nt*tj/tn*sp.nr, n), min(nt*(tj+1)/tn*sp.nr, n)
			if i0 == i1 || j0 == j1 {
				continue
			}
			if ti == tm-1 && tj == tn-1 {
				gemmRect(sp, transA, transB, i0, i1, j0, j1, k, alpha, a, lda, b, ldb, beta, c, ldc)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				gemmRect(sp, transA, transB, i0, i1, j0, j1, k, alpha, a, lda, b, ldb, beta, c, ldc)
			}()
		}
	}
	wg.Wait()
}

// gridSplit picks tm×tn = (at most) threads rectangles over an mt×nt tile
// grid, minimising the largest rectangle.
func gridSplit(threads, mt, nt int) (tm, tn int) {
	threads = max(1, min(threads, mt*nt))
	best := -1
	for t := threads; t >= 1 && best < 0; t-- {
		for x := 1; x <= t; x++ {
			if t%x != 0 || x > mt || t/x > nt {
				continue
			}
			y := t / x
			cost := ((mt + x - 1) / x) * ((nt + y - 1) / y)
			// Ties go to splitting n: each goroutine then packs less of B,
			// which is the larger copy per flop for the shapes we run.
			if best < 0 || cost < best || (cost == best && y > tn) {
				best, tm, tn = cost, x, y
			}
		}
	}
	return tm, tn
}

// gemmRect computes rows [i0,i1) and columns [j0,j1) of C; i0 and j0 are
// on the tile grid.
func gemmRect(sp *gemmSpec, transA, transB bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	buf := sp.getBuf()
	defer sp.pool.Put(buf)
	kb := sp.kBlock(k)
	for jc := j0; jc < j1; jc += sp.nc {
		nc := min(sp.nc, j1-jc)
		for pc := 0; pc < k; pc += kb {
			kc := min(kb, k-pc)
			packB(transB, b, ldb, pc, kc, jc, nc, sp.nr, buf.b)
			be := beta
			if pc > 0 {
				be = 1
			}
			for ic := i0; ic < i1; ic += sp.mc {
				mc := min(sp.mc, i1-ic)
				packA(transA, a, lda, ic, mc, pc, kc, sp.mr, alpha, buf.a)
				macroKernel(sp, kc, mc, nc, buf.a, buf.b, c[ic*ldc+jc:], ldc, be, buf.tmp)
			}
		}
	}
}

// macroKernel runs the micro-kernel over an mc×nc block of C from packed
// A (mc×kc) and B (kc×nc). Partial tiles go through tmp so the micro-kernel
// computes them exactly as it does full ones.
func macroKernel(sp *gemmSpec, kc, mc, nc int, ap, bp, c []float32, ldc int, beta float32, tmp []float32) {
	mr, nr := sp.mr, sp.nr
	for jr := 0; jr < nc; jr += nr {
		w := min(nr, nc-jr)
		bpp := &bp[jr*kc]
		for ir := 0; ir < mc; ir += mr {
			h := min(mr, mc-ir)
			app := &ap[ir*kc]
			if h == mr && w == nr {
				sp.kernel(kc, app, bpp, &c[ir*ldc+jr], ldc, beta)
				continue
			}
			if beta != 0 {
				for i := 0; i < h; i++ {
					copy(tmp[i*nr:i*nr+w], c[(ir+i)*ldc+jr:])
				}
			}
			sp.kernel(kc, app, bpp, &tmp[0], nr, beta)
			for i := 0; i < h; i++ {
				copy(c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+w], tmp[i*nr:])
			}
		}
	}
}

// packB copies B(pc:pc+kc, jc:jc+nc) into dst as nr-wide panels, panel q
// holding dst[q*nr*kc + p*nr + j] = B(pc+p, jc+q*nr+j), zero past column nc.
func packB(transB bool, b []float32, ldb, pc, kc, jc, nc, nr int, dst []float32) {
	for jp := 0; jp < nc; jp += nr {
		w := min(nr, nc-jp)
		d := dst[jp*kc : jp*kc+kc*nr]
		if !transB {
			for p := 0; p < kc; p++ {
				src := b[(pc+p)*ldb+jc+jp:]
				row := d[p*nr : p*nr+nr]
				copy(row[:w], src[:w])
				clear(row[w:])
			}
			continue
		}
		if w < nr {
			clear(d)
		}
		for j := 0; j < w; j++ {
			src := b[(jc+jp+j)*ldb+pc:]
			src = src[:kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
	}
}

// packA copies alpha*A(ic:ic+mc, pc:pc+kc) into dst as mr-tall panels,
// panel q holding dst[q*mr*kc + p*mr + i] = alpha*A(ic+q*mr+i, pc+p), zero
// past row mc.
func packA(transA bool, a []float32, lda, ic, mc, pc, kc, mr int, alpha float32, dst []float32) {
	for ip := 0; ip < mc; ip += mr {
		h := min(mr, mc-ip)
		d := dst[ip*kc : ip*kc+kc*mr]
		if transA {
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+ic+ip:]
				src = src[:h]
				col := d[p*mr : p*mr+mr]
				for i, v := range src {
					col[i] = alpha * v
				}
				clear(col[h:])
			}
			continue
		}
		if h < mr {
			clear(d)
		}
		for i := 0; i < h; i++ {
			src := a[(ic+ip+i)*lda+pc:]
			src = src[:kc]
			for p, v := range src {
				d[p*mr+i] = alpha * v
			}
		}
	}
}
