//go:build cudaemu && !cuda

package cuda

// emulated is true: the tests run the kernels in the host emulator, which has
// no TF32 (its products are exact FP32) and is slow, so some cases shrink.
const emulated = true

func newTestBackend() (*Backend, error) { return NewEmulator() }

func newTF32Backend() (*Backend, error) { return NewEmulator() }
