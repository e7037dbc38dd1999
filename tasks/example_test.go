package tasks_test

import (
	"fmt"

	"github.com/frontier-rl/frontier/tasks"
)

func ExampleNewBuiltin() {
	b, err := tasks.NewBuiltin(tasks.DefaultBuiltinConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ex := range b.Pool[:3] {
		fmt.Printf("%s %s level %d: %s%s\n", ex.ID, ex.Family, ex.Level, ex.Prompt, ex.Answer)
	}
	fmt.Println(len(b.Pool), "pool prompts,", len(b.HeldOut), "held out")
	// Output:
	// pool-0 chain level 3: 1+8+9+2=20
	// pool-1 add level 4: a8311+1952=36201
	// pool-2 count level 6: c2:01920827642220=5
	// 512 pool prompts, 946 held out
}

func ExampleMathDAPO() {
	ex := tasks.Example{Prompt: "How many cents are in ten dollars?", Answer: "1000"}
	completion := "Ten dollars is 10 x 100 cents.\nAnswer: $1,000$"
	correct := tasks.MathDAPO(false).Correct(ex, completion)
	fmt.Println(correct, tasks.Reward(correct, tasks.RewardPM1))
	// Output: true 1
}

func ExampleExtractAnswer() {
	answer, ok := tasks.ExtractAnswer("so x = 5.\nAnswer: x = 5", false)
	fmt.Printf("%q %v %q\n", answer, ok, tasks.NormalizeAnswer(answer))
	// Output: "x = 5" true "5"
}
