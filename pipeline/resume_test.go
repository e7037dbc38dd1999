package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corrupt returns a change to a run directory that damages one file of
// checkpoint name: truncated to half, or replaced by content.
func corrupt(name, file, content string) func(t *testing.T, run string) {
	return func(t *testing.T, run string) {
		t.Helper()
		path := filepath.Join(run, name, file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if content == "" {
			b = b[:len(b)/2]
		} else {
			b = []byte(content)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResumeFallback: a corrupt latest checkpoint makes -resume fall back
// to the previous kept one, saying which file was bad and where it resumes
// from, and the run then finishes; with no usable checkpoint it says what
// to do and changes nothing.
func TestResumeFallback(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	mustRunStop(t, context.Background(), tinyArgs(base), func(phase string, step int) bool { return phase == "rl" && step == 3 })
	for _, tc := range []struct {
		name   string
		damage []func(t *testing.T, run string)
		want   []string // in the log, or in the error when fail
		fail   bool
	}{
		{"truncated model.safetensors", []func(*testing.T, string){corrupt("checkpoint-rl-3", "model.safetensors", "")},
			[]string{"checkpoint-rl-3 is unusable", "model.safetensors", "falling back to the previous checkpoint", "checkpoint-rl-2", "moved the unusable"}, false},
		{"bad trainer_state.json", []func(*testing.T, string){corrupt("checkpoint-rl-3", "trainer_state.json", "{\"phase\": ")},
			[]string{"checkpoint-rl-3 is unusable", "trainer_state.json", "falling back to the previous checkpoint", "checkpoint-rl-2"}, false},
		{"truncated optimizer.safetensors", []func(*testing.T, string){corrupt("checkpoint-rl-3", "optimizer.safetensors", "")},
			[]string{"optimizer.safetensors", "falling back to the previous checkpoint"}, false},
		{"latest names nothing", []func(*testing.T, string){func(t *testing.T, run string) {
			os.WriteFile(filepath.Join(run, "latest"), []byte("checkpoint-rl-9\n"), 0o644)
		}}, []string{"not complete", "falling back to the previous checkpoint", "checkpoint-rl-3"}, false},
		{"every checkpoint corrupt", []func(*testing.T, string){
			corrupt("checkpoint-rl-3", "model.safetensors", ""), corrupt("checkpoint-rl-2", "trainer_state.json", "x")},
			[]string{"no usable checkpoint", "checkpoint-rl-3:", "checkpoint-rl-2:", "start it again with the same flags"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "t")
			if err := os.CopyFS(run, os.DirFS(filepath.Join(base, "t"))); err != nil {
				t.Fatal(err)
			}
			for _, d := range tc.damage {
				d(t, run)
			}
			before := treeSnapshot(t, run)
			o, err := ParseFlags([]string{"-resume", run}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			err = Run(context.Background(), o, &log)
			text := log.String()
			if tc.fail {
				if err == nil {
					t.Fatalf("no error; log:\n%s", text)
				}
				text = err.Error()
				if after := treeSnapshot(t, run); after != before {
					t.Error("a failed resume changed the run directory")
				}
			} else if err != nil {
				t.Fatalf("resume: %v\n%s", err, text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q missing from:\n%s", w, text)
				}
			}
			if !tc.fail {
				if got := readLines(t, filepath.Join(run, "metrics.jsonl")); len(got) != 4 {
					t.Errorf("%d metrics lines after the resumed run, want 4", len(got))
				}
			}
		})
	}
}

// TestResumeContradictingFlags: a flag given with -resume must match the
// saved run unless it may change; -steps may extend the run.
func TestResumeContradictingFlags(t *testing.T) {
	o, err := ParseFlags([]string{"-resume", "r", "-lr", "1e-4", "-steps", "50", "-threads", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string]string{"lr": "5e-05", "steps": "4", "threads": "0"}
	err = o.checkResumeFlags(saved, 2)
	if err == nil || !strings.Contains(err.Error(), "-lr 0.0001 contradicts the run being resumed, which has -lr 5e-05") {
		t.Errorf("error %v, want one naming -lr and both values", err)
	}
	o, _ = ParseFlags([]string{"-resume", "r", "-steps", "50", "-threads", "3", "-lr", "5e-5"}, io.Discard)
	if err := o.checkResumeFlags(saved, 2); err != nil {
		t.Errorf("allowed changes refused: %v", err)
	}
	o, _ = ParseFlags([]string{"-resume", "r", "-steps", "1"}, io.Discard)
	if err := o.checkResumeFlags(saved, 2); err == nil || !strings.Contains(err.Error(), "at GRPO step 2") {
		t.Errorf("-steps below the saved step: error %v", err)
	}
}

// treeSnapshot returns every path under dir with its contents.
func treeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sb.WriteString(p + "\n")
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sb.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
