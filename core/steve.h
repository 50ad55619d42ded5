// SPDX-License-Identifier: Apache-2.0
// steve.h -- critic targets by stochastic ensemble value expansion (STEVE, Buckman et al.
// 2018) as MAAC uses them, and the twin-Q critic loss.
//
// For a batch of transitions (s, a, r, s', d) and horizons i = 0..H:
//   V_j(x) = Qtarg_j(x, a_x) - alpha log pi(a_x|x),  a_x ~ pi(x)           (j = 1, 2)
//   s_1 = s' for every member m; for k = 1..i: a_k ~ pi(s_k), s_{k+1} = f_m(s_k, a_k; xi),
//   r_k = r(s_k, a_k, s_{k+1}), masks c_1 = 1 - d, c_{k+1} = c_k (1 - done(s_{k+1}))
//   T_i^{(m, j)} = r + sum_{k=1..i} gamma^k c_k r_k + gamma^{i+1} c_{i+1} V_j(s_{i+1}^{(m)})
// Each member m (the dynamics' members(): the ensemble's elites) rolls its own CHAINED
// rollout with proper Gaussian sampling (one fresh noise draw per member and step); the
// first action a_1 ~ pi(s') is one sample shared by V(s_1) and every chain, later
// actions are drawn per chain. Per horizon (variances are population variances):
//   mean_i = mean over m of min_j T_i^{(m, j)}        (clipped double Q, as the 1-step target)
//   var_i  = variance over every (m, j) combination   (2M samples; horizon 0 has 2: the Qs)
// and the target is  sum_i w_i mean_i / sum_i w_i,  w_i = 1 / (v_i + 1e-8), where v_i
// shrinks the sample variance towards the pooled one so that a horizon whose few samples
// happen to agree (e.g. Q_1 = Q_2 at horizon 0) cannot take all the weight:
//   v_i = (n_i var_i + n0 pool) / (n_i + n0),  pool = mean_i var_i,  n0 = 1,
// n_i the horizon's sample count. (The released code gives horizon 0 variance 0 and
// weight 1e8, collapsing onto the 1-step target; docs/maac-vs-released-code.md.)
// With steve = 0 (or H = 0) the target is the plain 1-step clipped double-Q target.
// Critic loss: 0.5 * MSE of each Q_j against the (stop-gradient) target, summed over j.
// Thread: learner. Allocation: steve_create only.
#ifndef MAAC_STEVE_H
#define MAAC_STEVE_H

#include "core/maac.h"

#define STEVE_VAR_EPS 1e-8f   // w_i = 1 / (v_i + STEVE_VAR_EPS)
#define STEVE_SHRINK_N0 1.0f  // pseudo-samples of the pooled variance in v_i

typedef struct {
    int steve;          // 1: value expansion; 0: plain one-step target
    int horizon;        // H_steve (ignored when steve = 0)
    float gamma;
    int known_reward;   // 1: rew->reward; 0: the dynamics' reward head
    int soft_path;      // 1: imagined rewards r_i - alpha log pi(a_i|s_i) (i >= 1), the soft
                        // return SAC's Q stands for; 0: plain rewards (the released code)
} SteveConfig;

typedef struct Steve Steve;

// For up to max_batch transitions. dyn copied (ctx borrowed); rew borrowed (nullable when
// known_reward = 0). NULL on OOM or bad sizes.
Steve* steve_create(const SteveConfig* cfg, const MaacDynamics* dyn, const PlantModel* rew,
                    const Policy* pi, const QFunction* q, int max_batch);
void steve_free(Steve* st);   // Nullable: st
// Draw the noise of the next steve_targets over B transitions (policy eps at every level,
// model noise per member and step). Members are the dynamics' members() in order.
void steve_draw(Steve* st, Rng* rng, int B);
// target (B) for transitions s, s2 (B, S), a (B, A), r, done (B), using the current
// policy pi, target Qs qtarg and alpha. Optional ret_hmean/ret_hweight (H+1) get the
// batch mean of each horizon's mean_i and of its normalised weight (diagnostics).
void steve_targets(Steve* st, const Policy* pi, const QFunction* qtarg, float alpha,
                   const float* s, const float* a, const float* r, const float* s2,
                   const float* done, int B, float* target, float* ret_hmean,
                   float* ret_hweight);
// Critic loss and gradient: grad (q->net->n_params) += d/dtheta of
// sum_j 0.5 mean_b (Q_j(s_b, a_b) - target_b)^2. Returns the loss.
float steve_critic_loss(Steve* st, const QFunction* q, const float* s, const float* a,
                        const float* target, int B, float* grad);
// Noise buffers (tests may overwrite them after steve_draw). Level k = 1..H+1 holds the
// states s_k: level 1 is s' (B rows, shared by the members), levels k >= 2 are (M*B) rows,
// row m*B + b = member m's chain for transition b. Policy eps at level k: (B, A) for
// k = 1, (M*B, A) for k >= 2; model noise of the step s_k -> s_{k+1}, k = 1..H: (M*B, n_eps).
// The number of members M is the dynamics' members() at steve_draw.
float* steve_eps_policy(Steve* st, int k);
float* steve_eps_model(Steve* st, int k);
int steve_n_members(const Steve* st);
// FLOPs of one steve_targets + steve_critic_loss at B (GEMMs only, 2 per multiply-add).
double steve_flops(const Steve* st, int B);

#endif
