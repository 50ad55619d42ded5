// SPDX-License-Identifier: Apache-2.0
// notify.c -- sd_notify and journal/stderr logging for maacd (see notify.h).
//
// Thread: non-RT threads only. Allocation: whatever libsystemd and stdio do.
#include "daemon/notify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int use_journal;
static int log_verbose;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

// systemd's recipe: JOURNAL_STREAM holds "device:inode" of the journal stream that
// stderr was connected to; only when stderr still is that stream are we logging to the
// journal (a child with redirected stderr inherits the variable but not the stream).
static int stderr_is_journal(void) {
    const char* js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void notify_init(int verbose) {
    log_verbose = verbose;
    use_journal = stderr_is_journal();
}

int notify_under_systemd(void) {
    return getenv("NOTIFY_SOCKET") != NULL;
}

void maacd_log(int level, const char* fmt, ...) {
    if (level >= LOG_LV_DEBUG && !log_verbose) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (use_journal) {
        sd_journal_print(level, "%s", msg);
        return;
    }
    static const char* names[] = {"emerg", "alert", "crit", "error", "warning", "notice",
                                  "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%02d:%02d:%02d.%03ld maacd %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, names[level & 7], msg);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

void notify_ready(void) {
    (void)sd_notify(0, "READY=1");
}

void notify_stopping(void) {
    (void)sd_notify(0, "STOPPING=1");
}

void notify_watchdog(void) {
    (void)sd_notify(0, "WATCHDOG=1");
}

void notify_status(const char* fmt, ...) {
    char msg[512];
    int n = snprintf(msg, sizeof msg, "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    va_end(ap);
    (void)sd_notify(0, msg);
}

uint64_t notify_watchdog_usec(void) {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) return usec;
    return 0;
}
