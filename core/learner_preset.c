// SPDX-License-Identifier: Apache-2.0
// learner_preset.c -- the baselines and ablations of the paper as presets of the one
// learner (`maac train --algo NAME`), so every method runs in the same harness:
//   maac   the plant's defaults (learner_config.c), unchanged;
//   sac    no model: H = 0, one-step targets, real data only, 1 update per env step,
//          one action per state, the online policy, SAC's entropy target -act_dim;
//   mbpo   H = 0 actor and one-step targets on batches of real_ratio 0.05 real data,
//          the rest from D_model; MBPO's per-plant update count (G), rollout schedule
//          and target entropy, 7 models / 5 elites refit before every D_model refresh,
//          learned reward (jannerm/mbpo configs, docs/maac-vs-released-code.md "MBPO");
//   steve  the MAAC defaults with an H = 0 actor: STEVE targets, model data, as MAAC.
// The values and why: docs/training.md "Baselines and ablations".
// Thread: any. Allocation: none.
#include "core/learner_preset.h"

#include <errno.h>
#include <string.h>

static int streq(const char* a, const char* b) { return strcmp(a, b) == 0; }

// SAC's choices shared by the sac and mbpo presets (the actor and critic side).
static void sac_update(LearnerConfig* c) {
    c->horizon = 0;
    c->steve = 0;
    c->terminal_actions = 1;   // one sampled action per state, as SAC's actor
    c->soft_path = 0;          // no imagined path: nothing to pay entropy on
    c->policy_avg_tau = 0.0f;  // deploy the online policy
    c->mpc_eval = 0;
}

static void preset_sac(LearnerConfig* c) {
    sac_update(c);
    c->real_only = 1;
    c->real_ratio = 1.0f;
    c->updates_per_step = 1;
    c->target_entropy = 0.0f;   // -act_dim
}

// MBPO's per-environment values (jannerm/mbpo examples/config/*/0.py).
static void preset_mbpo(LearnerConfig* c) {
    sac_update(c);
    c->real_only = 0;
    c->real_ratio = 0.05f;
    c->known_reward = 0;        // MBPO learns the reward with the dynamics
    c->n_models = 7;
    c->n_elites = 5;
    c->model_fit_freq = 0;      // refit before every D_model refresh (every 250 steps)
    c->model_train_freq = 250;
    c->updates_per_step = 20;
    c->target_entropy = 0.0f;
    int sched[4] = {20, 150, 1, 1};
    const char* p = c->plant;
    if (streq(p, "half_cheetah")) {
        c->updates_per_step = 40;
        c->target_entropy = -3.0f;
    } else if (streq(p, "hopper")) {
        sched[3] = 15;
        c->target_entropy = -1.0f;
    } else if (streq(p, "walker2d")) {
        c->target_entropy = -3.0f;
    } else if (streq(p, "ant")) {
        sched[1] = 100;
        sched[3] = 25;
        c->target_entropy = -4.0f;
    } else {
        memcpy(sched, c->rollout_schedule, sizeof(sched));   // small plants: keep theirs
        c->n_models = c->n_models < 7 ? c->n_models : 7;
        c->n_elites = c->n_elites < c->n_models ? c->n_elites : c->n_models;
    }
    memcpy(c->rollout_schedule, sched, sizeof(sched));
}

int learner_config_algo_preset(LearnerConfig* cfg, const char* algo, MaacErr* reterr) {
    if (streq(algo, "maac"))
        return 0;
    if (streq(algo, "sac")) {
        preset_sac(cfg);
        return 0;
    }
    if (streq(algo, "mbpo")) {
        preset_mbpo(cfg);
        return 0;
    }
    if (streq(algo, "steve")) {
        cfg->horizon = 0;
        cfg->steve = 1;
        return 0;
    }
    return maac_err(reterr, -EINVAL, "unknown --algo '%s' (maac, sac, mbpo, steve)", algo);
}

const char* learner_config_algo(const LearnerConfig* c) {
    if (c->horizon > 0)
        return "maac";
    if (!learner_config_needs_model(c))
        return "sac";
    return c->steve ? "steve" : "mbpo";
}

int learner_config_needs_model(const LearnerConfig* c) {
    return c->horizon > 0 || c->steve || !c->real_only || c->mpc_eval;
}
