package tasks

import (
	"math"
	"strings"
	"testing"
)

func TestExtractAnswer(t *testing.T) {
	long := strings.Repeat("x", 400)
	tests := []struct {
		name    string
		text    string
		boxed   bool
		want    string
		wantOK  bool
		wantNrm string // NormalizeAnswer(want)
	}{
		{"plain", "Answer: 42", false, "42", true, "42"},
		{"dollars and comma", "so the total is\nAnswer: $1,000$", false, "$1,000$", true, "1000"},
		{"lower case, space before colon", "answer : 17\n", false, "17", true, "17"},
		{"colon then newline", "Answer:\n  8", false, "8", true, "8"},
		{"last of several", "Answer: 1\nwait, no.\nAnswer: 2", false, "2", true, "2"},
		{"only to end of line", "Answer: 3\nbecause reasons", false, "3", true, "3"},
		{"equation", "Answer: x = 5", false, "x = 5", true, "5"},
		{"no match", "the result is 42", false, "", false, ""},
		{"boxed not accepted", `so \boxed{7}`, false, "", false, ""},
		{"boxed accepted", `so \boxed{7}`, true, "7", true, "7"},
		{"nested braces", `\boxed{\frac{1}{2}}`, true, `\frac{1}{2}`, true, `\frac{1}{2}`},
		{"answer then later boxed", "Answer: 3\nactually \\boxed{4}", true, "4", true, "4"},
		{"boxed then later answer", "\\boxed{4}\nAnswer: 3", true, "3", true, "3"},
		{"boxed inside answer", `Answer: \boxed{12}`, true, "12", true, "12"},
		{"boxed inside answer, not accepted", `Answer: \boxed{12}`, false, `\boxed{12}`, true, "12"},
		{"unbalanced boxed", `\boxed{7`, true, "", false, ""},
		{"answer outside window", "Answer: 9\n" + long, false, "", false, ""},
		{"answer inside window", long + "\nAnswer: 9", false, "9", true, "9"},
		{"window counts runes", "Answer: 5 " + strings.Repeat("é", 290), false, "5 " + strings.Repeat("é", 290), true,
			"5" + strings.Repeat("é", 290)},
		{"window is 300 runes", "Answer: 5 " + strings.Repeat("é", 291), false, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractAnswer(tt.text, tt.boxed)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ExtractAnswer = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
			if n := NormalizeAnswer(got); n != tt.wantNrm {
				t.Errorf("NormalizeAnswer(%q) = %q, want %q", got, n, tt.wantNrm)
			}
		})
	}
}

func TestNormalizeAnswer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"42", "42"},
		{" 42 ", "42"},
		{"$1,000$", "1000"},
		{"1,000,000", "1000000"},
		{"1,2", "12"},      // digits and commas only: the commas go
		{"(1,2)", "(1,2)"}, // not only digits: kept
		{"x = 5", "5"},
		{"a=b=7", "7"},
		{`\boxed{7}`, "7"},
		{`$\boxed{7}$`, "7"},
		{`\text{7}`, "7"},
		{`5\text{ cm}`, "5"},
		{"12 inches", "12"},
		{"90^\\circ", "90"},
		{"90^{\\circ}", "90"},
		{"30 degrees", "30"},
		{`\$5`, "5"},
		{"5 dollars", "5"},
		{`\textbf{3}`, "3"},
		{`\overline{3}`, "3"},
		{`\frac12`, `\frac{1}{2}`},
		{`\sqrt2`, `\sqrt{2}`},
		{`\sqrt{2}`, `\sqrt{2}`},
		{`\mbox{ab}`, "ab"},
		{`(3\text{and}4)`, "(3,4)"},
		{`3\text{and}4`, "34"},         // "3,4" is digits and commas
		{"banana split", "banansplit"}, // the reference rules drop "a " inside words too
		{"the sum is $7$.", "7"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeAnswer(tt.in); got != tt.want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVerifiers(t *testing.T) {
	sortEx := Example{Prompt: "s3142=", Answer: "1234", Family: FamilySort, Level: 3}
	dapoEx := Example{Prompt: "How many?", Answer: "1000", Family: FamilyDAPO}
	tests := []struct {
		name       string
		v          Verifier
		ex         Example
		completion string
		want       bool
	}{
		{"exact", ExactMatch(), sortEx, "1234", true},
		{"exact trims", ExactMatch(), sortEx, " 1234\n", true},
		{"exact wrong", ExactMatch(), sortEx, "1243", false},
		{"exact no extra text", ExactMatch(), sortEx, "1234 done", false},
		{"exact empty", ExactMatch(), sortEx, "", false},
		{"dapo", MathDAPO(false), dapoEx, "think...\nAnswer: $1,000$", true},
		{"dapo wrong", MathDAPO(false), dapoEx, "Answer: 999", false},
		{"dapo no answer", MathDAPO(false), dapoEx, "1000", false},
		{"dapo boxed off", MathDAPO(false), dapoEx, `\boxed{1000}`, false},
		{"dapo boxed on", MathDAPO(true), dapoEx, `\boxed{1000}`, true},
		{"dapo reference normalized", MathDAPO(false), Example{Answer: "$1,000$"}, "Answer: 1000", true},
		{"dapo empty reference", MathDAPO(false), Example{Answer: "units"}, "Answer: ", false},
	}
	for _, tt := range tests {
		if got := tt.v.Correct(tt.ex, tt.completion); got != tt.want {
			t.Errorf("%s: Correct(%q) = %v, want %v", tt.name, tt.completion, got, tt.want)
		}
	}
}

func TestReward(t *testing.T) {
	tests := []struct {
		correct    bool
		convention string
		want       float64
	}{
		{true, RewardPM1, 1},
		{false, RewardPM1, -1},
		{true, Reward01, 1},
		{false, Reward01, 0},
	}
	for _, tt := range tests {
		if got := Reward(tt.correct, tt.convention); got != tt.want {
			t.Errorf("Reward(%v, %q) = %v, want %v", tt.correct, tt.convention, got, tt.want)
		}
		if err := CheckRewardConvention(tt.convention); err != nil {
			t.Errorf("CheckRewardConvention(%q): %v", tt.convention, err)
		}
	}
	if got := Reward(true, "pm"); !math.IsNaN(got) {
		t.Errorf("Reward with an unknown convention = %v, want NaN", got)
	}
	if err := CheckRewardConvention("pm"); err == nil {
		t.Error("CheckRewardConvention(\"pm\"): no error")
	}
}

func FuzzExtractAnswer(f *testing.F) {
	for _, s := range []string{"Answer: 42", `\boxed{\frac{1}{2}}`, "answer : $1,000$", "", "Answer:\n", `\boxed{`} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, boxed bool) {
		got, ok := ExtractAnswer(text, boxed)
		if !ok && got != "" {
			t.Errorf("ExtractAnswer(%q) = %q but not ok", text, got)
		}
		if ok && !strings.Contains(text, got) {
			t.Errorf("ExtractAnswer(%q) = %q, which is not in the text", text, got)
		}
		_ = NormalizeAnswer(got)
	})
}
