// SPDX-License-Identifier: Apache-2.0
// learner_config.c -- LearnerConfig defaults per plant, setting by name, printing, checks.
//
// Defaults follow the released MAAC code (docs/maac-vs-released-code.md, "Released hyperparameters") for the MuJoCo
// locomotion plants: H = 4 (walker2d 2), K = 1 path, 5 terminal actions, STEVE
// critic with H = 2, auto-tuned entropy with target -act_dim, 8 models of 4 x 200
// swish (all elite), 2 x 256 policy and Qs, 8 updates per env step, real ratio
// 0.05, batch 256, gamma 0.99, tau 5e-3, model fit every 250 steps, 100k rollout
// start states, 5000 random steps, MBPO's rollout-length schedules. Three departures
// on half_cheetah: the entropy at every imagined action (soft_path), a Polyak average
// of the policy weights as the deployed policy (policy_avg_tau = 5e-4) and MBPO's
// target entropy -3 (why: docs/training.md "Why these defaults").
// Small plants (inverted_pendulum, inverted_double_pendulum, double_integrator,
// reacher, swimmer) get smaller, faster settings (docs/training.md says which and why).
// Every field can be set by name (learner_config_set), which is what the CLI flags,
// the INI file of `maac train --config` and maacd's config use.
// Thread: any. Allocation: none.
#include "core/learner.h"
#include "core/workers.h"
#include "core/rollout.h"
#include "core/learner_preset.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int streq(const char* a, const char* b) { return strcmp(a, b) == 0; }

static void preset_small(LearnerConfig* cfg) {
    // Small plants: small, fast settings (why: docs/training.md "Why these defaults").
    cfg->horizon = 2;
    cfg->steve = 0;
    cfg->terminal_actions = 1;
    cfg->policy_width = 64;
    cfg->q_width = 64;
    cfg->policy_act = NN_ACT_RELU;
    cfg->q_act = NN_ACT_RELU;
    cfg->n_models = 4;
    cfg->n_elites = 3;
    cfg->model_hidden = 2;
    cfg->model_width = 64;
    cfg->updates_per_step = 10;
    cfg->lr_policy = 1e-3f;
    cfg->lr_q = 1e-3f;
    cfg->lr_alpha = 1e-3f;
    cfg->batch = 128;
    cfg->real_ratio = 0.5f;
    cfg->init_random_steps = 500;
    cfg->model_train_freq = 250;
    cfg->model_fit_freq = 0;
    cfg->rollout_batch = 1000;
    cfg->model_max_epochs = 30;
    cfg->model_batch = 128;
    cfg->env_capacity = 200000;
}

void learner_config_default(LearnerConfig* cfg, const char* plant) {
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->plant, sizeof(cfg->plant), "%s", plant ? plant : "");
    cfg->seed = 0;
    cfg->horizon = 4;
    cfg->n_paths = 1;
    cfg->terminal_actions = 5;
    cfg->real_only = 0;
    // The plant's known reward where it is exact, else the learned reward head
    // (why: docs/training.md "Why these defaults"); resolved against the PlantModel
    // at learner_create.
    cfg->known_reward = -1;
    cfg->steve = 1;
    cfg->steve_horizon = 2;
    cfg->auto_entropy = 1;
    cfg->alpha = 1.0f;
    cfg->target_entropy = 0.0f;   // 0 here means "-act_dim" (filled at create)
    cfg->no_entropy = 0;
    cfg->soft_path = 0;
    cfg->gamma = 0.99f;
    cfg->tau = 5e-3f;
    cfg->policy_avg_tau = 0.0f;
    cfg->lr_policy = 3e-4f;
    cfg->lr_q = 3e-4f;
    cfg->lr_alpha = 3e-4f;
    cfg->lr_model = 1e-3f;
    cfg->batch = 256;
    cfg->updates_per_step = 8;
    cfg->real_ratio = 0.05f;
    cfg->policy_hidden = 2;
    cfg->policy_width = 256;
    cfg->policy_act = NN_ACT_TANH;
    cfg->q_hidden = 2;
    cfg->q_width = 256;
    cfg->q_act = NN_ACT_RELU;
    cfg->n_models = 8;
    cfg->model_hidden = 4;
    cfg->model_width = 200;
    cfg->model_act = NN_ACT_SWISH;
    cfg->n_elites = 8;
    cfg->init_random_steps = 5000;
    cfg->model_train_freq = 250;
    cfg->model_fit_freq = 1000;
    cfg->rollout_batch = 100000;
    cfg->rollout_schedule[0] = 20;
    cfg->rollout_schedule[1] = 100;
    cfg->rollout_schedule[2] = 1;
    cfg->rollout_schedule[3] = 1;
    cfg->env_capacity = 1000000;
    cfg->model_capacity = 0;   // 0 = rollout_model_capacity(retain, k_max, rollout_batch, freq)
    cfg->mpc_eval = 0;
    cem_config_default(&cfg->cem);
    cfg->model_retain = 1;
    cfg->model_max_epochs = 200;
    cfg->model_max_seconds = 0.0f;
    cfg->model_patience = 5;
    cfg->model_weight_decay = 5e-5f;
    cfg->model_batch = 256;
    cfg->grad_clip = 0.0f;
    cfg->rollout_chunk = 4096;
    cfg->threads = 2;
    if (!plant)
        return;
    // Per-plant choices of the released MAAC script (docs/maac-vs-released-code.md);
    // the departures from it and why: docs/training.md "Why these defaults".
    if (streq(plant, "half_cheetah")) {
        cfg->policy_act = NN_ACT_RELU;
        cfg->q_act = NN_ACT_RELU;
        cfg->soft_path = 1;            // entropy at every imagined action (not released)
        cfg->policy_avg_tau = 5e-4f;   // deploy a Polyak average of the policy weights
        cfg->target_entropy = -3.0f;   // MBPO's half_cheetah value, not -act_dim
    } else if (streq(plant, "hopper")) {
        cfg->q_act = NN_ACT_TANH;
        cfg->rollout_schedule[3] = 15;
    } else if (streq(plant, "walker2d")) {
        cfg->horizon = 2;
        cfg->q_act = NN_ACT_TANH;
    } else if (streq(plant, "ant")) {
        cfg->q_act = NN_ACT_RELU;
        cfg->rollout_schedule[3] = 25;
    } else if (streq(plant, "inverted_pendulum") || streq(plant, "double_integrator") ||
               streq(plant, "inverted_double_pendulum") || streq(plant, "reacher") ||
               streq(plant, "swimmer")) {
        preset_small(cfg);
    }
}

// ---- presets ---------------------------------------------------------------------

static int tuned_plant(const char* plant) {
    static const char* const names[] = {"half_cheetah", "hopper", "walker2d", "ant",
                                        "inverted_pendulum", "double_integrator",
                                        "inverted_double_pendulum", "reacher", "swimmer"};
    for (unsigned i = 0; plant && i < sizeof names / sizeof names[0]; i++)
        if (streq(plant, names[i])) return 1;
    return 0;
}

const char* learner_config_auto_preset(const char* plant, int obs_dim, int act_dim,
                                       double period) {
    if (tuned_plant(plant)) return NULL;
    if (act_dim <= 2 && obs_dim <= 16) return "small";
    if (period >= 0.02 && act_dim <= 4 && obs_dim <= 32) return "small";
    return "locomotion";
}

int learner_config_preset(LearnerConfig* cfg, const char* preset, MaacErr* reterr) {
    if (streq(preset, "small")) {
        preset_small(cfg);
        return 0;
    }
    if (streq(preset, "locomotion")) {
        char plant[sizeof cfg->plant];
        memcpy(plant, cfg->plant, sizeof plant);
        uint64_t seed = cfg->seed;
        learner_config_default(cfg, "");
        memcpy(cfg->plant, plant, sizeof plant);
        cfg->seed = seed;
        return 0;
    }
    return maac_err(reterr, -EINVAL, "preset '%s': small or locomotion", preset);
}

// ---- setting by name ------------------------------------------------------------

typedef enum { F_INT, F_LONG, F_U64, F_FLOAT, F_ACT, F_STR, F_SCHED } FieldType;

typedef struct {
    const char* key;      // name as in the struct ("cem." prefix for CemConfig)
    FieldType type;       // how to parse and print it
    size_t off;           // offsetof in LearnerConfig
} Field;

#define FI(name, t) {#name, t, offsetof(LearnerConfig, name)}
#define FC(name, t) {"cem." #name, t, offsetof(LearnerConfig, cem) + offsetof(CemConfig, name)}
static const Field FIELDS[] = {
    FI(plant, F_STR), FI(seed, F_U64),
    FI(horizon, F_INT), FI(n_paths, F_INT), FI(terminal_actions, F_INT),
    FI(real_only, F_INT), FI(known_reward, F_INT),
    FI(steve, F_INT), FI(steve_horizon, F_INT),
    FI(auto_entropy, F_INT), FI(alpha, F_FLOAT), FI(target_entropy, F_FLOAT),
    FI(no_entropy, F_INT), FI(soft_path, F_INT),
    FI(gamma, F_FLOAT), FI(tau, F_FLOAT), FI(policy_avg_tau, F_FLOAT), FI(lr_policy, F_FLOAT), FI(lr_q, F_FLOAT),
    FI(lr_alpha, F_FLOAT), FI(lr_model, F_FLOAT), FI(batch, F_INT),
    FI(updates_per_step, F_INT), FI(real_ratio, F_FLOAT),
    FI(policy_hidden, F_INT), FI(policy_width, F_INT), FI(policy_act, F_ACT),
    FI(q_hidden, F_INT), FI(q_width, F_INT), FI(q_act, F_ACT),
    FI(n_models, F_INT), FI(model_hidden, F_INT), FI(model_width, F_INT),
    FI(model_act, F_ACT), FI(n_elites, F_INT),
    FI(init_random_steps, F_INT), FI(model_train_freq, F_INT), FI(model_fit_freq, F_INT),
    FI(rollout_batch, F_INT),
    FI(rollout_schedule, F_SCHED), FI(env_capacity, F_LONG), FI(model_capacity, F_LONG),
    FI(mpc_eval, F_INT),
    FI(model_retain, F_INT), FI(model_max_epochs, F_INT), FI(model_max_seconds, F_FLOAT),
    FI(model_patience, F_INT), FI(model_weight_decay, F_FLOAT), FI(model_batch, F_INT),
    FI(grad_clip, F_FLOAT), FI(rollout_chunk, F_INT), FI(threads, F_INT),
    FC(population, F_INT), FC(n_elites, F_INT), FC(iterations, F_INT), FC(horizon, F_INT),
    FC(gamma, F_FLOAT), FC(momentum, F_FLOAT), FC(init_std, F_FLOAT),
};
#define N_FIELDS ((int)(sizeof(FIELDS) / sizeof(FIELDS[0])))

// Accept "-" for "_" so `--real-ratio` and `real_ratio` both work.
static int key_eq(const char* want, const char* got) {
    for (; *want && *got; want++, got++) {
        char g = *got == '-' ? '_' : *got;
        if (*want != g)
            return 0;
    }
    return *want == 0 && *got == 0;
}

int learner_config_set(LearnerConfig* cfg, const char* key, const char* value, MaacErr* reterr) {
    if (key_eq("preset", key))
        return learner_config_preset(cfg, value, reterr);
    const Field* f = NULL;
    for (int i = 0; i < N_FIELDS; i++)
        if (key_eq(FIELDS[i].key, key)) {
            f = &FIELDS[i];
            break;
        }
    if (!f)
        return maac_err(reterr, -ENOENT, "unknown setting '%s'", key);
    char* p = (char*)cfg + f->off;
    char* end = NULL;
    errno = 0;
    switch (f->type) {
    case F_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < -2147483647L || v > 2147483647L)
            goto bad;
        *(int*)p = (int)v;
        break;
    }
    case F_LONG: {
        double v = strtod(value, &end);   // allows "1e6"
        // range first: (long)v is undefined for NaN and for values outside long
        if (end == value || *end || errno || !(v >= -0x1p63 && v < 0x1p63) || v != floor(v))
            goto bad;
        *(long*)p = (long)v;
        break;
    }
    case F_U64: {
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno)
            goto bad;
        *(uint64_t*)p = (uint64_t)v;
        break;
    }
    case F_FLOAT: {
        float v = strtof(value, &end);
        if (end == value || *end || errno || !isfinite(v))   // NaN/Inf settings are nonsense
            goto bad;
        *(float*)p = v;
        break;
    }
    case F_ACT:
        if (nn_act_parse(value, (NnAct*)p) != 0)
            goto bad;
        break;
    case F_STR:
        if (strlen(value) >= sizeof(cfg->plant))
            goto bad;
        snprintf(p, sizeof(cfg->plant), "%s", value);
        break;
    case F_SCHED: {
        int v[4];
        if (sscanf(value, "%d , %d , %d , %d", &v[0], &v[1], &v[2], &v[3]) != 4)
            goto bad;
        memcpy(p, v, sizeof(v));
        break;
    }
    }
    return 0;
bad:
    return maac_err(reterr, -EINVAL, "bad value '%s' for %s", value, f->key);
}

void learner_config_print(const LearnerConfig* cfg, void* fp) {
    FILE* f = fp;
    for (int i = 0; i < N_FIELDS; i++) {
        const char* p = (const char*)cfg + FIELDS[i].off;
        fprintf(f, "%s = ", FIELDS[i].key);
        switch (FIELDS[i].type) {
        case F_INT: fprintf(f, "%d\n", *(const int*)p); break;
        case F_LONG: fprintf(f, "%ld\n", *(const long*)p); break;
        case F_U64: fprintf(f, "%llu\n", (unsigned long long)*(const uint64_t*)p); break;
        case F_FLOAT: fprintf(f, "%.9g\n", (double)*(const float*)p); break;
        case F_ACT: fprintf(f, "%s\n", nn_act_name(*(const NnAct*)p)); break;
        case F_STR: fprintf(f, "%s\n", p); break;
        case F_SCHED: {
            const int* v = (const int*)p;
            fprintf(f, "%d,%d,%d,%d\n", v[0], v[1], v[2], v[3]);
            break;
        }
        }
    }
}

int learner_config_check(const LearnerConfig* c, MaacErr* reterr) {
    if (c->horizon < 0 || c->horizon > 32)
        return maac_err(reterr, -EINVAL, "horizon %d out of [0, 32]", c->horizon);
    if (c->n_paths < 1 || c->terminal_actions < 1)
        return maac_err(reterr, -EINVAL, "n_paths and terminal_actions must be >= 1");
    if (c->steve_horizon < 0 || c->steve_horizon > 16)
        return maac_err(reterr, -EINVAL, "steve_horizon %d out of [0, 16]", c->steve_horizon);
    if (!(c->gamma > 0 && c->gamma <= 1) || !(c->tau > 0 && c->tau <= 1))
        return maac_err(reterr, -EINVAL, "gamma and tau must be in (0, 1]");
    if (!(c->policy_avg_tau >= 0 && c->policy_avg_tau <= 1))
        return maac_err(reterr, -EINVAL, "policy_avg_tau %g out of [0, 1]",
                        (double)c->policy_avg_tau);
    if (c->batch < 1 || c->updates_per_step < 0)
        return maac_err(reterr, -EINVAL, "batch must be >= 1 and updates_per_step >= 0");
    if (!(c->real_ratio >= 0 && c->real_ratio <= 1))
        return maac_err(reterr, -EINVAL, "real_ratio %g out of [0, 1]", (double)c->real_ratio);
    if (c->policy_hidden < 1 || c->policy_hidden > MLP_MAX_LAYERS - 1 || c->q_hidden < 1 ||
        c->q_hidden > MLP_MAX_LAYERS - 1 || c->model_hidden < 1 ||
        c->model_hidden > MLP_MAX_LAYERS - 1)
        return maac_err(reterr, -EINVAL, "hidden layer counts must be in [1, %d]",
                        MLP_MAX_LAYERS - 1);
    if (c->policy_width < 1 || c->q_width < 1 || c->model_width < 1)
        return maac_err(reterr, -EINVAL, "layer widths must be >= 1");
    if (c->n_models < 1 || c->n_models > ENS_MAX_MEMBERS)
        return maac_err(reterr, -EINVAL, "n_models %d out of [1, %d]", c->n_models,
                        ENS_MAX_MEMBERS);
    if (c->n_elites < 1 || c->n_elites > c->n_models)
        return maac_err(reterr, -EINVAL, "n_elites %d out of [1, n_models]", c->n_elites);
    if (c->init_random_steps < 0 || c->model_train_freq < 1 || c->model_fit_freq < 0 ||
        c->rollout_batch < 0)
        return maac_err(reterr, -EINVAL, "bad data schedule (init_random_steps, "
                                         "model_train_freq, model_fit_freq, rollout_batch)");
    if (c->rollout_schedule[2] < 0 || c->rollout_schedule[3] < 0)
        return maac_err(reterr, -EINVAL, "rollout lengths must be >= 0");
    if (c->env_capacity < 1 || c->model_capacity < 0)
        return maac_err(reterr, -EINVAL, "bad buffer capacities");
    if (c->mpc_eval && (c->cem.n_elites < 1 || c->cem.n_elites > c->cem.population ||
                        c->cem.horizon < 1 || c->cem.iterations < 1))
        return maac_err(reterr, -EINVAL, "CEM needs 1 <= cem.n_elites <= cem.population, "
                                         "cem.horizon >= 1 and cem.iterations >= 1");
    if (c->rollout_chunk < 1 || c->model_batch < 1 || c->model_max_epochs < 1)
        return maac_err(reterr, -EINVAL, "rollout_chunk, model_batch and model_max_epochs "
                                         "must be >= 1");
    if (c->threads < 1 || c->threads > WORKERS_MAX)
        return maac_err(reterr, -EINVAL, "threads %d out of [1, %d]", c->threads, WORKERS_MAX);
    return 0;
}

// ---- schedule helpers -------------------------------------------------------------

long learner_model_capacity(const LearnerConfig* cfg, int k) {
    if (!learner_config_needs_model(cfg))
        return 1;   // SAC: no D_model (one placeholder row, never filled)
    if (cfg->model_capacity > 0)
        return cfg->model_capacity;
    long c = rollout_model_capacity(cfg->model_retain, k, cfg->rollout_batch,
                                    cfg->model_train_freq);
    return c > 0 ? c : 1;
}

int learner_real_rows(const LearnerConfig* cfg, long model_size) {
    if (cfg->real_only || model_size <= 0)
        return cfg->batch;
    int n = (int)((float)cfg->batch * cfg->real_ratio);   // MBPO: int(batch * real_ratio)
    if (n < 0)
        n = 0;
    if (n > cfg->batch)
        n = cfg->batch;
    return n;
}
