// SPDX-License-Identifier: Apache-2.0
// qf.c -- twin Q-functions: one 2-member Mlp evaluated with mlp_forward_shared on
// concat(s, a), so both members' layers are one sgemm each over the same input rows.
//
// Backward: the shared forward's dinp sums both members' input gradients; it is split
// back into ds (first S columns) and da (last A columns).
// Thread: qf.h. Allocation: create/clone/work_create.
#include "core/qf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct QfWork {
    MlpWork* mw;
    int max_rows;
    int B;          // rows of the last forward
    float* x;       // (max_rows, S + A) concat input
    float* dx;      // (max_rows, S + A) input-gradient scratch
};

QFunction* qf_create(int obs_dim, int act_dim, int n_hidden, const int* hidden, NnAct act,
                     Rng* rng) {
    if (obs_dim < 1 || act_dim < 1 || n_hidden < 0 || n_hidden + 1 > MLP_MAX_LAYERS ||
        (n_hidden > 0 && !hidden))
        return NULL;
    int sizes[MLP_MAX_LAYERS + 1];
    sizes[0] = obs_dim + act_dim;
    for (int l = 0; l < n_hidden; l++) sizes[l + 1] = hidden[l];
    sizes[n_hidden + 1] = 1;
    QFunction* q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->net = mlp_create(QF_N, n_hidden + 1, sizes, act, MLP_HEAD_LINEAR);
    if (!q->net) {
        free(q);
        return NULL;
    }
    if (rng) mlp_init(q->net, rng);
    q->obs_dim = obs_dim;
    q->act_dim = act_dim;
    return q;
}

void qf_free(QFunction* q) {
    if (!q) return;
    mlp_free(q->net);
    free(q);
}

QFunction* qf_clone(const QFunction* q) {
    QFunction* c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = *q;
    c->net = mlp_clone(q->net);
    if (!c->net) {
        free(c);
        return NULL;
    }
    return c;
}

// mode: 0 plain, 1 forward-only, 2 fast (mlp_work_create / _fwd / _fast).
static QfWork* work_create(const QFunction* q, int max_rows, int mode) {
    if (max_rows < 1) return NULL;
    QfWork* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t C = (size_t)(q->obs_dim + q->act_dim);
    w->max_rows = max_rows;
    w->mw = mode == 1   ? mlp_work_create_fwd(q->net, QF_N * max_rows)
            : mode == 2 ? mlp_work_create_fast(q->net, QF_N * max_rows)
                        : mlp_work_create(q->net, QF_N * max_rows);
    w->x = malloc((size_t)max_rows * C * sizeof(float));
    w->dx = malloc((size_t)max_rows * C * sizeof(float));
    if (!w->mw || !w->x || !w->dx) {
        qf_work_free(w);
        return NULL;
    }
    return w;
}

QfWork* qf_work_create(const QFunction* q, int max_rows) { return work_create(q, max_rows, 0); }

QfWork* qf_work_create_fwd(const QFunction* q, int max_rows) {
    return work_create(q, max_rows, 1);
}

QfWork* qf_work_create_fast(const QFunction* q, int max_rows) {
    return work_create(q, max_rows, 2);
}

void qf_work_free(QfWork* w) {
    if (!w) return;
    mlp_work_free(w->mw);
    free(w->x);
    free(w->dx);
    free(w);
}

void qf_forward(const QFunction* q, QfWork* w, float* qout, const float* s, const float* a,
                int B) {
    int S = q->obs_dim, A = q->act_dim, C = S + A;
    assert(B >= 0 && B <= w->max_rows);
    for (int b = 0; b < B; b++) {
        memcpy(w->x + (size_t)b * C, s + (size_t)b * S, (size_t)S * sizeof(float));
        memcpy(w->x + (size_t)b * C + S, a + (size_t)b * A, (size_t)A * sizeof(float));
    }
    mlp_forward_shared(q->net, w->mw, w->x, B);
    w->B = B;
    // output (2B, 1) member-major == qout (2, B)
    memcpy(qout, mlp_work_out(w->mw), (size_t)QF_N * B * sizeof(float));
}

void qf_backward(const QFunction* q, QfWork* w, float* grad, float* ds, float* da,
                 const float* dq) {
    int S = q->obs_dim, A = q->act_dim, C = S + A, B = w->B;
    if (!ds && !da) {
        if (grad) mlp_backward(q->net, w->mw, grad, NULL, dq, NULL);
        return;
    }
    memset(w->dx, 0, (size_t)B * C * sizeof(float));
    mlp_backward(q->net, w->mw, grad, w->dx, dq, NULL);
    for (int b = 0; b < B; b++) {
        const float* d = w->dx + (size_t)b * C;
        if (ds)
            for (int i = 0; i < S; i++) ds[(size_t)b * S + i] += d[i];
        if (da)
            for (int j = 0; j < A; j++) da[(size_t)b * A + j] += d[S + j];
    }
}
