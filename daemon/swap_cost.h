// SPDX-License-Identifier: Apache-2.0
// swap_cost.h -- what a policy costs the control loop, checked before `maacctl swap`
// publishes it: parameters, memory, and the time of the exact served path.
//
// The timing is SWAP_COST_TRIALS calls of policy_act1 (with exploration noise, the
// costlier branch) on random observations, run on the caller's thread (the ctl
// server's, never the control thread); the p99 must fit time_fraction of the control
// period, leaving the rest of the tick for the socket, the transition and slack. The
// p99 taken is the lowest of SWAP_COST_ROUNDS rounds, so that a busy machine's
// preemptions of the (unpinned, SCHED_OTHER) ctl thread do not refuse a cheap policy.
// Thread: the ctl server thread. Allocation: the trial scratch (freed).
#ifndef MAAC_SWAP_COST_H
#define MAAC_SWAP_COST_H

#include "core/policy.h"

#define SWAP_COST_TRIALS 300
#define SWAP_COST_ROUNDS 3

typedef struct {
    long max_params;         // refuse more parameters than this
    double max_memory_mb;    // refuse more memory than this (MiB)
    double time_fraction;    // p99 inference <= time_fraction * period_s
    double period_s;         // the control period served
} SwapLimits;

typedef struct {
    long params;             // parameters
    double memory_mb;        // memory the served policy holds (MiB)
    double p50_us, p99_us;   // trial inference times
    double budget_us;        // time_fraction * period
} SwapCost;

// Memory (bytes) the policy holds while served: parameters, normalisation, structs.
double swap_cost_bytes(const Policy* p);
// Check p against lim; fills *ret (nullable) as far as it got. 0 or -E2BIG (too many
// parameters / too much memory) or -ETIME (too slow), with reterr saying which.
int swap_cost_check(const Policy* p, const SwapLimits* lim, SwapCost* ret, MaacErr* reterr);

#endif
