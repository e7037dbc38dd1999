// Package cuda implements kernels.Backend on an NVIDIA GPU.
//
// The implementation lives behind the cuda build tag: it links the CUDA driver
// (through gorgonia.org/cu) and cuBLAS with cgo, and the cu package stops the
// process at start-up when no GPU is present, so nothing in the default build
// may import it. Build with
//
//	go build -tags cuda ./...
//
// on a machine with the CUDA toolkit (headers, libcuda and libcublas); the
// resulting binary needs an NVIDIA GPU and its driver to run. Without the tag
// this package only offers Available, which reports false, and NewBackend,
// which returns an error explaining the above.
//
// Buffers are device memory. Matrix products go through cuBLAS (row-major
// products are computed as the column-major transposed product); every other
// op is a CUDA C kernel in src/, compiled to PTX for sm_80 by go generate (the
// driver JIT-compiles it for newer GPUs) and embedded in the binary. Integer
// index slices arrive on the host and are uploaded per call. All work runs in
// order on the legacy default stream.
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
