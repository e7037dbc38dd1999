// Package rl post-trains a Qwen3 model: a supervised warm start (SFT on
// answer tokens), then GRPO with the GDRO controllers wired into the loss
// step, the pass@k evaluation, and the run state that lets a run stop and
// resume exactly.
//
// One GRPO step (Trainer.Step) follows the design note's loop:
//
//  1. take N prompts from the training pool (seeded epochs over the pool);
//  2. the difficulty classifier labels each with its bin (history only);
//  3. the rollout allocator (fixed, Rollout-GDRO or the square-root rule)
//     gives each bin its rollout count at a fixed mean budget;
//  4. generate n_i completions per prompt, keeping the sampling log-probs;
//  5. verify each completion: reward ±1 (or 1/0);
//  6. GRPO advantages per prompt group, clipped to ±5;
//  7. Prompt-GDRO multiplies each response's advantage by its bin weight;
//  8. PPO minibatches: forward the packed batch, token-mean clipped
//     surrogate (clip-low / clip-high), optional k3 KL to a frozen
//     reference, backward, gradient clipping, AdamW; each response's
//     surrogate loss is recorded for GDRO;
//  9. update the classifier, Prompt-GDRO's scores, Rollout-GDRO's arms and
//     shadow price (or the square-root allocator's variances).
//
// Where this departs from textbook GRPO:
//
//  1. The PPO ratio's π_old is the sampler's own log-probability (computed
//     during decoding), not a recomputation by a second forward pass; the two
//     agree to float32 rounding.
//  2. Log-probabilities are taken at temperature 1 whatever the sampling
//     temperature (the default training temperature is 1, as in the paper's
//     code).
//  3. A response that ends without an EOS id (truncated) is wrong.
package rl
