// SPDX-License-Identifier: Apache-2.0
// plant.h -- the plant as a value: what the learner and the planner know about a robot.
//
// A PlantModel describes one plant: its observation and action widths, action bounds,
// control period, safe action, optionally the names of its entries, and what is known
// of its task: the reward r(s, a, s') with its gradients, the termination done(s'),
// and a termination rule of per-entry observation bounds. The programs (maacd, `maac`,
// tests) build it once -- from a built-in plant (sim/plant_builtin.c), a reward plugin
// (sim/plant_plugin.c, include/maacd/reward_plugin.h), the plant's hello, and the
// configuration -- and pass it down; core/ never looks a plant up by name.
// It is a plain value (no pointers it owns): copy it freely.
// The functions are batched over B rows of float observations/actions in the plant's
// layout; reward_backward ACCUMULATES (+=) dr (B) times the gradients. Functions that
// are NULL are not known: without reward the learner learns it (the ensemble's reward
// head); without terminated and without a rule, imagined episodes never end.
// Thread: any (the functions must be pure). Allocation: none.
#ifndef MAAC_PLANT_H
#define MAAC_PLANT_H

#include <stdint.h>

#include "core/err.h"

#define PLANT_MAX_OBS 128   // = SIM_MAX_OBS = WIRE_MAX_OBS
#define PLANT_MAX_ACT 32    // = SIM_MAX_ACT = WIRE_MAX_ACT
#define PLANT_NAME_MAX 64

typedef void (*PlantRewardFn)(float* r, const float* s, const float* a, const float* s2, int B);
typedef void (*PlantRewardBackwardFn)(float* ds, float* da, float* ds2, const float* dr,
                                      const float* s, const float* a, const float* s2, int B);
typedef void (*PlantTerminatedFn)(float* done, const float* s2, int B);

typedef struct PlantModel {
    char name[PLANT_NAME_MAX];       // plant name (labels only; nothing is looked up by it)
    int obs_dim, act_dim;            // layout of observations and actions
    double period;                   // control period in seconds (0: unknown)
    float act_low[PLANT_MAX_ACT];    // (act_dim) action bounds
    float act_high[PLANT_MAX_ACT];
    float safe_act[PLANT_MAX_ACT];   // (act_dim) action sent when nothing better is safe
    // task: reward (with its gradients) and termination; NULL = not known
    int exact;                       // 1 when reward equals the plant's true reward
    PlantRewardFn reward;            // r (B) = r(s, a, s')
    PlantRewardBackwardFn reward_backward;   // ds, da, ds2 += dr * dr/d(s, a, s'); nullable outs
    PlantTerminatedFn terminated;    // done (B) = 1 where s2 is terminal, else 0
    // termination rule (configuration): done where s2[i] < term_min[i] or > term_max[i]
    int term_rule;                   // 1: the bounds below are used (with terminated, if any)
    float term_min[PLANT_MAX_OBS];   // (obs_dim), -INFINITY for none
    float term_max[PLANT_MAX_OBS];   // (obs_dim), +INFINITY for none
    // safety limits (enforced by maacd's control loop, daemon/ctrl.c)
    float max_act_change;            // max |a_t - a_{t-1}| per entry per tick (0: no limit)
    int obs_limits;                  // 1: an observation outside [obs_min, obs_max] gets the
    float obs_min[PLANT_MAX_OBS];    //    safe action and counts a fault
    float obs_max[PLANT_MAX_OBS];
    const char* reward_source;       // "builtin", "plugin", ... for messages (static string)
    const char* const* obs_names;    // (obs_dim) names of the entries, nullable (static storage)
    const char* const* act_names;    // (act_dim) nullable
} PlantModel;

// A plant with these widths, bounds [-1, 1], safe action 0, no known task. 0 or -EINVAL.
int plant_init(PlantModel* p, const char* name, int obs_dim, int act_dim, MaacErr* reterr);
// Set the action bounds (act_dim each) and clamp the safe action into them.
void plant_set_bounds(PlantModel* p, const float* low, const float* high);
// 1 when the reward and both needed gradients are known (the actor can backpropagate).
int plant_has_reward(const PlantModel* p);
// 1 when anything ends episodes (terminated or the rule).
int plant_has_termination(const PlantModel* p);
// done (B) = terminated(s2) OR outside the rule's bounds (0 where neither). Nullable: p.
void plant_terminated(const PlantModel* p, float* done, const float* s2, int B);
// Parse a termination bound list "0.7, -inf, inf, ..." (n entries, "inf"/"-inf"/"none"
// allowed; "none" means -inf for min, +inf for max) into out. is_max picks what "none"
// means. 0 or -EINVAL with reterr naming the bad entry.
int plant_parse_bounds(const char* text, int n, int is_max, float* out, MaacErr* reterr);

// Check reward_backward against central finite differences of reward at n_points random
// points (s, s2 uniform in [-state_range, state_range], a uniform inside the action
// bounds; step 1e-3 * max(1, |x|)). An entry fails when |analytic - numeric| >
// 0.02 * max(|analytic|, |numeric|) + 1e-3 * (1 + |r|). Also checks that reward gives
// finite values and terminated gives 0 or 1, and that reward_backward only adds.
// 0, or -EINVAL with reterr naming the entry ("dr/da[1]"), the point and both values.
int plant_check_gradients(const PlantModel* p, int n_points, float state_range, uint64_t seed,
                          MaacErr* reterr);

#endif
