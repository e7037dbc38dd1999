package gdro

import "fmt"

// lastAlloc remembers the allocation of a controller's last Choose, per
// bin: counts[b] = c_b, the prompts in bin b, and rollouts[b] = n_b, the
// rollouts each of them got (0 for a bin without prompts). Both are nil
// before the first Choose.
type lastAlloc struct {
	counts   []int
	rollouts []int
}

// record stores the allocation sol of the present bins with counts cs.
func (l *lastAlloc) record(numBins int, bins, cs, sol []int) {
	l.counts, l.rollouts = make([]int, numBins), make([]int, numBins)
	for g, b := range bins {
		l.counts[b], l.rollouts[b] = cs[g], sol[g]
	}
}

// chosen reports whether a Choose has been made.
func (l *lastAlloc) chosen() bool { return l.counts != nil }

// meanRollouts is n̂ = Σ_b c_b·n_b / N of (17), the mean number of
// rollouts per prompt that the last allocation hands out.
func (l *lastAlloc) meanRollouts() float64 {
	spent, prompts := 0, 0
	for b, c := range l.counts {
		spent += c * l.rollouts[b]
		prompts += c
	}
	if prompts == 0 {
		return 0
	}
	return float64(spent) / float64(prompts)
}

// copies returns copies of the per-bin counts and rollouts.
func (l *lastAlloc) copies() (counts, rollouts []int) {
	return append([]int(nil), l.counts...), append([]int(nil), l.rollouts...)
}

// check validates a restored allocation against numBins bins and the arm
// range [nMin, nMax]: both slices absent, or both of length numBins with
// c_b >= 0, n_b in range where c_b > 0 and n_b = 0 elsewhere.
func (l *lastAlloc) check(numBins, nMin, nMax int) error {
	if l.counts == nil && l.rollouts == nil {
		return nil
	}
	if len(l.counts) != numBins || len(l.rollouts) != numBins {
		return fmt.Errorf("last allocation has %d counts and %d rollout counts, want %d of each", len(l.counts), len(l.rollouts), numBins)
	}
	for b, c := range l.counts {
		n := l.rollouts[b]
		switch {
		case c < 0:
			return fmt.Errorf("last allocation: bin %d has %d prompts", b, c)
		case c > 0 && (n < nMin || n > nMax):
			return fmt.Errorf("last allocation: bin %d: rollout count %d outside [%d, %d]", b, n, nMin, nMax)
		case c == 0 && n != 0:
			return fmt.Errorf("last allocation: bin %d has no prompts but %d rollouts", b, n)
		}
	}
	return nil
}
