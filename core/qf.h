// SPDX-License-Identifier: Apache-2.0
// qf.h -- twin Q-functions Q_1, Q_2 (s, a) -> R, stacked as one 2-member Mlp.
//
// Clipped double Q (Fujimoto et al. 2018; SAC): targets and the MAAC terminal
// value use min(Q_1, Q_2). The input is concat(s, a); both members see it.
// Target copies are a second QFunction updated by Polyak averaging (adam.h).
// Thread: learner (and CEM on the control thread with its own QfWork).
// Allocation: create/clone/work_create.
#ifndef MAAC_QF_H
#define MAAC_QF_H

#include "core/mlp.h"

#define QF_N 2

typedef struct {
    Mlp* net;       // 2 members: (S + A) -> 1, LINEAR head, owned
    int obs_dim;    // S
    int act_dim;    // A
} QFunction;

typedef struct QfWork QfWork;

// Create twin Qs with n_hidden hidden layers of the given widths. NULL on OOM.
QFunction* qf_create(int obs_dim, int act_dim, int n_hidden, const int* hidden, NnAct act,
                     Rng* rng);
void qf_free(QFunction* q);            // Nullable: q
QFunction* qf_clone(const QFunction* q);
QfWork* qf_work_create(const QFunction* q, int max_rows);
// Forward-only work (mlp_work_create_fwd): qf_backward must not follow.
QfWork* qf_work_create_fwd(const QFunction* q, int max_rows);
// Forwards on the feature-major kernel, backward as usual (mlp_work_create_fast).
QfWork* qf_work_create_fast(const QFunction* q, int max_rows);
void qf_work_free(QfWork* w);          // Nullable: w
// q (2, B): q[j*B + b] = Q_j(s_b, a_b); s (B, S); a (B, A).
void qf_forward(const QFunction* q, QfWork* w, float* qout, const float* s, const float* a, int B);
// Backward of the last qf_forward with w, given dq (2, B): grad (n_params) +=,
// ds (B, S) +=, da (B, A) +=. Nullable: grad, ds, da.
void qf_backward(const QFunction* q, QfWork* w, float* grad, float* ds, float* da,
                 const float* dq);

#endif
