package device

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	b, err := New("cpu", 1)
	if err != nil || !strings.HasPrefix(b.Name(), "cpu/") {
		t.Fatalf("cpu: %v, %v", b, err)
	}
	if _, err := New("tpu", 0); err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Fatalf("tpu: error %v", err)
	}
}
