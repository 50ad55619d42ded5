// SPDX-License-Identifier: Apache-2.0
// learner_thread.h -- maacd's learner thread: transitions in over ZeroMQ, MAAC
// updates as fast as the machine allows, policy publication by atomic swap, learner
// state checkpoints that never make anyone wait on the learner.
//
// Binds ZMQ_PULL at LINK_LEARNER_INPROC (the control thread's transitions) and,
// with fleet_bind, at LINK_FLEET_INPROC (robots' rows, from daemon/fleet_learner.c).
// A robot daemon (fleet_connect) runs no learner thread (daemon/fleet_robot.h).
//
// Ingestion is decoupled from the updates (docs/daemon.md "The learner thread"):
//   realtime   every waiting transition is added to D_env at every safe point of the
//              learner (between updates, model-fit minibatches and rollout chunks, at
//              most ~1 s apart), then train steps (learner_train_step: model fit and
//              rollouts when due, updates_per_step updates) run while fewer have run
//              than env steps were taken in: as many updates as the machine allows,
//              never more than updates_per_step per ingested env step.
//   lock-step  one row, then its train step, exactly as `maac train` (the simulator
//              waits on the pipe's back-pressure).
// A policy is published every publish_every train steps that did updates (never an
// untrained one, never while a loaded policy's critic warms up). A failure
// (learner_create or repeated train errors) is logged and counted; the thread then
// keeps draining the pipe and the control loop keeps serving the current policy.
//
// Start: with lt_set_start, the learner resumes from a saved learner state (every
// field, D_model rebuilt) or starts its policy from a loaded one.
// Saves: lt_save writes policy.ckpt (the served policy) on the caller's thread and
// asks the learner thread for its state; the learner encodes it at its next safe
// point and a background writer (saver.h) writes learner_state.ckpt, so a caller
// waits only as long as it chooses (timeout_ms).
// Thread: lt_* are called from main / the ctl server; the learner itself runs only
// on this thread. Allocation: everything the learner does (never the control thread).
#ifndef MAAC_LEARNER_THREAD_H
#define MAAC_LEARNER_THREAD_H

#include <stdint.h>

#include "core/learner.h"
#include "daemon/config.h"
#include "daemon/ctrl.h"
#include "daemon/swap.h"

#define LT_STATE_FILE "learner_state.ckpt"
#define LT_POLICY_FILE "policy.ckpt"

typedef enum { LT_STARTING = 0, LT_RUNNING, LT_FAILED, LT_DISABLED, LT_STOPPED } LtState;

typedef struct {
    LtState state;
    int paused;                   // training paused (maacctl pause, or a swap pinned a policy)
    int resumed;                  // 1: the learner continued from a saved state
    uint64_t received;            // transitions received (local + fleet)
    uint64_t local_received;      // of which from this daemon's control thread
    uint64_t fleet_received;      // of which from the fleet socket
    uint64_t ingested;            // rows added to D_env by this process
    uint64_t bad_messages;        // undecodable transition messages
    uint64_t train_steps;         // learner_train_step calls
    uint64_t train_errors;        // failed train steps
    uint64_t failures;            // times the learner went to LT_FAILED
    uint64_t published;           // policies published
    uint64_t publish_errors;      // snapshots rejected / publication failures
    uint64_t last_published_version;
    uint64_t saves_ok, saves_failed;   // learner states written / failed
    long trained_steps;           // env steps whose train step has run
    double updates_per_step;      // achieved updates per env step since learning began
    double newest_trained_age_s;  // age of the newest transition in D_env when the
                                  // update in progress (or the last one) began
    double policy_age_s;          // since the last publication (-1 none)
    double phase_s;               // seconds in the current phase
    LearnerPhase phase;           // what the learner is doing
    int fit_epochs;               // model-fit epochs finished (in a fit: so far)
    int actor_held;               // 1: a loaded policy's critic warm-up
    int have_stats;
    LearnerStats ls;              // learner_stats (valid when have_stats)
    char error[256];              // last error ("" none)
} LtStatus;

typedef struct LearnerThread LearnerThread;

// Create (binds the PULL sockets). lc is the resolved learner configuration.
// NULL with reterr on failure.
LearnerThread* lt_create(const DaemonConfig* cfg, const LearnerConfig* lc, const PlantInfo* plant,
                         void* zctx, SwapSlot* slot, Ctrl* ctrl, MaacErr* reterr);
// How the learner starts (before lt_start): resume_path a learner_state.ckpt to
// resume from ("" or NULL: none; a file that does not fit the plant is refused with a
// log line and a fresh learner starts), start_policy (nullable; copied) a loaded
// policy whose weights a fresh learner starts from, holding its actor for
// warmup_updates updates while the critic learns.
void lt_set_start(LearnerThread* t, const char* resume_path, const Policy* start_policy,
                  long warmup_updates);
// Start the thread. 0 or -errno.
int lt_start(LearnerThread* t);
// Stop and join: the train step in progress is abandoned at its next safe point.
// Nullable: t.
void lt_stop(LearnerThread* t);
// Free (after lt_stop). Nullable: t.
void lt_free(LearnerThread* t);
// Pause / resume training and publication. Resuming after a swap pinned a policy
// makes the learner continue from the served policy's weights (lt_adopt_served).
void lt_set_paused(LearnerThread* t, int paused);
// Ask the learner to take the served policy's weights as its own at its next step
// (after a swap), with a critic warm-up. Ignored when the shapes differ (logged).
void lt_adopt_served(LearnerThread* t);
// Save checkpoints into dir: policy.ckpt (the served policy, written now) and
// learner_state.ckpt (encoded by the learner at its next safe point, written in the
// background). Waits up to timeout_ms for both; 0 both written, -EINPROGRESS the
// state is still being written (it will be; the result is logged), or -errno with
// reterr.
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
