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
//     shared/design/demo-recipe.md). [NewBuiltin] returns a finite training
//     pool (the GDRO classifier needs prompts it sees again, epoch after
//     epoch) and a held-out set stratified by (family, level) and disjoint
//     from it. [Builtin.SFTExample] and [Builtin.SFTStream] draw fresh
//     examples for supervised warm-up that avoid the held-out set, and
//     [Builtin.Corpus] gives the strings a BPE tokenizer is trained on. These
//     are graded by [ExactMatch]. A [Teacher] can corrupt the supervised
//     answers at a rate that grows with the level, which gives RL a gap to
//     close that transfers to held-out prompts (docs/testbed.md).
//   - The DAPO-Math-17k format ("prompt" and "solution" columns) from JSON
//     lines or Parquet ([LoadDAPO]), graded by [MathDAPO] with the answer
//     extraction and normalization of verl's math_dapo reward
//     ([ExtractAnswer], [NormalizeAnswer]).
//
// Rewards are +1/-1 or 1/0 ([Reward]). The package is its own because it is a
// leaf: it knows nothing of models, tokenizers or the RL loop, so the data and
// the reward can be tested, and swapped, without them; everything it
// generates is a deterministic function of an explicit seed.
package tasks
