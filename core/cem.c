// SPDX-License-Identifier: Apache-2.0
// cem.c -- CEM-MPC: refine the policy's action by the cross-entropy method over
// action sequences scored with the dynamics ensemble, the reward and the twin Qs.
//
// Objective of a sequence a_0..a_{h-1} from s_0 = obs (docs/architecture.md, docs/cem.md):
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
//      Q forward on the final states (cem_score is this step alone). The n_elites best refit
//        mean <- momentum mean + (1 - momentum) elite_mean
//        var  <- momentum var  + (1 - momentum) elite_var
//      with var capped at (min(mean - low, high - mean) / 2)^2 (PETS), so the
//      distribution stays inside the action bounds.
//   3. act = clip(mean_0, low, high).
// Speed (docs/cem.md): the scoring never backpropagates, so it runs the networks
// directly with mlp's mean-only forwards on mlp_work_create_infer works (no
// log-variance head; a register-blocked AVX-512 kernel where the CPU has it) rather
// than through ens_step_forward / policy_forward / qf_forward, whose mean and
// deterministic-action arithmetic it repeats (tests/test_cem.c checks cem_score
// against those public paths). Rows are member-major with this iteration's members
// in ascending order, which is the grouped forward's order, so no permutation;
// candidates are stored time-major (H, P, A) so step t's actions are one contiguous
// (P, A) block for the reward function.
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
    MlpWork* mw;                  // model network work, mean-only forwards (R rows)
    MlpWork* pmw;                 // policy network work (R rows)
    MlpWork* qmw;                 // twin-Q network work (R rows)
    float* mean;                  // (H, A) sampling mean
    float* var;                   // (H, A) sampling variance
    float* sd;                    // (H, A) sqrt(var) of the current iteration
    float* cand;                  // (H, P, A) candidate sequences, time-major
    float* eps;                   // (H, P, A) standard normal draws
    float* xin;                   // (R, S + A) model inputs concat(s, a)
    float* s;                     // (R, S) states
    float* s2;                    // (R, S) next states
    float* a;                     // (R, A) terminal actions
    float* r;                     // (R) rewards
    float* done;                  // (R) termination of s2
    float* alive;                 // (R) 1 until terminated
    float* J;                     // (R) objective per row
    int row_off[ENS_MAX_MEMBERS + 1];   // model row groups of the current forward
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
    w->mw = mlp_work_create_infer(ens->net, w->R);
    w->pmw = mlp_work_create_infer(pi->net, w->R);
    w->qmw = mlp_work_create_infer(q->net, q->net->n_members * w->R);   // shared: E x R rows
    w->mean = malloc(sizeof(float) * HA);
    w->var = malloc(sizeof(float) * HA);
    w->sd = malloc(sizeof(float) * HA);
    w->acc1 = malloc(sizeof(float) * HA);
    w->acc2 = malloc(sizeof(float) * HA);
    w->cand = malloc(sizeof(float) * PHA);
    w->eps = malloc(sizeof(float) * PHA);
    w->xin = malloc(sizeof(float) * R * (size_t)(w->S + w->A));
    w->s = malloc(sizeof(float) * R * (size_t)w->S);
    w->s2 = malloc(sizeof(float) * R * (size_t)w->S);
    w->a = malloc(sizeof(float) * R * (size_t)w->A);
    w->r = malloc(sizeof(float) * R);
    w->done = malloc(sizeof(float) * R);
    w->alive = malloc(sizeof(float) * R);
    w->J = malloc(sizeof(float) * R);
    w->score = malloc(sizeof(float) * (size_t)w->P);
    w->top = malloc(sizeof(int) * (size_t)w->K);
    if (!w->mw || !w->pmw || !w->qmw || !w->mean || !w->var || !w->sd || !w->acc1 ||
        !w->acc2 || !w->cand || !w->eps || !w->xin || !w->s || !w->s2 || !w->a || !w->r ||
        !w->done || !w->alive || !w->J || !w->score || !w->top) {
        cem_work_free(w);
        return NULL;
    }
    return w;
}

void cem_work_free(CemWork* w) {
    if (!w) return;
    mlp_work_free(w->mw);
    mlp_work_free(w->pmw);
    mlp_work_free(w->qmw);
    free(w->mean);
    free(w->var);
    free(w->sd);
    free(w->acc1);
    free(w->acc2);
    free(w->cand);
    free(w->eps);
    free(w->xin);
    free(w->s);
    free(w->s2);
    free(w->a);
    free(w->r);
    free(w->done);
    free(w->alive);
    free(w->J);
    free(w->score);
    free(w->top);
    free(w);
}

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

// Row groups for the members in mem[0..k) (distinct, ascending), n rows each: member
// mem[g] scores rows [g n, (g+1) n), the others none.
static void set_groups(CemWork* w, const int* mem, int k, int n) {
    int g = 0;
    for (int e = 0; e <= w->M; e++) {
        w->row_off[e] = g * n;
        if (g < k && mem[g] == e) g++;
    }
}

// Ascending copy of the distinct member indices in src (k of them): insertion sort.
static void sorted_members(int* dst, const int* src, int k) {
    for (int i = 0; i < k; i++) {
        int v = src[i], pos = i;
        while (pos > 0 && dst[pos - 1] > v) {
            dst[pos] = dst[pos - 1];
            pos--;
        }
        dst[pos] = v;
    }
}

// One mean-prediction model step on rows [0, R) of w->xin (grouped by w->row_off):
// s2 = s + target_mean + target_std * mu; r (learned reward) when r != NULL.
static void model_step(CemWork* w, const Ensemble* ens, const float* s, float* s2, float* r,
                       int R) {
    const int S = w->S, D = ens->n_out;
    mlp_forward_grouped_mean(ens->net, w->mw, w->xin, w->row_off);
    const float* mu = mlp_work_out(w->mw);
    const float* tm = ens->target_mean;
    const float* ts = ens->target_std;
    for (int row = 0; row < R; row++) {
        const float* m = mu + (size_t)row * D;
        const float* sr = s + (size_t)row * S;
        float* s2r = s2 + (size_t)row * S;
        for (int j = 0; j < S; j++) s2r[j] = sr[j] + tm[j] + ts[j] * m[j];
        if (r) r[row] = tm[S] + ts[S] * m[S];
    }
}

// a (B, A) = the policy's deterministic action at s (B, S): policy_forward with
// eps = NULL (a = center + scale * tanh(mu)), on the mean-only network path.
static void policy_act(CemWork* w, const Policy* pi, float* a, const float* s, int B) {
    const int A = w->A;
    mlp_forward_mean(pi->net, w->pmw, s, B);
    const float* out = mlp_work_out(w->pmw);   // (B, 2A) [mu | log_std]
    float scale[POLICY_MAX_ACT], center[POLICY_MAX_ACT];
    for (int j = 0; j < A; j++) {
        scale[j] = 0.5f * (pi->act_high[j] - pi->act_low[j]);
        center[j] = 0.5f * (pi->act_high[j] + pi->act_low[j]);
    }
    for (int b = 0; b < B; b++)
        for (int j = 0; j < A; j++)
            a[(size_t)b * A + j] = center[j] + scale[j] * tanhf(out[(size_t)b * 2 * A + j]);
}

// mean_t = pi(s_t) along the ensemble-mean rollout: every elite predicts s_{t+1}
// from the shared s_t, and s_{t+1} is their average.
static void init_mean(CemWork* w, const Ensemble* ens, const Policy* pi, const float* obs) {
    const int S = w->S, A = w->A, H = w->H, n_in = S + A;
    int ne = ens->n_elites > 0 ? ens->n_elites : ens->net->n_members;
    int mem[ENS_MAX_MEMBERS], all[ENS_MAX_MEMBERS];
    for (int g = 0; g < ne; g++) all[g] = ens->n_elites > 0 ? ens->elites[g] : g;
    sorted_members(mem, all, ne);
    set_groups(w, mem, ne, 1);
    float* sm = w->s;   // (S) mean state, in the first row of s
    memcpy(sm, obs, sizeof(float) * (size_t)S);
    for (int t = 0; t < H; t++) {
        policy_act(w, pi, w->mean + (size_t)t * A, sm, 1);
        if (t == H - 1) break;
        for (int g = 0; g < ne; g++) {
            memcpy(w->xin + (size_t)g * n_in, sm, sizeof(float) * (size_t)S);
            memcpy(w->xin + (size_t)g * n_in + S, w->mean + (size_t)t * A,
                   sizeof(float) * (size_t)A);
            if (g > 0) memcpy(w->s + (size_t)g * S, sm, sizeof(float) * (size_t)S);
        }
        model_step(w, ens, w->s, w->s2, NULL, ne);
        for (int j = 0; j < S; j++) {   // row 0 of s becomes the average
            float acc = 0.0f;
            for (int g = 0; g < ne; g++) acc += w->s2[(size_t)g * S + j];
            sm[j] = acc / (float)ne;
        }
    }
}

// Score every candidate: w->score (P). Rows are member-major: row = g * P + i, the
// members of this iteration in ascending index order (the grouped forward's order).
static void score_candidates(const CemConfig* cfg, CemWork* w, const Ensemble* ens,
                             const Policy* pi, const QFunction* q, const PlantModel* rf,
                             const float* obs, int iter) {
    const int S = w->S, A = w->A, H = w->H, P = w->P, n_in = S + A;
    const int k = models_per_iter(cfg, ens);
    const int ne = ens->n_elites > 0 ? ens->n_elites : ens->net->n_members;
    const int R = P * k;
    const int known = rf && rf->reward;
    const int term = plant_has_termination(rf);
    int mem[ENS_MAX_MEMBERS], pick[ENS_MAX_MEMBERS];
    for (int g = 0; g < k; g++) {
        int slot = (iter * k + g) % ne;
        pick[g] = ens->n_elites > 0 ? ens->elites[slot] : slot;
    }
    sorted_members(mem, pick, k);
    set_groups(w, mem, k, P);
    for (int row = 0; row < R; row++) {
        memcpy(w->s + (size_t)row * S, obs, sizeof(float) * (size_t)S);
        w->J[row] = 0.0f;
        w->alive[row] = 1.0f;
    }
    float disc = 1.0f;
    for (int t = 0; t < H; t++) {
        const float* at = w->cand + (size_t)t * P * A;   // (P, A) actions of step t
        for (int row = 0; row < R; row++) {
            float* x = w->xin + (size_t)row * n_in;
            memcpy(x, w->s + (size_t)row * S, sizeof(float) * (size_t)S);
            memcpy(x + S, at + (size_t)(row % P) * A, sizeof(float) * (size_t)A);
        }
        model_step(w, ens, w->s, w->s2, known ? NULL : w->r, R);
        if (known)
            for (int g = 0; g < k; g++)
                rf->reward(w->r + (size_t)g * P, w->s + (size_t)g * P * S, at,
                           w->s2 + (size_t)g * P * S, P);
        if (term) {
            plant_terminated(rf, w->done, w->s2, R);
            for (int row = 0; row < R; row++) {
                w->J[row] += disc * w->alive[row] * w->r[row];
                if (w->done[row] != 0.0f) w->alive[row] = 0.0f;
            }
        } else {
            for (int row = 0; row < R; row++) w->J[row] += disc * w->r[row];
        }
        float* tmp = w->s;   // s <- s2
        w->s = w->s2;
        w->s2 = tmp;
        disc *= cfg->gamma;
    }
    // Terminal value gamma^h min_j Q_j(s_h, pi(s_h)), deterministic policy action.
    // The twin Qs (qf_forward: both members on concat(s, a)) read xin.
    policy_act(w, pi, w->a, w->s, R);
    for (int row = 0; row < R; row++) {
        float* x = w->xin + (size_t)row * n_in;
        memcpy(x, w->s + (size_t)row * S, sizeof(float) * (size_t)S);
        memcpy(x + S, w->a + (size_t)row * A, sizeof(float) * (size_t)A);
    }
    mlp_forward_shared_mean(q->net, w->qmw, w->xin, R);
    const float* qout = mlp_work_out(w->qmw);   // (2R, 1), member-major
    for (int row = 0; row < R; row++) {
        float qmin = fminf(qout[row], qout[R + row]);
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

// 0 when cem_plan / cem_score can run with these arguments, else -EINVAL.
static int check_args(const CemConfig* cfg, const CemWork* w, const Ensemble* ens,
                      const Policy* pi, const QFunction* q, const PlantModel* rf,
                      const float* obs) {
    const int S = w->S, A = w->A;
    for (int j = 0; j < S; j++)
        if (!isfinite(obs[j])) return -EINVAL;
    if (cfg->population != w->P || cfg->horizon != w->H || cfg->n_elites > w->K ||
        cfg->n_elites < 1 || ens->obs_dim != S || ens->act_dim != A ||
        ens->net->n_members != w->M || (long)w->P * models_per_iter(cfg, ens) > w->R ||
        pi->obs_dim != S || pi->act_dim != A || q->obs_dim != S || q->act_dim != A)
        return -EINVAL;
    if (!(rf && rf->reward) && !ens->learn_reward) return -EINVAL;   // no reward source
    if (rf && rf->reward && rf->obs_dim != S) return -EINVAL;
    return 0;
}

int cem_score(const CemConfig* cfg, CemWork* w, const Ensemble* ens, const Policy* pi,
              const QFunction* q, const PlantModel* rf, const float* obs, const float* seqs,
              int iter, float* score) {
    int rc = check_args(cfg, w, ens, pi, q, rf, obs);
    if (rc) return rc;
    if (iter < 0) return -EINVAL;
    const int A = w->A, H = w->H, P = w->P;
    for (int i = 0; i < P; i++)   // (P, H, A) -> time-major (H, P, A)
        for (int t = 0; t < H; t++)
            memcpy(w->cand + ((size_t)t * P + i) * A, seqs + ((size_t)i * H + t) * A,
                   sizeof(float) * (size_t)A);
    score_candidates(cfg, w, ens, pi, q, rf, obs, iter);
    memcpy(score, w->score, sizeof(float) * (size_t)P);
    return 0;
}

int cem_plan(const CemConfig* cfg, CemWork* w, const Ensemble* ens, const Policy* pi,
             const QFunction* q, const PlantModel* rf, const float* obs, Rng* rng,
             float* act) {
    const int A = w->A, H = w->H, P = w->P;
    int rc = check_args(cfg, w, ens, pi, q, rf, obs);
    if (rc) return rc;
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
        // Candidates (time-major): 0 = the mean itself, the rest clip(mean + std * eps).
        rng_normal_fill(rng, w->eps, (long)P * H * A);
        for (int k = 0; k < H * A; k++) w->sd[k] = sqrtf(w->var[k]);
        for (int t = 0; t < H; t++) {
            const float* m = w->mean + (size_t)t * A;
            const float* sd = w->sd + (size_t)t * A;
            float* c = w->cand + (size_t)t * P * A;
            const float* ep = w->eps + (size_t)t * P * A;
            for (int j = 0; j < A; j++) c[j] = clampf(m[j], lo[j], hi[j]);
            for (int i = 1; i < P; i++)
                for (int j = 0; j < A; j++) {
                    size_t ij = (size_t)i * A + j;
                    c[ij] = clampf(m[j] + sd[j] * ep[ij], lo[j], hi[j]);
                }
        }
        score_candidates(cfg, w, ens, pi, q, rf, obs, it);
        select_top(w, K);
        // Refit with momentum; cap the variance inside the bounds.
        memset(w->acc1, 0, sizeof(float) * (size_t)H * A);
        memset(w->acc2, 0, sizeof(float) * (size_t)H * A);
        for (int e = 0; e < K; e++)
            for (int t = 0; t < H; t++) {
                const float* c = w->cand + ((size_t)t * P + w->top[e]) * A;
                for (int j = 0; j < A; j++) {
                    w->acc1[t * A + j] += c[j];
                    w->acc2[t * A + j] += c[j] * c[j];
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
