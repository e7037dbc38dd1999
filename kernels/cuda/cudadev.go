//go:build cuda

package cuda

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/frontier-rl/frontier/kernels"
)

//go:embed ptx/*.ptx
var ptxFiles embed.FS

// Options configure New.
type Options struct {
	// Device is the GPU ordinal.
	Device int
	// TF32 lets cuBLAS round matrix-product inputs to TF32 on tensor cores
	// (FP32 accumulation; about 1e-3 relative error instead of 1e-6).
	TF32 bool
	// Sync waits for the GPU after every kernel and checks for errors, so a
	// fault is reported by the op that caused it (slow; for debugging). The
	// environment variable FRONTIER_CUDA_SYNC=1 turns it on too.
	Sync bool
	// GCBytes bounds the device memory handed out between two collections
	// (see Backend.Collect), and so the memory held beyond what is
	// referenced: 0 means a sixteenth of the GPU's memory, at least 256 MiB;
	// negative means no bound (memory then returns to the pool only when the
	// garbage collector runs on its own, or when the driver runs out).
	GCBytes int64
}

// Available reports whether a CUDA GPU is present.
func Available() bool {
	n, err := cu.NumDevices()
	return err == nil && n > 0
}

// NewBackend returns a CUDA backend on GPU 0. Matrix products are FP32
// unless the environment variable FRONTIER_CUDA_TF32=1 allows TF32.
func NewBackend() (kernels.Backend, error) {
	be, err := New(Options{TF32: os.Getenv("FRONTIER_CUDA_TF32") == "1"})
	if err != nil {
		return nil, err
	}
	return be, nil
}

// New opens GPU opt.Device (its primary context), loads the embedded PTX
// modules, loads cuBLAS (see LoadCuBLAS) and creates a handle. The GPU must
// have compute capability 8.0 or newer (the PTX targets sm_80).
func New(opt Options) (*Backend, error) {
	if _, err := LoadCuBLAS(); err != nil {
		return nil, err
	}
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting devices: %w", err)
	}
	if opt.Device < 0 || opt.Device >= n {
		return nil, fmt.Errorf("cuda: device %d requested, %d present", opt.Device, n)
	}
	d, err := cu.GetDevice(opt.Device)
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", opt.Device, err)
	}
	major, minor, err := d.ComputeCapability()
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", opt.Device, err)
	}
	if major < 8 {
		return nil, fmt.Errorf("cuda: device %d has compute capability %d.%d; the kernels need 8.0 or newer", opt.Device, major, minor)
	}
	devName, err := d.Name()
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", opt.Device, err)
	}
	ctx, err := d.RetainPrimaryCtx()
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: retaining the primary context: %w", opt.Device, err)
	}
	gd := &gpuDevice{dev: d, ctx: ctx, fns: map[string]cu.Function{}}
	if err := gd.load(opt.TF32); err != nil {
		gd.close()
		return nil, err
	}
	name := "cuda/" + devName
	if opt.TF32 {
		name += "/tf32"
	}
	budget := opt.GCBytes
	if budget == 0 {
		budget = gd.defaultBudget()
	}
	return newBackend(gd, name, opt.TF32, opt.Sync || syncFromEnv(), max(budget, 0)), nil
}

// defaultBudget is a sixteenth of the GPU's memory, at least 256 MiB.
func (g *gpuDevice) defaultBudget() int64 {
	defer g.bind()()
	_, total, err := cu.MemInfo()
	if err != nil || total <= 0 {
		return defaultGCBudget
	}
	return max(total/16, 256<<20)
}

// CuBLASGemm calls cublasSgemm reps times in a row on the backend's handle,
// with Gemm's row-major semantics but none of its per-call work (checks,
// locking, binding the context): the direct-cuBLAS figure that benchmarks
// hold Gemm to. It does not wait for the GPU.
func (be *Backend) CuBLASGemm(transA, transB bool, m, n, k int, alpha float32, a, b kernels.Buffer, beta float32,
	c kernels.Buffer, reps int) error {
	A, B, C := dev(a), dev(b), dev(c)
	if m <= 0 || n <= 0 || k <= 0 || A.n < m*k || B.n < k*n || C.n < m*n {
		return fmt.Errorf("cuda: CuBLASGemm %dx%dx%d with buffers of %d, %d, %d elements", m, n, k, A.n, B.n, C.n)
	}
	g, ok := be.d.(*gpuDevice)
	if !ok || g.blas == nil {
		return errNoBLAS
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	defer be.enter()()
	for range reps {
		if err := g.blas.sgemm(transB, transA, n, m, k, alpha, B.ptr, ldb, A.ptr, lda, beta, C.ptr, n); err != nil {
			return fmt.Errorf("cuda: CuBLASGemm: %w", err)
		}
	}
	return nil
}

// gpuDevice is the device behind the cuda build: the CUDA driver through
// gorgonia.org/cu, on the legacy default stream, and cuBLAS.
type gpuDevice struct {
	dev  cu.Device
	ctx  cu.CUContext
	blas *blasHandle
	mods []cu.Module
	fns  map[string]cu.Function
}

// load reads the embedded modules and creates the cuBLAS handle.
func (g *gpuDevice) load(tf32 bool) error {
	defer g.bind()()
	for mod, names := range kernelModules {
		src, err := ptxFiles.ReadFile("ptx/" + mod + ".ptx")
		if err != nil {
			return fmt.Errorf("cuda: embedded module %s: %w", mod, err)
		}
		m, err := cu.LoadData(string(src))
		if err != nil {
			return fmt.Errorf("cuda: loading module %s: %w", mod, err)
		}
		g.mods = append(g.mods, m)
		for _, name := range names {
			f, err := m.Function(name)
			if err != nil {
				return fmt.Errorf("cuda: module %s: kernel %s: %w", mod, name, err)
			}
			g.fns[name] = f
		}
	}
	h, err := newBLAS(tf32)
	if err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	g.blas = h
	return nil
}

func (g *gpuDevice) bind() func() {
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(g.ctx); err != nil {
		runtime.UnlockOSThread()
		panic(fmt.Errorf("cuda: making the context current: %w", err))
	}
	return runtime.UnlockOSThread
}

func (g *gpuDevice) alloc(bytes int64) (devptr, error) {
	p, err := cu.MemAlloc(bytes)
	return devptr(p), err
}

func (g *gpuDevice) free(p devptr) error { return cu.MemFree(cu.DevicePtr(p)) }

func (g *gpuDevice) memsetD32(p devptr, v uint32, n int64) error {
	return cu.MemsetD32(cu.DevicePtr(p), v, n)
}

func (g *gpuDevice) htod(dst devptr, src unsafe.Pointer, bytes int64) error {
	return cu.MemcpyHtoD(cu.DevicePtr(dst), src, bytes)
}

func (g *gpuDevice) dtoh(dst unsafe.Pointer, src devptr, bytes int64) error {
	return cu.MemcpyDtoH(dst, cu.DevicePtr(src), bytes)
}

func (g *gpuDevice) dtod(dst, src devptr, bytes int64) error {
	return cu.MemcpyDtoD(cu.DevicePtr(dst), cu.DevicePtr(src), bytes)
}

// launch hands the slots to gorgonia.org/cu, which reads 8 bytes behind each
// parameter pointer.
func (g *gpuDevice) launch(name string, gx, gy, threads int, args []uint64) error {
	fn, ok := g.fns[name]
	if !ok {
		return fmt.Errorf("no kernel %q", name)
	}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	return fn.Launch(gx, gy, 1, threads, 1, 1, 0, cu.NoStream, params)
}

func (g *gpuDevice) sgemm(transA, transB bool, m, n, k int, alpha float32, a devptr, lda int, b devptr, ldb int, beta float32, c devptr, ldc int) error {
	return g.blas.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (g *gpuDevice) synchronize() error { return cu.Synchronize() }

// close releases cuBLAS, the modules and the primary context.
func (g *gpuDevice) close() error {
	var errs []error
	func() {
		defer g.bind()()
		if err := g.blas.close(); err != nil {
			errs = append(errs, fmt.Errorf("cuda: %w", err))
		}
		for _, m := range g.mods {
			if err := m.Unload(); err != nil {
				errs = append(errs, fmt.Errorf("cuda: unloading module: %w", err))
			}
		}
		g.mods = nil
	}()
	if err := g.dev.ReleasePrimaryCtx(); err != nil {
		errs = append(errs, fmt.Errorf("cuda: releasing the primary context: %w", err))
	}
	return errors.Join(errs...)
}
