// SPDX-License-Identifier: Apache-2.0
// nn.c -- benchmark of the neural-network core: sgemm peak, batched MLP
// forward+backward throughput against that peak, and batch-1 inference latency.
//
// Usage: bench_nn [threads]   (OpenBLAS threads, default 1: the learner's budget)
// FLOPs are counted as 2*B*C*OC per linear layer forward and twice that for its
// backward (d-input and d-weight), so "fraction of peak" compares the whole MLP
// step (activations, Gaussian head, memsets included) with bare sgemm. Prints
// figures only; never asserts on timing.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/blas_arch.h"
#include "core/mlp.h"
#include "core/rng.h"

static float* randn(Rng* r, long n) {
    float* p = malloc(sizeof(float) * (size_t)n);
    rng_normal_fill(r, p, n);
    return p;
}

// Median-of-runs GFLOP/s of one forward+backward over E*B rows.
static void bench_mlp(Rng* r, int E, int B, double peak) {
    int sizes[6] = {23, 200, 200, 200, 200, 34};
    Mlp* m = mlp_create(E, 5, sizes, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    mlp_init(m, r);
    MlpWork* w = mlp_work_create(m, E * B);
    float* x = randn(r, (long)E * B * 23);
    float* dmean = randn(r, (long)E * B * 17);
    float* dlv = randn(r, (long)E * B * 17);
    float* dx = calloc((size_t)E * B * 23, 4);
    float* grad = calloc((size_t)m->n_params, 4);
    double flop_f = bench_mlp_row_flops(m) * E * B, flop_fb = 3.0 * flop_f;   // bwd = 2x fwd
    enum { RUNS = 60 };
    double tf[RUNS], tfb[RUNS];
    for (int i = 0; i < RUNS + 5; i++) {
        double t0 = bench_now_s();
        mlp_forward(m, w, x, B);
        double t1 = bench_now_s();
        mlp_zero_grad(m, grad);
        mlp_backward(m, w, grad, dx, dmean, dlv);
        double t2 = bench_now_s();
        if (i >= 5) tf[i - 5] = t1 - t0, tfb[i - 5] = t2 - t0;
    }
    qsort(tf, RUNS, sizeof(double), bench_cmp_double);
    qsort(tfb, RUNS, sizeof(double), bench_cmp_double);
    double gf = flop_f / tf[RUNS / 2] * 1e-9, gfb = flop_fb / tfb[RUNS / 2] * 1e-9;
    printf("mlp 23-4x200-2x17 swish gauss, E=%d, rows %d: forward %.3f ms %.1f GFLOP/s; "
           "forward+backward %.3f ms %.1f GFLOP/s = %.0f%% of peak\n",
           E, E * B, tf[RUNS / 2] * 1e3, gf, tfb[RUNS / 2] * 1e3, gfb, 100.0 * gfb / peak);
    free(x), free(dmean), free(dlv), free(dx), free(grad);
    mlp_work_free(w);
    mlp_free(m);
}

static void bench_infer1(Rng* r) {
    int sizes[4] = {17, 256, 256, 24};
    Mlp* m = mlp_create(1, 3, sizes, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    mlp_init(m, r);
    float* scratch = malloc(sizeof(float) * (size_t)mlp_infer1_scratch_floats(m));
    float x[17], y[12], lv[12];
    rng_normal_fill(r, x, 17);
    enum { N = 100000 };
    double* t = malloc(sizeof(double) * N);
    float sink = 0.0f;
    for (int i = 0; i < 1000; i++) mlp_infer1(m, 0, x, y, lv, scratch);   // warm caches
    for (int i = 0; i < N; i++) {
        x[i % 17] += 1e-3f;
        double t0 = bench_now_s();
        mlp_infer1(m, 0, x, y, lv, scratch);
        t[i] = bench_now_s() - t0;
        sink += y[0];
    }
    qsort(t, N, sizeof(double), bench_cmp_double);
    double sum = 0.0;
    for (int i = 0; i < N; i++) sum += t[i];
    printf("mlp_infer1 17-256-256-2x12 swish gauss, %d calls: p50 %.2f us, p99 %.2f us, "
           "p99.9 %.2f us, max %.2f us, mean %.2f us (sink %g)\n",
           N, t[N / 2] * 1e6, t[N * 99 / 100] * 1e6, t[N * 999 / 1000] * 1e6, t[N - 1] * 1e6,
           sum / N * 1e6, (double)sink * 0.0);
    free(t), free(scratch);
    mlp_free(m);
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd and maac would run (core/blas_arch.h)
    char blas_line[256];
    blas_arch_describe(blas_line, sizeof blas_line, "");
    puts(blas_line);
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1) threads = 1;
    openblas_set_num_threads(threads);
    Rng r;
    rng_seed(&r, 1);
    printf("bench_nn: OpenBLAS threads %d\n", threads);
    double peak = bench_peak_sgemm(&r, 1);
    static const int shapes[][3] = {{256, 200, 200}, {2048, 200, 200}, {256, 200, 23}, {256, 34, 200}};
    for (int i = 0; i < 4; i++) {
        double g = bench_sgemm_gflops(&r, shapes[i][0], shapes[i][1], shapes[i][2], 0.2);
        printf("sgemm %dx%dx%d (M x N x K, MLP shape): %.1f GFLOP/s\n", shapes[i][0], shapes[i][1],
               shapes[i][2], g);
        if (g > peak) peak = g;
    }
    printf("peak sgemm: %.1f GFLOP/s\n", peak);
    bench_mlp(&r, 1, 256, peak);
    bench_mlp(&r, 8, 256, peak);
    bench_infer1(&r);
    return 0;
}
