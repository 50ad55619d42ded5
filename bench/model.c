// SPDX-License-Identifier: Apache-2.0
// model.c -- benchmark of the learner's model side: one dynamics-ensemble training
// epoch against the machine's sgemm peak, and CEM-MPC planning latency.
//
// Usage: bench_model [threads] [cem|pass|team]   (OpenBLAS threads, default 1; "cem":
// CEM only; "pass": 1000 one-iteration plans only, for profiling; "team": the model
// epoch only, first serial on `threads` OpenBLAS threads, then with its member groups
// on a Workers team of `threads` and 1 OpenBLAS thread each, on the same data)
// Sizes are the defaults: 8 members of 4 x 200 swish, obs 17 + act 6 -> 17 + 1
// (learned reward), batch 256, 50k transitions (holdout 5000); CEM population 400,
// 40 elites, 5 iterations, horizon 5, policy and Q 2 x 256 (half_cheetah shapes and
// reward), and one model forward of 400 rows on the three forward paths. The epoch
// time is t(ens_train, 1 epoch) - t(ens_train, 0 epochs), i.e.
// the minibatch passes plus that epoch's holdout evaluation. FLOPs: 2*C*OC per row
// per linear layer forward, twice that backward (d-input and d-weight); the
// backward's unused first-layer d-input is not counted. Prints figures only.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/blas_arch.h"
#include "core/cem.h"
#include "core/ensemble.h"
#include "core/workers.h"
#include "tests/plant_util.h"

// team: NULL = serial ens_train; else its member groups run on the team.
static void bench_epoch(Rng* rng, double peak, Workers* team, const char* how) {
    const int S = 17, A = 6, M = 8;
    const long N = 50000;
    ReplayBuffer* rb = replay_create(N, S, A);
    float s[17], a[6], s2[17];
    for (long i = 0; i < N; i++) {
        rng_normal_fill(rng, s, S);
        rng_uniform_fill(rng, a, A, -1.0f, 1.0f);
        for (int j = 0; j < S; j++) s2[j] = s[j] + 0.1f * a[j % A] + 0.01f * rng_normal(rng);
        replay_add(rb, s, a, s[0] - 0.1f * a[0] * a[0], s2, 0.0f);
    }
    Ensemble* e = ens_create(S, A, M, 4, 200, NN_ACT_SWISH, 1, rng);
    EnsTrainConfig cfg;
    ens_train_config_default(&cfg);
    EnsTrainStats st;
    double t_ep[2];
    for (int epochs = 0; epochs <= 1; epochs++) {
        cfg.max_epochs = epochs;
        EnsTrainer* t = ens_trainer_create(e, &cfg);
        if (!t || ens_trainer_set_workers(t, team) != 0) {
            printf("model epoch: setup failed\n");
            ens_trainer_free(t);
            ens_free(e);
            replay_free(rb);
            return;
        }
        double best = 1e30;
        for (int rep = 0; rep < 2; rep++) {
            double t0 = bench_now_s();
            ens_train(e, t, rb, rng, &st);
            double dt = bench_now_s() - t0;
            if (dt < best) best = dt;
        }
        t_ep[epochs] = best;
        ens_trainer_free(t);
    }
    long n_hold = 5000, n_train = N - n_hold;
    double f = bench_mlp_row_flops(e->net);
    double first_dinp = 2.0 * e->net->sizes[0] * e->net->sizes[1];   // not computed
    double flops = (double)M * n_train * (3.0 * f - first_dinp) + (double)M * n_hold * f;
    double dt = t_ep[1] - t_ep[0];
    printf("model epoch%s: 50k transitions, %d x 4x200 swish, 23 -> 18: %.3f s "
           "(setup+holdout eval %.3f s), %.1f GFLOP, %.1f GFLOP/s = %.0f%% of sgemm peak\n",
           how, M, dt, t_ep[0], flops * 1e-9, flops / dt * 1e-9, 100.0 * flops / dt * 1e-9 / peak);
    ens_free(e);
    replay_free(rb);
}

static void bench_cem(Rng* rng, int population, int iterations, int n_models, int reps) {
    const PlantModel* rf = test_builtin_plant("half_cheetah");
    const int S = 17, A = 6;
    float lo[6], hi[6];
    for (int j = 0; j < A; j++) lo[j] = -1.0f, hi[j] = 1.0f;
    int hidden[2] = {256, 256};
    Ensemble* e = ens_create(S, A, 8, 4, 200, NN_ACT_SWISH, 0, rng);
    Policy* pi = policy_create(S, A, 2, hidden, NN_ACT_RELU, lo, hi, rng);
    QFunction* q = qf_create(S, A, 2, hidden, NN_ACT_RELU, rng);
    CemConfig cfg;
    cem_config_default(&cfg);
    cfg.population = population;
    cfg.iterations = iterations;
    cfg.n_models = n_models;
    if (cfg.n_elites > population / 4) cfg.n_elites = population / 10 > 0 ? population / 10 : 1;
    CemWork* w = cem_work_create(&cfg, e, pi, q);
    if (!rf || !e || !pi || !q || !w) {
        printf("cem: setup failed\n");
        return;
    }
    double* lat = malloc(sizeof(double) * (size_t)reps);
    float obs[17], act[6];
    for (int i = 0; i < reps + 2; i++) {
        rng_normal_fill(rng, obs, S);
        double t0 = bench_now_s();
        cem_plan(&cfg, w, e, pi, q, rf, obs, rng, act);
        if (i >= 2) lat[i - 2] = bench_now_s() - t0;   // two warm-up plans
    }
    qsort(lat, (size_t)reps, sizeof(double), bench_cmp_double);
    int k = n_models > 0 ? n_models : 8;
    printf("cem plan: population %d x H=%d x %d iterations, %d member(s)/iteration, "
           "%d elites: p50 %.2f ms, p99 %.2f ms (%d plans, %d model rows)\n",
           population, cfg.horizon, iterations, k, cfg.n_elites, 1e3 * lat[reps / 2],
           1e3 * lat[(int)(0.99 * (reps - 1))], reps, population * k * cfg.horizon * iterations);
    free(lat);
    cem_work_free(w);
    qf_free(q);
    policy_free(pi);
    ens_free(e);
}

// One model step's network forward for 400 rows of one member (the CEM's batch):
// the full forward (sgemm, mean + log-variance), the mean-only forward on a plain
// work (sgemm) and on an mlp_work_create_infer work (AVX-512 where available).
static void bench_forward(Rng* rng, int reps) {
    const int S = 17, A = 6, B = 400;
    Ensemble* e = ens_create(S, A, 8, 4, 200, NN_ACT_SWISH, 0, rng);
    MlpWork* wp = mlp_work_create(e->net, B);
    MlpWork* wi = mlp_work_create_infer(e->net, B);
    float* x = malloc(sizeof(float) * B * (S + A));
    double* lat = malloc(sizeof(double) * (size_t)reps);
    if (!e || !wp || !wi || !x || !lat) {
        printf("forward: setup failed\n");
        return;
    }
    rng_normal_fill(rng, x, (long)B * (S + A));
    int ro[9] = {0, 0, 0, B, B, B, B, B, B};   // member 2 takes every row
    const char* name[3] = {"full (sgemm)", "mean-only (sgemm)", "mean-only (infer work)"};
    double flops = 2.0 * B * (23 * 200 + 3 * 200 * 200 + 200 * 18);
    for (int mode = 0; mode < 3; mode++) {
        for (int i = 0; i < reps + 5; i++) {
            double t0 = bench_now_s();
            if (mode == 0) mlp_forward_grouped(e->net, wp, x, ro);
            if (mode == 1) mlp_forward_grouped_mean(e->net, wp, x, ro);
            if (mode == 2) mlp_forward_grouped_mean(e->net, wi, x, ro);
            if (i >= 5) lat[i - 5] = bench_now_s() - t0;
        }
        qsort(lat, (size_t)reps, sizeof(double), bench_cmp_double);
        printf("model forward, %d rows, 4x200 swish gauss, %s: p50 %.3f ms (%.0f GFLOP/s)\n", B,
               name[mode], 1e3 * lat[reps / 2], flops / lat[reps / 2] * 1e-9);
    }
    free(x), free(lat);
    mlp_work_free(wp), mlp_work_free(wi);
    ens_free(e);
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd and maac would run (core/blas_arch.h)
    char blas_line[256];
    blas_arch_describe(blas_line, sizeof blas_line, "");
    puts(blas_line);
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int only_cem = argc > 2 && strcmp(argv[2], "cem") == 0;
    int team_cmp = argc > 2 && strcmp(argv[2], "team") == 0;
    if (argc > 2 && strcmp(argv[2], "pass") == 0) {   // one-iteration plans only (for perf)
        openblas_set_num_threads(threads > 0 ? threads : 1);
        Rng r1;
        rng_seed(&r1, 1);
        bench_cem(&r1, 400, 1, 1, 1000);
        return 0;
    }
    openblas_set_num_threads(threads > 0 ? threads : 1);
    Rng rng;
    rng_seed(&rng, 1);
    double peak = bench_peak_sgemm(&rng, 0);
    printf("sgemm peak (best of 512..2048 square, %d thread%s): %.1f GFLOP/s\n", threads, threads == 1 ? "" : "s",
           peak);
    if (team_cmp) {   // the same data and initial net both ways (same seed)
        char how[96];
        snprintf(how, sizeof how, " (serial, %d OpenBLAS thread%s)", threads,
                 threads == 1 ? "" : "s");
        rng_seed(&rng, 2);
        bench_epoch(&rng, peak, NULL, how);
        Workers* team = workers_create(threads > 0 ? threads : 1);
        if (!team) {
            printf("model epoch (team): workers_create(%d) failed\n", threads);
            return 1;
        }
        openblas_set_num_threads(1);
        snprintf(how, sizeof how, " (team of %d, 1 OpenBLAS thread each)", workers_count(team));
        rng_seed(&rng, 2);
        bench_epoch(&rng, peak, team, how);
        workers_free(team);
        return 0;
    }
    if (!only_cem) bench_epoch(&rng, peak, NULL, "");
    bench_forward(&rng, 200);
    bench_cem(&rng, 400, 5, 1, 100);   // the default configuration
    bench_cem(&rng, 400, 1, 1, 200);   // one iteration of 400 samples
    bench_cem(&rng, 400, 2, 1, 100);   // iterations that fit shorter control periods
    bench_cem(&rng, 400, 3, 1, 100);
    bench_cem(&rng, 80, 5, 1, 50);     // 400 samples in all over 5 iterations
    bench_cem(&rng, 400, 5, 0, 5);     // every elite scores every candidate
    return 0;
}
