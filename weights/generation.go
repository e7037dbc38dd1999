package weights

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// GenerationConfigFileName is the standard name of a model directory's
// sampling defaults.
const GenerationConfigFileName = "generation_config.json"

// GenerationConfig holds the fields of a generation_config.json that
// frontier uses. Pointer fields are nil when the file does not set them.
type GenerationConfig struct {
	// EOSTokenIDs lists the end-of-sequence ids; the file may give one id
	// or a list. Empty when the file sets none.
	EOSTokenIDs []int
	BOSTokenID  *int
	PadTokenID  *int
	DoSample    *bool
	Temperature *float64
	TopP        *float64
	TopK        *int
}

// LoadGenerationConfig reads and validates the generation_config.json at
// path.
func LoadGenerationConfig(path string) (GenerationConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return GenerationConfig{}, fmt.Errorf("weights: reading generation config: %w", err)
	}
	return ParseGenerationConfig(data, path)
}

// ParseGenerationConfig parses a generation_config.json; source names the
// file in errors. Fields other than those of GenerationConfig are ignored.
func ParseGenerationConfig(data []byte, source string) (GenerationConfig, error) {
	raw, err := jsonFields(data, source, "generation_config.json")
	if err != nil {
		return GenerationConfig{}, err
	}
	var g GenerationConfig
	ids, _, err := tokenIDs(raw, "eos_token_id", source)
	if err != nil {
		return GenerationConfig{}, err
	}
	for _, id := range ids {
		if id < 0 {
			return GenerationConfig{}, fmt.Errorf("weights: %s: field \"eos_token_id\": %d is negative: token ids are non-negative", source, id)
		}
	}
	g.EOSTokenIDs = ids
	fields := []struct {
		key string
		dst any
	}{
		{"bos_token_id", &g.BOSTokenID},
		{"pad_token_id", &g.PadTokenID},
		{"do_sample", &g.DoSample},
		{"temperature", &g.Temperature},
		{"top_p", &g.TopP},
		{"top_k", &g.TopK},
	}
	for _, f := range fields {
		if _, err := field(raw, f.key, f.dst, source); err != nil {
			return GenerationConfig{}, err
		}
	}
	for _, id := range []struct {
		key string
		v   *int
	}{{"bos_token_id", g.BOSTokenID}, {"pad_token_id", g.PadTokenID}} {
		if id.v != nil && *id.v < 0 {
			return GenerationConfig{}, fmt.Errorf("weights: %s: field %q: %d is negative: token ids are non-negative", source, id.key, *id.v)
		}
	}
	if t := g.Temperature; t != nil && (*t < 0 || math.IsInf(*t, 0)) {
		return GenerationConfig{}, fmt.Errorf("weights: %s: field \"temperature\": %v must be a non-negative number", source, *t)
	}
	if p := g.TopP; p != nil && !(*p > 0 && *p <= 1) {
		return GenerationConfig{}, fmt.Errorf("weights: %s: field \"top_p\": %v must be in (0, 1]", source, *p)
	}
	if k := g.TopK; k != nil && *k < 0 {
		return GenerationConfig{}, fmt.Errorf("weights: %s: field \"top_k\": %d must be non-negative (0 turns top-k off)", source, *k)
	}
	return g, nil
}

// EOSIDs returns the end-of-sequence ids of the model directory dir: those
// of generation_config.json followed by any further ones of config.json, so
// that decoding stops at every id either file names. A missing file adds
// nothing; a malformed one is an error. The result is empty if neither file
// names an id.
func EOSIDs(dir string) ([]int, error) {
	var ids []int
	add := func(more []int) {
		for _, id := range more {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	g, err := LoadGenerationConfig(filepath.Join(dir, GenerationConfigFileName))
	switch {
	case err == nil:
		add(g.EOSTokenIDs)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	c, err := LoadConfig(filepath.Join(dir, "config.json"))
	switch {
	case err == nil:
		add(c.EOSIDs())
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return ids, nil
}
