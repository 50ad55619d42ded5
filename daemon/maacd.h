// SPDX-License-Identifier: Apache-2.0
// maacd.h -- the daemon's shared state: what main builds and the ctl server reads.
//
// Thread: main creates and frees; the ctl server thread reads it while running
// (ctrl / lt are published with atomics once the plant has said hello).
// Allocation: by main.
#ifndef MAAC_MAACD_H
#define MAAC_MAACD_H

#include <stdatomic.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/ctrl.h"
#include "daemon/fleet_learner.h"
#include "daemon/fleet_robot.h"
#include "daemon/learner_thread.h"
#include "daemon/security.h"
#include "daemon/swap.h"

typedef struct {
    DaemonConfig cfg;            // resolved settings
    void* zctx;                  // ZeroMQ context
    SwapSlot slot;               // the served policy
    _Atomic(Ctrl*) ctrl;         // NULL until a plant said hello
    _Atomic(LearnerThread*) lt;  // NULL until then, or when learning is off
    _Atomic int stop;            // set by signals / maacctl
    int64_t start_ns;            // CLOCK_MONOTONIC at start
    _Atomic uint64_t swaps_ok, swaps_rejected;   // maacctl swap outcomes
    _Atomic uint64_t ctl_requests, ctl_errors;   // control-socket requests, bad ones
    char plant_name[64];         // plant served ("" while waiting)
    _Atomic int mem_locked;      // 1 when mlockall succeeded
    void* episodes_csv;          // FILE* of episodes.csv (main only; NULL none)
    _Atomic int alarm_flags;     // health_alarm.h HEALTH_ALARM_* raised now (0 = none)
    _Atomic double alarm_safe_share;      // safe-action share over the last minute
    _Atomic uint64_t alarm_window_drops;  // drops + misses over the last minute
    char alarm_text[160];        // what is raised ("" = nothing; main thread only)
    SecKeys sec;                 // CURVE keys and the ZAP handler (cfg.keys points here)
    _Atomic(FleetRobot*) fleet_robot;      // robot role (fleet_connect): NULL otherwise
    _Atomic(FleetLearner*) fleet_learner;  // learner with fleet_bind: NULL otherwise
    int no_plant;                // [plant] endpoint = none: a fleet learner without a plant
} Maacd;

// Exit status when the final checkpoint could not be written (maacd(8)).
#define MAACD_EXIT_CHECKPOINT 3

#endif
