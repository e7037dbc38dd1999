//go:build cuda

package cuda

import (
	"fmt"
	"os"
	"testing"

	"gorgonia.org/cu"
)

// emulated is false: the tests run on a GPU.
const emulated = false

func newTestBackend() (*Backend, error) { return New(Options{}) }

func newTF32Backend() (*Backend, error) { return New(Options{TF32: true}) }

// loadCheck, when FRONTIER_CUDA_LOADCHECK=1, loads cuBLAS by name, prints
// which library it found and the driver's CUDA version, and ends the test
// binary (status 0 if cuBLAS loaded, 1 if not) before any GPU is touched:
// it proves that the binary starts and finds cuBLAS where it runs.
func loadCheck() {
	if os.Getenv("FRONTIER_CUDA_LOADCHECK") != "1" {
		return
	}
	info, err := LoadCuBLAS()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cuda load check:", err)
		os.Exit(1)
	}
	fmt.Printf("cuda load check: %v loaded; CUDA driver version %d\n", info, cu.Version())
	os.Exit(0)
}

// TestCuBLASLoaded reports the cuBLAS library the tests run with.
func TestCuBLASLoaded(t *testing.T) {
	info, err := LoadCuBLAS()
	if err != nil {
		t.Fatal(err)
	}
	if info.Major < 11 {
		t.Fatalf("%v: want 11 or newer", info)
	}
	t.Logf("%v", info)
}
