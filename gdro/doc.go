// Package gdro holds the group distributionally robust controllers that
// frontier wires into GRPO: an online difficulty classifier, Prompt-GDRO
// (which reweights advantages per difficulty bin), Rollout-GDRO (which moves
// rollouts between bins at a fixed mean budget) and a square-root allocator
// (a deterministic alternative to Rollout-GDRO).
//
// The rules follow Panaganti et al., "Group Distributionally Robust
// Optimization-Driven Reinforcement Learning for LLM Reasoning"
// (arXiv:2601.19280, 2026) and the authors' released code, with the choices
// recorded in frontier's design note on GDRO. Equation numbers in comments,
// written (n), refer to that note:
//
//	(1)-(4)   Classifier, StepStat            difficulty bins with hysteresis
//	(5), (20) SurrogateTerm, ResponseLoss     per-token and per-response surrogate
//	sec. 10.3 ErrorLoss                       error-rate fallback signal
//	(6)-(10)  PromptGDRO, ExpWeights          EMA scores, exponential weights
//	(11)      Reweight                        advantages times weights
//	(12)-(17) RolloutGDRO                     arm scores, exact-budget choice
//	(18)      VarianceLoss, SquaredStdErr     variance signal for Rollout-GDRO
//	(18)      SqrtAllocator, VarProxy         square-root law
//	(21)      PassAtK                         unbiased pass@k
//
// The loss signal of both games is one of SignalLoss, SignalError and
// SignalVariance (ResolveSignal settles SignalAuto). CheckRolloutSignal
// refuses Rollout-GDRO with the code's sign and a signal that is never
// negative, which is fixed allocation.
//
// What a plot of the controllers needs each step is read through small
// accessors: PromptGDRO.BinWeights and Scores, RolloutGDRO.LastCounts,
// LastRollouts, ShadowPrice and ArmProbs, SqrtAllocator.LastCounts,
// LastRollouts and Variances, and Classifier.Occupancy.
//
// The package is pure arithmetic over small slices and maps: it knows
// nothing of the model or of RL, uses no random numbers and no global
// state, and every controller serializes to JSON and restores bit for bit
// (encoding/json writes float64 values in a form that parses back exactly),
// so that a resumed run continues exactly as an uninterrupted one.
//
// A step of training uses the controllers in this order:
//
//	bins[i] = cls.Bin(id[i])                      // before generation
//	n, _ := rollout.Choose(counts, len(ids))      // or sqrt.Choose, or fixed n
//	... generate, reward, GRPO advantages ...
//	w := prompt.Weights(respBins)                 // (10)
//	gdro.Reweight(adv, w)                         // (11)
//	... PPO minibatches, recording per-response losses (SurrogateTerm) ...
//	prompt.Update(respBins, losses)               // or ErrorLoss, VarianceLoss
//	rollout.Update(n, respBins, losses)           // n̂ comes from n, not losses
//	sqrt.ObserveGroups(bins, rewardsByPrompt)
//	v, _ := gdro.StepStat("any", n_i, correct_i, k); cls.Observe(id[i], v)
package gdro
