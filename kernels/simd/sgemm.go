package simd

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/frontier-rl/frontier/kernels/par"
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
//
// Sgemm allocates its packing buffers on every call; Workspace.Sgemm reuses
// them.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	(*Workspace)(nil).Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
}

// Workspace keeps Sgemm's packing buffers from one call to the next, so that
// repeated products do not allocate. It is safe for concurrent use, its
// zero value is ready to use, and what it holds never affects a result (every
// packed element is written before it is read). A nil *Workspace allocates.
//
// It keeps up to workspaceKeep buffers of each kind on free lists (which,
// unlike a sync.Pool, a garbage collection does not empty), with capacities
// rounded up to a power of two so that one buffer serves products of
// neighbouring shapes.
type Workspace struct {
	mu   sync.Mutex
	free [numPools][][]float32
	pool *par.Pool // the products' goroutines (nil: fresh ones per product)
}

// NewWorkspace returns a workspace whose products run their goroutines on
// pool (which may be nil).
func NewWorkspace(pool *par.Pool) *Workspace { return &Workspace{pool: pool} }

// loops is the pool products on ws run on (nil for a nil ws).
func (ws *Workspace) loops() *par.Pool {
	if ws == nil {
		return nil
	}
	return ws.pool
}

// The kinds of buffer a Workspace keeps.
const (
	poolA   = iota // packed blocks of A
	poolB          // packed blocks of B
	poolTmp        // edge tiles
	numPools
)

// workspaceKeep bounds the buffers of each kind a Workspace holds: one per
// goroutine of the products running at once.
const workspaceKeep = 8

// get returns a buffer of n elements (contents undefined) from free list p
// of ws: the smallest one that is large enough, or a new one.
func (ws *Workspace) get(p, n int) []float32 {
	if ws == nil {
		return make([]float32, n)
	}
	ws.mu.Lock()
	list := ws.free[p]
	best := -1
	for i, b := range list {
		if cap(b) >= n && (best < 0 || cap(b) < cap(list[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := list[best]
		list[best] = list[len(list)-1]
		ws.free[p] = list[:len(list)-1]
		ws.mu.Unlock()
		return b[:n]
	}
	ws.mu.Unlock()
	return make([]float32, n, roundPow2(n))
}

// put hands a buffer from get back to free list p; when the list is full it
// replaces the smallest buffer held if b is larger, and is dropped otherwise.
func (ws *Workspace) put(p int, b []float32) {
	if ws == nil {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	list := ws.free[p]
	if len(list) < workspaceKeep {
		ws.free[p] = append(list, b)
		return
	}
	small := 0
	for i := range list {
		if cap(list[i]) < cap(list[small]) {
			small = i
		}
	}
	if cap(b) > cap(list[small]) {
		list[small] = b
	}
}

// roundPow2 is the smallest power of two >= n (n >= 1).
func roundPow2(n int) int {
	c := 1
	for c < n {
		c <<= 1
	}
	return c
}

// Sgemm is the package's Sgemm with its buffers kept in ws.
func (ws *Workspace) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
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
	sgemmWith(ws, &gemmArch, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
}

// sgemmWith is Sgemm past the argument checks and the trivial cases, with
// the micro-kernel sp for the blocked path (the tests run every kernel).
func sgemmWith(ws *Workspace, sp *gemmSpec, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	if m < skinnyM && !(transA && transB) {
		sgemmSkinny(ws.loops(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
		return
	}
	sgemmBlocked(ws, sp, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
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

// smallGemm is the m*n*k up to which Sgemm skips packing and threads. Past
// about 8×8×8 packing pays: at attention's shapes (m, n, k from 16 to 40,
// all three layouts) the packed micro-kernel on one thread measured 3.2x to
// 12x the vector-routine path of sgemmSmall (Zen 3, AVX2).
const smallGemm = 8 * 8 * 8

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
}

// kBlock returns the k-block length for a product of depth k: the k range
// is cut in equal blocks of at most sp.kc. It depends on k alone, which
// keeps the summation order independent of the thread split.
func (sp *gemmSpec) kBlock(k int) int {
	nb := (k + sp.kc - 1) / sp.kc
	return (k + nb - 1) / nb
}

// sgemmBlocked is the packed, cache-blocked path (Goto/BLIS loop order).
// For each block of nc columns and kb depth, the threads pack B's block
// together into a shared buffer (each a fixed share of its nr-wide panels),
// wait for each other, and then each multiplies its own fixed range of rows
// of C (whole mr-tiles), packing its rows of A in blocks of mc. Two B
// buffers alternate, so one rendezvous per block suffices: a thread packing
// block t+2 has passed the rendezvous of block t+1, which every thread
// reaches only after finishing block t. Every element of C is summed by the
// same micro-kernel over the same k-blocks in the same order whatever the
// number of threads.
func sgemmBlocked(ws *Workspace, sp *gemmSpec, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	mr, nr := sp.mr, sp.nr
	mt := (m + mr - 1) / mr
	// At least about 1 MFLOP per goroutine, and at least one tile row each.
	if w := 2 * m * n * k / (1 << 20); threads > w {
		threads = max(w, 1)
	}
	threads = max(1, min(threads, mt))
	if threads > 1 && k*n <= chunkedMaxB {
		sgemmChunked(ws, sp, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
		return
	}
	kb := sp.kBlock(k)
	bsize := kb * min(sp.nc, (n+nr-1)/nr*nr)
	nbuf := 1
	if threads > 1 {
		nbuf = 2
	}
	bbuf := ws.get(poolB, nbuf*bsize)
	defer ws.put(poolB, bbuf)
	var bar *barrier
	if threads > 1 {
		bar = newBarrier(threads)
	}
	worker := func(w int) {
		i0, i1 := min(mt*w/threads*mr, m), min(mt*(w+1)/threads*mr, m)
		ap := ws.get(poolA, min(sp.mc, (i1-i0+mr-1)/mr*mr)*kb)
		tmp := ws.get(poolTmp, mr*nr)
		defer ws.put(poolA, ap)
		defer ws.put(poolTmp, tmp)
		block := 0
		for jc := 0; jc < n; jc += sp.nc {
			nc := min(sp.nc, n-jc)
			panels := (nc + nr - 1) / nr
			q0, q1 := panels*w/threads, panels*(w+1)/threads
			for pc := 0; pc < k; pc += kb {
				kc := min(kb, k-pc)
				bp := bbuf[(block%nbuf)*bsize : (block%nbuf+1)*bsize]
				block++
				if q1 > q0 {
					packB(transB, b, ldb, pc, kc, jc+q0*nr, min(nc, q1*nr)-q0*nr, nr, bp[q0*nr*kc:])
				}
				bar.wait()
				be := beta
				if pc > 0 {
					be = 1
				}
				for ic := i0; ic < i1; ic += sp.mc {
					mc := min(sp.mc, i1-ic)
					packA(transA, a, lda, ic, mc, pc, kc, mr, alpha, ap)
					macroKernel(sp, kc, mc, nc, ap, bp, c[ic*ldc+jc:], ldc, be, tmp)
				}
			}
		}
	}
	// One chunk per goroutine: each blocks at the barrier inside its chunk,
	// so no goroutine takes a second one and all run at once.
	ws.loops().For(threads, threads, worker)
}

// chunkedMaxB is the largest B (k·n elements, 2 MB) that sgemmChunked
// packs whole: every product of the tiny models, none of the large ones.
const chunkedMaxB = 1 << 19

// sgemmChunked is the multi-threaded path for products with a small B, where
// waiting for one another cost more than the work (at 740×64×128 two threads
// of sgemmBlocked took 1.4x the time of one). The goroutines that join pack
// all of B, panel by panel, into one shared buffer, taking panels from a
// counter; then they take blocks of rows of C from a second counter until
// none is left, each packing its block's rows of A. A goroutine that joins
// late finds the panels packed and takes fewer row blocks; the only wait is
// for a panel another goroutine is packing. Every element of C is summed by
// the same micro-kernel over the same k-blocks in the same order as in
// sgemmBlocked, so the result is the same bit for bit, whoever computes it.
func sgemmChunked(ws *Workspace, sp *gemmSpec, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	mr, nr := sp.mr, sp.nr
	kb := sp.kBlock(k)
	// B's blocks (jc, pc), laid out one after another, nr-wide panels each.
	type panel struct{ jc, nc, pc, kc, jp, off int }
	var panels []panel
	size := 0
	for jc := 0; jc < n; jc += sp.nc {
		nc := min(sp.nc, n-jc)
		for pc := 0; pc < k; pc += kb {
			kc := min(kb, k-pc)
			for jp := 0; jp < nc; jp += nr {
				panels = append(panels, panel{jc, nc, pc, kc, jp, size + jp*kc})
			}
			size += kc * ((nc + nr - 1) / nr * nr)
		}
	}
	bp := ws.get(poolB, size)
	defer ws.put(poolB, bp)
	tiles := (m + mr - 1) / mr
	per := max(1, min(sp.mc/mr, (tiles+4*threads-1)/(4*threads))) // tiles per row block
	blocks := (tiles + per - 1) / per
	var nextPanel, packed, nextBlock atomic.Int64
	worker := func(int) {
		for {
			pi := int(nextPanel.Add(1) - 1)
			if pi >= len(panels) {
				break
			}
			q := panels[pi]
			w := min(nr, q.nc-q.jp)
			packB(transB, b, ldb, q.pc, q.kc, q.jc+q.jp, w, nr, bp[q.off:q.off+q.kc*nr])
			packed.Add(1)
		}
		for i := 0; packed.Load() < int64(len(panels)); i++ {
			if i%256 == 255 {
				runtime.Gosched()
			}
		}
		if nextBlock.Load() >= int64(blocks) {
			return
		}
		ap := ws.get(poolA, per*mr*kb)
		tmp := ws.get(poolTmp, mr*nr)
		defer ws.put(poolA, ap)
		defer ws.put(poolTmp, tmp)
		for {
			bi := int(nextBlock.Add(1) - 1)
			if bi >= blocks {
				return
			}
			i0 := bi * per * mr
			rows := min(per*mr, m-i0)
			off := 0
			for jc := 0; jc < n; jc += sp.nc {
				nc := min(sp.nc, n-jc)
				for pc := 0; pc < k; pc += kb {
					kc := min(kb, k-pc)
					be := beta
					if pc > 0 {
						be = 1
					}
					packA(transA, a, lda, i0, rows, pc, kc, mr, alpha, ap)
					macroKernel(sp, kc, rows, nc, ap, bp[off:], c[i0*ldc+jc:], ldc, be, tmp)
					off += kc * ((nc + nr - 1) / nr * nr)
				}
			}
		}
	}
	ws.loops().For(threads, threads, worker)
}

// barrier is a reusable rendezvous of n goroutines. A waiter spins briefly
// (the others are usually a few microseconds behind, and parking costs
// more than that) and then blocks. A nil barrier (one goroutine) never waits.
type barrier struct {
	n     int32
	count atomic.Int32
	gen   atomic.Uint32
	mu    sync.Mutex
	cond  sync.Cond
}

// barrierSpins bounds the busy wait (tens of microseconds).
const barrierSpins = 1 << 15

func newBarrier(n int) *barrier {
	b := &barrier{n: int32(n)}
	b.cond.L = &b.mu
	return b
}

// wait returns once all n goroutines have called it (in this round).
func (b *barrier) wait() {
	if b == nil {
		return
	}
	g := b.gen.Load()
	if b.count.Add(1) == b.n {
		b.count.Store(0)
		b.mu.Lock()
		b.gen.Add(1)
		b.cond.Broadcast()
		b.mu.Unlock()
		return
	}
	for range barrierSpins {
		if b.gen.Load() != g {
			return
		}
	}
	b.mu.Lock()
	for b.gen.Load() == g {
		b.cond.Wait()
	}
	b.mu.Unlock()
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
	full := 0 // columns already packed
	if nr == 16 && !transB {
		full = nc / 16 * 16
		packPanels16(b[pc*ldb+jc:], ldb, kc, full, dst)
	}
	for jp := full; jp < nc; jp += nr {
		w := min(nr, nc-jp)
		d := dst[jp*kc : jp*kc+kc*nr]
		switch {
		case nr == 16 && w == 16:
			packB16T(b[(jc+jp)*ldb+pc:], ldb, kc, d)
		case !transB:
			for p := 0; p < kc; p++ {
				src := b[(pc+p)*ldb+jc+jp:]
				row := d[p*nr : p*nr+nr]
				copy(row[:w], src[:w])
				clear(row[w:])
			}
		default:
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
}

// panelBand is how many rows of B packPanels16 copies into every panel
// before it moves on to the next rows.
const panelBand = 8

// packPanels16 packs the first cols (a multiple of 16) columns of kc rows
// of an untransposed B (row p at b[p*ldb:]) as 16-wide panels:
// dst[q*16*kc + p*16 + j] = b[p*ldb + q*16 + j]. It goes down the rows in
// bands of panelBand, each band across every panel, so that the reads stay
// within a few rows at a time: panel by panel, one 64-byte read per row, a
// 256×2048 block with ldb 2048 took 5.8 ms against 2.6 ms in bands (1024:
// 0.30 against 0.24 ms; Zen 3, AVX2).
func packPanels16(b []float32, ldb, kc, cols int, dst []float32) {
	for p := 0; p < kc; p += panelBand {
		rows := min(panelBand, kc-p)
		for jp := 0; jp < cols; jp += 16 {
			packRows16(dst[jp*kc+p*16:], b[p*ldb+jp:], ldb, rows)
		}
	}
}

// packB16TGo packs 16 rows of a transposed B (row j at b[j*ldb:], kc long)
// into d[p*16+j], four rows at a time so that each pass reads four streams
// and writes one.
func packB16TGo(b []float32, ldb, kc int, d []float32) {
	d = d[:kc*16]
	for j := 0; j < 16; j += 4 {
		r0 := b[j*ldb : j*ldb+kc]
		r1 := b[(j+1)*ldb : (j+1)*ldb+kc]
		r2 := b[(j+2)*ldb : (j+2)*ldb+kc]
		r3 := b[(j+3)*ldb : (j+3)*ldb+kc]
		for p := range r0 {
			q := (*[4]float32)(d[p*16+j:])
			q[0], q[1], q[2], q[3] = r0[p], r1[p], r2[p], r3[p]
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
		if mr == 6 && h == 6 {
			packA6(transA, a, lda, ic+ip, pc, kc, alpha, d)
			continue
		}
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

// packA6 packs one full 6-row panel: d[p*6+i] = alpha*A(i0+i, pc+p).
func packA6(transA bool, a []float32, lda, i0, pc, kc int, alpha float32, d []float32) {
	d = d[:kc*6]
	if transA {
		packA6T(d, a[pc*lda+i0:], lda, kc, alpha)
		return
	}
	packA6N(d, a[i0*lda+pc:], lda, kc, alpha)
}

// packA6TGo packs six columns, ld apart, of a stored Aᵀ:
// dst[p*6+i] = alpha*src[p*ld+i].
func packA6TGo(dst, src []float32, ld, kc int, alpha float32) {
	for p := 0; p < kc; p++ {
		s := (*[6]float32)(src[p*ld : p*ld+6])
		q := (*[6]float32)(dst[p*6 : p*6+6])
		q[0], q[1], q[2], q[3], q[4], q[5] = alpha*s[0], alpha*s[1], alpha*s[2], alpha*s[3], alpha*s[4], alpha*s[5]
	}
}

// packRows16Go copies rows of 16 floats, ld apart, into dst back to back:
// dst[p*16+j] = src[p*ld+j].
func packRows16Go(dst, src []float32, ld, rows int) {
	for p := 0; p < rows; p++ {
		*(*[16]float32)(dst[p*16 : p*16+16]) = *(*[16]float32)(src[p*ld : p*ld+16])
	}
}

// packA6NGo packs six rows, ld apart: dst[p*6+i] = alpha*src[i*ld+p].
func packA6NGo(dst, src []float32, ld, kc int, alpha float32) {
	r0 := src[0:kc]
	r1 := src[ld : ld+kc]
	r2 := src[2*ld : 2*ld+kc]
	r3 := src[3*ld : 3*ld+kc]
	r4 := src[4*ld : 4*ld+kc]
	r5 := src[5*ld : 5*ld+kc]
	for p := range r0 {
		q := (*[6]float32)(dst[p*6 : p*6+6])
		q[0], q[1], q[2], q[3], q[4], q[5] = alpha*r0[p], alpha*r1[p], alpha*r2[p], alpha*r3[p], alpha*r4[p], alpha*r5[p]
	}
}
