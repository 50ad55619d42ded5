// SPDX-License-Identifier: Apache-2.0
// learner.c -- benchmark of the learner's inner updates at the default sizes: one MAAC
// policy update, one STEVE critic update and a plain SAC update (actor H = 0 + one-step
// critic) for reference, each with its FLOP count (GEMM multiply-adds x 2, as counted by
// maac_actor_flops / steve_flops) and its share of the peak sgemm GFLOP/s measured in the
// same run, next to what sgemm alone reaches at the layer shapes the updates are made of.
//
// Usage: bench_learner [threads] [n_paths] [horizon]   (OpenBLAS threads, default 1)
// Sizes: obs 17, act 6 (half_cheetah's reward), batch 256, 8 models of 4 x 200 swish,
// 2 x 256 policy (tanh) and twin Q (relu), 5 terminal actions, STEVE H = 2.
// Prints figures only; never asserts on timing.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/adam.h"
#include "core/blas_arch.h"
#include "core/maac.h"
#include "core/steve.h"
#include "tests/plant_util.h"

#define REPS 15

static void report(const char* what, double* t, double flops, double peak) {
    qsort(t, REPS, sizeof(double), bench_cmp_double);
    double med = t[REPS / 2];
    double gf = flops / med * 1e-9;
    printf("%-28s %8.2f ms  %6.3f GFLOP  %6.1f GFLOP/s  %5.1f%% of peak\n", what, med * 1e3,
           flops * 1e-9, gf, 100.0 * gf / peak);
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd and maac would run (core/blas_arch.h)
    char blas_line[256];
    blas_arch_describe(blas_line, sizeof blas_line, "");
    puts(blas_line);
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int n_paths = argc > 2 ? atoi(argv[2]) : 1;
    int horizon = argc > 3 ? atoi(argv[3]) : 4;
    openblas_set_num_threads(threads > 0 ? threads : 1);
    const int S = 17, A = 6, B = 256;
    Rng rng;
    rng_seed(&rng, 1);
    double peak = bench_peak_sgemm(&rng, 1);
    printf("peak sgemm: %.1f GFLOP/s (%d thread%s)\n", peak, threads, threads == 1 ? "" : "s");
    // What OpenBLAS itself reaches at the layer shapes these updates are made of (rows x
    // out x in, nn_linear_forward's layout): the practical ceiling for the ratios below.
    static const int shape[][3] = {{256, 256, 256}, {1280, 256, 256}, {256, 200, 200},
                                   {32, 200, 200}, {256, 256, 23}};
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
        double g = bench_sgemm_gflops(&rng, shape[i][0], shape[i][1], shape[i][2], 0.2);
        printf("layer sgemm %4dx%dx%-3d     %6.1f GFLOP/s  %5.1f%% of peak\n", shape[i][0],
               shape[i][1], shape[i][2], g, 100.0 * g / peak);
    }

    float lo[A], hi[A];
    for (int j = 0; j < A; j++) lo[j] = -1, hi[j] = 1;
    int h256[2] = {256, 256};
    Policy* pi = policy_create(S, A, 2, h256, NN_ACT_TANH, lo, hi, &rng);
    QFunction* q = qf_create(S, A, 2, h256, NN_ACT_RELU, &rng);
    QFunction* qt = qf_clone(q);
    Ensemble* e = ens_create(S, A, 8, 4, 200, NN_ACT_SWISH, 0, &rng);
    for (int j = 0; j < S; j++) e->target_std[j] = 0.1f;
    const PlantModel* rew = test_builtin_plant("half_cheetah");
    MaacDynamics dyn;
    maac_dynamics_ensemble(&dyn, e);
    float* s = malloc(sizeof(float) * B * S);
    float* s2 = malloc(sizeof(float) * B * S);
    float* a = malloc(sizeof(float) * B * A);
    float r[B], done[B], target[B];
    rng_normal_fill(&rng, s, B * S);
    rng_normal_fill(&rng, s2, B * S);
    rng_uniform_fill(&rng, a, B * A, -1, 1);
    rng_normal_fill(&rng, r, B);
    memset(done, 0, sizeof done);
    float* gpi = calloc((size_t)pi->net->n_params, sizeof(float));
    float* gq = calloc((size_t)q->net->n_params, sizeof(float));
    Adam* opi = adam_create(pi->net->n_params, 3e-4f);
    Adam* oq = adam_create(q->net->n_params, 3e-4f);
    double t[REPS];

    // MAAC policy update
    MaacConfig mc = {horizon, n_paths, 5, 0.99f, 1, 0};
    MaacActor* ma = maac_actor_create(&mc, &dyn, rew, pi, q, B);
    for (int i = -2; i < REPS; i++) {
        double t0 = bench_now_s();
        maac_actor_draw(ma, &rng, B);
        memset(gpi, 0, sizeof(float) * (size_t)pi->net->n_params);
        maac_actor_forward(ma, pi, q, s, B, 0.1f);
        maac_actor_backward(ma, pi, q, gpi, NULL);
        adam_step(opi, pi->net->params, gpi);
        if (i >= 0) t[i] = bench_now_s() - t0;
    }
    char what[64];
    snprintf(what, sizeof what, "MAAC actor (H=%d, K=%d)", horizon, n_paths);
    report(what, t, maac_actor_flops(ma, B), peak);

    // STEVE critic update
    SteveConfig sc = {1, 2, 0.99f, 1, 0};
    Steve* st = steve_create(&sc, &dyn, rew, pi, q, B);
    for (int i = -2; i < REPS; i++) {
        double t0 = bench_now_s();
        steve_draw(st, &rng, B);
        steve_targets(st, pi, qt, 0.1f, s, a, r, s2, done, B, target, NULL, NULL);
        memset(gq, 0, sizeof(float) * (size_t)q->net->n_params);
        steve_critic_loss(st, q, s, a, target, B, gq);
        adam_step(oq, q->net->params, gq);
        nn_polyak_update(qt->net->params, q->net->params, q->net->n_params, 5e-3f);
        if (i >= 0) t[i] = bench_now_s() - t0;
    }
    report("STEVE critic (H=2, M=8)", t, steve_flops(st, B), peak);

    // plain SAC: one-step critic + H = 0 actor (5 terminal actions as above)
    SteveConfig sc0 = {0, 0, 0.99f, 1, 0};
    Steve* st0 = steve_create(&sc0, &dyn, rew, pi, q, B);
    MaacConfig mc0 = {0, 1, 1, 0.99f, 1, 0};
    MaacActor* ma0 = maac_actor_create(&mc0, &dyn, rew, pi, q, B);
    for (int i = -2; i < REPS; i++) {
        double t0 = bench_now_s();
        steve_draw(st0, &rng, B);
        steve_targets(st0, pi, qt, 0.1f, s, a, r, s2, done, B, target, NULL, NULL);
        memset(gq, 0, sizeof(float) * (size_t)q->net->n_params);
        steve_critic_loss(st0, q, s, a, target, B, gq);
        adam_step(oq, q->net->params, gq);
        maac_actor_draw(ma0, &rng, B);
        memset(gpi, 0, sizeof(float) * (size_t)pi->net->n_params);
        maac_actor_forward(ma0, pi, q, s, B, 0.1f);
        maac_actor_backward(ma0, pi, q, gpi, NULL);
        adam_step(opi, pi->net->params, gpi);
        if (i >= 0) t[i] = bench_now_s() - t0;
    }
    report("SAC update (critic + actor)", t, steve_flops(st0, B) + maac_actor_flops(ma0, B), peak);

    maac_actor_free(ma), maac_actor_free(ma0), steve_free(st), steve_free(st0);
    adam_free(opi), adam_free(oq);
    free(gpi), free(gq), free(s), free(s2), free(a);
    ens_free(e), qf_free(q), qf_free(qt), policy_free(pi);
    return 0;
}
