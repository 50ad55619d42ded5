// SPDX-License-Identifier: Apache-2.0
// maac.c -- the MAAC actor objective (pathwise gradient through imagined paths),
// dynamics adapters (learned ensemble, known linear) and the entropy coefficient.
//
// Layout: N = B*K rows, row i = b*K + k. Step t = 0..H-1 keeps s_t (N, S), a_t, log pi_t,
// r_t, mask m_t and the policy and dynamics work of that step; the terminal stage tiles
// s_H N_a times (row i*N_a + n) for the terminal actions and the twin Q. Forward:
//   a_t = pi(s_t; eps_t);  s_{t+1} = f(s_t, a_t);  r_t = r(s_t, a_t, s_{t+1});
//   m_{t+1} = m_t (1 - done(s_{t+1}))
//   J_i = sum_t gamma^t m_t r_t + gamma^H m_H mean_n min_j Q_j(s_H, a_H^n) - alpha log pi(a_0|s_0)
//   (soft_path: -alpha gamma^t m_t log pi at every later action too; see maac.h)
// (H = 0: the first-step actions are the terminal actions, entropy averaged over them.)
// Backward (loss = -mean J, g = -1/N): Q's input gradient into (s_H, a_H^n), the terminal
// policy (dtheta, dobs) into s_H, then for t = H-1..0: the reward's (ds_t, da_t, ds_{t+1}),
// the dynamics' (ds_t, da_t) from ds_{t+1} (and dr for a learned reward), and the policy's
// (dtheta, ds_t) from da_t and dlog pi_t. Every buffer is allocated in maac_actor_create.
// Thread: learner. Allocation: create functions only.
#include "core/maac.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct MaacActor {
    MaacConfig cfg;
    MaacDynamics dyn;
    const PlantModel* rew;
    int S, A, H, K, Na;
    int max_batch, max_n;          // start states, rows (max_batch * K)
    int B, N;                      // of the last forward
    float alpha;                   // of the last forward
    double pol_macs, q_macs;       // per row, one forward
    // per step (H + 1 states; H of the rest)
    float** s;                     // [H+1] (max_n, S)
    float** a;                     // [H] (max_n, A)
    float** logp;                  // [H] (max_n)
    float** r;                     // [H] (max_n)
    float** mask;                  // [H+1] (max_n)
    float** eps_pi;                // [H] (max_n, A)
    float** eps_m;                 // [H] (max_n, n_eps)
    int** member;                  // [H] (max_n)
    PolicyWork** pw;               // [H]
    void** dw;                     // [H]
    // terminal stage (max_n * Na rows)
    float *sT, *aT, *logpT, *qT, *epsT;
    PolicyWork* pwT;
    QfWork* qw;
    // backward scratch
    float *ds_next, *ds_cur, *da, *dlogp, *dr, *dsT, *daT, *dqT, *dlogpT, *done, *rhat;
    // last-forward statistics
    double reward_mean, terminal_mean, logp_mean;
};

// ==== dynamics adapters ===========================================================

static void* ens_work_create_(void* ctx, int max_rows) {   // forward and backward
    return ens_step_work_create_fast((const Ensemble*)ctx, max_rows);
}
static void* ens_work_create_fwd_(void* ctx, int max_rows) {
    return ens_step_work_create_fwd((const Ensemble*)ctx, max_rows);
}
static void ens_work_free_(void* w) { ens_step_work_free((EnsStepWork*)w); }
static int ens_members_(void* ctx, int* ids) {
    const Ensemble* e = ctx;
    if (e->n_elites > 0) {
        memcpy(ids, e->elites, sizeof(int) * (size_t)e->n_elites);
        return e->n_elites;
    }
    for (int m = 0; m < e->net->n_members; m++) ids[m] = m;
    return e->net->n_members;
}
static void ens_draw_(void* ctx, Rng* rng, int* member, float* eps, int B) {
    const Ensemble* e = ctx;
    ens_sample_members(e, rng, member, B);
    rng_normal_fill(rng, eps, (long)B * e->n_out);
}
static void ens_fwd_(void* ctx, void* w, float* s2, float* r, const float* s, const float* a,
                     const int* member, const float* eps, int B) {
    ens_step_forward((const Ensemble*)ctx, (EnsStepWork*)w, s2, r, s, a, member, eps, B);
}
static void ens_bwd_(void* ctx, void* w, float* ds, float* da, const float* ds2,
                     const float* dr) {
    ens_step_backward((const Ensemble*)ctx, (EnsStepWork*)w, ds, da, ds2, dr);
}

static double mlp_macs_row(const Mlp* m) {   // one member, one row, forward
    double macs = 0;
    for (int l = 0; l < m->n_layers; l++) macs += (double)m->sizes[l] * m->sizes[l + 1];
    return macs;
}

void maac_dynamics_ensemble(MaacDynamics* d, const Ensemble* e) {
    memset(d, 0, sizeof *d);
    d->ctx = (void*)e;
    d->obs_dim = e->obs_dim;
    d->act_dim = e->act_dim;
    d->n_eps = e->n_out;
    d->has_reward = e->learn_reward;
    d->macs_row = mlp_macs_row(e->net);
    d->work_create = ens_work_create_;
    d->work_create_fwd = ens_work_create_fwd_;
    d->work_free = ens_work_free_;
    d->members = ens_members_;
    d->draw = ens_draw_;
    d->step_forward = ens_fwd_;
    d->step_backward = ens_bwd_;
}

typedef struct {
    int B;
} LinWork;

static void* lin_work_create_(void* ctx, int max_rows) {
    (void)ctx;
    (void)max_rows;
    return calloc(1, sizeof(LinWork));
}
static void lin_work_free_(void* w) { free(w); }
static int lin_members_(void* ctx, int* ids) {
    (void)ctx;
    ids[0] = 0;
    return 1;
}
static void lin_draw_(void* ctx, Rng* rng, int* member, float* eps, int B) {
    (void)ctx;
    (void)rng;
    (void)eps;
    for (int b = 0; b < B; b++) member[b] = 0;
}
static void lin_fwd_(void* ctx, void* w, float* s2, float* r, const float* s, const float* a,
                     const int* member, const float* eps, int B) {
    const MaacLinearModel* lm = ctx;
    (void)r;
    (void)member;
    (void)eps;
    int S = lm->S, A = lm->A;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++) {
            float v = 0;
            for (int j = 0; j < S; j++) v += lm->Amat[i * S + j] * s[b * S + j];
            for (int j = 0; j < A; j++) v += lm->Bmat[i * A + j] * a[b * A + j];
            s2[b * S + i] = v;
        }
    ((LinWork*)w)->B = B;
}
static void lin_bwd_(void* ctx, void* w, float* ds, float* da, const float* ds2,
                     const float* dr) {
    const MaacLinearModel* lm = ctx;
    (void)dr;
    int S = lm->S, A = lm->A, B = ((LinWork*)w)->B;
    if (!ds2) return;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++) {
            float g = ds2[b * S + i];
            if (ds)
                for (int j = 0; j < S; j++) ds[b * S + j] += lm->Amat[i * S + j] * g;
            if (da)
                for (int j = 0; j < A; j++) da[b * A + j] += lm->Bmat[i * A + j] * g;
        }
}

void maac_dynamics_linear(MaacDynamics* d, const MaacLinearModel* lm) {
    memset(d, 0, sizeof *d);
    d->ctx = (void*)lm;
    d->obs_dim = lm->S;
    d->act_dim = lm->A;
    d->n_eps = 0;
    d->has_reward = 0;
    d->macs_row = (double)lm->S * (lm->S + lm->A);
    d->work_create = lin_work_create_;
    d->work_free = lin_work_free_;
    d->members = lin_members_;
    d->draw = lin_draw_;
    d->step_forward = lin_fwd_;
    d->step_backward = lin_bwd_;
}

// ==== actor =======================================================================

static float* fbuf(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

MaacActor* maac_actor_create(const MaacConfig* cfg, const MaacDynamics* dyn,
                             const PlantModel* rew, const Policy* pi, const QFunction* q,
                             int max_batch) {
    if (!cfg || !dyn || !pi || !q || max_batch < 1 || cfg->horizon < 0 || cfg->n_paths < 1 ||
        cfg->terminal_actions < 1)
        return NULL;
    int S = pi->obs_dim, A = pi->act_dim;
    if (q->obs_dim != S || q->act_dim != A || dyn->obs_dim != S || dyn->act_dim != A)
        return NULL;
    if (cfg->known_reward && (!rew || !rew->reward || !rew->reward_backward)) return NULL;
    if (!cfg->known_reward && cfg->horizon > 0 && !dyn->has_reward) return NULL;
    if (rew && (rew->obs_dim != S || rew->act_dim != A)) return NULL;
    if ((long)max_batch * cfg->n_paths * cfg->terminal_actions > (1L << 30)) return NULL;
    MaacActor* ma = calloc(1, sizeof *ma);
    if (!ma) return NULL;
    ma->cfg = *cfg;
    ma->dyn = *dyn;
    ma->rew = rew;
    ma->S = S;
    ma->A = A;
    ma->H = cfg->horizon;
    ma->K = cfg->n_paths;
    ma->Na = cfg->terminal_actions;
    ma->max_batch = max_batch;
    int H = ma->H, N = max_batch * ma->K, NT = N * ma->Na;
    ma->max_n = N;
    ma->pol_macs = mlp_macs_row(pi->net);
    ma->q_macs = QF_N * mlp_macs_row(q->net);
    int ok = 1;
    ma->s = calloc((size_t)H + 1, sizeof(float*));
    ma->mask = calloc((size_t)H + 1, sizeof(float*));
    ma->a = calloc((size_t)H + 1, sizeof(float*));
    ma->logp = calloc((size_t)H + 1, sizeof(float*));
    ma->r = calloc((size_t)H + 1, sizeof(float*));
    ma->eps_pi = calloc((size_t)H + 1, sizeof(float*));
    ma->eps_m = calloc((size_t)H + 1, sizeof(float*));
    ma->member = calloc((size_t)H + 1, sizeof(int*));
    ma->pw = calloc((size_t)H + 1, sizeof(PolicyWork*));
    ma->dw = calloc((size_t)H + 1, sizeof(void*));
    if (!ma->s || !ma->mask || !ma->a || !ma->logp || !ma->r || !ma->eps_pi || !ma->eps_m ||
        !ma->member || !ma->pw || !ma->dw) {
        maac_actor_free(ma);
        return NULL;
    }
    for (int t = 0; t <= H; t++) {
        ok &= (ma->s[t] = fbuf((long)N * S)) != NULL;
        ok &= (ma->mask[t] = fbuf(N)) != NULL;
        if (t == H) break;
        ok &= (ma->a[t] = fbuf((long)N * A)) != NULL;
        ok &= (ma->logp[t] = fbuf(N)) != NULL;
        ok &= (ma->r[t] = fbuf(N)) != NULL;
        ok &= (ma->eps_pi[t] = fbuf((long)N * A)) != NULL;
        ok &= (ma->eps_m[t] = fbuf((long)N * dyn->n_eps)) != NULL;
        ok &= (ma->member[t] = calloc((size_t)N, sizeof(int))) != NULL;
        ok &= (ma->pw[t] = policy_work_create_fast(pi, N)) != NULL;
        ok &= (ma->dw[t] = dyn->work_create(dyn->ctx, N)) != NULL;
    }
    ok &= (ma->sT = fbuf((long)NT * S)) != NULL;
    ok &= (ma->aT = fbuf((long)NT * A)) != NULL;
    ok &= (ma->logpT = fbuf(NT)) != NULL;
    ok &= (ma->qT = fbuf((long)QF_N * NT)) != NULL;
    ok &= (ma->epsT = fbuf((long)NT * A)) != NULL;
    ok &= (ma->pwT = policy_work_create_fast(pi, NT)) != NULL;
    ok &= (ma->qw = qf_work_create_fast(q, NT)) != NULL;
    ok &= (ma->ds_next = fbuf((long)N * S)) != NULL;
    ok &= (ma->ds_cur = fbuf((long)N * S)) != NULL;
    ok &= (ma->da = fbuf((long)N * A)) != NULL;
    ok &= (ma->dlogp = fbuf(N)) != NULL;
    ok &= (ma->dr = fbuf(N)) != NULL;
    ok &= (ma->done = fbuf(N)) != NULL;
    ok &= (ma->rhat = fbuf(N)) != NULL;
    ok &= (ma->dsT = fbuf((long)NT * S)) != NULL;
    ok &= (ma->daT = fbuf((long)NT * A)) != NULL;
    ok &= (ma->dqT = fbuf((long)QF_N * NT)) != NULL;
    ok &= (ma->dlogpT = fbuf(NT)) != NULL;
    if (!ok) {
        maac_actor_free(ma);
        return NULL;
    }
    return ma;
}

void maac_actor_free(MaacActor* ma) {
    if (!ma) return;
    for (int t = 0; t <= ma->H; t++) {
        if (ma->s) free(ma->s[t]);
        if (ma->mask) free(ma->mask[t]);
        if (t == ma->H) break;
        if (ma->a) free(ma->a[t]);
        if (ma->logp) free(ma->logp[t]);
        if (ma->r) free(ma->r[t]);
        if (ma->eps_pi) free(ma->eps_pi[t]);
        if (ma->eps_m) free(ma->eps_m[t]);
        if (ma->member) free(ma->member[t]);
        if (ma->pw) policy_work_free(ma->pw[t]);
        if (ma->dw && ma->dw[t]) ma->dyn.work_free(ma->dw[t]);
    }
    free(ma->s), free(ma->mask), free(ma->a), free(ma->logp), free(ma->r);
    free(ma->eps_pi), free(ma->eps_m), free(ma->member), free(ma->pw), free(ma->dw);
    free(ma->sT), free(ma->aT), free(ma->logpT), free(ma->qT), free(ma->epsT);
    policy_work_free(ma->pwT);
    qf_work_free(ma->qw);
    free(ma->ds_next), free(ma->ds_cur), free(ma->da), free(ma->dlogp), free(ma->dr);
    free(ma->done), free(ma->rhat);
    free(ma->dsT), free(ma->daT), free(ma->dqT), free(ma->dlogpT);
    free(ma);
}

void maac_actor_draw(MaacActor* ma, Rng* rng, int B) {
    if (B > ma->max_batch) B = ma->max_batch;
    int N = B * ma->K;
    for (int t = 0; t < ma->H; t++) {
        rng_normal_fill(rng, ma->eps_pi[t], (long)N * ma->A);
        ma->dyn.draw(ma->dyn.ctx, rng, ma->member[t], ma->eps_m[t], N);
    }
    rng_normal_fill(rng, ma->epsT, (long)N * ma->Na * ma->A);
}

// soft_path: sum over rows of the discounted, masked log pi of every imagined action
// after the first (steps 1..H-1 and the terminal actions, averaged over N_a).
static double soft_path_logp(const MaacActor* ma, int N) {
    const int H = ma->H, Na = ma->Na;
    double sum = 0.0, disc = 1.0;
    for (int t = 1; t <= H; t++) {
        disc *= ma->cfg.gamma;
        for (int i = 0; i < N; i++) {
            double lp = 0.0;
            if (t < H)
                lp = ma->logp[t][i];
            else
                for (int n = 0; n < Na; n++) lp += ma->logpT[i * Na + n] / Na;
            sum += disc * ma->mask[t][i] * lp;
        }
    }
    return sum;
}

float maac_actor_forward(MaacActor* ma, const Policy* pi, const QFunction* q, const float* s0,
                         int B, float alpha) {
    const int S = ma->S, K = ma->K, H = ma->H, Na = ma->Na;
    if (B > ma->max_batch) B = ma->max_batch;
    const int N = B * K, NT = N * Na;
    const float gamma = ma->cfg.gamma;
    ma->B = B;
    ma->N = N;
    ma->alpha = alpha;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
            memcpy(ma->s[0] + ((size_t)b * K + k) * S, s0 + (size_t)b * S, sizeof(float) * S);
    for (int i = 0; i < N; i++) ma->mask[0][i] = 1.0f;
    double rsum = 0.0;
    float disc = 1.0f;
    for (int t = 0; t < H; t++, disc *= gamma) {
        policy_forward(pi, ma->pw[t], ma->a[t], ma->logp[t], ma->s[t], ma->eps_pi[t], N);
        int learned = !ma->cfg.known_reward;
        ma->dyn.step_forward(ma->dyn.ctx, ma->dw[t], ma->s[t + 1], learned ? ma->r[t] : NULL,
                             ma->s[t], ma->a[t], ma->member[t],
                             ma->dyn.n_eps ? ma->eps_m[t] : NULL, N);
        if (!learned) ma->rew->reward(ma->r[t], ma->s[t], ma->a[t], ma->s[t + 1], N);
        if (plant_has_termination(ma->rew)) {
            plant_terminated(ma->rew, ma->done, ma->s[t + 1], N);
            for (int i = 0; i < N; i++)
                ma->mask[t + 1][i] = ma->mask[t][i] * (ma->done[i] > 0.5f ? 0.0f : 1.0f);
        } else {
            memcpy(ma->mask[t + 1], ma->mask[t], sizeof(float) * N);
        }
        for (int i = 0; i < N; i++) rsum += (double)disc * ma->mask[t][i] * ma->r[t][i];
    }
    // terminal stage: N_a actions at s_H, min of the twin Qs, averaged.
    const float* sH = ma->s[H];
    for (int i = 0; i < N; i++)
        for (int n = 0; n < Na; n++)
            memcpy(ma->sT + ((size_t)i * Na + n) * S, sH + (size_t)i * S, sizeof(float) * S);
    policy_forward(pi, ma->pwT, ma->aT, ma->logpT, ma->sT, ma->epsT, NT);
    qf_forward(q, ma->qw, ma->qT, ma->sT, ma->aT, NT);
    double tsum = 0.0, lsum = 0.0;
    for (int i = 0; i < N; i++) {
        double v = 0.0;
        for (int n = 0; n < Na; n++) {
            int r = i * Na + n;
            v += fminf(ma->qT[r], ma->qT[NT + r]);
        }
        tsum += (double)disc * ma->mask[H][i] * v / Na;
    }
    if (H == 0)
        for (int r = 0; r < NT; r++) lsum += ma->logpT[r] / Na;
    else
        for (int i = 0; i < N; i++) lsum += ma->logp[0][i];
    ma->reward_mean = rsum / N;
    ma->terminal_mean = tsum / N;
    ma->logp_mean = lsum / N;
    double later = H > 0 && ma->cfg.soft_path ? soft_path_logp(ma, N) : 0.0;
    return (float)(-(rsum + tsum) / N + alpha * (lsum + later) / N);
}

void maac_actor_backward(MaacActor* ma, const Policy* pi, const QFunction* q, float* grad,
                         float* ret_ds0) {
    const int S = ma->S, A = ma->A, K = ma->K, H = ma->H, Na = ma->Na, N = ma->N, B = ma->B;
    const int NT = N * Na;
    const float gamma = ma->cfg.gamma, g = -1.0f / N;
    const int soft = ma->cfg.soft_path;
    float discH = 1.0f;
    for (int t = 0; t < H; t++) discH *= gamma;
    // terminal: d/dq of g * gamma^H m_H mean_n min_j Q_j
    for (int i = 0; i < N; i++)
        for (int n = 0; n < Na; n++) {
            int r = i * Na + n;
            float c = g * discH * ma->mask[H][i] / Na;
            int j1 = ma->qT[NT + r] < ma->qT[r];
            ma->dqT[r] = j1 ? 0.0f : c;
            ma->dqT[NT + r] = j1 ? c : 0.0f;
            ma->dlogpT[r] = H == 0 ? ma->alpha / (float)(N * Na)
                            : soft ? ma->alpha * discH * ma->mask[H][i] / (float)(N * Na)
                                   : 0.0f;
        }
    memset(ma->dsT, 0, sizeof(float) * (size_t)NT * S);
    memset(ma->daT, 0, sizeof(float) * (size_t)NT * A);
    qf_backward(q, ma->qw, NULL, ma->dsT, ma->daT, ma->dqT);
    policy_backward(pi, ma->pwT, grad, ma->dsT, ma->daT, H == 0 || soft ? ma->dlogpT : NULL);
    memset(ma->ds_next, 0, sizeof(float) * (size_t)N * S);
    for (int i = 0; i < N; i++)
        for (int n = 0; n < Na; n++) {
            const float* d = ma->dsT + ((size_t)i * Na + n) * S;
            float* o = ma->ds_next + (size_t)i * S;
            for (int k = 0; k < S; k++) o[k] += d[k];
        }
    float disc = discH;
    for (int t = H - 1; t >= 0; t--) {
        disc /= gamma;
        int need_ds = t > 0 || ret_ds0;
        memset(ma->ds_cur, 0, sizeof(float) * (size_t)N * S);
        memset(ma->da, 0, sizeof(float) * (size_t)N * A);
        for (int i = 0; i < N; i++) ma->dr[i] = g * disc * ma->mask[t][i];
        if (ma->cfg.known_reward)
            ma->rew->reward_backward(need_ds ? ma->ds_cur : NULL, ma->da, ma->ds_next, ma->dr,
                                     ma->s[t], ma->a[t], ma->s[t + 1], N);
        ma->dyn.step_backward(ma->dyn.ctx, ma->dw[t], need_ds ? ma->ds_cur : NULL, ma->da,
                              ma->ds_next, ma->cfg.known_reward ? NULL : ma->dr);
        for (int i = 0; i < N; i++)
            ma->dlogp[i] = t == 0 ? ma->alpha / (float)N
                           : soft ? ma->alpha * disc * ma->mask[t][i] / (float)N : 0.0f;
        policy_backward(pi, ma->pw[t], grad, need_ds ? ma->ds_cur : NULL, ma->da,
                        t == 0 || soft ? ma->dlogp : NULL);
        float* tmp = ma->ds_next;
        ma->ds_next = ma->ds_cur;
        ma->ds_cur = tmp;
    }
    if (ret_ds0)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < S; j++)
                    ret_ds0[(size_t)b * S + j] += ma->ds_next[((size_t)b * K + k) * S + j];
}

float maac_actor_mean_logp(const MaacActor* ma) { return (float)ma->logp_mean; }

void maac_actor_last_stats(const MaacActor* ma, float* ret_reward, float* ret_terminal) {
    if (ret_reward) *ret_reward = (float)ma->reward_mean;
    if (ret_terminal) *ret_terminal = (float)ma->terminal_mean;
}

float maac_actor_alive_frac(const MaacActor* ma) {
    double alive = 0;
    for (int i = 0; i < ma->N; i++) alive += ma->mask[ma->H][i];
    return ma->N ? (float)(alive / ma->N) : 1.0f;
}

float* maac_actor_eps_policy(MaacActor* ma, int t) { return t < ma->H ? ma->eps_pi[t] : NULL; }
int* maac_actor_members(MaacActor* ma, int t) { return t < ma->H ? ma->member[t] : NULL; }
float* maac_actor_eps_model(MaacActor* ma, int t) { return t < ma->H ? ma->eps_m[t] : NULL; }
float* maac_actor_eps_terminal(MaacActor* ma) { return ma->epsT; }

double maac_actor_flops(const MaacActor* ma, int B) {
    double N = (double)B * ma->K, NT = N * ma->Na;
    // policy: forward + backward (dinp and dweight) = 3x; dynamics and Q: forward + dinp = 2x.
    double macs = ma->H * N * (3.0 * ma->pol_macs + 2.0 * ma->dyn.macs_row) +
                  NT * (3.0 * ma->pol_macs + 2.0 * ma->q_macs);
    return 2.0 * macs;
}

// ==== entropy coefficient =========================================================

int maac_alpha_init(MaacAlpha* al, int auto_tune, int none, float alpha0, float target_entropy,
                    float lr) {
    memset(al, 0, sizeof *al);
    al->none = none ? 1 : 0;
    al->auto_tune = auto_tune && !none;
    al->target_entropy = target_entropy;
    al->log_alpha = alpha0 > 0 ? logf(alpha0) : 0.0f;
    if (al->auto_tune) {
        al->opt = adam_create(1, lr);
        if (!al->opt) return -ENOMEM;
    }
    return 0;
}

void maac_alpha_free(MaacAlpha* al) {
    adam_free(al->opt);
    al->opt = NULL;
}

float maac_alpha_value(const MaacAlpha* al) { return al->none ? 0.0f : expf(al->log_alpha); }

float maac_alpha_update(MaacAlpha* al, float mean_logp) {
    // loss(log_alpha) = -log_alpha (E[log pi] + target_entropy); d/dlog_alpha = -(...)
    float c = mean_logp + al->target_entropy;
    float loss = -al->log_alpha * c;
    if (!al->auto_tune) return loss;
    float grad = -c;
    adam_step(al->opt, &al->log_alpha, &grad);
    return loss;
}
