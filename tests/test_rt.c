// SPDX-License-Identifier: Apache-2.0
// test_rt.c -- daemon/rt.c: jitter histogram quantiles, event ring, absolute sleeps,
// and that refused privileges come back as -errno (never a crash or exit).
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "daemon/rt.h"
#include "test_util.h"

static RtHist h;   // large: static
static RtRing ring;

static void test_rt_hist_quantiles_exact_on_known_data(void) {
    rt_hist_reset(&h);
    CHECK(rt_hist_quantile(&h, 0.5) == 0, "empty histogram quantile is 0");
    // 1000 samples: 1..1000 us (+0.5 us so each lands inside its bin)
    for (int i = 1; i <= 1000; i++) rt_hist_add(&h, (int64_t)i * 1000 + 500);
    RtHistSummary s;
    rt_hist_summary(&h, &s);
    CHECK(s.count == 1000, "count %llu", (unsigned long long)s.count);
    CHECK(s.min_ns == 1500, "min %lld", (long long)s.min_ns);
    CHECK(s.max_ns == 1000500, "max %lld", (long long)s.max_ns);
    // nearest rank: p50 is sample 500 = 500.5 us, reported as its bin's upper edge 501 us
    CHECK(s.p50_ns == 501000, "p50 %lld", (long long)s.p50_ns);
    CHECK(s.p99_ns == 991000, "p99 %lld", (long long)s.p99_ns);
    CHECK(s.p999_ns == 1000000, "p99.9 (sample 999 -> bin edge) %lld", (long long)s.p999_ns);
    CHECK_NEAR(s.mean_ns, 501000, 1, "mean");
}

static void test_rt_hist_overflow_keeps_exact_max(void) {
    rt_hist_reset(&h);
    for (int i = 0; i < 99; i++) rt_hist_add(&h, 2000);
    rt_hist_add(&h, (int64_t)RT_HIST_BINS * 1000 * 3);   // 30 ms: overflow bin
    rt_hist_add(&h, -5);                                  // clamps to 0
    CHECK(atomic_load(&h.overflow) == 1, "overflow counted");
    CHECK(rt_hist_quantile(&h, 1.0) == (int64_t)RT_HIST_BINS * 3000, "max exact");
    CHECK(rt_hist_quantile(&h, 0.5) == 3000, "p50 %lld", (long long)rt_hist_quantile(&h, 0.5));
    CHECK(atomic_load(&h.min_ns) == 0, "negative clamps to 0");
}

static void test_rt_ring_fifo_and_drop_when_full(void) {
    rt_ring_reset(&ring);
    RtEvent e;
    CHECK(rt_ring_pop(&ring, &e) == 0, "empty ring");
    for (int i = 0; i < RT_RING_SIZE + 10; i++) rt_ring_push(&ring, (uint64_t)i, 7, i, i * 0.5);
    CHECK(atomic_load(&ring.dropped) == 10, "dropped %llu",
          (unsigned long long)atomic_load(&ring.dropped));
    int ok = 1;
    for (int i = 0; i < RT_RING_SIZE; i++) {
        if (!rt_ring_pop(&ring, &e) || e.tick != (uint64_t)i || e.arg != i || e.code != 7) ok = 0;
    }
    CHECK(ok, "events come out in order");
    CHECK(rt_ring_pop(&ring, &e) == 0, "drained");
    // wrap-around after draining
    rt_ring_push(&ring, 42, 1, 2, 3.0);
    CHECK(rt_ring_pop(&ring, &e) == 1 && e.tick == 42 && e.value == 3.0, "wraps");
}

static void test_rt_sleep_until_absolute_deadline(void) {
    int64_t t0 = rt_now_ns();
    int64_t deadline = t0 + 2000000;   // 2 ms
    CHECK(rt_sleep_until(deadline) == 0, "sleep ok");
    CHECK(rt_now_ns() >= deadline, "woke at or after the deadline");
    // a deadline in the past returns at once
    CHECK(rt_sleep_until(t0 - 1000) == 0, "past deadline");
    struct timespec ts = rt_ts_from_ns(1234567890123LL);
    CHECK(ts.tv_sec == 1234 && ts.tv_nsec == 567890123, "ts_from_ns");
    CHECK(rt_ns_from_ts(&ts) == 1234567890123LL, "ns_from_ts");
}

static void test_rt_privileges_return_errno(void) {
    CHECK(rt_set_fifo(0) == -EINVAL, "prio 0 rejected");
    CHECK(rt_set_fifo(100) == -EINVAL, "prio 100 rejected");
    CHECK(rt_set_affinity(-1) == -EINVAL, "cpu -1 rejected");
    CHECK(rt_set_affinity(CPU_SETSIZE + 5) == -EINVAL, "cpu too large rejected");
    // allowed or refused (containers, no CAP_SYS_NICE): either way a clean return
    int r = rt_set_fifo(10);
    CHECK(r == 0 || r == -EPERM || r == -EINVAL, "fifo: %d", r);
    CHECK(rt_set_other() == 0, "back to SCHED_OTHER");
    r = rt_set_affinity(0);
    CHECK(r == 0 || r == -EINVAL || r == -EPERM, "affinity cpu0: %d", r);
    rt_prefault_stack(128 * 1024);
    CHECK(1, "prefault returns");
}

int main(void) {
    test_rt_hist_quantiles_exact_on_known_data();
    test_rt_hist_overflow_keeps_exact_max();
    test_rt_ring_fifo_and_drop_when_full();
    test_rt_sleep_until_absolute_deadline();
    test_rt_privileges_return_errno();
    return test_summary("test_rt");
}
