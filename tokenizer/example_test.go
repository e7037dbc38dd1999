package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/frontier-rl/frontier/tokenizer"
)

func ExampleLoad() {
	tok, err := tokenizer.Load("testdata/tokenizer.json.gz")
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("Hello world")
	fmt.Println(ids, tok.Decode(ids))
	// Output: [9707 1879] Hello world
}

func ExampleRenderChat() {
	msgs := []tokenizer.Message{{Role: "user", Content: "What is 2+2?"}}
	fmt.Printf("%q\n", tokenizer.RenderChat(msgs, true, false))
	// Output: "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
}

func ExampleTrain() {
	corpus := []string{"3+5+2=10", "s3142=1234", "12+30=42"}
	tok, err := tokenizer.Train(corpus, tokenizer.TrainConfig{VocabSize: 300, Special: []string{"<|im_end|>"}})
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("3+5=8<|im_end|>")
	fmt.Println(tok.VocabSize(), ids, tok.Decode(ids))
	// Output: 257 [18 10 20 28 23 256] 3+5=8<|im_end|>
}

func ExampleStreamDecoder() {
	// A tokenizer with no merges: every byte is a token of its own.
	tok, err := tokenizer.Train(nil, tokenizer.TrainConfig{VocabSize: 256})
	if err != nil {
		log.Fatal(err)
	}
	d := tok.NewStreamDecoder()
	for _, id := range tok.Encode("a你") {
		fmt.Printf("%q ", d.Add(id))
	}
	fmt.Printf("%q\n", d.Flush())
	// Output: "a" "" "" "你" ""
}
