// SPDX-License-Identifier: Apache-2.0
// test_sim_reward.c -- the differentiable rewards and terminations (reward.h)
// against the plants' own reward and termination on real transitions, and their
// gradients against central finite differences.
//
// Transitions come from random-action rollouts (fixed seeds, uniform actions in
// the bounds, 2x past them for a tenth of the steps so the raw-action control cost
// is exercised). Exact reward functions must match to float rounding; the
// approximate ones (forward velocity from the observation) must stay under the
// RMS bounds below, which are about twice the errors measured on these rollouts.
// Terminations must agree on every transition (InvertedDoublePendulum, whose plant
// reads the tip one substep late, may disagree on at most 1% of them).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "sim/reward.h"
#include "sim/sim.h"
#include "test_util.h"

#define N 3000   // transitions per plant

typedef struct {
    const char* name;
    double rms_bound;    // bound on RMS(r_fn - r_true); exact plants: tolerance per transition
    double done_mismatch;  // allowed fraction of termination disagreements
} Case;

static const Case cases[] = {
    {"half_cheetah", 0.4, 0},
    {"hopper", 0.02, 0},
    {"walker2d", 0.04, 0},
    {"ant", 0.2, 0},
    {"inverted_pendulum", 1e-6, 0},
    {"inverted_double_pendulum", 1e-3, 0.01},
    {"reacher", 1e-5, 0},
    {"swimmer", 0.04, 0},
    {"double_integrator", 1e-4, 0},
};

static float S[N * SIM_MAX_OBS], A[N * SIM_MAX_ACT], S2[N * SIM_MAX_OBS];
static double R[N];
static int D[N];

// Collect N transitions of plant p under random actions; episodes restart on
// termination or truncation.
static void collect(SimPlant* p, uint64_t seed) {
    const SimSpec* sp = sim_spec(p);
    const int O = sp->obs_dim, K = sp->act_dim;
    Rng rng;
    rng_seed(&rng, seed);
    double obs[SIM_MAX_OBS], obs2[SIM_MAX_OBS], a[SIM_MAX_ACT];
    uint64_t ep = seed * 1000;
    sim_reset(p, ep++, obs);
    for (int t = 0; t < N; t++) {
        const double wide = rng_uniform_d(&rng) < 0.1 ? 2.0 : 1.0;
        for (int i = 0; i < K; i++) {
            const double lo = sp->act_low[i], hi = sp->act_high[i];
            a[i] = wide * (lo + (hi - lo) * rng_uniform_d(&rng));
        }
        SimStepResult res;
        int rc = sim_step(p, a, obs2, &res);
        CHECK(rc == 0, "%s step rc %d", sp->name, rc);
        for (int i = 0; i < O; i++) S[t * O + i] = (float)obs[i], S2[t * O + i] = (float)obs2[i];
        for (int i = 0; i < K; i++) A[t * K + i] = (float)a[i];
        R[t] = res.reward;
        D[t] = res.terminated;
        if (res.terminated || res.truncated) sim_reset(p, ep++, obs);
        else memcpy(obs, obs2, sizeof obs);
    }
}

static void check_agreement(const Case* c, const SimRewardFn* f) {
    static float r[N], done[N];
    f->reward(r, S, A, S2, N);
    f->terminated(done, S2, N);
    double se = 0.0, maxe = 0.0, sr = 0.0;
    int mismatch = 0, nterm = 0;
    for (int t = 0; t < N; t++) {
        const double e = r[t] - R[t];
        se += e * e;
        sr += R[t] * R[t];
        maxe = fmax(maxe, fabs(e) / (1.0 + fabs(R[t])));
        mismatch += (done[t] != 0.0f) != (D[t] != 0);
        nterm += D[t] != 0;
    }
    const double rms = sqrt(se / N);
    printf("  %-26s exact=%d RMS(r_fn - r) %.4g (RMS r %.4g) max rel %.3g; done mismatches %d/%d (%d terminal)\n",
           c->name, f->exact, rms, sqrt(sr / N), maxe, mismatch, N, nterm);
    if (f->exact)
        CHECK(maxe <= c->rms_bound + 2e-6, "%s exact reward off by %g", c->name, maxe);
    else
        CHECK(rms <= c->rms_bound, "%s approximate reward RMS %g > %g", c->name, rms, c->rms_bound);
    CHECK(mismatch <= c->done_mismatch * N, "%s termination disagrees on %d transitions", c->name, mismatch);
}

// Forward-velocity plants: RMS error of the end velocity s2[iv] and of the mean
// (s[iv] + s2[iv]) / 2 as proxies of the true (x_after - x_before) / dt. Returns
// 1 when the mean is the better one.
static int velocity_proxies(const char* name, int O, int K, int iv, double wc, double alive) {
    double e_end = 0.0, e_mean = 0.0;
    for (int t = 0; t < N; t++) {
        double c = 0.0;
        for (int i = 0; i < K; i++) c += wc * A[t * K + i] * A[t * K + i];
        const double v = R[t] + c - alive;   // true forward velocity
        const double d1 = S2[t * O + iv] - v, d2 = 0.5 * (S[t * O + iv] + S2[t * O + iv]) - v;
        e_end += d1 * d1;
        e_mean += d2 * d2;
    }
    printf("  %-26s velocity proxies: RMS error s2[%d] %.4f, (s[%d]+s2[%d])/2 %.4f\n", name, iv,
           sqrt(e_end / N), iv, iv, sqrt(e_mean / N));
    return e_mean < e_end;
}

static void check_proxy_choice(const char* name) {
    // (obs, act, iv, ctrl weight, alive, mean chosen in reward.c)
    static const struct { const char* n; int O, K, iv; double wc, alive; int mean; } L[] = {
        {"half_cheetah", 17, 6, 8, 0.1, 0.0, 1}, {"hopper", 11, 3, 5, 1e-3, 1.0, 1},
        {"walker2d", 17, 6, 8, 1e-3, 1.0, 1},    {"ant", 27, 8, 13, 0.5, 1.0, 1},
        {"swimmer", 8, 2, 3, 1e-4, 0.0, 1},
    };
    for (unsigned i = 0; i < sizeof L / sizeof L[0]; i++)
        if (!strcmp(L[i].n, name)) {
            int mean_better = velocity_proxies(name, L[i].O, L[i].K, L[i].iv, L[i].wc, L[i].alive);
            CHECK(mean_better == L[i].mean, "%s: reward.c uses the worse velocity proxy", name);
        }
}

// Central finite differences of r in each of s, a, s2 on B rows, against backward.
static void check_gradients(const SimRewardFn* f, uint64_t seed) {
    enum { B = 16 };
    const int O = f->obs_dim, K = f->act_dim;
    static float s[B * SIM_MAX_OBS], a[B * SIM_MAX_ACT], s2[B * SIM_MAX_OBS];
    static float ds[B * SIM_MAX_OBS], da[B * SIM_MAX_ACT], ds2[B * SIM_MAX_OBS];
    float dr[B], rp[B], rm[B];
    Rng rng;
    rng_seed(&rng, seed);
    for (int b = 0; b < B; b++) {   // real transitions, spread over the collection
        const int t = (int)rng_below(&rng, N);
        memcpy(s + b * O, S + t * O, sizeof(float) * O);
        memcpy(s2 + b * O, S2 + t * O, sizeof(float) * O);
        memcpy(a + b * K, A + t * K, sizeof(float) * K);
        dr[b] = 0.5f + rng_uniform(&rng);
    }
    memset(ds, 0, sizeof ds);
    memset(da, 0, sizeof da);
    memset(ds2, 0, sizeof ds2);
    f->reward_backward(ds, da, ds2, dr, s, a, s2, B);
    float* xs[3] = {s, a, s2};
    float* gs[3] = {ds, da, ds2};
    const int widths[3] = {O, K, O};
    const char* what[3] = {"ds", "da", "ds2"};
    double worst = 0.0;
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < B; b++)
            for (int i = 0; i < widths[k]; i++) {
                float* x = xs[k] + b * widths[k] + i;
                const float x0 = *x, h = 1e-2f * fmaxf(1.0f, fabsf(x0));
                *x = x0 + h;
                f->reward(rp, s, a, s2, B);
                *x = x0 - h;
                f->reward(rm, s, a, s2, B);
                *x = x0;
                const double fd = dr[b] * ((double)rp[b] - rm[b]) / (2.0 * h);
                const double g = gs[k][b * widths[k] + i];
                const double err = fabs(fd - g) / (1e-2 + fabs(fd));
                worst = fmax(worst, err);
                CHECK(err <= 2e-2, "%s %s[%d][%d]: backward %g vs fd %g", f->plant, what[k], b, i, g, fd);
            }
    // backward accumulates, and NULL outputs are allowed
    float ds_again[B * SIM_MAX_OBS];
    memcpy(ds_again, ds, sizeof(float) * B * O);
    f->reward_backward(ds_again, NULL, NULL, dr, s, a, s2, B);
    int acc_ok = 1;
    for (int i = 0; i < B * O; i++) acc_ok &= fabsf(ds_again[i] - 2.0f * ds[i]) <= 1e-5f * (1.0f + fabsf(ds[i]));
    CHECK(acc_ok, "%s reward_backward does not accumulate into ds", f->plant);
    printf("  %-26s gradient check: worst relative error %.3g\n", f->plant, worst);
}

int main(void) {
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        MaacErr err = {""};
        SimPlant* p = sim_create(cases[c].name, &err);
        CHECK(p != NULL, "create %s: %s", cases[c].name, err.msg);
        const SimRewardFn* f = sim_reward_fn(cases[c].name);
        CHECK(f != NULL, "no reward fn for %s", cases[c].name);
        if (!p || !f) {
            sim_free(p);
            continue;
        }
        CHECK(f->obs_dim == sim_spec(p)->obs_dim && f->act_dim == sim_spec(p)->act_dim,
              "%s reward fn layout", cases[c].name);
        collect(p, 11 + c);
        check_agreement(&cases[c], f);
        check_proxy_choice(cases[c].name);
        check_gradients(f, 100 + c);
        sim_free(p);
    }
    CHECK(sim_reward_fn("nope") == NULL, "unknown plant gives NULL");
    // every plant has a reward function
    for (const char* const* n = sim_plant_names(); *n; n++)
        CHECK(sim_reward_fn(*n) != NULL, "no reward fn for plant %s", *n);
    return test_summary("test_sim_reward");
}
