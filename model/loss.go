package model

import (
	"fmt"
	"math"
)

// WeightedNLL is the per-token cross-entropy with a mask and per-token weights:
//
//	loss = −Σ_i w_i·logp_i / denom
//
// where w_i = 0 masks a token. It returns the loss and dloss/dlogp, ready for
// Backward. A non-finite loss is an error.
func WeightedNLL(logp, w []float32, denom float64) (float64, []float32, error) {
	if len(w) != len(logp) {
		return 0, nil, fmt.Errorf("model: %d weights for %d tokens", len(w), len(logp))
	}
	if denom <= 0 {
		return 0, nil, fmt.Errorf("model: loss normaliser %g must be positive", denom)
	}
	var loss float64
	grad := make([]float32, len(logp))
	for i := range logp {
		if w[i] == 0 {
			continue
		}
		loss -= float64(w[i]) * float64(logp[i])
		grad[i] = float32(-float64(w[i]) / denom)
	}
	loss /= denom
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, nil, fmt.Errorf("model: loss is %v", loss)
	}
	return loss, grad, nil
}
