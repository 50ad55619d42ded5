// SPDX-License-Identifier: Apache-2.0
// fig2.h -- the paper's Figure 2 (Section 4.2) as a command: L1 error of the MAAC policy
// gradient against the analytic dJ/dK on the double integrator, for H = 0..hmax, with
// the true dynamics and with learned dynamics, one learned Q per seed
// (`maac bench fig2`, docs/results.md). tests/test_di_gradient.c is the checked core.
// Thread: one thread. Allocation: fig2_run (everything, freed before it returns).
#ifndef MAAC_FIG2_H
#define MAAC_FIG2_H

#include "core/err.h"

enum { FIG2_HMAX = 32 };

typedef struct {
    unsigned long long seed;   // start states, Q training data and model data derive from it
    int hmax;                  // largest H (<= FIG2_HMAX)
    int n_start;               // start states per block (512)
    int q_steps;               // Adam steps regressing Q on closed-form Q^K values (3000)
    int model_rows;            // transitions the learned linear model is fitted on (64)
    double model_noise;        // std of the Gaussian noise on their next states (0.02)
} Fig2Config;

typedef struct {
    double err_true[FIG2_HMAX + 1];      // L1 error with the true dynamics
    double err_learned[FIG2_HMAX + 1];   // L1 error with the learned dynamics
    double grad_l1;                      // |dJ/dK|_1 (for relative errors)
    double q_rel_rms;                    // the learned Q's relative RMS error
    double model_err;                    // max |[A B]_learned - [A B]| entry
} Fig2Result;

void fig2_config_default(Fig2Config* c);
// One seed. 0 or -errno (reterr filled).
int fig2_run(const Fig2Config* c, Fig2Result* ret, MaacErr* reterr);
// `maac bench fig2 [--seeds N] ...` with argv[0] = "fig2": CSV of every seed and H.
int fig2_main(int argc, char** argv);

#endif
