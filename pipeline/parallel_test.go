package pipeline

import (
	"testing"

	"github.com/frontier-rl/frontier/collective"
)

func TestValidateParallel(t *testing.T) {
	two := collective.Local(2)[0]
	for _, tc := range []struct {
		name   string
		comm   collective.Comm
		shards int
		ok     bool
	}{
		{"off on one process", nil, 0, true},
		{"one process, 3 shards", nil, 3, true},
		{"negative", nil, -1, false},
		{"2 ranks without shards", two, 0, false},
		{"2 ranks, 3 shards", two, 3, false},
		{"2 ranks, 4 shards", two, 4, true},
	} {
		o := &Options{Comm: tc.comm, GradShards: tc.shards}
		if err := o.validateParallel(); (err == nil) != tc.ok {
			t.Errorf("%s: error %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
}
