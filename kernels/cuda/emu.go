//go:build cudaemu && !cuda

package cuda

/*
#cgo CXXFLAGS: -std=c++20 -O2
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int emu_launch(const char* name, unsigned gx, unsigned gy, unsigned threads, const uint64_t* args, int nargs,
	char* err, int errlen);
int emu_sgemm(int ta, int tb, int m, int n, int k, float alpha, uint64_t a, int lda, uint64_t b, int ldb,
	float beta, uint64_t c, int ldc, int tf32);

static uint64_t emu_alloc(int64_t bytes) { return (uint64_t)(uintptr_t)aligned_alloc(256, (size_t)bytes); }
static void emu_free(uint64_t p) { free((void *)(uintptr_t)p); }
static void emu_memset32(uint64_t p, uint32_t v, int64_t n) {
	uint32_t *d = (uint32_t *)(uintptr_t)p;
	for (int64_t i = 0; i < n; i++) d[i] = v;
}
static void emu_htod(uint64_t dst, const void *src, int64_t bytes) { memcpy((void *)(uintptr_t)dst, src, (size_t)bytes); }
static void emu_dtoh(void *dst, uint64_t src, int64_t bytes) { memcpy(dst, (const void *)(uintptr_t)src, (size_t)bytes); }
static void emu_dtod(uint64_t dst, uint64_t src, int64_t bytes) {
	memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, (size_t)bytes);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// NewEmulator returns a backend whose device is emulated on the host: the
// kernels of src/ compiled as C++ and run one GPU thread per coroutine, and a
// plain column-major product in place of cuBLAS. It exists so that the
// backend's tests can run the kernels on a machine without a GPU
// (go test -tags cudaemu ./kernels/cuda/); it is slow. FRONTIER_CUDA_SYNC=1
// turns on the per-op synchronisation, as for the GPU.
func NewEmulator() (*Backend, error) { return newEmulator(false), nil }

// newEmulator returns an emulated backend; with tf32 its products round their
// inputs to TF32 (a 10-bit mantissa, to nearest with ties away from zero)
// before multiplying in FP32, as tensor cores do.
func newEmulator(tf32 bool) *Backend {
	name := "cuda-emulator"
	if tf32 {
		name += "/tf32"
	}
	return newBackend(&emuDevice{tf32: tf32}, name, tf32, syncFromEnv(), defaultGCBudget)
}

// emuDevice is host memory standing in for device memory. The emulator's
// scheduler has global state, so launches are serialised.
type emuDevice struct{ tf32 bool }

var emuMu sync.Mutex

func (emuDevice) bind() func() { return func() {} }

func (emuDevice) alloc(bytes int64) (devptr, error) {
	p := C.emu_alloc(C.int64_t((bytes + 255) / 256 * 256))
	if p == 0 {
		return 0, errors.New("out of host memory")
	}
	return devptr(p), nil
}

func (emuDevice) free(p devptr) error { C.emu_free(C.uint64_t(p)); return nil }

func (emuDevice) memsetD32(p devptr, v uint32, n int64) error {
	C.emu_memset32(C.uint64_t(p), C.uint32_t(v), C.int64_t(n))
	return nil
}

func (emuDevice) htod(dst devptr, src unsafe.Pointer, bytes int64) error {
	C.emu_htod(C.uint64_t(dst), src, C.int64_t(bytes))
	return nil
}

func (emuDevice) dtoh(dst unsafe.Pointer, src devptr, bytes int64) error {
	C.emu_dtoh(dst, C.uint64_t(src), C.int64_t(bytes))
	return nil
}

func (emuDevice) dtod(dst, src devptr, bytes int64) error {
	C.emu_dtod(C.uint64_t(dst), C.uint64_t(src), C.int64_t(bytes))
	return nil
}

func (emuDevice) launch(name string, gx, gy, threads int, args []uint64) error {
	emuMu.Lock()
	defer emuMu.Unlock()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var msg [256]C.char
	var argp *C.uint64_t
	if len(args) > 0 {
		argp = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	if C.emu_launch(cname, C.uint(gx), C.uint(gy), C.uint(threads), argp, C.int(len(args)), &msg[0], C.int(len(msg))) != 0 {
		return fmt.Errorf("emulator: %s", C.GoString(&msg[0]))
	}
	return nil
}

func (e emuDevice) sgemm(transA, transB bool, m, n, k int, alpha float32, a devptr, lda int, b devptr, ldb int, beta float32, c devptr, ldc int) error {
	if C.emu_sgemm(cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k), C.float(alpha), C.uint64_t(a), C.int(lda),
		C.uint64_t(b), C.int(ldb), C.float(beta), C.uint64_t(c), C.int(ldc), cbool(e.tf32)) != 0 {
		return fmt.Errorf("emulated sgemm(%v, %v, m=%d, n=%d, k=%d, lda=%d, ldb=%d, ldc=%d): invalid value", transA, transB, m, n, k, lda, ldb, ldc)
	}
	return nil
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

func (emuDevice) synchronize() error { return nil }
func (emuDevice) close() error       { return nil }
