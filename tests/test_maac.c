// SPDX-License-Identifier: Apache-2.0
// test_maac.c -- the MAAC actor objective:
//  1. central finite differences of the whole pathwise policy gradient (and of
//     dLoss/ds0) on a tiny setup: H = 3, K = 2 paths, 2 terminal actions, a stochastic
//     3-member ensemble, a known reward with terminations that do fire, fixed noise;
//     again with the ensemble's learned reward head, and with the soft path (entropy
//     at every imagined action);
//  2. H = 0 equals SAC's actor loss and gradient computed directly;
//  3. the loss equals an independent recomputation of J from the stored paths (with and
//     without the soft path);
//  4. entropy coefficient: auto-tuning moves alpha the right way; fixed and none.
#include <stdlib.h>
#include <string.h>

#include "core/maac.h"
#include "test_util.h"
#include "gradcheck.h"

enum { S = 3, A = 2, B = 5 };

// Test reward: r = -|s'|^2 + 0.5 s.a - 0.1 |a|^2 ; done when s'[0] > 0.9.
static void rw(float* r, const float* s, const float* a, const float* s2, int n) {
    for (int b = 0; b < n; b++) {
        double v = 0;
        for (int i = 0; i < S; i++) v -= (double)s2[b * S + i] * s2[b * S + i];
        for (int j = 0; j < A; j++)
            v += 0.5 * s[b * S + j] * a[b * A + j] - 0.1 * a[b * A + j] * a[b * A + j];
        r[b] = (float)v;
    }
}
static void rw_bwd(float* ds, float* da, float* ds2, const float* dr, const float* s,
                   const float* a, const float* s2, int n) {
    for (int b = 0; b < n; b++) {
        float g = dr[b];
        for (int i = 0; i < S; i++)
            if (ds2) ds2[b * S + i] += g * -2.0f * s2[b * S + i];
        for (int j = 0; j < A; j++) {
            if (ds) ds[b * S + j] += g * 0.5f * a[b * A + j];
            if (da) da[b * A + j] += g * (0.5f * s[b * S + j] - 0.2f * a[b * A + j]);
        }
    }
}
static void rw_done(float* done, const float* s2, int n) {
    for (int b = 0; b < n; b++) done[b] = s2[b * S] > 0.9f ? 1.0f : 0.0f;
}
static const PlantModel REW = {.name = "test", .obs_dim = S, .act_dim = A, .exact = 0, .reward = rw, .reward_backward = rw_bwd, .terminated = rw_done};

typedef struct {
    MaacActor* ma;
    Policy* pi;
    QFunction* q;
    float s0[B * S];
    float alpha;
} Ctx;

static double loss(void* v) {
    Ctx* c = v;
    return maac_actor_forward(c->ma, c->pi, c->q, c->s0, B, c->alpha);
}

static void fd_case(const char* name, int known_reward, int soft_path, Policy* pi, QFunction* q,
                    Rng* rng) {
    Ensemble* e = ens_create(S, A, 3, 1, 8, NN_ACT_TANH, !known_reward, rng);
    for (int j = 0; j < e->n_out; j++) {
        e->target_std[j] = 0.3f;
        e->target_mean[j] = 0.05f;
    }
    // keep the model noise moderate: push the logvar bounds down
    for (int m = 0; m < 3; m++)
        for (int j = 0; j < e->n_out; j++) mlp_max_logvar(e->net, m)[j] = -1.0f;
    MaacDynamics dyn;
    maac_dynamics_ensemble(&dyn, e);
    MaacConfig cfg = {.horizon = 3, .n_paths = 2, .terminal_actions = 2, .gamma = 0.9f,
                      .known_reward = known_reward, .soft_path = soft_path};
    Ctx c = {.pi = pi, .q = q, .alpha = 0.3f};
    c.ma = maac_actor_create(&cfg, &dyn, &REW, pi, q, B);
    CHECK(c.ma != NULL, "create");
    for (int i = 0; i < B * S; i++) c.s0[i] = 0.3f * rng_normal(rng) + 0.3f;
    maac_actor_draw(c.ma, rng, B);
    long np = pi->net->n_params;
    float* g = calloc((size_t)np, sizeof(float));
    float ds0[B * S] = {0};
    loss(&c);
    float alive = maac_actor_alive_frac(c.ma);
    printf("  %s: alive at s_H %.2f\n", name, alive);
    CHECK(alive > 0.0f && alive < 1.0f, "%s: some paths terminate, some do not (%.2f)", name, alive);
    maac_actor_backward(c.ma, pi, q, g, ds0);
    char what[96];
    snprintf(what, sizeof what, "MAAC dLoss/dtheta (%s)", name);
    double e1 = grad_check(what, loss, &c, pi->net->params, g, np, 3, 1e-2f, 2e-2);
    snprintf(what, sizeof what, "MAAC dLoss/ds0 (%s)", name);
    double e2 = grad_check(what, loss, &c, c.s0, ds0, B * S, 1, 4e-3f, 2e-2);
    printf("  %s: max rel err dtheta %.3e, ds0 %.3e\n", name, e1, e2);
    free(g);
    maac_actor_free(c.ma);
    ens_free(e);
}

int main(void) {
    Rng rng;
    rng_seed(&rng, 11);
    int hid[2] = {16, 16};
    float lo[A] = {-1, -0.5f}, hi[A] = {1, 1.5f};
    Policy* pi = policy_create(S, A, 2, hid, NN_ACT_TANH, lo, hi, &rng);
    QFunction* q = qf_create(S, A, 2, hid, NN_ACT_TANH, &rng);

    // 1. FD of the pathwise gradient.
    Rng same = rng;   // the soft-path case reuses the first case's model, states and noise
    fd_case("known reward + terminations", 1, 0, pi, q, &rng);
    fd_case("learned reward head", 0, 0, pi, q, &rng);
    fd_case("soft path + terminations", 1, 1, pi, q, &same);

    // terminations fire: with an ensemble biased upwards in s'[0], later masks are 0.
    {
        Ensemble* e = ens_create(S, A, 2, 1, 8, NN_ACT_TANH, 0, &rng);
        e->target_std[0] = 0.3f, e->target_mean[0] = 0.35f;
        for (int j = 1; j < S; j++) e->target_std[j] = 0.3f;
        MaacDynamics dyn;
        maac_dynamics_ensemble(&dyn, e);
        MaacConfig cfg = {3, 2, 2, 0.9f, 1, 0};
        Ctx c = {.pi = pi, .q = q, .alpha = 0.3f};
        c.ma = maac_actor_create(&cfg, &dyn, &REW, pi, q, B);
        for (int i = 0; i < B * S; i++) c.s0[i] = 0.1f * rng_normal(&rng);
        maac_actor_draw(c.ma, &rng, B);
        float L = (float)loss(&c);
        CHECK(isfinite(L), "finite loss");
        CHECK(maac_actor_alive_frac(c.ma) < 0.5f, "most paths terminate (%.2f)",
              maac_actor_alive_frac(c.ma));
        long np = pi->net->n_params;
        float* g = calloc((size_t)np, sizeof(float));
        maac_actor_backward(c.ma, pi, q, g, NULL);
        grad_check("MAAC dLoss/dtheta (terminating paths)", loss, &c, pi->net->params, g, np, 3,
                   1e-2f, 2e-2);
        free(g);
        maac_actor_free(c.ma);
        ens_free(e);
    }

    // 2. H = 0 is SAC's actor loss: mean(alpha log pi(a|s) - min_j Q_j(s, a)).
    {
        enum { K = 2, NA = 3, R = B * K * NA };
        Ensemble* e = ens_create(S, A, 2, 1, 8, NN_ACT_TANH, 0, &rng);
        MaacDynamics dyn;
        maac_dynamics_ensemble(&dyn, e);
        MaacConfig cfg = {0, K, NA, 0.99f, 1, 0};
        MaacActor* ma = maac_actor_create(&cfg, &dyn, &REW, pi, q, B);
        float s0[B * S];
        rng_normal_fill(&rng, s0, B * S);
        maac_actor_draw(ma, &rng, B);
        float alpha = 0.7f;
        long np = pi->net->n_params;
        float* g1 = calloc((size_t)np, sizeof(float));
        float* g2 = calloc((size_t)np, sizeof(float));
        float L1 = maac_actor_forward(ma, pi, q, s0, B, alpha);
        maac_actor_backward(ma, pi, q, g1, NULL);
        // direct SAC actor loss on the same samples
        float srow[R * S], a[R * A], lp[R], qv[2 * R], dq[2 * R], da[R * A], dl[R];
        for (int r = 0; r < R; r++) memcpy(srow + r * S, s0 + (r / (K * NA)) * S, sizeof(float) * S);
        PolicyWork* pw = policy_work_create(pi, R);
        QfWork* qw = qf_work_create(q, R);
        policy_forward(pi, pw, a, lp, srow, maac_actor_eps_terminal(ma), R);
        qf_forward(q, qw, qv, srow, a, R);
        double L2 = 0;
        for (int r = 0; r < R; r++) {
            int j1 = qv[R + r] < qv[r];
            L2 += (alpha * lp[r] - (j1 ? qv[R + r] : qv[r])) / R;
            dq[r] = j1 ? 0.0f : -1.0f / R;
            dq[R + r] = j1 ? -1.0f / R : 0.0f;
            dl[r] = alpha / R;
        }
        memset(da, 0, sizeof da);
        qf_backward(q, qw, NULL, NULL, da, dq);
        policy_backward(pi, pw, g2, NULL, da, dl);
        double gmax = 0, dmax = 0;
        for (long i = 0; i < np; i++) {
            gmax = fmax(gmax, fabs(g2[i]));
            dmax = fmax(dmax, fabs(g1[i] - g2[i]));
        }
        CHECK_NEAR(L1, L2, 1e-5 * (1 + fabs(L2)), "H=0 loss = SAC actor loss");
        CHECK(dmax <= 1e-5 * gmax && gmax > 0, "H=0 gradient = SAC actor gradient: max diff %g (max |g| %g)",
              dmax, gmax);
        printf("  H=0 vs SAC: loss %.7f vs %.7f, max grad diff %.3g of max |g| %.3g\n", L1, L2,
               dmax, gmax);
        policy_work_free(pw);
        qf_work_free(qw);
        free(g1), free(g2);
        maac_actor_free(ma);
        ens_free(e);
    }

    // 3. the loss equals J recomputed row by row (known linear dynamics, terminations),
    // with the entropy at the first action only and with the soft path.
    for (int soft = 0; soft <= 1; soft++) {
        enum { H = 2, K = 2, NA = 2, N = B * K };
        float Am[S * S] = {1.0f, 0.1f, 0, -0.1f, 0.9f, 0.2f, 0.05f, 0, 1.1f};
        float Bm[S * A] = {0.3f, 0, 0.1f, 0.4f, -0.2f, 0.2f};
        MaacLinearModel lm = {S, A, Am, Bm};
        MaacDynamics dyn;
        maac_dynamics_linear(&dyn, &lm);
        MaacConfig cfg = {H, K, NA, 0.9f, 1, soft};
        MaacActor* ma = maac_actor_create(&cfg, &dyn, &REW, pi, q, B);
        float s0[B * S];
        for (int i = 0; i < B * S; i++) s0[i] = 0.6f * rng_normal(&rng) + 0.4f;
        maac_actor_draw(ma, &rng, B);
        float alpha = 0.4f;
        float L = maac_actor_forward(ma, pi, q, s0, B, alpha);
        PolicyWork* pw = policy_work_create(pi, 1);
        QfWork* qw = qf_work_create(q, 1);
        double J = 0;
        int n_term = 0;
        for (int i = 0; i < N; i++) {
            float s[S], a[A], lp, s2[S];
            memcpy(s, s0 + (i / K) * S, sizeof s);
            double Ji = 0, disc = 1, mask = 1;
            for (int t = 0; t < H; t++) {
                policy_forward(pi, pw, a, &lp, s, maac_actor_eps_policy(ma, t) + i * A, 1);
                if (t == 0 || soft) Ji -= alpha * disc * mask * lp;
                for (int r = 0; r < S; r++) {
                    double v = 0;
                    for (int c = 0; c < S; c++) v += (double)Am[r * S + c] * s[c];
                    for (int c = 0; c < A; c++) v += (double)Bm[r * A + c] * a[c];
                    s2[r] = (float)v;
                }
                double rr = 0;
                for (int r = 0; r < S; r++) rr -= (double)s2[r] * s2[r];
                for (int c = 0; c < A; c++) rr += 0.5 * s[c] * a[c] - 0.1 * a[c] * a[c];
                Ji += disc * mask * rr;
                if (s2[0] > 0.9f) mask = 0;
                disc *= 0.9;
                memcpy(s, s2, sizeof s);
            }
            n_term += mask == 0;
            double v = 0;
            for (int n = 0; n < NA; n++) {
                float qv[2];
                policy_forward(pi, pw, a, &lp, s, maac_actor_eps_terminal(ma) + (i * NA + n) * A, 1);
                qf_forward(q, qw, qv, s, a, 1);
                v += (fmin(qv[0], qv[1]) - (soft ? alpha * lp : 0.0)) / NA;
            }
            J += (Ji + disc * mask * v) / N;
        }
        CHECK(n_term > 0 && n_term < N, "some paths terminate (%d of %d)", n_term, N);
        CHECK_NEAR(L, -J, 1e-5 * (1 + fabs(J)),
                   soft ? "soft-path MAAC loss = -J recomputed by hand"
                        : "MAAC loss = -J recomputed by hand");
        policy_work_free(pw);
        qf_work_free(qw);
        maac_actor_free(ma);
    }

    // 4. entropy coefficient.
    {
        MaacAlpha al;
        CHECK(maac_alpha_init(&al, 1, 0, 1.0f, -2.0f, 1e-2f) == 0, "alpha init");
        CHECK_NEAR(maac_alpha_value(&al), 1.0, 1e-6, "alpha0");
        for (int i = 0; i < 20; i++) maac_alpha_update(&al, 5.0f);   // entropy too low
        CHECK(maac_alpha_value(&al) > 1.1f, "alpha grows when log pi > -target");
        for (int i = 0; i < 60; i++) maac_alpha_update(&al, -5.0f);  // entropy too high
        CHECK(maac_alpha_value(&al) < 1.0f, "alpha shrinks when log pi < -target");
        maac_alpha_free(&al);
        CHECK(maac_alpha_init(&al, 0, 0, 0.2f, -2.0f, 1e-2f) == 0, "fixed");
        maac_alpha_update(&al, 5.0f);
        CHECK_NEAR(maac_alpha_value(&al), 0.2, 1e-6, "fixed alpha stays");
        maac_alpha_free(&al);
        CHECK(maac_alpha_init(&al, 1, 1, 1.0f, -2.0f, 1e-2f) == 0, "none");
        maac_alpha_update(&al, 5.0f);
        CHECK(maac_alpha_value(&al) == 0.0f, "no-entropy ablation: alpha = 0");
        maac_alpha_free(&al);
    }
    policy_free(pi);
    qf_free(q);
    return test_summary("test_maac");
}
