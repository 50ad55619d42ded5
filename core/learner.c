// SPDX-License-Identifier: Apache-2.0
// learner.c -- the MAAC training loop: data, model fits, D_model refreshes, updates.
//
// Per env step (learner_train_step), after init_random_steps uniform-random steps:
//   1. every model_train_freq steps: if model_fit_freq steps have passed since the last
//      fit (or at every refresh when it is 0, as MBPO), fit the ensemble on all of D_env
//      (ens_train); set k from the rollout-length schedule (epochs of 1000 env steps)
//      and refresh D_model with rollout_batch k-step branched rollouts of the current
//      policy (rollout.c; D_model holds model_retain refreshes per epoch, MBPO's pool).
//      The locomotion default fits once per 1000 steps and refreshes every 250, as the
//      released MAAC trainer does (docs/maac-vs-released-code.md: fit, then 4 x (rollout chunk +
//      2000 updates) per 1000-step iteration);
//   2. updates_per_step times: sample a batch, real_ratio of it from D_env and the
//      rest from D_model (all from D_env with real_only or while D_model is empty);
//      from the SAME parameters (as the released code's single sess.run of Q, policy
//      and alpha; docs/maac-vs-released-code.md): the critic gradient (STEVE value expansion, or
//      one-step targets) and the MAAC actor gradient from the batch's start states
//      (H = 0 is SAC's actor); then the Adam steps of both, the entropy coefficient
//      update, and the Polyak update of the target Qs with tau; with policy_avg_tau > 0
//      also the Polyak average of the policy weights (Polyak-Ruppert iterate averaging,
//      as SWA for RL, Nikishin et al. 2018), which is what the learner publishes and
//      evaluates while the online policy keeps collecting data and rolling out.
// Two cores (threads >= 2): the actor and the first B/8 rows of the critic targets
// (B/2 with H = 0, whose actor is cheap) run on a worker thread while the learner
// thread computes the other rows' targets (the two parts take about as long); model fits run groups of
// ensemble members at once (ens_trainer_set_workers). Each part has its own random
// stream (actor_rng, critic_rng[2]) and every part's arithmetic is the same whatever
// runs it, so a seed gives the same run for any thread count.
// The target update runs after EVERY gradient step: that is what SAC does
// (target_update_interval = 1) and what MAAC's released trainer does in effect
// (docs/maac-vs-released-code.md, its interval counter never advances).
// Time spent in each part is accumulated for the Table 1 breakdown (LearnerStats).
// The Learner struct is in learner_internal.h: learner_state.c saves and restores it.
// Thread: learner only. Allocation: learner_create, snapshots, D_model reallocation
// when the rollout length changes (MBPO `_reallocate_model_pool`).
#include "core/learner.h"
#include "core/learner_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/adam.h"
#include "core/maac.h"
#include "core/replay.h"
#include "core/rollout.h"
#include "core/steve.h"
#include "core/learner_preset.h"
#include "core/workers.h"

#include <cblas.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Largest rollout length the schedule reaches.
static int sched_k_max(const int s[4]) { return s[2] > s[3] ? s[2] : s[3]; }

void learner_free(Learner* l) {
    if (!l)
        return;
    replay_free(l->d_env);
    replay_free(l->d_model);
    ens_free(l->ens);
    ens_trainer_free(l->ens_tr);
    rollout_work_free(l->roll);
    policy_free(l->pi);
    policy_free(l->pi_avg);
    qf_free(l->qf);
    qf_free(l->qf_targ);
    maac_actor_free(l->actor);
    steve_free(l->critic);
    steve_free(l->critic_head);
    workers_free(l->team);   // after ens_trainer_free: the trainer borrows it
    maac_alpha_free(&l->alpha);
    adam_free(l->opt_pi);
    adam_free(l->opt_q);
    free(l->grad_pi);
    free(l->grad_q);
    free(l->q_target);
    free(l->bs);
    free(l->ba);
    free(l->br);
    free(l->bs2);
    free(l->bd);
    free(l->act_scratch);
    free(l->act_eps);
    free(l);
}

// The settings, dimensions, bounds, plant and random streams: what learner_create
// sets before it allocates anything.
static void init_settings(Learner* l, const LearnerConfig* cfg_in, const PlantModel* plant) {
    const int act_dim = plant->act_dim;
    l->cfg = *cfg_in;
    LearnerConfig* c = &l->cfg;
    if (c->target_entropy == 0.0f)
        c->target_entropy = -(float)act_dim;
    l->S = plant->obs_dim;
    l->A = act_dim;
    memcpy(l->act_low, plant->act_low, (size_t)act_dim * sizeof(float));
    memcpy(l->act_high, plant->act_high, (size_t)act_dim * sizeof(float));
    l->plant = *plant;
    l->rf = &l->plant;
    // known_reward -1 (auto): the plant's reward where it is exact, else the learned head
    int want = c->known_reward < 0 ? plant->exact : c->known_reward;
    l->use_known_reward = want && plant_has_reward(plant);
    c->known_reward = l->use_known_reward;
    l->needs_model = learner_config_needs_model(c);
    rng_seed(&l->rng, c->seed);
    rng_seed(&l->act_rng, c->seed ^ 0x9e3779b97f4a7c15ULL);
    rng_seed(&l->actor_rng, c->seed ^ 0x5851f42d4c957f2dULL);
    rng_seed(&l->critic_rng[0], c->seed ^ 0x14057b7ef767814fULL);
    rng_seed(&l->critic_rng[1], c->seed ^ 0x2545f4914f6cdd1dULL);
    l->last_fit_step = -1;
    l->last_refresh_step = -1;
}

// The networks: policy, Q functions and their targets, the model ensemble (in that
// order from one init stream), the averaged policy. 0 or -1 (out of memory).
static int create_nets(Learner* l) {
    const LearnerConfig* c = &l->cfg;
    Rng init_rng;
    rng_seed(&init_rng, c->seed + 1);
    int ph[MLP_MAX_LAYERS], qh[MLP_MAX_LAYERS];
    for (int i = 0; i < MLP_MAX_LAYERS; i++) {
        ph[i] = c->policy_width;
        qh[i] = c->q_width;
    }
    l->pi = policy_create(l->S, l->A, c->policy_hidden, ph, c->policy_act, l->plant.act_low,
                          l->plant.act_high, &init_rng);
    l->qf = qf_create(l->S, l->A, c->q_hidden, qh, c->q_act, &init_rng);
    l->qf_targ = l->qf ? qf_clone(l->qf) : NULL;
    l->ens = ens_create(l->S, l->A, c->n_models, c->model_hidden, c->model_width,
                        c->model_act, !l->use_known_reward, &init_rng);
    if (!l->pi || !l->qf || !l->qf_targ || !l->ens)
        return -1;
    snprintf(l->pi->plant, sizeof(l->pi->plant), "%s", c->plant);
    if (c->policy_avg_tau > 0 && !(l->pi_avg = policy_clone(l->pi)))
        return -1;
    l->ens->n_elites = c->n_elites;
    for (int i = 0; i < c->n_models && i < ENS_MAX_MEMBERS; i++)
        l->ens->elites[i] = i;
    return 0;
}

// The ensemble's trainer, D_env, D_model (sized for the schedule's first long rollout
// length) and the rollout workspace. 0 or -1 (out of memory).
static int create_data(Learner* l) {
    const LearnerConfig* c = &l->cfg;
    EnsTrainConfig ec;
    ens_train_config_default(&ec);
    ec.lr = c->lr_model;
    ec.max_epochs = c->model_max_epochs;
    ec.max_seconds = c->model_max_seconds;
    ec.patience = c->model_patience;
    ec.weight_decay = c->model_weight_decay;
    ec.batch = c->model_batch;
    ec.n_elites = c->n_elites;
    l->ens_tr = ens_trainer_create(l->ens, &ec);
    l->d_env = replay_create(c->env_capacity, l->S, l->A);
    l->d_model_k = sched_k_max(c->rollout_schedule) > 0 ? c->rollout_schedule[2] : 1;
    if (l->d_model_k < 1)
        l->d_model_k = 1;
    l->d_model = replay_create(learner_model_capacity(c, l->d_model_k), l->S, l->A);
    int chunk = c->rollout_chunk < c->rollout_batch ? c->rollout_chunk : c->rollout_batch;
    l->roll = rollout_work_create(l->ens, l->pi, chunk > 0 ? chunk : 1);
    if (!l->ens_tr || !l->d_env || !l->d_model || !l->roll)
        return -1;
    return 0;
}

// The gradient estimators (MAAC actor, STEVE critic and its worker's head), the Adam
// optimisers and the gradient and target buffers. 0 or -1 (out of memory).
static int create_estimators(Learner* l) {
    const LearnerConfig* c = &l->cfg;
    maac_dynamics_ensemble(&l->dyn, l->ens);
    MaacConfig ac = {
        .horizon = c->horizon,
        .n_paths = c->n_paths,
        .terminal_actions = c->terminal_actions,
        .gamma = c->gamma,
        .known_reward = l->use_known_reward,
        .soft_path = c->soft_path,
    };
    // The plant's functions go in even with a learned reward: the actor and STEVE then
    // take only its termination rule, as rollout_run does, so all three imagine alike.
    const PlantModel* rew = l->rf;
    l->actor = maac_actor_create(&ac, &l->dyn, rew, l->pi, l->qf, c->batch);
    SteveConfig qc = {
        .steve = c->steve,
        .horizon = c->steve_horizon,
        .gamma = c->gamma,
        .known_reward = l->use_known_reward,
        .soft_path = c->soft_path,
    };
    l->critic = steve_create(&qc, &l->dyn, rew, l->pi, l->qf, c->batch);
    // The worker's share of the critic targets balances the two parts: the H-step actor
    // through the ensemble costs about 7/8 of the STEVE targets, SAC's actor almost
    // nothing. A function of the settings only: the same split for every thread count.
    l->split = c->horizon > 0 ? c->batch / 8 : c->batch / 2;
    if (l->split > 0)
        l->critic_head = steve_create(&qc, &l->dyn, rew, l->pi, l->qf, l->split);
    l->opt_pi = adam_create(l->pi->net->n_params, c->lr_policy);
    l->opt_q = adam_create(l->qf->net->n_params, c->lr_q);
    l->grad_pi = malloc((size_t)l->pi->net->n_params * sizeof(float));
    l->grad_q = malloc((size_t)l->qf->net->n_params * sizeof(float));
    l->q_target = malloc((size_t)c->batch * sizeof(float));
    if (!l->actor || !l->critic || (l->split > 0 && !l->critic_head) || !l->opt_pi ||
        !l->opt_q || !l->grad_pi || !l->grad_q || !l->q_target)
        return -1;
    return 0;
}

// The worker team (threads >= 2) and the entropy coefficient. 0 or -1.
static int create_team_alpha(Learner* l) {
    const LearnerConfig* c = &l->cfg;
    if (c->threads >= 2) {
        // Every part runs single-threaded BLAS: two parts each waking OpenBLAS's own
        // threads would put four busy threads on two cores.
        openblas_set_num_threads(1);
        l->team = workers_create(c->threads);
        if (!l->team || ens_trainer_set_workers(l->ens_tr, l->team) != 0)
            return -1;
    }
    if (maac_alpha_init(&l->alpha, c->auto_entropy, c->no_entropy, c->alpha,
                        c->target_entropy, c->lr_alpha) != 0)
        return -1;
    return 0;
}

// The batch buffers and the acting scratch. 0 or -1 (out of memory).
static int create_batch(Learner* l) {
    const int obs_dim = l->S, act_dim = l->A;
    size_t B = (size_t)l->cfg.batch;
    l->bs = malloc(B * obs_dim * sizeof(float));
    l->ba = malloc(B * act_dim * sizeof(float));
    l->br = malloc(B * sizeof(float));
    l->bs2 = malloc(B * obs_dim * sizeof(float));
    l->bd = malloc(B * sizeof(float));
    l->act_scratch = malloc((size_t)policy_act1_scratch_floats(l->pi) * sizeof(float));
    l->act_eps = malloc((size_t)act_dim * sizeof(float));
    if (!l->bs || !l->ba || !l->br || !l->bs2 || !l->bd || !l->act_scratch || !l->act_eps)
        return -1;
    return 0;
}

Learner* learner_create(const LearnerConfig* cfg_in, const PlantModel* plant, MaacErr* reterr) {
    const int obs_dim = plant->obs_dim, act_dim = plant->act_dim;
    if (obs_dim < 1 || obs_dim > PLANT_MAX_OBS || act_dim < 1 || act_dim > POLICY_MAX_ACT ||
        act_dim > PLANT_MAX_ACT) {
        maac_err(reterr, -EINVAL, "bad dimensions obs %d act %d", obs_dim, act_dim);
        return NULL;
    }
    if (learner_config_check(cfg_in, reterr) != 0)
        return NULL;
    Learner* l = calloc(1, sizeof(*l));
    if (!l) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    init_settings(l, cfg_in, plant);
    // each step allocates in order; a failure frees all that was made (learner_free)
    if (create_nets(l) != 0 || create_data(l) != 0 || create_estimators(l) != 0 ||
        create_team_alpha(l) != 0 || create_batch(l) != 0) {
        learner_free(l);
        maac_err(reterr, -ENOMEM, "out of memory creating the learner");
        return NULL;
    }
    l->st.alpha = maac_alpha_value(&l->alpha);
    l->st.rollout_len = l->d_model_k;
    return l;
}

const PlantModel* learner_plant(const Learner* l) { return &l->plant; }

void learner_add_transition(Learner* l, const float* s, const float* a, float r,
                            const float* s2, int terminated) {
    replay_add(l->d_env, s, a, r, s2, terminated ? 1.0f : 0.0f);
    l->st.env_steps++;
}

// ---- model fit and D_model refresh --------------------------------------------

// Resize D_model for rollout length k keeping its most recent rows (MBPO).
static int realloc_model_pool(Learner* l, int k) {
    long cap = learner_model_capacity(&l->cfg, k);
    if (cap == l->d_model->capacity)
        return 0;
    ReplayBuffer* nb = replay_create(cap, l->S, l->A);
    if (!nb)
        return -ENOMEM;
    long keep = l->d_model->size < cap ? l->d_model->size : cap;
    float* s = malloc((size_t)(l->S * 2 + l->A + 2) * sizeof(float));
    if (!s) {
        replay_free(nb);
        return -ENOMEM;
    }
    float* a = s + l->S;
    float* s2 = a + l->A;
    float* rd = s2 + l->S;
    for (long i = l->d_model->size - keep; i < l->d_model->size; i++) {
        replay_get(l->d_model, i, s, a, &rd[0], s2, &rd[1]);
        replay_add(nb, s, a, rd[0], s2, rd[1]);
    }
    free(s);
    replay_free(l->d_model);
    l->d_model = nb;
    l->d_model_k = k;
    return 0;
}

// Fit the ensemble when due (fit = 1), then refresh D_model.
static int fit_and_rollout(Learner* l, int fit) {
    const LearnerConfig* c = &l->cfg;
    double t1 = now_s();   // start of the rollouts
    int r;
    if (fit) {
        l->phase = LEARNER_FIT;
        l->phase_t0 = t1;
        EnsTrainStats es;
        memset(&es, 0, sizeof(es));
        r = ens_train(l->ens, l->ens_tr, l->d_env, &l->rng, &es);
        double t0 = t1;
        t1 = now_s();
        l->st.t_model += t1 - t0;
        if (r == -EINVAL)
            return 0;   // too little data yet: try again at the next step
        if (r != 0)
            return r;   // -ECANCELED: last_fit_step unchanged, so the fit is redone
        l->st.model_fits++;
        l->st.model_holdout_mse = es.holdout_mse;
        l->last_fit_step = l->train_steps;
    }
    l->last_refresh_step = l->train_steps;
    l->st.model_refreshes++;
    if (c->real_only || c->rollout_batch <= 0)
        return 0;   // D_model unused
    int k = rollout_length(c->rollout_schedule, l->train_steps / 1000);
    l->st.rollout_len = k;
    if (k <= 0)
        return 0;
    if (k != l->d_model_k && (r = realloc_model_pool(l, k)) != 0)
        return r;
    RolloutStats rs;
    l->phase = LEARNER_ROLLOUT;
    l->phase_t0 = now_s();
    r = rollout_run(l->ens, l->pi, l->rf, l->use_known_reward, l->roll, l->d_env, l->d_model,
                    c->rollout_batch, k, &l->rng, &rs);
    l->st.t_rollout += now_s() - t1;
    return r;
}

// ---- updates ------------------------------------------------------------------

// Sample a batch: n_real rows from D_env, the rest from D_model.
static void sample_batch(Learner* l) {
    const int B = l->cfg.batch, S = l->S, A = l->A;
    int n_real = learner_real_rows(&l->cfg, l->d_model->size);
    replay_sample(l->d_env, &l->rng, n_real, l->bs, l->ba, l->br, l->bs2, l->bd);
    int n_model = B - n_real;
    if (n_model > 0)
        replay_sample(l->d_model, &l->rng, n_model, l->bs + (size_t)n_real * S,
                      l->ba + (size_t)n_real * A, l->br + n_real, l->bs2 + (size_t)n_real * S,
                      l->bd + n_real);
}

// The two parts of an update: index 0 the critic targets of rows [split, B), index 1
// the actor's gradient and the targets of rows [0, split). Both only read pi, the Qs,
// the target Qs, the ensemble and the batch; they write disjoint buffers.
typedef struct {
    Learner* l;
    float alpha;
    float pi_loss;
    double t_q[2], t_policy;   // each part's own duration (t_q per part: no shared writes)
} UpdateJob;

static void critic_targets_part(Learner* l, Steve* st, Rng* rng, int r0, int n, float alpha) {
    const int S = l->S, A = l->A;
    steve_draw(st, rng, n);
    steve_targets(st, l->pi, l->qf_targ, alpha, l->bs + (size_t)r0 * S, l->ba + (size_t)r0 * A,
                  l->br + r0, l->bs2 + (size_t)r0 * S, l->bd + r0, n, l->q_target + r0, NULL,
                  NULL);
}

static void update_part(void* arg, int index) {
    UpdateJob* job = arg;
    Learner* l = job->l;
    const int B = l->cfg.batch;
    double t0 = now_s();
    if (index == 0) {
        critic_targets_part(l, l->critic, &l->critic_rng[0], l->split, B - l->split, job->alpha);
        job->t_q[0] = now_s() - t0;
    } else if (index == 1) {
        maac_actor_draw(l->actor, &l->actor_rng, B);
        job->pi_loss = maac_actor_forward(l->actor, l->pi, l->qf, l->bs, B, job->alpha);
        mlp_zero_grad(l->pi->net, l->grad_pi);
        maac_actor_backward(l->actor, l->pi, l->qf, l->grad_pi, NULL);
        double t1 = now_s();
        job->t_policy = t1 - t0;
        if (l->split > 0)
            critic_targets_part(l, l->critic_head, &l->critic_rng[1], 0, l->split, job->alpha);
        job->t_q[1] = now_s() - t1;
    }
}

static int update_once(Learner* l) {
    const LearnerConfig* c = &l->cfg;
    const int B = c->batch;
    sample_batch(l);
    double t0 = now_s();
    UpdateJob job = {.l = l, .alpha = maac_alpha_value(&l->alpha)};
    if (l->team) {
        workers_run(l->team, update_part, &job);
    } else {
        update_part(&job, 1);
        update_part(&job, 0);
    }
    double t1 = now_s();
    // Critic: 0.5 MSE per Q against the targets, Adam, Polyak averaging of the target
    // Qs after every gradient step (SAC).
    mlp_zero_grad(l->qf->net, l->grad_q);
    float q_loss = steve_critic_loss(l->critic, l->qf, l->bs, l->ba, l->q_target, B, l->grad_q);
    if (c->grad_clip > 0)
        (void)nn_clip_grad_norm(l->grad_q, l->qf->net->n_params, c->grad_clip);
    adam_step(l->opt_q, l->qf->net->params, l->grad_q);
    nn_polyak_update(l->qf_targ->net->params, l->qf->net->params, l->qf->net->n_params, c->tau);
    double t2 = now_s();
    // Actor: Adam on the gradient computed from the pre-update Qs, then the entropy
    // coefficient (SAC v2 temperature loss; no-op unless auto-tuned).
    if (l->st.updates >= l->actor_hold_until) {
        if (c->grad_clip > 0)
            (void)nn_clip_grad_norm(l->grad_pi, l->pi->net->n_params, c->grad_clip);
        adam_step(l->opt_pi, l->pi->net->params, l->grad_pi);
        if (l->pi_avg)
            nn_polyak_update(l->pi_avg->net->params, l->pi->net->params, l->pi->net->n_params,
                             c->policy_avg_tau);
        (void)maac_alpha_update(&l->alpha, maac_actor_mean_logp(l->actor));
    }
    double t3 = now_s();
    l->st.t_q += job.t_q[0] + job.t_q[1] + (t2 - t1);
    l->st.t_policy += job.t_policy + (t3 - t2);
    l->st.t_updates += t3 - t0;
    float pi_loss = job.pi_loss;
    if (!isfinite(q_loss) || !isfinite(pi_loss))
        return -EDOM;
    l->st.q_loss = q_loss;
    l->st.pi_loss = pi_loss;
    l->st.alpha = maac_alpha_value(&l->alpha);
    l->st.updates++;
    return 0;
}

static int train_updates(Learner* l);

int learner_train_step(Learner* l) {
    const LearnerConfig* c = &l->cfg;
    if (l->train_steps >= l->st.env_steps)
        return 0;   // every env step has had its train step: nothing new to train on
    long n = ++l->train_steps;
    if (n < c->init_random_steps)
        return 0;
    int r;
    long since_refresh = l->last_refresh_step < 0 ? -1 : n - l->last_refresh_step;
    if (l->needs_model && (since_refresh < 0 || since_refresh >= c->model_train_freq)) {
        int fit_freq = c->model_fit_freq > 0 ? c->model_fit_freq : c->model_train_freq;
        long since_fit = l->last_fit_step < 0 ? -1 : n - l->last_fit_step;
        r = fit_and_rollout(l, since_fit < 0 || since_fit >= fit_freq);
        l->phase = LEARNER_IDLE;
        if (r != 0)
            return r;
    }
    l->phase = LEARNER_UPDATES;
    l->phase_t0 = now_s();
    r = train_updates(l);
    l->phase = LEARNER_IDLE;
    return r;
}

// updates_per_step updates, polling before each.
static int train_updates(Learner* l) {
    int r;
    for (int i = 0; i < l->cfg.updates_per_step; i++) {
        if (maac_poll(&l->poll) != 0)
            return -ECANCELED;
        if (l->st.updates >= learner_update_cap(l))
            break;   // updates interleaved with fits already did this step's share
        if ((r = update_once(l)) != 0)
            return r;
    }
    return 0;
}

long learner_update_cap(const Learner* l) {
    long steps = l->st.env_steps - l->cfg.init_random_steps + 1;   // steps with updates
    return steps > 0 ? steps * (long)l->cfg.updates_per_step : 0;
}

int learner_interleave_updates(Learner* l, int n) {
    if ((l->phase != LEARNER_FIT && l->phase != LEARNER_ROLLOUT) || l->st.updates <= 0)
        return 0;   // only inside a fit or refresh, once the first train step's updates ran
    long room = learner_update_cap(l) - l->st.updates;
    if (n > room)
        n = room > 0 ? (int)room : 0;
    for (int i = 0; i < n; i++) {
        int r = update_once(l);
        if (r != 0)
            return r;
    }
    l->st.interleaved_updates += n;
    return n;
}

LearnerPhase learner_phase(const Learner* l, double* ret_since_s, int* ret_fit_epochs) {
    if (ret_since_s)
        *ret_since_s = l->phase_t0;
    if (ret_fit_epochs)
        *ret_fit_epochs = ens_trainer_epochs(l->ens_tr);
    return l->phase;
}

const char* learner_phase_name(LearnerPhase p) {
    switch (p) {
    case LEARNER_IDLE: return "idle";
    case LEARNER_FIT: return "model fit";
    case LEARNER_ROLLOUT: return "rollouts";
    case LEARNER_UPDATES: return "updates";
    }
    return "?";
}

void learner_set_poll(Learner* l, MaacPollFn fn, void* arg) {
    l->poll.fn = fn;
    l->poll.arg = arg;
    ens_trainer_set_poll(l->ens_tr, fn, arg);
    rollout_work_set_poll(l->roll, fn, arg);
}

int learner_start_from_policy(Learner* l, const Policy* p, long hold_updates, MaacErr* reterr) {
    if (p->obs_dim != l->S || p->act_dim != l->A || !mlp_same_shape(l->pi->net, p->net))
        return maac_err(reterr, -EINVAL, "the policy's network differs from the learner's "
                        "(obs/act widths, policy_hidden, policy_width, policy_act)");
    mlp_copy(l->pi->net, p->net);
    if (l->pi_avg)
        mlp_copy(l->pi_avg->net, p->net);
    l->version = p->version;
    l->actor_hold_until = l->st.updates + (hold_updates > 0 ? hold_updates : 0);
    return 0;
}

int learner_actor_held(const Learner* l) { return l->st.updates < l->actor_hold_until; }

// ---- acting and publishing ----------------------------------------------------

void learner_act(Learner* l, const float* obs, int deterministic, float* act) {
    if (!deterministic && l->st.env_steps < l->cfg.init_random_steps) {
        for (int j = 0; j < l->A; j++)
            act[j] = l->act_low[j] + rng_uniform(&l->act_rng) * (l->act_high[j] - l->act_low[j]);
        return;
    }
    const float* eps = NULL;
    if (!deterministic) {
        rng_normal_fill(&l->act_rng, l->act_eps, l->A);
        eps = l->act_eps;
    }
    if (policy_act1(l->pi, obs, eps, act, l->act_scratch) != 0) {
        for (int j = 0; j < l->A; j++)   // NaN/Inf observation: the middle of the range
            act[j] = 0.5f * (l->act_low[j] + l->act_high[j]);
    }
}

const Policy* learner_policy(const Learner* l) { return l->pi; }
const Policy* learner_deploy_policy(const Learner* l) { return l->pi_avg ? l->pi_avg : l->pi; }

Policy* learner_snapshot_policy(Learner* l) {
    Policy* p = policy_clone(learner_deploy_policy(l));
    if (!p)
        return NULL;
    p->version = ++l->version;
    snprintf(p->plant, sizeof(p->plant), "%s", l->cfg.plant);
    return p;
}

void learner_stats(const Learner* l, LearnerStats* ret) {
    *ret = l->st;
    ret->alpha = maac_alpha_value(&l->alpha);
}

const Ensemble* learner_ensemble(const Learner* l) { return l->ens; }
const QFunction* learner_qf(const Learner* l) { return l->qf; }
const LearnerConfig* learner_config(const Learner* l) { return &l->cfg; }
const ReplayBuffer* learner_env_buffer(const Learner* l) { return l->d_env; }
const ReplayBuffer* learner_model_buffer(const Learner* l) { return l->d_model; }
const QFunction* learner_qf_target(const Learner* l) { return l->qf_targ; }
