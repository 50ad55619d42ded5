// SPDX-License-Identifier: Apache-2.0
// test_adam.c -- adam.c: the update formula by hand, weight decay, Polyak, clipping,
// and Adam fitting y = sin(x) with a small MLP (low loss, bit-identical per seed).
#include <stdlib.h>
#include <string.h>

#include "core/adam.h"
#include "core/mlp.h"
#include "core/rng.h"
#include "test_util.h"

static void test_formula(void) {
    Adam* a = adam_create(3, 0.1f);
    CHECK(a && a->beta1 == 0.9f && a->beta2 == 0.999f && a->eps == 1e-8f && a->weight_decay == 0.0f,
          "defaults");
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.3f, -4.0f, 0.0f};
    // step 1: m_hat = g, v_hat = g^2 -> p -= lr * g / (|g| + eps)
    adam_step(a, p, g);
    CHECK_NEAR(p[0], 0.9, 1e-6, "step1 p0");
    CHECK_NEAR(p[1], -1.9, 1e-6, "step1 p1");
    CHECK_NEAR(p[2], 0.5, 1e-7, "step1 zero grad");
    // step 2 by hand in double
    float g2[3] = {-0.1f, 1.0f, 0.2f};
    double m0 = 0.1 * 0.3, v0 = 0.001 * 0.09;
    double m1 = 0.9 * m0 + 0.1 * -0.1, v1 = 0.999 * v0 + 0.001 * 0.01;
    double mh = m1 / (1 - 0.81), vh = v1 / (1 - 0.999 * 0.999);
    double want = 0.9 - 0.1 * mh / (sqrt(vh) + 1e-8);
    adam_step(a, p, g2);
    CHECK_NEAR(p[0], want, 1e-5, "step2 p0");
    CHECK(a->t == 2, "t counts steps");
    adam_reset(a);
    CHECK(a->t == 0 && a->m[1] == 0.0f && a->v[1] == 0.0f, "reset");
    // decoupled weight decay: zero gradient -> p *= (1 - lr * wd)
    a->weight_decay = 0.5f;
    float q[3] = {2.0f, -1.0f, 0.0f}, z[3] = {0};
    adam_step(a, q, z);
    CHECK_NEAR(q[0], 2.0 * (1 - 0.05), 1e-6, "weight decay p0");
    CHECK_NEAR(q[1], -1.0 * (1 - 0.05), 1e-6, "weight decay p1");
    adam_free(a);
    adam_free(NULL);

    float t[2] = {1.0f, 2.0f}, s[2] = {3.0f, -2.0f};
    nn_polyak_update(t, s, 2, 0.25f);
    CHECK_NEAR(t[0], 1.5, 1e-7, "polyak 0");
    CHECK_NEAR(t[1], 1.0, 1e-7, "polyak 1");

    float gr[2] = {3.0f, 4.0f};
    float nrm = nn_clip_grad_norm(gr, 2, 1.0f);
    CHECK_NEAR(nrm, 5.0, 1e-6, "clip returns the norm before");
    CHECK_NEAR(gr[0], 0.6, 1e-6, "clip scales 0");
    CHECK_NEAR(gr[1], 0.8, 1e-6, "clip scales 1");
    float gs[2] = {0.3f, 0.4f};
    nn_clip_grad_norm(gs, 2, 1.0f);
    CHECK(gs[0] == 0.3f && gs[1] == 0.4f, "clip leaves small gradients alone");
}

// Fit y = sin(x), x in [-pi, pi], with a 1-32-32-1 tanh MLP; returns the final
// full-data MSE and copies the trained parameters into ret_params.
static float fit_sin(uint64_t seed, float* ret_params, long* ret_n) {
    enum { N = 256, BATCH = 64, STEPS = 1500 };
    int sizes[4] = {1, 32, 32, 1};
    Mlp* m = mlp_create(1, 3, sizes, NN_ACT_TANH, MLP_HEAD_LINEAR);
    Rng rng;
    rng_seed(&rng, seed);
    mlp_init(m, &rng);
    float x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = -3.14159265f + 6.2831853f * (i + 0.5f) / N;
        y[i] = sinf(x[i]);
    }
    mlp_set_input_norm(m, x, N);
    MlpWork* w = mlp_work_create(m, N);
    float* grad = calloc((size_t)m->n_params, sizeof(float));
    Adam* opt = adam_create(m->n_params, 3e-3f);
    float bx[BATCH], by[BATCH], dout[BATCH];
    for (int step = 0; step < STEPS; step++) {
        for (int b = 0; b < BATCH; b++) {
            uint32_t k = rng_below(&rng, N);
            bx[b] = x[k], by[b] = y[k];
        }
        mlp_forward(m, w, bx, BATCH);
        memset(dout, 0, sizeof dout);
        nn_mse_backward(dout, 1.0f, mlp_work_out(w), by, BATCH);
        mlp_zero_grad(m, grad);
        mlp_backward(m, w, grad, NULL, dout, NULL);
        nn_clip_grad_norm(grad, m->n_params, 10.0f);
        adam_step(opt, m->params, grad);
    }
    mlp_forward(m, w, x, N);
    float loss = nn_mse_forward(mlp_work_out(w), y, N);
    memcpy(ret_params, m->params, sizeof(float) * m->n_params);
    *ret_n = m->n_params;
    free(grad);
    adam_free(opt);
    mlp_work_free(w);
    mlp_free(m);
    return loss;
}

static void test_fit(void) {
    static float p1[4096], p2[4096], p3[4096];
    long n1, n2, n3;
    float l1 = fit_sin(11, p1, &n1);
    float l2 = fit_sin(11, p2, &n2);
    float l3 = fit_sin(12, p3, &n3);
    printf("  adam fit sin(x): final mse %.3g, %.3g (seed 11 twice), %.3g (seed 12); var(sin) = 0.5\n", l1, l2, l3);
    CHECK(l1 < 2e-3, "fit sin: mse %g", l1);
    CHECK(l3 < 2e-3, "fit sin (seed 12): mse %g", l3);
    CHECK(n1 == n2 && memcmp(p1, p2, sizeof(float) * n1) == 0, "same seed -> bit-identical weights");
    CHECK(memcmp(p1, p3, sizeof(float) * n1) != 0, "different seed -> different weights");
}

int main(void) {
    test_formula();
    test_fit();
    return test_summary("test_adam");
}
