// SPDX-License-Identifier: Apache-2.0
// swap.h -- policy publication by atomic pointer swap, with safe reclamation.
//
// One SwapSlot holds the object the control thread serves (the daemon stores a
// ServedPolicy, ctrl.h; the slot is generic so it can be tested on its own).
// Publishers (the learner thread, the control-socket thread handling `swap`) call
// swap_publish; the reader (the control thread) calls swap_acquire once per tick.
//
// Reclamation is a single hazard pointer (Michael 2004): the reader loads the
// current pointer, stores it into `hazard` (seq_cst), and re-loads the current
// pointer, retrying if it changed. A publisher exchanges the current pointer
// (seq_cst), puts the old one on the retired list and frees every retired object
// that is not the hazard. With one reader at most one retired object can be in
// use, so the retired list stays tiny; the reader keeps its hazard set between ticks
// (it keeps serving the same object) and moves it only at a tick boundary.
//
// Thread: swap_acquire / swap_release: the one reader (control thread), wait-free,
// no allocation, no lock. swap_publish / swap_reclaim: any number of publishers,
// serialised by a mutex the reader never touches. Allocation: swap_init none;
// objects are allocated by publishers and freed by free_fn on a publisher thread.
#ifndef MAAC_SWAP_H
#define MAAC_SWAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define SWAP_MAX_RETIRED 16

typedef struct {
    _Atomic(void*) current;            // the object being served (may be NULL)
    _Atomic(void*) hazard;             // the object the reader uses now (NULL: none)
    _Atomic uint64_t version;          // version of `current` (given by the publisher)
    _Atomic uint64_t n_published;      // successful publications
    _Atomic uint64_t n_freed;          // retired objects freed
    pthread_mutex_t pub_lock;          // serialises publishers (never taken by the reader)
    void* retired[SWAP_MAX_RETIRED];   // (n_retired) replaced objects not yet freed
    int n_retired;
    void (*free_fn)(void*);            // frees an object
    void (*stamp_fn)(void*, uint64_t); // writes the assigned version into an object (nullable)
} SwapSlot;

// Initialise an empty slot whose objects are freed by free_fn; stamp_fn (nullable)
// records the version swap_publish assigns into the object before it is visible.
// 0 or -errno.
int swap_init(SwapSlot* s, void (*free_fn)(void*), void (*stamp_fn)(void*, uint64_t));
// Free the current and every retired object (the reader must have stopped).
void swap_done(SwapSlot* s);

// Reader: the object to use for this tick (NULL when none was published). The
// returned object stays valid until the reader's next swap_acquire or swap_release.
void* swap_acquire(SwapSlot* s);
// Reader: stop using any object (e.g. on exit).
void swap_release(SwapSlot* s);

// Publisher: make obj current with version max(want_version, current version + 1)
// (versions strictly increase whoever publishes); frees replaced objects once the
// reader has moved past them. Returns 0 with *ret_version set, or -EBUSY when too
// many retired objects are still held (obj is then NOT published; the caller still
// owns it). Nullable: ret_version.
int swap_publish(SwapSlot* s, void* obj, uint64_t want_version, uint64_t* ret_version);
// Publisher side: call fn(current, arg) with the current object held so no publisher
// can free it meanwhile (checkpointing the served policy). Returns fn's result.
int swap_with_current(SwapSlot* s, int (*fn)(void* obj, void* arg), void* arg);
// Publisher: as swap_publish, unless *veto is non-zero when checked under the
// publisher lock; then returns -ECANCELED and the caller keeps obj. (The learner
// publishes this way with veto = "paused", so a snapshot taken before `maacctl swap`
// paused it cannot replace the swapped-in policy afterwards.)
int swap_publish_unless(SwapSlot* s, void* obj, uint64_t want_version, const _Atomic int* veto,
                        uint64_t* ret_version);
// Publisher: free the retired objects the reader no longer uses. Returns how many
// are still held.
int swap_reclaim(SwapSlot* s);
// Version of the current object (any thread).
uint64_t swap_version(const SwapSlot* s);

#endif
