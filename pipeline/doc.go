// Package pipeline is the built-in experiment and the training run around
// rl: flags, data and model setup, SFT warm start, GRPO with the GDRO
// controllers, evaluation, checkpoints and resume, reports, plots and
// progress lines.
//
// It exists so that cmd/train and cmd/experiment share one implementation of
// a run and one set of defaults: the architecture keeps commands free of
// math, and cmd/experiment runs many of these runs (seeds x arms) with the
// same recipe that cmd/train runs once.
package pipeline
