package gdro

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// allocator is what RolloutGDRO and SqrtAllocator share for plotting.
type allocator interface {
	Choose(counts map[int]int, n int) (map[int]int, error)
	LastCounts() []int
	LastRollouts() []int
	json.Marshaler
	json.Unmarshaler
}

// The last allocation is readable per bin, as copies, and survives a
// save and restore.
func TestLastAllocation(t *testing.T) {
	fresh := []struct {
		name string
		new  func() allocator
	}{
		{"rollout-gdro", func() allocator { return mustRollout(t, DefaultRolloutConfig(), 3) }},
		{"sqrt", func() allocator { return mustSqrt(t, DefaultSqrtConfig(), 3) }},
	}
	for _, f := range fresh {
		a := f.new()
		if a.LastCounts() != nil || a.LastRollouts() != nil {
			t.Errorf("%s: allocation %v %v before the first Choose, want nil", f.name, a.LastCounts(), a.LastRollouts())
		}
		if _, err := a.Choose(map[int]int{0: 3, 2: 1}, 4); err != nil {
			t.Fatal(err)
		}
		wantC, wantN := []int{3, 0, 1}, []int{4, 0, 4} // a fresh controller gives n̄
		if !slices.Equal(a.LastCounts(), wantC) || !slices.Equal(a.LastRollouts(), wantN) {
			t.Errorf("%s: counts %v rollouts %v, want %v %v", f.name, a.LastCounts(), a.LastRollouts(), wantC, wantN)
		}
		a.LastCounts()[0], a.LastRollouts()[0] = 99, 99
		if a.LastCounts()[0] != 3 || a.LastRollouts()[0] != 4 {
			t.Errorf("%s: the accessors return the controller's own slices", f.name)
		}
		data, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b := f.new()
		if err := b.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.LastCounts(), wantC) || !slices.Equal(b.LastRollouts(), wantN) {
			t.Errorf("%s: restored counts %v rollouts %v, want %v %v", f.name, b.LastCounts(), b.LastRollouts(), wantC, wantN)
		}
	}
}

func TestUnmarshalRejectsBadLastAllocation(t *testing.T) {
	tests := []struct {
		name, last, want string
	}{
		{"short", `"last_counts":[1],"last_rollouts":[4]`, "want 2 of each"},
		{"one missing", `"last_counts":[1,1]`, "want 2 of each"},
		{"negative count", `"last_counts":[-1,1],"last_rollouts":[0,4]`, "-1 prompts"},
		{"arm out of range", `"last_counts":[1,1],"last_rollouts":[4,13]`, "outside [2, 12]"},
		{"rollouts without prompts", `"last_counts":[0,1],"last_rollouts":[4,4]`, "no prompts but 4"},
	}
	for _, tt := range tests {
		rollout := `{"config":{"n_min":2,"n_max":12,"n_bar":4,"sign":"code"},"scores":[[0,0,0,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0,0,0,0]],"mu":0,` + tt.last + `}`
		sqrt := `{"config":{"n_min":2,"n_max":12,"n_bar":4,"beta":0.4,"eps":0.01},"variances":[0,0],"seen":[false,false],` + tt.last + `}`
		if err := new(RolloutGDRO).UnmarshalJSON([]byte(rollout)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("rollout-gdro, %s: error %v, want %q", tt.name, err, tt.want)
		}
		if err := new(SqrtAllocator).UnmarshalJSON([]byte(sqrt)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("sqrt, %s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// Occupancy counts the observed prompts per bin.
func TestClassifierOccupancy(t *testing.T) {
	c := mustClassifier(t, ClassifierConfig{Edges: []float64{0.25, 0.5, 0.75}, Window: 1})
	if got := c.Occupancy(); !slices.Equal(got, []int{0, 0, 0, 0}) {
		t.Errorf("empty classifier: occupancy %v", got)
	}
	for id, v := range map[string]float64{"a": 0, "b": 0.3, "c": 0.3, "d": 1, "e": 0.6} {
		if err := c.Observe(id, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Occupancy(); !slices.Equal(got, []int{1, 2, 1, 1}) {
		t.Errorf("occupancy %v, want [1 2 1 1]", got)
	}
	if err := c.Observe("d", 0.1); err != nil {
		t.Fatal(err)
	}
	if got := c.Occupancy(); !slices.Equal(got, []int{2, 2, 1, 0}) {
		t.Errorf("after a move, occupancy %v, want [2 2 1 0]", got)
	}
}
