//go:build cuda

package collective

import (
	"strings"
	"testing"
)

// TestNCCLOpens joins a world of one: without libnccl.so.2 (no GPU
// machine) it must fail with an error that says how to get it.
func TestNCCLOpens(t *testing.T) {
	n, err := NewNCCL(Single{})
	if err != nil {
		if !strings.Contains(err.Error(), "NCCL") {
			t.Fatalf("error %q does not name NCCL", err)
		}
		t.Skipf("no NCCL here: %v", err)
	}
	defer n.Close()
	if n.Rank() != 0 || n.Size() != 1 {
		t.Fatalf("rank %d size %d", n.Rank(), n.Size())
	}
}
