// SPDX-License-Identifier: Apache-2.0
// test_learner_async.c -- the learner pieces maacd's asynchronous learner thread
// stands on (core/poll.h, learner.h):
//   1. a poll hook that asks to stop ends a model fit (-ECANCELED, no fit counted,
//      redone at the next step), an update burst (-ECANCELED, the updates done stay)
//      and a rollout (-ECANCELED after a chunk, the rows added stay);
//   2. the schedule runs on train steps: rows taken in ahead of their train steps do
//      not change what a train step does, and a call with no new row does nothing;
//   3. learner_state_encode without D_model round-trips through a file: D_env and the
//      nets equal, D_model empty, the refresh due at the next step;
//   4. learner_start_from_policy copies the weights, holds the actor (policy fixed,
//      Qs learning) for the warm-up, then trains it; snapshot versions continue after
//      the loaded one; a policy of another shape is refused.
// Synthetic data (a linear plant), learned reward: no MuJoCo.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/learner.h"
#include "core/learner_internal.h"
#include "core/rollout.h"
#include "test_util.h"

enum { S = 3, A = 1 };

static void small_config(LearnerConfig* c) {
    learner_config_default(c, "synthetic");
    c->seed = 3;
    c->known_reward = 0;
    c->init_random_steps = 200;
    c->model_train_freq = 100;
    c->model_fit_freq = 100;
    c->rollout_batch = 300;
    c->rollout_chunk = 64;
    c->rollout_schedule[0] = 0;
    c->rollout_schedule[1] = 1;
    c->rollout_schedule[2] = 1;
    c->rollout_schedule[3] = 1;
    c->model_max_epochs = 4;
    c->n_models = 2;
    c->n_elites = 2;
    c->model_hidden = 2;
    c->model_width = 16;
    c->policy_width = c->q_width = 16;
    c->batch = 32;
    c->updates_per_step = 2;
    c->horizon = 1;
    c->steve_horizon = 1;
    c->terminal_actions = 1;
    c->threads = 1;
    c->policy_avg_tau = 0;
}

// The linear plant below as a model: widths, bounds [-1, 1], no known reward or
// termination (the learner learns the reward with its ensemble's reward head).
static const PlantModel* linear_plant(void) {
    static PlantModel p;
    MaacErr e = {""};
    CHECK(plant_init(&p, "linear", S, A, &e) == 0, "plant_init: %s", e.msg);
    return &p;
}

static Learner* make(const LearnerConfig* c) {
    MaacErr e = {""};
    Learner* l = learner_create(c, linear_plant(), &e);
    CHECK(l != NULL, "learner_create: %s", e.msg);
    return l;
}

// A linear plant: s' = 0.9 s + 0.1 a + noise, r = -|s|^2, from a seeded stream.
typedef struct {
    Rng rng;
    float s[S];
} Gen;

static void gen_init(Gen* g, unsigned seed) {
    rng_seed(&g->rng, seed);
    g->s[0] = 0.5f, g->s[1] = -0.2f, g->s[2] = 0.1f;
}

static void gen_feed(Gen* g, Learner* l, int n) {
    float a[A], s2[S];
    for (int i = 0; i < n; i++) {
        a[0] = 2.0f * rng_uniform(&g->rng) - 1.0f;
        float r = 0;
        for (int j = 0; j < S; j++) {
            s2[j] = 0.9f * g->s[j] + 0.1f * a[0] + 0.01f * (rng_uniform(&g->rng) - 0.5f);
            r -= g->s[j] * g->s[j];
        }
        learner_add_transition(l, g->s, a, r, s2, 0);
        memcpy(g->s, s2, sizeof s2);
    }
}

static void feed(Learner* l, int n, unsigned seed) {
    Gen g;
    gen_init(&g, seed);
    gen_feed(&g, l, n);
}

typedef struct {
    int calls, stop_at;   // stop (return 1) from call stop_at on; 0 never
} Poller;

static int poll_fn(void* arg) {
    Poller* p = arg;
    p->calls++;
    return p->stop_at > 0 && p->calls >= p->stop_at;
}

static void test_cancel(void) {
    LearnerConfig c;
    small_config(&c);
    Learner* l = make(&c);
    if (!l) return;
    feed(l, 200, 1);
    Poller p = {0, 2};
    learner_set_poll(l, poll_fn, &p);
    for (int i = 0; i < 199; i++) learner_train_step(l);   // the random phase: no work
    LearnerStats st;
    learner_stats(l, &st);
    CHECK(st.model_fits == 0 && st.updates == 0, "nothing before the random phase ends");
    int r = learner_train_step(l);   // step 200: the first fit, cut at the 2nd poll
    learner_stats(l, &st);
    CHECK(r == -ECANCELED, "a cut model fit returns -ECANCELED (got %d)", r);
    CHECK(st.model_fits == 0 && st.updates == 0, "a cut fit is not counted (%d fits)",
          st.model_fits);
    CHECK(learner_phase(l, NULL, NULL) == LEARNER_IDLE, "idle after the cut");
    p.stop_at = 0;
    feed(l, 1, 2);
    r = learner_train_step(l);   // the fit is redone, then rollouts and updates
    learner_stats(l, &st);
    CHECK(r == 0 && st.model_fits == 1 && st.model_refreshes == 1 && st.updates == 2,
          "the next step fits again (r %d, %d fits, %d refreshes, %ld updates)", r,
          st.model_fits, st.model_refreshes, st.updates);
    // an update burst cut after its first update
    feed(l, 1, 3);
    p.calls = 0;
    p.stop_at = 2;
    r = learner_train_step(l);
    learner_stats(l, &st);
    CHECK(r == -ECANCELED && st.updates == 3, "a cut burst keeps the updates done (r %d, %ld)",
          r, st.updates);
    learner_set_poll(l, NULL, NULL);

    // a rollout cut after its first chunk keeps that chunk's rows
    ReplayBuffer* dm = replay_create(10000, S, A);
    RolloutWork* w = rollout_work_create(learner_ensemble(l), learner_policy(l), 64);
    Poller q = {0, 1};
    rollout_work_set_poll(w, poll_fn, &q);
    Rng rng;
    rng_seed(&rng, 9);
    RolloutStats rs;
    r = rollout_run(learner_ensemble(l), learner_policy(l), NULL, 0, w, learner_env_buffer(l),
                    dm, 640, 1, &rng, &rs);
    CHECK(r == -ECANCELED && rs.started == 64 && dm->size == rs.added && rs.added > 0,
          "a cut rollout keeps its first chunk (r %d, started %ld, added %ld, held %ld)", r,
          rs.started, rs.added, dm->size);
    rollout_work_free(w);
    replay_free(dm);
    learner_free(l);
}

// Rows taken in ahead of their train steps: the same work per train step as one row at a
// time (the schedule counts train steps), and no work without a new row.
static void test_schedule(void) {
    LearnerConfig c;
    small_config(&c);
    Learner* a = make(&c);
    Learner* b = make(&c);
    if (!a || !b) goto out;
    feed(b, 600, 4);   // b has every row at once
    Gen g;
    gen_init(&g, 4);
    for (int i = 0; i < 600; i++) {   // a: one row, then its train step (maac train)
        gen_feed(&g, a, 1);
        learner_train_step(a);
        learner_train_step(b);
    }
    LearnerStats sa, sb;
    learner_stats(a, &sa);
    learner_stats(b, &sb);
    CHECK(sa.updates == sb.updates && sa.model_fits == sb.model_fits &&
          sa.model_refreshes == sb.model_refreshes && sa.updates == 2 * (600 - 200 + 1),
          "updates %ld / %ld, fits %d / %d, refreshes %d / %d", sa.updates, sb.updates,
          sa.model_fits, sb.model_fits, sa.model_refreshes, sb.model_refreshes);
    learner_train_step(b);   // 601st call, 600 rows: nothing new to train on
    LearnerStats sc;
    learner_stats(b, &sc);
    CHECK(sc.updates == sb.updates, "no work without a new row (%ld -> %ld)", sb.updates,
          sc.updates);
out:
    learner_free(a);
    learner_free(b);
}

// Realtime: updates run from the poll hook inside model fits and refreshes
// (learner_interleave_updates), never before the first D_model refresh, never outside
// a fit or refresh, and never past learner_update_cap; each train step then does only
// what is left under the cap.
typedef struct {
    Learner* l;
    long interleaved, zero_calls, over_cap, calls;
} Interleaver;

static int interleave_fn(void* arg) {
    Interleaver* p = arg;
    p->calls++;
    int n = learner_interleave_updates(p->l, 3);
    if (n > 0) p->interleaved += n;
    if (n == 0) p->zero_calls++;
    LearnerStats st;
    learner_stats(p->l, &st);
    if (st.updates > learner_update_cap(p->l)) p->over_cap++;
    return 0;
}

static void test_interleave(void) {
    LearnerConfig c;
    small_config(&c);
    c.model_max_epochs = 30;   // fits long enough to poll several times
    Learner* l = make(&c);
    if (!l) return;
    Interleaver p = {l, 0, 0, 0, 0};
    learner_set_poll(l, interleave_fn, &p);
    Gen g;
    gen_init(&g, 6);
    gen_feed(&g, l, 200);
    for (int i = 0; i < 200; i++) learner_train_step(l);   // random phase, then the first fit
    LearnerStats st;
    learner_stats(l, &st);
    CHECK(st.model_fits == 1 && p.interleaved == 0 && st.interleaved_updates == 0,
          "no interleaved update before the first refresh (%ld)", p.interleaved);
    CHECK(learner_interleave_updates(l, 5) == 0, "nothing outside a fit or refresh");
    gen_feed(&g, l, 400);   // realtime: rows arrive ahead of their train steps
    int max_viol = 0;
    for (int i = 0; i < 400; i++) {
        CHECK(learner_train_step(l) == 0, "train step %d", i);
        learner_stats(l, &st);
        if (st.updates > learner_update_cap(l)) max_viol++;
    }
    learner_stats(l, &st);
    CHECK(p.interleaved > 0 && st.interleaved_updates == p.interleaved,
          "updates ran inside the fits (%ld, stats %ld, %ld polls)", p.interleaved,
          st.interleaved_updates, p.calls);
    CHECK(p.over_cap == 0 && max_viol == 0, "never past the cap (%ld / %d)", p.over_cap,
          max_viol);
    CHECK(st.updates == learner_update_cap(l) && st.updates == 2 * (600 - 200 + 1),
          "every row's share of updates, no more (%ld, cap %ld)", st.updates,
          learner_update_cap(l));
    learner_free(l);
}

static void test_encode_no_model(void) {
    LearnerConfig c;
    small_config(&c);
    Learner* l = make(&c);
    if (!l) return;
    feed(l, 450, 5);
    for (int i = 0; i < 450; i++) learner_train_step(l);
    CHECK(learner_model_buffer(l)->size > 0, "D_model filled");
    char* buf = NULL;
    size_t len = 0;
    MaacErr e = {""};
    int r = learner_state_encode(l, NULL, LEARNER_STATE_NO_D_MODEL, &buf, &len, &e);
    CHECK(r == 0 && buf && len > 0, "encode: %s", e.msg);
    char path[] = "/tmp/test_learner_async_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    r = maac_write_atomic(path, buf, len, &e);
    free(buf);
    CHECK(r == 0, "write: %s", e.msg);
    Learner* m = learner_state_load(path, linear_plant(), &e);
    unlink(path);
    CHECK(m != NULL, "load: %s", e.msg);
    if (m) {
        const ReplayBuffer *da = learner_env_buffer(l), *db = learner_env_buffer(m);
        CHECK(da->size == db->size && !memcmp(da->obs, db->obs, (size_t)da->size * S * 4),
              "D_env carried over (%ld rows)", db->size);
        CHECK(learner_model_buffer(m)->size == 0, "D_model left out");
        CHECK(!memcmp(learner_policy(l)->net->params, learner_policy(m)->net->params,
                      (size_t)learner_policy(l)->net->n_params * 4), "policy carried over");
        LearnerStats s0, s1;
        learner_stats(m, &s0);
        feed(m, 1, 6);
        learner_train_step(m);
        learner_stats(m, &s1);
        CHECK(s1.model_refreshes == s0.model_refreshes + 1 &&
              learner_model_buffer(m)->size > 0, "D_model rebuilt at the first step");
        learner_free(m);
    }
    learner_free(l);
}

static void test_start_from_policy(void) {
    LearnerConfig c;
    small_config(&c);
    c.seed = 21;
    Learner* src = make(&c);
    c.seed = 22;
    Learner* l = make(&c);
    if (!src || !l) goto out;
    Policy* p = learner_snapshot_policy(src);
    p->version = 40;
    MaacErr e = {""};
    CHECK(learner_start_from_policy(l, p, 6, &e) == 0, "start: %s", e.msg);
    const Mlp* net = learner_policy(l)->net;
    size_t np = (size_t)net->n_params;
    CHECK(!memcmp(net->params, p->net->params, np * 4), "weights copied");
    float* q0 = malloc((size_t)learner_qf(l)->net->n_params * 4);
    memcpy(q0, learner_qf(l)->net->params, (size_t)learner_qf(l)->net->n_params * 4);
    feed(l, 203, 7);
    for (int i = 0; i < 202; i++) learner_train_step(l);   // 3 train steps: 6 updates
    CHECK(learner_actor_held(l) == 0, "held for exactly 6 updates");
    CHECK(!memcmp(net->params, p->net->params, np * 4), "the actor was held");
    CHECK(memcmp(q0, learner_qf(l)->net->params, (size_t)learner_qf(l)->net->n_params * 4),
          "the critic learned meanwhile");
    learner_train_step(l);
    CHECK(memcmp(net->params, p->net->params, np * 4), "the actor trains after the warm-up");
    Policy* snap = learner_snapshot_policy(l);
    CHECK(snap && snap->version == 41, "snapshot versions continue (%llu)",
          snap ? (unsigned long long)snap->version : 0ULL);
    policy_free(snap);
    free(q0);
    // another shape is refused
    LearnerConfig c2 = c;
    c2.policy_width = 24;
    Learner* other = make(&c2);
    if (other) {
        CHECK(learner_start_from_policy(other, p, 0, &e) == -EINVAL, "other shape refused");
        learner_free(other);
    }
    policy_free(p);
out:
    learner_free(src);
    learner_free(l);
}

int main(void) {
    test_cancel();
    test_schedule();
    test_interleave();
    test_encode_no_model();
    test_start_from_policy();
    return test_summary("test_learner_async");
}
