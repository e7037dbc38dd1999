package tasks

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestCorrupt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1234", "1235"},
		{"9", "0"},
		{"19", "10"},
		{"0", "1"},
		{"", "1"},
		{"x", "x1"},
	} {
		if got := Corrupt(tc.in); got != tc.want {
			t.Errorf("Corrupt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseTeacher(t *testing.T) {
	for _, tc := range []struct {
		spec, mode string
		want       []float64 // rates of levels 1..7
		perPrompt  bool
		err        string
	}{
		{spec: "", mode: "sample", want: []float64{0, 0, 0, 0, 0, 0, 0}},
		{spec: "0", mode: "prompt", want: []float64{0, 0, 0, 0, 0, 0, 0}, perPrompt: true},
		{spec: "0.15", mode: "sample", want: []float64{0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1}},
		{spec: "0, 0.2,0.5", mode: "sample", want: []float64{0, 0.2, 0.5, 0.5, 0.5, 0.5, 0.5}},
		{spec: "0.1", mode: "both", err: "teacher mode"},
		{spec: "0.1,x", mode: "sample", err: "not a number"},
		{spec: "1.5", mode: "sample", err: "outside [0, 1]"},
		{spec: "0.2,-0.1", mode: "sample", err: "outside [0, 1]"},
		{spec: "NaN", mode: "sample", err: "outside [0, 1]"},
	} {
		tr, err := ParseTeacher(tc.spec, tc.mode, 7)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTeacher(%q, %q) error %v, want one containing %q", tc.spec, tc.mode, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTeacher(%q, %q): %v", tc.spec, tc.mode, err)
			continue
		}
		var got []float64
		for l := 1; l <= 7; l++ {
			got = append(got, math.Round(tr.ErrorRate(l)*1e9)/1e9)
		}
		if !slices.Equal(got, tc.want) || tr.PerPrompt != tc.perPrompt {
			t.Errorf("ParseTeacher(%q, %q) = rates %v per-prompt %v, want %v %v", tc.spec, tc.mode, got, tr.PerPrompt, tc.want, tc.perPrompt)
		}
		if tr.Exact() != !slices.ContainsFunc(tc.want, func(p float64) bool { return p > 0 }) {
			t.Errorf("ParseTeacher(%q, %q).Exact() = %v", tc.spec, tc.mode, tr.Exact())
		}
	}
}

// teach applies tr to n fresh examples of one cell and returns them with the
// share whose answer was corrupted.
func teach(t *testing.T, tr Teacher, family string, level, n int, seed uint64) ([]Example, float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var out []Example
	wrong := 0
	for range n {
		ex, err := GenerateExample(family, level, r)
		if err != nil {
			t.Fatal(err)
		}
		got := tr.Apply(ex, r)
		if got.Prompt != ex.Prompt || got.Family != ex.Family || got.Level != ex.Level {
			t.Fatalf("Apply changed more than the answer: %+v -> %+v", ex, got)
		}
		switch got.Answer {
		case ex.Answer:
		case Corrupt(ex.Answer):
			wrong++
		default:
			t.Fatalf("Apply(%q) answer %q, want %q or %q", ex.Prompt, got.Answer, ex.Answer, Corrupt(ex.Answer))
		}
		out = append(out, got)
	}
	return out, float64(wrong) / float64(n)
}

// TestTeacherRates: the share of corrupted answers follows the level's rate
// in both modes, within sampling error.
func TestTeacherRates(t *testing.T) {
	const n = 4000
	for _, mode := range []string{TeacherPerSample, TeacherPerPrompt} {
		tr, err := ParseTeacher("0,0.25,0.5,1", mode, 3)
		if err != nil {
			t.Fatal(err)
		}
		for level, want := range map[int]float64{1: 0, 2: 0.25, 3: 0.5, 4: 1, 6: 1} {
			_, got := teach(t, tr, FamilyChain, level, n, uint64(level))
			if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n)+1e-12 {
				t.Errorf("mode %s level %d: corrupted share %.3f, want %.3f", mode, level, got, want)
			}
		}
	}
}

// TestTeacherDeterministic: the same seed gives the same answers; per-prompt
// mode gives a prompt the same answer every time, per-sample mode does not.
func TestTeacherDeterministic(t *testing.T) {
	for _, mode := range []string{TeacherPerSample, TeacherPerPrompt} {
		tr, _ := ParseTeacher("0.5", mode, 11)
		a, _ := teach(t, tr, FamilySort, 1, 500, 5)
		b, _ := teach(t, tr, FamilySort, 1, 500, 5)
		if !slices.Equal(a, b) {
			t.Errorf("mode %s: same seed, different answers", mode)
		}
		// Sort at level 1 has 100 prompts, so 500 draws repeat many.
		answers := map[string]map[string]bool{}
		for _, ex := range a {
			if answers[ex.Prompt] == nil {
				answers[ex.Prompt] = map[string]bool{}
			}
			answers[ex.Prompt][ex.Answer] = true
		}
		mixed := 0
		for _, set := range answers {
			if len(set) > 1 {
				mixed++
			}
		}
		if mode == TeacherPerPrompt && mixed > 0 {
			t.Errorf("per-prompt mode gave %d prompts two different answers", mixed)
		}
		if mode == TeacherPerSample && mixed == 0 {
			t.Error("per-sample mode gave every repeated prompt the same answer")
		}
	}
}

// TestTeacherExactLeavesStream: an exact teacher (or a level with rate 0)
// draws nothing from r, so SFT data without a teacher is unchanged.
func TestTeacherExactLeavesStream(t *testing.T) {
	tr, _ := ParseTeacher("0,0.5", TeacherPerSample, 1)
	r1 := rand.New(rand.NewPCG(1, 2))
	r2 := rand.New(rand.NewPCG(1, 2))
	ex := Example{Prompt: "1+2=", Answer: "3", Family: FamilyChain, Level: 1}
	for range 10 {
		if got := tr.Apply(ex, r1); got != ex {
			t.Fatalf("level 1 at rate 0 changed %+v to %+v", ex, got)
		}
		if got := (Teacher{}).Apply(ex, r1); got != ex {
			t.Fatalf("exact teacher changed %+v to %+v", ex, got)
		}
	}
	if r1.Uint64() != r2.Uint64() {
		t.Error("an exact teacher drew from the generator")
	}
}

// TestTeacherPromptSeed: in per-prompt mode the seed decides which prompts
// are corrupted.
func TestTeacherPromptSeed(t *testing.T) {
	a, _ := ParseTeacher("0.5", TeacherPerPrompt, 1)
	b, _ := ParseTeacher("0.5", TeacherPerPrompt, 2)
	exA, _ := teach(t, a, FamilyChain, 1, 200, 9)
	exB, _ := teach(t, b, FamilyChain, 1, 200, 9)
	if slices.Equal(exA, exB) {
		t.Error("per-prompt corruption does not depend on the seed")
	}
}

func TestTeacherDescribe(t *testing.T) {
	tr, _ := ParseTeacher("0.15", TeacherPerSample, 1)
	if got, want := tr.Describe(3), "0.15,0.30,0.45"; got != want {
		t.Errorf("Describe(3) = %q, want %q", got, want)
	}
	if got, want := (Teacher{}).Describe(2), "0.00,0.00"; got != want {
		t.Errorf("exact Describe(2) = %q, want %q", got, want)
	}
}
