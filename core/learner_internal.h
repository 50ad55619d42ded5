// SPDX-License-Identifier: Apache-2.0
// learner_internal.h -- the Learner struct, for the learner's own files only.
//
// learner.c creates and drives it; learner_state.c saves and restores every field
// that carries over between steps (learner_state_save / learner_state_load). A field
// added here that outlives one learner_train_step must be added to both, and to the
// "learner_state" layout in docs/checkpoint-format.md.
// Thread: learner only. Not part of the public API (include learner.h instead).
#ifndef MAAC_LEARNER_INTERNAL_H
#define MAAC_LEARNER_INTERNAL_H

#include "core/adam.h"
#include "core/learner.h"
#include "core/maac.h"
#include "core/replay.h"
#include "core/rollout.h"
#include "core/steve.h"
#include "core/workers.h"
#include "sim/reward.h"

struct Learner {
    LearnerConfig cfg;           // settings (target_entropy resolved)
    int S, A;                    // obs_dim, act_dim
    float act_low[POLICY_MAX_ACT], act_high[POLICY_MAX_ACT];   // (A)
    const SimRewardFn* rf;       // plant's reward/termination, NULL if none
    int use_known_reward;        // rf used for imagined rewards
    int needs_model;             // some part of the configuration uses the ensemble
    Rng rng;                     // batches, noise, model fits, rollouts
    Rng act_rng;                 // collection actions (separate so updates don't shift them)
    Rng actor_rng;               // the actor's noise (its own stream: it runs on a worker)
    Rng critic_rng[2];           // the noise of the two parts of the critic targets
    Workers* team;               // threads >= 2: the update and model-fit workers
    ReplayBuffer* d_env;         // real transitions
    ReplayBuffer* d_model;       // imagined transitions
    int d_model_k;               // k the current D_model capacity was sized for
    Ensemble* ens;               // dynamics ensemble
    EnsTrainer* ens_tr;          // its trainer
    RolloutWork* roll;           // rollout buffers
    Policy* pi;                  // current policy
    Policy* pi_avg;              // Polyak average of pi's weights (NULL: policy_avg_tau = 0)
    QFunction* qf;               // twin Qs
    QFunction* qf_targ;          // target twin Qs
    MaacDynamics dyn;            // the ensemble as MAAC/STEVE dynamics
    MaacActor* actor;            // MAAC actor objective (work buffers, noise)
    Steve* critic;               // STEVE / one-step critic targets (rows [split, B)) and loss
    Steve* critic_head;          // critic targets of rows [0, split), run beside the actor
    int split;                   // rows of the batch whose targets critic_head computes
    MaacAlpha alpha;             // entropy coefficient (auto-tuned, fixed or none)
    Adam* opt_pi;                // policy optimiser
    Adam* opt_q;                 // Q optimiser
    float* grad_pi;              // (policy n_params)
    float* grad_q;               // (Q n_params)
    float* q_target;             // (batch) critic targets
    float* bs;                   // (batch, S) batch buffers
    float* ba;                   // (batch, A)
    float* br;                   // (batch)
    float* bs2;                  // (batch, S)
    float* bd;                   // (batch)
    float* act_scratch;          // policy_act1 scratch
    float* act_eps;              // (A)
    uint64_t version;            // snapshots published
    long last_fit_step;          // train_steps at the last model fit (-1 none)
    long last_refresh_step;      // train_steps at the last D_model refresh (-1 none)
    long train_steps;            // learner_train_step calls: the schedule's clock (equal
                                 // to env_steps when every step is trained, as in `maac
                                 // train` and lock-step; behind it when maacd's realtime
                                 // learner cannot keep up, so fits and refreshes keep
                                 // their ratio to updates)
    LearnerStats st;             // counters and timings
    MaacPoll poll;               // safe-point hook between updates (poll.h); not saved
    LearnerPhase phase;          // what learner_train_step is doing (progress reports)
    double phase_t0;             // when it began (CLOCK_MONOTONIC s)
    long actor_hold_until;       // no actor/alpha steps while st.updates < this (critic
                                 // warm-up after learner_start_from_policy); not saved
};

#endif
