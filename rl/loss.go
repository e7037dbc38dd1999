package rl

import (
	"fmt"
	"math"

	"github.com/frontier-rl/frontier/gdro"
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

// LossConfig holds the clipped-surrogate settings (design note eq. 20) and
// verl's safety options. A zero option is off.
type LossConfig struct {
	ClipLow  float64 // ε_lo: the ratio is clipped below at 1−ε_lo
	ClipHigh float64 // ε_hi: the ratio is clipped above at 1+ε_hi (DAPO clip-higher)
	// KLCoef is β of the k3 KL penalty to the reference policy; 0 disables
	// it. The released GDRO scripts (kishanpb/verl-gdro,
	// algorithm_comparison/run_*.sh) use the k3 ("low_var_kl") loss with
	// β = 0.001.
	KLCoef float64
	// LogRatioClamp bounds both log-ratios, log π_θ − log π_old and
	// log π_ref − log π_θ, to ±LogRatioClamp before exp; a clamped row has
	// no gradient through it (verl: 20).
	LogRatioClamp float64
	// KLClamp bounds each row's k3 value to ±KLClamp; a clamped row has no
	// KL gradient (verl: 10).
	KLClamp float64
	// DualClip is dual-clip PPO's c > 1 for negative advantages: a row with
	// A < 0 costs at most −A·c, with no gradient there (verl: 3).
	DualClip float64
}

// validate checks the settings.
func (c LossConfig) validate() error {
	switch {
	case !(c.ClipLow >= 0 && c.ClipLow < 1) || !(c.ClipHigh >= 0) || math.IsInf(c.ClipHigh, 0):
		return fmt.Errorf("rl: clip range (%v, %v) (-clip-low, -clip-high): want 0 <= clip-low < 1 and a finite clip-high >= 0", c.ClipLow, c.ClipHigh)
	case !(c.KLCoef >= 0) || math.IsInf(c.KLCoef, 0):
		return fmt.Errorf("rl: KL coefficient %v (-kl): want a finite value >= 0", c.KLCoef)
	case !(c.LogRatioClamp >= 0) || !(c.KLClamp >= 0):
		return fmt.Errorf("rl: log-ratio clamp %v (-logratio-clamp) and KL clamp %v (-kl-clamp): want values >= 0 (0 = off)", c.LogRatioClamp, c.KLClamp)
	case c.DualClip != 0 && !(c.DualClip > 1):
		return fmt.Errorf("rl: dual-clip c = %v (-dual-clip): want c > 1, or 0 for off", c.DualClip)
	}
	return nil
}

// PolicyBatch holds, per token row of a packed minibatch, what the loss needs.
// Rows with Resp[i] < 0 (prompt tokens, the last token of a sequence) carry
// no loss.
type PolicyBatch struct {
	LogP    []float32 // log π_θ of the row's target token
	OldLogP []float32 // log π_old (the sampling policy)
	RefLogP []float32 // log π_ref; nil when KLCoef is 0
	Adv     []float32 // advantage used in the loss (GDRO-weighted when Prompt-GDRO is on)
	RawAdv  []float32 // unweighted advantage, the same on every row of a response, for the GDRO loss signal (eq. 5)
	Resp    []int32   // response index of the row, or -1
	NumResp int
	// NormTokens is the token count the means divide by; 0 means this
	// batch's own rows with loss. Data parallelism sets it to the whole
	// minibatch's count, so that the parts of a minibatch add up to its
	// token mean.
	NormTokens int
}

// PolicyLoss is the result of the clipped surrogate over one minibatch.
type PolicyLoss struct {
	Loss  float64   // token-mean surrogate (+ β·token-mean k3)
	DLogP []float32 // ∂Loss/∂LogP per row
	// RespLoss[j] is response j's mean per-token surrogate with its unweighted
	// advantage (gdro.ResponseLoss, eq. 5): Prompt-GDRO's and Rollout-GDRO's
	// loss signal. NaN for a response without tokens here.
	RespLoss []float64
	Tokens   int     // rows with loss
	ClipLow  float64 // fraction of rows whose ratio is clipped below (A < 0)
	ClipHigh float64 // fraction of rows whose ratio is clipped above (A > 0)
	DualClip float64 // fraction of rows capped by dual-clip (A < 0, ρ > c)
	KL       float64 // token-mean k3 estimate of KL(π_θ ‖ π_ref)
}

// ComputePolicyLoss evaluates the token-mean clipped surrogate
//
//	L = (1/T) Σ_t term_t + β·(1/T) Σ_t k3_t,  term = max(−ρA, −clip(ρ, 1−ε_lo, 1+ε_hi)·A)
//
// over the T rows with a response (term is gdro.SurrogateTerm), with
// ρ = exp(logp − oldlogp) and k3 = e^Δ − Δ − 1, Δ = logp_ref − logp, and
// its derivative with respect to each row's log-probability. With
// DualClip = c, a row with A < 0 has term min(term, −A·c). A non-finite
// loss is an error.
func ComputePolicyLoss(b PolicyBatch, cfg LossConfig) (PolicyLoss, error) {
	n := len(b.LogP)
	if len(b.OldLogP) != n || len(b.Adv) != n || len(b.RawAdv) != n || len(b.Resp) != n || (cfg.KLCoef != 0 && len(b.RefLogP) != n) {
		return PolicyLoss{}, fmt.Errorf("rl: policy loss inputs have mismatched lengths")
	}
	out := PolicyLoss{DLogP: make([]float32, n), RespLoss: make([]float64, b.NumResp)}
	ratios := make([][]float64, b.NumResp) // each response's ratios, in row order
	rawAdv := make([]float64, b.NumResp)
	for _, r := range b.Resp {
		if r >= 0 {
			out.Tokens++
		}
	}
	if out.Tokens == 0 {
		return out, nil
	}
	T := float64(out.Tokens)
	if b.NormTokens > 0 {
		T = float64(b.NormTokens)
	}
	var loss, kl float64
	var nLow, nHigh, nDual int
	for i := 0; i < n; i++ {
		r := b.Resp[i]
		if r < 0 {
			continue
		}
		rho, dRho := clampedExp(float64(b.LogP[i])-float64(b.OldLogP[i]), cfg.LogRatioClamp)
		row := surrogateRow(float64(b.Adv[i]), rho, cfg)
		loss += row.term
		out.DLogP[i] = float32(row.dRatio * rho * dRho / T)
		nLow, nHigh, nDual = nLow+row.low, nHigh+row.high, nDual+row.dual
		if len(ratios[r]) > 0 && float64(b.RawAdv[i]) != rawAdv[r] {
			return out, fmt.Errorf("rl: policy loss: response %d has advantages %v and %v on its rows; want one", r, rawAdv[r], b.RawAdv[i])
		}
		ratios[r] = append(ratios[r], rho)
		rawAdv[r] = float64(b.RawAdv[i])
		if cfg.KLCoef != 0 {
			v, dv := k3Row(float64(b.RefLogP[i])-float64(b.LogP[i]), cfg)
			kl += v
			out.DLogP[i] += float32(cfg.KLCoef * dv / T)
		}
	}
	out.KL = kl / T
	out.Loss = loss/T + cfg.KLCoef*out.KL
	out.ClipLow, out.ClipHigh, out.DualClip = float64(nLow)/T, float64(nHigh)/T, float64(nDual)/T
	if math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) {
		return out, fmt.Errorf("rl: policy loss is %v (check the log-probabilities and advantages for NaN or overflow)", out.Loss)
	}
	return out, respLosses(out.RespLoss, rawAdv, ratios, cfg)
}

// respLosses sets each response's GDRO loss signal, gdro.ResponseLoss
// (eq. 5), from its unweighted advantage and its rows' ratios; NaN for a
// response without rows.
func respLosses(out, rawAdv []float64, ratios [][]float64, cfg LossConfig) error {
	for j := range out {
		if len(ratios[j]) == 0 {
			out[j] = math.NaN()
			continue
		}
		l, err := gdro.ResponseLoss(rawAdv[j], ratios[j], cfg.ClipLow, cfg.ClipHigh)
		if err != nil {
			return fmt.Errorf("rl: response %d: %w", j, err)
		}
		out[j] = l
	}
	return nil
}

// clampedExp returns e^x with x first clamped to ±limit (limit 0: no
// clamp), and dx, the derivative of the clamped x in x: 1, or 0 where the
// clamp holds.
func clampedExp(x, limit float64) (v, dx float64) {
	if limit > 0 && (x > limit || x < -limit) {
		return math.Exp(min(max(x, -limit), limit)), 0
	}
	return math.Exp(x), 1
}

// rowTerm is one row's surrogate term, its derivative in ρ, and which clip
// (if any) held.
type rowTerm struct {
	term, dRatio    float64
	low, high, dual int
}

// surrogateRow returns one row's term of the loss: gdro.SurrogateTerm with
// the weighted advantage a, capped at −a·c for a < 0 under dual-clip.
func surrogateRow(a, rho float64, cfg LossConfig) rowTerm {
	term, dRatio := gdro.SurrogateTerm(a, rho, cfg.ClipLow, cfg.ClipHigh)
	out := rowTerm{term: term, dRatio: dRatio}
	if term > -a*rho { // the clipped branch: no gradient
		if rho < 1-cfg.ClipLow {
			out.low = 1
		} else {
			out.high = 1
		}
	}
	if cfg.DualClip > 0 && a < 0 && term > -a*cfg.DualClip {
		out.term, out.dRatio, out.dual = -a*cfg.DualClip, 0, 1
		out.low, out.high = 0, 0
	}
	return out
}

// k3Row returns one row's k3 value e^Δ − Δ − 1 (Δ = logp_ref − logp,
// clamped by LogRatioClamp; the value clamped by KLClamp) and its
// derivative in logp.
func k3Row(delta float64, cfg LossConfig) (v, dLogP float64) {
	ed, dd := clampedExp(delta, cfg.LogRatioClamp)
	d := delta
	if dd == 0 {
		d = math.Log(ed)
	}
	v = ed - d - 1
	if cfg.KLClamp > 0 && (v > cfg.KLClamp || v < -cfg.KLClamp) {
		return min(max(v, -cfg.KLClamp), cfg.KLClamp), 0
	}
	// ∂v/∂Δ = e^Δ − 1 and ∂Δ/∂logp = −1 (0 where Δ is clamped).
	return v, (1 - ed) * dd
}
