// SPDX-License-Identifier: Apache-2.0
// saver.c -- the background checkpoint writer (see saver.h).
//
// State under one mutex: `pending` (the next write), `submitted` (last ticket given),
// `done` (tickets up to this are finished) and the last result. The thread takes the
// pending job, writes it with the lock released, then publishes the result and wakes
// every waiter. A waiting job that is replaced keeps its ticket number range covered:
// tickets are increasing, and finishing ticket n finishes every ticket <= n.
// Thread: the saver thread + callers. Allocation: the job buffers (callers').
#include "daemon/saver.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ckpt.h"
#include "daemon/config.h"
#include "daemon/notify.h"

typedef struct {
    char path[CFG_STR + 64];
    char* buf;
    size_t len;
    uint64_t ticket;
} SaveJob;

struct Saver {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;       // the thread: a job is pending or stop
    pthread_cond_t finished;   // waiters: done advanced
    SaveJob pending;           // buf NULL: none
    uint64_t submitted, done;
    int last_result;
    char last_err[MAAC_ERR_LEN];
    uint64_t written, failed;
    int stop;
};

static void* saver_main(void* arg) {
    Saver* s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->pending.buf && !s->stop) pthread_cond_wait(&s->wake, &s->lock);
        if (!s->pending.buf) break;   // stop with nothing left
        SaveJob job = s->pending;
        s->pending.buf = NULL;
        pthread_mutex_unlock(&s->lock);
        MaacErr err;
        err.msg[0] = 0;
        int r = maac_write_atomic(job.path, job.buf, job.len, &err);
        free(job.buf);
        if (r < 0) maacd_log(LOG_LV_ERR, "checkpoint %s not written: %s", job.path, err.msg);
        pthread_mutex_lock(&s->lock);
        s->done = job.ticket;
        s->last_result = r;
        snprintf(s->last_err, sizeof s->last_err, "%s", err.msg);
        if (r < 0) s->failed++;
        else s->written++;
        pthread_cond_broadcast(&s->finished);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

Saver* saver_create(void) {
    Saver* s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->finished, NULL);
    if (pthread_create(&s->thread, NULL, saver_main, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        pthread_cond_destroy(&s->finished);
        free(s);
        return NULL;
    }
    return s;
}

void saver_free(Saver* s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    free(s->pending.buf);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->finished);
    free(s);
}

uint64_t saver_submit(Saver* s, const char* path, char* buf, size_t len) {
    if (!buf) return 0;
    pthread_mutex_lock(&s->lock);
    free(s->pending.buf);   // superseded by this newer state
    snprintf(s->pending.path, sizeof s->pending.path, "%s", path);
    s->pending.buf = buf;
    s->pending.len = len;
    s->pending.ticket = ++s->submitted;
    uint64_t ticket = s->submitted;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return ticket;
}

static void deadline_in(struct timespec* ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int saver_wait(Saver* s, uint64_t ticket, int timeout_ms, int* ret_result, MaacErr* reterr) {
    struct timespec until;
    deadline_in(&until, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&s->lock);
    int r = 0;
    while (s->done < ticket && r == 0 && timeout_ms > 0)
        r = pthread_cond_timedwait(&s->finished, &s->lock, &until);
    if (s->done < ticket) {
        pthread_mutex_unlock(&s->lock);
        return -ETIMEDOUT;
    }
    *ret_result = s->last_result;
    if (s->last_result < 0) maac_err(reterr, s->last_result, "%s", s->last_err);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void saver_counts(Saver* s, uint64_t* ret_written, uint64_t* ret_failed) {
    pthread_mutex_lock(&s->lock);
    *ret_written = s->written;
    *ret_failed = s->failed;
    pthread_mutex_unlock(&s->lock);
}
