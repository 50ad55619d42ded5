// SPDX-License-Identifier: Apache-2.0
// notify.h -- systemd integration and logging: sd_notify READY/WATCHDOG/STATUS/STOPPING,
// the journal when running under systemd, stderr otherwise.
//
// notify_init decides once: when stderr is the journal stream systemd connected
// (JOURNAL_STREAM matches stderr's device:inode), log lines go through
// sd_journal_print with their priority; else to stderr with a UTC timestamp.
// Thread: any non-RT thread (logging formats and may block: never from the control
// loop, which uses counters and the rt.h event ring instead). Allocation: libc's.
#ifndef MAAC_NOTIFY_H
#define MAAC_NOTIFY_H

#include <stdint.h>

enum { LOG_LV_ERR = 3, LOG_LV_WARNING = 4, LOG_LV_NOTICE = 5, LOG_LV_INFO = 6, LOG_LV_DEBUG = 7 };

// Pick the log sink; verbose enables debug lines.
void notify_init(int verbose);
// 1 when started by systemd with a notify socket.
int notify_under_systemd(void);
// Log one line at a syslog priority (LOG_LV_*).
void maacd_log(int level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// sd_notify wrappers (no-ops outside systemd).
void notify_ready(void);
void notify_stopping(void);
void notify_watchdog(void);
void notify_status(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// The watchdog interval systemd asked for in us (0 = no watchdog).
uint64_t notify_watchdog_usec(void);

#endif
