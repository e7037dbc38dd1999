// Package rl post-trains a Qwen3 model: a supervised warm start (SFT on
// answer tokens), then GRPO with the GDRO controllers wired into the loss
// step, the pass@k evaluation, and the run state that lets a run stop and
// resume exactly.
//
// One GRPO step (Trainer.TrainStep) follows the design note's loop as named
// stages over one batch value, which holds each prompt group and each
// rollout's row (prompt, tokens, reward, advantage, weight, bin, loss):
//
//  1. take N prompts from the training pool (seeded epochs over the pool);
//  2. classify: the difficulty classifier labels each with its bin
//     (history only);
//  3. allocate: the rollout allocator (fixed, Rollout-GDRO or the
//     square-root rule) gives each bin its rollout count at a fixed mean
//     budget;
//  4. generate: n_i completions per prompt, keeping the sampling log-probs;
//  5. score: verify each completion (reward ±1 or 1/0) and take GRPO
//     advantages per prompt group, clipped to ±5;
//  6. refill (DAPO's dynamic sampling, when on): drop the groups whose
//     rewards are all equal and generate more prompts, for a bounded number
//     of rounds, until N groups remain; every generated rollout counts;
//  7. weigh: Prompt-GDRO gives each response its bin weight, which
//     multiplies its advantage in the loss;
//  8. update: PPO minibatches: forward the packed batch, token-mean clipped
//     surrogate (clip-low / clip-high), optional k3 KL to a frozen
//     reference (with verl's log-ratio and KL clamps and dual-clip as
//     options), backward, gradient clipping, AdamW; each response's
//     surrogate loss is recorded for GDRO;
//  9. observe: update Prompt-GDRO's scores, Rollout-GDRO's arms and shadow
//     price (or the square-root allocator's variances) and the classifier;
//  10. metrics: the step's figures, by the names of ARCHITECTURE.md.
//
// Trainer.Probe runs the optional probe pass before RL: one generation
// pass over the pool (generate and score as in a step) that seeds the
// classifier through the same update as the observe stage.
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
