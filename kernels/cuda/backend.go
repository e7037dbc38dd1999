//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"runtime"
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
	mu     sync.Mutex
	d      device
	pool   *pool
	name   string
	tf32   bool
	sync   bool
	closed bool
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

func newBackend(d device, name string, tf32, syncEach bool) *Backend {
	return &Backend{d: d, pool: &pool{free: map[int64][]devptr{}}, name: name, tf32: tf32, sync: syncEach}
}

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

// uploadInts copies index slices into one scratch block and returns their
// device addresses, in order. Release the block after the launches that read it.
func (be *Backend) uploadInts(parts ...[]int32) (block, []devptr) {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	host := make([]int32, 0, total)
	for _, p := range parts {
		host = append(host, p...)
	}
	blk := be.scratch(int64(max(total, 1)) * 4)
	if total > 0 {
		if err := be.d.htod(blk.ptr, unsafe.Pointer(&host[0]), int64(total)*4); err != nil {
			be.release(blk)
			panic(fmt.Errorf("cuda: uploading %d indices: %w", total, err))
		}
	}
	ptrs := make([]devptr, len(parts))
	off := 0
	for i, p := range parts {
		ptrs[i] = blk.ptr + devptr(off*4)
		off += len(p)
	}
	return blk, ptrs
}
