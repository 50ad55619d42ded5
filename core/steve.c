// SPDX-License-Identifier: Apache-2.0
// steve.c -- STEVE critic targets (chained per-member rollouts, variance over every
// (model, Q) combination per horizon, shrunk inverse-variance weights) and the twin-Q
// critic loss.
//
// Levels k = 1..H+1 hold the states s_k: level 1 is s' (B rows), level k >= 2 holds
// M*B rows (member-major: row m*B + b is member m's chain for transition b). At each
// level one policy forward and one target-Q forward run over all rows; each model step
// is one ensemble call over all M*B rows (grouped by member inside ens_step_forward:
// one sgemm per member and layer). Nothing here needs a backward except the critic
// loss, so one PolicyWork / QfWork / dynamics work is reused level after level.
// Thread: learner. Allocation: steve_create only.
#include "core/steve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct Steve {
    SteveConfig cfg;
    MaacDynamics dyn;
    const PlantModel* rew;
    int S, A, H;                  // H: effective horizon (0 without STEVE)
    int Mmax, M;                  // member capacity; members of the last draw
    int ids[ENS_MAX_MEMBERS];     // member ids of the last draw
    int max_batch;
    double pol_macs, q_macs;
    float** s;        // [H+2] level k >= 2: (Mmax*max_batch, S)
    float** a;        // [H+2] level k: (rows, A)
    float** logp;     // [H+2] (rows)
    float** q;        // [H+2] (2, rows) target Q at (s_k, a_k)
    float** r;        // [H+1] reward of step k (Mmax*max_batch)
    float** c;        // [H+2] masks c_k (level 1: B rows tiled to M*B)
    float** eps_pi;   // [H+2]
    float** eps_m;    // [H+1]
    int* memb;        // (Mmax*max_batch) member id per row
    float *s1t, *a1t, *done;
    PolicyWork* pw;
    QfWork* qw;       // targets
    QfWork* qwc;      // critic loss
    void* dw;
    float *qc, *dqc;  // (2, max_batch)
};

static float* fbuf(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

static double macs_row(const Mlp* m) {
    double macs = 0;
    for (int l = 0; l < m->n_layers; l++) macs += (double)m->sizes[l] * m->sizes[l + 1];
    return macs;
}

Steve* steve_create(const SteveConfig* cfg, const MaacDynamics* dyn, const PlantModel* rew,
                    const Policy* pi, const QFunction* q, int max_batch) {
    if (!cfg || !dyn || !pi || !q || max_batch < 1 || cfg->horizon < 0) return NULL;
    int S = pi->obs_dim, A = pi->act_dim;
    if (q->obs_dim != S || q->act_dim != A || dyn->obs_dim != S || dyn->act_dim != A)
        return NULL;
    int H = cfg->steve ? cfg->horizon : 0;
    if (H > 0 && cfg->known_reward && (!rew || !rew->reward)) return NULL;
    if (H > 0 && !cfg->known_reward && !dyn->has_reward) return NULL;
    if (rew && (rew->obs_dim != S || rew->act_dim != A)) return NULL;
    Steve* st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->cfg = *cfg;
    st->dyn = *dyn;
    st->rew = rew;
    st->S = S;
    st->A = A;
    st->H = H;
    st->max_batch = max_batch;
    st->Mmax = dyn->members(dyn->ctx, st->ids);
    st->M = st->Mmax;
    st->pol_macs = macs_row(pi->net);
    st->q_macs = QF_N * macs_row(q->net);
    long R = H > 0 ? (long)st->Mmax * max_batch : max_batch;
    if (R > (1L << 30)) {
        free(st);
        return NULL;
    }
    int ok = 1;
    ok &= (st->s = calloc((size_t)H + 2, sizeof(float*))) != NULL;
    ok &= (st->a = calloc((size_t)H + 2, sizeof(float*))) != NULL;
    ok &= (st->logp = calloc((size_t)H + 2, sizeof(float*))) != NULL;
    ok &= (st->q = calloc((size_t)H + 2, sizeof(float*))) != NULL;
    ok &= (st->c = calloc((size_t)H + 2, sizeof(float*))) != NULL;
    ok &= (st->eps_pi = calloc((size_t)H + 2, sizeof(float*))) != NULL;
    ok &= (st->r = calloc((size_t)H + 1, sizeof(float*))) != NULL;
    ok &= (st->eps_m = calloc((size_t)H + 1, sizeof(float*))) != NULL;
    if (!ok) {
        steve_free(st);
        return NULL;
    }
    for (int k = 1; k <= H + 1; k++) {
        long rows = k == 1 ? max_batch : R;
        if (k >= 2) ok &= (st->s[k] = fbuf(rows * S)) != NULL;
        ok &= (st->a[k] = fbuf(rows * A)) != NULL;
        ok &= (st->logp[k] = fbuf(rows)) != NULL;
        ok &= (st->q[k] = fbuf(QF_N * rows)) != NULL;
        ok &= (st->c[k] = fbuf(R)) != NULL;
        ok &= (st->eps_pi[k] = fbuf(rows * A)) != NULL;
        if (k <= H) {
            ok &= (st->r[k] = fbuf(R)) != NULL;
            ok &= (st->eps_m[k] = fbuf(R * (dyn->n_eps > 0 ? dyn->n_eps : 1))) != NULL;
        }
    }
    ok &= (st->memb = calloc((size_t)R, sizeof(int))) != NULL;
    ok &= (st->s1t = fbuf(R * S)) != NULL;
    ok &= (st->a1t = fbuf(R * A)) != NULL;
    ok &= (st->done = fbuf(R)) != NULL;
    // targets only run forwards: forward-only works (the AVX-512 kernel where available)
    ok &= (st->pw = policy_work_create_fwd(pi, (int)R)) != NULL;
    ok &= (st->qw = qf_work_create_fwd(q, (int)R)) != NULL;
    ok &= (st->qwc = qf_work_create(q, max_batch)) != NULL;
    ok &= (st->qc = fbuf(QF_N * max_batch)) != NULL;
    ok &= (st->dqc = fbuf(QF_N * max_batch)) != NULL;
    void* (*dw_create)(void*, int) = dyn->work_create_fwd ? dyn->work_create_fwd : dyn->work_create;
    if (H > 0) ok &= (st->dw = dw_create(dyn->ctx, (int)R)) != NULL;
    if (!ok) {
        steve_free(st);
        return NULL;
    }
    return st;
}

void steve_free(Steve* st) {
    if (!st) return;
    for (int k = 1; k <= st->H + 1; k++) {
        if (st->s) free(st->s[k]);
        if (st->a) free(st->a[k]);
        if (st->logp) free(st->logp[k]);
        if (st->q) free(st->q[k]);
        if (st->c) free(st->c[k]);
        if (st->eps_pi) free(st->eps_pi[k]);
        if (k <= st->H) {
            if (st->r) free(st->r[k]);
            if (st->eps_m) free(st->eps_m[k]);
        }
    }
    free(st->s), free(st->a), free(st->logp), free(st->q), free(st->c), free(st->eps_pi);
    free(st->r), free(st->eps_m), free(st->memb), free(st->s1t), free(st->a1t), free(st->done);
    policy_work_free(st->pw);
    qf_work_free(st->qw);
    qf_work_free(st->qwc);
    if (st->dw) st->dyn.work_free(st->dw);
    free(st->qc), free(st->dqc);
    free(st);
}

void steve_draw(Steve* st, Rng* rng, int B) {
    if (B > st->max_batch) B = st->max_batch;
    if (st->H > 0) {
        int M = st->dyn.members(st->dyn.ctx, st->ids);
        st->M = M < st->Mmax ? M : st->Mmax;
    }
    int M = st->M, R = M * B;
    rng_normal_fill(rng, st->eps_pi[1], (long)B * st->A);
    for (int k = 2; k <= st->H + 1; k++) rng_normal_fill(rng, st->eps_pi[k], (long)R * st->A);
    for (int k = 1; k <= st->H; k++)
        if (st->dyn.n_eps > 0) rng_normal_fill(rng, st->eps_m[k], (long)R * st->dyn.n_eps);
}

void steve_targets(Steve* st, const Policy* pi, const QFunction* qtarg, float alpha,
                   const float* s, const float* a, const float* r, const float* s2,
                   const float* done, int B, float* target, float* ret_hmean,
                   float* ret_hweight) {
    (void)s;
    (void)a;
    const int S = st->S, A = st->A, H = st->H, M = st->M;
    const double gamma = st->cfg.gamma;
    if (B > st->max_batch) B = st->max_batch;
    const int R = M * B;
    // level 1: s_1 = s' (B rows)
    policy_forward(pi, st->pw, st->a[1], st->logp[1], s2, st->eps_pi[1], B);
    qf_forward(qtarg, st->qw, st->q[1], s2, st->a[1], B);
    for (int b = 0; b < B; b++) st->c[1][b] = done[b] > 0.5f ? 0.0f : 1.0f;
    int learned = !st->cfg.known_reward;
    for (int k = 1; k <= H; k++) {
        const float *src_s, *src_a, *src_c;
        if (k == 1) {
            for (int m = 0; m < M; m++) {
                memcpy(st->s1t + (size_t)m * B * S, s2, sizeof(float) * (size_t)B * S);
                memcpy(st->a1t + (size_t)m * B * A, st->a[1], sizeof(float) * (size_t)B * A);
                for (int b = 0; b < B; b++) st->memb[m * B + b] = st->ids[m];
                if (m > 0) memcpy(st->c[1] + (size_t)m * B, st->c[1], sizeof(float) * B);
            }
            src_s = st->s1t, src_a = st->a1t, src_c = st->c[1];
        } else {
            src_s = st->s[k], src_a = st->a[k], src_c = st->c[k];
        }
        st->dyn.step_forward(st->dyn.ctx, st->dw, st->s[k + 1], learned ? st->r[k] : NULL,
                             src_s, src_a, st->memb, st->dyn.n_eps ? st->eps_m[k] : NULL, R);
        if (!learned) st->rew->reward(st->r[k], src_s, src_a, st->s[k + 1], R);
        if (plant_has_termination(st->rew)) {
            plant_terminated(st->rew, st->done, st->s[k + 1], R);
            for (int i = 0; i < R; i++)
                st->c[k + 1][i] = src_c[i] * (st->done[i] > 0.5f ? 0.0f : 1.0f);
        } else {
            memcpy(st->c[k + 1], src_c, sizeof(float) * R);
        }
        policy_forward(pi, st->pw, st->a[k + 1], st->logp[k + 1], st->s[k + 1],
                       st->eps_pi[k + 1], R);
        qf_forward(qtarg, st->qw, st->q[k + 1], st->s[k + 1], st->a[k + 1], R);
    }
    // combine per transition
    double hmean[64] = {0}, hw[64] = {0};
    for (int b = 0; b < B; b++) {
        double mean[65], var[65], nsamp[65];
        // horizon 0: two samples (the two target Qs)
        {
            double c1 = st->c[1][b], g = gamma * c1;
            double v0 = st->q[1][b] - alpha * st->logp[1][b];
            double v1 = st->q[1][B + b] - alpha * st->logp[1][b];
            double t0 = r[b] + g * v0, t1 = r[b] + g * v1;
            mean[0] = fmin(t0, t1);
            double mu = 0.5 * (t0 + t1);
            var[0] = 0.5 * ((t0 - mu) * (t0 - mu) + (t1 - mu) * (t1 - mu));
            nsamp[0] = 2;
        }
        double Rm[ENS_MAX_MEMBERS];
        for (int m = 0; m < M; m++) Rm[m] = r[b];
        double disc = gamma;   // gamma^k
        for (int i = 1; i <= H; i++) {
            // R_i^m += gamma^i c_i r_i;  samples R_i^m + gamma^{i+1} c_{i+1} V_j(s_{i+1})
            const float* qk = st->q[i + 1];
            const float* lk = st->logp[i + 1];
            double sum = 0, sum2 = 0, mmin = 0;
            // the action of step i: level 1's is shared by the members (B rows)
            const float* li = st->logp[i];
            for (int m = 0; m < M; m++) {
                int row = m * B + b;
                double ri = st->r[i][row];
                if (st->cfg.soft_path) ri -= alpha * li[i == 1 ? b : row];
                Rm[m] += disc * st->c[i][row] * ri;
                double g = disc * gamma * st->c[i + 1][row];
                double t0 = Rm[m] + g * (qk[row] - alpha * lk[row]);
                double t1 = Rm[m] + g * (qk[R + row] - alpha * lk[row]);
                sum += t0 + t1;
                sum2 += t0 * t0 + t1 * t1;
                mmin += fmin(t0, t1);
            }
            double n = 2.0 * M, mu = sum / n;
            mean[i] = mmin / M;
            var[i] = fmax(sum2 / n - mu * mu, 0.0);
            nsamp[i] = n;
            disc *= gamma;
        }
        if (H == 0) {
            target[b] = (float)mean[0];
            if (ret_hweight) hw[0] += 1.0;
            hmean[0] += mean[0];
            continue;
        }
        double pool = 0;
        for (int i = 0; i <= H; i++) pool += var[i];
        pool /= H + 1;
        double wsum = 0, tsum = 0, w[65];
        for (int i = 0; i <= H; i++) {
            double v = (nsamp[i] * var[i] + STEVE_SHRINK_N0 * pool) / (nsamp[i] + STEVE_SHRINK_N0);
            w[i] = 1.0 / (v + STEVE_VAR_EPS);
            wsum += w[i];
            tsum += w[i] * mean[i];
        }
        target[b] = (float)(tsum / wsum);
        for (int i = 0; i <= H && i < 64; i++) {
            hmean[i] += mean[i];
            hw[i] += w[i] / wsum;
        }
    }
    for (int i = 0; i <= H && i < 64; i++) {
        if (ret_hmean) ret_hmean[i] = (float)(hmean[i] / B);
        if (ret_hweight) ret_hweight[i] = (float)(hw[i] / B);
    }
}

float steve_critic_loss(Steve* st, const QFunction* q, const float* s, const float* a,
                        const float* target, int B, float* grad) {
    if (B > st->max_batch) B = st->max_batch;
    qf_forward(q, st->qwc, st->qc, s, a, B);
    double loss = 0;
    for (int j = 0; j < QF_N; j++)
        for (int b = 0; b < B; b++) {
            double d = (double)st->qc[j * B + b] - target[b];
            loss += 0.5 * d * d / B;
            st->dqc[j * B + b] = (float)(d / B);
        }
    if (grad) qf_backward(q, st->qwc, grad, NULL, NULL, st->dqc);
    return (float)loss;
}

float* steve_eps_policy(Steve* st, int k) { return k >= 1 && k <= st->H + 1 ? st->eps_pi[k] : NULL; }
float* steve_eps_model(Steve* st, int k) { return k >= 1 && k <= st->H ? st->eps_m[k] : NULL; }
int steve_n_members(const Steve* st) { return st->M; }

double steve_flops(const Steve* st, int B) {
    double R = (double)st->M * B * st->H;   // rows at levels >= 2 together
    double macs = (B + R) * (st->pol_macs + st->q_macs) + R * st->dyn.macs_row +
                  3.0 * B * st->q_macs;     // critic forward + backward
    return 2.0 * macs;
}
