package gdro

import (
	"fmt"
	"math"
)

// allocate solves the integer allocation shared by RolloutGDRO (15) and
// SqrtAllocator (5.1). Group g has counts[g] >= 1 prompts and takes a
// rollout count n_g in [nMin, nMax] at cost cost[g][n_g-nMin]. It returns
// the n_g that minimise Σ_g cost subject to Σ_g counts[g]·n_g = target.
// When no allocation meets the target exactly, the reachable sum closest to
// it is used, ties to lower cost. Exact cost ties go to the allocation with
// the smallest Σ_g counts[g]·(n_g-nBar)², so that equal costs give the
// fixed allocation; any tie left goes to the candidate the search meets
// first (for each group, arms in increasing order, then running sums in
// increasing order), so the result is deterministic.
//
// The search is a dynamic programme over groups × the running sum of
// counts[g]·(n_g-nMin), with back pointers: O(groups × arms × sums).
func allocate(counts []int, cost [][]float64, nMin, nMax, nBar, target int) ([]int, error) {
	arms := nMax - nMin + 1
	if len(counts) != len(cost) {
		return nil, fmt.Errorf("gdro: allocate: %d counts but %d cost rows", len(counts), len(cost))
	}
	if arms < 1 || arms > 256 {
		return nil, fmt.Errorf("gdro: allocate: rollout range [%d, %d] must hold 1 to 256 values", nMin, nMax)
	}
	if len(counts) == 0 {
		return []int{}, nil
	}
	maxExtra := 0
	for g, c := range counts {
		if c < 1 {
			return nil, fmt.Errorf("gdro: allocate: group %d has %d prompts, want >= 1", g, c)
		}
		if len(cost[g]) != arms {
			return nil, fmt.Errorf("gdro: allocate: group %d has %d costs, want %d", g, len(cost[g]), arms)
		}
		for a, v := range cost[g] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("gdro: allocate: group %d, arm %d: cost %v is not finite", g, a, v)
			}
		}
		maxExtra += c * (arms - 1)
	}
	base := 0
	for _, c := range counts {
		base += c * nMin
	}
	want := target - base // the wanted Σ counts[g]·(n_g-nMin)
	if want >= 0 && want <= maxExtra {
		if sol, ok := allocDP(counts, cost, nMin, nBar, want, want, true); ok {
			return sol, nil
		}
	}
	sol, _ := allocDP(counts, cost, nMin, nBar, maxExtra, want, false)
	if sol == nil {
		return nil, fmt.Errorf("gdro: allocate: the costs overflow when summed")
	}
	return sol, nil
}

// allocDP runs the programme over running sums 0..limit. With exact set it
// keeps only sums from which want is still reachable and reports whether
// want was reached; otherwise it picks the reachable sum closest to want.
// Unreached sums hold an infinite cost (every real cost is finite).
func allocDP(counts []int, cost [][]float64, nMin, nBar, limit, want int, exact bool) ([]int, bool) {
	groups, arms := len(counts), len(cost[0])
	width := limit + 1
	inf := math.Inf(1)
	prevCost, curCost := make([]float64, width), make([]float64, width)
	prevDev, curDev := make([]int64, width), make([]int64, width)
	back := make([]uint8, groups*width)
	for s := range prevCost {
		prevCost[s] = inf
	}
	prevCost[0] = 0
	// [lo, hi] bounds the sums worth keeping after each group: no more
	// than the groups so far can add, and, when exact, no less than want
	// minus what the remaining groups can add.
	lo, hi := 0, 0
	remain := 0
	for _, c := range counts {
		remain += c * (arms - 1)
	}
	for g, c := range counts {
		remain -= c * (arms - 1)
		nlo, nhi := 0, min(limit, hi+c*(arms-1))
		if exact {
			nlo = max(0, want-remain)
		}
		for t := nlo; t <= nhi; t++ {
			curCost[t] = inf
		}
		row := back[g*width : (g+1)*width]
		for a := 0; a < arms; a++ {
			step := c * a
			d := int64(nMin + a - nBar)
			dev := int64(c) * d * d
			ca := cost[g][a]
			// s in [lo, hi] with s+step in [nlo, nhi]
			from, to := max(lo, nlo-step), min(hi, nhi-step)
			for s := from; s <= to; s++ {
				pc := prevCost[s]
				if pc == inf {
					continue
				}
				t := s + step
				nc, nd := pc+ca, prevDev[s]+dev
				if nc < curCost[t] || (nc == curCost[t] && nd < curDev[t]) {
					curCost[t], curDev[t], row[t] = nc, nd, uint8(a)
				}
			}
		}
		lo, hi = nlo, nhi
		prevCost, curCost = curCost, prevCost
		prevDev, curDev = curDev, prevDev
	}
	end := pickEnd(prevCost, prevDev, lo, hi, want, exact)
	if end < 0 {
		return nil, false // unreached, or the costs overflow to +Inf when summed
	}
	sol := make([]int, groups)
	for g, s := groups-1, end; g >= 0; g-- {
		a := int(back[g*width+s])
		sol[g] = nMin + a
		s -= counts[g] * a
	}
	return sol, end == want
}

// pickEnd returns the final running sum in [lo, hi] that allocDP traces
// back from, or -1 if there is none. With exact set it is want, if
// reached; otherwise the reached sum closest to want, ties to the lower
// cost, then to the smaller deviation from n̄, then to the smaller sum.
func pickEnd(cost []float64, dev []int64, lo, hi, want int, exact bool) int {
	inf := math.Inf(1)
	if exact {
		if want < lo || want > hi || cost[want] == inf {
			return -1
		}
		return want
	}
	end := -1
	for s := lo; s <= hi; s++ {
		if cost[s] == inf {
			continue
		}
		if end < 0 {
			end = s
			continue
		}
		ds, de := absInt(s-want), absInt(end-want)
		if ds < de || (ds == de && (cost[s] < cost[end] ||
			(cost[s] == cost[end] && dev[s] < dev[end]))) {
			end = s
		}
	}
	return end
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
