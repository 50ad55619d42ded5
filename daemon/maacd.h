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
#include "daemon/learner_thread.h"
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
} Maacd;

#endif
