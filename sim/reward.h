// SPDX-License-Identifier: Apache-2.0
// reward.h -- differentiable reward r(s, a, s') and termination done(s') per plant.
//
// These are what the learner backpropagates through in imagination. Batched over
// B rows of float observations/actions in the plant's own layout (sim.h).
// `exact` says whether r(s, a, s') equals the plant's true reward; where it does not
// (forward-velocity terms need the x position the observation omits, docs/plants.md)
// the function is the standard observation-based approximation and the learner may
// use a learned reward head instead.
// Thread: any. Allocation: none.
#ifndef MAAC_REWARD_H
#define MAAC_REWARD_H

typedef struct {
    const char* plant;     // plant name
    int obs_dim, act_dim;  // layout the functions expect
    int exact;             // 1 when reward() equals the plant's true reward
    // r (B) = r(s, a, s'); s, s2 (B, obs_dim); a (B, act_dim).
    void (*reward)(float* r, const float* s, const float* a, const float* s2, int B);
    // ds, ds2 (B, obs_dim), da (B, act_dim) += dr (B) * dr/d(s, a, s'). Nullable: ds, da, ds2.
    void (*reward_backward)(float* ds, float* da, float* ds2, const float* dr,
                            const float* s, const float* a, const float* s2, int B);
    // done (B) = 1 if s2 is terminal, else 0 (MBPO-style static termination).
    void (*terminated)(float* done, const float* s2, int B);
} SimRewardFn;

// The reward/termination functions of a plant, or NULL for an unknown name.
const SimRewardFn* sim_reward_fn(const char* plant);

#endif
