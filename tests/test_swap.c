// SPDX-License-Identifier: Apache-2.0
// test_swap.c -- daemon/swap.c: versions, hazard-pointer reclamation, and a
// reader/publisher stress run in which the reader checks every object it holds is
// still alive (a freed object is poisoned first, so a use-after-free is seen, and
// ASan sees it too).
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/swap.h"
#include "test_util.h"

typedef struct {
    uint64_t magic;     // 0xA11CE while alive
    uint64_t version;
    long payload[16];
} Obj;

static _Atomic long n_freed;

static void obj_free(void* p) {
    Obj* o = p;
    o->magic = 0xDEAD;   // poison (ASan would also flag a later read)
    atomic_fetch_add(&n_freed, 1);
    free(o);
}
static void obj_stamp(void* p, uint64_t v) { ((Obj*)p)->version = v; }

static Obj* obj_new(void) {
    Obj* o = calloc(1, sizeof *o);
    o->magic = 0xA11CE;
    return o;
}

static void test_swap_versions_strictly_increase(void) {
    SwapSlot s;
    CHECK(swap_init(&s, obj_free, obj_stamp) == 0, "init");
    CHECK(swap_acquire(&s) == NULL, "empty slot gives NULL");
    uint64_t v = 0;
    Obj* a = obj_new();
    CHECK(swap_publish(&s, a, 0, &v) == 0 && v == 1 && a->version == 1, "first is v1 (%llu)",
          (unsigned long long)v);
    Obj* b = obj_new();
    CHECK(swap_publish(&s, b, 100, &v) == 0 && v == 100 && b->version == 100, "wanted 100");
    Obj* c = obj_new();
    CHECK(swap_publish(&s, c, 5, &v) == 0 && v == 101, "lower wish gives current+1 (%llu)",
          (unsigned long long)v);
    CHECK(swap_version(&s) == 101, "slot version");
    CHECK(swap_acquire(&s) == c, "reader sees the newest");
    swap_done(&s);
}

static void test_swap_publish_unless_vetoed(void) {
    SwapSlot s;
    swap_init(&s, obj_free, obj_stamp);
    _Atomic int veto = 1;
    Obj* a = obj_new();
    CHECK(swap_publish_unless(&s, a, 0, &veto, NULL) == -ECANCELED && swap_acquire(&s) == NULL,
          "vetoed: not published, caller keeps it");
    atomic_store(&veto, 0);
    CHECK(swap_publish_unless(&s, a, 0, &veto, NULL) == 0 && swap_acquire(&s) == a, "published");
    swap_release(&s);
    swap_done(&s);
}

static void test_swap_old_object_kept_while_in_use(void) {
    SwapSlot s;
    swap_init(&s, obj_free, obj_stamp);
    atomic_store(&n_freed, 0);
    Obj* a = obj_new();
    swap_publish(&s, a, 0, NULL);
    Obj* held = swap_acquire(&s);   // the control thread is using a
    CHECK(held == a, "acquired a");
    Obj* b = obj_new();
    swap_publish(&s, b, 0, NULL);
    CHECK(atomic_load(&n_freed) == 0, "a not freed while in use");
    CHECK(held->magic == 0xA11CE, "a still alive");
    CHECK(swap_reclaim(&s) == 1, "a still retired");
    Obj* now = swap_acquire(&s);    // next tick: moves to b
    CHECK(now == b, "next tick sees b");
    CHECK(swap_reclaim(&s) == 0 && atomic_load(&n_freed) == 1, "a freed once unused");
    swap_release(&s);
    swap_done(&s);
    CHECK(atomic_load(&n_freed) == 2, "done frees the current");
}

typedef struct {
    SwapSlot* s;
    _Atomic int stop;
    _Atomic long ticks;
    long bad, changes;
} Reader;

static void* reader_main(void* arg) {
    Reader* r = arg;
    uint64_t last = 0;
    while (!atomic_load(&r->stop)) {
        Obj* o = swap_acquire(r->s);
        if (!o) continue;
        // use it for a while, as a tick would
        long sum = 0;
        for (int k = 0; k < 16; k++) sum += o->payload[k];
        if (o->magic != 0xA11CE || sum != 16 * (long)o->version) r->bad++;
        if (o->version < last) r->bad++;   // versions never go backwards
        if (o->version != last) r->changes++;
        last = o->version;
        r->ticks++;
    }
    swap_release(r->s);
    return NULL;
}

static void test_swap_stress_reader_never_sees_freed(void) {
    SwapSlot s;
    swap_init(&s, obj_free, obj_stamp);
    atomic_store(&n_freed, 0);
    Reader r = {.s = &s};
    atomic_init(&r.stop, 0);
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &r);
    const int N = 5000;
    int busy = 0;
    for (int i = 0; i < N; i++) {
        // let the reader run a tick or two on the current object before replacing it
        long t0 = atomic_load(&r.ticks);
        for (int spin = 0; spin < 100000 && atomic_load(&r.ticks) == t0; spin++) sched_yield();
        Obj* o = obj_new();
        // payload depends on the version the slot will assign: publish under our own
        // count (single publisher here, so version == i + 1)
        for (int k = 0; k < 16; k++) o->payload[k] = i + 1;
        if (swap_publish(&s, o, 0, NULL) < 0) {
            free(o);
            busy++;
        }
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    printf("stress: %d publications, reader %ld ticks, %ld changes seen, %ld freed\n", N, atomic_load(&r.ticks),
           r.changes, (long)atomic_load(&n_freed));
    CHECK(r.bad == 0, "reader saw %ld bad objects", r.bad);
    CHECK(busy == 0, "no publication refused");
    CHECK(r.changes > N / 10, "the reader saw many swaps (%ld)", r.changes);
    CHECK(atomic_load(&n_freed) >= N - 2, "old objects reclaimed (%ld)", (long)atomic_load(&n_freed));
    swap_done(&s);
    CHECK(atomic_load(&n_freed) == N, "all freed at the end");
}

int main(void) {
    test_swap_versions_strictly_increase();
    test_swap_publish_unless_vetoed();
    test_swap_old_object_kept_while_in_use();
    test_swap_stress_reader_never_sees_freed();
    return test_summary("test_swap");
}
