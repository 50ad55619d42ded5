// SPDX-License-Identifier: Apache-2.0
// replay.h -- fixed-capacity replay buffers D_env (real) and D_model (imagined).
//
// Ring buffer of transitions (s, a, r, s', done) in flat float arrays allocated
// once; adding past capacity overwrites the oldest. Uniform sampling with an
// explicit Rng, into caller buffers: no per-sample allocation.
// `done` is 1 only for true terminations (truncation is not terminal).
// Thread: learner (one writer, no internal locking). Allocation: replay_create.
#ifndef MAAC_REPLAY_H
#define MAAC_REPLAY_H

#include "core/rng.h"

typedef struct {
    long capacity;     // rows
    long size;         // rows held (<= capacity)
    long head;         // next row to write
    long total_added;  // rows ever added
    int obs_dim;       // S
    int act_dim;       // A
    float* obs;        // (capacity, S)
    float* act;        // (capacity, A)
    float* rew;        // (capacity)
    float* next_obs;   // (capacity, S)
    float* done;       // (capacity) 1 = terminated
} ReplayBuffer;

// Create an empty buffer. NULL on OOM or bad sizes.
ReplayBuffer* replay_create(long capacity, int obs_dim, int act_dim);
// Free. Nullable: rb.
void replay_free(ReplayBuffer* rb);
// Drop every row.
void replay_clear(ReplayBuffer* rb);
// Add one transition.
void replay_add(ReplayBuffer* rb, const float* s, const float* a, float r, const float* s2, float done);
// Add n transitions: s, s2 (n, S); a (n, A); r, done (n).
void replay_add_batch(ReplayBuffer* rb, const float* s, const float* a, const float* r,
                      const float* s2, const float* done, long n);
// Sample n rows uniformly with replacement into the given buffers (any may be NULL).
// Requires size > 0.
void replay_sample(const ReplayBuffer* rb, Rng* rng, long n, float* s, float* a, float* r,
                   float* s2, float* done);
// Copy row i (0 = oldest) into the given buffers (any may be NULL).
void replay_get(const ReplayBuffer* rb, long i, float* s, float* a, float* r, float* s2,
                float* done);

#endif
