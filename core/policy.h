// SPDX-License-Identifier: Apache-2.0
// policy.h -- the tanh-squashed Gaussian policy pi_theta(a|s) (SAC / MAAC).
//
// net maps an observation to [mu (A) | log_std (A)] (MLP_HEAD_LINEAR, 2A outputs);
// log_std is clipped to [POLICY_LOG_STD_MIN, POLICY_LOG_STD_MAX]. Reparameterised:
//   u = mu + exp(log_std) * eps,  eps ~ N(0, I);  y = tanh(u);
//   a = act_low + (y + 1) / 2 * (act_high - act_low)        (the plant's action scale)
//   log pi(a|s) = sum_j [ log N(u_j; mu_j, std_j) - log(1 - y_j^2 + 1e-6) - log(scale_j) ]
// with scale_j = (act_high_j - act_low_j) / 2. The deterministic action uses eps = 0.
// A published Policy is immutable (the control thread holds a const Policy*).
// Thread: batch-1 functions are control-loop safe (no allocation, no BLAS);
// batched forward/backward are the learner's. Allocation: create/clone/load.
#ifndef MAAC_POLICY_H
#define MAAC_POLICY_H

#include <stdint.h>

#include "core/ckpt.h"
#include "core/mlp.h"

#define POLICY_LOG_STD_MIN (-20.0f)
#define POLICY_LOG_STD_MAX (2.0f)
#define POLICY_MAX_ACT 32
#define POLICY_MAX_VERSION 9007199254740992.0   // 2^53: versions are stored as float64

typedef struct {
    Mlp* net;                            // obs (obs_dim) -> [mu | log_std] (2*act_dim), owned
    int obs_dim;                         // S
    int act_dim;                         // A
    float act_low[POLICY_MAX_ACT];       // (A) action bounds
    float act_high[POLICY_MAX_ACT];      // (A)
    uint64_t version;                    // increases with every publication
    char plant[CKPT_NAME_LEN];           // plant it was trained on ("" if unknown)
} Policy;

// Create a policy with hidden layers of `hidden` widths (n_hidden of them) and
// activation act; parameters initialised from rng. NULL on bad sizes or OOM.
Policy* policy_create(int obs_dim, int act_dim, int n_hidden, const int* hidden, NnAct act,
                      const float* act_low, const float* act_high, Rng* rng);
// Free. Nullable: p.
void policy_free(Policy* p);
// Deep copy. NULL on OOM.
Policy* policy_clone(const Policy* p);

// Floats of scratch policy_act1 needs.
long policy_act1_scratch_floats(const Policy* p);
// One action for one observation: act (A) in the plant's scale. eps (A) is the
// reparameterisation noise; NULL gives the deterministic action tanh(mu).
// Control-loop safe: no allocation, no BLAS. Returns 0, or -EINVAL when obs holds
// NaN/Inf (act untouched).
int policy_act1(const Policy* p, const float* obs, const float* eps, float* act,
                float* scratch);

// ---- batched (learner) -------------------------------------------------------
typedef struct PolicyWork PolicyWork;
// Work for up to max_rows rows. NULL on OOM.
PolicyWork* policy_work_create(const Policy* p, int max_rows);
// Forward-only work (mlp_work_create_fwd: the AVX-512 feature-major forward where the
// CPU has it; outputs equal to float rounding): policy_backward must not follow.
PolicyWork* policy_work_create_fwd(const Policy* p, int max_rows);
// Work whose forwards run the feature-major kernel too but keep what policy_backward
// needs (mlp_work_create_fast): the MAAC actor.
PolicyWork* policy_work_create_fast(const Policy* p, int max_rows);
// Free. Nullable: w.
void policy_work_free(PolicyWork* w);
// a (B, A) and logp (B) for obs (B, S) with noise eps (B, A); eps NULL = deterministic
// (u = mu). Nullable: logp. Keeps what policy_backward needs.
void policy_forward(const Policy* p, PolicyWork* w, float* a, float* logp, const float* obs,
                    const float* eps, int B);
// Backward of the last policy_forward with w: adds dL/dtheta into grad (p->net->n_params)
// and dL/dobs into dobs (B, S), given da = dL/da (B, A) and dlogp = dL/dlogp (B).
// Nullable: grad, dobs, da, dlogp.
void policy_backward(const Policy* p, PolicyWork* w, float* grad, float* dobs, const float* da,
                     const float* dlogp);

// Save as a checkpoint of kind "policy" (network "policy", meta obs_dim, act_dim,
// act_low.<j>, act_high.<j>, version, plant). Atomic. 0 or -errno.
int policy_save(const Policy* p, const char* path, MaacErr* reterr);
// Load and validate a policy checkpoint. NULL with reterr filled on failure (also for
// a "version" that is not an integer in [0, POLICY_MAX_VERSION]).
Policy* policy_load(const char* path, MaacErr* reterr);
// As policy_load, refusing files over max_bytes (<= 0: the checkpoint limit).
Policy* policy_load_max(const char* path, long max_bytes, MaacErr* reterr);
// Build from / add to a decoded checkpoint (used by policy_load and full learner checkpoints).
Policy* policy_from_ckpt(const Ckpt* c, MaacErr* reterr);
int policy_to_ckpt(const Policy* p, Ckpt* c);

#endif
