// SPDX-License-Identifier: Apache-2.0
// double_integrator.c -- linear dynamics, quadratic reward, exact policy gradient
// (see double_integrator.h for the equations).
//
// The two discounted Lyapunov equations are solved in vectorised form:
// X = C + gamma F^T X F  <=>  (I - gamma F^T (x) F^T) vec(X) = vec(C), an n^2 x n^2
// system (16 x 16 at most) handed to LAPACKE_dgesv. Stability under the discount
// is checked first from the eigenvalues of A + B K (LAPACKE_dgeev).
#include "sim/double_integrator.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <lapacke.h>

#define NN (DI_MAX_N * DI_MAX_N)

void di_default(DiModel* m) {
    memset(m, 0, sizeof *m);
    const double dt = 0.05;
    m->n = 2;
    m->m = 1;
    m->dt = dt;
    m->gamma = 0.99;
    // row-major (n, n): position += dt * velocity + dt^2/2 * a; velocity += dt * a
    m->A[0] = 1.0; m->A[1] = dt;
    m->A[2] = 0.0; m->A[3] = 1.0;
    m->B[0] = 0.5 * dt * dt;
    m->B[1] = dt;
    m->Q[0] = 1.0; m->Q[3] = 0.1;
    m->R[0] = 0.01;
    m->mu0[0] = 1.0;
    m->Sigma0[0] = 0.25; m->Sigma0[3] = 0.25;
}

double di_step(const DiModel* m, double* s2, const double* s, const double* a) {
    const int n = m->n, k = m->m;
    double r = 0.0, out[DI_MAX_N];   // out: s2 may alias s
    for (int i = 0; i < n; i++) {
        double acc = 0.0, qs = 0.0;
        for (int j = 0; j < n; j++) {
            acc += m->A[i * n + j] * s[j];
            qs += m->Q[i * n + j] * s[j];
        }
        for (int j = 0; j < k; j++) acc += m->B[i * k + j] * a[j];
        r -= s[i] * qs;
        out[i] = acc;
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) r -= a[i] * m->R[i * k + j] * a[j];
    memcpy(s2, out, sizeof(double) * n);
    return r;
}

void di_reward_backward(const DiModel* m, double* ds, double* da, double dr,
                        const double* s, const double* a) {
    // r = -(s^T Q s + a^T R a): dr/ds = -(Q + Q^T) s, dr/da = -(R + R^T) a
    const int n = m->n, k = m->m;
    if (ds)
        for (int i = 0; i < n; i++) {
            double g = 0.0;
            for (int j = 0; j < n; j++) g += (m->Q[i * n + j] + m->Q[j * n + i]) * s[j];
            ds[i] -= dr * g;
        }
    if (da)
        for (int i = 0; i < k; i++) {
            double g = 0.0;
            for (int j = 0; j < k; j++) g += (m->R[i * k + j] + m->R[j * k + i]) * a[j];
            da[i] -= dr * g;
        }
}

// Acl (n, n) = A + B K.
static void closed_loop(const DiModel* m, const double* K, double* Acl) {
    const int n = m->n, k = m->m;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = m->A[i * n + j];
            for (int l = 0; l < k; l++) v += m->B[i * k + l] * K[l * n + j];
            Acl[i * n + j] = v;
        }
}

// 0 when sqrt(gamma) * spectral_radius(Acl) < 1, else -EDOM.
static int check_stable(const DiModel* m, const double* Acl) {
    const int n = m->n;
    double a[NN], wr[DI_MAX_N], wi[DI_MAX_N];
    memcpy(a, Acl, sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++)
        if (!isfinite(a[i])) return -EDOM;
    lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', n, a, n, wr, wi,
                                    NULL, 1, NULL, 1);
    if (info != 0) return -EDOM;
    double rho = 0.0;
    for (int i = 0; i < n; i++) rho = fmax(rho, hypot(wr[i], wi[i]));
    return sqrt(m->gamma) * rho < 1.0 ? 0 : -EDOM;
}

// Solve X = C + gamma F^T X F for X (n, n); C symmetric. Returns 0 or -EDOM.
static int lyap_solve(int n, double gamma, const double* F, const double* C, double* X) {
    double M[NN * NN];
    double b[NN];
    lapack_int ipiv[NN];
    const int N = n * n;
    // row (i, j) of (I - gamma F^T (x) F^T): X_ij - gamma sum_kl F_ki F_lj X_kl
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const int r = i * n + j;
            for (int k = 0; k < n; k++)
                for (int l = 0; l < n; l++)
                    M[r * N + k * n + l] = (r == k * n + l) - gamma * F[k * n + i] * F[l * n + j];
            b[r] = C[r];
        }
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, N, 1, M, N, ipiv, b, 1);
    if (info != 0) return -EDOM;
    for (int i = 0; i < n; i++)   // symmetrise away round-off
        for (int j = 0; j < n; j++) X[i * n + j] = 0.5 * (b[i * n + j] + b[j * n + i]);
    return 0;
}

int di_value_matrix(const DiModel* m, const double* K, double* P) {
    const int n = m->n, k = m->m;
    double Acl[NN], C[NN];
    closed_loop(m, K, Acl);
    int r = check_stable(m, Acl);
    if (r < 0) return r;
    // C = Q + K^T R K
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = m->Q[i * n + j];
            for (int a = 0; a < k; a++)
                for (int c = 0; c < k; c++) v += K[a * n + i] * m->R[a * k + c] * K[c * n + j];
            C[i * n + j] = v;
        }
    return lyap_solve(n, m->gamma, Acl, C, P);
}

// -(mu0^T P mu0 + tr(P Sigma0)) = -tr(P M0)
static double return_from_P(const DiModel* m, const double* P) {
    const int n = m->n;
    double J = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            J -= P[i * n + j] * (m->Sigma0[j * n + i] + m->mu0[i] * m->mu0[j]);
    return J;
}

int di_return(const DiModel* m, const double* K, double* J) {
    double P[NN];
    int r = di_value_matrix(m, K, P);
    if (r < 0) return r;
    *J = return_from_P(m, P);
    return 0;
}

int di_return_grad(const DiModel* m, const double* K, double* J, double* dJdK,
                   double* Pout, double* Sigmaout) {
    const int n = m->n, k = m->m;
    double P[NN], S[NN], Acl[NN], AclT[NN] = {0}, M0[NN] = {0};
    int r = di_value_matrix(m, K, P);
    if (r < 0) return r;
    closed_loop(m, K, Acl);
    // Sigma = M0 + gamma Acl Sigma Acl^T, i.e. the Lyapunov form with F = Acl^T.
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            AclT[i * n + j] = Acl[j * n + i];
            M0[i * n + j] = m->Sigma0[i * n + j] + m->mu0[i] * m->mu0[j];
        }
    r = lyap_solve(n, m->gamma, AclT, M0, S);
    if (r < 0) return r;
    // G (m, n) = R K + gamma B^T P Acl; dJ/dK = -2 G Sigma
    double G[DI_MAX_M * DI_MAX_N], PA[NN];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = 0.0;
            for (int l = 0; l < n; l++) v += P[i * n + l] * Acl[l * n + j];
            PA[i * n + j] = v;
        }
    for (int a = 0; a < k; a++)
        for (int j = 0; j < n; j++) {
            double v = 0.0;
            for (int c = 0; c < k; c++) v += m->R[a * k + c] * K[c * n + j];
            for (int i = 0; i < n; i++) v += m->gamma * m->B[i * k + a] * PA[i * n + j];
            G[a * n + j] = v;
        }
    for (int a = 0; a < k; a++)
        for (int j = 0; j < n; j++) {
            double v = 0.0;
            for (int l = 0; l < n; l++) v += G[a * n + l] * S[l * n + j];
            dJdK[a * n + j] = -2.0 * v;
        }
    if (J) *J = return_from_P(m, P);
    if (Pout) memcpy(Pout, P, sizeof(double) * n * n);
    if (Sigmaout) memcpy(Sigmaout, S, sizeof(double) * n * n);
    return 0;
}

double di_q_value(const DiModel* m, const double* P, const double* s, const double* a,
                  double* dq_ds, double* dq_da) {
    // Q(s, a) = r(s, a) - gamma s'^T P s', s' = A s + B a;
    // dQ/ds' = -2 gamma P s' (P symmetric), chained through A and B.
    const int n = m->n, k = m->m;
    double s2[DI_MAX_N], Ps2[DI_MAX_N];
    double q = di_step(m, s2, s, a);
    for (int i = 0; i < n; i++) {
        double v = 0.0;
        for (int j = 0; j < n; j++) v += P[i * n + j] * s2[j];
        Ps2[i] = v;
        q -= m->gamma * s2[i] * v;
    }
    if (dq_ds) {
        memset(dq_ds, 0, sizeof(double) * n);
        di_reward_backward(m, dq_ds, NULL, 1.0, s, a);
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++) dq_ds[j] -= 2.0 * m->gamma * Ps2[i] * m->A[i * n + j];
    }
    if (dq_da) {
        memset(dq_da, 0, sizeof(double) * k);
        di_reward_backward(m, NULL, dq_da, 1.0, s, a);
        for (int j = 0; j < k; j++)
            for (int i = 0; i < n; i++) dq_da[j] -= 2.0 * m->gamma * Ps2[i] * m->B[i * k + j];
    }
    return q;
}
