// SPDX-License-Identifier: Apache-2.0
// learner_thread.h -- maacd's learner thread: transitions in over ZeroMQ, MAAC
// updates, policy publication by atomic swap, checkpoints.
//
// Binds ZMQ_PULL at LINK_LEARNER_INPROC (the control thread's transitions) and,
// when configured, at fleet_bind (tcp: other daemons' transitions); forwards local
// transitions to fleet_connect when set. Every received transition goes to
// learner_add_transition followed by one learner_train_step (MAAC's schedule:
// model fits, rollouts, updates_per_step updates, all inside the learner). Every
// publish_every steps a snapshot of the policy (plus frozen models/Q and CEM work
// when the control thread is in MPC mode) is validated and published (swap.h).
// A failure (learner_create or repeated train errors) is logged and counted; the
// thread then keeps draining the pipe and the control loop keeps serving the
// current policy.
// Thread: lt_* are called from main / the ctl server; the learner itself runs only
// on this thread. Allocation: everything the learner does (never the control thread).
#ifndef MAAC_LEARNER_THREAD_H
#define MAAC_LEARNER_THREAD_H

#include <stdint.h>

#include "core/learner.h"
#include "daemon/config.h"
#include "daemon/ctrl.h"
#include "daemon/swap.h"

typedef enum { LT_STARTING = 0, LT_RUNNING, LT_FAILED, LT_DISABLED, LT_STOPPED } LtState;

typedef struct {
    LtState state;
    int paused;                   // training paused (maacctl pause, or a swap pinned a policy)
    uint64_t received;            // transitions received (local + fleet)
    uint64_t fleet_received;      // of which from the fleet socket
    uint64_t bad_messages;        // undecodable transition messages
    uint64_t train_steps;         // learner_train_step calls
    uint64_t train_errors;        // failed train steps
    uint64_t failures;            // times the learner went to LT_FAILED
    uint64_t published;           // policies published
    uint64_t publish_errors;      // snapshots rejected / publication failures
    uint64_t last_published_version;
    int have_stats;
    LearnerStats ls;              // learner_stats (valid when have_stats)
    char error[256];              // last error ("" none)
} LtStatus;

typedef struct LearnerThread LearnerThread;

// Create (binds the PULL sockets). lc is the resolved learner configuration.
// NULL with reterr on failure.
LearnerThread* lt_create(const DaemonConfig* cfg, const LearnerConfig* lc, const PlantInfo* plant,
                         void* zctx, SwapSlot* slot, Ctrl* ctrl, MaacErr* reterr);
// Start the thread. 0 or -errno.
int lt_start(LearnerThread* t);
// Stop and join. Nullable: t.
void lt_stop(LearnerThread* t);
// Free (after lt_stop). Nullable: t.
void lt_free(LearnerThread* t);
// Pause / resume training and publication.
void lt_set_paused(LearnerThread* t, int paused);
// Save checkpoints into dir (learner.ckpt, policy.ckpt = the served policy), done by
// the learner thread; waits up to timeout_ms. 0 or -errno with reterr.
int lt_save(LearnerThread* t, const char* dir, int timeout_ms, MaacErr* reterr);
// Snapshot of the status.
void lt_status(LearnerThread* t, LtStatus* ret);
const char* lt_state_name(LtState s);

// Resolve the learner configuration for a plant from the daemon config (defaults for
// the plant, then seed and the [learner] overrides). 0 or -EINVAL with reterr.
int lt_resolve_config(const DaemonConfig* cfg, const char* plant, LearnerConfig* ret,
                      MaacErr* reterr);
// Save the served policy of slot to path (any thread; holds the publisher lock).
int lt_save_served(SwapSlot* slot, const char* path, MaacErr* reterr);

#endif
