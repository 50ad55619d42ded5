// SPDX-License-Identifier: Apache-2.0
// ratelog.h -- rate-limited log lines: at most one line per kind per second, with a
// count of the lines suppressed in between, so a peer sending junk cannot flood the
// journal (issue 33: 755,431 lines in 30 s before).
//
// One RateLog per kind of line (zero-initialised: static or memset). ratelog_log
// logs when the kind's last line is a second old or more, appending "(N similar
// suppressed)" when lines were dropped since; otherwise it only counts. ratelog_flush
// reports a count left over once the second has passed (call it periodically).
// Thread: any non-RT thread; one RateLog may be shared (atomics). Allocation: none.
#ifndef MAAC_RATELOG_H
#define MAAC_RATELOG_H

#include <stdatomic.h>
#include <stdint.h>

#define RATELOG_INTERVAL_NS 1000000000LL

typedef struct {
    _Atomic int64_t last_ns;        // CLOCK_MONOTONIC of the last line logged (0 = never)
    _Atomic uint64_t suppressed;    // lines counted, not logged, since then
} RateLog;

// 1 and *ret_suppressed (nullable) set when a line may be logged at now_ns; 0 when
// the line is suppressed (and counted).
int ratelog_allow(RateLog* rl, int64_t now_ns, uint64_t* ret_suppressed);
// maacd_log, rate-limited by rl. Returns 1 when logged.
int ratelog_log(RateLog* rl, int level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// Log "N <what> lines suppressed" when the second is over and some were. Returns 1 if logged.
int ratelog_flush(RateLog* rl, int level, const char* what);

#endif
