// SPDX-License-Identifier: Apache-2.0
// bench_util.h -- what every learner benchmark shares: a monotonic clock, the sgemm
// rate of a shape, the machine's peak sgemm rate measured in the same run (the floor
// each kernel is compared with), medians, and MLP FLOP counts.
//
// Header-only (static functions) so each bench stays one file. Prints nothing unless
// asked; never asserts on timing.
#ifndef MAAC_BENCH_UTIL_H
#define MAAC_BENCH_UTIL_H

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/mlp.h"
#include "core/rng.h"

void openblas_set_num_threads(int n);   // OpenBLAS extension (not in cblas.h everywhere)

// Seconds on CLOCK_MONOTONIC.
static inline double bench_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Best GFLOP/s of C(M,N) = A(M,K) B(N,K)^T (nn_linear_forward's layout) over repeats
// lasting at least min_time seconds (and at least 3 calls).
static inline double bench_sgemm_gflops(Rng* r, int M, int N, int K, double min_time) {
    float* A = malloc(sizeof(float) * (size_t)M * K);
    float* B = malloc(sizeof(float) * (size_t)N * K);
    float* C = calloc((size_t)M * N, sizeof(float));
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return 0.0;
    }
    rng_normal_fill(r, A, (long)M * K);
    rng_normal_fill(r, B, (long)N * K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    double best = 0.0, t_total = 0.0;
    for (int reps = 0; t_total < min_time || reps < 3; reps++) {
        double t0 = bench_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f,
                    C, N);
        double dt = bench_now_s() - t0;
        t_total += dt;
        double g = 2.0 * M * N * K / dt * 1e-9;
        if (g > best) best = g;
    }
    free(A), free(B), free(C);
    return best;
}

// Peak sgemm GFLOP/s of this machine now: the best of square 512, 1024, 2048.
// verbose = 1 prints each size.
static inline double bench_peak_sgemm(Rng* r, int verbose) {
    static const int sq[] = {512, 1024, 2048};
    double peak = 0.0;
    for (int i = 0; i < 3; i++) {
        double g = bench_sgemm_gflops(r, sq[i], sq[i], sq[i], 0.5);
        if (verbose) printf("sgemm %dx%dx%d: %.1f GFLOP/s\n", sq[i], sq[i], sq[i], g);
        if (g > peak) peak = g;
    }
    return peak;
}

// qsort comparator for doubles.
static inline int bench_cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

// Sorts t (n) in place and returns its median.
static inline double bench_median(double* t, int n) {
    qsort(t, (size_t)n, sizeof(double), bench_cmp_double);
    return t[n / 2];
}

// Forward FLOPs of one member of m on one row: 2*C*OC per linear layer.
static inline double bench_mlp_row_flops(const Mlp* m) {
    double f = 0.0;
    for (int l = 0; l < m->n_layers; l++) f += 2.0 * m->sizes[l] * m->sizes[l + 1];
    return f;
}

#endif
