//go:build cuda

package cuda

// emulated is false: the tests run on a GPU.
const emulated = false

func newTestBackend() (*Backend, error) { return New(Options{}) }

func newTF32Backend() (*Backend, error) { return New(Options{TF32: true}) }
