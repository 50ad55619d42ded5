// SPDX-License-Identifier: Apache-2.0
// test_learner_resume.c -- exact resume from a "learner_state" checkpoint (learner_state.c).
//
// Learner A runs inverted_pendulum with small settings (STEVE on, threads = 2, a model
// fit every 250 steps, a rollout length that grows from 1 to 2 at 1000 env steps so
// D_model is reallocated). Its state is saved at step 400 and loaded as B, and saved
// again at step 1060 (after the reallocation) and loaded as C with threads = 1 (the
// `maac train --resume --threads` override). From then on every
// learner gets the same observation for learner_act (their actions must agree bit for
// bit), the plant steps with A's action and the same transition goes to all of them,
// then learner_train_step. At step 1200 every carried-over field must be identical:
// policy, Qs, target Qs, ensemble (params, normalisations, elites), the four Adams'
// moments and steps, log alpha, the random streams, D_env and D_model, the counters.
// Then damaged files are refused cleanly: truncated, a flipped byte (CRC), the wrong
// kind, inconsistent fields (a buffer size over its capacity, a short blob).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/learner.h"
#include "core/learner_internal.h"
#include "sim/sim.h"
#include "test_util.h"
#include "plant_util.h"

static void resume_config(LearnerConfig* c) {
    learner_config_default(c, "inverted_pendulum");
    c->seed = 11;
    c->init_random_steps = 300;
    c->model_train_freq = 250;
    c->model_fit_freq = 250;
    c->rollout_batch = 200;
    c->rollout_schedule[0] = 0;   // k = 1 in epoch 0, 2 from epoch 1 (env step 1000)
    c->rollout_schedule[1] = 1;
    c->rollout_schedule[2] = 1;
    c->rollout_schedule[3] = 2;
    c->model_max_epochs = 5;
    c->updates_per_step = 1;
    c->batch = 64;
    c->policy_width = c->q_width = 32;
    c->model_width = 32;
    c->steve = 1;
    c->threads = 2;
    c->policy_avg_tau = 0.01f;   // the averaged policy must carry over too
}

static int same_f(const float* a, const float* b, long n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

static int same_net(const Mlp* a, const Mlp* b) {
    return mlp_same_shape(a, b) && same_f(a->params, b->params, a->n_params) &&
           same_f(a->in_mean, b->in_mean, a->n_in) && same_f(a->in_std, b->in_std, a->n_in);
}

static int same_adam(const Adam* a, const Adam* b) {
    if (!a || !b)
        return a == b;
    return a->n == b->n && a->t == b->t && same_f(a->m, b->m, a->n) && same_f(a->v, b->v, a->n);
}

static int same_replay(const ReplayBuffer* a, const ReplayBuffer* b) {
    long n = a->size, S = a->obs_dim, A = a->act_dim;
    return a->capacity == b->capacity && a->size == b->size && a->head == b->head &&
           a->total_added == b->total_added && same_f(a->obs, b->obs, n * S) &&
           same_f(a->act, b->act, n * A) && same_f(a->rew, b->rew, n) &&
           same_f(a->next_obs, b->next_obs, n * S) && same_f(a->done, b->done, n);
}

// Every field that carries over between steps, compared bit for bit.
static void check_same(const Learner* a, const Learner* b, const char* who) {
    CHECK(same_net(a->pi->net, b->pi->net), "%s: policy", who);
    CHECK(a->pi_avg && b->pi_avg && same_net(a->pi_avg->net, b->pi_avg->net),
          "%s: averaged policy", who);
    CHECK(same_net(a->qf->net, b->qf->net), "%s: Qs", who);
    CHECK(same_net(a->qf_targ->net, b->qf_targ->net), "%s: target Qs", who);
    CHECK(same_net(a->ens->net, b->ens->net), "%s: ensemble", who);
    CHECK(same_f(a->ens->target_mean, b->ens->target_mean, a->ens->n_out) &&
              same_f(a->ens->target_std, b->ens->target_std, a->ens->n_out),
          "%s: ensemble target normalisation", who);
    CHECK(a->ens->n_elites == b->ens->n_elites &&
              memcmp(a->ens->elites, b->ens->elites, sizeof(a->ens->elites)) == 0,
          "%s: elites", who);
    CHECK(same_adam(a->opt_pi, b->opt_pi), "%s: policy Adam", who);
    CHECK(same_adam(a->opt_q, b->opt_q), "%s: Q Adam", who);
    CHECK(same_adam(ens_trainer_adam(a->ens_tr), ens_trainer_adam(b->ens_tr)),
          "%s: ensemble Adam", who);
    CHECK(same_adam(a->alpha.opt, b->alpha.opt) &&
              memcmp(&a->alpha.log_alpha, &b->alpha.log_alpha, sizeof(float)) == 0,
          "%s: entropy coefficient", who);
    CHECK(memcmp(&a->rng, &b->rng, sizeof(Rng)) == 0 &&
              memcmp(&a->act_rng, &b->act_rng, sizeof(Rng)) == 0 &&
              memcmp(&a->actor_rng, &b->actor_rng, sizeof(Rng)) == 0 &&
              memcmp(a->critic_rng, b->critic_rng, sizeof(a->critic_rng)) == 0,
          "%s: random streams", who);
    CHECK(same_replay(a->d_env, b->d_env), "%s: D_env", who);
    CHECK(same_replay(a->d_model, b->d_model) && a->d_model_k == b->d_model_k, "%s: D_model",
          who);
    CHECK(a->version == b->version && a->last_fit_step == b->last_fit_step &&
              a->last_refresh_step == b->last_refresh_step,
          "%s: version / last fit / last refresh", who);
    const LearnerStats *s = &a->st, *t = &b->st;
    CHECK(s->env_steps == t->env_steps && s->updates == t->updates &&
              s->model_fits == t->model_fits && s->model_refreshes == t->model_refreshes &&
              s->rollout_len == t->rollout_len &&
              memcmp(&s->q_loss, &t->q_loss, sizeof(float)) == 0 &&
              memcmp(&s->pi_loss, &t->pi_loss, sizeof(float)) == 0 &&
              memcmp(&s->model_holdout_mse, &t->model_holdout_mse, sizeof(float)) == 0,
          "%s: stats (%ld/%ld steps, %ld/%ld updates, %d/%d fits)", who, s->env_steps,
          t->env_steps, s->updates, t->updates, s->model_fits, t->model_fits);
}

static long file_size(const char* path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int copy_damaged(const char* src, const char* dst, long keep, long flip_at) {
    FILE* f = fopen(src, "rb");
    if (!f)
        return -1;
    long n = file_size(src);
    unsigned char* buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    if (flip_at >= 0 && flip_at < n)
        buf[flip_at] ^= 0x10;
    f = fopen(dst, "wb");
    int r = f && fwrite(buf, 1, (size_t)(keep < n ? keep : n), f) == (size_t)(keep < n ? keep : n)
                ? 0
                : -1;
    if (f)
        fclose(f);
    free(buf);
    return r;
}

static void expect_refused(const char* path, const char* what, const char* want_in_msg) {
    MaacErr me = {""};
    Learner* l = learner_state_load(path, test_builtin_plant("inverted_pendulum"), &me);
    CHECK(l == NULL, "%s accepted", what);
    CHECK(strstr(me.msg, want_in_msg) != NULL, "%s: message '%s' lacks '%s'", what, me.msg,
          want_in_msg);
    learner_free(l);
}

static void test_resume_exact_and_refusals(void) {
    char dir[] = "/tmp/maac_resume_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char p400[256], p1060[256], bad[256], lck[256];
    snprintf(p400, sizeof(p400), "%s/state400.ckpt", dir);
    snprintf(p1060, sizeof(p1060), "%s/state1060.ckpt", dir);
    snprintf(bad, sizeof(bad), "%s/bad.ckpt", dir);
    snprintf(lck, sizeof(lck), "%s/learner.ckpt", dir);

    LearnerConfig c;
    resume_config(&c);
    MaacErr me = {""};
    SimPlant* p = sim_create(c.plant, &me);
    CHECK(p != NULL, "sim_create: %s", me.msg);
    if (!p)
        return;
    const SimSpec* sp = sim_spec(p);
    const int S = sp->obs_dim, A = sp->act_dim;
    Learner* la = learner_create(&c, test_spec_plant(sp), &me);
    CHECK(la != NULL, "learner_create: %s", me.msg);
    Learner* lb = NULL;
    Learner* lc = NULL;
    double obs[SIM_MAX_OBS], obs2[SIM_MAX_OBS], act[SIM_MAX_ACT];
    float s[SIM_MAX_OBS], s2[SIM_MAX_OBS], a[SIM_MAX_ACT], ab[SIM_MAX_ACT];
    uint64_t ep = 0;
    sim_reset(p, ep++, obs);
    int r = 0, act_same = 1, step_same = 1;
    for (long t = 0; t < 1200 && la && r == 0; t++) {
        if (t == 400 || t == 1060) {
            const char* path = t == 400 ? p400 : p1060;
            LearnerStateExtra x = {0};
            learner_state_extra_set(&x, "step", (double)t);
            learner_state_extra_set(&x, "pi_ish", 3.25);
            r = learner_state_save_ex(la, &x, path, &me);
            CHECK(r == 0, "save at %ld: %s", t, me.msg);
            LearnerStateExtra y = {0};
            // C is loaded with one thread instead of A's two: the thread count only
            // changes the speed, so C must still follow A bit for bit.
            int threads = t == 400 ? 0 : 1;
            Learner* l = learner_state_load_ex(path, test_spec_plant(sp), threads, &y, &me);
            CHECK(l != NULL, "load at %ld: %s", t, me.msg);
            CHECK(!l || learner_config(l)->threads == (t == 400 ? 2 : 1),
                  "load at %ld: threads %d (saved 2, asked %d)", t,
                  l ? learner_config(l)->threads : -1, threads);
            CHECK(learner_state_extra_get(&y, "step", -1) == (double)t &&
                      learner_state_extra_get(&y, "pi_ish", -1) == 3.25 && y.n == 2,
                  "extra numbers round-trip");
            if (l)
                check_same(la, l, t == 400 ? "just loaded at 400" : "just loaded at 1060");
            if (t == 400)
                lb = l;
            else
                lc = l;
            if (t == 1060)
                printf("state file at step %ld: %ld bytes (D_env %ld rows, D_model %ld rows)\n",
                       t, file_size(path), la->d_env->size, la->d_model->size);
        }
        for (int j = 0; j < S; j++)
            s[j] = (float)obs[j];
        learner_act(la, s, 0, a);
        Learner* others[2] = {lb, lc};
        for (int k = 0; k < 2; k++)
            if (others[k]) {
                learner_act(others[k], s, 0, ab);
                act_same &= memcmp(a, ab, (size_t)A * sizeof(float)) == 0;
            }
        for (int j = 0; j < A; j++)
            act[j] = a[j];
        SimStepResult sr;
        sim_step(p, act, obs2, &sr);
        for (int j = 0; j < S; j++)
            s2[j] = (float)obs2[j];
        learner_add_transition(la, s, a, (float)sr.reward, s2, sr.terminated);
        for (int k = 0; k < 2; k++)
            if (others[k])
                learner_add_transition(others[k], s, a, (float)sr.reward, s2, sr.terminated);
        if (sr.terminated || sr.truncated)
            sim_reset(p, ep++, obs);
        else
            memcpy(obs, obs2, sizeof(obs));
        r = learner_train_step(la);
        for (int k = 0; k < 2; k++)
            if (others[k])
                step_same &= learner_train_step(others[k]) == r;
    }
    CHECK(r == 0, "A's steps: %d", r);
    CHECK(act_same, "learner_act of the resumed learners equals A's at every step");
    CHECK(step_same, "train_step results agree");
    if (la && lb && lc) {
        CHECK(la->st.model_fits >= 4 && la->d_model_k == 2 && lb->d_model_k == 2,
              "the run refits after the save and grows k (fits %d, k %d)", la->st.model_fits,
              la->d_model_k);
        check_same(la, lb, "resumed at 400, step 1200");
        check_same(la, lc, "resumed at 1060, step 1200");
        // Deterministic actions agree too.
        learner_act(la, s, 1, a);
        learner_act(lb, s, 1, ab);
        CHECK(memcmp(a, ab, (size_t)A * sizeof(float)) == 0, "deterministic actions agree");
    }

    // ---- refusals -------------------------------------------------------------------
    long n = file_size(p400);
    CHECK(n > 1000, "state file size %ld", n);
    CHECK(copy_damaged(p400, bad, n / 2, -1) == 0, "truncate");
    expect_refused(bad, "truncated file", "truncated");
    CHECK(copy_damaged(p400, bad, n, n / 2) == 0, "flip");
    expect_refused(bad, "flipped byte", "crc32");
    CHECK(copy_damaged(p400, bad, n - 1, -1) == 0, "one byte short");
    expect_refused(bad, "one byte short", "checkpoint");
    if (la) {
        CHECK(learner_save(la, lck, &me) == 0, "learner_save: %s", me.msg);
        expect_refused(lck, "a learner.ckpt", "kind 'learner'");
    }
    expect_refused("/nonexistent/state.ckpt", "missing file", "No such file");
    // Well-formed files with inconsistent contents (re-encoded, so the CRC is right).
    Ckpt* ck = malloc(sizeof(*ck));
    if (ck && ckpt_read(p400, ck, &me) == 0) {
        double cap = 0;
        CHECK(ckpt_get_num(ck, "d_env.capacity", &cap) == 0, "d_env.capacity saved");
        ckpt_set_num(ck, "d_env.size", cap + 1);
        CHECK(ckpt_write(bad, ck, &me) == 0, "write: %s", me.msg);
        expect_refused(bad, "size over capacity", "d_env.size");
        ckpt_set_num(ck, "d_env.size", 400);
        for (int i = 0; i < ck->n_blobs; i++)
            if (strcmp(ck->blob_names[i], "rng") == 0)
                ck->blob_len[i] = 8;
        CHECK(ckpt_write(bad, ck, &me) == 0, "write: %s", me.msg);
        expect_refused(bad, "short rng blob", "blob 'rng'");
        ckpt_set_num(ck, "state_version", 99);
        CHECK(ckpt_write(bad, ck, &me) == 0, "write: %s", me.msg);
        expect_refused(bad, "future version", "version 99");
        ckpt_done(ck);
    } else {
        CHECK(0, "ckpt_read of the state: %s", me.msg);
    }
    free(ck);
    learner_free(la);
    learner_free(lb);
    learner_free(lc);
    sim_free(p);
    unlink(p400);
    unlink(p1060);
    unlink(bad);
    unlink(lck);
    rmdir(dir);
}

int main(void) {
    test_resume_exact_and_refusals();
    return test_summary("test_learner_resume");
}
