// SPDX-License-Identifier: Apache-2.0
// test_learner.c -- the learner loop (core/learner.c): schedule, determinism, API.
//
// Runs the learner on inverted_pendulum with small settings: collection through
// learner_act, model fits every 250 steps, rollouts, updates. Checks that
//  * nothing is trained during the random phase, and fits/updates happen on schedule;
//  * D_model is filled by rollouts and batches use it;
//  * the same seed gives bit-identical returns, policy parameters and losses over the
//    first 1,000 steps (run twice in-process; OPENBLAS_NUM_THREADS=1);
//  * threads = 2 and threads = 1 give the same run (with and without STEVE);
//  * a snapshot is an independent copy with an increasing version;
//  * a learner checkpoint round-trips (learner_save / learner_ckpt_load);
//  * with policy_avg_tau > 0 the deployed policy is the Polyak average of the online
//    weights after every update, the online run is unchanged by it, snapshots and
//    checkpoints carry the average, and eval.csv reports both policies.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/trainer.h"
#include "core/learner.h"
#include "sim/sim.h"
#include "test_util.h"
#include "plant_util.h"

typedef struct {
    double sum_returns;
    long episodes;
    float* params;      // policy params at the end (owned)
    long n_params;
    LearnerStats st;
    long model_cap, model_size;   // D_model at the end
} RunOut;

static void small_config(LearnerConfig* c, uint64_t seed) {
    learner_config_default(c, "inverted_pendulum");
    c->seed = seed;
    c->init_random_steps = 300;
    c->model_train_freq = 250;
    c->rollout_batch = 200;
    c->model_max_epochs = 5;
    c->updates_per_step = 1;
    c->batch = 64;
    c->policy_width = c->q_width = 32;
    c->model_width = 32;
}

// Drive a learner for `steps` env steps on its own plant. 0 or -errno.
static int run_learner(const LearnerConfig* c, long steps, RunOut* out) {
    MaacErr me = {""};
    SimPlant* p = sim_create(c->plant, &me);
    if (!p) {
        fprintf(stderr, "sim_create: %s\n", me.msg);
        return -1;
    }
    const SimSpec* sp = sim_spec(p);
    Learner* l = learner_create(c, test_spec_plant(sp), &me);
    if (!l) {
        fprintf(stderr, "learner_create: %s\n", me.msg);
        sim_free(p);
        return -1;
    }
    double obs[SIM_MAX_OBS], obs2[SIM_MAX_OBS], act[SIM_MAX_ACT];
    float s[SIM_MAX_OBS], s2[SIM_MAX_OBS], a[SIM_MAX_ACT];
    uint64_t ep = 0;
    sim_reset(p, ep++, obs);
    double ret = 0;
    int r = 0;
    memset(out, 0, sizeof(*out));
    for (long t = 0; t < steps && r == 0; t++) {
        for (int j = 0; j < sp->obs_dim; j++)
            s[j] = (float)obs[j];
        learner_act(l, s, 0, a);
        for (int j = 0; j < sp->act_dim; j++)
            act[j] = a[j];
        SimStepResult sr;
        sim_step(p, act, obs2, &sr);
        for (int j = 0; j < sp->obs_dim; j++)
            s2[j] = (float)obs2[j];
        learner_add_transition(l, s, a, (float)sr.reward, s2, sr.terminated);
        ret += sr.reward;
        if (sr.terminated || sr.truncated) {
            out->sum_returns += ret;
            out->episodes++;
            ret = 0;
            sim_reset(p, ep++, obs);
        } else {
            memcpy(obs, obs2, sizeof(obs));
        }
        LearnerStats st;
        learner_stats(l, &st);
        if (t + 1 < c->init_random_steps && (st.updates != 0 || st.model_fits != 0))
            r = -2;   // trained during the random phase
        if (r == 0)
            r = learner_train_step(l);
    }
    learner_stats(l, &out->st);
    const Policy* pi = learner_deploy_policy(l);   // what is published and saved
    out->n_params = pi->net->n_params;
    out->params = malloc((size_t)out->n_params * sizeof(float));
    memcpy(out->params, learner_policy(l)->net->params, (size_t)out->n_params * sizeof(float));
    CHECK(learner_model_buffer(l)->size > 0, "D_model filled by rollouts");
    out->model_cap = learner_model_buffer(l)->capacity;
    out->model_size = learner_model_buffer(l)->size;
    CHECK(learner_env_buffer(l)->size == steps, "D_env holds every step");
    // Snapshots: independent copies, versions increase.
    Policy* s1 = learner_snapshot_policy(l);
    Policy* s2p = learner_snapshot_policy(l);
    CHECK(s1 && s2p && s2p->version > s1->version, "snapshot versions increase");
    CHECK(s1 && s1->net->params != pi->net->params &&
              memcmp(s1->net->params, pi->net->params, (size_t)out->n_params * sizeof(float)) == 0,
          "snapshot is a copy");
    policy_free(s1);
    policy_free(s2p);
    // Learner checkpoint round trip.
    char path[] = "/tmp/test_learner_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
        int sr = learner_save(l, path, &me);
        CHECK(sr == 0, "learner_save: %s", me.msg);
        Policy* lp = NULL;
        QFunction* lq = NULL;
        Ensemble* le = NULL;
        int lr = learner_ckpt_load(path, &lp, &lq, &le, &me);
        CHECK(lr == 0, "learner_ckpt_load: %s", me.msg);
        if (lr == 0) {
            const Ensemble* e = learner_ensemble(l);
            CHECK(memcmp(lp->net->params, pi->net->params, (size_t)out->n_params * 4) == 0,
                  "policy restored");
            CHECK(memcmp(lq->net->params, learner_qf(l)->net->params,
                         (size_t)lq->net->n_params * 4) == 0, "qf restored");
            CHECK(memcmp(le->net->params, e->net->params, (size_t)e->net->n_params * 4) == 0 &&
                      memcmp(le->target_std, e->target_std, (size_t)e->n_out * 4) == 0 &&
                      le->n_elites == e->n_elites && le->elites[0] == e->elites[0],
                  "ensemble restored");
        }
        policy_free(lp);
        qf_free(lq);
        ens_free(le);
        unlink(path);
    }
    learner_free(l);
    sim_free(p);
    return r;
}

static void test_learner_schedule_and_determinism(void) {
    LearnerConfig c;
    small_config(&c, 7);
    RunOut a, b;
    int ra = run_learner(&c, 1000, &a);
    int rb = run_learner(&c, 1000, &b);
    CHECK(ra == 0 && rb == 0, "runs %d %d", ra, rb);
    // Fits at 300, 550, 800 (every 250 steps from the end of the random phase).
    CHECK(a.st.model_fits == 3, "model fits %d", a.st.model_fits);
    CHECK(a.st.updates == (1000 - 300 + 1) * c.updates_per_step, "updates %ld", a.st.updates);
    CHECK(a.st.env_steps == 1000, "env steps %ld", a.st.env_steps);
    CHECK(isfinite(a.st.q_loss) && isfinite(a.st.pi_loss) && a.st.alpha > 0, "finite losses");
    CHECK(a.episodes > 0 && a.sum_returns == b.sum_returns && a.episodes == b.episodes,
          "same seed, same returns: %.17g vs %.17g", a.sum_returns, b.sum_returns);
    CHECK(a.n_params == b.n_params &&
              memcmp(a.params, b.params, (size_t)a.n_params * sizeof(float)) == 0,
          "same seed, bit-identical policy");
    CHECK(memcmp(&a.st.q_loss, &b.st.q_loss, sizeof(float)) == 0 &&
              memcmp(&a.st.pi_loss, &b.st.pi_loss, sizeof(float)) == 0,
          "same seed, identical losses");
    // A different seed gives a different policy.
    RunOut d;
    small_config(&c, 8);
    (void)run_learner(&c, 400, &d);
    CHECK(d.n_params == a.n_params && memcmp(a.params, d.params, (size_t)a.n_params * 4) != 0,
          "another seed differs");
    free(a.params);
    free(b.params);
    free(d.params);
}

// model_fit_freq = 500 with refreshes every 250 steps: refreshes at 300, 550 and 800,
// fits only at 300 and 800.
static void test_learner_fit_freq(void) {
    LearnerConfig c;
    small_config(&c, 9);
    c.model_fit_freq = 500;
    c.updates_per_step = 0;
    RunOut a;
    int r = run_learner(&c, 1000, &a);
    CHECK(r == 0, "run %d", r);
    CHECK(a.st.model_fits == 2, "fits every 500 steps: %d", a.st.model_fits);
    CHECK(a.st.model_refreshes == 3, "D_model refreshed every 250 steps: %d",
          a.st.model_refreshes);
    CHECK(a.model_size > 2L * c.rollout_batch && a.model_size <= 3L * c.rollout_batch,
          "three refreshes' rows in D_model: %ld", a.model_size);
    free(a.params);
}

// threads = 2 (actor and critic-target parts at once, member groups in model fits)
// and threads = 1 (the same parts one after the other) give the same run, with STEVE
// targets (split across the parts) as well as one-step ones.
static void test_learner_threads_same_run(void) {
    for (int steve = 0; steve <= 1; steve++) {
        LearnerConfig c;
        small_config(&c, 11);
        c.steve = steve;
        c.steve_horizon = 2;
        c.updates_per_step = 2;
        RunOut a, b;
        c.threads = 2;
        int ra = run_learner(&c, 700, &a);
        c.threads = 1;
        int rb = run_learner(&c, 700, &b);
        CHECK(ra == 0 && rb == 0, "runs %d %d", ra, rb);
        CHECK(a.st.updates > 0 && a.st.model_fits == 2, "updates %ld fits %d", a.st.updates,
              a.st.model_fits);
        CHECK(a.episodes == b.episodes && a.sum_returns == b.sum_returns,
              "steve %d: threads 2 and 1 give the same returns: %.17g vs %.17g", steve,
              a.sum_returns, b.sum_returns);
        CHECK(a.n_params == b.n_params &&
                  memcmp(a.params, b.params, (size_t)a.n_params * sizeof(float)) == 0,
              "steve %d: threads 2 and 1 give a bit-identical policy", steve);
        CHECK(memcmp(&a.st.q_loss, &b.st.q_loss, sizeof(float)) == 0 &&
                  memcmp(&a.st.model_holdout_mse, &b.st.model_holdout_mse, sizeof(float)) == 0,
              "steve %d: identical critic loss and model holdout MSE", steve);
        CHECK(a.st.t_updates > 0 && b.st.t_updates > 0, "update wall time recorded");
        free(a.params);
        free(b.params);
    }
}

// The rollout length follows the schedule and D_model is resized for it (MBPO pool).
static void test_learner_rollout_schedule_resizes_pool(void) {
    LearnerConfig c;
    small_config(&c, 5);
    c.rollout_schedule[0] = 0;   // k: 1 in epoch 0, 2 in epoch 1, 3 from epoch 2
    c.rollout_schedule[1] = 2;
    c.rollout_schedule[2] = 1;
    c.rollout_schedule[3] = 3;
    c.updates_per_step = 0;      // only the data side
    RunOut a;
    int r = run_learner(&c, 2100, &a);
    CHECK(r == 0, "run %d", r);
    CHECK(a.st.rollout_len == 3, "k at 2050 steps: %d", a.st.rollout_len);
    CHECK(a.st.model_fits == 8, "fits %d", a.st.model_fits);
    CHECK(a.model_cap == 3L * c.rollout_batch * 4, "pool resized for k = 3: %ld", a.model_cap);
    // Newest rows kept across resizes: 2 fits at k = 2 (<= 400 rows each) + 1 at k = 3.
    CHECK(a.model_size > 2L * c.rollout_batch && a.model_size <= a.model_cap, "pool rows %ld",
          a.model_size);
    free(a.params);
}

static void test_trainer_writes_files(void) {
    LearnerConfig c;
    small_config(&c, 3);
    c.init_random_steps = 200;
    TrainOpts o;
    train_opts_default(&o);
    o.steps = 400;
    o.eval_every = 200;
    o.eval_episodes = 2;
    o.progress = 0;
    char dir[] = "/tmp/test_trainer_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    o.out_dir = dir;
    TrainResult tr;
    MaacErr me = {""};
    int r = trainer_run(&c, &o, &tr, &me);
    CHECK(r == 0, "trainer_run: %s", me.msg);
    CHECK(tr.env_steps == 400 && tr.n_evals == 2, "steps %ld evals %d", tr.env_steps, tr.n_evals);
    // The first evaluation is always the best so far: both best files must exist.
    const char* names[] = {"eval.csv", "timing.csv", "policy.ckpt", "learner.ckpt", "config.ini",
                           "policy_best.ckpt", "learner_best.ckpt"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        CHECK(access(path, R_OK) == 0, "%s written", names[i]);
        if (i == 2) {
            Policy* p = policy_load(path, &me);
            CHECK(p != NULL && strcmp(p->plant, "inverted_pendulum") == 0,
                  "policy.ckpt loads: %s", me.msg);
            policy_free(p);
        }
        unlink(path);
    }
    rmdir(dir);
}

// Feed a learner the transitions of uniform-random actions on its plant for n steps,
// calling learner_train_step after each, and check the average after every update.
static void test_policy_average(void) {
    LearnerConfig c, c0;
    small_config(&c, 5);
    c.policy_avg_tau = 0.25f;
    c0 = c;
    c0.policy_avg_tau = 0.0f;
    MaacErr me = {""};
    SimPlant* p = sim_create(c.plant, &me);
    CHECK(p != NULL, "sim_create: %s", me.msg);
    if (!p)
        return;
    const SimSpec* sp = sim_spec(p);
    const int S = sp->obs_dim, A = sp->act_dim;
    Learner* l = learner_create(&c, test_spec_plant(sp), &me);
    Learner* l0 = learner_create(&c0, test_spec_plant(sp), &me);
    CHECK(l && l0, "learner_create: %s", me.msg);
    if (!l || !l0) {
        learner_free(l);
        learner_free(l0);
        sim_free(p);
        return;
    }
    CHECK(learner_deploy_policy(l) != learner_policy(l) &&
              learner_deploy_policy(l0) == learner_policy(l0),
          "the average exists only with policy_avg_tau > 0");
    const long n = learner_policy(l)->net->n_params;
    const float* on = learner_policy(l)->net->params;
    const float* avg = learner_deploy_policy(l)->net->params;
    CHECK(memcmp(on, avg, (size_t)n * 4) == 0, "the average starts at the initial policy");
    float* prev = malloc((size_t)n * sizeof(float));
    double obs[SIM_MAX_OBS], obs2[SIM_MAX_OBS], act[SIM_MAX_ACT];
    float s[SIM_MAX_OBS], s2[SIM_MAX_OBS], a[SIM_MAX_ACT];
    sim_reset(p, 0, obs);
    int r = 0, updates_checked = 0, formula_ok = 1;
    double max_err = 0;
    Rng rng;
    rng_seed(&rng, 77);
    // Updates start once D_env holds init_random_steps transitions (t = init - 1).
    for (long t = 0; t < c.init_random_steps + 39 && r == 0 && prev; t++) {
        for (int j = 0; j < S; j++)
            s[j] = (float)obs[j];
        for (int j = 0; j < A; j++) {
            float lo = (float)sp->act_low[j], hi = (float)sp->act_high[j];
            act[j] = a[j] = lo + rng_uniform(&rng) * (hi - lo);
        }
        SimStepResult sr;
        sim_step(p, act, obs2, &sr);
        for (int j = 0; j < S; j++)
            s2[j] = (float)obs2[j];
        learner_add_transition(l, s, a, (float)sr.reward, s2, sr.terminated);
        learner_add_transition(l0, s, a, (float)sr.reward, s2, sr.terminated);
        if (sr.terminated || sr.truncated)
            sim_reset(p, (uint64_t)t + 1, obs);
        else
            memcpy(obs, obs2, sizeof(obs));
        memcpy(prev, avg, (size_t)n * sizeof(float));
        LearnerStats before, after;
        learner_stats(l, &before);
        r = learner_train_step(l);
        if (r == 0)
            r = learner_train_step(l0);
        learner_stats(l, &after);
        if (after.updates == before.updates + 1) {   // updates_per_step = 1
            updates_checked++;
            for (long i = 0; i < n; i++) {
                double want = (1.0 - c.policy_avg_tau) * prev[i] + c.policy_avg_tau * on[i];
                double err = fabs(avg[i] - want);
                max_err = err > max_err ? err : max_err;
                if (err > 1e-6 * (1.0 + fabs(want)))
                    formula_ok = 0;
            }
        } else if (after.updates == before.updates) {
            CHECK(memcmp(prev, avg, (size_t)n * 4) == 0, "no update, no change (step %ld)", t);
        }
    }
    CHECK(r == 0, "train steps: %d", r);
    CHECK(updates_checked == 40, "updates checked %d", updates_checked);
    CHECK(formula_ok, "avg <- (1 - tau) avg + tau online after every update (max err %g)",
          max_err);
    CHECK(memcmp(on, avg, (size_t)n * 4) != 0, "the average lags the online policy");
    CHECK(memcmp(on, learner_policy(l0)->net->params, (size_t)n * 4) == 0,
          "averaging does not change the online run");
    Policy* snap = learner_snapshot_policy(l);
    CHECK(snap && memcmp(snap->net->params, avg, (size_t)n * 4) == 0,
          "the snapshot is the averaged policy");
    policy_free(snap);
    free(prev);
    learner_free(l);
    learner_free(l0);
    sim_free(p);
}

// eval.csv with averaging: the deployed (averaged) policy in eval_return_mean and the
// online policy in online_eval_mean, both from finite evaluations.
static void test_trainer_reports_both_policies(void) {
    LearnerConfig c;
    small_config(&c, 4);
    c.init_random_steps = 200;
    c.policy_avg_tau = 0.05f;
    TrainOpts o;
    train_opts_default(&o);
    o.steps = 300;
    o.eval_every = 300;
    o.eval_episodes = 2;
    o.progress = 0;
    char dir[] = "/tmp/test_trainer_avg_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    o.out_dir = dir;
    TrainResult tr;
    MaacErr me = {""};
    int r = trainer_run(&c, &o, &tr, &me);
    CHECK(r == 0, "trainer_run: %s", me.msg);
    char path[512], line[1024] = "", row[1024] = "";
    snprintf(path, sizeof(path), "%s/eval.csv", dir);
    FILE* f = fopen(path, "r");
    CHECK(f && fgets(line, sizeof(line), f) && fgets(row, sizeof(row), f), "eval.csv rows");
    if (f)
        fclose(f);
    CHECK(strstr(line, ",online_eval_mean,online_eval_std") != NULL, "header: %s", line);
    // Fields 2 (deployed mean) and 12 (online mean).
    double v[13] = {0};
    int nf = 0;
    for (char *q = row, *tok; nf < 13 && (tok = strsep(&q, ",")) != NULL; nf++)
        v[nf] = *tok ? strtod(tok, NULL) : NAN;
    CHECK(nf == 13 && isfinite(v[1]) && isfinite(v[11]) && isfinite(v[12]),
          "deployed and online returns: %s", row);
    const char* names[] = {"eval.csv", "timing.csv", "policy.ckpt", "learner.ckpt", "config.ini",
                           "policy_best.ckpt", "learner_best.ckpt", "state.ckpt"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void) {
    test_policy_average();
    test_trainer_reports_both_policies();
    test_learner_schedule_and_determinism();
    test_learner_threads_same_run();
    test_learner_fit_freq();
    test_learner_rollout_schedule_resizes_pool();
    test_trainer_writes_files();
    return test_summary("test_learner");
}
