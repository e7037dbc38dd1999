// Command train post-trains a Qwen3 model with GRPO and GDRO. With no
// arguments it runs the built-in small experiment on the CPU.
package main

import "fmt"

func main() {
	fmt.Println("frontier: the training loop is not built yet")
}
