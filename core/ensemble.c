// SPDX-License-Identifier: Apache-2.0
// ensemble.c -- bootstrap ensemble of probabilistic dynamics models: shape and
// the differentiable imagination step.
//
// M members live in one Mlp (GAUSS head): (S + A) -> mean, logvar of the
// normalised target y_n = (y - target_mean) / target_std, y = [s' - s | r].
// Training is in ensemble_train.c. The imagination step (ensemble.h):
//   y_n = mu_m(s, a) + exp(logvar_m(s, a) / 2) * eps         (reparameterised)
//   s'  = s + target_mean[:S] + target_std[:S] * y_n[:S]
//   r   = target_mean[S] + target_std[S] * y_n[S]             (learn_reward only)
// eps is a proper standard normal scaled by the standard deviation (not the
// released MAAC code's exp(logvar) "variance as std" quirk, docs/maac-vs-released-code.md).
// Rows pick their member per row: ens_step_forward counting-sorts the rows by
// member into preallocated buffers, runs ONE mlp_forward_grouped (one sgemm per
// member and layer), and unpermutes the outputs. ens_step_backward walks the same
// permutation back and differentiates through the frozen network (no parameter
// gradient), the identity skip s' = s + ..., and the eps path through logvar.
// Thread: learner; a frozen copy may be read by another thread with its own
// EnsStepWork. Allocation: ens_create/ens_clone/ens_step_work_create only.
#include "core/ensemble.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct EnsStepWork {
    int max_rows;                 // capacity in rows
    int n_members;                // M of the ensemble it was made for
    int B;                        // rows of the last forward (0: none yet)
    int has_eps;                  // 1 when the last forward sampled (eps != NULL)
    MlpWork* mw;                  // network work for max_rows rows
    int row_off[ENS_MAX_MEMBERS + 1];   // member group offsets of the last forward
    int* order;                   // (max_rows) sorted position -> original row
    float* xin;                   // (max_rows, S + A) sorted inputs concat(s, a)
    float* eps;                   // (max_rows, n_out) sorted noise of the last forward
    float* dmean;                 // (max_rows, n_out) backward scratch, sorted
    float* dlogvar;               // (max_rows, n_out)
    float* dxin;                  // (max_rows, S + A)
};

// ==== ensemble ==================================================================

Ensemble* ens_create(int obs_dim, int act_dim, int n_members, int n_hidden, int width,
                     NnAct act, int learn_reward, Rng* rng) {
    if (obs_dim < 1 || act_dim < 1 || n_members < 1 || n_members > ENS_MAX_MEMBERS ||
        n_hidden < 0 || n_hidden + 1 > MLP_MAX_LAYERS || width < 1)
        return NULL;
    Ensemble* e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->obs_dim = obs_dim;
    e->act_dim = act_dim;
    e->learn_reward = learn_reward ? 1 : 0;
    e->n_out = obs_dim + e->learn_reward;
    int sizes[MLP_MAX_LAYERS + 1];
    sizes[0] = obs_dim + act_dim;
    for (int l = 1; l <= n_hidden; l++) sizes[l] = width;
    sizes[n_hidden + 1] = 2 * e->n_out;
    e->net = mlp_create(n_members, n_hidden + 1, sizes, act, MLP_HEAD_GAUSS);
    e->target_mean = calloc((size_t)e->n_out, sizeof(float));
    e->target_std = malloc(sizeof(float) * (size_t)e->n_out);
    if (!e->net || !e->target_mean || !e->target_std) {
        ens_free(e);
        return NULL;
    }
    for (int j = 0; j < e->n_out; j++) e->target_std[j] = 1.0f;
    if (rng) mlp_init(e->net, rng);
    e->n_elites = n_members;
    for (int m = 0; m < n_members; m++) e->elites[m] = m;
    return e;
}

void ens_free(Ensemble* e) {
    if (!e) return;
    mlp_free(e->net);
    free(e->target_mean);
    free(e->target_std);
    free(e);
}

Ensemble* ens_clone(const Ensemble* e) {
    int n_hidden = e->net->n_layers - 1;
    int width = n_hidden > 0 ? e->net->sizes[1] : 1;
    Ensemble* c = ens_create(e->obs_dim, e->act_dim, e->net->n_members, n_hidden, width,
                             e->net->hidden_act, e->learn_reward, NULL);
    if (!c) return NULL;
    if (!mlp_same_shape(c->net, e->net)) {   // hidden widths differ: clone the net itself
        Mlp* net = mlp_clone(e->net);
        if (!net) {
            ens_free(c);
            return NULL;
        }
        mlp_free(c->net);
        c->net = net;
    }
    ens_copy(c, e);
    return c;
}

void ens_copy(Ensemble* dst, const Ensemble* src) {
    assert(dst->n_out == src->n_out && dst->obs_dim == src->obs_dim &&
           dst->act_dim == src->act_dim);
    mlp_copy(dst->net, src->net);
    memcpy(dst->target_mean, src->target_mean, sizeof(float) * (size_t)src->n_out);
    memcpy(dst->target_std, src->target_std, sizeof(float) * (size_t)src->n_out);
    dst->learn_reward = src->learn_reward;
    dst->n_elites = src->n_elites;
    memcpy(dst->elites, src->elites, sizeof dst->elites);
}

void ens_sample_members(const Ensemble* e, Rng* rng, int* member, int B) {
    int n = e->n_elites > 0 ? e->n_elites : e->net->n_members;
    for (int b = 0; b < B; b++)
        member[b] = e->n_elites > 0 ? e->elites[rng_below(rng, (uint32_t)n)]
                                    : (int)rng_below(rng, (uint32_t)n);
}

// ==== imagination step ==========================================================

// mode: 0 plain, 1 forward-only, 2 fast (mlp_work_create / _fwd / _fast).
static EnsStepWork* step_work_create(const Ensemble* e, int max_rows, int mode) {
    if (max_rows < 1) return NULL;
    EnsStepWork* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    int n_in = e->net->n_in, D = e->n_out;
    size_t R = (size_t)max_rows;
    w->max_rows = max_rows;
    w->n_members = e->net->n_members;
    w->mw = mode == 1   ? mlp_work_create_fwd(e->net, max_rows)
            : mode == 2 ? mlp_work_create_fast(e->net, max_rows)
                        : mlp_work_create(e->net, max_rows);
    w->order = malloc(sizeof(int) * R);
    w->xin = malloc(sizeof(float) * R * (size_t)n_in);
    w->eps = malloc(sizeof(float) * R * (size_t)D);
    w->dmean = malloc(sizeof(float) * R * (size_t)D);
    w->dlogvar = malloc(sizeof(float) * R * (size_t)D);
    w->dxin = malloc(sizeof(float) * R * (size_t)n_in);
    if (!w->mw || !w->order || !w->xin || !w->eps || !w->dmean || !w->dlogvar || !w->dxin) {
        ens_step_work_free(w);
        return NULL;
    }
    return w;
}

EnsStepWork* ens_step_work_create(const Ensemble* e, int max_rows) {
    return step_work_create(e, max_rows, 0);
}

EnsStepWork* ens_step_work_create_fwd(const Ensemble* e, int max_rows) {
    return step_work_create(e, max_rows, 1);
}

EnsStepWork* ens_step_work_create_fast(const Ensemble* e, int max_rows) {
    return step_work_create(e, max_rows, 2);
}

void ens_step_work_free(EnsStepWork* w) {
    if (!w) return;
    mlp_work_free(w->mw);
    free(w->order);
    free(w->xin);
    free(w->eps);
    free(w->dmean);
    free(w->dlogvar);
    free(w->dxin);
    free(w);
}

void ens_step_forward(const Ensemble* e, EnsStepWork* w, float* s2, float* r, const float* s,
                      const float* a, const int* member, const float* eps, int B) {
    const int S = e->obs_dim, A = e->act_dim, D = e->n_out, n_in = S + A;
    const int M = e->net->n_members;
    assert(B >= 0 && B <= w->max_rows && M == w->n_members);
    // Counting sort of the rows by member (stable): order[p] = original row.
    int cnt[ENS_MAX_MEMBERS + 1] = {0};
    for (int b = 0; b < B; b++) {
        assert(member[b] >= 0 && member[b] < M);
        cnt[member[b] + 1]++;
    }
    for (int m = 0; m < M; m++) cnt[m + 1] += cnt[m];
    memcpy(w->row_off, cnt, sizeof(int) * (size_t)(M + 1));
    for (int b = 0; b < B; b++) {
        int p = cnt[member[b]]++;
        w->order[p] = b;
        float* x = w->xin + (size_t)p * n_in;
        memcpy(x, s + (size_t)b * S, sizeof(float) * (size_t)S);
        memcpy(x + S, a + (size_t)b * A, sizeof(float) * (size_t)A);
        if (eps) memcpy(w->eps + (size_t)p * D, eps + (size_t)b * D, sizeof(float) * (size_t)D);
    }
    w->B = B;
    w->has_eps = eps != NULL;
    mlp_forward_grouped(e->net, w->mw, w->xin, w->row_off);
    const float* mu = mlp_work_out(w->mw);
    const float* lv = mlp_work_logvar(w->mw);
    // y_n = mu + exp(logvar / 2) * eps; de-normalise; unpermute.
    for (int p = 0; p < B; p++) {
        int b = w->order[p];
        const float* mup = mu + (size_t)p * D;
        const float* lvp = lv + (size_t)p * D;
        const float* ep = w->eps + (size_t)p * D;
        const float* sb = s + (size_t)b * S;
        float* s2b = s2 + (size_t)b * S;
        for (int j = 0; j < S; j++) {
            float yn = mup[j] + (eps ? expf(0.5f * lvp[j]) * ep[j] : 0.0f);
            s2b[j] = sb[j] + e->target_mean[j] + e->target_std[j] * yn;
        }
        if (e->learn_reward && r) {
            float yn = mup[S] + (eps ? expf(0.5f * lvp[S]) * ep[S] : 0.0f);
            r[b] = e->target_mean[S] + e->target_std[S] * yn;
        }
    }
}

void ens_step_backward(const Ensemble* e, EnsStepWork* w, float* ds, float* da,
                       const float* ds2, const float* dr) {
    const int S = e->obs_dim, A = e->act_dim, D = e->n_out, n_in = S + A, B = w->B;
    if (B <= 0 || (!ds && !da)) return;
    // Identity skip: s' = s + ...  =>  ds += ds2.
    if (ds && ds2)
        for (long i = 0; i < (long)B * S; i++) ds[i] += ds2[i];
    if (!ds2 && !(dr && e->learn_reward)) return;
    const float* lv = mlp_work_logvar(w->mw);
    // dL/dy_n = target_std * (ds2 | dr);  dmean = dy_n;
    // dlogvar = dy_n * eps * exp(logvar / 2) / 2   (the reparameterised noise path).
    for (int p = 0; p < B; p++) {
        int b = w->order[p];
        float* dm = w->dmean + (size_t)p * D;
        float* dl = w->dlogvar + (size_t)p * D;
        const float* lvp = lv + (size_t)p * D;
        const float* ep = w->eps + (size_t)p * D;
        for (int j = 0; j < S; j++) dm[j] = ds2 ? e->target_std[j] * ds2[(size_t)b * S + j] : 0.0f;
        if (e->learn_reward) dm[S] = dr ? e->target_std[S] * dr[b] : 0.0f;
        if (w->has_eps)
            for (int j = 0; j < D; j++) dl[j] = dm[j] * ep[j] * 0.5f * expf(0.5f * lvp[j]);
    }
    memset(w->dxin, 0, sizeof(float) * (size_t)B * n_in);
    mlp_backward(e->net, w->mw, NULL, w->dxin, w->dmean, w->has_eps ? w->dlogvar : NULL);
    for (int p = 0; p < B; p++) {
        int b = w->order[p];
        const float* dx = w->dxin + (size_t)p * n_in;
        if (ds)
            for (int i = 0; i < S; i++) ds[(size_t)b * S + i] += dx[i];
        if (da)
            for (int k = 0; k < A; k++) da[(size_t)b * A + k] += dx[S + k];
    }
}
