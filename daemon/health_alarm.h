// SPDX-License-Identifier: Apache-2.0
// health_alarm.h -- an alarm when the loop serves too many safe actions or drops too
// much over the last minute ([control] alarm_safe_share, alarm_drops).
//
// Fed once per second with the loop's cumulative counters; keeps 61 samples, so the
// window is the last 60 s (less just after start). The safe-action share needs at
// least HEALTH_ALARM_MIN_ACTIONS actions in the window to count (a plant that just
// connected is not an alarm). "Drops" are transitions dropped plus deadline misses.
// On a change the caller logs the text, puts it in sd_notify STATUS= and the
// `alarm` flag of maacctl status/stats.
// Thread: the supervising (main) thread. Allocation: none.
#ifndef MAAC_HEALTH_ALARM_H
#define MAAC_HEALTH_ALARM_H

#include <stdint.h>

#include "daemon/maacd.h"

#define HEALTH_ALARM_WINDOW 61
#define HEALTH_ALARM_MIN_ACTIONS 100

enum { HEALTH_ALARM_SAFE = 1, HEALTH_ALARM_DROPS = 2 };

typedef struct {
    double safe_share_limit;             // 0 = off
    long drops_limit;                    // 0 = off
    uint64_t actions[HEALTH_ALARM_WINDOW], safe[HEALTH_ALARM_WINDOW], drops[HEALTH_ALARM_WINDOW];
    int n, head;                         // samples held, next slot
    int flags;                           // HEALTH_ALARM_* now raised
    double safe_share;                   // over the window (0 when too few actions)
    uint64_t window_drops;               // over the window
    char text[160];                      // what is raised ("" when nothing)
} HealthAlarm;

// Start with one all-zero sample (the loop's counters start at zero).
void health_alarm_init(HealthAlarm* a, double safe_share_limit, long drops_limit);
// Add one sample (cumulative counters). Returns 1 when the raised flags changed.
int health_alarm_update(HealthAlarm* a, uint64_t actions_out, uint64_t safe_actions,
                        uint64_t drops);

// The daemon's once-a-second call: sample c's counters, log a raised / cleared alarm,
// publish it in d (alarm_flags, alarm_safe_share, alarm_window_drops, alarm_text).
void health_alarm_poll(HealthAlarm* a, Maacd* d, Ctrl* c);

#endif
