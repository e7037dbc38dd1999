// Package tasks supplies the prompts frontier trains on and the verifiers
// that grade its answers.
//
// RL with verifiable rewards needs three things from its data: prompts with a
// known reference answer, a rule that decides whether a completion is right,
// and (for difficulty-aware methods such as GDRO) prompts whose difficulty
// varies in a controlled way. This package provides them for two sources:
//
//   - Built-in synthetic families (sort, chain, count, sub, add) with levels
//     1..6 and a heavy-tailed level mix, so that a tiny model trained in
//     minutes already sees easy, medium and hopeless prompts (see
//     shared/design/demo-recipe.md). [Builtin] returns a finite training pool
//     (the GDRO classifier needs prompts it sees again, epoch after epoch)
//     and a held-out set stratified by (family, level) and disjoint from it.
//     [Sampler] draws fresh examples (for supervised warm-up) that avoid the
//     held-out set, and [Corpus] gives the strings a BPE tokenizer is
//     trained on.
//   - The DAPO-Math-17k format ("prompt" and "solution" columns) from JSON
//     lines or Parquet, graded with the answer extraction and normalization
//     of verl's math_dapo reward ([ExtractAnswer], [NormalizeAnswer],
//     [MathAnswer]).
//
// Rewards are +1/-1 or 1/0 ([RewardScheme]). The package is a leaf: it knows
// nothing of models, tokenizers or the RL loop, and everything it generates is
// a deterministic function of an explicit seed.
package tasks
