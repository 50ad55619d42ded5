// SPDX-License-Identifier: Apache-2.0
// workers.h -- a fixed team of threads that run one function together (fork-join).
//
// The learner splits its heavy work into a few independent parts (the MAAC actor and
// the STEVE targets of one update; groups of ensemble members in a model fit) and runs
// them at once, one part per core, each with single-threaded BLAS. A Workers of n
// runs fn(arg, 0) on the calling thread and fn(arg, i), i = 1..n-1, on its own n - 1
// threads, and returns when all n calls have returned. n = 1 has no threads and is a
// plain call. The parts must not write the same memory; what they read must not
// change while they run.
//
// Thread: one caller at a time (the learner). Allocation: workers_create only. The
// threads sleep on a condition variable between runs: they never spin, so an idle
// learner leaves its cores to the control loop.
#ifndef MAAC_WORKERS_H
#define MAAC_WORKERS_H

#define WORKERS_MAX 16

typedef struct Workers Workers;
typedef void (*WorkersFn)(void* arg, int index);

// A team of n (1..WORKERS_MAX) including the caller. NULL on bad n or when a thread
// cannot be started.
Workers* workers_create(int n);
// Stop and join the threads. Nullable: w.
void workers_free(Workers* w);
// Members of the team (the caller counts); 1 for w == NULL.
int workers_count(const Workers* w);
// Run fn(arg, i) for i = 0..n-1 at once (i = 0 on the caller) and wait for all.
// w == NULL runs fn(arg, 0) alone.
void workers_run(Workers* w, WorkersFn fn, void* arg);

#endif
