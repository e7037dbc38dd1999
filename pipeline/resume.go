package pipeline

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/weights"
)

// mayChangeOnResume are the flags that a resumed run may give with a value
// other than the saved run's; every other flag given with -resume must
// equal its saved value, or the run is refused:
//
//   - -steps: extend (or end earlier) the GRPO phase;
//   - -rollout-budget: raise or lower the rollout budget;
//   - -threads, -device, -profile: where and how it runs, not what it computes;
//   - -eval-every: extra evaluations along the way;
//   - -save-every, -keep: how often it saves and how many checkpoints it keeps.
var mayChangeOnResume = map[string]bool{
	"resume": true, "steps": true, "rollout-budget": true, "threads": true, "device": true,
	"profile": true, "eval-every": true, "save-every": true, "keep": true,
}

// checkpointName matches the checkpoint directories a run writes.
var checkpointName = regexp.MustCompile(`^checkpoint-(sft|rl)-([0-9]+)$`)

// resumePlan is the checkpoint a resumed run starts from and, when the
// latest one was unusable, what to repair once every check has passed.
type resumePlan struct {
	from     string // the checkpoint directory to load
	fallback bool   // from is not the one runDir/latest names
	bad      string // the unusable checkpoint directory to move aside, or ""
}

// resume picks the checkpoint of -resume to start from, falling back to
// the newest usable one when the latest is corrupt, loads its trainer
// state, refuses flags that contradict it and takes the saved values of
// the others. It writes nothing; repairLatest does, after validation.
func (r *runner) resume() (string, error) {
	o := r.o
	if st, err := os.Stat(o.Resume); err != nil || !st.IsDir() {
		return "", fmt.Errorf("-resume %s: not a directory: give a run directory (OUT/NAME of an earlier run)", o.Resume)
	}
	plan, err := r.pickCheckpoint(o.Resume)
	if err != nil {
		return "", err
	}
	r.plan = plan
	if err := o.checkResumeFlags(r.state.Flags, r.rlStep()); err != nil {
		return "", err
	}
	if err := o.applySaved(r.state.Flags); err != nil {
		return "", err
	}
	r.logf("resuming %s from %s (phase %s, SFT step %d, GRPO step %d)", o.Resume, filepath.Base(plan.from), r.state.Phase, r.state.SFTStep, r.rlStep())
	if step := r.rlStep(); step > 0 && step >= o.Steps {
		r.logf("note: the run has done all its -steps %d GRPO steps: no training is left, only the final evaluation and reports are redone; resume with -steps %d or more to train further", o.Steps, step+1)
	}
	return plan.from, nil
}

// pickCheckpoint returns the checkpoint of runDir to resume from: the one
// runDir/latest names if it is usable, else the newest usable other one,
// saying on the log which was bad and why. r.state is set from it.
func (r *runner) pickCheckpoint(runDir string) (resumePlan, error) {
	order := checkpointDirs(runDir)
	var problems []string
	latest, err := rl.LatestCheckpoint(runDir)
	if err != nil {
		problems = append(problems, err.Error())
		if len(order) > 0 {
			r.logf("resume: %v", err)
		}
	} else {
		order = append([]string{latest}, slices.DeleteFunc(order, func(d string) bool { return d == latest })...)
	}
	for i, dir := range order {
		var st runState
		if err := usableCheckpoint(dir, &st); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", filepath.Base(dir), err))
			r.logf("resume: checkpoint %s is unusable: %v", dir, err)
			continue
		}
		plan := resumePlan{from: dir, fallback: latest == "" || i > 0}
		if latest != "" && i > 0 {
			plan.bad = latest
		}
		if plan.fallback {
			r.logf("resume: falling back to the previous checkpoint %s", dir)
		}
		r.state = st
		return plan, nil
	}
	if len(order) == 0 && latest == "" {
		return resumePlan{}, fmt.Errorf("-resume %s: holds no checkpoint (no latest file and no checkpoint-* directory): give the directory of a run that saved one", runDir)
	}
	return resumePlan{}, fmt.Errorf("-resume %s: no usable checkpoint (%s): the run cannot continue; start it again with the same flags (without -resume) into a new -name, or restore a checkpoint-* directory from a backup and write its name into %s",
		runDir, strings.Join(problems, "; "), filepath.Join(runDir, rl.LatestFile))
}

// checkpointDirs returns runDir's checkpoint directories, newest first: the
// RL ones before the SFT ones, each by step.
func checkpointDirs(runDir string) []string {
	entries, _ := os.ReadDir(runDir)
	type ck struct {
		dir   string
		phase int
		step  int
	}
	var cks []ck
	for _, e := range entries {
		m := checkpointName.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		step, _ := strconv.Atoi(m[2])
		phase := 0
		if m[1] == "rl" {
			phase = 1
		}
		cks = append(cks, ck{filepath.Join(runDir, e.Name()), phase, step})
	}
	slices.SortFunc(cks, func(a, b ck) int {
		return cmp.Or(cmp.Compare(b.phase, a.phase), cmp.Compare(b.step, a.step))
	})
	out := make([]string, len(cks))
	for i, c := range cks {
		out[i] = c.dir
	}
	return out
}

// usableCheckpoint checks that dir holds a complete checkpoint a run can
// resume from, reading its trainer state into st: the state parses and
// names a phase and the flags, the model's headers match its config, the
// optimizer file is sound and the tokenizer is there.
func usableCheckpoint(dir string, st *runState) error {
	if err := rl.LoadState(dir, st); err != nil {
		return err
	}
	if (st.Phase != "sft" && st.Phase != "rl") || st.Flags == nil {
		return fmt.Errorf("%s: phase %q and %d flags: not the state of a frontier run", filepath.Join(dir, rl.StateFile), st.Phase, len(st.Flags))
	}
	_, ck, err := weights.OpenModel(dir)
	if err != nil {
		return err
	}
	ck.Close()
	if st.SFTStep > 0 || st.RL != nil {
		f, err := weights.Open(filepath.Join(dir, rl.OptimizerFile))
		if err != nil {
			return err
		}
		defer f.Close()
		for _, name := range []string{"exp_avg", "exp_avg_sq"} {
			if _, ok := f.Info(name); !ok {
				return fmt.Errorf("%s: tensor %q is missing", filepath.Join(dir, rl.OptimizerFile), name)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		return fmt.Errorf("%s: no tokenizer.json", dir)
	}
	return nil
}

// checkResumeFlags refuses a flag given with -resume whose value differs
// from the saved run's, unless mayChangeOnResume lists it, and a -steps
// below the step the run has reached.
func (o *Options) checkResumeFlags(saved map[string]string, step int) error {
	var err error
	o.fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		if least := max(step, 1); f.Name == "steps" && o.Steps < least {
			err = fmt.Errorf("-steps %d with -resume: the saved run is at GRPO step %d: give -steps %d or more", o.Steps, step, least)
		}
		sv, ok := saved[f.Name]
		if mayChangeOnResume[f.Name] || !ok {
			return
		}
		if given := f.Value.String(); given != sv {
			had := fmt.Sprintf("has -%s %s", f.Name, sv)
			if sv == "" {
				had = "was started without -" + f.Name
			}
			err = fmt.Errorf("-%s %s contradicts the run being resumed, which %s: a resumed run keeps its settings; drop -%s, or start a new run to change it",
				f.Name, given, had, f.Name)
		}
	})
	return err
}

// repairLatest, after every check has passed, moves an unusable latest
// checkpoint aside (as corrupt-NAME, kept for inspection) and points
// runDir/latest at the checkpoint the run resumes from, so that the run's
// own saves and later resumes start from there.
func (r *runner) repairLatest() error {
	p := r.plan
	if !p.fallback {
		return nil
	}
	if p.bad != "" {
		aside := filepath.Join(filepath.Dir(p.bad), "corrupt-"+filepath.Base(p.bad))
		for i := 2; ; i++ {
			if _, err := os.Stat(aside); errors.Is(err, os.ErrNotExist) {
				break
			}
			aside = fmt.Sprintf("%s/corrupt-%s-%d", filepath.Dir(p.bad), filepath.Base(p.bad), i)
		}
		if err := os.Rename(p.bad, aside); err != nil {
			return fmt.Errorf("-resume: moving the unusable checkpoint aside: %w", err)
		}
		r.logf("resume: moved the unusable %s aside to %s", p.bad, aside)
	}
	latest := filepath.Join(r.dir, rl.LatestFile)
	if err := weights.WriteFileAtomic(latest, []byte(filepath.Base(p.from)+"\n"), 0o644); err != nil {
		return fmt.Errorf("-resume: %w", err)
	}
	r.logf("resume: %s now names %s", latest, filepath.Base(p.from))
	return nil
}
