// SPDX-License-Identifier: Apache-2.0
// test_replay.c -- replay buffer: ring overwrite order, batch add, uniform sampling.
#include <stdlib.h>
#include <string.h>

#include "core/replay.h"
#include "test_util.h"

// Row k holds s = (k, k+0.5), a = (-k), r = 10k, s2 = s + 1, done = k % 2.
static void make_row(long k, float* s, float* a, float* r, float* s2, float* d) {
    s[0] = (float)k;
    s[1] = (float)k + 0.5f;
    a[0] = -(float)k;
    *r = 10.0f * (float)k;
    s2[0] = s[0] + 1.0f;
    s2[1] = s[1] + 1.0f;
    *d = (float)(k % 2);
}

static void test_replay_ring_overwrites_oldest(void) {
    ReplayBuffer* rb = replay_create(5, 2, 1);
    CHECK(rb != NULL, "create");
    float s[2], a[1], r, s2[2], d;
    for (long k = 0; k < 3; k++) {
        make_row(k, s, a, &r, s2, &d);
        replay_add(rb, s, a, r, s2, d);
    }
    CHECK(rb->size == 3 && rb->head == 3 && rb->total_added == 3, "size %ld head %ld", rb->size,
          rb->head);
    replay_get(rb, 0, s, a, &r, s2, &d);
    CHECK(s[0] == 0.0f && r == 0.0f, "oldest row 0: %g", s[0]);
    for (long k = 3; k < 12; k++) {
        make_row(k, s, a, &r, s2, &d);
        replay_add(rb, s, a, r, s2, d);
    }
    CHECK(rb->size == 5 && rb->total_added == 12, "size %ld total %ld", rb->size, rb->total_added);
    int ok = 1;
    for (long i = 0; i < 5; i++) {   // rows 7..11 remain, oldest first
        replay_get(rb, i, s, a, &r, s2, &d);
        long k = 7 + i;
        ok &= s[0] == (float)k && s[1] == (float)k + 0.5f && a[0] == -(float)k &&
              r == 10.0f * (float)k && s2[0] == (float)k + 1.0f && d == (float)(k % 2);
    }
    CHECK(ok, "rows 7..11 in order after wrap");
    replay_get(rb, 2, NULL, NULL, &r, NULL, NULL);   // NULL outputs allowed
    CHECK(r == 90.0f, "partial get r %g", r);
    replay_clear(rb);
    CHECK(rb->size == 0 && rb->head == 0, "clear");
    replay_free(rb);
    replay_free(NULL);
    CHECK(replay_create(0, 2, 1) == NULL, "zero capacity rejected");
}

static void test_replay_add_batch_matches_add(void) {
    enum { N = 13 };
    float s[N * 2], a[N], r[N], s2[N * 2], d[N];
    for (long k = 0; k < N; k++) make_row(k, s + 2 * k, a + k, r + k, s2 + 2 * k, d + k);
    ReplayBuffer* x = replay_create(8, 2, 1);
    ReplayBuffer* y = replay_create(8, 2, 1);
    replay_add_batch(x, s, a, r, s2, d, N);
    for (long k = 0; k < N; k++) replay_add(y, s + 2 * k, a + k, r[k], s2 + 2 * k, d[k]);
    CHECK(x->head == y->head && x->size == y->size, "same ring state");
    CHECK(memcmp(x->obs, y->obs, sizeof(float) * 16) == 0 &&
              memcmp(x->next_obs, y->next_obs, sizeof(float) * 16) == 0 &&
              memcmp(x->act, y->act, sizeof(float) * 8) == 0 &&
              memcmp(x->rew, y->rew, sizeof(float) * 8) == 0 &&
              memcmp(x->done, y->done, sizeof(float) * 8) == 0,
          "batch add equals row-by-row add");
    replay_free(x);
    replay_free(y);
}

static void test_replay_sample_uniform_and_consistent(void) {
    enum { C = 10, N = 20000 };
    ReplayBuffer* rb = replay_create(C, 2, 1);
    float s[2], a[1], r, s2[2], d;
    for (long k = 0; k < 14; k++) {   // rows 4..13 held
        make_row(k, s, a, &r, s2, &d);
        replay_add(rb, s, a, r, s2, d);
    }
    float* bs = malloc(sizeof(float) * N * 2);
    float* ba = malloc(sizeof(float) * N);
    float* br = malloc(sizeof(float) * N);
    float* bs2 = malloc(sizeof(float) * N * 2);
    float* bd = malloc(sizeof(float) * N);
    Rng rng;
    rng_seed(&rng, 7);
    replay_sample(rb, &rng, N, bs, ba, br, bs2, bd);
    int counts[14] = {0}, consistent = 1, in_range = 1;
    for (long j = 0; j < N; j++) {
        long k = (long)bs[2 * j];
        if (k < 4 || k > 13) {
            in_range = 0;
            continue;
        }
        counts[k]++;
        consistent &= ba[j] == -(float)k && br[j] == 10.0f * (float)k &&
                      bs2[2 * j + 1] == (float)k + 1.5f && bd[j] == (float)(k % 2);
    }
    CHECK(in_range, "samples only rows held");
    CHECK(consistent, "sampled fields belong to one row");
    int uniform = 1;
    for (int k = 4; k < 14; k++) uniform &= abs(counts[k] - N / C) < 200;   // ~4.5 sigma
    CHECK(uniform, "counts near %d (e.g. %d, %d)", N / C, counts[4], counts[13]);
    // Same seed, same draws; NULL buffers allowed.
    float* bs_b = malloc(sizeof(float) * N * 2);
    rng_seed(&rng, 7);
    replay_sample(rb, &rng, N, bs_b, NULL, NULL, NULL, NULL);
    CHECK(memcmp(bs, bs_b, sizeof(float) * N * 2) == 0, "deterministic for a seed");
    free(bs);
    free(ba);
    free(br);
    free(bs2);
    free(bd);
    free(bs_b);
    replay_free(rb);
}

int main(void) {
    test_replay_ring_overwrites_oldest();
    test_replay_add_batch_matches_add();
    test_replay_sample_uniform_and_consistent();
    return test_summary("test_replay");
}
