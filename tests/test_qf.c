// SPDX-License-Identifier: Apache-2.0
// test_qf.c -- twin Q: forward vs each member's batch-1 inference on concat(s, a);
// finite-difference checks of dtheta, ds, da; clone independence.
#include <stdlib.h>
#include <string.h>

#include "core/qf.h"
#include "test_util.h"
#include "gradcheck.h"

enum { S = 4, A = 2, B = 9 };

typedef struct {
    QFunction* q;
    QfWork* w;
    float s[B * S], a[B * A], c[QF_N * B];
} Ctx;

static double loss(void* v) {
    Ctx* c = v;
    float q[QF_N * B];
    qf_forward(c->q, c->w, q, c->s, c->a, B);
    double L = 0;
    for (int i = 0; i < QF_N * B; i++) L += (double)c->c[i] * q[i];
    return L;
}

int main(void) {
    Rng rng;
    rng_seed(&rng, 3);
    int hid[2] = {24, 24};
    Ctx c;
    c.q = qf_create(S, A, 2, hid, NN_ACT_TANH, &rng);
    c.w = qf_work_create(c.q, B);
    CHECK(c.q && c.w && c.q->net->n_members == 2, "create");
    rng_normal_fill(&rng, c.s, B * S);
    rng_normal_fill(&rng, c.a, B * A);
    rng_normal_fill(&rng, c.c, QF_N * B);
    float q[QF_N * B];
    qf_forward(c.q, c.w, q, c.s, c.a, B);
    float* scratch = malloc((size_t)mlp_infer1_scratch_floats(c.q->net) * sizeof(float));
    double err = 0, spread = 0;
    for (int j = 0; j < QF_N; j++)
        for (int b = 0; b < B; b++) {
            float x[S + A], y;
            memcpy(x, c.s + b * S, sizeof(float) * S);
            memcpy(x + S, c.a + b * A, sizeof(float) * A);
            mlp_infer1(c.q->net, j, x, &y, NULL, scratch);
            err = fmax(err, fabs(y - q[j * B + b]));
            spread = fmax(spread, fabs(q[b] - q[B + b]));
        }
    CHECK(err < 1e-5, "qf_forward vs per-member infer1: %g", err);
    CHECK(spread > 1e-3, "the two Qs differ (independent init)");

    long np = c.q->net->n_params;
    float* g = calloc((size_t)np, sizeof(float));
    float ds[B * S] = {0}, da[B * A] = {0};
    loss(&c);
    qf_backward(c.q, c.w, g, ds, da, c.c);
    grad_check("dQ/dtheta", loss, &c, c.q->net->params, g, np, 5, 1e-3f, 2e-2);
    grad_check("dQ/ds", loss, &c, c.s, ds, B * S, 1, 1e-3f, 2e-2);
    grad_check("dQ/da", loss, &c, c.a, da, B * A, 1, 1e-3f, 2e-2);

    QFunction* cl = qf_clone(c.q);
    cl->net->params[0] += 1.0f;
    CHECK(cl->net->params[0] != c.q->net->params[0], "clone is a deep copy");
    qf_free(cl);
    free(g);
    free(scratch);
    qf_work_free(c.w);
    qf_free(c.q);
    return test_summary("test_qf");
}
