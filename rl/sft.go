package rl

import (
	"fmt"
	"math"

	"github.com/frontier-rl/frontier/model"
	"github.com/frontier-rl/frontier/optim"
)

// SFTExample is one supervised sequence: the loss falls on Answer's tokens
// only (include the EOS id at its end so the model learns to stop).
type SFTExample struct {
	Prompt, Answer []int32
}

// Pack concatenates sequences into one packed batch: ids [N], cu_seqlens
// [S+1], and targets [N] where targets[i] is the next token of row i when that
// token is one of the sequence's last nLoss[s] tokens, else −1.
func Pack(seqs [][]int32, nLoss []int) (ids, starts, targets []int32) {
	starts = append(starts, 0)
	for s, seq := range seqs {
		ids = append(ids, seq...)
		starts = append(starts, int32(len(ids)))
		for i := range seq {
			t := int32(-1)
			if i+1 < len(seq) && i+1 >= len(seq)-nLoss[s] {
				t = seq[i+1]
			}
			targets = append(targets, t)
		}
	}
	return ids, starts, targets
}

// SFTStep runs one supervised step: the token-mean negative log-likelihood
// of the answer tokens, backward, gradient clipping and an AdamW update. It
// returns the loss and the gradient norm before clipping. A non-finite loss
// or gradient stops the step before the update, with an error that names the
// tensor whose gradient is not finite.
func SFTStep(m *model.Model, opt *optim.AdamW, batch []SFTExample) (loss, gradNorm float64, err error) {
	if err := checkSFT(batch); err != nil {
		return 0, 0, err
	}
	if loss, err = sftGradients(m, batch, 0); err != nil {
		return loss, 0, err
	}
	gradNorm, err = opt.Step(m.Params, m.Grads)
	if err != nil {
		return loss, gradNorm, fmt.Errorf("rl: SFT update: %w", nonFiniteGrad(m, err))
	}
	return loss, gradNorm, nil
}

// checkSFT rejects examples with an empty prompt or answer.
func checkSFT(batch []SFTExample) error {
	for i, ex := range batch {
		if len(ex.Prompt) == 0 || len(ex.Answer) == 0 {
			return fmt.Errorf("rl: SFT example %d has an empty prompt or answer", i)
		}
	}
	return nil
}

// sftGradients runs forward, the answer tokens' negative log-likelihood
// divided by denom (0: their count) and backward, leaving the gradient in
// m.Grads; it returns the loss.
func sftGradients(m *model.Model, batch []SFTExample, denom float64) (float64, error) {
	seqs := make([][]int32, len(batch))
	nLoss := make([]int, len(batch))
	for i, ex := range batch {
		seqs[i] = append(append([]int32(nil), ex.Prompt...), ex.Answer...)
		nLoss[i] = len(ex.Answer)
	}
	ids, starts, targets := Pack(seqs, nLoss)
	p, err := m.ForwardTargets(ids, starts, targets)
	if err != nil {
		return 0, fmt.Errorf("rl: SFT forward: %w", err)
	}
	logp, _, err := m.TokenLogProbs(p, targets, false)
	if err != nil {
		return 0, err
	}
	w := make([]float32, len(targets))
	var count float64
	for i, t := range targets {
		if t >= 0 {
			w[i] = 1
			count++
		}
	}
	if denom == 0 {
		denom = count
	}
	loss, dlogp, err := model.WeightedNLL(logp, w, denom)
	if err != nil {
		return loss, fmt.Errorf("rl: SFT loss: %w", err)
	}
	m.ZeroGrad()
	return loss, m.Backward(p, targets, dlogp)
}

// nonFiniteGrad names the first parameter whose gradient is not finite.
func nonFiniteGrad(m *model.Model, err error) error {
	for _, p := range m.Tensors {
		ss := m.B.SumSquares(p.G)
		if math.IsNaN(ss) || math.IsInf(ss, 0) {
			return fmt.Errorf("%w: the gradient of %s is not finite (lower the learning rate or check the data)", err, p.Name)
		}
	}
	return err
}
