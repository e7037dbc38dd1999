package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontier-rl/frontier/kernels"
	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/rl"
	"github.com/frontier-rl/frontier/tasks"
	"github.com/frontier-rl/frontier/tokenizer"
	"github.com/frontier-rl/frontier/weights"
)

// Special tokens of the tiny built-in tokenizer; the first is the EOS id.
var tinySpecials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// world is everything a run trains on.
type world struct {
	m       *model.Model
	tok     *tokenizer.Tokenizer
	files   map[string][]byte // tokenizer.json etc., written into every checkpoint
	eos     []int32
	train   []rl.Item
	heldOut []rl.Item
	env     rl.Env
	builtin bool
	tasks   *tasks.Builtin // the built-in task set; nil with -data
}

// toInt32 converts token ids.
func toInt32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, v := range ids {
		out[i] = int32(v)
	}
	return out
}

// loadTasks returns the training and held-out examples: the built-in tasks,
// or DAPO-format files.
func loadTasks(o *Options) (train, heldOut []tasks.Example, builtin *tasks.Builtin, err error) {
	if o.Data != "" {
		if train, err = tasks.LoadDAPO(o.Data); err != nil {
			return nil, nil, nil, err
		}
		if o.EvalData != "" {
			if heldOut, err = tasks.LoadDAPO(o.EvalData); err != nil {
				return nil, nil, nil, err
			}
		}
		return train, heldOut, nil, nil
	}
	b, err := tasks.NewBuiltin(o.builtinConfig())
	if err != nil {
		return nil, nil, nil, err
	}
	return b.Pool, b.HeldOut, b, nil
}

// builtinConfig is the built-in task set the flags ask for.
func (o *Options) builtinConfig() tasks.BuiltinConfig {
	cfg := tasks.DefaultBuiltinConfig()
	cfg.Seed = o.Seed
	cfg.PoolSize = o.Pool
	cfg.HeldOutPerCell = o.HeldOutPerCell
	cfg.Families = nil
	for _, f := range strings.Split(o.Families, ",") {
		cfg.Families = append(cfg.Families, strings.TrimSpace(f))
	}
	return cfg
}

// buildWorld loads or builds the model and tokenizer and tokenizes the data.
// from is a checkpoint directory to load the model and tokenizer from (a
// resumed run), or "".
func buildWorld(o *Options, b kernels.Backend, from string) (*world, error) {
	trainEx, heldEx, builtin, err := loadTasks(o)
	if err != nil {
		return nil, err
	}
	w := &world{files: map[string][]byte{}, builtin: builtin != nil, tasks: builtin}
	modelDir := o.ModelDir
	if from != "" {
		modelDir = from
	}
	switch {
	case modelDir != "":
		if w.m, err = model.Load(modelDir, b); err != nil {
			return nil, err
		}
		tokPath := filepath.Join(modelDir, "tokenizer.json")
		if w.tok, err = tokenizer.Load(tokPath); err != nil {
			return nil, fmt.Errorf("%w (a model directory needs its tokenizer.json)", err)
		}
		for _, f := range []string{"tokenizer.json", "tokenizer_config.json", weights.GenerationConfigFileName} {
			if data, err := os.ReadFile(filepath.Join(modelDir, f)); err == nil {
				w.files[f] = data
			}
		}
		if w.eos, err = eosIDs(modelDir, w.tok); err != nil {
			return nil, err
		}
	default:
		// The built-in experiment: a BPE tokenizer trained on the task
		// corpus and a tiny random Qwen3.
		if builtin == nil {
			return nil, fmt.Errorf("-data needs -model: a tokenizer and model matching the data")
		}
		if w.tok, err = tokenizer.Train(builtin.Corpus(), tokenizer.TrainConfig{VocabSize: o.Vocab, Special: tinySpecials}); err != nil {
			return nil, err
		}
		eos, _ := w.tok.TokenID(tinySpecials[0])
		eosID := eos
		cfg := weights.Config{
			ModelType: "qwen3", VocabSize: w.tok.VocabSize(), HiddenSize: o.Hidden, IntermediateSize: o.Intermediate,
			NumHiddenLayers: o.Layers, NumAttentionHeads: o.Heads, NumKeyValueHeads: o.KVHeads, HeadDim: o.HeadDim,
			RopeTheta: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: true, MaxPositionEmbeddings: 512,
			InitializerRange: 0.02, HiddenAct: "silu", EOSTokenID: eosID, BOSTokenID: &eosID,
		}
		if w.m, err = model.New(cfg, b); err != nil {
			return nil, err
		}
		w.m.InitRandom(o.Seed)
		w.eos = []int32{int32(eos)}
		// Enough for transformers' AutoTokenizer to load tokenizer.json.
		w.files["tokenizer_config.json"] = []byte(fmt.Sprintf("{\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n  \"eos_token\": %q,\n  \"model_max_length\": %d\n}\n", tinySpecials[0], cfg.MaxPositionEmbeddings))
	}
	if len(w.eos) == 0 {
		return nil, fmt.Errorf("%s: no EOS token id in generation_config.json or config.json: completions could never end", modelDir)
	}
	if _, ok := w.files["tokenizer.json"]; !ok {
		var sb strings.Builder
		if err := w.tok.WriteJSON(&sb); err != nil {
			return nil, err
		}
		w.files["tokenizer.json"] = []byte(sb.String())
	}
	if _, ok := w.files[weights.GenerationConfigFileName]; !ok {
		w.files[weights.GenerationConfigFileName] = generationConfigJSON(w.eos)
	}
	prompt := func(ex tasks.Example) []int32 {
		if w.builtin {
			return toInt32(w.tok.Encode(ex.Prompt))
		}
		text := tokenizer.RenderChat([]tokenizer.Message{{Role: "user", Content: ex.Prompt}}, true, o.Thinking)
		return toInt32(w.tok.Encode(text))
	}
	for _, ex := range trainEx {
		w.train = append(w.train, rl.Item{Ex: ex, Prompt: prompt(ex)})
	}
	for _, ex := range heldEx {
		w.heldOut = append(w.heldOut, rl.Item{Ex: ex, Prompt: prompt(ex)})
	}
	verifier := tasks.ExactMatch()
	if !w.builtin {
		verifier = tasks.MathDAPO(o.BoxedOK)
	}
	tok := w.tok
	w.env = rl.Env{Verifier: verifier, EOS: w.eos, Decode: func(ids []int32) string {
		out := make([]int, len(ids))
		for i, v := range ids {
			out[i] = int(v)
		}
		return tok.Decode(out)
	}}
	return w, nil
}

// eosIDs takes the EOS ids from generation_config.json and config.json,
// else the tokenizer's <|im_end|> and <|endoftext|>.
func eosIDs(dir string, tok *tokenizer.Tokenizer) ([]int32, error) {
	ids, err := weights.EOSIDs(dir)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
			if id, ok := tok.TokenID(s); ok {
				ids = append(ids, id)
			}
		}
	}
	return toInt32(ids), nil
}

// generationConfigJSON writes a minimal generation_config.json.
func generationConfigJSON(eos []int32) []byte {
	var parts []string
	for _, e := range eos {
		parts = append(parts, fmt.Sprint(e))
	}
	return []byte(fmt.Sprintf("{\n  \"eos_token_id\": [%s],\n  \"do_sample\": true,\n  \"temperature\": 0.6,\n  \"top_p\": 0.8,\n  \"top_k\": 20\n}\n", strings.Join(parts, ", ")))
}
