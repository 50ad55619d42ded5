// SPDX-License-Identifier: Apache-2.0
// poll.h -- the safe-point hook of long learner work (model fits, rollouts, updates).
//
// A caller that must stay responsive while the learner works (maacd's learner thread:
// stop, save requests, taking in new transitions) registers a MaacPollFn. Long work
// calls it at points where its state is consistent (between model-fit minibatches,
// rollout chunks and updates), so the time between two calls is bounded by one such
// piece. A non-zero return asks the work to stop as soon as it can: it finishes the
// piece in hand, leaves its state consistent and returns -ECANCELED.
// Thread: called on the thread doing the work. Allocation: none.
#ifndef MAAC_POLL_H
#define MAAC_POLL_H

// 0 continue, non-zero abandon the work in progress.
typedef int (*MaacPollFn)(void* arg);

typedef struct {
    MaacPollFn fn;   // NULL: never polled
    void* arg;
} MaacPoll;

// Call the hook (0 when none is set).
static inline int maac_poll(const MaacPoll* p) { return p && p->fn ? p->fn(p->arg) : 0; }

#endif
