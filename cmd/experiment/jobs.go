package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontier-rl/frontier/pipeline"
	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/weights"
)

// doneFile marks a finished run directory.
const doneFile = "done.json"

// job is one run: a seed's SFT, or one arm from that seed's SFT model.
type job struct {
	seed uint64
	arm  string // "" for the SFT
	dir  string // run directory
	sft  *job   // the SFT this arm starts from
}

func (j *job) label() string {
	if j.arm == "" {
		return fmt.Sprintf("seed %d SFT", j.seed)
	}
	return fmt.Sprintf("seed %d %s", j.seed, j.arm)
}

// doneMark is the content of done.json.
type doneMark struct {
	Seconds float64 `json:"seconds"` // wall time of the last (resumed) part
	Spent   int     `json:"rollouts_spent,omitempty"`
	Probe   int     `json:"probe_rollouts,omitempty"`
	Steps   int     `json:"steps,omitempty"`
}

// plan lists the jobs in the order they start: each seed's SFT one seed
// ahead of the arms that need it, so both workers stay busy.
func plan(c *config) []*job {
	var sfts []*job
	for _, s := range c.seedList() {
		sfts = append(sfts, &job{seed: s, dir: filepath.Join(c.dir(), "seed"+strconv.FormatUint(s, 10), "sft")})
	}
	var out []*job
	out = append(out, sfts[0])
	for i, sft := range sfts {
		if i+1 < len(sfts) {
			out = append(out, sfts[i+1])
		}
		for _, a := range c.Arms {
			out = append(out, &job{seed: sft.seed, arm: a, dir: filepath.Join(filepath.Dir(sft.dir), a), sft: sft})
		}
	}
	return out
}

// finished reports whether the job's run directory holds its marker.
func (j *job) finished() bool {
	_, err := os.Stat(filepath.Join(j.dir, doneFile))
	return err == nil
}

// args are the run flags of a fresh run of the job.
func (c *config) args(j *job) []string {
	a := slices.Clone(c.Train)
	a = append(a, "-out", filepath.Dir(j.dir), "-name", filepath.Base(j.dir), "-seed", strconv.FormatUint(j.seed, 10),
		"-threads", strconv.Itoa(c.Threads))
	if j.arm == "" {
		return append(a, "-sft-only")
	}
	// The budget binds; the step cap only guards against a run that spends
	// nothing (every step generates at least one rollout per prompt).
	steps := c.budget()/max(c.recipe.Prompts, 1) + 1
	// -sft-steps 0: the arm starts from the SFT model, whatever the recipe's
	// SFT length.
	return append(a, "-algo", j.arm, "-sft-steps", "0", "-model", j.sft.dir, "-base-eval", filepath.Join(j.sft.dir, "eval.json"),
		"-rollout-budget", strconv.Itoa(c.budget()), "-steps", strconv.Itoa(steps))
}

// execute runs (or resumes) one job, logging into its run directory, and
// marks it done. It reports whether it finished (false: interrupted) and
// a one-line summary of a finished job.
func (c *config) execute(ctx context.Context, j *job) (bool, string, error) {
	args := c.args(j)
	if ck, err := rl.LatestCheckpoint(j.dir); err == nil && ck != "" {
		args = []string{"-resume", j.dir, "-threads", strconv.Itoa(c.Threads)}
	} else if hasCheckpoints(j.dir) {
		return false, "", fmt.Errorf("%s: %s holds checkpoints but none can be resumed (%v); move it away to start the run again", j.label(), j.dir, err)
	} else if err := os.RemoveAll(j.dir); err != nil {
		// A directory without a checkpoint holds nothing to resume.
		return false, "", fmt.Errorf("%s: %w", j.label(), err)
	}
	o, err := pipeline.ParseFlags(args, io.Discard)
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", j.label(), err)
	}
	if err := os.MkdirAll(filepath.Dir(j.dir), 0o755); err != nil {
		return false, "", err
	}
	logPath := j.dir + ".log"
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return false, "", err
	}
	defer log.Close()
	start := time.Now()
	if err := pipeline.Run(ctx, o, log); err != nil {
		return false, "", fmt.Errorf("%s (log %s): %w", j.label(), logPath, err)
	}
	if ctx.Err() != nil {
		return false, "", nil
	}
	mark := doneMark{Seconds: time.Since(start).Seconds()}
	if j.arm != "" {
		var st struct {
			Spent int              `json:"rollouts_spent"`
			Probe int              `json:"probe_rollouts"`
			RL    *rl.TrainerState `json:"rl"`
		}
		if ck, err := rl.LatestCheckpoint(j.dir); err == nil {
			if rl.LoadState(ck, &st) == nil && st.RL != nil {
				mark.Spent, mark.Probe, mark.Steps = st.Spent, st.Probe, st.RL.Step
			}
		}
	}
	js, _ := json.Marshal(mark)
	if err := weights.WriteFileAtomic(filepath.Join(j.dir, doneFile), append(js, '\n'), 0o644); err != nil {
		return false, "", err
	}
	return true, summaryNote(j, mark), nil
}

// hasCheckpoints reports whether a run directory holds any checkpoint
// directory.
func hasCheckpoints(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "checkpoint-") {
			return true
		}
	}
	return false
}

// summaryNote is a finished job's held-out result in a few words.
func summaryNote(j *job, mark doneMark) string {
	be, err := readEval(filepath.Join(j.dir, "eval.json"))
	if err != nil {
		return ""
	}
	res := be.AfterRL
	if j.arm == "" {
		res = be.AfterSFT
	}
	s := rl.Summarize(res, be.K)
	note := fmt.Sprintf("mean@%d %.3f  pass@%d %.3f  greedy %.3f", be.K, s.MeanK, be.K, s.PassK, s.Greedy)
	if j.arm != "" {
		note += fmt.Sprintf("  (%d rollouts, %d steps)", mark.Spent, mark.Steps)
	}
	return note
}

// scheduler hands jobs to workers in plan order, an arm only once its SFT
// is done. Each run is deterministic in its own flags, so the results do
// not depend on which worker ran it or when.
type scheduler struct {
	c       *config
	out     io.Writer
	mu      sync.Mutex
	cond    *sync.Cond
	pending []*job
	done    map[*job]bool
	err     error
	cancel  context.CancelFunc
	start   time.Time
	total   int
	// finished counts and mean seconds per kind ("sft", "arm"), for the ETA.
	count map[string]int
	secs  map[string]float64
}

// runAll runs every unfinished job, jobs at a time.
func runAll(ctx context.Context, c *config, jobs []*job, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &scheduler{c: c, out: out, done: map[*job]bool{}, cancel: cancel, start: time.Now(),
		count: map[string]int{}, secs: map[string]float64{}}
	s.cond = sync.NewCond(&s.mu)
	for _, j := range jobs {
		if j.finished() {
			s.done[j] = true
		} else {
			s.pending = append(s.pending, j)
		}
	}
	s.total = len(s.pending)
	if skipped := len(jobs) - s.total; skipped > 0 {
		fmt.Fprintf(out, "%d of %d runs already finished; %d to run\n", skipped, len(jobs), s.total)
	}
	var wg sync.WaitGroup
	for range c.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx)
		}()
	}
	wg.Wait()
	if s.err != nil {
		return s.err
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// errInterrupted reports a stop by signal; finished runs stay finished.
var errInterrupted = errors.New("interrupted: rerun the same command to resume")

// work runs jobs until none is left, one fails, or ctx ends.
func (s *scheduler) work(ctx context.Context) {
	for {
		j := s.next(ctx)
		if j == nil {
			return
		}
		if s.c.interruptAt != "" && filepath.Join(s.c.dir(), s.c.interruptAt) == j.dir {
			s.cancel()
		}
		s.line("%-22s started", j.label())
		t0 := time.Now()
		ok, note, err := s.c.execute(ctx, j)
		s.finish(j, ok, note, err, time.Since(t0).Seconds())
	}
}

// next waits for a job whose SFT is done; nil when there is none to run.
func (s *scheduler) next(ctx context.Context) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.err != nil || ctx.Err() != nil || len(s.pending) == 0 {
			return nil
		}
		for i, j := range s.pending {
			if j.sft == nil || s.done[j.sft] {
				s.pending = slices.Delete(s.pending, i, i+1)
				return j
			}
		}
		s.cond.Wait()
	}
}

// finish records a job's end and prints its line with the ETA.
func (s *scheduler) finish(j *job, ok bool, note string, err error, secs float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.cond.Broadcast()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		s.cancel()
		return
	}
	if !ok {
		fmt.Fprintf(s.out, "%-22s interrupted after %s (checkpoint saved)\n", j.label(), fmtDur(secs))
		return
	}
	s.done[j] = true
	kind := "arm"
	if j.arm == "" {
		kind = "sft"
	}
	s.count[kind]++
	s.secs[kind] += secs
	fmt.Fprintf(s.out, "%-22s done in %s  [%d/%d, %s elapsed, ETA %s]  %s\n", j.label(), fmtDur(secs),
		s.finishedCount(), s.total, fmtDur(time.Since(s.start).Seconds()), s.eta(), note)
}

// finishedCount is the number of jobs finished in this process.
func (s *scheduler) finishedCount() int { return s.count["sft"] + s.count["arm"] }

// eta estimates the time left from the mean time of each kind so far.
func (s *scheduler) eta() string {
	mean := func(kind, other string) float64 {
		if s.count[kind] > 0 {
			return s.secs[kind] / float64(s.count[kind])
		}
		return s.secs[other] / float64(max(s.count[other], 1))
	}
	left := 0.0
	for _, j := range s.pending {
		if j.arm == "" {
			left += mean("sft", "arm")
		} else {
			left += mean("arm", "sft")
		}
	}
	return fmtDur(left / float64(s.c.Jobs))
}

// line prints one progress line.
func (s *scheduler) line(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, format+"\n", args...)
}

// fmtDur formats seconds as 1h02m, 3m05s or 12s.
func fmtDur(secs float64) string {
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}
