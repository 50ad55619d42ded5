// SPDX-License-Identifier: Apache-2.0
// fleet_robot.h -- a robot daemon's link to the fleet's learner ([learner]
// fleet_connect; docs/daemon.md "Fleet").
//
// A robot runs no learner of its own. This thread takes the control thread's
// transitions off the inproc pipe (LINK_LEARNER_INPROC, where a local learner would
// sit), keeps them in a ring of [fleet] buffer_s seconds of the control rate, sends
// them to the learner over one CURVE DEALER connection (transport/fleet_wire.h) and
// drops each row only when the learner has acknowledged it (go-back-N: a timeout or
// the learner's rewind resends from the first unacknowledged row). Policies the
// learner broadcasts are checked exactly as `maacctl swap` checks a file (sizes,
// bounds, plant, finite actions, parameter / memory / time cost) and published into
// the served slot, so the control thread picks them up at a tick boundary.
// When the ring is full the thread stops reading the pipe: a lock-step plant then
// waits (back-pressure), a realtime loop drops rows and counts them
// (transitions_dropped) -- and an ALARM line says so. When the learner is unheard for
// [fleet] lost_after_s the robot keeps serving its last policy and says so (log
// ALARM, STATUS=, maacctl stats fleet_connected = false).
// Thread: its own; fleet_robot_status from any thread. Allocation: at create and on
// the fleet thread (never the control thread).
#ifndef MAAC_FLEET_ROBOT_H
#define MAAC_FLEET_ROBOT_H

#include <stdint.h>

#include "daemon/config.h"
#include "daemon/ctrl.h"
#include "daemon/swap.h"

typedef struct {
    char name[64];                 // this robot's name at the learner
    int connected;                 // 1: the learner was heard within lost_after_s
    int ever;                      // heard at least once
    uint64_t rows;                 // rows taken from the control loop
    uint64_t sent;                 // rows sent (resends included)
    uint64_t acked;                // rows the learner confirmed
    uint64_t resent;               // rows sent again (timeouts, rewinds)
    uint64_t buffered;             // rows held: rows - acked
    uint64_t buffer_rows;          // ring capacity
    double buffer_s;               // capacity in seconds of the control rate
    uint64_t buffer_full;          // times the ring filled up
    int full;                      // 1: the ring is full now
    uint64_t bad_messages;         // undecodable messages from the learner / pipe
    uint64_t policies_received, policies_applied, policies_rejected;
    uint64_t learner_version;      // the learner's version of the last policy applied
    uint64_t learner_id;           // the learner process's id (0: none yet)
    uint64_t learner_restarts;     // new learner ids seen after the first
    uint64_t lost_events;          // times the learner went unheard for lost_after_s
    double silent_s;               // since the learner was last heard (-1: never)
    char last_reject[200];         // why the last policy was refused ("" none)
} FleetRobotStatus;

typedef struct FleetRobot FleetRobot;

// Create (binds the inproc pipe, connects to cfg->fleet_connect with sec_connect) and
// start the thread; marks the control loop's learner pipe alive. NULL with reterr.
FleetRobot* fleet_robot_start(const DaemonConfig* cfg, void* zctx, SwapSlot* slot, Ctrl* ctrl,
                              MaacErr* reterr);
// Stop, join, free. Nullable: r.
void fleet_robot_stop(FleetRobot* r);
void fleet_robot_status(FleetRobot* r, FleetRobotStatus* ret);
// One line for sd_notify STATUS= ("fleet: ..."). Returns buf.
const char* fleet_robot_line(FleetRobot* r, char* buf, int cap);

#endif
