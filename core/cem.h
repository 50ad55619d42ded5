// SPDX-License-Identifier: Apache-2.0
// cem.h -- CEM-MPC: test-time refinement of the policy's action with the ensemble and Q.
//
// Cross-entropy method over action sequences of length horizon (docs/architecture.md, docs/cem.md):
// the initial mean is the policy's deterministic actions along a mean-model rollout
// from the current state; each iteration samples population sequences, scores
//   J = sum_{t<h} gamma^t r(s_t, a_t, s_{t+1}) + gamma^h min_j Q_j(s_h, pi(s_h))
// averaged over ensemble members, keeps the elites and refits mean/std (with
// momentum). Returns the first action of the final mean.
// Members: in iteration i every candidate is scored under the same n_models elite
// members elites[(i * n_models + g) % n_elites] (mean predictions, no sampled
// noise), so candidates compete on equal terms and the iterations cycle through the
// elites; n_models = 0 scores every candidate under every elite (n_elites times the
// cost). Added: CemConfig.n_models (compatible addition).
// Thread: the control thread (with its own CemWork, preallocated), or the learner's
// evaluation. cem_plan allocates nothing.
#ifndef MAAC_CEM_H
#define MAAC_CEM_H

#include "core/ensemble.h"
#include "core/policy.h"
#include "core/qf.h"
#include "core/plant.h"

typedef struct {
    int population;     // candidate sequences per iteration (400)
    int n_elites;       // elites kept (40)
    int iterations;     // CEM iterations (5)
    int horizon;        // planning horizon h (5)
    float gamma;        // discount (0.99)
    float momentum;     // mean/std <- momentum * old + (1 - momentum) * elite (0.1)
    float init_std;     // initial std as a fraction of the action half-range (0.5)
    int n_models;       // elite members scoring every candidate in one iteration, rotating
                        // over the elites from iteration to iteration (1; 0 = all elites)
} CemConfig;

typedef struct CemWork CemWork;

void cem_config_default(CemConfig* cfg);
// Preallocate everything cem_plan needs for these networks. NULL on OOM.
CemWork* cem_work_create(const CemConfig* cfg, const Ensemble* ens, const Policy* pi,
                         const QFunction* q);
void cem_work_free(CemWork* w);                 // Nullable: w
// Plan from observation obs (S); writes the first action act (A). rng drives the
// sampling. Returns 0, or -EINVAL on NaN/Inf obs.
int cem_plan(const CemConfig* cfg, CemWork* w, const Ensemble* ens, const Policy* pi,
             const QFunction* q, const PlantModel* rf, const float* obs, Rng* rng,
             float* act);
// The objective J of given sequences seqs (population, horizon, act_dim) from obs, as
// cem_plan's iteration iter scores its candidates (members rotating with iter; NaN
// or Inf J gives -FLT_MAX): score (population). For tests and diagnostics; no
// allocation. Returns 0, or -EINVAL as cem_plan.
int cem_score(const CemConfig* cfg, CemWork* w, const Ensemble* ens, const Policy* pi,
              const QFunction* q, const PlantModel* rf, const float* obs, const float* seqs,
              int iter, float* score);

#endif
