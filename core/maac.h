// SPDX-License-Identifier: Apache-2.0
// maac.h -- the MAAC actor objective with its pathwise gradient, and the entropy coefficient.
//
// Paper eq. (MAAC policy objective, Clavera et al. 2020, Sec. 4):
//   J(theta) = E[ sum_{t<H} gamma^t m_t r(s_t, a_t, s_{t+1})
//                 + gamma^H m_H (1/N_a) sum_n min_j Q_j(s_H, a_H^n) ] - alpha E[log pi(a_0|s_0)]
//   a_t = pi_theta(s_t; eps_t) (reparameterised), s_{t+1} = f(s_t, a_t; member_t, xi_t),
//   m_0 = 1, m_{t+1} = m_t (1 - done(s_{t+1}))   (termination masks later terms),
// with K = n_paths sampled paths per start state: B start states give N = B*K rows,
// row b*K + k is path k of start state b. Loss = -mean over rows of J.
// The entropy term is paid at the first step only (as the released code); with
// H = 0 the first-step actions ARE the N_a terminal actions, so the loss is exactly
// SAC's actor loss mean_n(alpha log pi(a^n|s) - min_j Q_j(s, a^n)) over N*N_a samples.
// With soft_path = 1 every imagined action pays it, so J is the path's soft
// (maximum-entropy) value, the quantity SAC's soft Q stands for:
//   J_i = sum_t gamma^t m_t (r_t - alpha log pi(a_t|s_t))
//         + gamma^H m_H (1/N_a) sum_n (min_j Q_j(s_H, a_H^n) - alpha log pi(a_H^n|s_H)).
// alpha is still tuned on the first-step log pi only (the policy's entropy at D states).
// The gradient flows through the policy (dtheta and dobs), the dynamics (ds, da), the
// reward (ds, da, ds'), and Q's inputs (online Qs; Q parameters get no gradient), and
// is accumulated into the POLICY parameters only. Terminations are a stop-gradient mask.
//
// Every random quantity (policy eps per step, model noise and member per step,
// terminal-action eps) is drawn by maac_actor_draw into the actor's own buffers, so a
// forward pass is a deterministic function of (theta, s_0) and can be checked by finite
// differences (maac_actor_eps_* expose the buffers to tests).
//
// Dynamics are a small vtable (MaacDynamics) so the same objective runs on the learned
// Ensemble (maac_dynamics_ensemble) or on true known dynamics such as the double
// integrator (maac_dynamics_linear) -- the paper's Section 4.2 experiment.
// Thread: learner. Allocation: the _create functions only; forward/backward/draw never allocate.
#ifndef MAAC_MAAC_H
#define MAAC_MAAC_H

#include "core/adam.h"
#include "core/ensemble.h"
#include "core/policy.h"
#include "core/qf.h"
#include "core/rng.h"
#include "core/plant.h"

// ---- dynamics vtable ------------------------------------------------------------
// One imagined step over B rows, differentiable w.r.t. (s, a). Work is per step
// (holds what the backward needs); noise is explicit.
typedef struct {
    void* ctx;                 // the model (borrowed), e.g. an Ensemble*
    int obs_dim, act_dim;      // S, A
    int n_eps;                 // noise floats per row per step (0: deterministic)
    int has_reward;            // 1: step_forward also predicts the reward (learned head)
    double macs_row;           // multiply-adds of one step_forward per row (FLOP counts)
    // Work for up to max_rows rows; NULL on OOM.
    void* (*work_create)(void* ctx, int max_rows);
    // Work for forward steps only (step_backward never follows); NULL: use work_create.
    void* (*work_create_fwd)(void* ctx, int max_rows);
    void (*work_free)(void* work);
    // Members usable for imagination: writes up to ENS_MAX_MEMBERS ids, returns the count.
    int (*members)(void* ctx, int* ret_ids);
    // Draw per-row member ids (uniform over members()) and noise eps (B, n_eps), N(0, 1).
    void (*draw)(void* ctx, Rng* rng, int* member, float* eps, int B);
    // s2 (B, S), r (B, only if has_reward; nullable) from s (B, S), a (B, A).
    void (*step_forward)(void* ctx, void* work, float* s2, float* r, const float* s,
                         const float* a, const int* member, const float* eps, int B);
    // ds (B, S) +=, da (B, A) += given ds2 (B, S) and dr (B; nullable). Nullable: ds, da.
    void (*step_backward)(void* ctx, void* work, float* ds, float* da, const float* ds2,
                          const float* dr);
} MaacDynamics;

// The learned ensemble (reparameterised noise, members drawn uniformly from the elites).
void maac_dynamics_ensemble(MaacDynamics* d, const Ensemble* e);
// Known linear dynamics s' = A s + B a (A (S, S), B (S, A) row-major floats, borrowed;
// deterministic, one "member"). Used for the double integrator (Section 4.2).
typedef struct {
    int S, A;
    const float* Amat;   // (S, S)
    const float* Bmat;   // (S, A)
} MaacLinearModel;
void maac_dynamics_linear(MaacDynamics* d, const MaacLinearModel* lm);

// ---- actor objective --------------------------------------------------------------
typedef struct {
    int horizon;            // H (0 = SAC's actor loss)
    int n_paths;            // K paths per start state (>= 1)
    int terminal_actions;   // N_a actions averaged in the terminal value (>= 1)
    float gamma;            // discount
    int known_reward;       // 1: rew->reward (differentiable known reward); 0: dynamics' reward head
    int soft_path;          // 1: -alpha log pi at every imagined action (see above); 0: first only
} MaacConfig;

typedef struct MaacActor MaacActor;

// Actor for up to max_batch start states. dyn is copied (its ctx is borrowed); rew is
// borrowed (nullable when known_reward = 0: then no terminations). The policy and Q
// fix the sizes of the work buffers; later calls must pass networks of the same shape.
// NULL on OOM or inconsistent sizes.
MaacActor* maac_actor_create(const MaacConfig* cfg, const MaacDynamics* dyn,
                             const PlantModel* rew, const Policy* pi, const QFunction* q,
                             int max_batch);
void maac_actor_free(MaacActor* ma);   // Nullable: ma
// Draw every noise input for B start states (N = B*K rows) from rng.
void maac_actor_draw(MaacActor* ma, Rng* rng, int B);
// Forward pass on start states s0 (B, S) with the drawn noise: returns the loss
// -mean J. Keeps everything maac_actor_backward needs.
float maac_actor_forward(MaacActor* ma, const Policy* pi, const QFunction* q, const float* s0,
                         int B, float alpha);
// grad (pi->net->n_params) += dLoss/dtheta of the last forward (pathwise).
// Optional ret_ds0 (B, S) += dLoss/ds0 (tests; NULL normally).
void maac_actor_backward(MaacActor* ma, const Policy* pi, const QFunction* q, float* grad,
                         float* ret_ds0);
// Mean log pi of the first-step actions of the last forward (for the alpha update).
float maac_actor_mean_logp(const MaacActor* ma);
// Figures of the last forward: mean discounted imagined reward sum, mean terminal value.
void maac_actor_last_stats(const MaacActor* ma, float* ret_reward, float* ret_terminal);
// Share of rows of the last forward still alive (not terminated) at s_H.
float maac_actor_alive_frac(const MaacActor* ma);
// Noise buffers (tests may overwrite them after maac_actor_draw):
//   policy eps of step t < H: (N, A); model member ids (N) and noise (N, n_eps) of step t;
//   terminal-action eps: (N*N_a, A), row (i*N_a + n) is action n of row i.
float* maac_actor_eps_policy(MaacActor* ma, int t);
int* maac_actor_members(MaacActor* ma, int t);
float* maac_actor_eps_model(MaacActor* ma, int t);
float* maac_actor_eps_terminal(MaacActor* ma);
// FLOPs of one forward+backward at B start states (2 per multiply-add, GEMMs only).
double maac_actor_flops(const MaacActor* ma, int B);

// ---- entropy coefficient (SAC v2) --------------------------------------------------
// alpha = exp(log_alpha); auto-tuning minimises -log_alpha (E[log pi] + target_entropy)
// with Adam. Modes: auto (tuned), fixed alpha, or none (alpha = 0, the ablation).
typedef struct {
    int auto_tune;          // 1: tuned
    int none;               // 1: alpha = 0 always
    float log_alpha;
    float target_entropy;   // usually -act_dim
    Adam* opt;              // 1-parameter Adam (auto only), owned
} MaacAlpha;

// 0 or -ENOMEM. alpha0 is the initial (auto) or fixed value (> 0 unless none).
int maac_alpha_init(MaacAlpha* al, int auto_tune, int none, float alpha0, float target_entropy,
                    float lr);
void maac_alpha_free(MaacAlpha* al);   // frees opt
float maac_alpha_value(const MaacAlpha* al);
// One update from the batch mean of log pi (no-op unless auto). Returns the alpha loss.
float maac_alpha_update(MaacAlpha* al, float mean_logp);

#endif
