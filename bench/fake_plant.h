// SPDX-License-Identifier: Apache-2.0
// fake_plant.h -- a hopper-sized plant thread for the daemon benchmarks (jitter, swap).
//
// Sends an 11-float observation at a fixed rate over a DEALER socket and drains the
// actions that come back, so the control thread under test sees real traffic without
// a physics step in the way. Header-only; the caller owns the socket and the thread.
#ifndef MAAC_BENCH_FAKE_PLANT_H
#define MAAC_BENCH_FAKE_PLANT_H

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <zmq.h>

#include "daemon/ctrl.h"
#include "daemon/rt.h"
#include "transport/link.h"
#include "transport/wire.h"
#include "daemon/plant_config.h"

typedef struct {
    void* dealer;        // connected to the daemon's plant endpoint (borrowed)
    double hz;           // observation rate
    _Atomic int stop;    // set to end the thread
    long sent;           // observations sent
    long received;       // replies drained
} BenchPlant;

// Thread body: pthread_create(&th, NULL, bench_plant_main, &plant).
static inline void* bench_plant_main(void* arg) {
    BenchPlant* p = arg;
    unsigned char buf[4096], rbuf[4096];
    WireObs o;
    memset(&o, 0, sizeof o);
    o.obs_dim = 11;
    int64_t period = (int64_t)(1e9 / p->hz), next = rt_now_ns();
    uint64_t seq = 0;
    while (!atomic_load(&p->stop)) {
        o.seq = ++seq;
        o.first = seq == 1;
        o.reward = 1;
        for (int i = 0; i < 11; i++) o.obs[i] = sin(0.001 * (double)seq + i);
        int n = wire_encode_obs(buf, sizeof buf, &o);
        if (link_send(p->dealer, buf, (size_t)n, ZMQ_DONTWAIT) == 0) p->sent++;
        while (link_recv(p->dealer, rbuf, sizeof rbuf, ZMQ_DONTWAIT) > 0) p->received++;
        next += period;
        rt_sleep_until(next);
    }
    return NULL;
}

// The plant description the fake plant matches: hopper's sizes, actions in [-1, 1].
static inline PlantInfo bench_plant_info(double dt) {
    PlantInfo plant = {.name = "hopper", .obs_dim = 11, .act_dim = 3, .dt = dt};
    for (int j = 0; j < 3; j++) {
        plant.act_low[j] = -1;
        plant.act_high[j] = 1;
    }
    DaemonConfig dc;   // the model maacd resolves at hello (hopper's built-in reward)
    config_default(&dc);
    (void)plant_config_resolve(&dc, &plant, NULL);
    return plant;
}

#endif
