// SPDX-License-Identifier: Apache-2.0
// test_sim_di.c -- the double integrator (double_integrator.h): the closed-form
// return J(K) and its analytic gradient dJ/dK.
//
// Checks: (1) J from the Lyapunov solve equals the exactly propagated series
// -sum_t gamma^t tr((Q + K^T R K) M_t), M_{t+1} = Acl M_t Acl^T (no sampling);
// (2) dJ/dK equals central finite differences of the closed-form J; (3) the plant
// "double_integrator" under a = K s pays exactly -(s0^T P s0 - gamma^T s_T^T P s_T)
// over T steps; (4) the action value Q^K(s, a) equals V(s) at a = K s and its
// gradients pass finite differences; at the optimum (dJ/dK = 0 by gradient ascent)
// dQ/da vanishes on-policy; (5) non-stabilising gains give -EDOM; (6) resets
// have mean mu0 and covariance Sigma0.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/double_integrator.h"
#include "sim/sim.h"
#include "test_util.h"

static double series_return(const DiModel* m, const double* K, int T) {
    const int n = m->n, k = m->m;
    double M[DI_MAX_N * DI_MAX_N], Mn[DI_MAX_N * DI_MAX_N], Acl[DI_MAX_N * DI_MAX_N], C[DI_MAX_N * DI_MAX_N];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            M[i * n + j] = m->Sigma0[i * n + j] + m->mu0[i] * m->mu0[j];
            double v = m->A[i * n + j], c = m->Q[i * n + j];
            for (int l = 0; l < k; l++) v += m->B[i * k + l] * K[l * n + j];
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++) c += K[a * n + i] * m->R[a * k + b] * K[b * n + j];
            Acl[i * n + j] = v;
            C[i * n + j] = c;
        }
    double J = 0.0, g = 1.0;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < n * n; i++) J -= g * C[i] * M[i];   // tr(C M), both symmetric
        g *= m->gamma;
        for (int i = 0; i < n; i++)   // Mn = Acl M Acl^T
            for (int j = 0; j < n; j++) {
                double v = 0.0;
                for (int a = 0; a < n; a++)
                    for (int b = 0; b < n; b++) v += Acl[i * n + a] * M[a * n + b] * Acl[j * n + b];
                Mn[i * n + j] = v;
            }
        memcpy(M, Mn, sizeof M);
    }
    return J;
}

static void check_return_and_grad(const DiModel* m, const double* K) {
    double J, Js, G[DI_MAX_M * DI_MAX_N];
    CHECK(di_return(m, K, &J) == 0, "di_return K=(%g,%g)", K[0], K[1]);
    Js = series_return(m, K, 20000);
    CHECK(fabs(J - Js) <= 1e-9 * (1.0 + fabs(J)), "J %.12g vs series %.12g", J, Js);
    CHECK(di_return_grad(m, K, &Js, G, NULL, NULL) == 0 && Js == J, "di_return_grad J");
    double worst = 0.0;
    for (int i = 0; i < m->m * m->n; i++) {
        double Kp[DI_MAX_M * DI_MAX_N], Jp, Jm;
        const double h = 1e-5;
        memcpy(Kp, K, sizeof(double) * m->m * m->n);
        Kp[i] = K[i] + h;
        di_return(m, Kp, &Jp);
        Kp[i] = K[i] - h;
        di_return(m, Kp, &Jm);
        const double fd = (Jp - Jm) / (2 * h);
        const double err = fabs(fd - G[i]) / (1e-6 + fabs(fd));
        worst = fmax(worst, err);
        CHECK(err <= 1e-6, "dJ/dK[%d] analytic %.10g vs fd %.10g", i, G[i], fd);
    }
    printf("  K = (%6.2f, %6.2f): J %.6f  dJ/dK (%.6f, %.6f)  worst rel err vs FD %.2g\n", K[0], K[1], J,
           G[0], G[1], worst);
}

int main(void) {
    DiModel m;
    di_default(&m);
    CHECK(m.n == 2 && m.m == 1 && m.dt == 0.05 && m.gamma == 0.99, "default model");

    // (1), (2): several stabilising gains
    const double Ks[][2] = {{-1.0, -1.0}, {-5.0, -3.0}, {-10.0, -4.0}, {-0.5, -0.2}, {-20.0, -8.0}};
    for (unsigned i = 0; i < sizeof Ks / sizeof Ks[0]; i++) check_return_and_grad(&m, Ks[i]);

    // a non-square case: 2 actions, 3 states, random-ish matrices
    DiModel m3;
    memset(&m3, 0, sizeof m3);
    m3.n = 3, m3.m = 2, m3.gamma = 0.95, m3.dt = 0.1;
    const double A3[9] = {1, 0.1, 0, 0, 1, 0.1, 0.05, 0, 0.9};
    const double B3[6] = {0, 0.01, 0.1, 0, 0.02, 0.1};
    const double Q3[9] = {1, 0.1, 0, 0.1, 0.5, 0, 0, 0, 0.2};
    const double R3[4] = {0.1, 0.02, 0.02, 0.2};
    memcpy(m3.A, A3, sizeof A3), memcpy(m3.B, B3, sizeof B3), memcpy(m3.Q, Q3, sizeof Q3);
    memcpy(m3.R, R3, sizeof R3);
    m3.mu0[0] = 0.5, m3.mu0[2] = -0.3;
    m3.Sigma0[0] = 0.1, m3.Sigma0[4] = 0.2, m3.Sigma0[8] = 0.1, m3.Sigma0[1] = m3.Sigma0[3] = 0.05;
    const double K3[6] = {-0.5, -1.0, 0.2, -0.3, 0.1, -0.8};
    check_return_and_grad(&m3, K3);

    // (5) not stabilising under the discount
    double J, G[2];
    const double Kbad[2] = {1.0, 1.0};
    CHECK(di_return(&m, Kbad, &J) == -EDOM, "unstable K accepted");
    CHECK(di_return_grad(&m, Kbad, &J, G, NULL, NULL) == -EDOM, "unstable K accepted (grad)");

    // (3) the plant pays exactly the finite-horizon part of the closed form
    SimPlant* p = sim_create("double_integrator", NULL);
    CHECK(p != NULL, "create plant");
    const double K[2] = {-5.0, -3.0};
    double P[4];
    CHECK(di_value_matrix(&m, K, P) == 0, "P");
    double s[2], s0[2];
    sim_reset(p, 3, s);
    memcpy(s0, s, sizeof s);
    double ret = 0.0, g = 1.0;
    int T = 0;
    for (;;) {
        double a = K[0] * s[0] + K[1] * s[1];
        SimStepResult r;
        CHECK(sim_step(p, &a, s, &r) == 0, "plant step");
        ret += g * r.reward;
        g *= m.gamma;
        T++;
        if (r.truncated) break;
    }
    const double sPs0 = s0[0] * (P[0] * s0[0] + P[1] * s0[1]) + s0[1] * (P[2] * s0[0] + P[3] * s0[1]);
    const double sPsT = s[0] * (P[0] * s[0] + P[1] * s[1]) + s[1] * (P[2] * s[0] + P[3] * s[1]);
    const double expect = -(sPs0 - g * sPsT);
    printf("  plant %d steps under K: discounted return %.10f, closed form %.10f\n", T, ret, expect);
    CHECK(fabs(ret - expect) <= 1e-9 * (1 + fabs(expect)), "plant return %g vs %g", ret, expect);

    // (4) the exact action value: on-policy it is V, its gradients pass FD
    const double sq[2] = {0.7, -0.4};
    double aq = K[0] * sq[0] + K[1] * sq[1] + 0.3;
    double dqs[2], dqa[1];
    const double q = di_q_value(&m, P, sq, &aq, dqs, dqa);
    for (int i = 0; i < 3; i++) {
        double sp[2] = {sq[0], sq[1]}, sm[2] = {sq[0], sq[1]}, ap = aq, am = aq;
        const double h = 1e-6;
        if (i < 2) sp[i] += h, sm[i] -= h;
        else ap += h, am -= h;
        const double fd = (di_q_value(&m, P, sp, &ap, NULL, NULL) - di_q_value(&m, P, sm, &am, NULL, NULL)) / (2 * h);
        const double an = i < 2 ? dqs[i] : dqa[0];
        CHECK(fabs(fd - an) <= 1e-6 * (1 + fabs(fd)), "dQ[%d] %g vs fd %g", i, an, fd);
    }
    double aon = K[0] * sq[0] + K[1] * sq[1];
    const double V = -(sq[0] * (P[0] * sq[0] + P[1] * sq[1]) + sq[1] * (P[2] * sq[0] + P[3] * sq[1]));
    CHECK(fabs(di_q_value(&m, P, sq, &aon, NULL, NULL) - V) <= 1e-10 * (1 + fabs(V)), "Q(s, Ks) = V(s)");
    (void)q;

    // gradient ascent on J reaches a stationary K where on-policy dQ/da ~ 0
    double Ko[2] = {-5.0, -3.0}, Jo = 0.0, Go[2] = {0, 0};
    for (int it = 0; it < 20000; it++) {
        di_return_grad(&m, Ko, &Jo, Go, NULL, NULL);
        Ko[0] += 2.0 * Go[0];
        Ko[1] += 2.0 * Go[1];
    }
    di_return_grad(&m, Ko, &Jo, Go, P, NULL);
    printf("  gradient ascent: K* = (%.4f, %.4f), J* %.6f, |dJ/dK| %.2g\n", Ko[0], Ko[1], Jo, hypot(Go[0], Go[1]));
    CHECK(hypot(Go[0], Go[1]) < 1e-6, "gradient ascent did not converge");
    double Jstart;
    di_return(&m, K, &Jstart);
    CHECK(Jo > Jstart, "optimum is better than the start");
    aon = Ko[0] * sq[0] + Ko[1] * sq[1];
    di_q_value(&m, P, sq, &aon, NULL, dqa);
    CHECK(fabs(dqa[0]) < 1e-4, "on-policy dQ/da at the optimum %g", dqa[0]);

    // (6) reset distribution
    double mean[2] = {0, 0}, cov[4] = {0, 0, 0, 0};
    const int NS = 20000;
    for (int i = 0; i < NS; i++) {
        sim_reset(p, 1000 + i, s);
        mean[0] += s[0] / NS, mean[1] += s[1] / NS;
        cov[0] += (s[0] - 1.0) * (s[0] - 1.0) / NS, cov[3] += s[1] * s[1] / NS, cov[1] += (s[0] - 1.0) * s[1] / NS;
    }
    CHECK(fabs(mean[0] - 1.0) < 0.02 && fabs(mean[1]) < 0.02, "reset mean (%g, %g)", mean[0], mean[1]);
    CHECK(fabs(cov[0] - 0.25) < 0.02 && fabs(cov[3] - 0.25) < 0.02 && fabs(cov[1]) < 0.02, "reset cov");
    sim_free(p);
    return test_summary("test_sim_di");
}
