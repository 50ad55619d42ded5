// SPDX-License-Identifier: Apache-2.0
// swap.c -- bench_swap: policy swap latency in maacd.
//
// 1. file swap: what `maacctl swap FILE` costs off the control thread
//    (policy_load + served_validate of a 2 x 256 hopper policy).
// 2. pickup: a real control thread runs realtime at --rate Hz (with a plant thread);
//    the main thread publishes a new policy every 20 ms and spins until the loop
//    reports serving it: publish -> first tick using it. Also reports ticks missed
//    across all swaps (should be 0). Prints figures only.
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

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return x < y ? -1 : x > y;
}

static ServedPolicy* make(const PlantInfo* plant, int width, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    int hidden[2] = {width, width};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(plant->obs_dim, plant->act_dim, 2, hidden, NN_ACT_TANH, plant->act_low,
                           plant->act_high, &rng);
    return sp;
}

int main(int argc, char** argv) {
    blas_arch_auto(argv);   // the kernels maacd would run (core/blas_arch.h)
    double hz = argc > 1 ? atof(argv[1]) : 1000;
    int n_swaps = argc > 2 ? atoi(argv[2]) : 100;
    notify_init(0);
    PlantInfo plant = bench_plant_info(0.008);
    // 1. file load + validate
    MaacErr err = {""};
    ServedPolicy* sp = make(&plant, 256, 7);
    const char* path = "/tmp/bench_swap_policy.ckpt";
    policy_save(sp->pi, path, &err);
    served_free(sp);
    const int R = 50;
    int64_t t[50];
    for (int i = 0; i < R; i++) {
        int64_t t0 = rt_now_ns();
        ServedPolicy* q = calloc(1, sizeof *q);
        q->pi = policy_load(path, &err);
        int ok = q->pi && served_validate(q, &plant, &err) == 0;
        t[i] = rt_now_ns() - t0;
        served_free(q);
        if (!ok) {
            fprintf(stderr, "load failed: %s\n", err.msg);
            return 1;
        }
    }
    qsort(t, R, sizeof t[0], cmp_i64);
    printf("swap file (2x256 hopper policy): load+validate p50 %.1f us, max %.1f us (%d runs)\n",
           t[R / 2] * 1e-3, t[R - 1] * 1e-3, R);
    remove(path);

    // 2. pickup latency in a running loop
    void* z = zmq_ctx_new();
    void* router = link_bind(z, ZMQ_ROUTER, "inproc://bench-swap", NULL, &err);
    void* dealer = link_connect(z, ZMQ_DEALER, "inproc://bench-swap", NULL, &err);
    void* pull = link_bind(z, ZMQ_PULL, LINK_LEARNER_INPROC, NULL, &err);
    SwapSlot slot;
    swap_init(&slot, served_free, served_stamp);
    swap_publish(&slot, make(&plant, 64, 1), 0, NULL);
    DaemonConfig cfg;
    config_default(&cfg);
    cfg.plant_mode = PLANT_MODE_REALTIME;
    cfg.rate_hz = hz;
    cfg.explore = 0;
    Ctrl* c = ctrl_create(&cfg, &plant, z, router, NULL, &slot, &err);
    if (!c) {
        fprintf(stderr, "ctrl: %s\n", err.msg);
        return 1;
    }
    unsigned char buf[1024];
    WireHello h = {.plant = "hopper", .obs_dim = 11, .act_dim = 3, .dt = 0.008};
    link_send(dealer, buf, (size_t)wire_encode_hello(buf, sizeof buf, &h), 0);
    ctrl_start(c);
    BenchPlant p = {.dealer = dealer, .hz = hz};
    atomic_init(&p.stop, 0);
    pthread_t th;
    pthread_create(&th, NULL, bench_plant_main, &p);
    struct timespec settle = {0, 200 * 1000 * 1000};
    nanosleep(&settle, NULL);
    CtrlStats* st = ctrl_stats(c);
    uint64_t misses0 = atomic_load(&st->misses), ticks0 = atomic_load(&st->ticks);
    int64_t* lat = calloc((size_t)n_swaps, sizeof(int64_t));
    int64_t pub_max = 0;
    for (int i = 0; i < n_swaps; i++) {
        ServedPolicy* q = make(&plant, 64, 100 + (uint64_t)i);
        uint64_t v;
        int64_t t0 = rt_now_ns();
        swap_publish(&slot, q, 0, &v);
        int64_t t1 = rt_now_ns();
        if (t1 - t0 > pub_max) pub_max = t1 - t0;
        while (atomic_load(&st->policy_version) != v) {}
        lat[i] = rt_now_ns() - t0;
        struct timespec gap = {0, 20 * 1000 * 1000};
        nanosleep(&gap, NULL);
    }
    uint64_t misses = atomic_load(&st->misses) - misses0, ticks = atomic_load(&st->ticks) - ticks0;
    ctrl_stop(c);
    atomic_store(&p.stop, 1);
    pthread_join(th, NULL);
    qsort(lat, (size_t)n_swaps, sizeof lat[0], cmp_i64);
    printf("swap pickup at %.0f Hz: publish -> first tick serving it p50 %.1f us, p99 %.1f us, "
           "max %.1f us (period %.1f us); swap_publish itself max %.1f us; %d swaps over %llu "
           "ticks, %llu deadline misses\n",
           hz, lat[n_swaps / 2] * 1e-3, lat[(n_swaps * 99) / 100] * 1e-3, lat[n_swaps - 1] * 1e-3,
           1e6 / hz, pub_max * 1e-3, n_swaps, (unsigned long long)ticks,
           (unsigned long long)misses);
    free(lat);
    ctrl_free(c);
    swap_done(&slot);
    link_close(dealer);
    link_close(pull);
    zmq_ctx_term(z);
    return 0;
}
