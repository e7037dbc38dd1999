//go:build cudaemu && !cuda

package cuda

// emulated is true: the tests run the kernels in the host emulator, which is
// slow, so some cases shrink. Its TF32 products round their inputs to TF32.
const emulated = true

func newTestBackend() (*Backend, error) { return NewEmulator() }

func newTF32Backend() (*Backend, error) { return newEmulator(true), nil }

// loadCheck does nothing in the emulated build: there is no cuBLAS to load.
func loadCheck() {}
