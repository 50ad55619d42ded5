// SPDX-License-Identifier: Apache-2.0
// ctrl.h -- the control thread: one tick = latest observation -> policy -> action
// -> transition to the learner, on absolute deadlines (realtime) or per observation
// (lock-step).
//
// Two modes (docs/architecture.md, "Plant link"):
//   lock-step  every observation is answered as soon as it arrives; the simulator
//              steps on the reply, so training runs as fast as the learner keeps up
//              (a full transition pipe holds the reply back: back-pressure, never a
//              blocking call).
//   realtime   fixed rate on CLOCK_MONOTONIC deadlines (clock_nanosleep TIMER_ABSTIME,
//              cyclictest style): each tick drains the plant socket, keeps the newest
//              valid observation, and answers it; a stale or missing observation gets
//              the safe action. Overruns skip whole periods and count as misses.
// Each tick publishes (acquires) the current ServedPolicy through swap.h, so a new
// policy is picked up exactly at a tick boundary.
//
// Bad input never stops the loop: malformed/wrong-type/wrong-size/non-finite/
// out-of-order/oversized messages each get an error reply, a counter, and a safe
// action when an action is due. Nothing is logged from the loop: events go to the
// rt.h ring, which ctrl_drain_events (a non-RT thread) turns into log lines.
//
// Thread: ctrl_step and the loop run on the control thread only; CtrlStats and the
// Ctrl* command fields are atomics any thread may read/write. Allocation:
// ctrl_create (everything, once); ctrl_step allocates nothing (tests/test_ctrl_noalloc.c).
#ifndef MAAC_CTRL_H
#define MAAC_CTRL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/cem.h"
#include "core/ensemble.h"
#include "core/policy.h"
#include "core/qf.h"
#include "daemon/config.h"
#include "daemon/rt.h"
#include "daemon/swap.h"
#include "core/plant.h"
#include "transport/link.h"
#include "transport/wire.h"

// Floats of policy scratch the control thread preallocates; a policy needing more is
// rejected at publication (validation happens off the control thread).
#define CTRL_SCRATCH_FLOATS (1L << 16)

// What the control thread serves: an immutable policy, and for MPC mode frozen
// copies of the models and Q with their own CEM work. Freed by served_free (swap.h).
typedef struct {
    Policy* pi;          // owned
    Ensemble* ens;       // owned, NULL when MPC is not available with this policy
    QFunction* qf;       // owned, NULL likewise
    CemWork* cem;        // owned, NULL likewise (used by the control thread only)
    CemConfig cem_cfg;   // CEM settings for cem
    uint64_t version;    // served version (strictly increasing per daemon)
} ServedPolicy;

// Free a ServedPolicy (swap.h free_fn). Nullable: p.
void served_free(void* p);
// Record the version swap_publish assigned (swap.h stamp_fn).
void served_stamp(void* p, uint64_t version);

// Plant description from the hello (dims, bounds, period).
typedef struct {
    char name[WIRE_MAX_NAME];
    int obs_dim, act_dim;
    double dt;                          // plant control period (s)
    float act_low[WIRE_MAX_ACT];        // (act_dim)
    float act_high[WIRE_MAX_ACT];       // (act_dim)
    PlantModel model;                   // the plant's model resolved at hello
                                        // (plant_config.h); obs_dim 0: none (nothing known)
} PlantInfo;

// Check that sp->pi fits plant (sizes, bounds, plant name when recorded, scratch
// within CTRL_SCRATCH_FLOATS) and gives finite actions; run off the control thread
// before publishing. 0 or -EINVAL with reterr.
int served_validate(const ServedPolicy* sp, const PlantInfo* plant, MaacErr* reterr);

// Event codes in the ring (rt.h RtEvent.code).
enum {
    CTRL_EV_BAD_MSG = 1,    // arg = -errno from wire_decode (0: wrong type); value = type
    CTRL_EV_SEQ,            // arg = 1 out of order / duplicate, 2 gap; value = seq
    CTRL_EV_EPISODE,        // value = return, arg = length
    CTRL_EV_HELLO,          // arg = 0 accepted, else -errno
    CTRL_EV_BYE,            // arg = 1 when mid-episode
    CTRL_EV_POLICY,         // value = version now served
    CTRL_EV_SEND_FAIL,      // arg = -errno
    CTRL_EV_POLICY_FAIL,    // arg = -errno from policy_act1 / cem_plan
    CTRL_EV_OVERRUN,        // arg = periods skipped
    CTRL_EV_STALE,          // realtime: stale observation, safe action served
    CTRL_EV_EVAL_EPISODE,   // as CTRL_EV_EPISODE, for a deterministic evaluation episode
    CTRL_EV_BUSY,           // a second plant's hello refused (arg 0) / taking over (arg 1)
    CTRL_EV_OBS_FAULT,      // observation outside [plant] obs_min/obs_max: arg = entry,
                            // value = its value; safe action served
};
// EPISODE / EVAL_EPISODE events carry the env steps in RtEvent.tick.

// episodes.csv (ctrl_set_episode_log): one row per finished episode.
#define CTRL_EPISODE_CSV_HEADER "unix_time,env_steps,return,length,policy_version,eval"

// Counters (written by the control thread, read by anyone).
typedef struct {
    _Atomic uint64_t ticks;              // control steps (realtime: periods; lock-step: obs answered)
    _Atomic uint64_t misses;             // deadline misses (periods skipped)
    _Atomic uint64_t obs_in;             // valid observations received
    _Atomic uint64_t actions_out;        // actions sent
    _Atomic uint64_t safe_actions;       // of which the safe action
    _Atomic uint64_t transitions;        // transitions pushed to the learner
    _Atomic uint64_t transitions_dropped;// pipe full (realtime) or learner gone
    _Atomic uint64_t err_malformed, err_bad_message, err_bad_version, err_bad_size;
    _Atomic uint64_t err_nonfinite, err_oversized, err_sequence, err_wrong_type;
    _Atomic uint64_t err_send, err_policy, stale, err_not_ready, err_wrong_plant;
    _Atomic uint64_t disconnects;        // plants that left mid-episode
    _Atomic uint64_t obs_faults;         // observations outside [plant] obs_min/obs_max
                                         // (answered with the safe action)
    _Atomic uint64_t actions_clamped;    // computed actions clamped into the action bounds
    _Atomic uint64_t actions_rate_limited;   // ... limited by [plant] max_action_change
    _Atomic uint64_t hellos;             // hellos accepted
    _Atomic uint64_t err_busy;           // hellos refused: another plant holds the session
    _Atomic uint64_t takeovers;          // hellos that replaced a live plant (allow_takeover)
    _Atomic uint64_t episodes;           // finished episodes
    _Atomic uint64_t env_steps;          // transitions seen (incl. dropped)
    _Atomic double last_return;          // return of the last finished episode
    _Atomic double mean_return;          // mean of the last 10 episode returns
    _Atomic double best_return;
    _Atomic double eval_return;          // return of the last evaluation episode (NaN none)
    _Atomic uint64_t eval_episodes;      // deterministic evaluation episodes finished
    _Atomic uint64_t busy_notices;       // lock-step: learner_busy notices sent while held
    _Atomic uint64_t last_episode_len;
    _Atomic uint64_t policy_version;     // version served on the last tick (0 = none)
    _Atomic int64_t heartbeat_ns;        // CLOCK_MONOTONIC of the last loop iteration
    _Atomic int policy_swaps_seen;       // policy changes picked up at tick boundaries
    RtHist jitter;                       // wake-up latency (realtime)
    RtHist compute;                      // tick work time (both modes)
    RtRing events;                       // for the logger
} CtrlStats;

typedef struct Ctrl Ctrl;

// Create the control state for a plant: preallocates every buffer, connects the
// transition PUSH socket (inproc, LINK_LEARNER_INPROC) and takes ownership of the
// bound plant ROUTER socket. peer (nullable) is the plant that said hello.
// NULL with reterr on failure.
Ctrl* ctrl_create(const DaemonConfig* cfg, const PlantInfo* plant, void* zctx, void* plant_sock,
                  const LinkPeer* peer, SwapSlot* slot, MaacErr* reterr);
// Free (after the thread stopped). Closes the sockets it owns. Nullable: c.
void ctrl_free(Ctrl* c);

// One tick. now_ns is CLOCK_MONOTONIC now. Picks up the published policy, then
// lock-step: answers every observation waiting (at most 256 messages per call; stops
// early while the learner pipe is full); realtime: drains the socket and answers the
// newest observation (or sends the safe action when it is stale). Returns the number
// of actions sent (>= 0). No allocation, no blocking call.
int ctrl_step(Ctrl* c, int64_t now_ns);
// Retry a held-back transition/action (lock-step back-pressure); 1 when still held.
int ctrl_flush(Ctrl* c);

// Run the loop on a new thread (affinity / SCHED_FIFO as configured, warnings via
// maacd_log before the loop starts). 0 or -errno.
int ctrl_start(Ctrl* c);
// Ask the loop to stop and join it.
void ctrl_stop(Ctrl* c);

CtrlStats* ctrl_stats(Ctrl* c);
const PlantInfo* ctrl_plant(const Ctrl* c);
// Safe action (act_dim) the loop serves.
const float* ctrl_safe_action(const Ctrl* c);
// Commands (any thread).
void ctrl_set_act_mode(Ctrl* c, ActMode m);
ActMode ctrl_act_mode(const Ctrl* c);
// Exploration: 0 deterministic, 1 policy samples; random_steps uniform-random actions
// first (the learner's init_random_steps).
void ctrl_set_explore(Ctrl* c, int explore, long random_steps);
// Whether transitions are pushed (0 while no learner runs: nothing is queued, and
// lock-step never waits on a learner that is not there).
void ctrl_set_learner_alive(Ctrl* c, int alive);
// Effective control rate (Hz) and mode.
double ctrl_rate_hz(const Ctrl* c);
// 1 when the loop is alive and missing fewer than the configured misses per second
// (called once per watchdog period from one thread).
int ctrl_healthy(Ctrl* c, int64_t now_ns);
// Log the events in the ring (non-RT thread); finished episodes also become rows of
// the episode log when one is set.
void ctrl_drain_events(Ctrl* c);
// Episode log (a FILE*, CTRL_EPISODE_CSV_HEADER columns; borrowed; NULL none), written
// by ctrl_drain_events.
void ctrl_set_episode_log(Ctrl* c, void* f);

#endif
