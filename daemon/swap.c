// SPDX-License-Identifier: Apache-2.0
// swap.c -- policy publication by atomic pointer swap, with hazard-pointer reclamation.
//
// See swap.h for the protocol and why it is safe. The only ordering that matters:
//   reader:    h = load(current); store(hazard, h); recheck load(current) == h
//   publisher: old = exchange(current, new); ... load(hazard) != old -> free(old)
// all seq_cst, so if the reader's recheck saw `old` still current, its hazard store
// precedes the exchange and every later publisher load of hazard sees it (or a
// newer hazard, which cannot be `old` again since `old` is no longer current).
// Thread: see swap.h. Allocation: none here.
#include "daemon/swap.h"

#include <errno.h>
#include <string.h>

int swap_init(SwapSlot* s, void (*free_fn)(void*), void (*stamp_fn)(void*, uint64_t)) {
    memset(s, 0, sizeof *s);
    atomic_init(&s->current, NULL);
    atomic_init(&s->hazard, NULL);
    atomic_init(&s->version, 0);
    atomic_init(&s->n_published, 0);
    atomic_init(&s->n_freed, 0);
    s->free_fn = free_fn;
    s->stamp_fn = stamp_fn;
    int r = pthread_mutex_init(&s->pub_lock, NULL);
    return -r;
}

void swap_done(SwapSlot* s) {
    void* cur = atomic_exchange(&s->current, NULL);
    atomic_store(&s->hazard, NULL);
    for (int i = 0; i < s->n_retired; i++)
        if (s->retired[i] && s->retired[i] != cur) s->free_fn(s->retired[i]);
    s->n_retired = 0;
    if (cur) s->free_fn(cur);
    pthread_mutex_destroy(&s->pub_lock);
}

void* swap_acquire(SwapSlot* s) {
    void* h = atomic_load(&s->current);
    for (;;) {
        atomic_store(&s->hazard, h);
        void* again = atomic_load(&s->current);
        if (again == h) return h;
        h = again;   // a publisher swapped in between; protect the newer one
    }
}

void swap_release(SwapSlot* s) {
    atomic_store(&s->hazard, NULL);
}

// Free every retired object but the hazard. Caller holds pub_lock.
static int reclaim_locked(SwapSlot* s) {
    void* hz = atomic_load(&s->hazard);
    int kept = 0;
    for (int i = 0; i < s->n_retired; i++) {
        void* o = s->retired[i];
        if (o == hz) {
            s->retired[kept++] = o;
        } else {
            s->free_fn(o);
            atomic_fetch_add(&s->n_freed, 1);
        }
    }
    s->n_retired = kept;
    return kept;
}

int swap_publish(SwapSlot* s, void* obj, uint64_t want_version, uint64_t* ret_version) {
    return swap_publish_unless(s, obj, want_version, NULL, ret_version);
}

int swap_publish_unless(SwapSlot* s, void* obj, uint64_t want_version, const _Atomic int* veto,
                        uint64_t* ret_version) {
    pthread_mutex_lock(&s->pub_lock);
    if (veto && atomic_load(veto)) {
        pthread_mutex_unlock(&s->pub_lock);
        return -ECANCELED;
    }
    if (s->n_retired >= SWAP_MAX_RETIRED && reclaim_locked(s) >= SWAP_MAX_RETIRED) {
        pthread_mutex_unlock(&s->pub_lock);
        return -EBUSY;
    }
    uint64_t version = atomic_load(&s->version) + 1;
    if (want_version > version) version = want_version;
    if (s->stamp_fn) s->stamp_fn(obj, version);
    if (ret_version) *ret_version = version;
    atomic_store(&s->version, version);
    void* old = atomic_exchange(&s->current, obj);
    atomic_fetch_add(&s->n_published, 1);
    if (old) s->retired[s->n_retired++] = old;
    reclaim_locked(s);
    pthread_mutex_unlock(&s->pub_lock);
    return 0;
}

int swap_reclaim(SwapSlot* s) {
    pthread_mutex_lock(&s->pub_lock);
    int kept = reclaim_locked(s);
    pthread_mutex_unlock(&s->pub_lock);
    return kept;
}

int swap_with_current(SwapSlot* s, int (*fn)(void* obj, void* arg), void* arg) {
    pthread_mutex_lock(&s->pub_lock);
    int r = fn(atomic_load(&s->current), arg);
    pthread_mutex_unlock(&s->pub_lock);
    return r;
}

uint64_t swap_version(const SwapSlot* s) {
    return atomic_load(&((SwapSlot*)s)->version);
}
