// SPDX-License-Identifier: Apache-2.0
// health_alarm.c -- safe-action share and drops over the last minute (health_alarm.h).
// Thread: the supervising thread. Allocation: none.
#include "daemon/health_alarm.h"

#include <stdio.h>
#include <string.h>

#include "daemon/notify.h"

void health_alarm_init(HealthAlarm* a, double safe_share_limit, long drops_limit) {
    memset(a, 0, sizeof *a);
    a->safe_share_limit = safe_share_limit;
    a->drops_limit = drops_limit;
    a->n = 1, a->head = 1;   // the counters start at zero with the loop
}

int health_alarm_update(HealthAlarm* a, uint64_t actions_out, uint64_t safe_actions,
                        uint64_t drops) {
    a->actions[a->head] = actions_out;
    a->safe[a->head] = safe_actions;
    a->drops[a->head] = drops;
    int newest = a->head;
    a->head = (a->head + 1) % HEALTH_ALARM_WINDOW;
    if (a->n < HEALTH_ALARM_WINDOW) a->n++;
    int oldest = a->n < HEALTH_ALARM_WINDOW ? 0 : a->head;
    uint64_t d_act = a->actions[newest] - a->actions[oldest];
    uint64_t d_safe = a->safe[newest] - a->safe[oldest];
    a->window_drops = a->drops[newest] - a->drops[oldest];
    a->safe_share = d_act >= HEALTH_ALARM_MIN_ACTIONS ? (double)d_safe / (double)d_act : 0.0;
    int flags = 0;
    if (a->safe_share_limit > 0 && d_act >= HEALTH_ALARM_MIN_ACTIONS &&
        a->safe_share > a->safe_share_limit)
        flags |= HEALTH_ALARM_SAFE;
    if (a->drops_limit > 0 && a->window_drops > (uint64_t)a->drops_limit) flags |= HEALTH_ALARM_DROPS;
    int changed = flags != a->flags;
    a->flags = flags;
    int n = 0;
    a->text[0] = '\0';
    int secs = a->n - 1;
    if (flags & HEALTH_ALARM_SAFE)
        n += snprintf(a->text + n, sizeof a->text - (size_t)n,
                      "%.1f%% safe actions over the last %d s (alarm_safe_share %.3g)",
                      100.0 * a->safe_share, secs, a->safe_share_limit);
    if (flags & HEALTH_ALARM_DROPS)
        snprintf(a->text + n, sizeof a->text - (size_t)n,
                 "%s%llu drops and misses over the last %d s (alarm_drops %ld)", n ? "; " : "",
                 (unsigned long long)a->window_drops, secs, a->drops_limit);
    return changed;
}

void health_alarm_poll(HealthAlarm* a, Maacd* d, Ctrl* c) {
    CtrlStats* st = ctrl_stats(c);
    uint64_t drops = atomic_load(&st->transitions_dropped) + atomic_load(&st->misses);
    int was = a->flags;
    int changed = health_alarm_update(a, atomic_load(&st->actions_out),
                                      atomic_load(&st->safe_actions), drops);
    atomic_store(&d->alarm_safe_share, a->safe_share);
    atomic_store(&d->alarm_window_drops, a->window_drops);
    atomic_store(&d->alarm_flags, a->flags);
    snprintf(d->alarm_text, sizeof d->alarm_text, "%s", a->text);
    if (!changed) return;
    if (a->flags) maacd_log(LOG_LV_ERR, "ALARM: %s", a->text);
    else if (was) maacd_log(LOG_LV_NOTICE, "alarm cleared: the last minute is within "
                            "alarm_safe_share and alarm_drops");
}
