// SPDX-License-Identifier: Apache-2.0
// ratelog.c -- one log line per kind per second, with a suppressed count (ratelog.h).
// Thread: any non-RT thread. Allocation: none.
#include "daemon/ratelog.h"

#include <stdarg.h>
#include <stdio.h>

#include "daemon/notify.h"
#include "daemon/rt.h"

int ratelog_allow(RateLog* rl, int64_t now_ns, uint64_t* ret_suppressed) {
    int64_t last = atomic_load(&rl->last_ns);
    if (last && now_ns - last < RATELOG_INTERVAL_NS) {
        atomic_fetch_add(&rl->suppressed, 1);
        return 0;
    }
    if (!atomic_compare_exchange_strong(&rl->last_ns, &last, now_ns ? now_ns : 1)) {
        atomic_fetch_add(&rl->suppressed, 1);   // another thread took this second's line
        return 0;
    }
    uint64_t n = atomic_exchange(&rl->suppressed, 0);
    if (ret_suppressed) *ret_suppressed = n;
    return 1;
}

int ratelog_log(RateLog* rl, int level, const char* fmt, ...) {
    uint64_t n = 0;
    if (!ratelog_allow(rl, rt_now_ns(), &n)) return 0;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) maacd_log(level, "%s (%llu similar suppressed in the last second)", msg,
                     (unsigned long long)n);
    else maacd_log(level, "%s", msg);
    return 1;
}

int ratelog_flush(RateLog* rl, int level, const char* what) {
    int64_t now = rt_now_ns(), last = atomic_load(&rl->last_ns);
    if (!atomic_load(&rl->suppressed) || now - last < RATELOG_INTERVAL_NS) return 0;
    if (!atomic_compare_exchange_strong(&rl->last_ns, &last, now)) return 0;
    uint64_t n = atomic_exchange(&rl->suppressed, 0);
    if (!n) return 0;
    maacd_log(level, "%llu %s lines suppressed in the last second", (unsigned long long)n, what);
    return 1;
}
