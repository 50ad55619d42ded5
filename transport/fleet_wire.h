// SPDX-License-Identifier: Apache-2.0
// fleet_wire.h -- the fleet link between robot daemons and a learner daemon: four
// msgpack messages on one DEALER (robot) -> ROUTER (learner) connection
// (docs/protocol.md "Fleet messages", docs/daemon.md "Fleet").
//
//   robot -> learner
//     fleet_hello  who I am (robot name, plant, dims), the policy version I serve, the
//                  first row I still hold (acked) and the rows I have made; sent at
//                  start, once a second (heartbeat) and when the served version changes
//     fleet_rows   rows [seq, seq + n) of my transitions: "tr" is a whole transitions
//                  message (wire.h) as bin, so the learner forwards it unchanged
//   learner -> robot
//     fleet_ack    "next": the next row the learner expects from this robot (everything
//                  below is in); "rewind": resend from next (a gap was seen); "learner":
//                  the learner process's id (a new one means it restarted); "version":
//                  the policy version it publishes now
//     fleet_policy a policy checkpoint (docs/checkpoint-format.md) as bin, with its
//                  version; sent to every robot at each publication and to a robot
//                  that joins (or serves another version) at once
// Every row has a sequence number from 0 at the robot's start: the robot keeps rows
// until they are acknowledged, the learner takes each exactly once (go-back-N).
// Thread: any. Allocation: none.
#ifndef MAAC_FLEET_WIRE_H
#define MAAC_FLEET_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "transport/wire.h"

typedef enum {
    FLEET_NONE = 0,
    FLEET_HELLO,
    FLEET_ROWS,
    FLEET_ACK,
    FLEET_POLICY,
} FleetMsgType;

typedef struct {
    FleetMsgType type;
    char robot[WIRE_MAX_NAME];     // hello, rows: the robot's name
    uint64_t boot;                 // hello, rows: the robot process's id (a new one: it
                                   // restarted and its rows count from 0 again)
    char plant[WIRE_MAX_NAME];     // hello: its plant
    int obs_dim, act_dim;          // hello
    double dt;                     // hello: the plant's control period (s)
    double act_low[WIRE_MAX_ACT];  // hello: action bounds (act_dim; sent as bin float64 LE)
    double act_high[WIRE_MAX_ACT];
    uint64_t served;               // hello, rows: policy version the robot serves
    uint64_t acked;                // hello, rows: the oldest row the robot still holds
    uint64_t rows;                 // hello: rows made so far
    uint64_t seq;                  // rows: seq of the first row in tr
    const unsigned char* tr;       // rows: a transitions message (points into the buffer)
    size_t tr_len;
    uint64_t learner;              // ack, policy: the learner process's id
    uint64_t next;                 // ack
    int rewind;                    // ack
    uint64_t version;              // ack, policy
    const unsigned char* policy;   // policy: checkpoint bytes (points into the buffer)
    size_t policy_len;
} FleetMsg;

// Decode one fleet message (strict: v, type and every field of that type). 0 or
// -EPROTO / -EBADMSG / -EPROTONOSUPPORT with reterr.
int fleet_decode(const void* buf, size_t len, FleetMsg* ret, MaacErr* reterr);

// Encoders: bytes written or -ENOBUFS.
// (the plant: name, dims, period dt, bounds low/high of act_dim floats)
int fleet_encode_hello(void* buf, size_t cap, const char* robot, uint64_t boot, const char* plant,
                       int obs_dim, int act_dim, double dt, const float* low, const float* high,
                       uint64_t served, uint64_t acked, uint64_t rows);
int fleet_encode_rows(void* buf, size_t cap, const char* robot, uint64_t boot, uint64_t seq, uint64_t acked,
                      uint64_t served, const void* tr, size_t tr_len);
int fleet_encode_ack(void* buf, size_t cap, uint64_t learner, uint64_t next, int rewind,
                     uint64_t version);
int fleet_encode_policy(void* buf, size_t cap, uint64_t learner, uint64_t version,
                        const void* ckpt, size_t ckpt_len);
// Bytes a rows message needs around a transitions message of tr_len bytes.
#define FLEET_ROWS_OVERHEAD 256

#endif
