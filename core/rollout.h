// SPDX-License-Identifier: Apache-2.0
// rollout.h -- k-step branched model rollouts that fill D_model (MBPO / MAAC Dyna part).
//
// From n start states drawn uniformly from D_env, the latest policy is unrolled k
// steps through the dynamics ensemble (MBPO `_rollout_model`):
//   a_t ~ pi(.|s_t)  (stochastic, reparameterised with fresh noise)
//   m ~ Uniform(elites) per row per step;  s_{t+1} = f_m(s_t, a_t) + sampled noise
//   r_t = r(s_t, a_t, s_{t+1})  (the plant's known reward, or the ensemble's reward head)
//   d_t = terminated(s_{t+1})   (the plant's static termination; none when unknown)
// Every imagined transition goes to D_model; rows whose d_t = 1 (or whose state turns
// non-finite or leaves |s| <= ROLLOUT_STATE_CLIP) stop there, the others chain on.
// Work is done in chunks of at most max_rows rows, so memory is bounded whatever n is.
// Thread: learner. Allocation: rollout_work_create only.
#ifndef MAAC_ROLLOUT_H
#define MAAC_ROLLOUT_H

#include "core/ensemble.h"
#include "core/poll.h"
#include "core/policy.h"
#include "core/replay.h"
#include "sim/reward.h"

#define ROLLOUT_STATE_CLIP 1e4f

typedef struct RolloutWork RolloutWork;

typedef struct {
    long started;      // start states drawn
    long added;        // transitions added to D_model
    long terminated;   // rows stopped by termination (or a non-finite state)
} RolloutStats;

// Work for chunks of up to max_rows rows for this ensemble/policy shape. NULL on OOM.
RolloutWork* rollout_work_create(const Ensemble* e, const Policy* p, int max_rows);
// Free. Nullable: w.
void rollout_work_free(RolloutWork* w);
// Safe-point hook (poll.h), called after every chunk; a non-zero answer ends
// rollout_run with -ECANCELED (the rows added so far stay in d_model). NULL: none.
void rollout_work_set_poll(RolloutWork* w, MaacPollFn fn, void* arg);

// Branch n_start rollouts of k steps from states of d_env into d_model with policy p
// and ensemble e (members drawn from e's elites). rf gives reward (when use_known_reward)
// and termination; with rf NULL or use_known_reward 0 the ensemble must learn the reward.
// 0 or -EINVAL (empty d_env, no reward source) / -ECANCELED (the poll hook asked to
// stop). Nullable: rf, ret.
int rollout_run(const Ensemble* e, const Policy* p, const SimRewardFn* rf, int use_known_reward,
                RolloutWork* w, const ReplayBuffer* d_env, ReplayBuffer* d_model, long n_start,
                int k, Rng* rng, RolloutStats* ret);

// MBPO rollout-length schedule: k = k0 for epoch <= e0, then linear to k1 at e1, held
// after; sched = [e0, e1, k0, k1], epoch = env steps / 1000.
int rollout_length(const int sched[4], long epoch);

// D_model capacity that keeps `retain` refreshes of n_start x k rows each for every
// model fit of an epoch: retain * k_max * n_start * (1000 / model_train_freq).
long rollout_model_capacity(int retain, int k_max, long n_start, int model_train_freq);

#endif
