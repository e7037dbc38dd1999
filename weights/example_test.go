package weights_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/frontier-rl/frontier/weights"
)

// Write a checkpoint directory as BF16 and read a tensor back.
func ExampleOpenDir() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	norm := weights.Tensor{Name: "model.norm.weight", Shape: []int{4}, Data: []float32{1, 0.5, 1.001, -2}}
	if err := weights.WriteSharded(dir, []weights.Tensor{norm}, weights.BF16, weights.DefaultMaxShardBytes); err != nil {
		log.Fatal(err)
	}
	ck, err := weights.OpenDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer ck.Close()
	v, shape, err := ck.Float32("model.norm.weight")
	if err != nil {
		log.Fatal(err)
	}
	info, _ := ck.Info("model.norm.weight")
	fmt.Println(filepath.Base(ck.Files()[0]), info.DType, shape, v)
	// Output: model.safetensors BF16 [4] [1 0.5 1 -2]
}

// Read a Qwen3 config.json; head_dim comes from the file when it is there.
func ExampleLoadConfig() {
	cfg, err := weights.LoadConfig("../testdata/qwen3-tiny/tied/config.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.TieWordEmbeddings, cfg.EOSIDs())
	// Output: 4 2 32 true [2]
}
