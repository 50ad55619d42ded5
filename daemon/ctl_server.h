// SPDX-License-Identifier: Apache-2.0
// ctl_server.h -- the control socket (ZMQ_REP) that maacctl talks to.
//
// Commands (wire.h WireCtl; replies are msgpack maps, wire_w_reply_begin):
//   status            one-line essentials: plant, mode, policy version, ticks, misses,
//                     episodes, returns, learner state, loop jitter p50/p99/max
//   stats             everything: every counter, jitter and compute histograms
//                     (p50/p99/p99.9/max), learner progress (LearnerStats), settings
//   swap FILE         load + validate FILE here (never on the control thread); publish
//                     it and pin it (learning pauses until `resume`); a bad file is
//                     rejected with the reason and the running policy is untouched
//   save              checkpoints into checkpoint_dir (learner thread)
//   pause | resume    learning
//   mode policy|mpc   how actions are computed
//   stop              shut the daemon down (like SIGTERM)
// Thread: its own thread; reads Maacd atomics and takes only non-RT locks.
// Allocation: yes (policy loads); never on the control thread.
#ifndef MAAC_CTL_SERVER_H
#define MAAC_CTL_SERVER_H

#include "daemon/maacd.h"

typedef struct CtlServer CtlServer;

// Bind the control endpoint and start the thread. NULL with reterr.
CtlServer* ctl_server_start(Maacd* d, MaacErr* reterr);
// Stop, join, close, free. Nullable: s.
void ctl_server_stop(CtlServer* s);
// Handle one request (req, req_len) into reply; returns the reply length. (Tests.)
int ctl_handle(Maacd* d, const void* req, size_t req_len, void* reply, size_t cap);

#endif
