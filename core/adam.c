// SPDX-License-Identifier: Apache-2.0
// adam.c -- Adam/AdamW optimiser, Polyak averaging and gradient-norm clipping.
//
// One flat loop over the parameter block, as llm.c's gpt2_update (AdamW,
// Loshchilov & Hutter 2019, decoupled weight decay; torch.optim.AdamW's
// formula). Bias corrections are computed once per step in double.
#include "core/adam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

Adam* adam_create(long n, float lr) {
    if (n < 0) return NULL;
    Adam* a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->n = n;
    a->lr = lr;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->weight_decay = 0.0f;
    a->m = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    a->v = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    if (!a->m || !a->v) {
        adam_free(a);
        return NULL;
    }
    return a;
}

void adam_free(Adam* a) {
    if (!a) return;
    free(a->m);
    free(a->v);
    free(a);
}

void adam_reset(Adam* a) {
    a->t = 0;
    memset(a->m, 0, sizeof(float) * (size_t)a->n);
    memset(a->v, 0, sizeof(float) * (size_t)a->n);
}

void adam_step(Adam* a, float* params, const float* grad) {
    adam_step_range(a, params, grad, 0, a->n);
    adam_advance(a);
}

void adam_step_range(const Adam* a, float* params, const float* grad, long i0, long i1) {
    const long t = a->t + 1;   // the step being taken (adam_advance makes it current)
    const float b1 = a->beta1, b2 = a->beta2, lr = a->lr, eps = a->eps, wd = a->weight_decay;
    const float bc1 = (float)(1.0 - pow((double)b1, (double)t));   // 1 - b1^t
    const float bc2 = (float)(1.0 - pow((double)b2, (double)t));   // 1 - b2^t
    // restrict + -fno-math-errno (top-level CMakeLists) let the compiler vectorise
    // this loop (sqrtf without an errno branch); it is ~14% of a model epoch otherwise.
    float* restrict m = a->m;
    float* restrict v = a->v;
    float* restrict p = params;
    const float* restrict gr = grad;
    if (i0 < 0) i0 = 0;
    if (i1 > a->n) i1 = a->n;
    for (long i = i0; i < i1; i++) {
        float g = gr[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        float m_hat = m[i] / bc1;
        float v_hat = v[i] / bc2;
        p[i] -= lr * (m_hat / (sqrtf(v_hat) + eps) + wd * p[i]);
    }
}

void adam_advance(Adam* a) { a->t++; }

void nn_polyak_update(float* target, const float* source, long n, float tau) {
    for (long i = 0; i < n; i++) target[i] = (1.0f - tau) * target[i] + tau * source[i];
}

float nn_clip_grad_norm(float* grad, long n, float max_norm) {
    double sq = 0.0;
    for (long i = 0; i < n; i++) sq += (double)grad[i] * grad[i];
    float norm = (float)sqrt(sq);
    if (norm > max_norm && norm > 0.0f && isfinite(norm)) {
        float scale = max_norm / norm;
        for (long i = 0; i < n; i++) grad[i] *= scale;
    }
    return norm;
}
