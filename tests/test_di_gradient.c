// SPDX-License-Identifier: Apache-2.0
// test_di_gradient.c -- the paper's Section 4.2 experiment: L1 error of the MAAC policy
// gradient against the analytic dJ/dK on the double integrator, for H = 0..10, with the
// TRUE dynamics and a LEARNED Q (regressed on closed-form Q^K values, so it has error).
//
// The linear policy a = K s is the tanh-Gaussian policy with no hidden layer, a huge
// action scale c and a clipped tiny std: a = c tanh(W s) with |W s| <~ 5e-3, so
// a = K s (K = c W) to ~1e-5 relative, log_std = -20 (clipped, no gradient), alpha = 0.
// Then dJ/dK = -(dLoss/dW) / c.
//
// Which start states make the estimate consistent: with Q held fixed, the MAAC gradient
// from one start state s is G_H(s) = sum_{k=0..H} gamma^k E[grad_a Q(s_k, K s_k) s_k^T]
// (H+1 deterministic-policy-gradient terms; the pathwise part through the first H
// steps supplies all but the last). The true gradient is the sum of these terms over
// the whole trajectory with weights gamma^t (DPG theorem), so the estimate
//   g_H = sum_{n >= 0} gamma^{n(H+1)} E_{s_0 ~ rho_0}[ G_H(s_{n(H+1)}) ]
// -- start states every H+1 steps along the true closed-loop trajectory -- equals dJ/dK
// exactly for every H when Q = Q^K. (Part 1 checks this in double precision with the
// exact Q^K and moment-matched start states; replay-buffer sampling is the practical stand-in for this visitation
// weighting.) With a learned Q the Q error enters through the last term of each block,
// weighted gamma^H, so the error falls with H (paper Fig. 2, true dynamics).
#include <stdlib.h>
#include <string.h>

#include "core/adam.h"
#include "core/maac.h"
#include "sim/double_integrator.h"
#include "test_util.h"
#include "plant_util.h"

enum { NS = 2, NA = 1, NSTART = 512, HMAX = 10 };
static const double KPOL[NS] = {-3.0, -2.0};

// Forward-mode pathwise G_H(s) in double with the exact Q^K (part 1).
static void exact_GH(const DiModel* m, const double* P, const double* s0, int H, double* g) {
    for (int e = 0; e < NS; e++) {
        double s[NS], sd[NS] = {0, 0}, acc = 0, disc = 1;
        memcpy(s, s0, sizeof s);
        for (int t = 0; t <= H; t++) {
            double a = KPOL[0] * s[0] + KPOL[1] * s[1];
            double ad = KPOL[0] * sd[0] + KPOL[1] * sd[1] + s[e];
            if (t == H) {
                double dqs[NS], dqa[NA];
                di_q_value(m, P, s, &a, dqs, dqa);
                acc += disc * (dqs[0] * sd[0] + dqs[1] * sd[1] + dqa[0] * ad);
                break;
            }
            double gs[NS] = {0, 0}, ga[NA] = {0};
            di_reward_backward(m, gs, ga, 1.0, s, &a);
            acc += disc * (gs[0] * sd[0] + gs[1] * sd[1] + ga[0] * ad);
            double s2[NS], sd2[NS];
            for (int i = 0; i < NS; i++) {
                s2[i] = m->A[i * NS] * s[0] + m->A[i * NS + 1] * s[1] + m->B[i] * a;
                sd2[i] = m->A[i * NS] * sd[0] + m->A[i * NS + 1] * sd[1] + m->B[i] * ad;
            }
            memcpy(s, s2, sizeof s);
            memcpy(sd, sd2, sizeof sd);
            disc *= m->gamma;
        }
        g[e] = acc;
    }
}

static void closed_loop(const DiModel* m, double* s) {
    double a = KPOL[0] * s[0] + KPOL[1] * s[1], s2[NS];
    for (int i = 0; i < NS; i++) s2[i] = m->A[i * NS] * s[0] + m->A[i * NS + 1] * s[1] + m->B[i] * a;
    memcpy(s, s2, sizeof s2);
}

int main(void) {
    DiModel m;
    di_default(&m);
    double J, dJdK[NS], P[NS * NS], Sig[NS * NS];
    CHECK(di_return_grad(&m, KPOL, &J, dJdK, P, Sig) == 0, "K stabilising");
    double gnorm = fabs(dJdK[0]) + fabs(dJdK[1]);
    printf("  J(K) = %.4f, dJ/dK = (%.5f, %.5f)\n", J, dJdK[0], dJdK[1]);
    Rng rng;
    rng_seed(&rng, 2024);
    // start states s_0 ~ N(mu0, Sigma0), shared by every H, moment-matched: the sample
    // mean and covariance equal mu0 and Sigma0 exactly (whitened normal draws). With the
    // exact Q every term is quadratic in s_0, so the sample average is then the exact
    // expectation and the only error left in the table is the learned Q's.
    static double s0[NSTART][NS];
    {
        static double z[NSTART][NS];
        double mu[NS] = {0, 0}, C[3] = {0, 0, 0};
        for (int b = 0; b < NSTART; b++)
            for (int i = 0; i < NS; i++) z[b][i] = rng_normal(&rng), mu[i] += z[b][i] / NSTART;
        for (int b = 0; b < NSTART; b++) {
            for (int i = 0; i < NS; i++) z[b][i] -= mu[i];
            C[0] += z[b][0] * z[b][0] / NSTART;
            C[1] += z[b][0] * z[b][1] / NSTART;
            C[2] += z[b][1] * z[b][1] / NSTART;
        }
        double l00 = sqrt(C[0]), l10 = C[1] / l00, l11 = sqrt(C[2] - l10 * l10);   // C = L L^T
        double S00 = sqrt(m.Sigma0[0]), S10 = m.Sigma0[2] / S00, S11 = sqrt(m.Sigma0[3] - S10 * S10);
        for (int b = 0; b < NSTART; b++) {
            double w0 = z[b][0] / l00, w1 = (z[b][1] - l10 * w0) / l11;   // L^{-1} z
            s0[b][0] = m.mu0[0] + S00 * w0;
            s0[b][1] = m.mu0[1] + S10 * w0 + S11 * w1;
        }
    }
    // how long until the tail is negligible: gamma^t |s_t|^2 < 1e-9 |s_0|^2
    int T = 0;
    {
        double s[NS] = {1.5, 1.5};
        double n0 = s[0] * s[0] + s[1] * s[1], disc = 1;
        while (disc * (s[0] * s[0] + s[1] * s[1]) > 1e-9 * n0 && T < 20000) {
            closed_loop(&m, s);
            disc *= m.gamma;
            T++;
        }
    }
    printf("  trajectory length used: %d steps\n", T);

    // Part 1: with the exact Q^K the block-chained estimate is exact for every H (double).
    for (int H = 0; H <= HMAX; H += 5) {
        double g[NS] = {0, 0};
        for (int b = 0; b < NSTART; b++) {
            double s[NS] = {s0[b][0], s0[b][1]}, disc = 1;
            for (int t = 0; t < T; t += H + 1) {
                double gh[NS];
                exact_GH(&m, P, s, H, gh);
                for (int i = 0; i < NS; i++) g[i] += disc * gh[i] / NSTART;
                for (int k = 0; k <= H; k++) closed_loop(&m, s), disc *= m.gamma;
            }
        }
        double l1 = fabs(g[0] - dJdK[0]) + fabs(g[1] - dJdK[1]);
        printf("  exact Q: H=%2d estimate (%.6f, %.6f), L1 error %.3g\n", H, g[0], g[1], l1);
        CHECK(l1 < 1e-6 * gnorm, "exact-Q estimate equals dJ/dK at H=%d (%g)", H, l1);
    }
    double gref[NS] = {dJdK[0], dJdK[1]};
    double rnorm = gnorm;

    // Part 2: learn Q^K by regression on closed-form values (twin Q, 2 x 64 tanh).
    int hid[2] = {64, 64};
    QFunction* q = qf_create(NS, NA, 2, hid, NN_ACT_TANH, &rng);
    {
        enum { NB = 256, STEPS = 3000 };
        // training inputs: states along closed-loop trajectories from rho_0, actions K s + noise
        static float xs[NB * NS], xa[NB * NA], ys[NB];
        double qscale = 0;
        for (int i = 0; i < 1000; i++) {
            double s[NS] = {s0[i % NSTART][0], s0[i % NSTART][1]};
            double a = KPOL[0] * s[0] + KPOL[1] * s[1];
            double v = di_q_value(&m, P, s, &a, NULL, NULL);
            qscale += v * v / 1000;
        }
        qscale = sqrt(qscale);
        float* g = calloc((size_t)q->net->n_params, sizeof(float));
        float qo[2 * NB], dq[2 * NB];
        QfWork* w = qf_work_create(q, NB);
        Adam* opt = adam_create(q->net->n_params, 3e-3f);
        // fit Q / qscale, then fold qscale into the last layer
        for (int it = 0; it < STEPS; it++) {
            for (int b = 0; b < NB; b++) {
                double s[NS] = {m.mu0[0] + 0.5 * rng_normal(&rng), 0.5 * rng_normal(&rng)};
                int steps = (int)rng_below(&rng, 120);
                for (int k = 0; k < steps; k++) closed_loop(&m, s);
                double a = KPOL[0] * s[0] + KPOL[1] * s[1] + 0.3 * rng_normal(&rng);
                xs[b * NS] = (float)s[0], xs[b * NS + 1] = (float)s[1], xa[b] = (float)a;
                ys[b] = (float)(di_q_value(&m, P, s, &a, NULL, NULL) / qscale);
            }
            qf_forward(q, w, qo, xs, xa, NB);
            for (int j = 0; j < 2; j++)
                for (int b = 0; b < NB; b++) dq[j * NB + b] = (qo[j * NB + b] - ys[b]) / NB;
            memset(g, 0, sizeof(float) * (size_t)q->net->n_params);
            qf_backward(q, w, g, NULL, NULL, dq);
            adam_step(opt, q->net->params, g);
        }
        for (int j = 0; j < 2; j++) {
            int L = q->net->n_layers;
            float* W = mlp_weight(q->net, j, L - 1);
            for (int i = 0; i < q->net->sizes[L - 1]; i++) W[i] *= (float)qscale;
            mlp_bias(q->net, j, L - 1)[0] *= (float)qscale;
        }
        double mse = 0;
        for (int b = 0; b < NB; b++) mse += (qo[b] - ys[b]) * (qo[b] - ys[b]) / NB;
        printf("  learned Q: relative RMS error %.3g (of |Q| scale %.3g)\n", sqrt(mse), qscale);
        qf_work_free(w);
        adam_free(opt);
        free(g);
    }

    // Part 3: MAAC gradient with true dynamics + learned Q for H = 0..HMAX.
    const float c = 1000.0f;
    float lo[NA] = {-c}, hi[NA] = {c};
    Policy* pi = policy_create(NS, NA, 0, NULL, NN_ACT_LINEAR, lo, hi, NULL);
    float* Wp = mlp_weight(pi->net, 0, 0);
    Wp[0] = (float)(KPOL[0] / c), Wp[1] = (float)(KPOL[1] / c), Wp[2] = 0, Wp[3] = 0;
    mlp_bias(pi->net, 0, 0)[0] = 0, mlp_bias(pi->net, 0, 0)[1] = -25.0f;
    float Af[NS * NS], Bf[NS * NA];
    for (int i = 0; i < NS * NS; i++) Af[i] = (float)m.A[i];
    for (int i = 0; i < NS * NA; i++) Bf[i] = (float)m.B[i];
    MaacLinearModel lm = {NS, NA, Af, Bf};
    MaacDynamics dyn;
    maac_dynamics_linear(&dyn, &lm);
    const PlantModel* rew = test_builtin_plant("double_integrator");
    CHECK(rew != NULL, "double_integrator reward");
    double err[HMAX + 1];
    float* grad = calloc((size_t)pi->net->n_params, sizeof(float));
    static float sb[NSTART * NS];
    printf("  H   L1 error   rel. error   estimate\n");
    for (int H = 0; H <= HMAX; H++) {
        MaacConfig cfg = {H, 1, 1, (float)m.gamma, 1, 0};
        MaacActor* ma = maac_actor_create(&cfg, &dyn, rew, pi, q, NSTART);
        double st[NSTART][NS];
        memcpy(st, s0, sizeof st);
        double g[NS] = {0, 0}, disc = 1;
        for (int t = 0; t < T; t += H + 1) {
            for (int b = 0; b < NSTART; b++)
                for (int i = 0; i < NS; i++) sb[b * NS + i] = (float)st[b][i];
            maac_actor_draw(ma, &rng, NSTART);
            memset(grad, 0, sizeof(float) * (size_t)pi->net->n_params);
            maac_actor_forward(ma, pi, q, sb, NSTART, 0.0f);
            maac_actor_backward(ma, pi, q, grad, NULL);
            for (int i = 0; i < NS; i++) g[i] += disc * -grad[i] / c;   // W row 0 = mu
            for (int k = 0; k <= H; k++) {
                for (int b = 0; b < NSTART; b++) closed_loop(&m, st[b]);
                disc *= m.gamma;
            }
        }
        err[H] = fabs(g[0] - gref[0]) + fabs(g[1] - gref[1]);
        printf("  %2d  %9.5f  %9.4f   (%.5f, %.5f)\n", H, err[H], err[H] / rnorm, g[0], g[1]);
        maac_actor_free(ma);
    }
    int best = 0;
    for (int H = 1; H <= HMAX; H++)
        if (err[H] < err[best]) best = H;
    printf("  analytic dJ/dK (%.5f, %.5f); best H = %d\n", dJdK[0], dJdK[1], best);
    CHECK(best > 0 && err[best] < 0.5 * err[0],
          "gradient error falls with H: best H=%d err %.4g vs H=0 %.4g", best, err[best], err[0]);
    CHECK(err[HMAX] < err[0], "H=%d beats H=0 (%.4g vs %.4g)", HMAX, err[HMAX], err[0]);
    free(grad);
    policy_free(pi);
    qf_free(q);
    return test_summary("test_di_gradient");
}
