package pipeline

import (
	"math"
	"strconv"
	"sync"

	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/tasks"
)

// ledger counts the training rollouts a run generates and how many of
// them carry a gradient. It wraps the training verifier, so it sees every
// completion the trainer judges, grouped by prompt, with the prompt's
// difficulty bin when it was drawn. A completion cut at the length limit is
// wrong without reaching the verifier, so the step's per-bin figures
// (gdro/bin_count, gdro/rollouts) supply the group sizes: a trained group
// the ledger never saw had every completion truncated, all wrong. Groups an
// algorithm generates and then drops (DAPO's dynamic sampling) are counted
// when any of their completions reached the verifier; a trainer that reports
// spent/rollouts itself overrides the total.
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
	seen := make([][]*ledgerGroup, bins)
	for _, id := range l.order {
		g := l.groups[id]
		b := min(max(g.bin, 0), bins-1)
		seen[b] = append(seen[b], g)
	}
	total := 0
	for b := 0; b < bins; b++ {
		s := strconv.Itoa(b)
		trained := int(mt["gdro/bin_count/"+s])
		size := int(math.Round(mt["gdro/rollouts/"+s]))
		groups, zero, rollouts, zeroRollouts := binCounts(seen[b], trained, size)
		mt["zero_std/groups/"+s] = float64(groups)
		mt["zero_std/zero_groups/"+s] = float64(zero)
		mt["zero_std/rollouts/"+s] = float64(rollouts)
		mt["zero_std/zero_rollouts/"+s] = float64(zeroRollouts)
		total += rollouts
	}
	if v, ok := mt["spent/rollouts"]; ok {
		total = int(v)
	}
	mt["spent/rollouts"] = float64(total)
	l.groups = map[string]*ledgerGroup{}
	l.order = l.order[:0]
	return total
}

// binCounts counts one bin's groups and rollouts, and those with zero
// reward variance. seen are the groups the verifier saw; trained is the
// number of groups the step trained on in the bin, size their rollouts each
// (0 when the step did not report them: the seen counts are used).
func binCounts(seen []*ledgerGroup, trained, size int) (groups, zero, rollouts, zeroRollouts int) {
	for _, g := range seen {
		n := max(g.n, size)
		groups++
		rollouts += n
		if g.correct == 0 || g.correct == n {
			zero++
			zeroRollouts += n
		}
	}
	if unseen := trained - len(seen); unseen > 0 {
		groups += unseen
		zero += unseen
		rollouts += unseen * size
		zeroRollouts += unseen * size
	}
	return groups, zero, rollouts, zeroRollouts
}
