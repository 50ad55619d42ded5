// SPDX-License-Identifier: Apache-2.0
// learner_preset.h -- `--algo` presets: SAC, MBPO, STEVE and MAAC as settings of the
// one learner (docs/training.md "Baselines and ablations").
// Thread: any. Allocation: none.
#ifndef MAAC_LEARNER_PRESET_H
#define MAAC_LEARNER_PRESET_H

#include "core/learner.h"

// Apply preset `algo` ("maac", "sac", "mbpo", "steve") to cfg, which holds the plant's
// defaults (learner_config_default); later settings may still override any field.
// 0, or -EINVAL for an unknown name.
int learner_config_algo_preset(LearnerConfig* cfg, const char* algo, MaacErr* reterr);

// Which preset the resolved settings amount to: "sac", "mbpo", "steve" (H = 0 with
// those critic/data choices) or "maac" (H > 0). For config.ini; never fails.
const char* learner_config_algo(const LearnerConfig* cfg);

// 1 if these settings use the dynamics ensemble at all (model fits, D_model, model
// rollouts in the actor, STEVE targets or MPC); 0 for SAC (H = 0, one-step targets,
// real data only, no MPC), which then fits no model and keeps a 1-row D_model.
int learner_config_needs_model(const LearnerConfig* cfg);

#endif
