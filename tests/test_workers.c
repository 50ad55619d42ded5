// SPDX-License-Identifier: Apache-2.0
// test_workers.c -- workers.c (fork-join team): every index runs exactly once per
// run over many runs, index 0 on the caller and the others on their own threads at
// the same time; a team of 1 and NULL are plain calls; bad sizes are refused. And
// adam_step_range (the ensemble fit's per-group Adam update): two halves of a block
// stepped separately, then one adam_advance, are bit-identical to adam_step.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/adam.h"
#include "core/rng.h"
#include "core/workers.h"
#include "test_util.h"

typedef struct {
    atomic_int count[WORKERS_MAX];   // calls per index in this run
    pthread_t thread[WORKERS_MAX];   // thread each index ran on
    atomic_int arrived;              // indices that reached the rendezvous
    int rendezvous;                  // 1: each index waits until all n have arrived
    int n;
    atomic_int timed_out;
} Run;

static void part(void* arg, int i) {
    Run* r = arg;
    if (i < 0 || i >= WORKERS_MAX) {
        atomic_fetch_add(&r->timed_out, 1000);   // out of range: recorded as a failure
        return;
    }
    atomic_fetch_add(&r->count[i], 1);
    r->thread[i] = pthread_self();
    if (r->rendezvous) {   // only passes if all n parts run at the same time
        atomic_fetch_add(&r->arrived, 1);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (atomic_load(&r->arrived) < r->n) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (t1.tv_sec - t0.tv_sec > 10) {
                atomic_fetch_add(&r->timed_out, 1);
                return;
            }
            sched_yield();   // more threads than cores: let the others arrive
        }
    }
}

static void reset(Run* r, int n, int rendezvous) {
    for (int i = 0; i < WORKERS_MAX; i++) atomic_store(&r->count[i], 0);
    atomic_store(&r->arrived, 0);
    atomic_store(&r->timed_out, 0);
    r->rendezvous = rendezvous;
    r->n = n;
}

static void test_team(int n) {
    Workers* w = workers_create(n);
    CHECK(w != NULL, "workers_create(%d)", n);
    if (!w) return;
    CHECK(workers_count(w) == n, "count %d vs %d", workers_count(w), n);
    Run r;
    int bad_count = 0, bad_thread = 0, bad_time = 0;
    for (int run = 0; run < 5000; run++) {
        reset(&r, n, run % 50 == 0);
        workers_run(w, part, &r);
        for (int i = 0; i < WORKERS_MAX; i++)
            if (atomic_load(&r.count[i]) != (i < n)) bad_count++;
        if (!pthread_equal(r.thread[0], pthread_self())) bad_thread++;
        for (int i = 1; i < n; i++) {
            if (pthread_equal(r.thread[i], pthread_self())) bad_thread++;
            for (int k = 1; k < i; k++)
                if (pthread_equal(r.thread[i], r.thread[k])) bad_thread++;
        }
        if (atomic_load(&r.timed_out)) bad_time++;
    }
    CHECK(bad_count == 0, "team %d: %d index counts off (each index once per run)", n, bad_count);
    CHECK(bad_thread == 0, "team %d: %d wrong threads (0 on the caller, others apart)", n,
          bad_thread);
    CHECK(bad_time == 0, "team %d: %d runs whose parts did not run at once", n, bad_time);
    workers_free(w);
}

static void test_plain_calls(void) {
    Run r;
    Workers* one = workers_create(1);
    CHECK(one != NULL && workers_count(one) == 1, "team of 1");
    CHECK(workers_count(NULL) == 1, "NULL counts 1");
    Workers* teams[2] = {one, NULL};
    for (int k = 0; k < 2; k++) {
        int bad = 0;
        for (int run = 0; run < 100; run++) {
            reset(&r, 1, 1);
            workers_run(teams[k], part, &r);
            if (atomic_load(&r.count[0]) != 1 || atomic_load(&r.count[1]) != 0 ||
                !pthread_equal(r.thread[0], pthread_self()) || atomic_load(&r.timed_out))
                bad++;
        }
        CHECK(bad == 0, "%s: index 0 once on the caller (%d bad runs)", k ? "NULL" : "team of 1",
              bad);
    }
    workers_free(one);
    workers_free(NULL);
    CHECK(workers_create(0) == NULL && workers_create(WORKERS_MAX + 1) == NULL, "bad sizes");
}

static void test_adam_step_range(void) {
    const long n = 1001;   // odd: the split is not on a vector boundary
    Rng rng;
    rng_seed(&rng, 4);
    float* p0 = malloc(sizeof(float) * n);
    float* p1 = malloc(sizeof(float) * n);
    float* g = malloc(sizeof(float) * n);
    Adam* a0 = adam_create(n, 3e-3f);
    Adam* a1 = adam_create(n, 3e-3f);
    rng_normal_fill(&rng, p0, n);
    memcpy(p1, p0, sizeof(float) * n);
    a0->weight_decay = a1->weight_decay = 1e-2f;
    const long cut = 377;
    for (int step = 0; step < 20; step++) {
        rng_normal_fill(&rng, g, n);
        adam_step(a0, p0, g);
        adam_step_range(a1, p1, g, cut, n);   // halves in either order
        adam_step_range(a1, p1, g, 0, cut);
        CHECK(a1->t == step, "range steps do not count (t %ld)", a1->t);
        adam_advance(a1);
    }
    CHECK(a0->t == 20 && a1->t == 20, "t %ld %ld", a0->t, a1->t);
    CHECK(memcmp(p0, p1, sizeof(float) * n) == 0, "params: halves == adam_step");
    CHECK(memcmp(a0->m, a1->m, sizeof(float) * n) == 0 &&
              memcmp(a0->v, a1->v, sizeof(float) * n) == 0,
          "moments: halves == adam_step");
    float before = p1[0];
    adam_step_range(a1, p1, g, 5, 5);   // empty range: nothing changes
    CHECK(p1[0] == before && memcmp(p0, p1, sizeof(float) * n) == 0, "empty range");
    adam_free(a0);
    adam_free(a1);
    free(p0);
    free(p1);
    free(g);
}

int main(void) {
    test_plain_calls();
    test_team(2);
    test_team(3);
    test_team(WORKERS_MAX);
    test_adam_step_range();
    return test_summary("test_workers");
}
