// SPDX-License-Identifier: Apache-2.0
// learner.h -- the MAAC learner, end to end: data, models, critic, actor, schedule.
//
// Owns D_env, D_model, the dynamics ensemble, the twin Qs and their targets, the
// policy, the entropy coefficient and every optimiser. The caller feeds real
// transitions (from `maac train`'s own plant, or from maacd's control thread) and
// calls learner_train_step once per env step; the learner then does what is due:
// retrain the models every model_fit_freq steps, refresh D_model with k-step
// branched rollouts, and run updates_per_step critic (STEVE) + actor (MAAC) +
// entropy updates. The policy it trains is its own; learner_snapshot_policy gives an
// immutable copy to publish. Defaults: docs/training.md.
// Thread: learner only. Allocation: learner_create (everything), snapshots.
#ifndef MAAC_LEARNER_H
#define MAAC_LEARNER_H

#include <stdint.h>

#include "core/err.h"
#include "core/policy.h"
#include "core/qf.h"
#include "core/ensemble.h"
#include "core/cem.h"
#include "core/replay.h"
#include "core/ckpt.h"
#include "core/plant.h"
#include "core/poll.h"

typedef struct {
    char plant[48];           // plant name (a label: the plant itself is a PlantModel)
    uint64_t seed;            // everything random derives from it
    // MAAC actor
    int horizon;              // H: imagined steps before the terminal Q (4; walker2d 2; 0 = SAC)
    int n_paths;              // K: sampled paths per start state (1 = "single sample" ablation)
    int terminal_actions;     // actions averaged in the terminal Q (5)
    int real_only;            // 1: start states only from D_env (ablation)
    int known_reward;         // 1: plant's differentiable reward; 0: learned reward head;
                              // -1 (default): resolved at learner_create to the plant's
                              // `exact` where it has a reward, else 0
    // critic
    int steve;                // 1: STEVE value expansion targets; 0: one-step targets
    int steve_horizon;        // H of the value expansion (2)
    // entropy
    int auto_entropy;         // 1: tune alpha to target_entropy
    float alpha;              // initial / fixed alpha (1.0 auto, else fixed)
    float target_entropy;     // default -act_dim
    int no_entropy;           // 1: alpha = 0 (ablation)
    int soft_path;            // 1: -alpha log pi at every imagined action (actor path and
                              // STEVE rewards); 0: the actor's first action only (released code)
    // optimisation
    float gamma;              // 0.99
    float tau;                // Polyak rate 5e-3
    float policy_avg_tau;     // > 0: keep a Polyak average of the policy weights (rate per
                              // update) and publish/evaluate it instead of the online
                              // policy, which still collects data and rolls out; 0: off
    float lr_policy, lr_q, lr_alpha, lr_model;   // 3e-4, 3e-4, 3e-4, 1e-3
    int batch;                // 256
    int updates_per_step;     // 8
    float real_ratio;         // 0.05 share of real data in each batch
    // networks
    int policy_hidden, policy_width; NnAct policy_act;   // 2 x 256
    int q_hidden, q_width; NnAct q_act;                  // 2 x 256
    int n_models, model_hidden, model_width; NnAct model_act;  // 8 x (4 x 200, swish)
    int n_elites;             // elites used in rollouts (M)
    // data schedule
    int init_random_steps;    // uniform-random actions before learning (5000)
    int model_train_freq;     // env steps between D_model refreshes (250)
    int model_fit_freq;       // env steps between model fits (1000, the released MAAC
                              // trainer; 0 = at every refresh, as MBPO)
    int rollout_batch;        // start states per D_model refresh (100000)
    int rollout_schedule[4];  // [e0, e1, k0, k1]: k grows from k0 to k1 between epochs e0..e1
    long env_capacity, model_capacity;   // 1e6, 2e6
    // evaluation
    int mpc_eval;             // 1: CEM-MPC at evaluation
    CemConfig cem;
    // additions (learner_config.c)
    int model_retain;         // model-fit refreshes of D_model kept per epoch (MBPO retain_epochs, 1)
    int model_max_epochs;     // cap on epochs per ens_train (200)
    float model_max_seconds;  // wall-clock cap per ens_train (0 = none)
    int model_patience;       // early-stopping patience in epochs (5)
    float model_weight_decay; // decoupled weight decay of the model optimiser (5e-5)
    int model_batch;          // model minibatch rows (256)
    float grad_clip;          // max L2 norm of policy/Q gradients (0 = no clipping)
    int rollout_chunk;        // rows per rollout chunk (bounds rollout memory, 4096)
    int threads;              // learner threads (2): >= 2 runs the actor and the critic
                              // targets of an update, and groups of ensemble members in a
                              // model fit, at once, each with single-threaded OpenBLAS
                              // (set process-wide); 1: one thread, BLAS as the environment
                              // sets it. Results are identical for every value.
} LearnerConfig;

typedef struct {
    long env_steps;           // real transitions added
    long updates;             // gradient updates done (critic + actor pairs)
    long interleaved_updates; // of which run inside model fits/refreshes (realtime)
    int model_fits;           // ens_train calls
    int model_refreshes;      // D_model refreshes (rollout rounds)
    int rollout_len;          // current k
    float alpha;              // current entropy coefficient
    float q_loss, pi_loss, model_holdout_mse;
    double t_model, t_policy, t_q, t_rollout;   // seconds spent (Table 1 breakdown); with
                                                // threads >= 2 t_policy and t_q overlap
    double t_updates;         // wall seconds of the updates (critic and actor together)
} LearnerStats;

typedef struct Learner Learner;

// Fill cfg with the defaults for a plant (spec gives dimensions and bounds).
void learner_config_default(LearnerConfig* cfg, const char* plant);
// Presets: "small" (the small-plant settings of docs/training.md: small nets and models,
// 500 random steps, 10 updates per step) or "locomotion" (the MuJoCo locomotion
// defaults). Applied over cfg (plant and seed kept); apply a preset before any other
// setting. 0 or -EINVAL.
int learner_config_preset(LearnerConfig* cfg, const char* preset, MaacErr* reterr);
// The preset that fits a plant without tuned defaults (any name but the built-in
// plants'; for those NULL: their own defaults): "small" for at most 2 action and 16
// observation entries, or, at control periods of 20 ms or more, 4 and 32; else
// "locomotion".
const char* learner_config_auto_preset(const char* plant, int obs_dim, int act_dim,
                                       double period);
// Set one setting by name from text ("horizon", "lr_q", "rollout_schedule" = "20,100,1,1",
// "policy_act" = "relu", "cem.population", ...; names as the fields; "preset" applies
// learner_config_preset). 0, -ENOENT (unknown
// key) or -EINVAL (bad value), with reterr filled.
int learner_config_set(LearnerConfig* cfg, const char* key, const char* value, MaacErr* reterr);
// Write every setting as "key = value" lines (INI body, no section header) to f (a FILE*).
void learner_config_print(const LearnerConfig* cfg, void* f);
// Check a configuration for consistency. 0 or -EINVAL with reterr filled.
int learner_config_check(const LearnerConfig* cfg, MaacErr* reterr);
// Create everything for a plant: its widths and action bounds, and its reward and
// termination where known (plant.h; the learner keeps a copy). known_reward = -1 resolves
// here (learner_config shows the resolved value). NULL with reterr on failure.
Learner* learner_create(const LearnerConfig* cfg, const PlantModel* plant, MaacErr* reterr);
void learner_free(Learner* l);    // Nullable: l
// Add one real transition (terminated = true end; truncation is not terminal).
void learner_add_transition(Learner* l, const float* s, const float* a, float r,
                            const float* s2, int terminated);
// Do what is due after one env step (model fit, rollouts, updates). 0 or -errno;
// -ECANCELED when the poll hook asked to stop (see learner_set_poll).
int learner_train_step(Learner* l);
// Safe-point hook (poll.h) for long work: called between updates, between model-fit
// minibatches and between rollout chunks. A non-zero answer abandons the train step in
// progress: a cut model fit keeps its best snapshots and is redone at the next step,
// a cut refresh keeps the rows added so far, updates already done stay done. The hook
// may call learner_add_transition (new rows are only read by the next piece of work).
void learner_set_poll(Learner* l, MaacPollFn fn, void* arg);
// Realtime only (maacd with a plant that does not wait): from inside the poll hook,
// while a model fit or D_model refresh is in progress, run up to n updates on the
// current models, D_env and D_model, so that learning goes on during long fits. Does
// nothing (returns 0) in any other phase, before the first train step's updates, or when
// the updates already done reach learner_update_cap. Returns the number of updates
// done, or -errno from an update. A train step after interleaved updates runs only
// what is left under the cap. Never called by `maac train` or in lock-step, which stay
// the same algorithm.
int learner_interleave_updates(Learner* l, int n);
// updates_per_step x (env steps - init_random_steps + 1): the most updates the learner
// may have done for the data it has (a slow robot is not over-fitted). In lock-step
// every train step's updates_per_step updates fit under it exactly.
long learner_update_cap(const Learner* l);
// Start the learner's policy (and its average) from p's weights, for a learner that
// begins with a trained policy but no saved state: p must have the learner's policy
// shape. Snapshot versions continue after p->version. The actor (and alpha) are held
// for hold_updates updates so the fresh critic learns first and the loaded policy is
// not pulled toward an untrained Q. 0 or -EINVAL with reterr.
int learner_start_from_policy(Learner* l, const Policy* p, long hold_updates, MaacErr* reterr);
// 1 while the actor is held (learner_start_from_policy's critic warm-up).
int learner_actor_held(const Learner* l);
// What the learner is doing (for progress reports from its poll hook): the phase, its
// start (CLOCK_MONOTONIC seconds) and, in a model fit, the epochs finished.
typedef enum { LEARNER_IDLE = 0, LEARNER_FIT, LEARNER_ROLLOUT, LEARNER_UPDATES } LearnerPhase;
LearnerPhase learner_phase(const Learner* l, double* ret_since_s, int* ret_fit_epochs);
const char* learner_phase_name(LearnerPhase p);
// Action for collection: uniform random during init_random_steps, else a policy sample
// (deterministic = 1: tanh(mu)). act (A).
void learner_act(Learner* l, const float* obs, int deterministic, float* act);
// The learner's current (online) policy (owned, changes with every update).
const Policy* learner_policy(const Learner* l);
// The policy the learner deploys: the Polyak average of the policy weights when
// policy_avg_tau > 0, else the online policy (owned, changes with every update).
const Policy* learner_deploy_policy(const Learner* l);
// An immutable copy of the deployed policy for publication (version bumped). NULL on OOM.
Policy* learner_snapshot_policy(Learner* l);
// Current statistics.
void learner_stats(const Learner* l, LearnerStats* ret);
// Access to the parts (tests, CEM evaluation, checkpoints).
const Ensemble* learner_ensemble(const Learner* l);
const QFunction* learner_qf(const Learner* l);
// Additions (learner.c, learner_ckpt.c):
const QFunction* learner_qf_target(const Learner* l);
const LearnerConfig* learner_config(const Learner* l);        // resolved settings
const PlantModel* learner_plant(const Learner* l);           // the plant's model (a copy)
const ReplayBuffer* learner_env_buffer(const Learner* l);     // D_env
const ReplayBuffer* learner_model_buffer(const Learner* l);   // D_model
// Rows of a batch drawn from D_env: batch with real_only or an empty D_model, else
// int(batch * real_ratio) (MBPO); the rest come from D_model.
int learner_real_rows(const LearnerConfig* cfg, long model_size);
// D_model capacity for rollout length k: model_capacity if set, else
// model_retain * k * rollout_batch * (1000 / model_train_freq) (MBPO's model pool).
long learner_model_capacity(const LearnerConfig* cfg, int k);
// Save policy + Qs + target Qs + ensemble (with its normalisation and elites) as a
// checkpoint of kind "learner" (atomic). 0 or -errno.
int learner_save(const Learner* l, const char* path, MaacErr* reterr);
// Load the parts of a learner checkpoint for evaluation/planning; the caller frees
// them. 0 or -errno with reterr filled (nothing returned on failure).
int learner_ckpt_load(const char* path, Policy** ret_pi, QFunction** ret_qf,
                      Ensemble** ret_ens, MaacErr* reterr);


// ---- exact resume (learner_state.c) ---------------------------------------------------
// A checkpoint of kind "learner_state" (docs/checkpoint-format.md) holds EVERYTHING that
// carries over between learner_train_step calls: the resolved settings, the five random
// streams, D_env and D_model (used rows, in slot order, with head and counters), the
// ensemble with its normalisations and elites, policy, Qs, target Qs, the Adam moments
// and steps of the policy, Q, ensemble and entropy optimisers, log alpha, the stats,
// version, last_fit_step and last_refresh_step. A learner loaded from it and the one
// that saved it, fed the same transitions and calls, stay bit-identical (for any
// `threads`, and as long as model_max_seconds = 0: a wall-clock cap is not
// reproducible). The file holds the used rows only; like every checkpoint it must stay
// under CKPT_MAX_FILE_BYTES (1 GiB).
#define LEARNER_STATE_MAX_EXTRA 24
// Caller numbers saved with the state (meta "x.<key>"; `maac train` keeps its episode
// counter, timings etc. there). Keys of 1..30 bytes; values are doubles (integers exact
// up to 2^53).
typedef struct {
    int n;
    char key[LEARNER_STATE_MAX_EXTRA][32];
    double val[LEARNER_STATE_MAX_EXTRA];
} LearnerStateExtra;
// Set / get one extra number (0 or -ENOSPC; get returns dflt when absent; Nullable: x in get).
int learner_state_extra_set(LearnerStateExtra* x, const char* key, double v);
double learner_state_extra_get(const LearnerStateExtra* x, const char* key, double dflt);
// Save the complete state atomically (temp file, fsync, rename). 0 or -errno.
// Nullable: extra.
int learner_state_save(const Learner* l, const char* path, MaacErr* reterr);
int learner_state_save_ex(const Learner* l, const LearnerStateExtra* extra, const char* path,
                          MaacErr* reterr);
// The state as file bytes in memory (malloc'd into *ret_buf, for writing elsewhere
// with maac_write_atomic), so the learner is busy only for the encoding and another
// thread does the I/O. flags: LEARNER_STATE_NO_D_MODEL leaves D_model out (saved
// empty, with the refresh due at the first step after loading: maacd's schedule; a
// run saved so does not resume bit for bit). 0 or -errno with reterr.
#define LEARNER_STATE_NO_D_MODEL 1
int learner_state_encode(const Learner* l, const LearnerStateExtra* extra, int flags,
                         char** ret_buf, size_t* ret_len, MaacErr* reterr);
// Create a learner from a saved state: learner_create with the saved settings, obs/act
// dimensions and action bounds, then every saved field restored. plant gives the reward
// and termination (its widths must match the file's; NULL: a plant with none known).
// A truncated, corrupt, wrong-kind or inconsistent file is refused: NULL with reterr
// filled, nothing leaked. ret_extra (nullable) receives the caller numbers saved with it.
Learner* learner_state_load(const char* path, const PlantModel* plant, MaacErr* reterr);
// threads > 0 replaces the saved thread count (a run's results do not depend on it, so a
// run can move to a machine with more or fewer cores); 0 keeps the saved one.
Learner* learner_state_load_ex(const char* path, const PlantModel* plant, int threads,
                               LearnerStateExtra* ret_extra, MaacErr* reterr);

#endif
