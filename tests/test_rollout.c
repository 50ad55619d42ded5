// SPDX-License-Identifier: Apache-2.0
// test_rollout.c -- k-step branched rollouts (core/rollout.c) and the learner's schedules.
//
// The ensemble is made deterministic by zeroing its parameters and setting a tiny
// target std: every imagined step is then s' = s + target_mean[:S] (+ ~1e-9 noise),
// so the tests know exactly when inverted_pendulum's termination (|angle| > 0.2)
// fires and can check chaining, stopping and D_model counts.
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/learner.h"
#include "core/rollout.h"
#include "test_util.h"
#include "plant_util.h"

#define S 4
#define A 1

static Ensemble* make_drift_ensemble(float angle_step, int learn_reward) {
    Rng rng;
    rng_seed(&rng, 1);
    Ensemble* e = ens_create(S, A, 3, 2, 16, NN_ACT_SWISH, learn_reward, &rng);
    if (!e)
        return NULL;
    memset(e->net->params, 0, (size_t)e->net->n_params * sizeof(float));
    for (int j = 0; j < e->n_out; j++) {
        e->target_mean[j] = 0.0f;
        e->target_std[j] = 1e-9f;
    }
    e->target_mean[1] = angle_step;   // pole angle grows by angle_step per step
    if (learn_reward)
        e->target_mean[S] = 0.5f;     // learned reward 0.5
    e->n_elites = 2;
    e->elites[0] = 0;
    e->elites[1] = 2;
    return e;
}

static Policy* make_policy(void) {
    Rng rng;
    rng_seed(&rng, 2);
    int hidden[2] = {16, 16};
    float lo[A] = {-3.0f}, hi[A] = {3.0f};
    return policy_create(S, A, 2, hidden, NN_ACT_RELU, lo, hi, &rng);
}

static ReplayBuffer* make_env_buffer(long n) {
    ReplayBuffer* rb = replay_create(1000, S, A);
    float s[S] = {0.01f, 0.0f, 0.0f, 0.0f}, a[A] = {0.0f};
    for (long i = 0; i < n; i++) {
        s[0] = 0.001f * (float)i;
        replay_add(rb, s, a, 1.0f, s, 0.0f);
    }
    return rb;
}

static void test_rollout_terminated_rows_stop(void) {
    const PlantModel* rf = test_builtin_plant("inverted_pendulum");
    CHECK(rf != NULL, "inverted_pendulum reward fn");
    if (!rf)
        return;
    Ensemble* e = make_drift_ensemble(0.15f, 0);   // angle 0.15 (alive), 0.30 (terminal)
    Policy* p = make_policy();
    ReplayBuffer* env = make_env_buffer(50);
    ReplayBuffer* model = replay_create(10000, S, A);
    RolloutWork* w = rollout_work_create(e, p, 64);   // 300 rows -> 5 chunks
    Rng rng;
    rng_seed(&rng, 3);
    RolloutStats st;
    int r = rollout_run(e, p, rf, 1, w, env, model, 300, 5, &rng, &st);
    CHECK(r == 0, "rollout_run %d", r);
    CHECK(st.started == 300, "started %ld", st.started);
    CHECK(model->size == 600, "two steps per row before termination: %ld rows", model->size);
    CHECK(st.added == 600, "added %ld", st.added);
    CHECK(st.terminated == 300, "terminated %ld", st.terminated);
    int n_done = 0, chain_ok = 1, reward_ok = 1;
    for (long i = 0; i < model->size; i++) {
        float s[S], a[A], s2[S], rew, d;
        replay_get(model, i, s, a, &rew, s2, &d);
        n_done += d != 0.0f;
        reward_ok &= rew == 1.0f;   // known reward: +1 per step
        // first step from angle 0 is alive; the step from 0.15 terminates
        if (fabsf(s[1]) < 1e-3f)
            chain_ok &= d == 0.0f && fabsf(s2[1] - 0.15f) < 1e-4f;
        else
            chain_ok &= d == 1.0f && fabsf(s[1] - 0.15f) < 1e-4f && fabsf(s2[1] - 0.30f) < 1e-4f;
        chain_ok &= a[0] >= -3.0f && a[0] <= 3.0f;
    }
    CHECK(n_done == 300, "done flags %d", n_done);
    CHECK(chain_ok, "rows chain s -> s' and stop at termination");
    CHECK(reward_ok, "known reward used");
    rollout_work_free(w);
    replay_free(model);
    replay_free(env);
    policy_free(p);
    ens_free(e);
}

static void test_rollout_chains_k_steps(void) {
    const PlantModel* rf = test_builtin_plant("inverted_pendulum");
    if (!rf)
        return;
    Ensemble* e = make_drift_ensemble(0.01f, 0);   // 0.01 per step: never terminal in 5
    Policy* p = make_policy();
    ReplayBuffer* env = make_env_buffer(20);
    ReplayBuffer* model = replay_create(100000, S, A);
    RolloutWork* w = rollout_work_create(e, p, 128);
    Rng rng;
    rng_seed(&rng, 4);
    RolloutStats st;
    int r = rollout_run(e, p, rf, 1, w, env, model, 100, 5, &rng, &st);
    CHECK(r == 0 && model->size == 500, "k * n rows: %ld", model->size);
    // Row order within a chunk: step t of every live row, then step t+1.
    int chained = 1;
    for (int t = 0; t < 4; t++)
        for (int b = 0; b < 100; b++) {
            float s2[S], s_next[S];
            replay_get(model, (long)t * 100 + b, NULL, NULL, NULL, s2, NULL);
            replay_get(model, (long)(t + 1) * 100 + b, s_next, NULL, NULL, NULL, NULL);
            chained &= memcmp(s2, s_next, sizeof(s2)) == 0;
            chained &= fabsf(s2[1] - 0.01f * (float)(t + 1)) < 1e-4f;
        }
    CHECK(chained, "step t+1 starts where step t ended");
    // k = 0 adds nothing; an empty D_env is an error.
    replay_clear(model);
    r = rollout_run(e, p, rf, 1, w, env, model, 100, 0, &rng, &st);
    CHECK(r == 0 && model->size == 0, "k = 0: %ld rows", model->size);
    ReplayBuffer* empty = replay_create(10, S, A);
    CHECK(rollout_run(e, p, rf, 1, w, empty, model, 10, 1, &rng, NULL) == -EINVAL, "empty D_env");
    replay_free(empty);
    rollout_work_free(w);
    replay_free(model);
    replay_free(env);
    policy_free(p);
    ens_free(e);
}

static void test_rollout_learned_reward(void) {
    const PlantModel* rf = test_builtin_plant("inverted_pendulum");
    Ensemble* e = make_drift_ensemble(0.0f, 1);
    Policy* p = make_policy();
    ReplayBuffer* env = make_env_buffer(10);
    ReplayBuffer* model = replay_create(1000, S, A);
    RolloutWork* w = rollout_work_create(e, p, 32);
    Rng rng;
    rng_seed(&rng, 5);
    int r = rollout_run(e, p, rf, 0, w, env, model, 40, 2, &rng, NULL);
    CHECK(r == 0 && model->size == 80, "rows %ld", model->size);
    float rew = 0;
    replay_get(model, 7, NULL, NULL, &rew, NULL, NULL);
    CHECK_NEAR(rew, 0.5f, 1e-4, "learned reward from the ensemble head");
    // Without a learned reward head and without a known reward there is nothing to use.
    Ensemble* e2 = make_drift_ensemble(0.0f, 0);
    CHECK(rollout_run(e2, p, NULL, 0, w, env, model, 4, 1, &rng, NULL) == -EINVAL,
          "no reward source");
    ens_free(e2);
    rollout_work_free(w);
    replay_free(model);
    replay_free(env);
    policy_free(p);
    ens_free(e);
}

static void test_rollout_length_schedule(void) {
    int hopper[4] = {20, 100, 1, 15};
    CHECK(rollout_length(hopper, 0) == 1, "start");
    CHECK(rollout_length(hopper, 20) == 1, "at e0");
    CHECK(rollout_length(hopper, 60) == 8, "middle: %d", rollout_length(hopper, 60));
    CHECK(rollout_length(hopper, 100) == 15, "at e1");
    CHECK(rollout_length(hopper, 500) == 15, "held");
    int hc[4] = {20, 100, 1, 1};
    CHECK(rollout_length(hc, 70) == 1, "constant schedule");
    CHECK(rollout_model_capacity(1, 1, 100000, 250) == 400000, "MBPO model pool");
    CHECK(rollout_model_capacity(1, 15, 100000, 250) == 6000000, "hopper pool");
}

static void test_learner_batch_split(void) {
    LearnerConfig c;
    learner_config_default(&c, "half_cheetah");
    CHECK(c.batch == 256 && fabsf(c.real_ratio - 0.05f) < 1e-7f, "defaults");
    CHECK(learner_real_rows(&c, 1000) == 12, "int(256 * 0.05) = 12: %d", learner_real_rows(&c, 1000));
    CHECK(learner_real_rows(&c, 0) == 256, "empty D_model: all real");
    c.real_only = 1;
    CHECK(learner_real_rows(&c, 1000) == 256, "real_only");
    c.real_only = 0;
    c.real_ratio = 1.0f;
    CHECK(learner_real_rows(&c, 1000) == 256, "ratio 1");
    c.real_ratio = 0.0f;
    CHECK(learner_real_rows(&c, 1000) == 0, "ratio 0");
    c.real_ratio = 0.05f;
    CHECK(learner_model_capacity(&c, 1) == 400000, "pool %ld", learner_model_capacity(&c, 1));
    c.model_capacity = 12345;
    CHECK(learner_model_capacity(&c, 3) == 12345, "explicit capacity");
}

static void test_learner_config_set(void) {
    LearnerConfig c;
    learner_config_default(&c, "walker2d");
    CHECK(c.horizon == 2, "walker2d H = 2");
    learner_config_default(&c, "hopper");
    CHECK(c.horizon == 4 && c.rollout_schedule[3] == 15, "hopper H 4, k1 15");
    CHECK(c.soft_path == 0, "hopper: entropy at the first action only (released code)");
    learner_config_default(&c, "half_cheetah");
    CHECK(c.soft_path == 1, "half_cheetah: soft path by default");
    CHECK(c.policy_avg_tau == 5e-4f, "half_cheetah: weight-averaged policy by default");
    learner_config_default(&c, "hopper");
    CHECK(c.policy_avg_tau == 0.0f, "hopper: the online policy is deployed (no average)");
    MaacErr me = {""};
    CHECK(learner_config_set(&c, "real-ratio", "0.1", &me) == 0 && fabsf(c.real_ratio - 0.1f) < 1e-7f,
          "dash form");
    CHECK(learner_config_set(&c, "rollout_schedule", "1,2,3,4", &me) == 0 &&
              c.rollout_schedule[2] == 3, "schedule");
    CHECK(learner_config_set(&c, "model_act", "relu", &me) == 0 && c.model_act == NN_ACT_RELU,
          "activation");
    CHECK(learner_config_set(&c, "cem.population", "77", &me) == 0 && c.cem.population == 77,
          "cem key");
    CHECK(learner_config_set(&c, "env_capacity", "1e6", &me) == 0 && c.env_capacity == 1000000,
          "1e6");
    CHECK(learner_config_set(&c, "horizon", "x", &me) == -EINVAL, "bad value");
    CHECK(learner_config_set(&c, "no_such_key", "1", &me) == -ENOENT, "unknown key");
    c.n_elites = c.n_models + 1;
    CHECK(learner_config_check(&c, &me) == -EINVAL, "elites > models rejected");
}

int main(void) {
    test_rollout_terminated_rows_stop();
    test_rollout_chains_k_steps();
    test_rollout_learned_reward();
    test_rollout_length_schedule();
    test_learner_batch_split();
    test_learner_config_set();
    return test_summary("test_rollout");
}
