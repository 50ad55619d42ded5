// SPDX-License-Identifier: Apache-2.0
// policy.c -- the tanh-squashed Gaussian policy: batched forward/backward, batch-1
// action for the control loop, checkpoints.
//
// Per row and action dimension j (policy.h):
//   [mu | ls_raw] = net(obs);  ls = clip(ls_raw, -20, 2);  std = exp(ls)
//   u = mu + std * eps;  y = tanh(u);  a = center + scale * y
//   log pi = sum_j [ -eps^2/2 - ls - log(2 pi)/2 - log(1 - y^2 + 1e-6) - log(scale) ]
// (log N(u; mu, std) written with the explicit eps = (u - mu)/std, which is what the
// reparameterised gradient holds fixed). Backward, given da and dlogp:
//   dy = da scale + dlogp 2y / (1 - y^2 + 1e-6);  du = dy (1 - y^2)
//   dmu = du;  dls = [du eps std - dlogp] * 1{-20 <= ls_raw <= 2}
// then the MLP backward gives dtheta and dobs.
// Thread: policy.h. Allocation: create/clone/load/work_create.
#include "core/policy.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HALF_LOG_2PI 0.91893853320467274178f

struct PolicyWork {
    MlpWork* mw;
    int max_rows;
    int B;              // rows of the last forward
    int has_eps;        // last forward used eps
    float* eps;         // (max_rows, A) copy of the noise
    float* y;           // (max_rows, A) tanh(u)
    float* std;         // (max_rows, A)
    float* dout;        // (max_rows, 2A) backward scratch
};

static int bounds_ok(int A, const float* lo, const float* hi) {
    for (int j = 0; j < A; j++)
        if (!isfinite(lo[j]) || !isfinite(hi[j]) || !(hi[j] > lo[j])) return 0;
    return 1;
}

static Policy* policy_wrap(Mlp* net, int S, int A, const float* lo, const float* hi) {
    Policy* p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->net = net;
    p->obs_dim = S;
    p->act_dim = A;
    for (int j = 0; j < A; j++) {
        p->act_low[j] = lo ? lo[j] : -1.0f;
        p->act_high[j] = hi ? hi[j] : 1.0f;
    }
    return p;
}

Policy* policy_create(int obs_dim, int act_dim, int n_hidden, const int* hidden, NnAct act,
                      const float* act_low, const float* act_high, Rng* rng) {
    if (obs_dim < 1 || act_dim < 1 || act_dim > POLICY_MAX_ACT || n_hidden < 0 ||
        n_hidden + 1 > MLP_MAX_LAYERS || (n_hidden > 0 && !hidden))
        return NULL;
    if (act_low && act_high && !bounds_ok(act_dim, act_low, act_high)) return NULL;
    int sizes[MLP_MAX_LAYERS + 1];
    sizes[0] = obs_dim;
    for (int l = 0; l < n_hidden; l++) sizes[l + 1] = hidden[l];
    sizes[n_hidden + 1] = 2 * act_dim;
    Mlp* net = mlp_create(1, n_hidden + 1, sizes, act, MLP_HEAD_LINEAR);
    if (!net) return NULL;
    if (rng) mlp_init(net, rng);
    Policy* p = policy_wrap(net, obs_dim, act_dim, act_low && act_high ? act_low : NULL,
                            act_low && act_high ? act_high : NULL);
    if (!p) mlp_free(net);
    return p;
}

void policy_free(Policy* p) {
    if (!p) return;
    mlp_free(p->net);
    free(p);
}

Policy* policy_clone(const Policy* p) {
    Mlp* net = mlp_clone(p->net);
    if (!net) return NULL;
    Policy* c = malloc(sizeof *c);
    if (!c) {
        mlp_free(net);
        return NULL;
    }
    *c = *p;
    c->net = net;
    return c;
}

// ==== batch 1 (control loop) =====================================================

long policy_act1_scratch_floats(const Policy* p) {
    return mlp_infer1_scratch_floats(p->net) + 2L * p->act_dim;
}

int policy_act1(const Policy* p, const float* obs, const float* eps, float* act,
                float* scratch) {
    int S = p->obs_dim, A = p->act_dim;
    for (int i = 0; i < S; i++)
        if (!isfinite(obs[i])) return -EINVAL;
    float* out = scratch;   // (2A)
    mlp_infer1(p->net, 0, obs, out, NULL, scratch + 2 * A);
    for (int j = 0; j < A; j++) {
        float u = out[j];
        if (eps) {
            float ls = fminf(fmaxf(out[A + j], POLICY_LOG_STD_MIN), POLICY_LOG_STD_MAX);
            u += expf(ls) * eps[j];
        }
        float y = tanhf(u);
        float scale = 0.5f * (p->act_high[j] - p->act_low[j]);
        float center = 0.5f * (p->act_high[j] + p->act_low[j]);
        act[j] = center + scale * y;
        if (act[j] < p->act_low[j]) act[j] = p->act_low[j];   // rounding guard
        if (act[j] > p->act_high[j]) act[j] = p->act_high[j];
    }
    return 0;
}

// ==== batched (learner) ==========================================================

// mode: 0 plain, 1 forward-only, 2 fast (mlp_work_create / _fwd / _fast).
static PolicyWork* work_create(const Policy* p, int max_rows, int mode) {
    if (max_rows < 1) return NULL;
    PolicyWork* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t A = (size_t)p->act_dim, R = (size_t)max_rows;
    w->max_rows = max_rows;
    w->mw = mode == 1   ? mlp_work_create_fwd(p->net, max_rows)
            : mode == 2 ? mlp_work_create_fast(p->net, max_rows)
                        : mlp_work_create(p->net, max_rows);
    w->eps = malloc(R * A * sizeof(float));
    w->y = malloc(R * A * sizeof(float));
    w->std = malloc(R * A * sizeof(float));
    w->dout = malloc(R * 2 * A * sizeof(float));
    if (!w->mw || !w->eps || !w->y || !w->std || !w->dout) {
        policy_work_free(w);
        return NULL;
    }
    return w;
}

PolicyWork* policy_work_create(const Policy* p, int max_rows) {
    return work_create(p, max_rows, 0);
}

PolicyWork* policy_work_create_fwd(const Policy* p, int max_rows) {
    return work_create(p, max_rows, 1);
}

PolicyWork* policy_work_create_fast(const Policy* p, int max_rows) {
    return work_create(p, max_rows, 2);
}

void policy_work_free(PolicyWork* w) {
    if (!w) return;
    mlp_work_free(w->mw);
    free(w->eps);
    free(w->y);
    free(w->std);
    free(w->dout);
    free(w);
}

void policy_forward(const Policy* p, PolicyWork* w, float* a, float* logp, const float* obs,
                    const float* eps, int B) {
    int A = p->act_dim;
    assert(B >= 0 && B <= w->max_rows);
    mlp_forward(p->net, w->mw, obs, B);
    const float* out = mlp_work_out(w->mw);
    w->B = B;
    w->has_eps = eps != NULL;
    float log_scale_sum = 0.0f;
    float scale[POLICY_MAX_ACT], center[POLICY_MAX_ACT];
    for (int j = 0; j < A; j++) {
        scale[j] = 0.5f * (p->act_high[j] - p->act_low[j]);
        center[j] = 0.5f * (p->act_high[j] + p->act_low[j]);
        log_scale_sum += logf(scale[j]);
    }
    for (int b = 0; b < B; b++) {
        const float* o = out + (size_t)b * 2 * A;
        float* yb = w->y + (size_t)b * A;
        float* sb = w->std + (size_t)b * A;
        float* eb = w->eps + (size_t)b * A;
        float lp = -log_scale_sum - A * HALF_LOG_2PI;
        for (int j = 0; j < A; j++) {
            float ls = fminf(fmaxf(o[A + j], POLICY_LOG_STD_MIN), POLICY_LOG_STD_MAX);
            float sd = expf(ls);
            float e = eps ? eps[(size_t)b * A + j] : 0.0f;
            float y = tanhf(o[j] + sd * e);
            yb[j] = y;
            sb[j] = sd;
            eb[j] = e;
            lp += -0.5f * e * e - ls - logf(1.0f - y * y + 1e-6f);
            a[(size_t)b * A + j] = center[j] + scale[j] * y;
        }
        if (logp) logp[b] = lp;
    }
}

void policy_backward(const Policy* p, PolicyWork* w, float* grad, float* dobs, const float* da,
                     const float* dlogp) {
    int A = p->act_dim, B = w->B;
    if (!grad && !dobs) return;
    const float* out = mlp_work_out(w->mw);
    for (int b = 0; b < B; b++) {
        const float* o = out + (size_t)b * 2 * A;
        const float* yb = w->y + (size_t)b * A;
        const float* sb = w->std + (size_t)b * A;
        const float* eb = w->eps + (size_t)b * A;
        float* d = w->dout + (size_t)b * 2 * A;
        float dl = dlogp ? dlogp[b] : 0.0f;
        for (int j = 0; j < A; j++) {
            float y = yb[j];
            float dy = dl * 2.0f * y / (1.0f - y * y + 1e-6f);
            if (da) dy += da[(size_t)b * A + j] * 0.5f * (p->act_high[j] - p->act_low[j]);
            float du = dy * (1.0f - y * y);
            d[j] = du;
            float raw = o[A + j];
            int inside = raw >= POLICY_LOG_STD_MIN && raw <= POLICY_LOG_STD_MAX;
            d[A + j] = inside ? du * eb[j] * sb[j] - dl : 0.0f;
        }
    }
    mlp_backward(p->net, w->mw, grad, dobs, w->dout, NULL);
}

// ==== checkpoints =================================================================

int policy_to_ckpt(const Policy* p, Ckpt* c) {
    int rc = ckpt_add_net(c, "policy", p->net);
    if (rc) return rc;
    char key[CKPT_NAME_LEN];
    rc = ckpt_set_num(c, "obs_dim", p->obs_dim);
    if (!rc) rc = ckpt_set_num(c, "act_dim", p->act_dim);
    for (int j = 0; j < p->act_dim && !rc; j++) {
        snprintf(key, sizeof key, "act_low.%d", j);
        rc = ckpt_set_num(c, key, p->act_low[j]);
        snprintf(key, sizeof key, "act_high.%d", j);
        if (!rc) rc = ckpt_set_num(c, key, p->act_high[j]);
    }
    if (!rc) rc = ckpt_set_num(c, "version", (double)p->version);
    if (!rc) rc = ckpt_set_str(c, "plant", p->plant);
    return rc;
}

int policy_save(const Policy* p, const char* path, MaacErr* reterr) {
    Ckpt* c = malloc(sizeof *c);   // Ckpt is large; keep it off the stack
    if (!c) return maac_err(reterr, -ENOMEM, "policy_save: out of memory");
    ckpt_init(c, "policy");
    int rc = policy_to_ckpt(p, c);
    if (rc) {
        free(c);
        return maac_err(reterr, rc, "policy_save: building checkpoint failed (%d)", rc);
    }
    rc = ckpt_write(path, c, reterr);
    free(c);   // networks are borrowed
    return rc;
}

static int meta_int(const Ckpt* c, const char* key, int lo, int hi, int* ret, MaacErr* reterr) {
    double v;
    if (ckpt_get_num(c, key, &v) != 0)
        return maac_err(reterr, -EPROTO, "policy checkpoint: missing numeric '%s'", key);
    if (!(v >= lo && v <= hi) || v != floor(v))
        return maac_err(reterr, -EPROTO, "policy checkpoint: '%s' = %g out of range", key, v);
    *ret = (int)v;
    return 0;
}

Policy* policy_from_ckpt(const Ckpt* c, MaacErr* reterr) {
    int S = 0, A = 0, rc;
    if ((rc = meta_int(c, "obs_dim", 1, 1 << 20, &S, reterr)) ||
        (rc = meta_int(c, "act_dim", 1, POLICY_MAX_ACT, &A, reterr)))
        return NULL;
    const Mlp* net = ckpt_net(c, "policy");
    if (!net) {
        maac_err(reterr, -EPROTO, "policy checkpoint: no network named 'policy'");
        return NULL;
    }
    if (net->n_members != 1 || net->head != MLP_HEAD_LINEAR || net->n_in != S ||
        net->n_out != 2 * A) {
        maac_err(reterr, -EPROTO,
                 "policy checkpoint: network shape (members %d, in %d, out %d) does not match "
                 "obs_dim %d / act_dim %d",
                 net->n_members, net->n_in, net->n_out, S, A);
        return NULL;
    }
    for (long i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i])) {
            maac_err(reterr, -EPROTO, "policy checkpoint: non-finite parameter %ld", i);
            return NULL;
        }
    float lo[POLICY_MAX_ACT], hi[POLICY_MAX_ACT];
    char key[CKPT_NAME_LEN];
    for (int j = 0; j < A; j++) {
        double l, h;
        snprintf(key, sizeof key, "act_low.%d", j);
        if (ckpt_get_num(c, key, &l) != 0) {
            maac_err(reterr, -EPROTO, "policy checkpoint: missing '%s'", key);
            return NULL;
        }
        snprintf(key, sizeof key, "act_high.%d", j);
        if (ckpt_get_num(c, key, &h) != 0) {
            maac_err(reterr, -EPROTO, "policy checkpoint: missing '%s'", key);
            return NULL;
        }
        lo[j] = (float)l;
        hi[j] = (float)h;
    }
    if (!bounds_ok(A, lo, hi)) {
        maac_err(reterr, -EPROTO, "policy checkpoint: bad action bounds");
        return NULL;
    }
    Mlp* copy = mlp_clone(net);
    if (!copy) {
        maac_err(reterr, -ENOMEM, "policy checkpoint: out of memory");
        return NULL;
    }
    Policy* p = policy_wrap(copy, S, A, lo, hi);
    if (!p) {
        mlp_free(copy);
        maac_err(reterr, -ENOMEM, "policy checkpoint: out of memory");
        return NULL;
    }
    double v;
    if (ckpt_get_num(c, "version", &v) == 0) {
        // a double holds every integer up to 2^53 exactly; past that (or NaN, or
        // negative) the cast to uint64_t is undefined or lossy: refuse the file
        if (!(v >= 0 && v <= POLICY_MAX_VERSION) || v != floor(v)) {
            policy_free(p);
            maac_err(reterr, -EPROTO, "policy checkpoint: 'version' = %g is not an integer in "
                     "[0, 2^53]", v);
            return NULL;
        }
        p->version = (uint64_t)v;
    }
    const char* plant;
    if (ckpt_get_str(c, "plant", &plant) == 0) snprintf(p->plant, sizeof p->plant, "%s", plant);
    return p;
}

Policy* policy_load(const char* path, MaacErr* reterr) {
    return policy_load_max(path, 0, reterr);
}

Policy* policy_load_max(const char* path, long max_bytes, MaacErr* reterr) {
    Ckpt* c = malloc(sizeof *c);
    if (!c) {
        maac_err(reterr, -ENOMEM, "policy_load: out of memory");
        return NULL;
    }
    Policy* p = NULL;
    if (ckpt_read_max(path, max_bytes, c, reterr) == 0) {
        if (strcmp(c->kind, "policy") != 0 && strcmp(c->kind, "learner") != 0)
            maac_err(reterr, -EPROTO, "%s: checkpoint kind '%s' is not a policy", path, c->kind);
        else
            p = policy_from_ckpt(c, reterr);
        ckpt_done(c);
    }
    free(c);
    return p;
}
