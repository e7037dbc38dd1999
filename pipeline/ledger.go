package pipeline

import (
	"strconv"
	"sync"

	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/tasks"
)

// ledger counts the training rollouts a run generates: it wraps the
// training verifier, so every completion the trainer judges (including any
// that an algorithm generates and then drops, such as DAPO's dynamic
// sampling) is one rollout spent. Grouped by prompt, the counts also give
// the effective-gradient figures: the groups whose rewards all agree carry
// no GRPO gradient.
type ledger struct {
	inner tasks.Verifier
	// binOf labels a prompt with its difficulty bin; the trainer's
	// classifier, read while the step verifies (before it observes).
	binOf func(id string) int

	mu     sync.Mutex
	groups map[string]*ledgerGroup
	order  []string // prompt ids in order of first verification
}

// ledgerGroup is one prompt's rollouts in the current step.
type ledgerGroup struct {
	bin, n, correct int
}

func newLedger(inner tasks.Verifier) *ledger {
	return &ledger{inner: inner, groups: map[string]*ledgerGroup{}}
}

// Correct judges a completion and records it. Safe for concurrent use.
func (l *ledger) Correct(ex tasks.Example, completion string) bool {
	ok := l.inner.Correct(ex, completion)
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groups[ex.ID]
	if g == nil {
		bin := 0
		if l.binOf != nil {
			bin = l.binOf(ex.ID)
		}
		g = &ledgerGroup{bin: bin}
		l.groups[ex.ID] = g
		l.order = append(l.order, ex.ID)
	}
	g.n++
	if ok {
		g.correct++
	}
	return ok
}

// flush adds this step's counts to mt and starts the next step. It returns
// the rollouts generated in the step. Keys, per bin b of bins:
//
//	spent/rollouts              rollouts generated this step
//	zero_std/groups/<b>         prompt groups in bin b
//	zero_std/zero_groups/<b>    of them, groups whose rewards all agree
//	zero_std/rollouts/<b>       rollouts of bin b's groups
//	zero_std/zero_rollouts/<b>  of them, rollouts in zero-variance groups
func (l *ledger) flush(mt rl.Metrics, bins int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	groups := make([]int, bins)
	zeroGroups := make([]int, bins)
	rollouts := make([]int, bins)
	zeroRollouts := make([]int, bins)
	total := 0
	for _, id := range l.order {
		g := l.groups[id]
		b := min(max(g.bin, 0), bins-1)
		total += g.n
		groups[b]++
		rollouts[b] += g.n
		if g.correct == 0 || g.correct == g.n {
			zeroGroups[b]++
			zeroRollouts[b] += g.n
		}
	}
	for b := 0; b < bins; b++ {
		s := strconv.Itoa(b)
		mt["zero_std/groups/"+s] = float64(groups[b])
		mt["zero_std/zero_groups/"+s] = float64(zeroGroups[b])
		mt["zero_std/rollouts/"+s] = float64(rollouts[b])
		mt["zero_std/zero_rollouts/"+s] = float64(zeroRollouts[b])
	}
	mt["spent/rollouts"] = float64(total)
	l.groups = map[string]*ledgerGroup{}
	l.order = l.order[:0]
	return total
}
