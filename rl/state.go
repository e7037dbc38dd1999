package rl

import (
	"encoding/json"
	"fmt"
)

// TrainerState is the GRPO part of trainer_state.json: the step, the data
// position and every controller's state.
type TrainerState struct {
	Step         int             `json:"step"`
	DataPosition int             `json:"data_position"` // prompts taken from the pool
	Classifier   json.RawMessage `json:"classifier"`
	PromptGDRO   json.RawMessage `json:"prompt_gdro,omitempty"`
	RolloutGDRO  json.RawMessage `json:"rollout_gdro,omitempty"`
	Sqrt         json.RawMessage `json:"sqrt_allocator,omitempty"`
	SaidFallback bool            `json:"said_fallback,omitempty"`
	// RolloutsGenerated counts the rollouts of the training steps so far.
	RolloutsGenerated int `json:"rollouts_generated"`
}

// State captures the trainer for a checkpoint (the model and optimizer are
// saved beside it).
func (t *Trainer) State() (TrainerState, error) {
	s := TrainerState{Step: t.Step, DataPosition: t.pos, SaidFallback: t.saidF, RolloutsGenerated: t.generated}
	var err error
	if s.Classifier, err = json.Marshal(t.Cls); err != nil {
		return s, fmt.Errorf("rl: classifier state: %w", err)
	}
	if t.PG != nil {
		if s.PromptGDRO, err = json.Marshal(t.PG); err != nil {
			return s, fmt.Errorf("rl: prompt-gdro state: %w", err)
		}
	}
	if t.RG != nil {
		if s.RolloutGDRO, err = json.Marshal(t.RG); err != nil {
			return s, fmt.Errorf("rl: rollout-gdro state: %w", err)
		}
	}
	if t.Sqrt != nil {
		if s.Sqrt, err = json.Marshal(t.Sqrt); err != nil {
			return s, fmt.Errorf("rl: square-root allocator state: %w", err)
		}
	}
	return s, nil
}

// Restore sets the trainer from a checkpoint's state. The controllers it
// restores must be the ones this trainer was built with.
func (t *Trainer) Restore(s TrainerState) error {
	t.Step, t.saidF, t.pos, t.generated = s.Step, s.SaidFallback, s.DataPosition, s.RolloutsGenerated
	if t.Step > 0 && t.generated == 0 && !t.Cfg.DynamicSampling {
		// A checkpoint from before the count: every step spent N·n̄.
		t.generated = t.Step * t.Cfg.PromptsPerStep * t.Cfg.Rollouts
	}
	if err := json.Unmarshal(s.Classifier, t.Cls); err != nil {
		return fmt.Errorf("rl: restoring the classifier: %w", err)
	}
	restore := func(name string, raw json.RawMessage, v any, on bool) error {
		if !on {
			return nil
		}
		if len(raw) == 0 {
			return fmt.Errorf("rl: the checkpoint has no %s state, but this run uses it (resume with the same -algo)", name)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("rl: restoring %s: %w", name, err)
		}
		return nil
	}
	if err := restore("prompt-gdro", s.PromptGDRO, t.PG, t.PG != nil); err != nil {
		return err
	}
	if err := restore("rollout-gdro", s.RolloutGDRO, t.RG, t.RG != nil); err != nil {
		return err
	}
	return restore("square-root allocator", s.Sqrt, t.Sqrt, t.Sqrt != nil)
}
