package tasks

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Teacher corrupts supervised answers with an error rate that depends on the
// task level, so that a model warm-started on them is systematically wrong
// where the teacher was, while the correct answer stays within its reach: the
// gap that RL with a verifier can close (see docs/testbed.md for the
// measurements behind it).
//
// A corrupted answer has its last digit moved up by one (9 wraps to 0):
// "1234" becomes "1235". The error is the same rule in every family, so
// what RL unlearns on training prompts transfers to held-out ones.
//
// Corruption is decided per sample (each draw of an example is corrupted
// independently with the level's probability) or per prompt (a hash of the
// seed and the prompt text decides once, so the same prompt always gets the
// same answer). Only supervised answers are corrupted; the training pool, the
// held-out set and the reward keep the true answers.
type Teacher struct {
	// Rate[L-1] is the probability that an answer of level L is corrupted;
	// levels beyond the slice use its last entry. An empty Rate never
	// corrupts.
	Rate []float64
	// PerPrompt fixes the decision per prompt text instead of per sample.
	PerPrompt bool
	// Seed mixes into the per-prompt decision.
	Seed uint64
}

// Teacher modes accepted by [ParseTeacher].
const (
	TeacherPerSample = "sample"
	TeacherPerPrompt = "prompt"
)

// ParseTeacher builds a teacher from a rate specification and a mode.
//
// spec is "" or "0" (an exact teacher), a single number s (level L is
// corrupted with probability min(1, s*L)), or comma-separated probabilities
// for levels 1, 2, ... (the last one also applies to higher levels). mode is
// "sample" or "prompt" (see [Teacher]).
func ParseTeacher(spec, mode string, seed uint64) (Teacher, error) {
	t := Teacher{Seed: seed}
	switch mode {
	case TeacherPerSample:
	case TeacherPerPrompt:
		t.PerPrompt = true
	default:
		return Teacher{}, fmt.Errorf("tasks: teacher mode %q: use %s or %s", mode, TeacherPerSample, TeacherPerPrompt)
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return t, nil
	}
	parts := strings.Split(spec, ",")
	var vals []float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return Teacher{}, fmt.Errorf("tasks: teacher error rate %q: %q is not a number", spec, p)
		}
		if v < 0 || v > 1 || v != v {
			return Teacher{}, fmt.Errorf("tasks: teacher error rate %q: %v is outside [0, 1]", spec, v)
		}
		vals = append(vals, v)
	}
	if len(vals) == 1 {
		if vals[0] == 0 {
			return t, nil
		}
		t.Rate = make([]float64, MaxSupportedLevel)
		for l := range t.Rate {
			t.Rate[l] = min(1, vals[0]*float64(l+1))
		}
		return t, nil
	}
	t.Rate = vals
	return t, nil
}

// Exact reports whether the teacher never corrupts an answer.
func (t Teacher) Exact() bool {
	for _, p := range t.Rate {
		if p > 0 {
			return false
		}
	}
	return true
}

// ErrorRate returns the probability that an answer of the given level is
// corrupted.
func (t Teacher) ErrorRate(level int) float64 {
	if len(t.Rate) == 0 || level < 1 {
		return 0
	}
	return t.Rate[min(level, len(t.Rate))-1]
}

// Apply returns ex with its answer as the teacher gives it. In per-sample
// mode it draws one number from r, and only when the level's rate is
// strictly between 0 and 1, so an exact teacher leaves r's sequence alone.
func (t Teacher) Apply(ex Example, r *rand.Rand) Example {
	p := t.ErrorRate(ex.Level)
	if p <= 0 {
		return ex
	}
	var u float64
	switch {
	case p >= 1:
		u = 0
	case t.PerPrompt:
		u = t.promptUniform(ex.Prompt)
	default:
		u = r.Float64()
	}
	if u < p {
		ex.Answer = Corrupt(ex.Answer)
	}
	return ex
}

// promptUniform maps the seed and a prompt text to a number in [0, 1).
func (t Teacher) promptUniform(prompt string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], t.Seed)
	h.Write(b[:])
	h.Write([]byte("teacher/"))
	h.Write([]byte(prompt))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// Corrupt returns answer with its last digit moved up by one (9 becomes 0).
// An answer that does not end in a digit gets "1" appended.
func Corrupt(answer string) string {
	n := len(answer)
	if n == 0 || answer[n-1] < '0' || answer[n-1] > '9' {
		return answer + "1"
	}
	d := answer[n-1] - '0'
	return answer[:n-1] + string(rune('0'+(d+1)%10))
}

// Describe lists the error rates of levels 1..maxLevel: "0.15,0.30,0.45".
func (t Teacher) Describe(maxLevel int) string {
	parts := make([]string, maxLevel)
	for l := range parts {
		parts[l] = strconv.FormatFloat(t.ErrorRate(l+1), 'f', 2, 64)
	}
	return strings.Join(parts, ",")
}
