package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-rl/frontier/kernels/cpu"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

// TestLogitsMatchFixture writes the logits of the golden fixture's first row
// and compares them with the PyTorch reference.
func TestLogitsMatchFixture(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "qwen3-tiny", "tied")
	exp, err := weights.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	ids, shape, err := exp.Ints("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := exp.Float32("logits")
	if err != nil {
		t.Fatal(err)
	}
	T := shape[1]
	var s []string
	for _, id := range ids[:T] {
		s = append(s, fmt.Sprint(id))
	}
	out := filepath.Join(t.TempDir(), "logits.safetensors")
	if err := run([]string{"-model", dir, "-ids", strings.Join(s, " "), "-logits", out}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, gshape, err := f.Float32("logits")
	if err != nil {
		t.Fatal(err)
	}
	V := len(want) / (shape[0] * T)
	if len(gshape) != 2 || gshape[0] != T || gshape[1] != V {
		t.Fatalf("logits shape %v, want [%d %d]", gshape, T, V)
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
			t.Fatalf("logit %d: %g, want %g", i, got[i], want[i])
		}
	}
}

// TestPromptGeneration generates from a tiny directory with a trained
// tokenizer; greedy output is deterministic.
func TestPromptGeneration(t *testing.T) {
	dir := t.TempDir()
	tok, err := tokenizer.Train([]string{"s3142=1234", "3+5+2=10"}, tokenizer.TrainConfig{VocabSize: 260, Special: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.TokenID("<|endoftext|>")
	cfg := weights.Config{ModelType: "qwen3", VocabSize: tok.VocabSize(), HiddenSize: 16, IntermediateSize: 32,
		NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 8, RopeTheta: 1e4, RMSNormEps: 1e-6,
		TieWordEmbeddings: true, MaxPositionEmbeddings: 64, InitializerRange: 0.5, HiddenAct: "silu", EOSTokenID: int(eos)}
	m, _ := model.New(cfg, cpu.New(1))
	m.InitRandom(1)
	if err := m.Save(dir, weights.F32); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		if err := run([]string{"-model", dir, "-prompt", "s31=", "-max-new", "5"}, buf, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if a.String() != b.String() || a.Len() == 0 {
		t.Fatalf("greedy outputs differ or are empty: %q %q", a.String(), b.String())
	}
	var c bytes.Buffer
	if err := run([]string{"-model", dir, "-prompt", "s31=", "-max-new", "5", "-temperature", "1", "-n", "3"}, &c, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Count(c.String(), "--- sample") != 3 {
		t.Fatalf("want 3 samples:\n%s", c.String())
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-model", "x"},
		{"-model", "x", "-ids", "1 2"},
		{"-model", "no/such/dir", "-prompt", "hi"},
		{"-model", "x", "-prompt", "hi", "-device", "tpu"},
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := parseIDs("1 x 3", weights.Config{VocabSize: 10, MaxPositionEmbeddings: 8}); err == nil {
		t.Error("bad id accepted")
	}
}
