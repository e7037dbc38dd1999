package rl

import (
	"fmt"
	"math"
)

// GroupAdvantages returns the GRPO advantage of each response of one prompt
// group (design note eq. 19):
//
//	A_j = clip((r_j − mean(r)) / (std(r) + 1e-6), −clip, clip)
//
// with the unbiased (n−1) standard deviation, as verl computes it. With
// meanOnly (Dr.GRPO) the division by the standard deviation is dropped. A
// group of one response gets advantage 0. clip <= 0 disables clipping.
func GroupAdvantages(rewards []float64, meanOnly bool, clip float64) []float64 {
	n := len(rewards)
	adv := make([]float64, n)
	if n < 2 {
		return adv
	}
	var mean float64
	for _, r := range rewards {
		mean += r
	}
	mean /= float64(n)
	var ss float64
	for _, r := range rewards {
		ss += (r - mean) * (r - mean)
	}
	std := math.Sqrt(ss / float64(n-1))
	for j, r := range rewards {
		a := r - mean
		if !meanOnly {
			a /= std + 1e-6
		}
		if clip > 0 {
			a = min(max(a, -clip), clip)
		}
		adv[j] = a
	}
	return adv
}

// LossConfig holds the clipped-surrogate settings (design note eq. 20).
type LossConfig struct {
	ClipLow  float64 // ε_lo: the ratio is clipped below at 1−ε_lo
	ClipHigh float64 // ε_hi: the ratio is clipped above at 1+ε_hi (DAPO clip-higher)
	KLCoef   float64 // β of the k3 KL penalty to the reference policy; 0 disables
}

// PolicyBatch holds, per token row of a packed minibatch, what the loss needs.
// Rows with Resp[i] < 0 (prompt tokens, the last token of a sequence) carry
// no loss.
type PolicyBatch struct {
	LogP    []float32 // log π_θ of the row's target token
	OldLogP []float32 // log π_old (the sampling policy)
	RefLogP []float32 // log π_ref; nil when KLCoef is 0
	Adv     []float32 // advantage used in the loss (GDRO-weighted when Prompt-GDRO is on)
	RawAdv  []float32 // unweighted advantage, for the GDRO loss signal (eq. 5)
	Resp    []int32   // response index of the row, or -1
	NumResp int
}

// PolicyLoss is the result of the clipped surrogate over one minibatch.
type PolicyLoss struct {
	Loss  float64   // token-mean surrogate (+ β·token-mean k3)
	DLogP []float32 // ∂Loss/∂LogP per row
	// RespLoss[j] is response j's mean per-token surrogate with its unweighted
	// advantage, (1/L_j)·Σ_t max(−A ρ, −A clip(ρ)) (eq. 5): Prompt-GDRO's
	// and Rollout-GDRO's loss signal. NaN for a response without tokens here.
	RespLoss []float64
	Tokens   int     // rows with loss
	ClipLow  float64 // fraction of rows whose ratio is clipped below (A < 0)
	ClipHigh float64 // fraction of rows whose ratio is clipped above (A > 0)
	KL       float64 // token-mean k3 estimate of KL(π_θ ‖ π_ref)
}

// ComputePolicyLoss evaluates the token-mean clipped surrogate
//
//	L = −(1/T) Σ_t min(ρ_t A_t, clip(ρ_t, 1−ε_lo, 1+ε_hi) A_t) + β·(1/T) Σ_t k3_t
//
// over the T rows with a response, with ρ = exp(logp − oldlogp) and
// k3 = e^Δ − Δ − 1, Δ = logp_ref − logp, and its derivative with respect to
// each row's log-probability. A non-finite loss is an error.
func ComputePolicyLoss(b PolicyBatch, cfg LossConfig) (PolicyLoss, error) {
	n := len(b.LogP)
	if len(b.OldLogP) != n || len(b.Adv) != n || len(b.RawAdv) != n || len(b.Resp) != n || (cfg.KLCoef != 0 && len(b.RefLogP) != n) {
		return PolicyLoss{}, fmt.Errorf("rl: policy loss inputs have mismatched lengths")
	}
	out := PolicyLoss{DLogP: make([]float32, n), RespLoss: make([]float64, b.NumResp)}
	respTok := make([]int, b.NumResp)
	for _, r := range b.Resp {
		if r >= 0 {
			out.Tokens++
		}
	}
	if out.Tokens == 0 {
		return out, nil
	}
	T := float64(out.Tokens)
	lo, hi := 1-cfg.ClipLow, 1+cfg.ClipHigh
	var loss, kl float64
	var nLow, nHigh int
	for i := 0; i < n; i++ {
		r := b.Resp[i]
		if r < 0 {
			continue
		}
		d := float64(b.LogP[i]) - float64(b.OldLogP[i])
		rho := math.Exp(d)
		a := float64(b.Adv[i])
		clipped := min(max(rho, lo), hi)
		unc, cl := rho*a, clipped*a
		if cl < unc {
			// The clipped term is the minimum: its derivative in ρ is 0.
			loss -= cl
			if rho < lo {
				nLow++
			} else {
				nHigh++
			}
		} else {
			loss -= unc
			out.DLogP[i] = float32(-a * rho / T)
		}
		raw := float64(b.RawAdv[i])
		out.RespLoss[r] += max(-raw*rho, -raw*clipped)
		respTok[r]++
		if cfg.KLCoef != 0 {
			delta := float64(b.RefLogP[i]) - float64(b.LogP[i])
			ed := math.Exp(delta)
			kl += ed - delta - 1
			out.DLogP[i] += float32(cfg.KLCoef * (1 - ed) / T)
		}
	}
	out.KL = kl / T
	out.Loss = loss/T + cfg.KLCoef*out.KL
	out.ClipLow, out.ClipHigh = float64(nLow)/T, float64(nHigh)/T
	for j := range out.RespLoss {
		if respTok[j] == 0 {
			out.RespLoss[j] = math.NaN()
		} else {
			out.RespLoss[j] /= float64(respTok[j])
		}
	}
	if math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) {
		return out, fmt.Errorf("rl: policy loss is %v (check the log-probabilities and advantages for NaN or overflow)", out.Loss)
	}
	return out, nil
}
