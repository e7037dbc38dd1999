//go:build cuda

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// cuBLAS is opened at run time with dlopen, so the binary records no
// dependency on one libcublas.so version and refers to none of its symbols.
// The entry points below have had these C signatures since cuBLAS 11 and
// still have them in 13; cublasHandle_t is an opaque pointer and every enum
// is an int. The numeric constants used from Go are those of cublas_api.h
// and library_types.h.
typedef void *frontier_blas_handle;
typedef int (*frontier_create_fn)(frontier_blas_handle *);
typedef int (*frontier_destroy_fn)(frontier_blas_handle);
typedef int (*frontier_set_math_mode_fn)(frontier_blas_handle, int);
typedef int (*frontier_get_property_fn)(int, int *);
typedef int (*frontier_sgemm_fn)(frontier_blas_handle, int, int, int, int, int, const float *, const float *, int,
	const float *, int, const float *, float *, int);

// The symbol names, in the order of frontier_blas_fns.
static const char *const frontier_blas_names[] = {
	"cublasCreate_v2", "cublasDestroy_v2", "cublasSetMathMode", "cublasGetProperty", "cublasSgemm_v2",
};
enum { FRONTIER_BLAS_NFNS = 5 };
static void *frontier_blas_fns[FRONTIER_BLAS_NFNS];

// frontier_blas_open opens name and resolves every entry point. It returns
// -2 when dlopen fails (see dlerror), the index of the first missing symbol,
// or -1 on success.
static int frontier_blas_open(const char *name) {
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) return -2;
	for (int i = 0; i < FRONTIER_BLAS_NFNS; i++) {
		void *f = dlsym(lib, frontier_blas_names[i]);
		if (f == NULL) {
			dlclose(lib);
			return i;
		}
		frontier_blas_fns[i] = f;
	}
	return -1;
}

static const char *frontier_dlerror(void) {
	const char *e = dlerror();
	return e ? e : "unknown dlopen error";
}

static const char *frontier_blas_name(int i) { return frontier_blas_names[i]; }

static int frontier_blas_create(frontier_blas_handle *h) { return ((frontier_create_fn)frontier_blas_fns[0])(h); }
static int frontier_blas_destroy(frontier_blas_handle h) { return ((frontier_destroy_fn)frontier_blas_fns[1])(h); }
static int frontier_blas_set_math_mode(frontier_blas_handle h, int mode) {
	return ((frontier_set_math_mode_fn)frontier_blas_fns[2])(h, mode);
}
static int frontier_blas_get_property(int what, int *v) { return ((frontier_get_property_fn)frontier_blas_fns[3])(what, v); }

// Device addresses cross from Go as integers and become pointers only here.
static int frontier_sgemm(frontier_blas_handle h, int ta, int tb, int m, int n, int k, float alpha,
		uint64_t a, int lda, uint64_t b, int ldb, float beta, uint64_t c, int ldc) {
	return ((frontier_sgemm_fn)frontier_blas_fns[4])(h, ta, tb, m, n, k, &alpha, (const float *)(uintptr_t)a, lda,
		(const float *)(uintptr_t)b, ldb, &beta, (float *)(uintptr_t)c, ldc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// Constants of cublas_api.h and library_types.h (the same in cuBLAS 11-13).
const (
	blasOpN          = 0 // CUBLAS_OP_N
	blasOpT          = 1 // CUBLAS_OP_T
	blasDefaultMath  = 0 // CUBLAS_DEFAULT_MATH
	blasTF32Math     = 3 // CUBLAS_TF32_TENSOR_OP_MATH
	propMajorVersion = 0 // MAJOR_VERSION
	propMinorVersion = 1 // MINOR_VERSION
	propPatchLevel   = 2 // PATCH_LEVEL
)

// cublasNames are the libraries tried, newest first. FRONTIER_CUBLAS, when
// set, names the one library to open (a file name or a path).
var cublasNames = []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}

// cublasDirs are searched after the dynamic loader's own path (LD_LIBRARY_PATH,
// the ld.so cache, the default directories) fails: where NVIDIA's installer
// puts the toolkit.
var cublasDirs = []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/targets/sbsa-linux/lib"}

// CuBLASInfo names the cuBLAS library the process loaded.
type CuBLASInfo struct {
	Library             string // the name or path given to dlopen
	Major, Minor, Patch int    // cublasGetProperty
}

func (i CuBLASInfo) String() string {
	return fmt.Sprintf("cuBLAS %d.%d.%d (%s)", i.Major, i.Minor, i.Patch, i.Library)
}

// LoadCuBLAS opens cuBLAS, once per process, and reports which library it
// found: FRONTIER_CUBLAS if set, else libcublas.so.13, .12, .11, then
// libcublas.so, through the dynamic loader's search path and then the
// toolkit's usual directories. It needs no GPU.
func LoadCuBLAS() (CuBLASInfo, error) { return loadOnce() }

var loadOnce = sync.OnceValues(loadCuBLAS)

func loadCuBLAS() (CuBLASInfo, error) {
	candidates := cublasNames
	if env := os.Getenv("FRONTIER_CUBLAS"); env != "" {
		candidates = []string{env}
	} else {
		for _, d := range cublasDirs {
			for _, n := range cublasNames {
				candidates = append(candidates, filepath.Join(d, n))
			}
		}
	}
	var tried []string
	for _, name := range candidates {
		cname := C.CString(name)
		r := C.frontier_blas_open(cname)
		C.free(unsafe.Pointer(cname))
		switch {
		case r == -1:
			info := CuBLASInfo{Library: name}
			for _, p := range []struct {
				what C.int
				dst  *int
			}{{propMajorVersion, &info.Major}, {propMinorVersion, &info.Minor}, {propPatchLevel, &info.Patch}} {
				var v C.int
				if st := C.frontier_blas_get_property(p.what, &v); st != 0 {
					return CuBLASInfo{}, fmt.Errorf("cuda: %s: cublasGetProperty(%d): %s", name, int(p.what), blasStatus(st))
				}
				*p.dst = int(v)
			}
			if info.Major < 11 {
				return CuBLASInfo{}, fmt.Errorf("cuda: %s is %v; cuBLAS 11 or newer is needed", name, info)
			}
			return info, nil
		case r == -2:
			tried = append(tried, C.GoString(C.frontier_dlerror()))
		default:
			return CuBLASInfo{}, fmt.Errorf("cuda: %s lacks %s; cuBLAS 11 or newer is needed", name, C.GoString(C.frontier_blas_name(r)))
		}
	}
	return CuBLASInfo{}, fmt.Errorf("cuda: cuBLAS not found (set FRONTIER_CUBLAS or LD_LIBRARY_PATH): %s",
		strings.Join(tried, "; "))
}

// blasHandle is a cuBLAS handle bound to the backend's context. It works on
// the legacy default stream, like every kernel of the backend.
type blasHandle struct {
	h C.frontier_blas_handle
}

// newBLAS loads cuBLAS if needed and creates a handle in the current
// context; tf32 lets cuBLAS use TF32 tensor cores for FP32 products (inputs
// rounded to a 10-bit mantissa, FP32 accumulation).
func newBLAS(tf32 bool) (*blasHandle, error) {
	if _, err := LoadCuBLAS(); err != nil {
		return nil, err
	}
	var h C.frontier_blas_handle
	if st := C.frontier_blas_create(&h); st != 0 {
		return nil, fmt.Errorf("cublasCreate: %s", blasStatus(st))
	}
	mode := C.int(blasDefaultMath)
	if tf32 {
		mode = blasTF32Math
	}
	if st := C.frontier_blas_set_math_mode(h, mode); st != 0 {
		C.frontier_blas_destroy(h)
		return nil, fmt.Errorf("cublasSetMathMode: %s", blasStatus(st))
	}
	return &blasHandle{h: h}, nil
}

func (b *blasHandle) close() error {
	if b == nil || b.h == nil {
		return nil
	}
	st := C.frontier_blas_destroy(b.h)
	b.h = nil
	if st != 0 {
		return fmt.Errorf("cublasDestroy: %s", blasStatus(st))
	}
	return nil
}

// sgemm is cublasSgemm on column-major matrices given by device address.
func (b *blasHandle) sgemm(transA, transB bool, m, n, k int, alpha float32, a devptr, lda int,
	bm devptr, ldb int, beta float32, c devptr, ldc int) error {
	st := C.frontier_sgemm(b.h, blasOp(transA), blasOp(transB), C.int(m), C.int(n), C.int(k), C.float(alpha),
		C.uint64_t(a), C.int(lda), C.uint64_t(bm), C.int(ldb), C.float(beta), C.uint64_t(c), C.int(ldc))
	if st != 0 {
		return fmt.Errorf("cublasSgemm(%v, %v, m=%d, n=%d, k=%d): %s", transA, transB, m, n, k, blasStatus(st))
	}
	return nil
}

func blasOp(trans bool) C.int {
	if trans {
		return blasOpT
	}
	return blasOpN
}

// blasStatus names a cublasStatus_t.
func blasStatus(st C.int) string {
	switch st {
	case 1:
		return "not initialized"
	case 3:
		return "allocation failed"
	case 7:
		return "invalid value"
	case 8:
		return "architecture mismatch"
	case 11:
		return "mapping error"
	case 13:
		return "execution failed"
	case 14:
		return "internal error"
	case 15:
		return "not supported"
	case 16:
		return "license error"
	}
	return fmt.Sprintf("status %d", int(st))
}

// errNoBLAS is returned by CuBLASGemm on a backend without a handle.
var errNoBLAS = errors.New("cuda: the backend has no cuBLAS handle")
