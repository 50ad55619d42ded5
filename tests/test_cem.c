// SPDX-License-Identifier: Apache-2.0
// test_cem.c -- CEM-MPC on toy problems with a known optimum.
//
// The "ensemble" has no hidden layer (a linear model) with weights set by hand so
// that every member predicts s0' = s0 + 0.5 a exactly; the reward is a PlantModel
// written here. Checks: CEM finds the optimum first action that the policy's own
// action misses; the terminal value is min(Q1, Q2); the learned-reward path; same
// seed -> same action; NaN obs -> -EINVAL; cem_plan allocates nothing (malloc and
// friends are wrapped at link time, tests/learner_model.cmake). On default-sized
// networks, cem_score (the batched, mean-only scoring) equals a row-by-row
// reference built from the public one-row paths, with and without termination.
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
static const PlantModel RF_TARGET = {.name = "toy", .obs_dim = S, .act_dim = A, .exact = 1, .reward = r_target};
static const PlantModel RF_ZERO = {.name = "toy0", .obs_dim = S, .act_dim = A, .exact = 1, .reward = r_zero};

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

// ---- cem_score against a row-by-row reference on default-sized networks ------------
// The reference runs each (candidate, member) through the public one-row paths:
// ens_step_forward (eps NULL: the mean prediction), the reward, policy_forward
// (eps NULL), qf_forward. cem_score batches them on the mean-only feature-major
// path; the objectives must agree to float rounding. Sizes: obs 17, act 6, 5
// members of 4 x 200 swish with a learned reward, policy and twin Q 2 x 256 relu.
#define BS 17
#define BA 6
static float g_term_at;   // |s2[1]| above this terminates
static void r_big(float* r, const float* s, const float* a, const float* s2, int B) {
    for (int b = 0; b < B; b++) {
        float c = 0.0f;
        for (int j = 0; j < BA; j++) c += a[b * BA + j] * a[b * BA + j];
        r[b] = s2[b * BS] - 0.5f * s[b * BS + 2] - 0.1f * c;
    }
}
static void t_big(float* done, const float* s2, int B) {
    for (int b = 0; b < B; b++) done[b] = fabsf(s2[b * BS + 1]) > g_term_at ? 1.0f : 0.0f;
}
static const PlantModel RF_BIG = {.name = "big", .obs_dim = BS, .act_dim = BA, .exact = 1, .reward = r_big, .terminated = t_big};

static void ref_score(const CemConfig* cfg, const Ensemble* e, const Policy* pi,
                      const QFunction* q, const PlantModel* rf, const float* obs,
                      const float* seqs, int iter, float* out, int* n_term) {
    EnsStepWork* ew = ens_step_work_create(e, 1);
    PolicyWork* pw = policy_work_create(pi, 1);
    QfWork* qw = qf_work_create(q, 1);
    int ne = e->n_elites, P = cfg->population, H = cfg->horizon;
    int k = cfg->n_models <= 0 || cfg->n_models > ne ? ne : cfg->n_models;
    *n_term = 0;
    for (int i = 0; i < P; i++) {
        double acc = 0.0;
        for (int g = 0; g < k; g++) {
            int m = e->elites[(iter * k + g) % ne];
            float st[BS], s2[BS], r, done = 0.0f, aT[BA], qv[2];
            memcpy(st, obs, sizeof st);
            float J = 0.0f, alive = 1.0f, disc = 1.0f;
            for (int t = 0; t < H; t++) {
                const float* a = seqs + ((size_t)i * H + t) * BA;
                ens_step_forward(e, ew, s2, &r, st, a, &m, NULL, 1);
                if (rf) rf->reward(&r, st, a, s2, 1);
                J += disc * alive * r;
                if (rf && rf->terminated) rf->terminated(&done, s2, 1);
                if (done != 0.0f && alive != 0.0f) alive = 0.0f, ++*n_term;
                memcpy(st, s2, sizeof st);
                disc *= cfg->gamma;
            }
            policy_forward(pi, pw, aT, NULL, st, NULL, 1);
            qf_forward(q, qw, qv, st, aT, 1);
            J += disc * alive * fminf(qv[0], qv[1]);
            acc += J;
        }
        out[i] = (float)(acc / k);
    }
    ens_step_work_free(ew);
    policy_work_free(pw);
    qf_work_free(qw);
}

static void test_cem_score_matches_reference(void) {
    Rng rng;
    rng_seed(&rng, 77);
    Ensemble* e = ens_create(BS, BA, 5, 4, 200, NN_ACT_SWISH, 1, &rng);
    for (int j = 0; j < e->n_out; j++) {   // non-trivial (de)normalisation
        e->target_mean[j] = 0.01f * (float)(j - 8);
        e->target_std[j] = 0.05f + 0.01f * (float)j;
    }
    for (int i = 0; i < BS + BA; i++) {
        e->net->in_mean[i] = 0.1f * (float)(i % 5) - 0.2f;
        e->net->in_std[i] = 0.5f + 0.1f * (float)(i % 4);
    }
    e->n_elites = 3;   // unsorted on purpose: iterations pick members out of order
    e->elites[0] = 4, e->elites[1] = 0, e->elites[2] = 2;
    int hidden[2] = {256, 256};
    float lo[BA] = {-2.0f, -1.0f, -1.0f, 0.0f, -0.5f, -3.0f};
    float hi[BA] = {1.0f, 1.0f, 2.0f, 1.0f, 0.5f, 3.0f};
    Policy* pi = policy_create(BS, BA, 2, hidden, NN_ACT_RELU, lo, hi, &rng);
    QFunction* q = qf_create(BS, BA, 2, hidden, NN_ACT_RELU, &rng);
    CemConfig cfg;
    cem_config_default(&cfg);
    cfg.population = 37;   // not a multiple of 16: padded columns
    cfg.n_elites = 5;
    cfg.horizon = 4;
    cfg.n_models = 0;      // work sized for all elites
    CemWork* w = cem_work_create(&cfg, e, pi, q);
    CHECK(e && pi && q && w, "setup");
    float obs[BS], seqs[37 * 4 * BA], got[37], want[37];
    rng_normal_fill(&rng, obs, BS);
    for (int i = 0; i < 37 * 4; i++)
        for (int j = 0; j < BA; j++)
            seqs[i * BA + j] = lo[j] + (hi[j] - lo[j]) * rng_uniform(&rng);
    // Termination threshold: the median over rows of max_t |s_t[1]| along member 4's
    // (noise-free) 4-step path of each candidate, so about half the rows terminate.
    {
        EnsStepWork* ew = ens_step_work_create(e, 37);
        float s0[37 * BS], s1[37 * BS], a0[37 * BA], v[37];
        int mem[37];
        for (int i = 0; i < 37; i++) {
            memcpy(s0 + i * BS, obs, sizeof obs);
            mem[i] = 4;
            v[i] = 0.0f;
        }
        for (int t = 0; t < 4; t++) {
            for (int i = 0; i < 37; i++)
                memcpy(a0 + i * BA, seqs + ((size_t)i * 4 + t) * BA, sizeof(float) * BA);
            ens_step_forward(e, ew, s1, NULL, s0, a0, mem, NULL, 37);
            for (int i = 0; i < 37; i++) v[i] = fmaxf(v[i], fabsf(s1[i * BS + 1]));
            memcpy(s0, s1, sizeof s0);
        }
        for (int i = 1; i < 37; i++)   // insertion sort
            for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
                float t = v[j];
                v[j] = v[j - 1], v[j - 1] = t;
            }
        g_term_at = v[18];
        ens_step_work_free(ew);
    }
    struct { int n_models, iter; const PlantModel* rf; } cases[4] = {
        {2, 1, &RF_BIG},   // members elites[2], elites[0] = 2, 4
        {1, 2, &RF_BIG},   // member elites[2] = 2
        {0, 0, &RF_BIG},   // all three elites
        {2, 0, NULL},      // learned reward, no termination
    };
    int partial_cases = 0;   // cases where some, not all, rows terminate
    for (int c = 0; c < 4; c++) {
        cfg.n_models = cases[c].n_models;
        int nt = 0;
        g_allocs = 0;
        g_count_allocs = 1;
        int rc = cem_score(&cfg, w, e, pi, q, cases[c].rf, obs, seqs, cases[c].iter, got);
        g_count_allocs = 0;
        CHECK(rc == 0 && g_allocs == 0, "cem_score rc %d allocs %d", rc, g_allocs);
        ref_score(&cfg, e, pi, q, cases[c].rf, obs, seqs, cases[c].iter, want, &nt);
        double worst = 0.0, scale = 0.0;
        for (int i = 0; i < 37; i++) {
            worst = fmax(worst, fabs((double)got[i] - want[i]));
            scale = fmax(scale, fabs((double)want[i]));
        }
        printf("  cem_score vs reference (n_models %d, iter %d, %s): max |diff| %.3g of %.3g, "
               "%d terminations\n", cases[c].n_models, cases[c].iter,
               cases[c].rf ? "reward fn" : "learned reward", worst, scale, nt);
        CHECK(worst <= 1e-4 * (scale + 1.0), "cem_score == reference (case %d): %g", c, worst);
        int rows = 37 * (cases[c].n_models ? cases[c].n_models : 3);
        if (cases[c].rf) CHECK(nt > 0, "rows terminate (case %d): %d", c, nt);
        if (cases[c].rf && nt < rows) partial_cases++;
        CHECK(scale > 1e-3, "objective not trivially zero (case %d)", c);
    }
    CHECK(partial_cases > 0, "some case has terminated and live rows side by side");
    // Bad input is refused like cem_plan.
    float bad[BS];
    memcpy(bad, obs, sizeof bad);
    bad[3] = NAN;
    CHECK(cem_score(&cfg, w, e, pi, q, &RF_BIG, bad, seqs, 0, got) == -EINVAL, "NaN obs");
    CHECK(cem_score(&cfg, w, e, pi, q, &RF_BIG, obs, seqs, -1, got) == -EINVAL, "iter < 0");

    // init_std 0: every candidate is the mean, so one iteration returns the policy's
    // own deterministic action up to the elite average's rounding (checks CEM's policy
    // path against policy_forward). More iterations would refit a rounding-sized
    // variance and drift by ~1e-5.
    cfg.n_models = 1;
    cfg.init_std = 0.0f;
    cfg.iterations = 1;
    float act[BA], pa[BA];
    int rc = cem_plan(&cfg, w, e, pi, q, &RF_BIG, obs, &rng, act);
    PolicyWork* pw = policy_work_create(pi, 1);
    policy_forward(pi, pw, pa, NULL, obs, NULL, 1);
    double dmax = 0.0;
    for (int j = 0; j < BA; j++) dmax = fmax(dmax, fabs((double)act[j] - pa[j]));
    printf("  init_std 0: plan vs policy action max |diff| %.3g\n", dmax);
    CHECK(rc == 0 && dmax < 1e-5, "init_std 0 -> policy action (%g)", dmax);
    policy_work_free(pw);
    cem_work_free(w);
    qf_free(q);
    policy_free(pi);
    ens_free(e);
}

int main(void) {
    test_cem_score_matches_reference();
    test_cem_plan_finds_reward_optimum();
    test_cem_plan_terminal_value_is_min_q();
    test_cem_plan_learned_reward();
    return test_summary("test_cem");
}
