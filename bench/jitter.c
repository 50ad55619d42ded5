// SPDX-License-Identifier: Apache-2.0
// jitter.c -- bench_jitter: wake-up latency of maacd's control loop.
//
//   bench_jitter [--rate HZ] [--seconds S] [--priority P] [--cpu N]
//                [--mode all|cyclictest|bare|ctrl] [--no-mlock] [--hist FILE]
// all (default): cyclictest (/usr/bin/cyclictest, the floor) at the same rate and
//       priority, then bare, then ctrl, then each p99 as a multiple of cyclictest's.
// bare: the loop skeleton alone (rt_sleep_until on absolute deadlines + rt_hist_add),
//       i.e. exactly what cyclictest measures, through our code.
// ctrl: the real control thread (daemon/ctrl.c, realtime mode) serving a 2 x 64
//       policy to a plant thread that sends an observation every period over inproc
//       ZeroMQ and reads the actions; latency comes from the loop's own histogram.
// Prints min / p50 / p99 / p99.9 / max (us) and deadline misses; --hist writes the
// 1-us histogram ("us count" lines). Never asserts timings.
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench/fake_plant.h"
#include "core/blas_arch.h"
#include "daemon/ctrl.h"
#include "daemon/notify.h"
#include "daemon/rt.h"

static RtHist g_hist;

static void print_summary(const char* name, const RtHist* h, uint64_t misses, double hz) {
    RtHistSummary s;
    rt_hist_summary(h, &s);
    printf("%-10s rate %.0f Hz  samples %llu  min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  "
           "max %.1f us  misses %llu\n",
           name, hz, (unsigned long long)s.count, s.min_ns * 1e-3, s.p50_ns * 1e-3,
           s.p99_ns * 1e-3, s.p999_ns * 1e-3, s.max_ns * 1e-3, (unsigned long long)misses);
}

static void write_hist(const char* path, const RtHist* h) {
    FILE* f = fopen(path, "w");
    if (!f) return;
    for (int i = 0; i < RT_HIST_BINS; i++) {
        uint64_t n = atomic_load(&h->bins[i]);
        if (n) fprintf(f, "%d %llu\n", i, (unsigned long long)n);
    }
    uint64_t of = atomic_load(&h->overflow);
    if (of) fprintf(f, "%d %llu\n", RT_HIST_BINS, (unsigned long long)of);
    fclose(f);
}

//---- cyclictest (the floor) ------------------------------------------------------------

// Run cyclictest with the same rate / priority / duration and read its 1-us histogram
// into h (rt.h quantiles then apply to both alike). 0, or -1 when not available.
static int run_cyclictest(double hz, double seconds, int prio, RtHist* h) {
    const char* exe = "/usr/bin/cyclictest";
    FILE* probe = fopen(exe, "r");
    if (!probe) return -1;
    fclose(probe);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -m -t1 -p %d -i %ld -l %ld -q -h %d 2>&1", exe, prio,
             (long)(1e6 / hz), (long)(seconds * hz), RT_HIST_BINS - 1);   // clock_nanosleep, TIMER_ABSTIME: its defaults
    FILE* f = popen(cmd, "r");
    if (!f) return -1;
    rt_hist_reset(h);
    char line[512];
    long max_us = -1;
    while (fgets(line, sizeof line, f)) {
        long us, n;
        if (sscanf(line, "# Max Latencies: %ld", &us) == 1) max_us = us;
        if (line[0] == '#' || sscanf(line, "%ld %ld", &us, &n) != 2 || n <= 0) continue;
        for (long k = 0; k < n; k++) rt_hist_add(h, us * 1000 + 500);
    }
    int rc = pclose(f);
    if (atomic_load(&h->count) == 0) {
        fprintf(stderr, "cyclictest gave no histogram (exit %d)\n", rc);
        return -1;
    }
    if (max_us >= 0) atomic_store(&h->max_ns, max_us * 1000);   // its exact max (us)
    return 0;
}

//---- bare loop -----------------------------------------------------------------------

static uint64_t run_bare(double hz, double seconds, int prio, int cpu) {
    if (cpu >= 0 && rt_set_affinity(cpu) < 0) fprintf(stderr, "warning: affinity refused\n");
    if (prio > 0 && rt_set_fifo(prio) < 0) fprintf(stderr, "warning: SCHED_FIFO refused\n");
    rt_prefault_stack(256 * 1024);
    rt_hist_reset(&g_hist);
    int64_t period = (int64_t)(1e9 / hz);
    long n = (long)(seconds * hz);
    uint64_t misses = 0;
    int64_t next = rt_now_ns() + period;
    for (long i = 0; i < n; i++) {
        rt_sleep_until(next);
        int64_t wake = rt_now_ns();
        rt_hist_add(&g_hist, wake - next);
        next += period;
        int64_t now = rt_now_ns();
        if (now > next) {
            int64_t skipped = (now - next) / period + 1;
            next += skipped * period;
            misses += (uint64_t)skipped;
        }
    }
    if (prio > 0) rt_set_other();
    return misses;
}

//---- the real control thread -----------------------------------------------------------

static RtHist g_ctrl_hist;

static int run_ctrl(double hz, double seconds, int prio, int cpu, const char* hist_path) {
    void* z = zmq_ctx_new();
    MaacErr err = {""};
    void* router = link_bind(z, ZMQ_ROUTER, "inproc://bench-plant", NULL, &err);
    void* dealer = link_connect(z, ZMQ_DEALER, "inproc://bench-plant", NULL, &err);
    void* pull = link_bind(z, ZMQ_PULL, LINK_LEARNER_INPROC, NULL, &err);
    if (!router || !dealer || !pull) {
        fprintf(stderr, "sockets: %s\n", err.msg);
        return 1;
    }
    PlantInfo plant = bench_plant_info(1.0 / hz);
    SwapSlot slot;
    swap_init(&slot, served_free, served_stamp);
    Rng rng;
    rng_seed(&rng, 1);
    int hidden[2] = {64, 64};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(11, 3, 2, hidden, NN_ACT_TANH, plant.act_low, plant.act_high, &rng);
    swap_publish(&slot, sp, 0, NULL);
    DaemonConfig cfg;
    config_default(&cfg);
    cfg.plant_mode = PLANT_MODE_REALTIME;
    cfg.rate_hz = hz;
    cfg.priority = prio;
    cfg.cpu = cpu;
    cfg.explore = 0;
    Ctrl* c = ctrl_create(&cfg, &plant, z, router, NULL, &slot, &err);
    if (!c) {
        fprintf(stderr, "ctrl: %s\n", err.msg);
        return 1;
    }
    // say hello through the plant socket before the loop owns it
    unsigned char buf[1024];
    WireHello h = {.plant = "hopper", .obs_dim = 11, .act_dim = 3, .dt = 1.0 / hz};
    link_send(dealer, buf, (size_t)wire_encode_hello(buf, sizeof buf, &h), 0);
    ctrl_set_learner_alive(c, 0);
    // the plant thread first: creating a thread (its stack, under mlockall) while the
    // loop runs would be measured as the loop's latency
    BenchPlant p = {.dealer = dealer, .hz = hz};
    atomic_init(&p.stop, 0);
    pthread_t th;
    pthread_create(&th, NULL, bench_plant_main, &p);
    ctrl_start(c);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    ctrl_stop(c);
    atomic_store(&p.stop, 1);
    pthread_join(th, NULL);
    CtrlStats* st = ctrl_stats(c);
    print_summary("ctrl", &st->jitter, atomic_load(&st->misses), hz);
    RtHistSummary cs;
    rt_hist_summary(&st->compute, &cs);
    printf("ctrl     tick work: p50 %.1f  p99 %.1f  max %.1f us; obs %llu, actions %llu "
           "(safe %llu), plant sent %ld, got %ld\n",
           cs.p50_ns * 1e-3, cs.p99_ns * 1e-3, cs.max_ns * 1e-3,
           (unsigned long long)atomic_load(&st->obs_in),
           (unsigned long long)atomic_load(&st->actions_out),
           (unsigned long long)atomic_load(&st->safe_actions), p.sent, p.received);
    if (hist_path) write_hist(hist_path, &st->jitter);
    ctrl_drain_events(c);   // overruns (with their tick) go to stderr
    memcpy((void*)&g_ctrl_hist, (const void*)&st->jitter, sizeof g_ctrl_hist);
    ctrl_free(c);
    swap_done(&slot);
    link_close(dealer);
    link_close(pull);
    zmq_ctx_term(z);
    return 0;
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd would run (core/blas_arch.h)
    double hz = 1000, seconds = 10;
    int prio = 80, cpu = -1, mlock = 1;
    const char* mode = "all";
    const char* hist = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rate") && i + 1 < argc) hz = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--priority") && i + 1 < argc) prio = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) cpu = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "--hist") && i + 1 < argc) hist = argv[++i];
        else if (!strcmp(argv[i], "--no-mlock")) mlock = 0;
        else {
            fprintf(stderr, "usage: bench_jitter [--rate HZ] [--seconds S] [--priority P] "
                            "[--cpu N] [--mode bare|ctrl] [--no-mlock] [--hist FILE]\n");
            return 2;
        }
    }
    notify_init(0);
    if (mlock && rt_lock_memory() < 0) fprintf(stderr, "warning: mlockall refused\n");
    // as cyclictest does (maacd does too when it runs SCHED_FIFO)
    if (rt_hold_cpu_dma_latency() < 0) fprintf(stderr, "note: /dev/cpu_dma_latency not held\n");
    int all = !strcmp(mode, "all");
    static RtHist ct;
    int have_ct = 0;
    if (all || !strcmp(mode, "cyclictest")) {
        have_ct = run_cyclictest(hz, seconds, prio, &ct) == 0;
        if (have_ct) print_summary("cyclictest", &ct, 0, hz);
        else printf("cyclictest  not available (apt install rt-tests): no floor in this run\n");
    }
    RtHistSummary bare_s, ctrl_s, ct_s;
    memset(&bare_s, 0, sizeof bare_s);
    memset(&ctrl_s, 0, sizeof ctrl_s);
    if (all || !strcmp(mode, "bare")) {
        uint64_t misses = run_bare(hz, seconds, prio, cpu);
        print_summary("bare", &g_hist, misses, hz);
        if (hist && !all) write_hist(hist, &g_hist);
        rt_hist_summary(&g_hist, &bare_s);
    }
    if (all || !strcmp(mode, "ctrl")) {
        if (run_ctrl(hz, seconds, prio, cpu, all ? NULL : hist)) return 1;
        rt_hist_summary(&g_ctrl_hist, &ctrl_s);
    }
    if (have_ct && all) {
        rt_hist_summary(&ct, &ct_s);
        double f = ct_s.p99_ns > 0 ? 1.0 / (double)ct_s.p99_ns : 0;
        printf("p99 vs cyclictest: bare %.2fx, ctrl %.2fx (goal <= 1.5x); p99.9: bare %.2fx, "
               "ctrl %.2fx\n",
               bare_s.p99_ns * f, ctrl_s.p99_ns * f,
               ct_s.p999_ns ? (double)bare_s.p999_ns / ct_s.p999_ns : 0,
               ct_s.p999_ns ? (double)ctrl_s.p999_ns / ct_s.p999_ns : 0);
    }
    return 0;
}
