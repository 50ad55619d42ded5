// SPDX-License-Identifier: Apache-2.0
// watchdog.c -- the watchdog thread (see watchdog.h).
// Thread: its own. Allocation: watchdog_start only.
#include "daemon/watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/notify.h"
#include "daemon/rt.h"

struct Watchdog {
    Ctrl* c;
    pthread_t thread;
    _Atomic int stop;
    int64_t every_ns;
};

static void* watchdog_main(void* arg) {
    Watchdog* w = arg;
    int64_t last_warn = 0;
    while (!atomic_load(&w->stop)) {
        int64_t now = rt_now_ns();
        if (ctrl_healthy(w->c, now)) {
            notify_watchdog();
        } else if (now - last_warn > 10000000000LL) {
            maacd_log(LOG_LV_WARNING, "control loop unhealthy: watchdog not fed");
            last_warn = now;
        }
        // sleep in short slices so stop is prompt, to a deadline on the monotonic clock
        // (late wake-ups of the slices do not add up)
        int64_t deadline = now + w->every_ns;
        for (int64_t left; (left = deadline - rt_now_ns()) > 0 && !atomic_load(&w->stop);) {
            struct timespec ts = {0, (long)(left < 50000000LL ? left : 50000000LL)};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

Watchdog* watchdog_start(Ctrl* c) {
    Watchdog* w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->c = c;
    uint64_t usec = notify_watchdog_usec();
    // every WatchdogSec/4: a ping is then due at least every WatchdogSec/2 even when
    // a loaded machine delays this thread's wake-up by a quarter of the timeout
    w->every_ns = usec ? (int64_t)usec * 1000 / 4 : 1000000000LL;
    atomic_init(&w->stop, 0);
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

void watchdog_stop(Watchdog* w) {
    if (!w) return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    free(w);
}
