// SPDX-License-Identifier: Apache-2.0
// mlp_fm.c -- the feature-major AVX-512 path of mlp.c: forwards on mlp_work_create_infer
// / _fwd / _fast works, and the backward of a fast work.
//
// Activations are kept feature-major, Y^T (width, columns), so a layer is
//   Y^T[o][b] = bias[o] + sum_k W[o][k] X^T[k][b]
// with W used as stored (row-major (OC, C), no packing): an 8 x 32 register block
// broadcasts W[o..o+7][k] and loads two 16-float vectors of X^T row k, 16 FMAs per
// k, the 8 rows of W staying in L1 while the columns stream. Each member's columns
// start at a multiple of 16 and are padded with zero inputs, so every block is
// full width; padded columns carry finite junk that is never read back. The
// input is normalised while transposed in, the mean transposed out. Summation is
// sequential over k (bias first), so results agree with the sgemm path to float
// rounding. Compiled for AVX-512 with a target attribute and used only when the
// CPU has it (__builtin_cpu_supports); otherwise the sgemm path runs.
//
// A fast work (mlp_work_create_fast) keeps every layer's pre- and post-activation
// feature-major, and its backward stays feature-major too: the same kernel with W read
// transposed gives dH^T = W^T dZ^T (the broadcasts W[o][c..c+7] are contiguous), the
// activation derivative is elementwise, and the weight gradient dW += dZ^T X is one
// OpenBLAS sgemm per member over its columns (K = its padded rows; padded columns carry
// zero gradients, so they add nothing). Only the narrow ends are transposed: the input
// in, the last layer out, its gradient in and the input gradient out.
#include <assert.h>
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/mlp_internal.h"

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64)));
#define MLP_AVX512 __attribute__((target("avx512f,avx2,fma")))

MLP_AVX512 static inline v16f ld16(const float* p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

MLP_AVX512 static inline void st16(float* p, v16f v) { memcpy(p, &v, sizeof v); }

// Y (OC rows, stride ldy), columns [0, ncol) (ncol % 16 == 0) = W X (+ bias; nullable),
// X (C rows, stride ldx), element (o, k) of W at W[o * wrs + k * wcs]: (C, 1) is W as
// stored (out = W x), (1, OC_of_W) is its transpose. Inlined into the two callers below
// so each gets constant strides.
#define B_(i) (bias ? bias[i] : 0.0f)
MLP_AVX512 static inline __attribute__((always_inline)) void gemm_fm_panel(
    float* Y, int ldy, const float* X, int ldx, const float* W, long wrs, long wcs,
    const float* bias, int C, int OC, int ncol) {
    int o = 0;
    for (; o + 8 <= OC; o += 8) {
        const float* w0 = W + (long)o * wrs;
        const float *w1 = w0 + wrs, *w2 = w1 + wrs, *w3 = w2 + wrs, *w4 = w3 + wrs,
                    *w5 = w4 + wrs, *w6 = w5 + wrs, *w7 = w6 + wrs;
        float* y = Y + (long)o * ldy;
        int b = 0;
        for (; b + 32 <= ncol; b += 32) {
            v16f z = {0};
            v16f a0 = z + B_(o), a1 = a0, b0 = z + B_(o + 1), b1 = b0;
            v16f c0 = z + B_(o + 2), c1 = c0, d0 = z + B_(o + 3), d1 = d0;
            v16f e0 = z + B_(o + 4), e1 = e0, f0 = z + B_(o + 5), f1 = f0;
            v16f g0 = z + B_(o + 6), g1 = g0, h0 = z + B_(o + 7), h1 = h0;
            const float* xp = X + b;
            for (int k = 0; k < C; k++, xp += ldx) {
                v16f x0 = ld16(xp), x1 = ld16(xp + 16);
                a0 += w0[k * wcs] * x0, a1 += w0[k * wcs] * x1;
                b0 += w1[k * wcs] * x0, b1 += w1[k * wcs] * x1;
                c0 += w2[k * wcs] * x0, c1 += w2[k * wcs] * x1;
                d0 += w3[k * wcs] * x0, d1 += w3[k * wcs] * x1;
                e0 += w4[k * wcs] * x0, e1 += w4[k * wcs] * x1;
                f0 += w5[k * wcs] * x0, f1 += w5[k * wcs] * x1;
                g0 += w6[k * wcs] * x0, g1 += w6[k * wcs] * x1;
                h0 += w7[k * wcs] * x0, h1 += w7[k * wcs] * x1;
            }
            st16(y + b, a0), st16(y + b + 16, a1);
            st16(y + ldy + b, b0), st16(y + ldy + b + 16, b1);
            st16(y + 2L * ldy + b, c0), st16(y + 2L * ldy + b + 16, c1);
            st16(y + 3L * ldy + b, d0), st16(y + 3L * ldy + b + 16, d1);
            st16(y + 4L * ldy + b, e0), st16(y + 4L * ldy + b + 16, e1);
            st16(y + 5L * ldy + b, f0), st16(y + 5L * ldy + b + 16, f1);
            st16(y + 6L * ldy + b, g0), st16(y + 6L * ldy + b + 16, g1);
            st16(y + 7L * ldy + b, h0), st16(y + 7L * ldy + b + 16, h1);
        }
        for (; b < ncol; b += 16) {
            v16f z = {0};
            v16f a0 = z + B_(o), b0 = z + B_(o + 1), c0 = z + B_(o + 2),
                 d0 = z + B_(o + 3), e0 = z + B_(o + 4), f0 = z + B_(o + 5),
                 g0 = z + B_(o + 6), h0 = z + B_(o + 7);
            const float* xp = X + b;
            for (int k = 0; k < C; k++, xp += ldx) {
                v16f x0 = ld16(xp);
                a0 += w0[k * wcs] * x0, b0 += w1[k * wcs] * x0, c0 += w2[k * wcs] * x0, d0 += w3[k * wcs] * x0;
                e0 += w4[k * wcs] * x0, f0 += w5[k * wcs] * x0, g0 += w6[k * wcs] * x0, h0 += w7[k * wcs] * x0;
            }
            st16(y + b, a0), st16(y + ldy + b, b0), st16(y + 2L * ldy + b, c0);
            st16(y + 3L * ldy + b, d0), st16(y + 4L * ldy + b, e0);
            st16(y + 5L * ldy + b, f0), st16(y + 6L * ldy + b, g0);
            st16(y + 7L * ldy + b, h0);
        }
    }
    for (; o < OC; o++) {   // leftover rows of W one at a time
        const float* w0 = W + (long)o * wrs;
        float* y = Y + (long)o * ldy;
        for (int b = 0; b < ncol; b += 16) {
            v16f a0 = (v16f){0} + B_(o);
            const float* xp = X + b;
            for (int k = 0; k < C; k++, xp += ldx) a0 += w0[k * wcs] * ld16(xp);
            st16(y + b, a0);
        }
    }
}
#undef B_

// The columns in panels of FM_PANEL: a panel of X (C x FM_PANEL floats) stays in L1
// while every row block of W streams past it (W from L2), instead of all of X streaming
// from L2 for each 8-row block of W. Per-element sums are unchanged.
#define FM_PANEL 32
MLP_AVX512 static inline __attribute__((always_inline)) void gemm_fm_s(
    float* Y, int ldy, const float* X, int ldx, const float* W, long wrs, long wcs,
    const float* bias, int C, int OC, int ncol) {
    for (int p = 0; p < ncol; p += FM_PANEL)
        gemm_fm_panel(Y + p, ldy, X + p, ldx, W, wrs, wcs, bias, C, OC,
                      ncol - p < FM_PANEL ? ncol - p : FM_PANEL);
}

// Y = W X + bias, W (OC, C) as stored.
MLP_AVX512 static void gemm_fm(float* Y, int ldy, const float* X, int ldx, const float* W,
                               const float* bias, int C, int OC, int ncol) {
    gemm_fm_s(Y, ldy, X, ldx, W, C, 1, bias, C, OC, ncol);
}

// Y (C rows) = W^T X, W (OC, C) as stored, X (OC rows): the input gradient of a layer.
MLP_AVX512 static void gemm_fm_t(float* Y, int ldy, const float* X, int ldx, const float* W,
                                 int C, int OC, int ncol) {
    gemm_fm_s(Y, ldy, X, ldx, W, 1, C, NULL, OC, C, ncol);
}

// dst (rows, DO) row-major = the first DO rows of the feature-major X (stride N), each
// member's rows from its column group.
static void transpose_out(float* dst, int DO, const float* X, int N, const int* co,
                          const int* row_off, int E) {
    for (int e = 0; e < E; e++) {   // 16 rows at a time: contiguous reads, 16 rows in L1
        int cnt = row_off[e + 1] - row_off[e];
        for (int j0 = 0; j0 < cnt; j0 += 16) {
            int jn = cnt - j0 < 16 ? cnt - j0 : 16;
            float* y = dst + (long)(row_off[e] + j0) * DO;
            const float* x = X + co[e] + j0;
            for (int d = 0; d < DO; d++, x += N)
                for (int j = 0; j < jn; j++) y[(long)j * DO + d] = x[j];
        }
    }
}

// X (DI, N) feature-major = src rows (stride DI, member e's from row src_off[e]), each
// column group's padding zeroed; with scale (DI) nonnull, (x - shift) / scale per column.
static void transpose_in(float* X, int N, const float* src, int DI, const int* co,
                         const int* src_off, const int* row_off, int E, const float* shift,
                         const float* scale) {
    for (int e = 0; e < E; e++) {
        int cnt = row_off[e + 1] - row_off[e];
        for (int j = 0; j < cnt; j++) {
            const float* x = src + (long)(src_off[e] + j) * DI;
            float* y = X + co[e] + j;
            if (scale)
                for (int i = 0; i < DI; i++) y[(long)i * N] = (x[i] - shift[i]) / scale[i];
            else
                for (int i = 0; i < DI; i++) y[(long)i * N] = x[i];
        }
        for (int i = 0; i < DI; i++)
            for (int c = co[e] + cnt; c < co[e + 1]; c++) X[(long)i * N + c] = 0.0f;
    }
}

static int fm_enabled = 1;   // mlp_set_feature_major

void mlp_set_feature_major(int on) { __atomic_store_n(&fm_enabled, on != 0, __ATOMIC_RELAXED); }

static int has_avx512(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return __atomic_load_n(&fm_enabled, __ATOMIC_RELAXED) && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int mlp_fm_alloc(const Mlp* m, MlpWork* w) {
    int L = m->n_layers;
    long T = w->tcols, mw = m->n_in, total = (long)m->n_in * T;
    for (int l = 0; l < L; l++) mw = m->sizes[l + 1] > mw ? m->sizes[l + 1] : mw;
    for (int l = 0; l < L - 1; l++) total += 2L * m->sizes[l + 1] * T;
    total += 2 * mw * T;
    size_t bytes = ((size_t)total * sizeof(float) + 63) & ~(size_t)63;
    float* p = aligned_alloc(64, bytes);
    if (!p) return -1;
    memset(p, 0, bytes);
    w->fblock = p;
    w->fxn = p, p += m->n_in * T;
    for (int l = 0; l < L - 1; l++) {
        w->fpre[l] = p, p += m->sizes[l + 1] * T;
        w->fpost[l] = p, p += m->sizes[l + 1] * T;
    }
    w->fdz = p, p += mw * T;
    w->fdh = p;
    return 0;
}

int mlp_fm_forward(const Mlp* m, MlpWork* w, const float* inp, int full) {
    if (!w->tblock || !has_avx512()) return 0;
    int L = m->n_layers, E = m->n_members, n_in = m->n_in, D = m->n_out;
    int* co = w->tcol_off;
    co[0] = 0;
    for (int e = 0; e < E; e++) co[e + 1] = co[e] + ((w->row_off[e + 1] - w->row_off[e] + 15) & ~15);
    const int N = co[E];
    assert(N <= w->tcols);
    int keep = full && w->keep_fm && w->fblock;   // activations kept for mlp_fm_backward
    float* X = keep ? w->fxn : w->tbuf[0];
    transpose_in(X, N, inp, n_in, co, w->in_off, w->row_off, E, m->in_mean, m->in_std);
    int gauss_full = full && m->head == MLP_HEAD_GAUSS;
    int DO = gauss_full ? m->sizes[L] : D;                       // columns transposed out
    float* dst = gauss_full ? w->pre[L - 1] : w->mean;
    for (int l = 0; l < L; l++) {
        int C = m->sizes[l], OC = l == L - 1 ? DO : m->sizes[l + 1];   // GAUSS: mean rows only
        float* Y = keep && l < L - 1 ? w->fpre[l] : w->tbuf[(l + 1) & 1];
        for (int e = 0; e < E; e++)
            if (co[e + 1] > co[e])
                gemm_fm(Y + co[e], N, X + co[e], N, mlp_weight(m, e, l), mlp_bias(m, e, l), C,
                        OC, co[e + 1] - co[e]);
        if (l < L - 1) {
            float* post = keep ? w->fpost[l] : Y;
            nn_act_forward(post, Y, (long)OC * N, m->hidden_act);
            Y = post;
        }
        X = Y;
    }
    transpose_out(dst, DO, X, N, co, w->row_off, E);   // the mean (or the raw last layer)
    if (gauss_full) mlp_gauss_head_rows(m, w);
    w->fm_last = keep;
    return 1;
}

// Layer l's parameter gradient from dZ^T (fdz) and its input X (feature-major).
static void fm_param_grad(const Mlp* m, MlpWork* w, float* grad, int l, const float* X) {
    int C = m->sizes[l], OC = m->sizes[l + 1], N = w->tcol_off[m->n_members];
    for (int e = 0; e < m->n_members; e++) {
        int c0 = w->tcol_off[e], nc = w->tcol_off[e + 1] - c0;
        int cnt = w->row_off[e + 1] - w->row_off[e];
        if (cnt <= 0) continue;
        float* gw = grad + (mlp_weight(m, e, l) - m->params);
        float* gb = grad + (mlp_bias(m, e, l) - m->params);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, nc, 1.0f, w->fdz + c0, N,
                    X + c0, N, 1.0f, gw, C);
        for (int o = 0; o < OC; o++) {
            const float* d = w->fdz + (long)o * N + c0;
            float s = 0.0f;
            for (int j = 0; j < cnt; j++) s += d[j];
            gb[o] += s;
        }
    }
}

void mlp_fm_backward(const Mlp* m, MlpWork* w, float* grad, float* dinp, const float* dz) {
    int L = m->n_layers, E = m->n_members, n_in = m->n_in;
    const int* co = w->tcol_off;
    const int N = co[E];
    transpose_in(w->fdz, N, dz, m->sizes[L], co, w->row_off, w->row_off, E, NULL, NULL);
    for (int l = L - 1; l >= 0; l--) {
        int C = m->sizes[l], OC = m->sizes[l + 1];
        const float* X = l == 0 ? w->fxn : w->fpost[l - 1];
        if (grad) fm_param_grad(m, w, grad, l, X);
        if (l == 0 && !dinp) break;
        for (int e = 0; e < E; e++)   // dH^T (C, N) = W^T dZ^T, member by member
            if (co[e + 1] > co[e])
                gemm_fm_t(w->fdh + co[e], N, w->fdz + co[e], N, mlp_weight(m, e, l), C, OC,
                          co[e + 1] - co[e]);
        if (l > 0) {   // through the hidden activation of layer l-1
            memset(w->fdz, 0, sizeof(float) * (size_t)C * N);
            nn_act_backward(w->fdz, w->fdh, w->fpre[l - 1], w->fpost[l - 1], (long)C * N,
                            m->hidden_act);
        }
    }
    if (!dinp) return;
    for (int e = 0; e < E; e++) {   // x_n = (x - mean) / std  =>  dx += dx_n / std
        int cnt = w->row_off[e + 1] - w->row_off[e];
        for (int j = 0; j < cnt; j++) {
            float* dx = dinp + (long)(w->in_off[e] + j) * n_in;
            for (int i = 0; i < n_in; i++) dx[i] += w->fdh[(long)i * N + co[e] + j] / m->in_std[i];
        }
    }
}
