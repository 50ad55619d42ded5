// SPDX-License-Identifier: Apache-2.0
// cem.c -- CEM-MPC: refine the policy's action by the cross-entropy method over
// action sequences scored with the dynamics ensemble, the reward and the twin Qs.
//
// Objective of a sequence a_0..a_{h-1} from s_0 = obs (DESIGN.md, MAAC §5):
//   J = sum_{t<h} gamma^t alive_t r(s_t, a_t, s_{t+1}) + gamma^h alive_h min_j Q_j(s_h, pi(s_h))
// with s_{t+1} the mean prediction of a model member, pi(s_h) the policy's
// deterministic action, and alive_t = 0 once the plant's termination fires. J is
// averaged over the members scoring the iteration (cem.h: n_models elites per
// iteration, rotating). The terminal exponent is h (the paper), not the released
// code's h+1.
// Algorithm:
//   1. mean_t = pi(s_t) along the ensemble-mean rollout from obs (t < h);
//      std_t = init_std * (act_high - act_low) / 2.
//   2. Each iteration: candidate 0 is the current mean, the others are
//      clip(mean + std * eps, low, high); every candidate goes through one grouped
//      model forward per step (population * n_models rows), then one policy and one
//      Q forward on the final states. The n_elites best refit
//        mean <- momentum mean + (1 - momentum) elite_mean
//        var  <- momentum var  + (1 - momentum) elite_var
//      with var capped at (min(mean - low, high - mean) / 2)^2 (PETS), so the
//      distribution stays inside the action bounds.
//   3. act = clip(mean_0, low, high).
// Thread: control thread (own CemWork) or learner. Allocation: cem_work_create only;
// cem_plan allocates nothing (its callees are preallocated works).
#include "core/cem.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct CemWork {
    int P, K, H, S, A;            // population, elites, horizon, obs, act
    int R;                        // rows: P * (members per iteration, at most)
    int M;                        // ensemble members
    EnsStepWork* ew;              // model step work (R rows)
    PolicyWork* pw;               // policy work (R rows)
    QfWork* qw;                   // Q work (R rows)
    float* mean;                  // (H, A) sampling mean
    float* var;                   // (H, A) sampling variance
    float* cand;                  // (P, H, A) candidate sequences
    float* eps;                   // (P, H, A) standard normal draws
    float* s;                     // (R, S) states
    float* s2;                    // (R, S) next states
    float* a;                     // (R, A) actions of one step / terminal actions
    float* r;                     // (R) rewards
    float* done;                  // (R) termination of s2
    float* alive;                 // (R) 1 until terminated
    float* J;                     // (R) objective per row
    float* qout;                  // (2, R) twin Q values
    int* member;                  // (R) member of each row
    float* score;                 // (P) objective averaged over members
    int* top;                     // (K) elite candidates, best first
    float* acc1;                  // (H, A) elite sum
    float* acc2;                  // (H, A) elite sum of squares
};

void cem_config_default(CemConfig* cfg) {
    cfg->population = 400;
    cfg->n_elites = 40;
    cfg->iterations = 5;
    cfg->horizon = 5;
    cfg->gamma = 0.99f;
    cfg->momentum = 0.1f;
    cfg->init_std = 0.5f;
    cfg->n_models = 1;
}

// Members scoring each iteration for this config and ensemble.
static int models_per_iter(const CemConfig* cfg, const Ensemble* ens) {
    int ne = ens->n_elites > 0 ? ens->n_elites : ens->net->n_members;
    return cfg->n_models <= 0 || cfg->n_models > ne ? ne : cfg->n_models;
}

CemWork* cem_work_create(const CemConfig* cfg, const Ensemble* ens, const Policy* pi,
                         const QFunction* q) {
    if (cfg->population < 2 || cfg->n_elites < 1 || cfg->n_elites > cfg->population ||
        cfg->iterations < 1 || cfg->horizon < 1 || ens->obs_dim != pi->obs_dim ||
        ens->act_dim != pi->act_dim || q->obs_dim != pi->obs_dim || q->act_dim != pi->act_dim)
        return NULL;
    CemWork* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->P = cfg->population;
    w->K = cfg->n_elites;
    w->H = cfg->horizon;
    w->S = ens->obs_dim;
    w->A = ens->act_dim;
    w->M = ens->net->n_members;
    // Room for every member per iteration when n_models asks for all (elites may
    // change after creation), else for n_models of them.
    int k = cfg->n_models <= 0 || cfg->n_models > w->M ? w->M : cfg->n_models;
    w->R = w->P * k;
    if (w->R < w->M) w->R = w->M;   // the initial mean rollout uses one row per elite
    size_t R = (size_t)w->R, HA = (size_t)w->H * w->A, PHA = (size_t)w->P * HA;
    w->ew = ens_step_work_create(ens, w->R);
    w->pw = policy_work_create(pi, w->R);
    w->qw = qf_work_create(q, w->R);
    w->mean = malloc(sizeof(float) * HA);
    w->var = malloc(sizeof(float) * HA);
    w->acc1 = malloc(sizeof(float) * HA);
    w->acc2 = malloc(sizeof(float) * HA);
    w->cand = malloc(sizeof(float) * PHA);
    w->eps = malloc(sizeof(float) * PHA);
    w->s = malloc(sizeof(float) * R * (size_t)w->S);
    w->s2 = malloc(sizeof(float) * R * (size_t)w->S);
    w->a = malloc(sizeof(float) * R * (size_t)w->A);
    w->r = malloc(sizeof(float) * R);
    w->done = malloc(sizeof(float) * R);
    w->alive = malloc(sizeof(float) * R);
    w->J = malloc(sizeof(float) * R);
    w->qout = malloc(sizeof(float) * 2 * R);
    w->member = malloc(sizeof(int) * R);
    w->score = malloc(sizeof(float) * (size_t)w->P);
    w->top = malloc(sizeof(int) * (size_t)w->K);
    if (!w->ew || !w->pw || !w->qw || !w->mean || !w->var || !w->acc1 || !w->acc2 ||
        !w->cand || !w->eps || !w->s || !w->s2 || !w->a || !w->r || !w->done || !w->alive ||
        !w->J || !w->qout || !w->member || !w->score || !w->top) {
        cem_work_free(w);
        return NULL;
    }
    return w;
}

void cem_work_free(CemWork* w) {
    if (!w) return;
    ens_step_work_free(w->ew);
    policy_work_free(w->pw);
    qf_work_free(w->qw);
    free(w->mean);
    free(w->var);
    free(w->acc1);
    free(w->acc2);
    free(w->cand);
    free(w->eps);
    free(w->s);
    free(w->s2);
    free(w->a);
    free(w->r);
    free(w->done);
    free(w->alive);
    free(w->J);
    free(w->qout);
    free(w->member);
    free(w->score);
    free(w->top);
    free(w);
}

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

// mean_t = pi(s_t) along the ensemble-mean rollout: every elite predicts s_{t+1}
// from the shared s_t, and s_{t+1} is their average.
static void init_mean(CemWork* w, const Ensemble* ens, const Policy* pi, const float* obs) {
    const int S = w->S, A = w->A, H = w->H;
    int ne = ens->n_elites > 0 ? ens->n_elites : ens->net->n_members;
    float* sm = w->s2;   // (S) mean state, in the first row of s2
    memcpy(sm, obs, sizeof(float) * (size_t)S);
    for (int t = 0; t < H; t++) {
        policy_forward(pi, w->pw, w->mean + (size_t)t * A, NULL, sm, NULL, 1);
        if (t == H - 1) break;
        for (int g = 0; g < ne; g++) {
            memcpy(w->s + (size_t)g * S, sm, sizeof(float) * (size_t)S);
            memcpy(w->a + (size_t)g * A, w->mean + (size_t)t * A, sizeof(float) * (size_t)A);
            w->member[g] = ens->n_elites > 0 ? ens->elites[g] : g;
        }
        ens_step_forward(ens, w->ew, w->s2, NULL, w->s, w->a, w->member, NULL, ne);
        for (int j = 0; j < S; j++) {   // row 0 of s2 becomes the average
            float acc = 0.0f;
            for (int g = 0; g < ne; g++) acc += w->s2[(size_t)g * S + j];
            sm[j] = acc / (float)ne;
        }
    }
}

// Score every candidate: w->score (P). Rows are member-major: row = g * P + i.
static void score_candidates(const CemConfig* cfg, CemWork* w, const Ensemble* ens,
                             const Policy* pi, const QFunction* q, const SimRewardFn* rf,
                             const float* obs, int iter) {
    const int S = w->S, A = w->A, H = w->H, P = w->P;
    const int k = models_per_iter(cfg, ens);
    const int ne = ens->n_elites > 0 ? ens->n_elites : ens->net->n_members;
    const int R = P * k;
    const int known = rf && rf->reward;
    for (int g = 0; g < k; g++) {
        int slot = (iter * k + g) % ne;
        int m = ens->n_elites > 0 ? ens->elites[slot] : slot;
        for (int i = 0; i < P; i++) w->member[g * P + i] = m;
    }
    for (int row = 0; row < R; row++) {
        memcpy(w->s + (size_t)row * S, obs, sizeof(float) * (size_t)S);
        w->J[row] = 0.0f;
        w->alive[row] = 1.0f;
    }
    float disc = 1.0f;
    for (int t = 0; t < H; t++) {
        for (int row = 0; row < R; row++)
            memcpy(w->a + (size_t)row * A, w->cand + ((size_t)(row % P) * H + t) * A,
                   sizeof(float) * (size_t)A);
        ens_step_forward(ens, w->ew, w->s2, known ? NULL : w->r, w->s, w->a, w->member, NULL, R);
        if (known) rf->reward(w->r, w->s, w->a, w->s2, R);
        if (rf && rf->terminated) rf->terminated(w->done, w->s2, R);
        for (int row = 0; row < R; row++) {
            w->J[row] += disc * w->alive[row] * w->r[row];
            if (rf && rf->terminated && w->done[row] != 0.0f) w->alive[row] = 0.0f;
        }
        float* tmp = w->s;   // s <- s2
        w->s = w->s2;
        w->s2 = tmp;
        disc *= cfg->gamma;
    }
    // Terminal value gamma^h min_j Q_j(s_h, pi(s_h)), deterministic policy action.
    policy_forward(pi, w->pw, w->a, NULL, w->s, NULL, R);
    qf_forward(q, w->qw, w->qout, w->s, w->a, R);
    for (int row = 0; row < R; row++) {
        float qmin = fminf(w->qout[row], w->qout[R + row]);
        w->J[row] += disc * w->alive[row] * qmin;
    }
    for (int i = 0; i < P; i++) {
        float acc = 0.0f;
        for (int g = 0; g < k; g++) acc += w->J[g * P + i];
        acc /= (float)k;
        w->score[i] = isfinite(acc) ? acc : -FLT_MAX;   // a diverged rollout ranks last
    }
}

// Indices of the K best scores, best first (insertion into a sorted list; ties keep
// the lower index, so the result is deterministic).
static void select_top(CemWork* w, int K) {
    int n = 0;
    for (int i = 0; i < w->P; i++) {
        float sc = w->score[i];
        if (n == K && sc <= w->score[w->top[K - 1]]) continue;
        int pos = n < K ? n++ : K - 1;
        while (pos > 0 && w->score[w->top[pos - 1]] < sc) {
            w->top[pos] = w->top[pos - 1];
            pos--;
        }
        w->top[pos] = i;
    }
}

int cem_plan(const CemConfig* cfg, CemWork* w, const Ensemble* ens, const Policy* pi,
             const QFunction* q, const SimRewardFn* rf, const float* obs, Rng* rng,
             float* act) {
    const int S = w->S, A = w->A, H = w->H, P = w->P;
    for (int j = 0; j < S; j++)
        if (!isfinite(obs[j])) return -EINVAL;
    if (cfg->population != P || cfg->horizon != H || cfg->n_elites > w->K ||
        cfg->n_elites < 1 || ens->obs_dim != S || ens->act_dim != A ||
        ens->net->n_members != w->M || (long)P * models_per_iter(cfg, ens) > w->R)
        return -EINVAL;
    if (!(rf && rf->reward) && !ens->learn_reward) return -EINVAL;   // no reward source
    if (rf && rf->reward && rf->obs_dim != S) return -EINVAL;
    const int K = cfg->n_elites;
    const float* lo = pi->act_low;
    const float* hi = pi->act_high;

    init_mean(w, ens, pi, obs);
    for (int t = 0; t < H; t++)
        for (int j = 0; j < A; j++) {
            float sd = cfg->init_std * 0.5f * (hi[j] - lo[j]);
            w->var[t * A + j] = sd * sd;
        }

    for (int it = 0; it < cfg->iterations; it++) {
        // Candidates: 0 = the mean itself, the rest clip(mean + std * eps).
        rng_normal_fill(rng, w->eps, (long)P * H * A);
        for (int i = 0; i < P; i++)
            for (int t = 0; t < H; t++)
                for (int j = 0; j < A; j++) {
                    size_t c = ((size_t)i * H + t) * A + j;
                    float m = w->mean[t * A + j];
                    float x = i == 0 ? m : m + sqrtf(w->var[t * A + j]) * w->eps[c];
                    w->cand[c] = clampf(x, lo[j], hi[j]);
                }
        score_candidates(cfg, w, ens, pi, q, rf, obs, it);
        select_top(w, K);
        // Refit with momentum; cap the variance inside the bounds.
        memset(w->acc1, 0, sizeof(float) * (size_t)H * A);
        memset(w->acc2, 0, sizeof(float) * (size_t)H * A);
        for (int e = 0; e < K; e++) {
            const float* c = w->cand + (size_t)w->top[e] * H * A;
            for (int k = 0; k < H * A; k++) {
                w->acc1[k] += c[k];
                w->acc2[k] += c[k] * c[k];
            }
        }
        for (int t = 0; t < H; t++)
            for (int j = 0; j < A; j++) {
                int k = t * A + j;
                float em = w->acc1[k] / (float)K;
                float ev = fmaxf(w->acc2[k] / (float)K - em * em, 0.0f);
                float m = cfg->momentum * w->mean[k] + (1.0f - cfg->momentum) * em;
                float v = cfg->momentum * w->var[k] + (1.0f - cfg->momentum) * ev;
                float half = 0.5f * fminf(m - lo[j], hi[j] - m);
                half = fmaxf(half, 0.0f);
                w->mean[k] = m;
                w->var[k] = fminf(v, half * half);
            }
    }
    for (int j = 0; j < A; j++) act[j] = clampf(w->mean[j], lo[j], hi[j]);
    return 0;
}
