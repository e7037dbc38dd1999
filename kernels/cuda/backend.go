//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/frontier-rl/frontier/kernels"
)

// devptr is a device address.
type devptr uint64

// device is what the backend needs from a GPU: memory, copies, kernel
// launches on one in-order stream, and an FP32 matrix product with cuBLAS's
// column-major semantics. The cuda build implements it with the CUDA driver
// and cuBLAS; the cudaemu build (tests only) runs the same kernel sources on
// the host, one OS thread per GPU thread.
type device interface {
	// bind makes the device usable from the calling goroutine until the
	// returned function is called (the CUDA context is per OS thread).
	bind() func()
	alloc(bytes int64) (devptr, error)
	free(p devptr) error
	memsetD32(p devptr, v uint32, n int64) error
	htod(dst devptr, src unsafe.Pointer, bytes int64) error
	dtoh(dst unsafe.Pointer, src devptr, bytes int64) error
	dtod(dst, src devptr, bytes int64) error
	// launch runs kernel name on a gx×gy grid of threads-wide blocks; each
	// argument is an 8-byte slot whose low bytes hold the parameter.
	launch(name string, gx, gy, threads int, args []uint64) error
	sgemm(transA, transB bool, m, n, k int, alpha float32, a devptr, lda int, b devptr, ldb int, beta float32, c devptr, ldc int) error
	synchronize() error
	close() error
}

// Backend is the CUDA implementation of kernels.Backend. Its methods may be
// called from any goroutine: each one takes the backend's lock and binds the
// device (the CUDA context) to its OS thread. Driver and cuBLAS errors panic,
// as misuse of the CPU backend does.
type Backend struct {
	mu       sync.Mutex
	d        device
	pool     *pool
	idx      indexCache
	name     string
	tf32     bool
	sync     bool
	gcBudget int64 // bytes handed out between forced collections; 0: no bound
	closed   bool
}

var _ kernels.Backend = (*Backend)(nil)

// kernelModules lists the kernels of each PTX module (src/<module>.cu).
var kernelModules = map[string][]string{
	"elementwise": {"axpy", "scale", "swiglu", "swiglu_bwd", "adamw"},
	"reduce":      {"sumsq_partial", "sumsq_final"},
	"norm":        {"rmsnorm_fwd", "rmsnorm_bwd_dx", "rmsnorm_bwd_dw_part", "rmsnorm_bwd_dw_sum"},
	"rope":        {"rope"},
	"embedding":   {"embed_fwd", "embed_bwd", "kv_write"},
	"softmax":     {"token_logprobs", "token_logprobs_bwd"},
	"attention":   {"attn_fwd", "attn_cached", "attn_bwd_delta", "attn_bwd_dq", "attn_bwd_dkv"},
}

// defaultGCBudget bounds the bytes handed out between forced collections
// when the GPU's memory size is not known.
const defaultGCBudget = 1 << 30

func newBackend(d device, name string, tf32, syncEach bool, gcBudget int64) *Backend {
	return &Backend{d: d, pool: newPool(), name: name, tf32: tf32, sync: syncEach, gcBudget: gcBudget}
}

// syncFromEnv reports whether FRONTIER_CUDA_SYNC=1 asks for a
// synchronisation after every op.
func syncFromEnv() bool { return os.Getenv("FRONTIER_CUDA_SYNC") == "1" }

// Close waits for the GPU and releases cuBLAS, the modules, the pooled memory
// and the context. Buffers still referenced become invalid.
func (be *Backend) Close() error {
	if be.closed {
		return nil
	}
	var errs []error
	func() {
		defer be.enter()()
		if err := be.d.synchronize(); err != nil {
			errs = append(errs, fmt.Errorf("cuda: synchronize: %w", err))
		}
		be.idx.clear(be)
		be.releaseCached()
	}()
	if err := be.d.close(); err != nil {
		errs = append(errs, err)
	}
	be.closed = true
	if len(errs) > 0 {
		return fmt.Errorf("cuda: close: %v", errs)
	}
	return nil
}

// TF32 reports whether matrix products may use TF32.
func (be *Backend) TF32() bool { return be.tf32 }

// Name reports the backend and its device, e.g. "cuda/NVIDIA H100 80GB HBM3".
func (be *Backend) Name() string { return be.name }

// Synchronize waits until every queued operation has finished.
func (be *Backend) Synchronize() error {
	defer be.enter()()
	if err := be.d.synchronize(); err != nil {
		return fmt.Errorf("cuda: synchronize: %w", err)
	}
	return nil
}

// enter locks the backend and binds the device to the calling goroutine's
// thread; call the returned function to undo it.
func (be *Backend) enter() func() {
	be.mu.Lock()
	unbind := be.d.bind()
	return func() {
		unbind()
		be.mu.Unlock()
	}
}

// launch queues a kernel on a grid of gx·gy blocks of `threads` threads.
// Arguments are Buf or devptr (pointer parameters), int32 (int), int64
// (long long) or float32 (float). Each is widened into an 8-byte slot; the
// driver takes the parameter's own size from the slot's low bytes
// (little-endian).
func (be *Backend) launch(name string, gx, gy, threads int, args ...any) {
	if gx <= 0 || gy <= 0 {
		return
	}
	if gy > 65535 {
		panic(fmt.Sprintf("cuda: %s: grid y dimension %d exceeds 65535", name, gy))
	}
	slots := make([]uint64, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case Buf:
			slots[i] = uint64(v.ptr)
		case devptr:
			slots[i] = uint64(v)
		case int32:
			slots[i] = uint64(uint32(v))
		case int64:
			slots[i] = uint64(v)
		case float32:
			slots[i] = uint64(math.Float32bits(v))
		default:
			panic(fmt.Sprintf("cuda: %s: argument %d has unsupported type %T", name, i, a))
		}
	}
	if err := be.d.launch(name, gx, gy, threads, slots); err != nil {
		panic(fmt.Errorf("cuda: launching %s (grid %dx%d, %d threads): %w", name, gx, gy, threads, err))
	}
	if be.sync {
		if err := be.d.synchronize(); err != nil {
			panic(fmt.Errorf("cuda: %s (grid %dx%d, %d threads): %w", name, gx, gy, threads, err))
		}
	}
}

// i32 converts a size or index to a kernel int, panicking if it does not fit.
func i32(v int) int32 {
	if v < math.MinInt32 || v > math.MaxInt32 {
		panic(fmt.Sprintf("cuda: %d does not fit a 32-bit kernel argument", v))
	}
	return int32(v)
}

// threadsFor picks a block size for a row of w elements: a multiple of 32
// between 32 and 256.
func threadsFor(w int) int {
	return min(256, max(32, (w+31)/32*32))
}

// gridFor is the block count of a grid-stride loop over n elements with
// 256-thread blocks.
func gridFor(n int) int {
	return min((n+255)/256, 1<<16)
}

func (be *Backend) Alloc(n int) kernels.Buffer {
	defer be.enter()()
	return be.alloc(n)
}

func (be *Backend) Slice(b kernels.Buffer, off, n int) kernels.Buffer {
	v := dev(b)
	if off < 0 || n < 0 || off+n > v.n {
		panic(fmt.Sprintf("cuda: Slice [%d:%d] of a buffer of %d elements", off, off+n, v.n))
	}
	return Buf{ptr: v.ptr + devptr(off*4), n: n, mem: v.mem}
}

func (be *Backend) Upload(dst kernels.Buffer, src []float32) {
	d := dev(dst)
	if len(src) > d.n {
		panic(fmt.Sprintf("cuda: Upload of %d elements into %d", len(src), d.n))
	}
	if len(src) == 0 {
		return
	}
	defer be.enter()()
	if err := be.d.htod(d.ptr, unsafe.Pointer(&src[0]), int64(len(src))*4); err != nil {
		panic(fmt.Errorf("cuda: Upload of %d elements: %w", len(src), err))
	}
	runtime.KeepAlive(d.mem)
}

func (be *Backend) Download(dst []float32, src kernels.Buffer) {
	s := dev(src)
	if len(dst) > s.n {
		panic(fmt.Sprintf("cuda: Download of %d elements from %d", len(dst), s.n))
	}
	if len(dst) == 0 {
		return
	}
	defer be.enter()()
	if err := be.d.dtoh(unsafe.Pointer(&dst[0]), s.ptr, int64(len(dst))*4); err != nil {
		panic(fmt.Errorf("cuda: Download of %d elements: %w", len(dst), err))
	}
	runtime.KeepAlive(s.mem)
}

func (be *Backend) Copy(dst, src kernels.Buffer) {
	d, s := dev(dst), dev(src)
	if d.n != s.n {
		panic(fmt.Sprintf("cuda: Copy of %d elements into %d", s.n, d.n))
	}
	if d.n == 0 {
		return
	}
	defer be.enter()()
	if err := be.d.dtod(d.ptr, s.ptr, int64(d.n)*4); err != nil {
		panic(fmt.Errorf("cuda: Copy of %d elements: %w", d.n, err))
	}
}

func (be *Backend) Fill(dst kernels.Buffer, v float32) {
	d := dev(dst)
	if d.n == 0 {
		return
	}
	defer be.enter()()
	if err := be.d.memsetD32(d.ptr, math.Float32bits(v), int64(d.n)); err != nil {
		panic(fmt.Errorf("cuda: Fill of %d elements: %w", d.n, err))
	}
}

// Index arrays (token ids, positions, cu_seqlens-derived segment bounds,
// cache slots) arrive on the host with every op, and the model passes the
// same ones to every layer. stage uploads each distinct array once: it keeps
// the most recently staged ones on the device with a host copy of their
// contents, and an op whose arrays equal a staged entry (compared on the
// host) reuses it without a copy. A forward pass thus copies its positions
// and segment bounds once, not once per layer and op.
const (
	maxStaged      = 16       // entries kept
	maxStagedBytes = 64 << 20 // bytes kept, beyond the newest entry
)

// stagedIndex is one upload: the parts of one op, concatenated.
type stagedIndex struct {
	lens []int   // length of each part
	host []int32 // the parts' contents, concatenated
	blk  block
}

// indexCache holds the staged index arrays, least recently used first.
type indexCache struct {
	entries []*stagedIndex
	bytes   int64
	uploads int // host-to-device copies made, for tests
}

// matches reports whether e holds exactly parts.
func (e *stagedIndex) matches(parts [][]int32) bool {
	if len(e.lens) != len(parts) {
		return false
	}
	off := 0
	for i, p := range parts {
		if e.lens[i] != len(p) || !slices.Equal(e.host[off:off+len(p)], p) {
			return false
		}
		off += len(p)
	}
	return true
}

// ptrs returns the device address of each part.
func (e *stagedIndex) ptrs() []devptr {
	out := make([]devptr, len(e.lens))
	off := 0
	for i, n := range e.lens {
		out[i] = e.blk.ptr + devptr(off*4)
		off += n
	}
	return out
}

// stage returns the device addresses of index slices, in order, uploading
// them unless an identical set is staged already. The addresses stay valid
// until a later stage evicts the entry, so use them only for the launches of
// the op at hand. The context must be current.
func (be *Backend) stage(parts ...[]int32) []devptr {
	c := &be.idx
	for i := len(c.entries) - 1; i >= 0; i-- {
		if e := c.entries[i]; e.matches(parts) {
			c.entries = append(append(c.entries[:i], c.entries[i+1:]...), e)
			return e.ptrs()
		}
	}
	e := &stagedIndex{lens: make([]int, len(parts))}
	for i, p := range parts {
		e.lens[i] = len(p)
		e.host = append(e.host, p...)
	}
	e.blk = be.scratch(int64(max(len(e.host), 1)) * 4)
	if len(e.host) > 0 {
		if err := be.d.htod(e.blk.ptr, unsafe.Pointer(&e.host[0]), int64(len(e.host))*4); err != nil {
			be.release(e.blk)
			panic(fmt.Errorf("cuda: staging %d indices: %w", len(e.host), err))
		}
		c.uploads++
	}
	c.entries = append(c.entries, e)
	c.bytes += e.blk.size
	for len(c.entries) > 1 && (len(c.entries) > maxStaged || c.bytes > maxStagedBytes) {
		old := c.entries[0]
		c.entries = c.entries[1:]
		c.bytes -= old.blk.size
		be.release(old.blk) // later uses are ordered after the launches that read it
	}
	return e.ptrs()
}

// clear returns every staged block to the pool.
func (c *indexCache) clear(be *Backend) {
	for _, e := range c.entries {
		be.release(e.blk)
	}
	c.entries, c.bytes = nil, 0
}
