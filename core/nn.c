// SPDX-License-Identifier: Apache-2.0
// nn.c -- dense-layer, activation and Gaussian-head kernels with their gradients.
//
// llm.c style (karpathy/llm.c train_gpt2.c): every op is a _forward/_backward
// pair over flat row-major float arrays; backward ADDS into its d-arguments and
// skips any that is NULL. The dense layer goes through cblas_sgemm (the batch is
// the M dimension, so one call covers all rows); a plain-loop _naive twin stays
// next to it as the readable spec and test reference.
// Legend: B rows, C input width, OC output width, D Gaussian dimension.
#include "core/nn.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

// ---- names -------------------------------------------------------------------

const char* nn_act_name(NnAct act) {
    switch (act) {
    case NN_ACT_LINEAR: return "linear";
    case NN_ACT_RELU: return "relu";
    case NN_ACT_SWISH: return "swish";
    case NN_ACT_TANH: return "tanh";
    }
    return "?";
}

int nn_act_parse(const char* name, NnAct* ret_act) {
    static const struct { const char* name; NnAct act; } tab[] = {
        {"linear", NN_ACT_LINEAR}, {"identity", NN_ACT_LINEAR}, {"relu", NN_ACT_RELU},
        {"swish", NN_ACT_SWISH},   {"silu", NN_ACT_SWISH},      {"tanh", NN_ACT_TANH},
    };
    if (!name) return -EINVAL;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(name, tab[i].name) == 0) {
            if (ret_act) *ret_act = tab[i].act;
            return 0;
        }
    }
    return -EINVAL;
}

// ---- dense layer ---------------------------------------------------------------
// out = inp @ weight^T + bias (torch.nn.Linear), inp (B, C), weight (OC, C).

void nn_linear_forward(float* out, const float* inp, const float* weight,
                       const float* bias, int B, int C, int OC) {
    if (B <= 0 || OC <= 0) return;
    float beta = 0.0f;
    if (bias) {
        for (int b = 0; b < B; b++) memcpy(out + (long)b * OC, bias, sizeof(float) * OC);
        beta = 1.0f;
    }
    if (C <= 0) {
        if (!bias) memset(out, 0, sizeof(float) * (size_t)B * OC);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, C, 1.0f, inp, C, weight, C,
                beta, out, OC);
}

void nn_linear_backward(float* dinp, float* dweight, float* dbias,
                        const float* dout, const float* inp, const float* weight,
                        int B, int C, int OC) {
    if (B <= 0 || OC <= 0) return;
    if (dinp && C > 0)   // dinp (B, C) += dout (B, OC) @ weight (OC, C)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, OC, 1.0f, dout, OC,
                    weight, C, 1.0f, dinp, C);
    if (dweight && C > 0)   // dweight (OC, C) += dout^T (OC, B) @ inp (B, C)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, B, 1.0f, dout, OC,
                    inp, C, 1.0f, dweight, C);
    if (dbias) {   // dbias (OC) += column sums of dout
        for (int b = 0; b < B; b++) {
            const float* row = dout + (long)b * OC;
            for (int o = 0; o < OC; o++) dbias[o] += row[o];
        }
    }
}

void nn_linear_forward_naive(float* out, const float* inp, const float* weight,
                             const float* bias, int B, int C, int OC) {
    for (int b = 0; b < B; b++) {
        const float* x = inp + (long)b * C;
        for (int o = 0; o < OC; o++) {
            const float* w = weight + (long)o * C;
            float val = bias ? bias[o] : 0.0f;
            for (int i = 0; i < C; i++) val += w[i] * x[i];
            out[(long)b * OC + o] = val;
        }
    }
}

void nn_linear_backward_naive(float* dinp, float* dweight, float* dbias,
                              const float* dout, const float* inp, const float* weight,
                              int B, int C, int OC) {
    for (int b = 0; b < B; b++) {
        const float* x = inp + (long)b * C;
        const float* g = dout + (long)b * OC;
        for (int o = 0; o < OC; o++) {
            float d = g[o];
            const float* w = weight + (long)o * C;
            if (dinp) {
                float* dx = dinp + (long)b * C;
                for (int i = 0; i < C; i++) dx[i] += w[i] * d;
            }
            if (dweight) {
                float* dw = dweight + (long)o * C;
                for (int i = 0; i < C; i++) dw[i] += x[i] * d;
            }
            if (dbias) dbias[o] += d;
        }
    }
}

// ---- activations ---------------------------------------------------------------
// Swish and tanh use fast_expf / fast_tanhf (vectorisable, within a few ulp of
// libm); swish's backward recovers sigmoid(x) = out / x from the forward output
// when given, so it needs no exp.


// e^x without a libm call, so loops over it vectorise (glibc's expf is scalar
// unless -ffast-math, and fminf/fmaxf block vectorisation too, hence the
// ternaries). Cephes expf: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-5
// minimax polynomial, times 2^n built in the exponent bits; n is rounded with the
// 1.5*2^23 trick and read back from the float's bits (no float->int cast). Max
// relative error a few ulp (tests/test_nn.c checks 1e-6 against expf). Returns 0
// below -87.3 (expf: denormals) and +inf above 88.3 (expf: finite up to 88.72),
// which swish and sigmoid do not notice. NaN gives NaN.
static inline float fast_expf(float x) {
    float xc = x < -87.3f ? -87.3f : x;
    xc = xc > 88.3f ? 88.3f : xc;
    float t = xc * 1.44269504088896341f + 12582912.0f;   // 1.5*2^23: rounds to an integer
    float n = t - 12582912.0f;
    uint32_t tbits;
    memcpy(&tbits, &t, sizeof tbits);
    uint32_t ni = tbits - 0x4B400000u;                     // n as an int, -126..127 (mod 2^32)
    float r = xc - n * 0.693359375f - n * -2.12194440e-4f;   // ln2 split hi + lo
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (ni + 127u) << 23;   // unsigned: NaN's garbage n must not overflow
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x < -87.3f ? 0.0f : y;
    return x > 88.3f ? INFINITY : y;
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

// tanh without a libm call (vectorises): Cephes tanhf's odd polynomial for
// |x| < 0.625, else 1 - 2 / (e^{2|x|} + 1) with the sign restored. Both are
// computed and one selected, so the loop has no branch.
static inline float fast_tanhf(float x) {
    float ax = x < 0.0f ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float big = 1.0f - 2.0f / (fast_expf(2.0f * ax) + 1.0f);
    big = x < 0.0f ? -big : big;
    return ax < 0.625f ? small : big;
}

// Test hooks: the fast functions over an array (declared in tests, not in nn.h).
void nn_fast_exp_test(float* out, const float* inp, long n);
void nn_fast_exp_test(float* out, const float* inp, long n) {
    for (long i = 0; i < n; i++) out[i] = fast_expf(inp[i]);
}
void nn_fast_tanh_test(float* out, const float* inp, long n);
void nn_fast_tanh_test(float* out, const float* inp, long n) {
    for (long i = 0; i < n; i++) out[i] = fast_tanhf(inp[i]);
}

// log(1 + u) for u in [0, 1] without a libm call (vectorises): Cephes logf's
// polynomial for log(1 + f), f in [sqrt(1/2) - 1, sqrt(2) - 1]. Small u is used as f
// directly (no rounding of 1 + u, so tiny u keep full relative precision); u above
// sqrt(2) - 1 becomes 1 + u = 2 (1 + f) with f = (u - 1) / 2, exact in floats, and
// adds ln 2 split hi + lo. NaN gives NaN.
static inline float fast_log1pf_01(float u) {
    float big = u > 0.41421356237f ? 1.0f : 0.0f;
    float f = u > 0.41421356237f ? (u - 1.0f) * 0.5f : u;
    float z = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    float y = p * f * z + big * -2.12194440e-4f - 0.5f * z;
    return f + y + big * 0.693359375f;
}

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), written so neither branch
// overflows; fast_expf and fast_log1pf_01 keep it a straight-line vectorisable
// expression within a few ulp of libm's log1pf(expf()) form (tests/test_nn.c).
static inline float softplusf(float x) {
    float ax = x < 0.0f ? -x : x;
    float pos = x > 0.0f ? x : 0.0f;
    float r = pos + fast_log1pf_01(fast_expf(-ax));
    return x != x ? x : r;   // NaN in, NaN out
}

// Test hook: the libm form, the reference nn_softplus_forward is checked against.
void nn_softplus_libm_test(float* out, const float* inp, long n);
void nn_softplus_libm_test(float* out, const float* inp, long n) {
    for (long i = 0; i < n; i++) out[i] = fmaxf(inp[i], 0.0f) + log1pf(expf(-fabsf(inp[i])));
}

void nn_softplus_forward(float* out, const float* inp, long n) {
    for (long i = 0; i < n; i++) out[i] = softplusf(inp[i]);
}

void nn_act_forward(float* out, const float* inp, long n, NnAct act) {
    switch (act) {
    case NN_ACT_LINEAR:
        if (out != inp) memmove(out, inp, sizeof(float) * (size_t)n);
        break;
    case NN_ACT_RELU:
        for (long i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case NN_ACT_SWISH:   // x * sigmoid(x)
        for (long i = 0; i < n; i++) out[i] = inp[i] / (1.0f + fast_expf(-inp[i]));
        break;
    case NN_ACT_TANH:
        for (long i = 0; i < n; i++) out[i] = fast_tanhf(inp[i]);
        break;
    }
}

void nn_act_backward(float* dinp, const float* dout, const float* inp,
                     const float* out, long n, NnAct act) {
    if (!dinp) return;
    switch (act) {
    case NN_ACT_LINEAR:
        for (long i = 0; i < n; i++) dinp[i] += dout[i];
        break;
    case NN_ACT_RELU:
        for (long i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case NN_ACT_SWISH:   // d/dx x s(x) = s + x s (1 - s)
        if (out) {   // s = out / x recovers the forward's sigmoid without an exp
            for (long i = 0; i < n; i++) {
                float x = inp[i];
                float s = x != 0.0f ? out[i] / x : 0.5f;
                dinp[i] += dout[i] * s * (1.0f + x * (1.0f - s));
            }
        } else {
            for (long i = 0; i < n; i++) {
                float s = 1.0f / (1.0f + fast_expf(-inp[i]));
                dinp[i] += dout[i] * s * (1.0f + inp[i] * (1.0f - s));
            }
        }
        break;
    case NN_ACT_TANH:    // 1 - tanh^2
        for (long i = 0; i < n; i++) {
            float t = out ? out[i] : fast_tanhf(inp[i]);
            dinp[i] += dout[i] * (1.0f - t * t);
        }
        break;
    }
}

// ---- Gaussian head (PETS, Chua et al. 2018, soft-bounded log-variance) --------
//   lv1    = max_logvar - softplus(max_logvar - raw_lv)
//   logvar = min_logvar + softplus(lv1 - min_logvar)

void nn_gauss_head_forward(float* mean, float* logvar, const float* raw,
                           const float* max_logvar, const float* min_logvar, int B, int D) {
    for (int b = 0; b < B; b++) {
        const float* r = raw + (long)b * 2 * D;
        memcpy(mean + (long)b * D, r, sizeof(float) * D);
        float* lv = logvar + (long)b * D;
        for (int j = 0; j < D; j++) {
            float lv1 = max_logvar[j] - softplusf(max_logvar[j] - r[D + j]);
            lv[j] = min_logvar[j] + softplusf(lv1 - min_logvar[j]);
        }
    }
}

void nn_gauss_head_backward(float* draw, float* dmax_logvar, float* dmin_logvar,
                            const float* dmean, const float* dlogvar, const float* raw,
                            const float* max_logvar, const float* min_logvar, int B, int D) {
    for (int b = 0; b < B; b++) {
        if (draw && dmean) {
            float* dr = draw + (long)b * 2 * D;
            const float* dm = dmean + (long)b * D;
            for (int j = 0; j < D; j++) dr[j] += dm[j];
        }
        if (!dlogvar) continue;
        const float* r = raw + (long)b * 2 * D;
        const float* g = dlogvar + (long)b * D;
        for (int j = 0; j < D; j++) {
            float u1 = max_logvar[j] - r[D + j];
            float lv1 = max_logvar[j] - softplusf(u1);
            float s1 = sigmoidf(u1);                     // d softplus(u1) / d u1
            float s2 = sigmoidf(lv1 - min_logvar[j]);    // d logvar / d lv1
            // term 1: through lv1 to raw (d lv1/d raw = s1) and max (d lv1/d max = 1 - s1)
            if (draw) draw[(long)b * 2 * D + D + j] += g[j] * s2 * s1;
            if (dmax_logvar) dmax_logvar[j] += g[j] * s2 * (1.0f - s1);
            // term 2: min_logvar directly (1) and through softplus (-s2)
            if (dmin_logvar) dmin_logvar[j] += g[j] * (1.0f - s2);
        }
    }
}

// ---- Gaussian NLL ----------------------------------------------------------------
// loss = 1/(B D) sum [ (target - mean)^2 exp(-logvar) + logvar ]

float nn_gauss_nll_forward(const float* mean, const float* logvar, const float* target,
                           int B, int D) {
    long n = (long)B * D;
    if (n <= 0) return 0.0f;
    double acc = 0.0;
    for (long i = 0; i < n; i++) {
        double diff = (double)target[i] - mean[i];
        acc += diff * diff * exp(-(double)logvar[i]) + logvar[i];
    }
    return (float)(acc / (double)n);
}

void nn_gauss_nll_backward(float* dmean, float* dlogvar, float dloss, const float* mean,
                           const float* logvar, const float* target, int B, int D) {
    long n = (long)B * D;
    if (n <= 0) return;
    float scale = dloss / (float)n;
    for (long i = 0; i < n; i++) {
        float diff = mean[i] - target[i];
        float inv_var = expf(-logvar[i]);
        if (dmean) dmean[i] += scale * 2.0f * diff * inv_var;
        if (dlogvar) dlogvar[i] += scale * (1.0f - diff * diff * inv_var);
    }
}

// ---- MSE -------------------------------------------------------------------------

float nn_mse_forward(const float* pred, const float* target, long n) {
    if (n <= 0) return 0.0f;
    double acc = 0.0;
    for (long i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        acc += d * d;
    }
    return (float)(acc / (double)n);
}

void nn_mse_backward(float* dpred, float dloss, const float* pred, const float* target, long n) {
    if (!dpred || n <= 0) return;
    float scale = dloss * 2.0f / (float)n;
    for (long i = 0; i < n; i++) dpred[i] += scale * (pred[i] - target[i]);
}
