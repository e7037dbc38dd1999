package rl

import (
	"fmt"

	"github.com/frontier-rl/frontier/gdro"
)

// mbResult is what one PPO minibatch reports.
type mbResult struct {
	loss      PolicyLoss
	tokens    int     // packed token rows
	entSum    float64 // sum of the policy's entropy over the rows with loss
	entTokens int     // rows with loss
	gradNorm  float64
}

// minibatch runs forward, loss, backward and one optimizer update over some
// prompt groups' rollouts.
func (t *Trainer) minibatch(rs []rollout) (mbResult, error) {
	out, err := t.gradients(rs, 0)
	if err != nil {
		return out, err
	}
	if out.gradNorm, err = t.Opt.Step(t.M.Params, t.M.Grads); err != nil {
		return out, nonFiniteGrad(t.M, err)
	}
	return out, nil
}

// gradients runs forward, loss and backward over rollouts, leaving their
// gradient in t.M.Grads. The loss's token means divide by norm tokens (0:
// the rollouts' own count).
func (t *Trainer) gradients(rs []rollout, norm int) (mbResult, error) {
	var out mbResult
	ids, starts, targets, pb, err := packRollouts(rs)
	if err != nil {
		return out, err
	}
	pb.NormTokens = norm
	p, err := t.M.ForwardTargets(ids, starts, targets)
	if err != nil {
		return out, err
	}
	logp, ent, err := t.M.TokenLogProbs(p, targets, true)
	if err != nil {
		return out, err
	}
	pb.LogP = logp
	if t.Cfg.Loss.KLCoef != 0 {
		if pb.RefLogP, err = t.refLogProbs(ids, starts, targets); err != nil {
			return out, err
		}
	}
	if out.loss, err = ComputePolicyLoss(pb, t.Cfg.Loss); err != nil {
		return out, err
	}
	for i, r := range pb.Resp {
		if r >= 0 {
			out.entSum += float64(ent[i])
			out.entTokens++
		}
	}
	t.M.ZeroGrad()
	if err := t.M.Backward(p, targets, out.loss.DLogP); err != nil {
		return out, err
	}
	out.tokens = len(ids)
	return out, nil
}

// refLogProbs returns the frozen reference's log-probabilities of the
// targets of a packed batch (ids is [T], starts [S+1], targets [T]).
func (t *Trainer) refLogProbs(ids, starts, targets []int32) ([]float32, error) {
	if t.Ref == nil {
		return nil, fmt.Errorf("the KL coefficient is %g but there is no reference model", t.Cfg.Loss.KLCoef)
	}
	rp, err := t.Ref.ForwardTargets(ids, starts, targets)
	if err != nil {
		return nil, fmt.Errorf("reference forward: %w", err)
	}
	logp, _, err := t.Ref.TokenLogProbs(rp, targets, false)
	return logp, err
}

// packRollouts packs the rollouts' prompt+completion sequences into one
// batch (ids, targets are [T]; starts is [len(rs)+1]) and fills, for each
// row that predicts a completion token, its response index, sampling
// log-probability and advantages: the unweighted one and the one the loss
// uses, reweighted by Prompt-GDRO (eq. 11, gdro.Reweight).
func packRollouts(rs []rollout) (ids, starts, targets []int32, pb PolicyBatch, err error) {
	adv, w := make([]float64, len(rs)), make([]float64, len(rs))
	for j, r := range rs {
		adv[j], w[j] = r.adv, r.weight
	}
	if err := gdro.Reweight(adv, w); err != nil {
		return nil, nil, nil, pb, err
	}
	seqs := make([][]int32, len(rs))
	nLoss := make([]int, len(rs))
	for j, r := range rs {
		seqs[j] = append(append([]int32(nil), r.prompt...), r.comp.Tokens...)
		nLoss[j] = len(r.comp.Tokens)
	}
	ids, starts, targets = Pack(seqs, nLoss)
	n := len(ids)
	pb = PolicyBatch{
		OldLogP: make([]float32, n), Adv: make([]float32, n), RawAdv: make([]float32, n),
		Resp: make([]int32, n), NumResp: len(rs),
	}
	for j, r := range rs {
		s0, s1 := int(starts[j]), int(starts[j+1])
		first := s1 - 1 - len(r.comp.Tokens) // row predicting the first completion token
		for i := s0; i < s1; i++ {
			pb.Resp[i] = -1
			if i >= first && i < s1-1 {
				pb.Resp[i] = int32(j)
				pb.OldLogP[i] = r.comp.LogProbs[i-first]
				pb.RawAdv[i] = float32(r.adv)
				pb.Adv[i] = float32(adv[j])
			}
		}
	}
	return ids, starts, targets, pb, nil
}
