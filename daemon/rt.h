// SPDX-License-Identifier: Apache-2.0
// rt.h -- real-time plumbing: clocks, absolute sleeps, mlockall, CPU affinity,
// SCHED_FIFO, stack prefaulting, the loop-jitter histogram and the event ring.
//
// Follows cyclictest (rt-tests): absolute CLOCK_MONOTONIC deadlines slept with
// clock_nanosleep(TIMER_ABSTIME), latency = wake-up time - deadline recorded into
// preallocated single-writer statistics, events into a power-of-two ring that a
// non-RT thread drains. Each privileged step (mlockall, affinity, SCHED_FIFO)
// returns -errno so the caller can warn and continue in a degraded mode.
// Thread: RtHist and RtRing have ONE writer (the control thread) and any number of
// readers (relaxed atomics: a reader may see a histogram a few counts behind).
// Allocation: none (every structure is embedded by its owner).
#ifndef MAAC_RT_H
#define MAAC_RT_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

//---- clocks --------------------------------------------------------------------
// Nanoseconds on CLOCK_MONOTONIC.
int64_t rt_now_ns(void);
// A CLOCK_REALTIME deadline ms from now (for pthread_cond_timedwait; non-RT threads).
struct timespec;
void rt_deadline_in(struct timespec* ts, int ms);
// Nanoseconds on CLOCK_REALTIME (wire timestamps).
int64_t rt_wall_ns(void);
// timespec <-> nanoseconds.
struct timespec rt_ts_from_ns(int64_t ns);
int64_t rt_ns_from_ts(const struct timespec* ts);
// Sleep until the absolute CLOCK_MONOTONIC time deadline_ns (TIMER_ABSTIME),
// retrying on EINTR. 0 or -errno (clock_nanosleep returns its error, sets no errno).
int rt_sleep_until(int64_t deadline_ns);

//---- privileges (each: 0 or -errno; the caller warns and degrades) -------------
// mlockall(MCL_CURRENT | MCL_FUTURE).
int rt_lock_memory(void);
// Pin the calling thread to cpu (>= 0).
int rt_set_affinity(int cpu);
// Make the calling thread SCHED_FIFO at priority prio (1..99).
int rt_set_fifo(int prio);
// Restore SCHED_OTHER for the calling thread.
int rt_set_other(void);
// Ask the kernel for zero CPU wake-up latency (no deep C-states) for as long as the
// returned fd stays open, as cyclictest does (Documentation/power/pm_qos_interface).
// Returns the fd, or -errno (no /dev/cpu_dma_latency, not permitted).
int rt_hold_cpu_dma_latency(void);
// Touch bytes of stack so later ticks take no page faults.
void rt_prefault_stack(long bytes);

//---- jitter histogram ------------------------------------------------------------
// 1 us bins up to RT_HIST_BINS us; later values go to the overflow count (max is exact).
#define RT_HIST_BINS 10000

typedef struct {
    _Atomic uint64_t bins[RT_HIST_BINS];   // (RT_HIST_BINS) counts per 1 us of latency
    _Atomic uint64_t overflow;             // samples >= RT_HIST_BINS us
    _Atomic uint64_t count;                // samples
    _Atomic int64_t min_ns, max_ns;        // extremes (ns)
    _Atomic int64_t sum_ns;                // for the mean
} RtHist;

// Zero a histogram (before the writer starts).
void rt_hist_reset(RtHist* h);
// Record one latency (ns, negative clamps to 0). Writer only; no allocation.
void rt_hist_add(RtHist* h, int64_t ns);
// Quantile q in [0, 1] in ns (bin upper edge; the exact max for the top). 0 if empty.
int64_t rt_hist_quantile(const RtHist* h, double q);

typedef struct {
    uint64_t count;
    int64_t min_ns, max_ns, mean_ns, p50_ns, p99_ns, p999_ns;
} RtHistSummary;
// Summarise a histogram (any thread).
void rt_hist_summary(const RtHist* h, RtHistSummary* ret);

//---- event ring (control thread -> logger) --------------------------------------
#define RT_RING_SIZE 1024              // power of two
#define RT_RING_MASK (RT_RING_SIZE - 1)

typedef struct {
    uint64_t tick;      // tick the event happened on
    int32_t code;       // what happened (ctrl.h CTRL_EV_*)
    int32_t arg;        // detail (errno, sequence gap, ...)
    double value;       // detail (return of an episode, latency in us, ...)
} RtEvent;

typedef struct {
    RtEvent ev[RT_RING_SIZE];     // (RT_RING_SIZE) slots, indexed head & RT_RING_MASK
    _Atomic uint64_t head;        // events ever written (writer)
    _Atomic uint64_t tail;        // events ever read (reader)
    _Atomic uint64_t dropped;     // events lost because the ring was full
} RtRing;

// Empty the ring (before the writer starts).
void rt_ring_reset(RtRing* r);
// Append an event; when full the event is dropped and counted. Writer only.
void rt_ring_push(RtRing* r, uint64_t tick, int32_t code, int32_t arg, double value);
// Take the oldest event; 1 when one was taken, 0 when empty. One reader only.
int rt_ring_pop(RtRing* r, RtEvent* ret);

#endif
