// SPDX-License-Identifier: Apache-2.0
// replay.c -- fixed-capacity ring buffers of transitions (D_env and D_model).
//
// Five flat arrays (obs, act, rew, next_obs, done) allocated once in
// replay_create; replay_add writes at `head` and advances it modulo capacity,
// so past capacity the oldest row is overwritten (FIFO, as MBPO's and MAAC's
// pools). Row i of replay_get counts from the oldest row still held. Sampling
// is uniform with replacement from an explicit Rng into caller buffers.
// Thread: learner (one writer, no locking). Allocation: replay_create only.
#include "core/replay.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

ReplayBuffer* replay_create(long capacity, int obs_dim, int act_dim) {
    if (capacity < 1 || capacity > (1L << 31) || obs_dim < 1 || act_dim < 1) return NULL;
    ReplayBuffer* rb = calloc(1, sizeof *rb);
    if (!rb) return NULL;
    rb->capacity = capacity;
    rb->obs_dim = obs_dim;
    rb->act_dim = act_dim;
    size_t c = (size_t)capacity;
    rb->obs = malloc(sizeof(float) * c * (size_t)obs_dim);
    rb->act = malloc(sizeof(float) * c * (size_t)act_dim);
    rb->rew = malloc(sizeof(float) * c);
    rb->next_obs = malloc(sizeof(float) * c * (size_t)obs_dim);
    rb->done = malloc(sizeof(float) * c);
    if (!rb->obs || !rb->act || !rb->rew || !rb->next_obs || !rb->done) {
        replay_free(rb);
        return NULL;
    }
    return rb;
}

void replay_free(ReplayBuffer* rb) {
    if (!rb) return;
    free(rb->obs);
    free(rb->act);
    free(rb->rew);
    free(rb->next_obs);
    free(rb->done);
    free(rb);
}

void replay_clear(ReplayBuffer* rb) {
    rb->size = 0;
    rb->head = 0;
    rb->total_added = 0;
}

// Copy one row into slot k.
static void put_row(ReplayBuffer* rb, long k, const float* s, const float* a, float r,
                    const float* s2, float done) {
    int S = rb->obs_dim, A = rb->act_dim;
    memcpy(rb->obs + k * S, s, sizeof(float) * (size_t)S);
    memcpy(rb->act + k * A, a, sizeof(float) * (size_t)A);
    rb->rew[k] = r;
    memcpy(rb->next_obs + k * S, s2, sizeof(float) * (size_t)S);
    rb->done[k] = done;
}

void replay_add(ReplayBuffer* rb, const float* s, const float* a, float r, const float* s2,
                float done) {
    put_row(rb, rb->head, s, a, r, s2, done);
    rb->head = rb->head + 1 == rb->capacity ? 0 : rb->head + 1;
    if (rb->size < rb->capacity) rb->size++;
    rb->total_added++;
}

void replay_add_batch(ReplayBuffer* rb, const float* s, const float* a, const float* r,
                      const float* s2, const float* done, long n) {
    int S = rb->obs_dim, A = rb->act_dim;
    for (long i = 0; i < n; i++)
        replay_add(rb, s + i * S, a + i * A, r[i], s2 + i * S, done ? done[i] : 0.0f);
}

// Slot of row i counted from the oldest row held.
static long slot_of(const ReplayBuffer* rb, long i) {
    long oldest = rb->size < rb->capacity ? 0 : rb->head;
    long k = oldest + i;
    return k >= rb->capacity ? k - rb->capacity : k;
}

static void get_slot(const ReplayBuffer* rb, long k, long j, float* s, float* a, float* r,
                     float* s2, float* done) {
    int S = rb->obs_dim, A = rb->act_dim;
    if (s) memcpy(s + j * S, rb->obs + k * S, sizeof(float) * (size_t)S);
    if (a) memcpy(a + j * A, rb->act + k * A, sizeof(float) * (size_t)A);
    if (r) r[j] = rb->rew[k];
    if (s2) memcpy(s2 + j * S, rb->next_obs + k * S, sizeof(float) * (size_t)S);
    if (done) done[j] = rb->done[k];
}

void replay_sample(const ReplayBuffer* rb, Rng* rng, long n, float* s, float* a, float* r,
                   float* s2, float* done) {
    assert(rb->size > 0);
    // Uniform over the held slots; slot order does not matter for uniform draws.
    for (long j = 0; j < n; j++) {
        long k = (long)rng_below(rng, (uint32_t)rb->size);
        get_slot(rb, k, j, s, a, r, s2, done);
    }
}

void replay_get(const ReplayBuffer* rb, long i, float* s, float* a, float* r, float* s2,
                float* done) {
    get_slot(rb, slot_of(rb, i), 0, s, a, r, s2, done);
}
