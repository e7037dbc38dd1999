package tokenizer

import "testing"

func TestMergeTable(t *testing.T) {
	const n = 1000
	m := newMergeTable(n)
	for i := range int32(n) {
		m.set(pairKey(i%37, i), merge{rank: i, result: -i})
	}
	m.set(pairKey(0, 0), merge{rank: 7, result: 8}) // replaces rank 0
	for i := range int32(n) {
		want := merge{rank: i, result: -i}
		if i == 0 {
			want = merge{rank: 7, result: 8}
		}
		if got, ok := m.get(pairKey(i%37, i)); !ok || got != want {
			t.Fatalf("get(%d, %d) = %v, %t; want %v", i%37, i, got, ok, want)
		}
		if _, ok := m.get(pairKey(i, i%37+1000)); ok {
			t.Fatalf("get of a missing pair (%d, %d) succeeded", i, i%37+1000)
		}
	}
	empty := newMergeTable(0)
	if _, ok := empty.get(0); ok {
		t.Fatal("empty table found a pair")
	}
}
