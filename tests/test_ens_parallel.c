// SPDX-License-Identifier: Apache-2.0
// test_ens_parallel.c -- ens_train on a Workers team (ens_trainer_set_workers):
// the same ensemble fitted from the same seed on the same data serially and with
// teams of 2, 3 and 4 (even groups, uneven groups of M = 4 and 5, more team
// members than members) gives bit-identical parameters, elites and statistics,
// including a warm-started second call and a fit without a holdout split.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ensemble.h"
#include "core/workers.h"
#include "test_util.h"

#define S 3
#define A 2

// s'_j = s_j + 0.1 (s_{j+1} - s_j / 2 + a_{j mod A}) + noise; r = s0 - a0^2: a small
// coupled system, enough for the fit to move every parameter.
static ReplayBuffer* make_data(long n, uint64_t seed) {
    ReplayBuffer* rb = replay_create(n, S, A);
    Rng rng;
    rng_seed(&rng, seed);
    for (long i = 0; i < n && rb; i++) {
        float s[S], a[A], s2[S];
        rng_uniform_fill(&rng, s, S, -1.0f, 1.0f);
        rng_uniform_fill(&rng, a, A, -1.0f, 1.0f);
        for (int j = 0; j < S; j++)
            s2[j] = s[j] + 0.1f * (s[(j + 1) % S] - 0.5f * s[j] + a[j % A]) +
                    0.02f * rng_normal(&rng);
        replay_add(rb, s, a, s[0] - a[0] * a[0], s2, 0.0f);
    }
    return rb;
}

typedef struct {
    float* params;
    EnsTrainStats st[2];   // first call, warm-started second call
    int n_elites, elites[ENS_MAX_MEMBERS];
    int rc;
} Fit;

// Fit an M-member ensemble twice in a row (warm start) on a team of n (0: serial).
static Fit fit(const ReplayBuffer* rb, int M, int n, float holdout_frac) {
    Fit f = {.rc = -1};
    Rng rng;
    rng_seed(&rng, 21);
    Ensemble* e = ens_create(S, A, M, 2, 16, NN_ACT_SWISH, 1, &rng);
    EnsTrainConfig cfg;
    ens_train_config_default(&cfg);
    cfg.max_epochs = 8;
    cfg.batch = 32;
    cfg.patience = 100;   // every epoch runs: the comparison covers all of them
    cfg.holdout_frac = holdout_frac;
    cfg.n_elites = M - 1;
    EnsTrainer* t = e ? ens_trainer_create(e, &cfg) : NULL;
    Workers* w = n > 0 ? workers_create(n) : NULL;
    if (!t || (n > 0 && !w)) goto done;
    if ((f.rc = ens_trainer_set_workers(t, w)) != 0) goto done;
    if ((f.rc = ens_train(e, t, rb, &rng, &f.st[0])) != 0) goto done;
    if ((f.rc = ens_train(e, t, rb, &rng, &f.st[1])) != 0) goto done;
    f.params = malloc(sizeof(float) * (size_t)e->net->n_params);
    if (f.params) memcpy(f.params, e->net->params, sizeof(float) * (size_t)e->net->n_params);
    f.n_elites = e->n_elites;
    memcpy(f.elites, e->elites, sizeof f.elites);
done:
    ens_trainer_free(t);
    workers_free(w);   // after the trainer, which only borrows it
    ens_free(e);
    return f;
}

static void compare(const ReplayBuffer* rb, int M, int n, float holdout_frac) {
    Fit a = fit(rb, M, 0, holdout_frac), b = fit(rb, M, n, holdout_frac);
    CHECK(a.rc == 0 && b.rc == 0, "M %d team %d: rc %d %d", M, n, a.rc, b.rc);
    if (a.params && b.params) {
        Rng rng;
        rng_seed(&rng, 21);
        Ensemble* e = ens_create(S, A, M, 2, 16, NN_ACT_SWISH, 1, &rng);
        long np = e->net->n_params;
        // The fit moved every member away from its initial parameters.
        int moved = 1;
        for (int m = 0; m < M; m++) {
            long o = m * e->net->n_member_params;
            if (memcmp(e->net->params + o, a.params + o,
                       sizeof(float) * (size_t)e->net->n_member_params) == 0)
                moved = 0;
        }
        CHECK(moved, "M %d: every member trained", M);
        CHECK(memcmp(a.params, b.params, sizeof(float) * (size_t)np) == 0,
              "M %d team %d holdout %.1f: identical parameters", M, n, holdout_frac);
        ens_free(e);
    } else {
        CHECK(0, "M %d team %d: no parameters", M, n);
    }
    for (int c = 0; c < 2; c++) {
        printf("  M %d team %d holdout %.1f call %d: epochs %d train_nll %.6f holdout_mse %.6f "
               "(serial %.6f)\n",
               M, n, holdout_frac, c, b.st[c].epochs, b.st[c].train_nll, b.st[c].holdout_mse,
               a.st[c].holdout_mse);
        CHECK(a.st[c].epochs == 8 && b.st[c].epochs == 8, "epochs %d %d", a.st[c].epochs,
              b.st[c].epochs);
        CHECK(memcmp(&a.st[c].holdout_mse, &b.st[c].holdout_mse, sizeof(float)) == 0 &&
                  memcmp(&a.st[c].holdout_nll, &b.st[c].holdout_nll, sizeof(float)) == 0 &&
                  memcmp(&a.st[c].train_nll, &b.st[c].train_nll, sizeof(float)) == 0,
              "M %d team %d call %d: identical holdout MSE/NLL and train NLL", M, n, c);
    }
    CHECK(a.n_elites == M - 1 && b.n_elites == a.n_elites &&
              memcmp(a.elites, b.elites, sizeof(int) * (size_t)a.n_elites) == 0,
          "M %d team %d: identical elites", M, n);
    free(a.params);
    free(b.params);
}

// Switching a trainer between a team and serial, and the team's groups.
static void test_set_workers(void) {
    Rng rng;
    rng_seed(&rng, 5);
    Ensemble* e = ens_create(S, A, 3, 1, 8, NN_ACT_SWISH, 0, &rng);
    EnsTrainConfig cfg;
    ens_train_config_default(&cfg);
    cfg.max_epochs = 2;
    cfg.batch = 16;
    EnsTrainer* t = ens_trainer_create(e, &cfg);
    Workers* w2 = workers_create(2);
    Workers* w1 = workers_create(1);
    ReplayBuffer* rb = make_data(100, 3);
    CHECK(t && w2 && w1 && rb, "setup");
    if (t && w2 && w1 && rb) {
        CHECK(ens_trainer_set_workers(t, w2) == 0, "team of 2");
        CHECK(ens_train(e, t, rb, &rng, NULL) == 0, "train on team");
        CHECK(ens_trainer_set_workers(t, w1) == 0, "team of 1 (serial)");
        CHECK(ens_train(e, t, rb, &rng, NULL) == 0, "train on team of 1");
        CHECK(ens_trainer_set_workers(t, NULL) == 0, "back to serial");
        CHECK(ens_train(e, t, rb, &rng, NULL) == 0, "train serial");
        ReplayBuffer* one = make_data(1, 3);
        CHECK(ens_trainer_set_workers(t, w2) == 0 && ens_train(e, t, one, &rng, NULL) == -EINVAL,
              "team: too little data still -EINVAL");
        replay_free(one);
    }
    replay_free(rb);
    ens_trainer_free(t);
    workers_free(w1);
    workers_free(w2);
    ens_free(e);
}

int main(void) {
    ReplayBuffer* rb = make_data(600, 7);
    compare(rb, 4, 2, 0.2f);   // groups 2 + 2
    compare(rb, 4, 3, 0.2f);   // groups 1 + 1 + 2
    compare(rb, 5, 3, 0.2f);   // groups 1 + 2 + 2
    compare(rb, 5, 2, 0.2f);   // groups 2 + 3
    compare(rb, 3, 4, 0.2f);   // 3 groups of 1, one team member idle
    compare(rb, 4, 2, 0.0f);   // no holdout split
    replay_free(rb);
    test_set_workers();
    return test_summary("test_ens_parallel");
}
