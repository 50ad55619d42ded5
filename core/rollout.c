// SPDX-License-Identifier: Apache-2.0
// rollout.c -- k-step branched model rollouts into D_model (see rollout.h).
//
// MBPO's `_rollout_model` in C: sample start states from D_env, unroll the policy
// through randomly chosen elite models for k steps, add every imagined transition
// to D_model and drop rows that terminate. All buffers are allocated once by
// rollout_work_create for chunks of max_rows rows; rollout_run allocates nothing.
// Unlike MAAC's released trainer (docs/maac-vs-released-code.md, "rollouts are not chained")
// the rollouts here are chained, as in MBPO and in the paper's description.
// Thread: learner. Allocation: rollout_work_create.
#include "core/rollout.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct RolloutWork {
    int max_rows;        // rows per chunk
    int S, A, n_out;     // shapes
    PolicyWork* pw;      // policy forward work (max_rows)
    EnsStepWork* ew;     // ensemble step work (max_rows)
    float* s;            // (max_rows, S) current states of the live rows
    float* a;            // (max_rows, A) actions
    float* s2;           // (max_rows, S) next states
    float* r;            // (max_rows) rewards
    float* done;         // (max_rows) termination flags
    float* eps_pi;       // (max_rows, A) policy noise
    float* eps_m;        // (max_rows, n_out) model noise
    int* member;         // (max_rows) ensemble member per row
    MaacPoll poll;       // safe-point hook (poll.h)
};

RolloutWork* rollout_work_create(const Ensemble* e, const Policy* p, int max_rows) {
    if (!e || !p || max_rows <= 0 || e->obs_dim != p->obs_dim || e->act_dim != p->act_dim)
        return NULL;
    RolloutWork* w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->max_rows = max_rows;
    w->S = e->obs_dim;
    w->A = e->act_dim;
    w->n_out = e->n_out;
    size_t R = (size_t)max_rows;
    w->pw = policy_work_create(p, max_rows);
    w->ew = ens_step_work_create(e, max_rows);
    w->s = malloc(R * w->S * sizeof(float));
    w->a = malloc(R * w->A * sizeof(float));
    w->s2 = malloc(R * w->S * sizeof(float));
    w->r = malloc(R * sizeof(float));
    w->done = malloc(R * sizeof(float));
    w->eps_pi = malloc(R * w->A * sizeof(float));
    w->eps_m = malloc(R * w->n_out * sizeof(float));
    w->member = malloc(R * sizeof(int));
    if (!w->pw || !w->ew || !w->s || !w->a || !w->s2 || !w->r || !w->done || !w->eps_pi ||
        !w->eps_m || !w->member) {
        rollout_work_free(w);
        return NULL;
    }
    return w;
}

void rollout_work_free(RolloutWork* w) {
    if (!w)
        return;
    policy_work_free(w->pw);
    ens_step_work_free(w->ew);
    free(w->s);
    free(w->a);
    free(w->s2);
    free(w->r);
    free(w->done);
    free(w->eps_pi);
    free(w->eps_m);
    free(w->member);
    free(w);
}

void rollout_work_set_poll(RolloutWork* w, MaacPollFn fn, void* arg) {
    w->poll.fn = fn;
    w->poll.arg = arg;
}

// 1 when row s2 (S) is finite and inside the clip box (a diverged model state is a stop).
static int state_ok(const float* s2, int S) {
    for (int j = 0; j < S; j++)
        if (!isfinite(s2[j]) || fabsf(s2[j]) > ROLLOUT_STATE_CLIP)
            return 0;
    return 1;
}

int rollout_run(const Ensemble* e, const Policy* p, const PlantModel* rf, int use_known_reward,
                RolloutWork* w, const ReplayBuffer* d_env, ReplayBuffer* d_model, long n_start,
                int k, Rng* rng, RolloutStats* ret) {
    RolloutStats st = {0, 0, 0};
    if (!d_env || d_env->size <= 0 || n_start < 0 || k < 0)
        return -EINVAL;
    int known = use_known_reward && rf && rf->reward;
    if (!known && !e->learn_reward)
        return -EINVAL;
    const int S = w->S, A = w->A;
    for (long done_rows = 0; done_rows < n_start;) {
        int B = (int)((n_start - done_rows) < w->max_rows ? (n_start - done_rows) : w->max_rows);
        replay_sample(d_env, rng, B, w->s, NULL, NULL, NULL, NULL);
        st.started += B;
        done_rows += B;
        int live = B;
        for (int t = 0; t < k && live > 0; t++) {
            // a_t ~ pi(.|s_t); m ~ U(elites); s_{t+1} ~ f_m(s_t, a_t)
            rng_normal_fill(rng, w->eps_pi, (long)live * A);
            policy_forward(p, w->pw, w->a, NULL, w->s, w->eps_pi, live);
            ens_sample_members(e, rng, w->member, live);
            rng_normal_fill(rng, w->eps_m, (long)live * w->n_out);
            ens_step_forward(e, w->ew, w->s2, e->learn_reward ? w->r : NULL, w->s, w->a,
                             w->member, w->eps_m, live);
            if (known)
                rf->reward(w->r, w->s, w->a, w->s2, live);
            plant_terminated(rf, w->done, w->s2, live);
            // Keep only finite rows in D_model; a non-finite/diverged row is dropped.
            int n_keep = 0;
            for (int b = 0; b < live; b++) {
                int ok = state_ok(w->s2 + (size_t)b * S, S) && isfinite(w->r[b]);
                if (!ok) {
                    st.terminated++;
                    continue;
                }
                if (n_keep != b) {
                    memmove(w->s + (size_t)n_keep * S, w->s + (size_t)b * S, S * sizeof(float));
                    memmove(w->a + (size_t)n_keep * A, w->a + (size_t)b * A, A * sizeof(float));
                    memmove(w->s2 + (size_t)n_keep * S, w->s2 + (size_t)b * S, S * sizeof(float));
                    w->r[n_keep] = w->r[b];
                    w->done[n_keep] = w->done[b];
                }
                n_keep++;
            }
            replay_add_batch(d_model, w->s, w->a, w->r, w->s2, w->done, n_keep);
            st.added += n_keep;
            // Chain: live rows continue from s_{t+1}; terminated rows stop (MBPO).
            int n_live = 0;
            for (int b = 0; b < n_keep; b++) {
                if (w->done[b] != 0.0f) {
                    st.terminated++;
                    continue;
                }
                memmove(w->s + (size_t)n_live * S, w->s2 + (size_t)b * S, S * sizeof(float));
                n_live++;
            }
            live = n_live;
        }
        if (done_rows < n_start && maac_poll(&w->poll) != 0) {
            if (ret)
                *ret = st;
            return -ECANCELED;
        }
    }
    if (ret)
        *ret = st;
    return 0;
}

int rollout_length(const int sched[4], long epoch) {
    int e0 = sched[0], e1 = sched[1], k0 = sched[2], k1 = sched[3];
    if (epoch <= e0 || e1 <= e0)
        return epoch <= e0 ? k0 : k1;
    double dx = (double)(epoch - e0) / (double)(e1 - e0);
    if (dx > 1.0)
        dx = 1.0;
    return (int)(dx * (k1 - k0) + k0);   // MBPO truncates (int(y))
}

long rollout_model_capacity(int retain, int k_max, long n_start, int model_train_freq) {
    long per_epoch = model_train_freq > 0 ? (1000 + model_train_freq - 1) / model_train_freq : 1;
    if (k_max < 1)
        k_max = 1;
    if (retain < 1)
        retain = 1;
    return (long)retain * k_max * n_start * per_epoch;
}
