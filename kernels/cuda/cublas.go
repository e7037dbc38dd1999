//go:build cuda

package cuda

/*
#cgo CFLAGS: -I/usr/local/cuda/include
#cgo LDFLAGS: -L/usr/local/cuda/lib64 -lcublas
#include <stdint.h>
#include <cublas_v2.h>

// Device addresses cross from Go as integers and become pointers only here.
static cublasStatus_t frontier_sgemm(cublasHandle_t h, int ta, int tb, int m, int n, int k, float alpha,
		uint64_t a, int lda, uint64_t b, int ldb, float beta, uint64_t c, int ldc) {
	return cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
		&alpha, (const float *)(uintptr_t)a, lda, (const float *)(uintptr_t)b, ldb,
		&beta, (float *)(uintptr_t)c, ldc);
}
*/
import "C"

import "fmt"

// blasHandle is a cuBLAS handle bound to the backend's context. It works on
// the legacy default stream, like every kernel of the backend.
//
// The handle is driven through a few lines of cgo rather than through
// gorgonia.org/cu/blas: that package takes Go slices (device memory would have
// to be disguised as a slice) and does not expose the math mode, so TF32
// could not be turned on.
type blasHandle struct {
	h C.cublasHandle_t
}

// newBLAS creates a handle in the current context; tf32 lets cuBLAS use TF32
// tensor cores for FP32 products (10-bit mantissa inputs, FP32 accumulation).
func newBLAS(tf32 bool) (*blasHandle, error) {
	var h C.cublasHandle_t
	if st := C.cublasCreate(&h); st != C.CUBLAS_STATUS_SUCCESS {
		return nil, fmt.Errorf("cublasCreate: %s", blasStatus(st))
	}
	mode := C.cublasMath_t(C.CUBLAS_DEFAULT_MATH)
	if tf32 {
		mode = C.CUBLAS_TF32_TENSOR_OP_MATH
	}
	if st := C.cublasSetMathMode(h, mode); st != C.CUBLAS_STATUS_SUCCESS {
		C.cublasDestroy(h)
		return nil, fmt.Errorf("cublasSetMathMode: %s", blasStatus(st))
	}
	return &blasHandle{h: h}, nil
}

func (b *blasHandle) close() error {
	if b == nil || b.h == nil {
		return nil
	}
	st := C.cublasDestroy(b.h)
	b.h = nil
	if st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("cublasDestroy: %s", blasStatus(st))
	}
	return nil
}

// sgemm is cublasSgemm on column-major matrices given by device address.
func (b *blasHandle) sgemm(transA, transB bool, m, n, k int, alpha float32, a devptr, lda int,
	bm devptr, ldb int, beta float32, c devptr, ldc int) error {
	st := C.frontier_sgemm(b.h, cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k), C.float(alpha),
		C.uint64_t(a), C.int(lda), C.uint64_t(bm), C.int(ldb), C.float(beta), C.uint64_t(c), C.int(ldc))
	if st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("cublasSgemm(%v, %v, m=%d, n=%d, k=%d): %s", transA, transB, m, n, k, blasStatus(st))
	}
	return nil
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

func blasStatus(st C.cublasStatus_t) string {
	switch st {
	case C.CUBLAS_STATUS_NOT_INITIALIZED:
		return "not initialized"
	case C.CUBLAS_STATUS_ALLOC_FAILED:
		return "allocation failed"
	case C.CUBLAS_STATUS_INVALID_VALUE:
		return "invalid value"
	case C.CUBLAS_STATUS_ARCH_MISMATCH:
		return "architecture mismatch"
	case C.CUBLAS_STATUS_MAPPING_ERROR:
		return "mapping error"
	case C.CUBLAS_STATUS_EXECUTION_FAILED:
		return "execution failed"
	case C.CUBLAS_STATUS_INTERNAL_ERROR:
		return "internal error"
	case C.CUBLAS_STATUS_NOT_SUPPORTED:
		return "not supported"
	}
	return fmt.Sprintf("status %d", int(st))
}
