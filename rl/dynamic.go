package rl

// refill is DAPO's dynamic sampling (Config.DynamicSampling): it drops the
// groups whose rewards are all equal, then draws, generates and scores N
// more prompts per round, for at most Config.ExtraRounds rounds, until N
// groups with reward variance remain, and keeps the first N. Without
// dynamic sampling it does nothing.
func (t *Trainer) refill(b *batch) error {
	if !t.Cfg.DynamicSampling {
		return nil
	}
	N := t.Cfg.PromptsPerStep
	first := *b
	b.groups, b.rollouts = nil, nil
	b.absorb(&first)
	for round := 1; len(b.groups) < N && round <= t.Cfg.ExtraRounds; round++ {
		// Sample indices continue past the earlier rounds', so a prompt
		// drawn twice in a step gets fresh samples.
		nb := t.newBatch(t.poolIndices(N), b.seedStep, round*t.Cfg.Rollouts)
		for _, stage := range []func(*batch) error{t.classify, t.allocate, t.generate, t.score} {
			if err := stage(nb); err != nil {
				return err
			}
		}
		b.gen.merge(nb.gen)
		b.genTime += nb.genTime
		b.rounds++
		b.absorb(nb)
	}
	if len(b.groups) > N {
		b.dropped = append(b.dropped, b.groups[N:]...)
		b.rollouts = b.rollouts[:b.groups[N].lo]
		b.groups = b.groups[:N]
	}
	return nil
}

// absorb appends src's groups with reward variance, and their rollouts, to
// b, and records the others in b.dropped.
func (b *batch) absorb(src *batch) {
	b.dropped = append(b.dropped, src.dropped...)
	for _, g := range src.groups {
		if g.equal {
			b.dropped = append(b.dropped, g)
			continue
		}
		ng := g
		ng.lo = len(b.rollouts)
		for _, r := range src.rollouts[g.lo:g.hi] {
			r.group = len(b.groups)
			b.rollouts = append(b.rollouts, r)
		}
		ng.hi = len(b.rollouts)
		b.groups = append(b.groups, ng)
	}
}

// merge adds another round's generation statistics.
func (s *genStats) merge(o genStats) {
	s.rollouts += o.rollouts
	s.groups += o.groups
	s.zeroStd += o.zeroStd
	s.correct += o.correct
	s.tokens += o.tokens
	s.clipped += o.clipped
	s.rewardSum += o.rewardSum
	s.rewardSq += o.rewardSq
}
