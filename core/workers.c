// SPDX-License-Identifier: Apache-2.0
// workers.c -- fork-join thread team: a generation counter under one mutex wakes the
// threads for a run; a countdown of unfinished parts wakes the caller when the last
// one returns.
#include "core/workers.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    Workers* team;
    int index;
} WorkerSlot;

struct Workers {
    int n;                       // team size, caller included
    pthread_t th[WORKERS_MAX];   // threads 1..n-1 (th[0] unused)
    WorkerSlot slot[WORKERS_MAX];
    pthread_mutex_t mu;
    pthread_cond_t wake;         // caller -> threads: a new run (or quit)
    pthread_cond_t done;         // last thread -> caller: every part returned
    unsigned long generation;    // bumped per run
    int pending;                 // thread parts not yet returned in this run
    int quit;
    WorkersFn fn;
    void* arg;
};

static void* worker_main(void* p) {
    WorkerSlot* slot = p;
    Workers* w = slot->team;
    unsigned long seen = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->quit && w->generation == seen) pthread_cond_wait(&w->wake, &w->mu);
        if (w->quit) break;
        seen = w->generation;
        WorkersFn fn = w->fn;
        void* arg = w->arg;
        pthread_mutex_unlock(&w->mu);
        fn(arg, slot->index);
        pthread_mutex_lock(&w->mu);
        if (--w->pending == 0) pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

Workers* workers_create(int n) {
    if (n < 1 || n > WORKERS_MAX) return NULL;
    Workers* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->n = 1;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    if (pthread_cond_init(&w->wake, NULL) != 0 || pthread_cond_init(&w->done, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    for (int i = 1; i < n; i++) {
        w->slot[i].team = w;
        w->slot[i].index = i;
        if (pthread_create(&w->th[i], NULL, worker_main, &w->slot[i]) != 0) {
            workers_free(w);   // joins the threads started so far (w->n of them)
            return NULL;
        }
        w->n = i + 1;
    }
    return w;
}

void workers_free(Workers* w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    for (int i = 1; i < w->n; i++) pthread_join(w->th[i], NULL);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int workers_count(const Workers* w) { return w ? w->n : 1; }

void workers_run(Workers* w, WorkersFn fn, void* arg) {
    if (!w || w->n == 1) {
        fn(arg, 0);
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->fn = fn;
    w->arg = arg;
    w->pending = w->n - 1;
    w->generation++;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    fn(arg, 0);
    pthread_mutex_lock(&w->mu);
    while (w->pending > 0) pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}
