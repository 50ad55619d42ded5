// SPDX-License-Identifier: Apache-2.0
// test_cem.c -- CEM-MPC on toy problems with a known optimum.
//
// The "ensemble" has no hidden layer (a linear model) with weights set by hand so
// that every member predicts s0' = s0 + 0.5 a exactly; the reward is a SimRewardFn
// written here. Checks: CEM finds the optimum first action that the policy's own
// action misses; the terminal value is min(Q1, Q2); the learned-reward path; same
// seed -> same action; NaN obs -> -EINVAL; cem_plan allocates nothing (malloc and
// friends are wrapped at link time, tests/learner_model.cmake).
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cem.h"
#include "test_util.h"

// ---- allocation counter (--wrap) ----------------------------------------------
void* __real_malloc(size_t n);
void* __real_calloc(size_t n, size_t k);
void* __real_realloc(void* p, size_t n);
void* __real_aligned_alloc(size_t a, size_t n);
static int g_count_allocs, g_allocs;
void* __wrap_malloc(size_t n) {
    g_allocs += g_count_allocs;
    return __real_malloc(n);
}
void* __wrap_calloc(size_t n, size_t k) {
    g_allocs += g_count_allocs;
    return __real_calloc(n, k);
}
void* __wrap_realloc(void* p, size_t n) {
    g_allocs += g_count_allocs;
    return __real_realloc(p, n);
}
void* __wrap_aligned_alloc(size_t a, size_t n) {
    g_allocs += g_count_allocs;
    return __real_aligned_alloc(a, n);
}

#define S 2
#define A 1

// ---- reward functions ------------------------------------------------------------
static void r_target(float* r, const float* s, const float* a, const float* s2, int B) {
    (void)s, (void)a;
    for (int b = 0; b < B; b++) r[b] = -s2[b * S] * s2[b * S];   // drive s0 to 0
}
static void r_zero(float* r, const float* s, const float* a, const float* s2, int B) {
    (void)s, (void)a, (void)s2;
    for (int b = 0; b < B; b++) r[b] = 0.0f;
}
static const SimRewardFn RF_TARGET = {"toy", S, A, 1, r_target, NULL, NULL};
static const SimRewardFn RF_ZERO = {"toy0", S, A, 1, r_zero, NULL, NULL};

// Linear members: s0' = s0 + 0.5 a; learned reward (if any) r = -a.
static Ensemble* make_model(int learn_reward) {
    Ensemble* e = ens_create(S, A, 3, 0, 1, NN_ACT_SWISH, learn_reward, NULL);
    memset(e->net->params, 0, sizeof(float) * (size_t)e->net->n_params);
    int n_in = S + A;
    for (int m = 0; m < 3; m++) {
        float* W = mlp_weight(e->net, m, 0);   // (2 n_out, S + A)
        W[0 * n_in + S] = 0.5f;
        if (learn_reward) W[S * n_in + S] = -1.0f;
        float* mx = mlp_max_logvar(e->net, m);
        float* mn = mlp_min_logvar(e->net, m);
        for (int j = 0; j < e->n_out; j++) mx[j] = 0.5f, mn[j] = -10.0f;
    }
    return e;
}

static Policy* make_policy(void) {
    Rng rng;
    rng_seed(&rng, 5);
    int hidden[1] = {8};
    float lo[A] = {-1.0f}, hi[A] = {1.0f};
    return policy_create(S, A, 1, hidden, NN_ACT_TANH, lo, hi, &rng);
}

// Q with one relu hidden unit h = relu(s0 + 10):  Q1 = -h,  Q2 = h - 50.
// Near s0 = 0, min(Q1, Q2) = Q2 (rewards large s0); max or mean would not.
static QFunction* make_q(int zero) {
    Rng rng;
    rng_seed(&rng, 6);
    int hidden[1] = {4};
    QFunction* q = qf_create(S, A, 1, hidden, NN_ACT_RELU, &rng);
    memset(q->net->params, 0, sizeof(float) * (size_t)q->net->n_params);
    if (!zero) {
        for (int m = 0; m < 2; m++) {
            mlp_weight(q->net, m, 0)[0] = 1.0f;   // hidden 0 <- s0
            mlp_bias(q->net, m, 0)[0] = 10.0f;
        }
        mlp_weight(q->net, 0, 1)[0] = -1.0f;
        mlp_weight(q->net, 1, 1)[0] = 1.0f;
        mlp_bias(q->net, 1, 1)[0] = -50.0f;
    }
    return q;
}

static void small_cfg(CemConfig* cfg) {
    cem_config_default(cfg);
    cfg->population = 200;
    cfg->n_elites = 20;
    cfg->iterations = 6;
    cfg->horizon = 3;
    cfg->n_models = 2;
}

static void test_cem_plan_finds_reward_optimum(void) {
    Ensemble* e = make_model(0);
    Policy* pi = make_policy();
    QFunction* q = make_q(1);
    CemConfig cfg;
    small_cfg(&cfg);
    CemWork* w = cem_work_create(&cfg, e, pi, q);
    CHECK(e && pi && q && w, "setup");
    float obs[S] = {0.4f, -0.3f}, act[A], act2[A], pi_act[A];
    float scratch[256];
    CHECK(policy_act1_scratch_floats(pi) <= 256, "scratch");
    policy_act1(pi, obs, NULL, pi_act, scratch);
    Rng rng;
    rng_seed(&rng, 42);
    g_allocs = 0;
    g_count_allocs = 1;
    int rc = cem_plan(&cfg, w, e, pi, q, &RF_TARGET, obs, &rng, act);
    g_count_allocs = 0;
    CHECK(rc == 0, "rc %d", rc);
    CHECK(g_allocs == 0, "cem_plan allocated %d times", g_allocs);
    // Optimum: a0 = -0.8 takes s0 from 0.4 to 0 (then a = 0 keeps it there).
    printf("  reward optimum: cem %.4f, policy %.4f, optimum -0.8\n", act[0], pi_act[0]);
    CHECK(fabsf(act[0] + 0.8f) < 0.08f, "cem action %.4f near -0.8", act[0]);
    CHECK(fabsf(act[0] + 0.8f) < fabsf(pi_act[0] + 0.8f), "cem beats the policy (%.4f vs %.4f)",
          act[0], pi_act[0]);
    // Same seed, same action.
    rng_seed(&rng, 42);
    cem_plan(&cfg, w, e, pi, q, &RF_TARGET, obs, &rng, act2);
    CHECK(memcmp(act, act2, sizeof act) == 0, "deterministic for a seed");
    // Every elite for every candidate (n_models = 0) also finds it.
    CemConfig all = cfg;
    all.n_models = 0;
    CemWork* w_all = cem_work_create(&all, e, pi, q);
    rc = cem_plan(&all, w_all, e, pi, q, &RF_TARGET, obs, &rng, act2);
    CHECK(rc == 0 && fabsf(act2[0] + 0.8f) < 0.08f, "all members: %.4f", act2[0]);
    // A config needing more rows than the work was made for is refused.
    CHECK(cem_plan(&all, w, e, pi, q, &RF_TARGET, obs, &rng, act2) == -EINVAL,
          "oversized config -> -EINVAL");
    // NaN observation: -EINVAL, act untouched.
    float bad[S] = {NAN, 0.0f};
    act2[0] = 123.0f;
    CHECK(cem_plan(&cfg, w, e, pi, q, &RF_TARGET, bad, &rng, act2) == -EINVAL, "NaN obs");
    CHECK(act2[0] == 123.0f, "act untouched on error");
    bad[0] = INFINITY;
    CHECK(cem_plan(&cfg, w, e, pi, q, &RF_TARGET, bad, &rng, act2) == -EINVAL, "Inf obs");
    // No reward source at all.
    CHECK(cem_plan(&cfg, w, e, pi, q, NULL, obs, &rng, act2) == -EINVAL, "no reward -> -EINVAL");
    cem_work_free(w_all);
    cem_work_free(w);
    qf_free(q);
    policy_free(pi);
    ens_free(e);
}

static void test_cem_plan_terminal_value_is_min_q(void) {
    Ensemble* e = make_model(0);
    Policy* pi = make_policy();
    QFunction* q = make_q(0);
    CemConfig cfg;
    small_cfg(&cfg);
    CemWork* w = cem_work_create(&cfg, e, pi, q);
    float obs[S] = {0.0f, 0.0f}, act[A];
    Rng rng;
    rng_seed(&rng, 3);
    int rc = cem_plan(&cfg, w, e, pi, q, &RF_ZERO, obs, &rng, act);
    printf("  terminal min Q: cem %.4f (want the upper bound 1)\n", act[0]);
    CHECK(rc == 0 && act[0] > 0.85f, "min(Q1, Q2) = Q2 rewards large s0: act %.4f", act[0]);
    cem_work_free(w);
    qf_free(q);
    policy_free(pi);
    ens_free(e);
}

static void test_cem_plan_learned_reward(void) {
    Ensemble* e = make_model(1);   // r = -a: the best action is the lower bound
    Policy* pi = make_policy();
    QFunction* q = make_q(1);
    CemConfig cfg;
    small_cfg(&cfg);
    CemWork* w = cem_work_create(&cfg, e, pi, q);
    float obs[S] = {0.1f, 0.2f}, act[A];
    Rng rng;
    rng_seed(&rng, 4);
    int rc = cem_plan(&cfg, w, e, pi, q, NULL, obs, &rng, act);
    printf("  learned reward: cem %.4f (want the lower bound -1)\n", act[0]);
    CHECK(rc == 0 && act[0] < -0.85f, "learned reward r = -a: act %.4f", act[0]);
    cem_work_free(w);
    qf_free(q);
    policy_free(pi);
    ens_free(e);
}

int main(void) {
    test_cem_plan_finds_reward_optimum();
    test_cem_plan_terminal_value_is_min_q();
    test_cem_plan_learned_reward();
    return test_summary("test_cem");
}
