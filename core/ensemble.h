// SPDX-License-Identifier: Apache-2.0
// ensemble.h -- bootstrap ensemble of probabilistic dynamics models f_phi.
//
// M members stacked in one Mlp (GAUSS head). Member m maps normalised
// concat(s, a) to a Gaussian over the normalised target y = [s' - s | r]
// (r only when learn_reward). Training: Gaussian NLL + 0.01 (sum max_logvar - sum
// min_logvar) on each member's own bootstrap resample, a held-out split for early
// stopping and elite selection (MBPO). Imagination step (reparameterised):
//   y_n = mu_m(s, a) + exp(logvar_m(s, a) / 2) * eps,  eps ~ N(0, I)
//   s' = s + target_mean[:S] + target_std[:S] * y_n[:S];  r = target_mean[S] + target_std[S] * y_n[S]
// with the member m chosen per row by the caller (uniform, docs/architecture.md).
// Thread: learner; a frozen copy may be read by the control thread's CEM with its
// own EnsStepWork; ens_train may run groups of members on a borrowed Workers team
// (ens_trainer_set_workers). Allocation: create/trainer/work functions.
#ifndef MAAC_ENSEMBLE_H
#define MAAC_ENSEMBLE_H

#include "core/adam.h"
#include "core/mlp.h"
#include "core/poll.h"
#include "core/replay.h"
#include "core/workers.h"

#define ENS_MAX_MEMBERS 16

typedef struct {
    Mlp* net;                     // M members: (S + A) -> GAUSS(n_out), owned
    int obs_dim;                  // S
    int act_dim;                  // A
    int n_out;                    // S (+1 with learn_reward)
    int learn_reward;             // 1: last output is the reward
    float* target_mean;           // (n_out) target normalisation
    float* target_std;            // (n_out)
    int n_elites;                 // elites in use (<= M)
    int elites[ENS_MAX_MEMBERS];  // member indices, best holdout loss first
} Ensemble;

typedef struct {
    int max_epochs;        // cap on epochs per ens_train call (e.g. 200)
    int batch;             // minibatch rows per member (256)
    float holdout_frac;    // share held out for validation (0.2)
    int max_holdout;       // cap on held-out rows (5000)
    int patience;          // stop after this many epochs with no member improving > 1% (5)
    float lr;              // Adam learning rate (1e-3)
    float weight_decay;    // decoupled weight decay (e.g. 5e-5)
    int n_elites;          // elites to keep (M if 0)
    double max_seconds;    // wall-clock cap per call (0 = none)
} EnsTrainConfig;

typedef struct {
    int epochs;            // epochs run
    float train_nll;       // last epoch's mean training NLL
    float holdout_mse;     // mean holdout MSE of the elites (normalised targets)
    float holdout_nll;     // mean holdout NLL of the elites
    double seconds;        // wall time
} EnsTrainStats;

typedef struct EnsTrainer EnsTrainer;
typedef struct EnsStepWork EnsStepWork;

// Fill cfg with the defaults above.
void ens_train_config_default(EnsTrainConfig* cfg);
// Create an ensemble of n_members models with n_hidden layers of `width`. NULL on OOM.
Ensemble* ens_create(int obs_dim, int act_dim, int n_members, int n_hidden, int width,
                     NnAct act, int learn_reward, Rng* rng);
void ens_free(Ensemble* e);                     // Nullable: e
Ensemble* ens_clone(const Ensemble* e);         // deep copy, NULL on OOM
void ens_copy(Ensemble* dst, const Ensemble* src);

// Trainer (optimiser, work buffers, index arrays). NULL on OOM.
EnsTrainer* ens_trainer_create(const Ensemble* e, const EnsTrainConfig* cfg);
void ens_trainer_free(EnsTrainer* t);           // Nullable: t
// Run ens_train's member groups on team w (borrowed; it must outlive its use here;
// NULL = serial, the default). With a team of n the M members are split into
// P = min(n, M) contiguous groups of near-equal size, one per team member, each
// with its own preallocated work; use single-threaded BLAS with a team. The fit is
// bit-identical to the serial one (the same per-member sgemms, elementwise Adam).
// 0, or -ENOMEM (the previous setting is kept).
int ens_trainer_set_workers(EnsTrainer* t, Workers* w);
// The trainer's optimiser (its moments and step carry over between ens_train calls;
// the learner state saves and restores them). Everything else in a trainer is rebuilt
// by every ens_train call.
Adam* ens_trainer_adam(const EnsTrainer* t);
// Safe-point hook (poll.h), called every 16 minibatches and after every epoch; a
// non-zero answer ends the fit early (best snapshots restored, elites picked, as at
// the time cap) and ens_train returns -ECANCELED. NULL fn: none (the default).
void ens_trainer_set_poll(EnsTrainer* t, MaacPollFn fn, void* arg);
// Epochs finished by the ens_train in progress (or the last one); for progress reports.
int ens_trainer_epochs(const EnsTrainer* t);
// Fit on every row of d_env (warm start): refresh normalisation, bootstrap, train
// with early stopping, pick elites. 0 or -ENOMEM / -EINVAL (too little data) /
// -ECANCELED (the poll hook asked to stop; the ensemble is consistent).
int ens_train(Ensemble* e, EnsTrainer* t, const ReplayBuffer* d_env, Rng* rng,
              EnsTrainStats* ret);

// Work for up to max_rows rows of imagination steps. NULL on OOM.
EnsStepWork* ens_step_work_create(const Ensemble* e, int max_rows);
// Forward-only work (mlp_work_create_fwd: the AVX-512 feature-major forward where the
// CPU has it; outputs equal to float rounding): ens_step_backward must not follow.
EnsStepWork* ens_step_work_create_fwd(const Ensemble* e, int max_rows);
// Forwards on the feature-major kernel, backward as usual (mlp_work_create_fast).
EnsStepWork* ens_step_work_create_fast(const Ensemble* e, int max_rows);
void ens_step_work_free(EnsStepWork* w);        // Nullable: w
// One imagined step for B rows: s2 (B, S), r (B; learned reward, only if learn_reward)
// from s (B, S), a (B, A); member (B) picks each row's model; eps (B, n_out) noise,
// NULL = mean prediction. Keeps what ens_step_backward needs. Nullable: r, eps.
void ens_step_forward(const Ensemble* e, EnsStepWork* w, float* s2, float* r, const float* s,
                      const float* a, const int* member, const float* eps, int B);
// Backward of the last ens_step_forward with w: ds (B, S) +=, da (B, A) += given
// ds2 (B, S) and dr (B). The parameters are frozen here (no parameter gradient).
// Nullable: ds, da, ds2, dr.
void ens_step_backward(const Ensemble* e, EnsStepWork* w, float* ds, float* da,
                       const float* ds2, const float* dr);
// Draw a member per row uniformly from the elites: member (B).
void ens_sample_members(const Ensemble* e, Rng* rng, int* member, int B);

#endif
