package tasks

import (
	"fmt"
	"math"
	"strings"
)

// Verifier decides whether a completion answers an example correctly.
// Implementations are stateless and safe for concurrent use.
type Verifier interface {
	Correct(ex Example, completion string) bool
}

// ExactMatch returns the verifier of the built-in tasks: the completion,
// with surrounding white space trimmed, must equal the answer exactly. (A
// completion cut off before its end-of-sequence token should be counted
// wrong by the caller, which alone knows.)
func ExactMatch() Verifier { return exactMatch{} }

type exactMatch struct{}

func (exactMatch) Correct(ex Example, completion string) bool {
	return strings.TrimSpace(completion) == ex.Answer
}

// MathDAPO returns the verifier of the math_dapo reward: the answer found by
// [ExtractAnswer] (with \boxed{} accepted if acceptBoxed), normalized by
// [NormalizeAnswer], must equal the normalized reference answer. A
// completion without an answer is wrong, and so is every answer to a
// reference that normalizes to nothing.
func MathDAPO(acceptBoxed bool) Verifier { return mathDAPO{acceptBoxed: acceptBoxed} }

type mathDAPO struct{ acceptBoxed bool }

func (m mathDAPO) Correct(ex Example, completion string) bool {
	got, ok := ExtractAnswer(completion, m.acceptBoxed)
	if !ok {
		return false
	}
	want := NormalizeAnswer(ex.Answer)
	return want != "" && NormalizeAnswer(got) == want
}

// Reward conventions: a correct answer scores 1 in both; a wrong one scores
// -1 under RewardPM1 (the paper's and DAPO's) and 0 under Reward01.
const (
	RewardPM1 = "pm1"
	Reward01  = "01"
)

// CheckRewardConvention reports whether convention is one that Reward knows;
// call it where the convention is chosen (a flag), before training.
func CheckRewardConvention(convention string) error {
	switch convention {
	case RewardPM1, Reward01:
		return nil
	}
	return fmt.Errorf("tasks: unknown reward convention %q (use %q for +1/-1 or %q for 1/0)",
		convention, RewardPM1, Reward01)
}

// Reward converts a verdict into a reward under convention ([RewardPM1] or
// [Reward01]). An unknown convention gives NaN, so that a mistake shows up in
// the first logged reward; check it with [CheckRewardConvention].
func Reward(correct bool, convention string) float64 {
	switch {
	case convention != RewardPM1 && convention != Reward01:
		return math.NaN()
	case correct:
		return 1
	case convention == RewardPM1:
		return -1
	default:
		return 0
	}
}
