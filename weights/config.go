package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Config is the config.json of a Qwen3 model, with transformers' defaults
// filled in for absent fields by ParseConfig.
type Config struct {
	ModelType             string   `json:"model_type"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim"`
	RopeTheta             float64  `json:"rope_theta"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	InitializerRange      float64  `json:"initializer_range"`
	BOSTokenID            *int     `json:"bos_token_id,omitempty"`
	EOSTokenID            any      `json:"eos_token_id,omitempty"` // int or []int
	TorchDType            string   `json:"torch_dtype,omitempty"`
	Architectures         []string `json:"architectures,omitempty"`
	HiddenAct             string   `json:"hidden_act"`

	// Extra holds the fields of the file this package does not interpret
	// (attention_bias, rope_scaling, use_cache, transformers_version, ...),
	// so that Save writes them back unchanged.
	Extra map[string]json.RawMessage `json:"-"`
}

// Defaults of transformers' Qwen3Config (and PretrainedConfig) that
// ParseConfig and WithDefaults apply to absent fields.
const (
	DefaultRopeTheta             = 10000.0
	DefaultRMSNormEps            = 1e-6
	DefaultInitializerRange      = 0.02
	DefaultMaxPositionEmbeddings = 32768
	DefaultHiddenAct             = "silu"
	DefaultHeadDim               = 128
)

// configKeys are the config.json fields interpreted by ParseConfig; all
// others go to Config.Extra.
var configKeys = map[string]bool{
	"model_type": true, "vocab_size": true, "hidden_size": true, "intermediate_size": true,
	"num_hidden_layers": true, "num_attention_heads": true, "num_key_value_heads": true,
	"head_dim": true, "rope_theta": true, "rms_norm_eps": true, "tie_word_embeddings": true,
	"max_position_embeddings": true, "initializer_range": true, "bos_token_id": true,
	"eos_token_id": true, "torch_dtype": true, "dtype": true, "architectures": true, "hidden_act": true,
}

// LoadConfig reads and validates the config.json at path.
func LoadConfig(path string) (Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return Config{}, fmt.Errorf("weights: %s: is a directory, not a file: put the model's config.json there", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("weights: reading config: %w", err)
	}
	return ParseConfig(data, path)
}

// jsonFields decodes a JSON object into its fields; null fields are dropped,
// so that they read as absent.
func jsonFields(data []byte, source, what string) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineCol(data, syn.Offset)
			return nil, fmt.Errorf("weights: %s: not a valid %s: bad JSON at line %d, column %d: %v", source, what, line, col, err)
		}
		return nil, fmt.Errorf("weights: %s: not a valid %s: expected a JSON object of fields, found %s", source, what, jsonKind(data))
	}
	if raw == nil {
		return nil, fmt.Errorf("weights: %s: not a valid %s: expected a JSON object, found null", source, what)
	}
	for k, v := range raw {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(raw, k)
		}
	}
	return raw, nil
}

// lineCol returns the 1-based line and column of byte offset off in data.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// jsonKind names the kind of a JSON value, for errors.
func jsonKind(data []byte) string {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// field decodes raw[key] into dst if present and reports whether it was.
func field(raw map[string]json.RawMessage, key string, dst any, source string) (bool, error) {
	v, ok := raw[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return true, fmt.Errorf("weights: %s: field %q is %s: it must be %s", source, key, v, kindOf(dst))
	}
	return true, nil
}

// kindOf describes, for errors, the JSON value that decodes into dst.
func kindOf(dst any) string {
	switch dst.(type) {
	case *int, **int:
		return "a whole number"
	case *float64, **float64:
		return "a number"
	case *string:
		return "a string"
	case *bool, **bool:
		return "true or false"
	case *[]string:
		return "a list of strings"
	}
	return "of another kind"
}

// tokenIDs decodes a token id field that may be a single int or a list.
func tokenIDs(raw map[string]json.RawMessage, key, source string) ([]int, bool, error) {
	v, ok := raw[key]
	if !ok {
		return nil, false, nil
	}
	var one int
	if err := json.Unmarshal(v, &one); err == nil {
		return []int{one}, true, nil
	}
	var list []int
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, true, fmt.Errorf("weights: %s: field %q: %s is neither a token id nor a list of token ids", source, key, v)
	}
	return list, true, nil
}

// ParseConfig parses and validates a Qwen3 config.json; source names the
// file in errors. Absent optional fields get transformers' defaults.
func ParseConfig(data []byte, source string) (Config, error) {
	raw, err := jsonFields(data, source, "config.json")
	if err != nil {
		return Config{}, err
	}
	var c Config
	if ok, err := field(raw, "model_type", &c.ModelType, source); err != nil {
		return Config{}, err
	} else if !ok {
		return Config{}, fmt.Errorf("weights: %s: no model_type: frontier loads Qwen3 models only (model_type \"qwen3\")", source)
	}
	if c.ModelType != "qwen3" {
		return Config{}, fmt.Errorf("weights: %s: model_type is %q: frontier loads Qwen3 models only (model_type \"qwen3\")", source, c.ModelType)
	}
	required := []struct {
		key string
		dst *int
	}{
		{"vocab_size", &c.VocabSize},
		{"hidden_size", &c.HiddenSize},
		{"intermediate_size", &c.IntermediateSize},
		{"num_hidden_layers", &c.NumHiddenLayers},
		{"num_attention_heads", &c.NumAttentionHeads},
	}
	for _, r := range required {
		ok, err := field(raw, r.key, r.dst, source)
		if err != nil {
			return Config{}, err
		}
		if !ok {
			return Config{}, fmt.Errorf("weights: %s: required field %q is missing: add it to the config", source, r.key)
		}
		if *r.dst <= 0 {
			return Config{}, fmt.Errorf("weights: %s: field %q is %d: it must be positive", source, r.key, *r.dst)
		}
	}
	optional := []struct {
		key string
		dst any
	}{
		{"num_key_value_heads", &c.NumKeyValueHeads},
		{"head_dim", &c.HeadDim},
		{"rope_theta", &c.RopeTheta},
		{"rms_norm_eps", &c.RMSNormEps},
		{"tie_word_embeddings", &c.TieWordEmbeddings},
		{"max_position_embeddings", &c.MaxPositionEmbeddings},
		{"initializer_range", &c.InitializerRange},
		{"architectures", &c.Architectures},
		{"hidden_act", &c.HiddenAct},
		{"dtype", &c.TorchDType}, // newer transformers' name; torch_dtype wins
		{"torch_dtype", &c.TorchDType},
	}
	set := map[string]bool{}
	for _, o := range optional {
		ok, err := field(raw, o.key, o.dst, source)
		if err != nil {
			return Config{}, err
		}
		set[o.key] = ok
	}
	if ok, err := field(raw, "bos_token_id", &c.BOSTokenID, source); err != nil {
		return Config{}, err
	} else if !ok {
		c.BOSTokenID = nil
	}
	if ids, ok, err := tokenIDs(raw, "eos_token_id", source); err != nil {
		return Config{}, err
	} else if ok {
		if _, isList := rawIsList(raw["eos_token_id"]); isList {
			c.EOSTokenID = ids
		} else {
			c.EOSTokenID = ids[0]
		}
	}
	if !set["num_key_value_heads"] {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if !set["head_dim"] {
		// transformers' Qwen3Config defaults the argument to 128 (not
		// hidden/heads, the fallback of its attention code for configs
		// without the attribute); every Qwen3 release writes it anyway.
		c.HeadDim = DefaultHeadDim
	}
	if !set["rope_theta"] {
		c.RopeTheta = DefaultRopeTheta
	}
	if !set["rms_norm_eps"] {
		c.RMSNormEps = DefaultRMSNormEps
	}
	if !set["max_position_embeddings"] {
		c.MaxPositionEmbeddings = DefaultMaxPositionEmbeddings
	}
	if !set["initializer_range"] {
		c.InitializerRange = DefaultInitializerRange
	}
	if !set["hidden_act"] {
		c.HiddenAct = DefaultHiddenAct
	}
	for k, v := range raw {
		if !configKeys[k] {
			if c.Extra == nil {
				c.Extra = map[string]json.RawMessage{}
			}
			c.Extra[k] = v
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("weights: %s: %w", source, errors.Unwrap(err))
	}
	return c, nil
}

// rawIsList reports whether a JSON value is an array.
func rawIsList(v json.RawMessage) (json.RawMessage, bool) {
	t := bytes.TrimSpace(v)
	return t, len(t) > 0 && t[0] == '['
}

// WithDefaults returns c with zero fields set as transformers' Qwen3Config
// would set them when absent: model_type "qwen3", kv heads = heads, head_dim
// 128, rope_theta 1e4, rms_norm_eps 1e-6, max_position_embeddings
// 32768, initializer_range 0.02, hidden_act "silu". It suits a Config built
// in code rather than read from a file.
func (c Config) WithDefaults() Config {
	if c.ModelType == "" {
		c.ModelType = "qwen3"
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 {
		c.HeadDim = DefaultHeadDim
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = DefaultRopeTheta
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = DefaultRMSNormEps
	}
	if c.MaxPositionEmbeddings == 0 {
		c.MaxPositionEmbeddings = DefaultMaxPositionEmbeddings
	}
	if c.InitializerRange == 0 {
		c.InitializerRange = DefaultInitializerRange
	}
	if c.HiddenAct == "" {
		c.HiddenAct = DefaultHiddenAct
	}
	return c
}

// configError is a Validate error; ParseConfig unwraps it to name the file.
type configError struct{ err error }

func (e configError) Error() string { return "weights: config: " + e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// Validate checks that c describes a Qwen3 model frontier can build.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return configError{fmt.Errorf(format, args...)}
	}
	if c.ModelType != "qwen3" {
		return bad("model_type is %q: frontier loads Qwen3 models only (model_type \"qwen3\")", c.ModelType)
	}
	positive := []struct {
		key string
		v   int
	}{
		{"vocab_size", c.VocabSize},
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads},
		{"head_dim", c.HeadDim},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return bad("field %q is %d: it must be positive", p.key, p.v)
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return bad("num_attention_heads %d is not a multiple of num_key_value_heads %d: grouped-query attention needs whole groups", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		return bad("head_dim %d is odd: rotary embeddings need an even head_dim", c.HeadDim)
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return bad("rope_theta is %v: it must be a positive number", c.RopeTheta)
	}
	if !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0) {
		return bad("rms_norm_eps is %v: it must be a positive number", c.RMSNormEps)
	}
	if !(c.InitializerRange >= 0) || math.IsInf(c.InitializerRange, 0) {
		return bad("initializer_range is %v: it must be a non-negative number", c.InitializerRange)
	}
	if c.HiddenAct != "silu" {
		return bad("hidden_act is %q: Qwen3 in frontier supports \"silu\" only", c.HiddenAct)
	}
	// The largest weight matrices must have an element count that fits in
	// an int, whatever the platform.
	for _, m := range []struct {
		what string
		a, b int
	}{
		{"embed_tokens", c.VocabSize, c.HiddenSize},
		{"mlp", c.IntermediateSize, c.HiddenSize},
		{"q_proj", c.NumAttentionHeads * c.HeadDim, c.HiddenSize},
	} {
		if m.a > math.MaxInt32 || m.b > math.MaxInt32 || int64(m.a) > math.MaxInt/int64(m.b) {
			return bad("%s weight [%d, %d] is too large", m.what, m.a, m.b)
		}
	}
	if c.BOSTokenID != nil && *c.BOSTokenID < 0 {
		return bad("bos_token_id is %d: token ids are non-negative", *c.BOSTokenID)
	}
	ids, err := eosIDs(c.EOSTokenID)
	if err != nil {
		return bad("eos_token_id: %v", err)
	}
	for _, id := range ids {
		if id < 0 {
			return bad("eos_token_id %d: token ids are non-negative", id)
		}
	}
	if v, ok := c.Extra["attention_bias"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("false")) {
		return bad("attention_bias is %s: frontier's Qwen3 has no attention biases", v)
	}
	if v, ok := c.Extra["rope_scaling"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return bad("rope_scaling is %s: frontier supports plain RoPE only (set it to null)", v)
	}
	if v, ok := c.Extra["use_sliding_window"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("false")) {
		return bad("use_sliding_window is %s: frontier supports full causal attention only", v)
	}
	return nil
}

// eosIDs normalises an eos_token_id value (int, []int or the types JSON
// decoding into `any` gives) to a list.
func eosIDs(v any) ([]int, error) {
	asInt := func(f float64) (int, error) {
		if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			return 0, fmt.Errorf("%v is not a token id", f)
		}
		return int(f), nil
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case int:
		return []int{v}, nil
	case int32:
		return []int{int(v)}, nil
	case int64:
		return []int{int(v)}, nil
	case float64:
		id, err := asInt(v)
		return []int{id}, err
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("%v is not a token id", v)
		}
		id, err := asInt(f)
		return []int{id}, err
	case []int:
		return append([]int(nil), v...), nil
	case []int32:
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out, nil
	case []int64:
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out, nil
	case []any:
		out := make([]int, 0, len(v))
		for _, x := range v {
			ids, err := eosIDs(x)
			if err != nil || len(ids) != 1 {
				return nil, fmt.Errorf("%v is not a token id", x)
			}
			out = append(out, ids[0])
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v (%T) is neither a token id nor a list of token ids", v, v)
}

// EOSIDs returns the end-of-sequence token ids (empty if none are set).
func (c Config) EOSIDs() []int {
	ids, _ := eosIDs(c.EOSTokenID)
	return ids
}

// Save validates c and writes it to path atomically as indented JSON, with
// model_type "qwen3" and architectures ["Qwen3ForCausalLM"], the fields of
// Extra, and keys sorted as transformers writes them.
func (c Config) Save(path string) error {
	c.ModelType = "qwen3"
	c.Architectures = []string{"Qwen3ForCausalLM"}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("weights: %s: not saving an invalid config: %w", path, errors.Unwrap(err))
	}
	out := map[string]any{}
	for k, v := range c.Extra {
		out[k] = v
	}
	out["model_type"] = c.ModelType
	out["architectures"] = c.Architectures
	out["vocab_size"] = c.VocabSize
	out["hidden_size"] = c.HiddenSize
	out["intermediate_size"] = c.IntermediateSize
	out["num_hidden_layers"] = c.NumHiddenLayers
	out["num_attention_heads"] = c.NumAttentionHeads
	out["num_key_value_heads"] = c.NumKeyValueHeads
	out["head_dim"] = c.HeadDim
	out["rope_theta"] = c.RopeTheta
	out["rms_norm_eps"] = c.RMSNormEps
	out["tie_word_embeddings"] = c.TieWordEmbeddings
	out["max_position_embeddings"] = c.MaxPositionEmbeddings
	out["initializer_range"] = c.InitializerRange
	out["hidden_act"] = c.HiddenAct
	if c.BOSTokenID != nil {
		out["bos_token_id"] = *c.BOSTokenID
	}
	if ids := c.EOSIDs(); len(ids) > 0 {
		switch c.EOSTokenID.(type) {
		case int, int64, float64, json.Number:
			out["eos_token_id"] = ids[0]
		default:
			out["eos_token_id"] = ids
		}
	}
	if c.TorchDType != "" {
		out["torch_dtype"] = c.TorchDType
	}
	qwen3Fields(out, c)
	return saveJSON(path, out)
}

// qwen3Fields sets the fields Qwen3's own config.json writes that frontier
// does not interpret, so that readers such as transformers never fall back
// on their own defaults: full attention (use_sliding_window false,
// sliding_window null: transformers otherwise assumes a 4096 window and
// warns that sliding-window attention is not implemented), no attention
// bias or dropout, no RoPE scaling, max_window_layers equal to the layer
// count as in Qwen3's releases, and use_cache true. A value of Extra is
// kept, except sliding_window, which is always null because frontier
// attends over the whole sequence (Validate refuses use_sliding_window
// true, attention_bias true and a non-null rope_scaling).
func qwen3Fields(out map[string]any, c Config) {
	defaults := map[string]any{
		"use_sliding_window": false,
		"attention_bias":     false,
		"attention_dropout":  0.0,
		"max_window_layers":  c.NumHiddenLayers,
		"use_cache":          true,
	}
	for k, v := range defaults {
		if _, ok := c.Extra[k]; !ok {
			out[k] = v
		}
	}
	out["sliding_window"] = nil
	out["rope_scaling"] = nil
}

// saveJSON writes v as indented JSON, keys sorted, atomically.
func saveJSON(path string, v map[string]any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("weights: %s: encoding JSON: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o644)
}
