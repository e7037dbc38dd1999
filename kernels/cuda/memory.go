//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"weak"

	"github.com/frontier-rl/frontier/kernels"
)

// Buf is the CUDA backend's buffer: n float32s of device memory at ptr. Views
// made with Slice point into the same allocation and keep it alive. Once no
// view is reachable, the memory goes back to the backend's pool (not to the
// driver), to be handed out again by a later Alloc: at the latest at the
// collection that the backend forces when it needs memory the pool lacks
// and has handed out a set number of bytes since the last one (see
// Backend.Collect), or earlier when the garbage collector runs on its own.
type Buf struct {
	ptr devptr
	n   int
	mem *devMem
}

// Len is the number of float32 elements.
func (b Buf) Len() int { return b.n }

// Ptr is the device address of the first element.
func (b Buf) Ptr() uintptr { return uintptr(b.ptr) }

// devMem is one allocation handed out by the pool; every view of it points
// here.
type devMem struct {
	ptr  devptr
	size int64
}

// block is device memory of a size class, as the pool holds it.
type block struct {
	ptr  devptr
	size int64
}

// allocation is the pool's record of a buffer handed out by alloc. It refers
// to the buffer's devMem weakly, so that right after a collection the pool can
// tell which buffers nobody references any more.
type allocation struct {
	block
	ref weak.Pointer[devMem]
}

// pool caches device memory by size class and accounts for every byte the
// backend holds. Its methods only touch Go state, so garbage-collector
// cleanups may call them from any goroutine.
type pool struct {
	mu     sync.Mutex
	free   map[int64][]devptr
	live   map[devptr]*allocation // buffers handed out and not yet returned
	cached int64                  // bytes in free
	inUse  int64                  // bytes handed out: buffers and scratch
	peak   int64                  // the largest inUse+cached so far
	handed int64                  // bytes handed out since the last collection
	forced int                    // collections forced by the budget
}

func newPool() *pool {
	return &pool{free: map[int64][]devptr{}, live: map[devptr]*allocation{}}
}

// MemStats describes the device memory a backend holds.
type MemStats struct {
	// InUse is the bytes of buffers not yet found unreferenced, and of
	// per-op scratch (staged index arrays included).
	InUse int64
	// Cached is the bytes the pool holds for reuse.
	Cached int64
	// Peak is the largest InUse+Cached so far: the most device memory the
	// backend has taken from the driver at once.
	Peak int64
	// Collections counts the collections the backend forced to bound the
	// bytes it hands out between two of them.
	Collections int
}

// sizeClass rounds a request up: to 512 bytes, then to one of four steps per
// power of two (at most 25% slack), and above 64 MiB to a multiple of 2 MiB.
func sizeClass(bytes int64) int64 {
	const big = 64 << 20
	switch {
	case bytes <= 512:
		return 512
	case bytes > big:
		const step = 2 << 20
		return (bytes + step - 1) / step * step
	}
	step := int64(1) << (bits.Len64(uint64(bytes-1)) - 3)
	return (bytes + step - 1) / step * step
}

// get hands out a cached block of size bytes, if there is one.
func (p *pool) get(size int64) (devptr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.free[size]
	if len(l) == 0 {
		return 0, false
	}
	ptr := l[len(l)-1]
	p.free[size] = l[:len(l)-1]
	p.cached -= size
	p.inUse += size
	p.handed += size
	return ptr, true
}

// grew records size bytes just taken from the driver and handed out.
func (p *pool) grew(size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inUse += size
	p.handed += size
	p.peak = max(p.peak, p.inUse+p.cached)
}

// track registers a buffer handed out by alloc.
func (p *pool) track(a *allocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live[a.ptr] = a
}

// put returns a handed-out block (scratch) to the cache.
func (p *pool) put(b block) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.putLocked(b)
}

func (p *pool) putLocked(b block) {
	p.free[b.size] = append(p.free[b.size], b.ptr)
	p.cached += b.size
	p.inUse -= b.size
}

// reclaim returns a buffer's block to the cache unless that was done already
// (by a collection, or by the cleanup of this same allocation).
func (p *pool) reclaim(a *allocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reclaimLocked(a)
}

func (p *pool) reclaimLocked(a *allocation) {
	if p.live[a.ptr] != a {
		return
	}
	delete(p.live, a.ptr)
	p.putLocked(a.block)
}

// sweep reclaims every buffer no longer referenced; call it right after a
// garbage collection, which clears the weak pointers of unreachable buffers.
func (p *pool) sweep(forced bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.live {
		if a.ref.Value() == nil {
			p.reclaimLocked(a)
		}
	}
	p.handed = 0
	if forced {
		p.forced++
	}
}

// drain empties the cache and returns what it held.
func (p *pool) drain() []devptr {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []devptr
	for _, l := range p.free {
		out = append(out, l...)
	}
	p.free = map[int64][]devptr{}
	p.cached = 0
	return out
}

// handedBytes is the bytes handed out since the last collection.
func (p *pool) handedBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.handed
}

func (p *pool) stats() MemStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return MemStats{InUse: p.inUse, Cached: p.cached, Peak: p.peak, Collections: p.forced}
}

// MemStats reports the device memory the backend holds.
func (be *Backend) MemStats() MemStats { return be.pool.stats() }

// Collect runs the garbage collector and returns the memory of every buffer
// no longer referenced to the pool at once. The backend calls it itself when
// it has taken its budget of bytes from the driver since the last
// collection and the pool lacks a block; a training loop may call it
// between steps.
func (be *Backend) Collect() {
	runtime.GC()
	be.pool.sweep(false)
}

// rawAlloc returns size bytes (a size class) from the pool or the driver.
// When the pool has no block of the size and the bytes handed out since the
// last collection would exceed the budget, or when the driver is out of
// memory, it first collects, so that buffers nobody references return to the
// pool; if the driver still fails it gives the pool back to the driver and
// tries once more. The driver is thus asked for more memory only while at
// most a budget of bytes may have become garbage unnoticed: the memory held
// stays within the most ever referenced at once plus the budget (and the
// size classes' slack). The context must be current.
func (be *Backend) rawAlloc(size int64) (devptr, error) {
	if ptr, ok := be.pool.get(size); ok {
		return ptr, nil
	}
	if be.gcBudget > 0 && be.pool.handedBytes()+size > be.gcBudget {
		runtime.GC()
		be.pool.sweep(true)
		if ptr, ok := be.pool.get(size); ok {
			return ptr, nil
		}
	}
	ptr, err := be.d.alloc(size)
	if err != nil {
		runtime.GC()
		be.pool.sweep(false)
		if p, ok := be.pool.get(size); ok {
			return p, nil
		}
		be.releaseCached()
		ptr, err = be.d.alloc(size)
	}
	if err != nil {
		st := be.pool.stats()
		return 0, fmt.Errorf("cuda: allocating %d bytes (%d in use, %d cached): %w", size, st.InUse, st.Cached, err)
	}
	be.pool.grew(size)
	return ptr, nil
}

// releaseCached frees every pooled block. The context must be current.
func (be *Backend) releaseCached() {
	for _, ptr := range be.pool.drain() {
		_ = be.d.free(ptr) // a failure here leaves the block allocated; nothing to undo
	}
}

// alloc makes a zero-filled buffer of n floats whose memory returns to the
// pool once no view of it is reachable. The context must be current.
func (be *Backend) alloc(n int) Buf {
	if n <= 0 {
		return Buf{}
	}
	size := sizeClass(int64(n) * 4)
	ptr, err := be.rawAlloc(size)
	if err != nil {
		panic(err)
	}
	if err := be.d.memsetD32(ptr, 0, int64(n)); err != nil {
		be.pool.put(block{ptr, size})
		panic(fmt.Errorf("cuda: zeroing %d floats: %w", n, err))
	}
	m := &devMem{ptr: ptr, size: size}
	a := &allocation{block: block{ptr, size}, ref: weak.Make(m)}
	be.pool.track(a)
	runtime.AddCleanup(m, be.pool.reclaim, a)
	return Buf{ptr: ptr, n: n, mem: m}
}

// scratch is temporary device memory for one op (partial sums, staged
// indices). Give it back with release as soon as the op's launches are
// queued: every later use of the block is ordered after them on the same
// stream.
func (be *Backend) scratch(bytes int64) block {
	size := sizeClass(max(bytes, 1))
	ptr, err := be.rawAlloc(size)
	if err != nil {
		panic(err)
	}
	return block{ptr, size}
}

func (be *Backend) release(b block) { be.pool.put(b) }

// dev returns the CUDA buffer behind b (a zero Buf for nil). It panics if b
// was made by another backend (a programming error, not bad input).
func dev(b kernels.Buffer) Buf {
	if b == nil {
		return Buf{}
	}
	v, ok := b.(Buf)
	if !ok {
		panic(fmt.Sprintf("cuda: buffer of type %T is not a CUDA buffer", b))
	}
	return v
}
