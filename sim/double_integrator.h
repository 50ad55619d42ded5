// SPDX-License-Identifier: Apache-2.0
// double_integrator.h -- the linear-quadratic testbed of the MAAC paper (Section 4.2):
// a double integrator with a linear policy and its exact policy gradient.
//
// Dynamics s' = A s + B a, reward r(s, a) = -(s^T Q s + a^T R a) (paid on the
// pre-step state), linear policy a = K s, discount gamma, initial state
// s0 ~ (mu0, Sigma0). The expected discounted return of K is closed form:
//   J(K) = E[sum_t gamma^t r(s_t, K s_t)] = -(mu0^T P mu0 + tr(P Sigma0)),
//   P = Q + K^T R K + gamma (A + B K)^T P (A + B K)      (discounted Lyapunov),
// and its gradient (differentiate the Lyapunov equation; Sigma is the discounted
// state second moment, the adjoint of P):
//   dJ/dK = -2 (R K + gamma B^T P (A + B K)) Sigma,
//   Sigma = M0 + gamma (A + B K) Sigma (A + B K)^T,  M0 = Sigma0 + mu0 mu0^T.
// Both Lyapunov equations are solved as vectorised n^2 x n^2 linear systems with
// LAPACKE_dgesv. J is finite only when sqrt(gamma) * spectral_radius(A + B K) < 1;
// otherwise the functions return -EDOM.
// The same system is the plant "double_integrator" of sim.h (obs = state, the plant
// never clamps the action, episodes truncate at 200 steps; J above is the
// infinite-horizon return).
// Matrices are row-major doubles: A (n, n), B (n, m), Q (n, n), R (m, m), K (m, n).
// Thread: any. Allocation: none (n <= DI_MAX_N).
#ifndef MAAC_DOUBLE_INTEGRATOR_H
#define MAAC_DOUBLE_INTEGRATOR_H

#define DI_MAX_N 4
#define DI_MAX_M 2

typedef struct {
    int n, m;                        // state and action widths (2, 1 for the default)
    double dt;                       // seconds per step
    double gamma;                    // discount of J
    double A[DI_MAX_N * DI_MAX_N];   // (n, n)
    double B[DI_MAX_N * DI_MAX_M];   // (n, m)
    double Q[DI_MAX_N * DI_MAX_N];   // (n, n) state cost, symmetric PSD
    double R[DI_MAX_M * DI_MAX_M];   // (m, m) action cost, symmetric PD
    double mu0[DI_MAX_N];            // (n) initial-state mean
    double Sigma0[DI_MAX_N * DI_MAX_N];  // (n, n) initial-state covariance
} DiModel;

// Fill the default double integrator: position/velocity, dt = 0.05,
// A = [1 dt; 0 1], B = [dt^2/2; dt], Q = diag(1, 0.1), R = 0.01, gamma = 0.99,
// mu0 = (1, 0), Sigma0 = diag(0.25, 0.25).
void di_default(DiModel* m);

// One step: s2 (n) = A s + B a; returns r(s, a) = -(s^T Q s + a^T R a).
double di_step(const DiModel* m, double* s2, const double* s, const double* a);

// Reward gradients: ds (n) += dr * dr/ds, da (m) += dr * dr/da. Nullable: ds, da.
void di_reward_backward(const DiModel* m, double* ds, double* da, double dr,
                        const double* s, const double* a);

// Value matrix P (n, n) of policy K (the discounted Lyapunov solution above).
// Returns 0, or -EDOM when K is not stabilising (under the discount).
int di_value_matrix(const DiModel* m, const double* K, double* P);

// Exact expected discounted return J(K). Returns 0 or -EDOM.
int di_return(const DiModel* m, const double* K, double* J);

// J(K) and dJ/dK (m, n). Returns 0 or -EDOM. Nullable: J, P (n, n), Sigma (n, n)
// (outputs of the two Lyapunov solves, for callers that want them).
int di_return_grad(const DiModel* m, const double* K, double* J, double* dJdK,
                   double* P, double* Sigma);

// The exact action value of policy K (the critic a MAAC estimate bootstraps with):
// Q^K(s, a) = r(s, a) + gamma * V(A s + B a), V(s) = -s^T P s, P = di_value_matrix(K).
// Writes dq_ds (n), dq_da (m) (overwritten, not accumulated). Nullable: dq_ds, dq_da.
double di_q_value(const DiModel* m, const double* P, const double* s, const double* a,
                  double* dq_ds, double* dq_da);

#endif
