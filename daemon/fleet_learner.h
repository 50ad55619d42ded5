// SPDX-License-Identifier: Apache-2.0
// fleet_learner.h -- a learner daemon's side of the fleet ([learner] fleet_bind;
// docs/daemon.md "Fleet").
//
// One thread owns the CURVE ROUTER socket robots connect to (transport/fleet_wire.h).
// Rows: each robot's rows are taken exactly once, in order (a gap asks the robot to
// resend; a duplicate is dropped and counted), forwarded unchanged to the learner
// thread's fleet pipe (LINK_FLEET_INPROC), and acknowledged only once forwarded, so a
// row is never lost between a robot's buffer and D_env. Policies: each version the
// slot publishes (the learner thread's, a `maacctl swap`, a loaded checkpoint; never
// the untrained random one) goes to every robot as a checkpoint, and a robot that
// joins or serves another version gets the current one at once (late join, learner
// restart). Per robot: rows received, duplicates, resends asked, last seen, the
// version it serves, and the publish -> served lag (each robot and all robots).
// Thread: its own; fleet_learner_status from any thread. Allocation: create, policy
// encoding on the fleet thread.
#ifndef MAAC_FLEET_LEARNER_H
#define MAAC_FLEET_LEARNER_H

#include <stdint.h>

#include "daemon/config.h"
#include "daemon/ctrl.h"
#include "daemon/swap.h"

#define LINK_FLEET_INPROC "inproc://maacd-fleet"
#define FLEET_MAX_ROBOTS 64

typedef struct {
    char name[64];
    uint64_t boot;                 // its process id (a new one: it restarted)
    uint64_t received;             // rows taken into D_env's pipe (this learner process)
    uint64_t first_seq, next_seq;  // its row numbers: the first taken here, the next expected
    uint64_t duplicates;           // rows received twice (dropped)
    uint64_t rewinds;              // resends asked for (a gap in its rows)
    uint64_t robot_rows;           // rows it said it has made (its last hello)
    uint64_t served;               // the learner version it serves (0: none of ours)
    uint64_t restarts;             // new boot ids seen
    uint64_t policies_sent;
    double last_seen_s;            // since its last message
    double lag_ms;                 // publish -> served, for the last version it reached
} FleetRobotInfo;

typedef struct {
    uint64_t learner_id;           // this process's id at the robots
    int n_robots;
    FleetRobotInfo robots[FLEET_MAX_ROBOTS];
    uint64_t rows_in;              // rows forwarded to the learner thread
    uint64_t not_forwarded;        // rows left unacknowledged: the learner's pipe was full
    uint64_t bad_messages;         // undecodable / wrong messages
    uint64_t robots_refused;       // robots refused (plant mismatch, table full)
    uint64_t broadcasts;           // versions broadcast
    uint64_t version;              // the version broadcast last (0: none yet)
    uint64_t policy_bytes;         // its fleet_policy message, bytes (per robot per publication)
    uint64_t lag_n;                // publish -> served samples (each robot)
    double lag_p50_ms, lag_p99_ms, lag_max_ms;
    uint64_t lag_all_n;            // publish -> served on every robot seen at publication
    double lag_all_p50_ms, lag_all_p99_ms, lag_all_max_ms;
} FleetLearnerStatus;

typedef struct FleetLearner FleetLearner;

// Bind cfg->fleet_bind (sec_bind: CURVE on tcp), connect the learner thread's fleet
// pipe and start. plant NULL: a learner with no plant of its own ([plant] endpoint =
// none) takes the plant's description from the first robot's hello (then robots
// with another plant are refused) and broadcasts nothing until fleet_learner_arm.
// skip_version: the slot's untrained initial version, never sent (0: none).
// NULL with reterr.
FleetLearner* fleet_learner_start(const DaemonConfig* cfg, const PlantInfo* plant, void* zctx,
                                  SwapSlot* slot, uint64_t skip_version, MaacErr* reterr);
// Wait (sd_notify watchdog and STATUS= meanwhile) until a robot has described the
// plant: 0 with *ret filled (its model unresolved), -EINTR when *stop was set.
int fleet_learner_wait_plant(FleetLearner* f, const _Atomic int* stop, PlantInfo* ret);
// Start broadcasting (a learner started with plant NULL, once its slot holds the
// initial policy of version skip_version, which is never sent).
void fleet_learner_arm(FleetLearner* f, uint64_t skip_version);
// Stop, join, free. Nullable: f.
void fleet_learner_stop(FleetLearner* f);
void fleet_learner_status(FleetLearner* f, FleetLearnerStatus* ret);

#endif
