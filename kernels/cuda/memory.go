//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"

	"github.com/frontier-rl/frontier/kernels"
)

// Buf is the CUDA backend's buffer: n float32s of device memory at ptr. Views
// made with Slice point into the same allocation and keep it alive; when the
// last view is garbage collected, the memory goes back to the backend's pool
// (not to the driver), to be handed out again by a later Alloc.
type Buf struct {
	ptr devptr
	n   int
	mem *devMem
}

// Len is the number of float32 elements.
func (b Buf) Len() int { return b.n }

// Ptr is the device address of the first element.
func (b Buf) Ptr() uintptr { return uintptr(b.ptr) }

// devMem is one allocation handed out by the pool.
type devMem struct {
	ptr  devptr
	size int64
}

// block is what a cleanup returns to the pool (a copy, so that it does not
// keep the devMem alive).
type block struct {
	ptr  devptr
	size int64
}

// pool caches freed device memory by size class. Its methods only touch Go
// state, so garbage-collector cleanups may call them from any goroutine.
type pool struct {
	mu     sync.Mutex
	free   map[int64][]devptr
	cached int64 // bytes held in free
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
	return ptr, true
}

func (p *pool) put(b block) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free[b.size] = append(p.free[b.size], b.ptr)
	p.cached += b.size
}

// drain empties the pool and returns what it held.
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

// rawAlloc returns size bytes (a size class) from the pool or the driver. When
// the driver is out of memory it collects garbage, so that buffers nobody
// references return to the pool, gives the pool back to the driver and tries
// again. The context must be current.
func (be *Backend) rawAlloc(size int64) (devptr, error) {
	if ptr, ok := be.pool.get(size); ok {
		return ptr, nil
	}
	ptr, err := be.d.alloc(size)
	for attempt := 0; err != nil && attempt < 4; attempt++ {
		runtime.GC()
		time.Sleep(time.Duration(1<<attempt) * time.Millisecond) // let cleanups run
		if p, ok := be.pool.get(size); ok {
			return p, nil
		}
		be.releaseCached()
		ptr, err = be.d.alloc(size)
	}
	if err != nil {
		return 0, fmt.Errorf("cuda: allocating %d bytes: %w", size, err)
	}
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
	runtime.AddCleanup(m, be.pool.put, block{ptr, size})
	return Buf{ptr: ptr, n: n, mem: m}
}

// scratch is temporary device memory for one op (index arrays, partial sums).
// Give it back with release as soon as the op's launches are queued: every
// later use of the block is ordered after them on the same stream.
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
