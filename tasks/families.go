package tasks

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// The built-in families. Each prompt starts with a symbol that names its
// family, so that no prompt text belongs to two families, and ends with "=";
// the answer is what follows the "=".
//
//	sort   s3142=       -> 1234   sort L+1 digits in ascending order
//	chain  3+5+2=       -> 10     sum of L+1 one-digit numbers
//	count  c7:2717057=  -> 2      occurrences of a digit in 2L+2 digits
//	sub    52-17=       -> 35     a - b with a of L digits and 0 <= b <= a
//	add    a47+85=      -> 231    a + b with L-digit operands, sum written
//	                              least significant digit first
const (
	FamilySort  = "sort"
	FamilyChain = "chain"
	FamilyCount = "count"
	FamilySub   = "sub"
	FamilyAdd   = "add"
)

// MaxSupportedLevel is the highest level the built-in families generate: at
// level 12 the operands of sub and add have 12 digits, well inside int64.
const MaxSupportedLevel = 12

// BuiltinFamilies returns the names of the built-in task families, in the
// order the default configuration lists them.
func BuiltinFamilies() []string {
	return []string{FamilySort, FamilyChain, FamilyCount, FamilySub, FamilyAdd}
}

// IsBuiltinFamily reports whether name is one of [BuiltinFamilies].
func IsBuiltinFamily(name string) bool {
	return slices.Contains(BuiltinFamilies(), name)
}

// GenerateExample draws one prompt of the given family and level from r.
// The returned example has an empty ID. It fails for an unknown family or a
// level outside 1..[MaxSupportedLevel].
func GenerateExample(family string, level int, r *rand.Rand) (Example, error) {
	if !IsBuiltinFamily(family) {
		return Example{}, fmt.Errorf("tasks: unknown family %q (known: %s)",
			family, strings.Join(BuiltinFamilies(), ", "))
	}
	if level < 1 || level > MaxSupportedLevel {
		return Example{}, fmt.Errorf("tasks: level %d out of range 1..%d", level, MaxSupportedLevel)
	}
	return generate(family, level, r), nil
}

// generate draws one example of a known family and a valid level.
func generate(family string, level int, r *rand.Rand) Example {
	var prompt, answer string
	switch family {
	case FamilySort:
		prompt, answer = genSort(level, r)
	case FamilyChain:
		prompt, answer = genChain(level, r)
	case FamilyCount:
		prompt, answer = genCount(level, r)
	case FamilySub:
		prompt, answer = genSub(level, r)
	case FamilyAdd:
		prompt, answer = genAdd(level, r)
	}
	return Example{Prompt: prompt, Answer: answer, Family: family, Level: level}
}

// genSort: L+1 random digits (repeats allowed), answer in ascending order.
func genSort(level int, r *rand.Rand) (string, string) {
	digits := make([]byte, level+1)
	for i := range digits {
		digits[i] = byte('0' + r.IntN(10))
	}
	sorted := slices.Clone(digits)
	slices.Sort(sorted)
	return "s" + string(digits) + "=", string(sorted)
}

// genChain: L+1 one-digit terms joined by "+", answer their sum.
func genChain(level int, r *rand.Rand) (string, string) {
	var b strings.Builder
	sum := 0
	for i := 0; i <= level; i++ {
		d := r.IntN(10)
		sum += d
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteByte(byte('0' + d))
	}
	b.WriteByte('=')
	return b.String(), strconv.Itoa(sum)
}

// genCount: a target digit and 2L+2 digits. The count k is uniform on
// 0..L+1 (uniform digits would make 0 the answer most of the time); the
// target fills k random positions and the other positions get one of the
// nine other digits.
func genCount(level int, r *rand.Rand) (string, string) {
	n := 2*level + 2
	target := r.IntN(10)
	k := r.IntN(level + 2)
	digits := make([]byte, n)
	for i, pos := range r.Perm(n) {
		d := target
		if i >= k {
			d = r.IntN(9)
			if d >= target {
				d++
			}
		}
		digits[pos] = byte('0' + d)
	}
	return "c" + strconv.Itoa(target) + ":" + string(digits) + "=", strconv.Itoa(k)
}

// operand draws a number with exactly L digits (0..9 at level 1).
func operand(level int, r *rand.Rand) int64 {
	if level == 1 {
		return r.Int64N(10)
	}
	lo := pow10(level - 1)
	return lo + r.Int64N(9*lo)
}

// genSub: a with L digits, b uniform on 0..a, answer a-b.
func genSub(level int, r *rand.Rand) (string, string) {
	a := operand(level, r)
	b := r.Int64N(a + 1)
	return strconv.FormatInt(a, 10) + "-" + strconv.FormatInt(b, 10) + "=", strconv.FormatInt(a-b, 10)
}

// genAdd: two L-digit operands; the answer is the decimal sum with its
// digits reversed (leading zeros of the reversed string kept: 50+50 gives
// "001"), so a model writes the digit it can compute first.
func genAdd(level int, r *rand.Rand) (string, string) {
	a, b := operand(level, r), operand(level, r)
	sum := []byte(strconv.FormatInt(a+b, 10))
	slices.Reverse(sum)
	return "a" + strconv.FormatInt(a, 10) + "+" + strconv.FormatInt(b, 10) + "=", string(sum)
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// capacitySaturation caps the prompt counts below: only small cells matter
// (they can run out of distinct prompts), so larger counts are clipped.
const capacitySaturation = uint64(1) << 62

func mulSat(a, b uint64) uint64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > capacitySaturation/b {
		return capacitySaturation
	}
	return a * b
}

func addSat(a, b uint64) uint64 {
	if a+b > capacitySaturation || a+b < a {
		return capacitySaturation
	}
	return a + b
}

func powSat(base uint64, n int) uint64 {
	p := uint64(1)
	for range n {
		p = mulSat(p, base)
	}
	return p
}

// binomial returns C(n, k) for the small n used here (n <= 2*MaxSupportedLevel+2).
func binomial(n, k int) uint64 {
	c := uint64(1)
	for i := 1; i <= k; i++ {
		c = c * uint64(n-k+i) / uint64(i)
	}
	return c
}

// cellCapacity returns the number of distinct prompt texts the generator can
// produce for a family and level, saturated at capacitySaturation.
func cellCapacity(family string, level int) uint64 {
	switch family {
	case FamilySort, FamilyChain:
		return powSat(10, level+1)
	case FamilyCount:
		n := 2*level + 2
		var strs uint64
		for k := 0; k <= level+1; k++ {
			strs = addSat(strs, mulSat(binomial(n, k), powSat(9, n-k)))
		}
		return mulSat(10, strs)
	case FamilySub:
		if level == 1 {
			return 55 // a in 0..9, b in 0..a
		}
		// Sum of (a+1) over a = lo..10lo-1: 9lo(11lo+1)/2.
		lo := uint64(pow10(level - 1))
		return mulSat(9*lo, 11*lo+1) / 2
	case FamilyAdd:
		if level == 1 {
			return 100
		}
		lo := uint64(pow10(level - 1))
		return mulSat(9*lo, 9*lo)
	}
	return 0
}
