// Package cuda implements kernels.Backend on an NVIDIA GPU.
//
// The implementation lives behind the cuda build tag: it links the CUDA
// driver (through gorgonia.org/cu) with cgo and opens cuBLAS at run time, and
// the cu package stops the process at start-up when the driver cannot start,
// so nothing in the default build may import it. Build with
//
//	go build -tags cuda ./...
//
// on a machine with the CUDA toolkit (cuda.h and libcuda); the resulting
// binary needs an NVIDIA GPU, its driver and cuBLAS to run. Without the tag
// this package only offers Available, which reports false, and NewBackend,
// which returns an error explaining the above.
//
// Buffers are device memory from a pool; the memory of a buffer nobody
// references returns to the pool at the latest at a collection the backend
// forces once it has handed out a budget of bytes (Options.GCBytes,
// Backend.Collect, Backend.MemStats). Matrix products go through cuBLAS
// (row-major products are computed as the column-major transposed product);
// every other op is a CUDA C kernel in src/, compiled to PTX for sm_80 by go
// generate (the driver JIT-compiles it for newer GPUs) and embedded in the
// binary. Integer index slices arrive on the host; each distinct one is
// uploaded once and reused by later ops while it stays among the recently
// staged. All work runs in order on the legacy default stream.
//
// cuBLAS is not linked: it is opened at run time by name (libcublas.so.13,
// .12, .11, then libcublas.so; FRONTIER_CUBLAS names another), so one binary
// runs with cuBLAS 11, 12 or 13 (see LoadCuBLAS). The binary links only the
// driver, libcuda.so.1. FRONTIER_CUDA_SYNC=1 synchronises after every op, so
// that a fault is reported by the op that caused it.
//
// The tests compare every op with the CPU backend and run the golden Qwen3
// fixtures. On a GPU: go test -tags cuda ./kernels/cuda/. Without one,
// go test -tags cudaemu ./kernels/cuda/ runs the same tests with the kernel
// sources compiled as C++ for the host and every GPU thread emulated as a
// coroutine (emu.cpp): slow, but it executes the kernels' index arithmetic,
// barriers and the backend's launch code. emu.cpp #includes src/*.cu, which
// the go build cache does not track: after editing a kernel, run the tests
// through scripts/cuda-check.sh (it keys the build on the sources' hash) or
// with go test -a.
package cuda

//go:generate sh src/gen.sh
