package gdro

import (
	"fmt"
	"math"
)

// The per-response loss signals that PromptGDRO.Update and
// RolloutGDRO.Update accept, by the names a trainer's -gdro-signal flag
// uses. Each has one definition in this file.
const (
	// SignalLoss is the clipped surrogate (5) of each response, recorded
	// as its PPO minibatch is processed (ResponseLoss, SurrogateTerm). It
	// is 0 on-policy, so only minibatches 2..M carry it, and it can be
	// negative.
	SignalLoss = "loss"
	// SignalError is the error indicator 1 - c of each response
	// (ErrorLoss): a bin's mean is its error rate. Never negative.
	SignalError = "error"
	// SignalVariance is each response's prompt's squared standard error,
	// s²/n (VarianceLoss), an estimate of the prompt's term v_b/n_b of the
	// variance proxy (18). Never negative. It needs no PPO minibatch, so it
	// covers every response of the step.
	SignalVariance = "variance"
	// SignalAuto is SignalLoss with at least 2 minibatches per step and
	// SignalError with one (design note, decision on the loss signal).
	SignalAuto = "auto"
)

// ResolveSignal returns the signal a step uses for the named one, given
// the PPO minibatches per step: SignalAuto becomes SignalLoss with at
// least 2 minibatches and SignalError with 1. It refuses an unknown name
// and SignalLoss with a single minibatch, whose surrogate is 0 on-policy.
func ResolveSignal(signal string, minibatches int) (string, error) {
	if minibatches < 1 {
		return "", fmt.Errorf("gdro: %d minibatches per step, want at least 1", minibatches)
	}
	switch signal {
	case SignalAuto:
		if minibatches >= 2 {
			return SignalLoss, nil
		}
		return SignalError, nil
	case SignalLoss:
		if minibatches < 2 {
			return "", fmt.Errorf("gdro: -gdro-signal %s needs at least 2 minibatches per step (the surrogate (5) is 0 on-policy): use -gdro-signal %s or %s, or more minibatches", SignalLoss, SignalError, SignalVariance)
		}
		return SignalLoss, nil
	case SignalError, SignalVariance:
		return signal, nil
	}
	return "", fmt.Errorf("gdro: -gdro-signal %q: want %s, %s, %s or %s", signal, SignalLoss, SignalError, SignalVariance, SignalAuto)
}

// CheckRolloutSignal refuses the Rollout-GDRO settings that silently give
// fixed allocation: the code's feedback sign (16),
// s_b(n_b) += ℓ̄_b - μ(n_b - n̄), with a signal that is never negative
// (error, variance, or auto with one minibatch). Every chosen arm's score
// then only grows, the deterministic choice (15) repeats the first
// allocation, n̄ in every bin, and no rollout ever moves. sign is SignCode
// or SignPaper; signal and minibatches are as for ResolveSignal.
func CheckRolloutSignal(sign, signal string, minibatches int) error {
	if sign != SignCode && sign != SignPaper {
		return fmt.Errorf("gdro: -gdro-arm-sign %q: want %s or %s", sign, SignCode, SignPaper)
	}
	used, err := ResolveSignal(signal, minibatches)
	if err != nil {
		return err
	}
	if sign == SignCode && used != SignalLoss {
		return fmt.Errorf("gdro: rollout-gdro with -gdro-arm-sign %s and -gdro-signal %s (%s in use) is fixed allocation: the code's feedback s_b(n_b) += loss - mu(n_b - n-bar) with a loss that is never negative keeps every bin at n-bar; use -gdro-arm-sign %s -gdro-signal %s (the paper's sign, rollouts follow reward variance) or -gdro-signal %s with at least 2 minibatches",
			SignCode, signal, used, SignPaper, SignalVariance, SignalLoss)
	}
	return nil
}

// SurrogateTerm is one token's term of the clipped surrogate, the summand
// of (5) and of the GRPO loss (20):
//
//	term = max(-A·ρ, -A·clip(ρ, 1-epsLow, 1+epsHigh)) = -min(ρA, clip(ρ)A)
//
// with A the advantage and ρ = π_θ/π_old the token's probability ratio.
// dRatio is ∂term/∂ρ: -A where the unclipped branch is the larger (ties
// included), 0 where the clipped branch is strictly larger. It does no
// checking, for use in a trainer's per-token loop; ResponseLoss checks.
func SurrogateTerm(adv, ratio, epsLow, epsHigh float64) (term, dRatio float64) {
	c := max(1-epsLow, min(1+epsHigh, ratio))
	unc, cl := -adv*ratio, -adv*c
	if cl > unc {
		return cl, 0
	}
	return unc, -adv
}

// ResponseLoss is (5), one response's token-mean clipped surrogate loss
//
//	ℓ = (1/L)·Σ_t max(-A·ρ_t, -A·clip(ρ_t, 1-epsLow, 1+epsHigh))
//
// (the mean of SurrogateTerm over its L tokens), where adv is the
// response's unweighted advantage A and ratio holds its per-token
// probability ratios ρ_t = π_θ/π_old. It is SignalLoss.
func ResponseLoss(adv float64, ratio []float64, epsLow, epsHigh float64) (float64, error) {
	if len(ratio) == 0 {
		return 0, fmt.Errorf("gdro: response loss: no tokens")
	}
	if !(epsLow >= 0 && epsLow < 1) || !(epsHigh >= 0) || math.IsInf(epsHigh, 0) {
		return 0, fmt.Errorf("gdro: response loss: clip range (%v, %v) invalid", epsLow, epsHigh)
	}
	if math.IsNaN(adv) || math.IsInf(adv, 0) {
		return 0, fmt.Errorf("gdro: response loss: advantage %v is not finite", adv)
	}
	sum := 0.0
	for t, r := range ratio {
		if !(r >= 0) || math.IsInf(r, 0) {
			return 0, fmt.Errorf("gdro: response loss: token %d: ratio %v is not a finite value >= 0", t, r)
		}
		term, _ := SurrogateTerm(adv, r, epsLow, epsHigh)
		sum += term
	}
	return sum / float64(len(ratio)), nil
}

// ErrorLoss is SignalError, the fallback loss of the design note
// (section 10, item 3; the note gives it no equation number):
//
//	ℓ_ij = 1 - c_ij
//
// 1 for a wrong response and 0 for a correct one, so that a bin's mean
// ℓ̄_b in (6) is 1 - accuracy_b.
func ErrorLoss(correct []bool) []float64 {
	out := make([]float64, len(correct))
	for i, ok := range correct {
		if !ok {
			out[i] = 1
		}
	}
	return out
}

// VarianceLoss is SignalVariance: given each prompt's rollout rewards,
// groups[i], it returns one value per response, in the order of the
// groups and their rollouts, equal to the response's prompt's
// SquaredStdErr,
//
//	ℓ_ij = s_i²/n_i,  s_i² = Σ_j (r_ij - r̄_i)²/(n_i - 1)  (0 when n_i = 1)
//
// an estimate of the prompt's term v_b/n_b of the variance proxy (18). Fed
// to Rollout-GDRO with SignPaper, it charges each use of arm n_b about
// v_b/n_b, so rollouts move towards the bins with the highest reward
// variance, as the square-root law (18) asks; with SignCode it gives fixed
// allocation (see CheckRolloutSignal). Run it with Gamma = 0: the scores
// are cumulative and only fall, and the exploration floor γ/|arms| caps
// the cost of the most penalised arms, high-variance bins first. In the
// package's simulation (bin variances 0.08, 1, 0.51, 0.08; 16 prompts
// each; n̄ = 4) γ = 0 gives mean rollouts of about 2.8, 5.7, 4.7, 2.8 over
// 1000 steps, while γ = 0.01 keeps that order for about 100 steps and
// reverses it by 1000 (5.4, 2.4, 2.9, 5.3).
func VarianceLoss(groups [][]float64) ([]float64, error) {
	var out []float64
	for i, r := range groups {
		v, err := SquaredStdErr(r)
		if err != nil {
			return nil, fmt.Errorf("gdro: variance loss: prompt %d: %w", i, err)
		}
		for range r {
			out = append(out, v)
		}
	}
	return out, nil
}

// Reweight is (11), A_ij ← w_ij·A_ij: it multiplies each advantage by its
// weight in place, with the weights of PromptGDRO.Weights (10).
func Reweight(adv, weights []float64) error {
	if len(adv) != len(weights) {
		return fmt.Errorf("gdro: reweight: %d advantages but %d weights", len(adv), len(weights))
	}
	for i, w := range weights {
		adv[i] *= w
	}
	return nil
}
