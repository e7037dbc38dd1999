package gdro_test

import (
	"fmt"

	"github.com/frontier-rl/frontier/gdro"
)

func ExampleClassifier() {
	cls, err := gdro.NewClassifier(gdro.DefaultClassifierConfig())
	if err != nil {
		panic(err)
	}
	fmt.Println("unseen:", cls.Bin("prompt-7"))
	// 3 of this step's 8 rollouts were correct: pass@2 from (21).
	v, err := gdro.StepStat(gdro.StatPassK, 8, 3, 2)
	if err != nil {
		panic(err)
	}
	if err := cls.Observe("prompt-7", v); err != nil {
		panic(err)
	}
	fmt.Printf("p̂ = %.4f, bin %d\n", v, cls.Bin("prompt-7"))
	// Output:
	// unseen: 0
	// p̂ = 0.6429, bin 6
}

func ExamplePromptGDRO() {
	p, err := gdro.NewPromptGDRO(gdro.DefaultPromptConfig(), 3)
	if err != nil {
		panic(err)
	}
	bins := []int{0, 0, 1, 1, 2, 2}
	// The error-rate fallback signal: bin means are 1 - accuracy, so the
	// scores are 1, 0.5 and 0, divided by the shares 1/3 (6): 3, 1.5, 0.
	correct := []bool{false, false, false, true, true, true}
	if err := p.Update(bins, gdro.ErrorLoss(correct)); err != nil {
		panic(err)
	}
	w := p.Weights(bins)
	fmt.Printf("%.3f\n", w)
	// Output:
	// [1.965 1.965 0.747 0.747 0.288 0.288]
}

func ExampleRolloutGDRO_Choose() {
	r, err := gdro.NewRolloutGDRO(gdro.DefaultRolloutConfig(), 10)
	if err != nil {
		panic(err)
	}
	// 6 prompts in bin 0, 2 in bin 9: 8 prompts × n̄ = 4 rollouts in all.
	n, err := r.Choose(map[int]int{0: 6, 9: 2}, 8)
	if err != nil {
		panic(err)
	}
	fmt.Println(n)
	// Output:
	// map[0:4 9:4]
}
