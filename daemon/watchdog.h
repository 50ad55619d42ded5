// SPDX-License-Identifier: Apache-2.0
// watchdog.h -- systemd's WATCHDOG=1 from a thread of its own.
//
// The thread pings every WatchdogSec/4 (1 s without a watchdog, harmless) while the
// control loop is healthy (ctrl_healthy), and never waits on anything else: no save,
// model fit or learner request can hold the ping back. An unhealthy loop stops the
// pings and is logged (rate-limited to one line per 10 s).
// Thread: its own. Allocation: none after start.
#ifndef MAAC_WATCHDOG_H
#define MAAC_WATCHDOG_H

#include "daemon/ctrl.h"

typedef struct Watchdog Watchdog;

// Start pinging for c. NULL when the thread could not start.
Watchdog* watchdog_start(Ctrl* c);
// Stop and join. Nullable: w.
void watchdog_stop(Watchdog* w);

#endif
