// SPDX-License-Identifier: Apache-2.0
// rt.c -- real-time plumbing: clocks, absolute sleeps, privileges, jitter histogram,
// event ring.
//
// See rt.h. The histogram and ring are written by one thread with relaxed
// load + store pairs (no read-modify-write needed with a single writer) so a
// tick costs a handful of plain stores; readers may lag by a few samples.
// Thread: see rt.h. Allocation: none.
#include "daemon/rt.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define RLX memory_order_relaxed

//---- clocks --------------------------------------------------------------------

int64_t rt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return rt_ns_from_ts(&ts);
}

int64_t rt_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return rt_ns_from_ts(&ts);
}

struct timespec rt_ts_from_ns(int64_t ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

int64_t rt_ns_from_ts(const struct timespec* ts) {
    return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int rt_sleep_until(int64_t deadline_ns) {
    struct timespec ts = rt_ts_from_ns(deadline_ns);
    for (;;) {
        int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (r == 0) return 0;
        if (r != EINTR) return -r;
    }
}

//---- privileges ----------------------------------------------------------------

int rt_lock_memory(void) {
    if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) return -errno;
    return 0;
}

int rt_set_affinity(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int rt_set_fifo(int prio) {
    if (prio < 1 || prio > 99) return -EINVAL;
    struct sched_param sp = {.sched_priority = prio};
    return -pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

int rt_set_other(void) {
    struct sched_param sp = {.sched_priority = 0};
    return -pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}

int rt_hold_cpu_dma_latency(void) {
    int fd = open("/dev/cpu_dma_latency", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -errno;
    int32_t zero = 0;
    if (write(fd, &zero, sizeof zero) != (ssize_t)sizeof zero) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

void rt_prefault_stack(long bytes) {
    if (bytes <= 0 || bytes > (1L << 20)) bytes = 64 * 1024;
    unsigned char buf[1 << 20];
    for (long i = 0; i < bytes; i += 4096) ((volatile unsigned char*)buf)[i] = 0;
    __asm__ __volatile__("" : : "r"(buf) : "memory");   // keep the writes
}

//---- jitter histogram ----------------------------------------------------------

void rt_hist_reset(RtHist* h) {
    for (int i = 0; i < RT_HIST_BINS; i++) atomic_store_explicit(&h->bins[i], 0, RLX);
    atomic_store_explicit(&h->overflow, 0, RLX);
    atomic_store_explicit(&h->count, 0, RLX);
    atomic_store_explicit(&h->min_ns, INT64_MAX, RLX);
    atomic_store_explicit(&h->max_ns, 0, RLX);
    atomic_store_explicit(&h->sum_ns, 0, RLX);
}

static inline void inc64(_Atomic uint64_t* a) {
    atomic_store_explicit(a, atomic_load_explicit(a, RLX) + 1, RLX);
}

void rt_hist_add(RtHist* h, int64_t ns) {
    if (ns < 0) ns = 0;
    int64_t us = ns / 1000;
    if (us < RT_HIST_BINS) inc64(&h->bins[us]);
    else inc64(&h->overflow);
    if (ns < atomic_load_explicit(&h->min_ns, RLX)) atomic_store_explicit(&h->min_ns, ns, RLX);
    if (ns > atomic_load_explicit(&h->max_ns, RLX)) atomic_store_explicit(&h->max_ns, ns, RLX);
    atomic_store_explicit(&h->sum_ns, atomic_load_explicit(&h->sum_ns, RLX) + ns, RLX);
    // count last: a reader that sees count n sees at least n samples' bins (release)
    atomic_store_explicit(&h->count, atomic_load_explicit(&h->count, RLX) + 1,
                          memory_order_release);
}

int64_t rt_hist_quantile(const RtHist* h, double q) {
    uint64_t n = atomic_load_explicit(&h->count, memory_order_acquire);
    if (n == 0) return 0;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    int64_t max_ns = atomic_load_explicit(&h->max_ns, RLX);
    // rank of the sample at quantile q (1-based, nearest rank)
    uint64_t rank = (uint64_t)(q * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank >= n) return max_ns;
    uint64_t seen = 0;
    for (int i = 0; i < RT_HIST_BINS; i++) {
        seen += atomic_load_explicit(&h->bins[i], RLX);
        if (seen >= rank) {
            int64_t edge = (int64_t)(i + 1) * 1000;
            return edge < max_ns ? edge : max_ns;
        }
    }
    return max_ns;
}

void rt_hist_summary(const RtHist* h, RtHistSummary* ret) {
    memset(ret, 0, sizeof *ret);
    ret->count = atomic_load_explicit(&h->count, memory_order_acquire);
    if (ret->count == 0) return;
    ret->min_ns = atomic_load_explicit(&h->min_ns, RLX);
    ret->max_ns = atomic_load_explicit(&h->max_ns, RLX);
    ret->mean_ns = atomic_load_explicit(&h->sum_ns, RLX) / (int64_t)ret->count;
    ret->p50_ns = rt_hist_quantile(h, 0.50);
    ret->p99_ns = rt_hist_quantile(h, 0.99);
    ret->p999_ns = rt_hist_quantile(h, 0.999);
}

//---- event ring ----------------------------------------------------------------

void rt_ring_reset(RtRing* r) {
    memset(r->ev, 0, sizeof r->ev);
    atomic_store_explicit(&r->head, 0, RLX);
    atomic_store_explicit(&r->tail, 0, RLX);
    atomic_store_explicit(&r->dropped, 0, RLX);
}

void rt_ring_push(RtRing* r, uint64_t tick, int32_t code, int32_t arg, double value) {
    uint64_t head = atomic_load_explicit(&r->head, RLX);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail >= RT_RING_SIZE) {
        inc64(&r->dropped);
        return;
    }
    RtEvent* e = &r->ev[head & RT_RING_MASK];
    e->tick = tick;
    e->code = code;
    e->arg = arg;
    e->value = value;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

int rt_ring_pop(RtRing* r, RtEvent* ret) {
    uint64_t tail = atomic_load_explicit(&r->tail, RLX);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail == head) return 0;
    *ret = r->ev[tail & RT_RING_MASK];
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return 1;
}

void rt_deadline_in(struct timespec* ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}
