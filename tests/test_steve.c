// SPDX-License-Identifier: Apache-2.0
// test_steve.c -- STEVE critic targets against an independent double-precision
// computation on a tiny ensemble (2 linear members set by hand, Gaussian noise on,
// H = 1 and H = 2 chained, H = 2 with the soft path, a linear policy and linear Qs with known weights,
// terminations that fire); the one-step target when steve = 0; the horizon-0 weight
// guard (Q_1 = Q_2 must not collapse the blend onto the 1-step target); FD of the
// critic loss gradient.
#include <stdlib.h>
#include <string.h>

#include "core/steve.h"
#include "test_util.h"
#include "gradcheck.h"

enum { S = 3, A = 2, B = 6, M = 2 };
static const double GAMMA = 0.9, ALPHA = 0.3;

static void rw(float* r, const float* s, const float* a, const float* s2, int n) {
    for (int b = 0; b < n; b++) {
        double v = 0;
        for (int i = 0; i < S; i++) v -= (double)s2[b * S + i] * s2[b * S + i];
        for (int j = 0; j < A; j++) v += 0.5 * s[b * S + j] * a[b * A + j];
        r[b] = (float)v;
    }
}
static void rw_done(float* done, const float* s2, int n) {
    for (int b = 0; b < n; b++) done[b] = s2[b * S] > 0.8f ? 1.0f : 0.0f;
}
static const PlantModel REW = {.name = "test", .obs_dim = S, .act_dim = A, .exact = 0, .reward = rw, .terminated = rw_done};

static double softplus(double x) { return x > 30 ? x : log1p(exp(x)); }

// ---- independent double reference ------------------------------------------------
static void ref_policy(const Policy* p, const double* s, const float* eps, double* a,
                       double* lp) {
    const float* W = mlp_weight(p->net, 0, 0);
    const float* bb = mlp_bias(p->net, 0, 0);
    double out[2 * A];
    for (int o = 0; o < 2 * A; o++) {
        out[o] = bb[o];
        for (int i = 0; i < S; i++) out[o] += (double)W[o * S + i] * s[i];
    }
    *lp = 0;
    for (int j = 0; j < A; j++) {
        double ls = fmin(fmax(out[A + j], -20), 2), sd = exp(ls);
        double y = tanh(out[j] + sd * eps[j]);
        double sc = 0.5 * (p->act_high[j] - p->act_low[j]);
        a[j] = 0.5 * (p->act_high[j] + p->act_low[j]) + sc * y;
        *lp += -0.5 * (double)eps[j] * eps[j] - ls - 0.5 * log(2 * M_PI) - log(1 - y * y + 1e-6) -
               log(sc);
    }
}
static double ref_q(const QFunction* q, int j, const double* s, const double* a) {
    const float* W = mlp_weight(q->net, j, 0);
    double v = mlp_bias(q->net, j, 0)[0];
    for (int i = 0; i < S; i++) v += W[i] * s[i];
    for (int i = 0; i < A; i++) v += W[S + i] * a[i];
    return v;
}
static void ref_model(const Ensemble* e, int m, const double* s, const double* a,
                      const float* eps, double* s2) {
    const float* W = mlp_weight(e->net, m, 0);
    const float* bb = mlp_bias(e->net, m, 0);
    const float* mx = mlp_max_logvar(e->net, m);
    const float* mn = mlp_min_logvar(e->net, m);
    for (int j = 0; j < S; j++) {
        double mu = bb[j], raw = bb[S + j];
        for (int i = 0; i < S; i++) {
            mu += W[j * (S + A) + i] * s[i];
            raw += W[(S + j) * (S + A) + i] * s[i];
        }
        for (int i = 0; i < A; i++) {
            mu += W[j * (S + A) + S + i] * a[i];
            raw += W[(S + j) * (S + A) + S + i] * a[i];
        }
        double lv = mx[j] - softplus(mx[j] - raw);
        lv = mn[j] + softplus(lv - mn[j]);
        double yn = mu + exp(0.5 * lv) * eps[j];
        s2[j] = s[j] + e->target_mean[j] + e->target_std[j] * yn;
    }
}
static double ref_reward(const double* s, const double* a, const double* s2, double* done) {
    float fs[S], fa[A], fs2[S], r, d;
    for (int i = 0; i < S; i++) fs[i] = (float)s[i], fs2[i] = (float)s2[i];
    for (int i = 0; i < A; i++) fa[i] = (float)a[i];
    rw(&r, fs, fa, fs2, 1);   // the reward itself is not under test
    rw_done(&d, fs2, 1);
    *done = d;
    return r;
}

// target of transition b by the formulas of steve.h
static double ref_target(Steve* st, const Policy* pi, const QFunction* qt, const Ensemble* e,
                         int H, int soft, const float* r, const float* s2, const float* done,
                         int b, int* n_term) {
    double mean[8], var[8], n[8];
    double x1[S], a1[A], lp1;
    for (int i = 0; i < S; i++) x1[i] = s2[b * S + i];
    ref_policy(pi, x1, steve_eps_policy(st, 1) + b * A, a1, &lp1);
    double c1 = done[b] > 0.5f ? 0 : 1;
    double T0[2];
    for (int j = 0; j < 2; j++) T0[j] = r[b] + GAMMA * c1 * (ref_q(qt, j, x1, a1) - ALPHA * lp1);
    mean[0] = fmin(T0[0], T0[1]);
    var[0] = 0.25 * (T0[0] - T0[1]) * (T0[0] - T0[1]);
    n[0] = 2;
    double T[8][M][2];
    for (int m = 0; m < M; m++) {
        double x[S], ax[A], lpx = lp1, c = c1, Racc = r[b], disc = GAMMA;
        memcpy(x, x1, sizeof x);
        memcpy(ax, a1, sizeof ax);
        for (int i = 1; i <= H; i++) {
            double x2[S], a2[A], lp2, d;
            ref_model(e, m, x, ax, steve_eps_model(st, i) + (m * B + b) * S, x2);
            double ri = ref_reward(x, ax, x2, &d);
            Racc += disc * c * (ri - (soft ? ALPHA * lpx : 0.0));
            double c2 = c * (1 - d);
            ref_policy(pi, x2, steve_eps_policy(st, i + 1) + (m * B + b) * A, a2, &lp2);
            for (int j = 0; j < 2; j++)
                T[i][m][j] = Racc + disc * GAMMA * c2 * (ref_q(qt, j, x2, a2) - ALPHA * lp2);
            if (c2 == 0 && c == 1) (*n_term)++;
            memcpy(x, x2, sizeof x);
            memcpy(ax, a2, sizeof ax);
            lpx = lp2;
            c = c2;
            disc *= GAMMA;
        }
    }
    for (int i = 1; i <= H; i++) {
        double sum = 0, mm = 0;
        for (int m = 0; m < M; m++) {
            sum += T[i][m][0] + T[i][m][1];
            mm += fmin(T[i][m][0], T[i][m][1]);
        }
        double mu = sum / (2 * M), v = 0;
        for (int m = 0; m < M; m++)
            for (int j = 0; j < 2; j++) v += (T[i][m][j] - mu) * (T[i][m][j] - mu);
        mean[i] = mm / M;
        var[i] = v / (2 * M);
        n[i] = 2 * M;
    }
    if (H == 0) return mean[0];
    double pool = 0;
    for (int i = 0; i <= H; i++) pool += var[i] / (H + 1);
    double ws = 0, ts = 0;
    for (int i = 0; i <= H; i++) {
        double w = 1.0 / ((n[i] * var[i] + pool) / (n[i] + 1) + 1e-8);
        ws += w;
        ts += w * mean[i];
    }
    return ts / ws;
}

typedef struct {
    Steve* st;
    QFunction* q;
    float s[B * S], a[B * A], t[B];
} LCtx;
static double closs(void* v) {
    LCtx* c = v;
    return steve_critic_loss(c->st, c->q, c->s, c->a, c->t, B, NULL);
}

int main(void) {
    Rng rng;
    rng_seed(&rng, 5);
    float lo[A] = {-1, -2}, hi[A] = {1, 1};
    Policy* pi = policy_create(S, A, 0, NULL, NN_ACT_TANH, lo, hi, &rng);
    QFunction* qt = qf_create(S, A, 0, NULL, NN_ACT_TANH, &rng);
    Ensemble* e = ens_create(S, A, M, 0, 1, NN_ACT_TANH, 0, &rng);
    for (int j = 0; j < S; j++) e->target_std[j] = 0.5f, e->target_mean[j] = 0.1f;
    for (int m = 0; m < M; m++)
        for (int j = 0; j < S; j++) mlp_max_logvar(e->net, m)[j] = -1.0f;   // moderate noise
    MaacDynamics dyn;
    maac_dynamics_ensemble(&dyn, e);
    float s[B * S], a[B * A], r[B], s2[B * S], done[B];
    rng_normal_fill(&rng, s, B * S);
    rng_normal_fill(&rng, a, B * A);
    rng_normal_fill(&rng, r, B);
    for (int i = 0; i < B * S; i++) s2[i] = 0.5f * rng_normal(&rng);
    for (int b = 0; b < B; b++) done[b] = b == 1 ? 1.0f : 0.0f;

    // H = 0..2 with plain imagined rewards, then H = 2 with the soft path (r_i - alpha
    // log pi(a_i|s_i) for i >= 1) on the same noise as the plain H = 2 run.
    Rng before_h2 = rng;
    float tg_plain[B] = {0};
    for (int run = 0; run <= 3; run++) {
        int H = run < 3 ? run : 2, soft = run == 3;
        if (H == 2 && !soft) before_h2 = rng;
        if (soft) rng = before_h2;
        SteveConfig cfg = {.steve = 1, .horizon = H, .gamma = (float)GAMMA, .known_reward = 1,
                           .soft_path = soft};
        Steve* st = steve_create(&cfg, &dyn, &REW, pi, qt, B);
        CHECK(st != NULL, "create H=%d", H);
        steve_draw(st, &rng, B);
        CHECK(H == 0 || steve_n_members(st) == M, "members");
        float tg[B], hm[3], hw[3];
        steve_targets(st, pi, qt, (float)ALPHA, s, a, r, s2, done, B, tg, hm, hw);
        double err = 0;
        int n_term = 0;
        for (int b = 0; b < B; b++) {
            double ref = ref_target(st, pi, qt, e, H, soft, r, s2, done, b, &n_term);
            err = fmax(err, fabs(ref - tg[b]) / (1 + fabs(ref)));
        }
        printf("  H=%d%s: max rel err vs double reference %.3g; horizon weights", H,
               soft ? " (soft path)" : "", err);
        for (int i = 0; i <= H; i++) printf(" %.3f", hw[i]);
        printf("; imagined terminations %d\n", n_term);
        CHECK(err < 1e-5, "STEVE H=%d soft %d target vs hand computation: %g", H, soft, err);
        if (H == 2) CHECK(n_term > 0, "terminations fire in the imagined chains");
        if (H == 2 && !soft) memcpy(tg_plain, tg, sizeof tg);
        if (soft) {
            double diff = 0;
            for (int b = 0; b < B; b++) diff = fmax(diff, fabs(tg[b] - tg_plain[b]));
            CHECK(diff > 1e-3, "the soft path changes the targets (max diff %g)", diff);
        }
        if (H > 0) CHECK(hw[0] < 0.95f && hw[0] > 0.0f, "horizon 0 does not take all the weight");
        steve_free(st);
    }

    // steve = 0: the plain one-step target r + gamma (1-d) (min_j Q_j(s', a') - alpha log pi).
    {
        SteveConfig cfg = {.steve = 0, .horizon = 2, .gamma = (float)GAMMA, .known_reward = 1};
        Steve* st = steve_create(&cfg, &dyn, &REW, pi, qt, B);
        steve_draw(st, &rng, B);
        float tg[B];
        steve_targets(st, pi, qt, (float)ALPHA, s, a, r, s2, done, B, tg, NULL, NULL);
        double err = 0;
        for (int b = 0; b < B; b++) {
            double x[S], ap[A], lp;
            for (int i = 0; i < S; i++) x[i] = s2[b * S + i];
            ref_policy(pi, x, steve_eps_policy(st, 1) + b * A, ap, &lp);
            double v = fmin(ref_q(qt, 0, x, ap), ref_q(qt, 1, x, ap)) - ALPHA * lp;
            double ref = r[b] + GAMMA * (1 - done[b]) * v;
            err = fmax(err, fabs(ref - tg[b]));
        }
        CHECK(err < 1e-5, "one-step target: %g", err);
        steve_free(st);
    }

    // Q_1 = Q_2: horizon 0 has zero sample variance; the shrinkage keeps the blend.
    {
        QFunction* q2 = qf_clone(qt);
        long n1 = q2->net->n_member_params;
        memcpy(q2->net->params + n1, q2->net->params, sizeof(float) * n1);
        SteveConfig cfg = {.steve = 1, .horizon = 2, .gamma = (float)GAMMA, .known_reward = 1};
        Steve* st = steve_create(&cfg, &dyn, &REW, pi, q2, B);
        steve_draw(st, &rng, B);
        float tg[B], hm[3], hw[3];
        steve_targets(st, pi, q2, (float)ALPHA, s, a, r, s2, done, B, tg, hm, hw);
        printf("  Q1 = Q2: horizon weights %.3f %.3f %.3f\n", hw[0], hw[1], hw[2]);
        CHECK(hw[0] < 0.9f, "zero-variance horizon 0 does not collapse the blend (w0 %.3f)", hw[0]);
        steve_free(st);
        qf_free(q2);
    }

    // critic loss gradient.
    {
        int hid[1] = {16};
        LCtx c;
        c.q = qf_create(S, A, 1, hid, NN_ACT_TANH, &rng);
        SteveConfig cfg = {.steve = 0, .horizon = 0, .gamma = 0.9f, .known_reward = 1};
        c.st = steve_create(&cfg, &dyn, &REW, pi, c.q, B);
        memcpy(c.s, s, sizeof s);
        memcpy(c.a, a, sizeof a);
        rng_normal_fill(&rng, c.t, B);
        long np = c.q->net->n_params;
        float* g = calloc((size_t)np, sizeof(float));
        float L = steve_critic_loss(c.st, c.q, c.s, c.a, c.t, B, g);
        float qv[2 * B];
        QfWork* w = qf_work_create(c.q, B);
        qf_forward(c.q, w, qv, s, a, B);
        double ref = 0;
        for (int j = 0; j < 2; j++)
            for (int b = 0; b < B; b++) ref += 0.5 * (qv[j * B + b] - c.t[b]) * (qv[j * B + b] - c.t[b]) / B;
        CHECK_NEAR(L, ref, 1e-5 * (1 + ref), "critic loss = sum_j 0.5 MSE_j");
        grad_check("critic dL/dtheta", closs, &c, c.q->net->params, g, np, 1, 1e-3f, 2e-2);
        qf_work_free(w);
        free(g);
        steve_free(c.st);
        qf_free(c.q);
    }
    ens_free(e);
    qf_free(qt);
    policy_free(pi);
    return test_summary("test_steve");
}
