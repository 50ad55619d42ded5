// SPDX-License-Identifier: Apache-2.0
// test_ctrl_noalloc.c -- the control step allocates nothing: linked with
// -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free, the wrappers count
// every call made while ctrl_step runs, over thousands of ticks in lock-step and
// realtime modes, with good observations, episode ends, bad messages (NaN, wrong
// size, malformed, out-of-order) and a policy publication mid-run; and in MPC mode
// (cem_plan with the bundle's preallocated CemWork); with the safety limits on
// (observation bounds, action rate limit).
// Scope: --wrap sees our objects and the statically linked core/transport code; the
// shared libzmq may allocate inside zmq_send for messages over 33 bytes (its own
// message pool, outside our control; docs/daemon.md).
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "daemon/ctrl.h"
#include "test_util.h"
#include "daemon/plant_config.h"

static _Atomic int counting;
static _Atomic long n_alloc;

void* __real_malloc(size_t n);
void* __real_calloc(size_t n, size_t m);
void* __real_realloc(void* p, size_t n);
void __real_free(void* p);
void* __wrap_malloc(size_t n) {
    if (atomic_load(&counting)) atomic_fetch_add(&n_alloc, 1);
    return __real_malloc(n);
}
void* __wrap_calloc(size_t n, size_t m) {
    if (atomic_load(&counting)) atomic_fetch_add(&n_alloc, 1);
    return __real_calloc(n, m);
}
void* __wrap_realloc(void* p, size_t n) {
    if (atomic_load(&counting)) atomic_fetch_add(&n_alloc, 1);
    return __real_realloc(p, n);
}
void __wrap_free(void* p) {
    if (p && atomic_load(&counting)) atomic_fetch_add(&n_alloc, 1);
    __real_free(p);
}

#define S 11
#define A 3

static ServedPolicy* make_policy(uint64_t seed, const PlantInfo* plant) {
    Rng rng;
    rng_seed(&rng, seed);
    int hidden[2] = {64, 64};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(S, A, 2, hidden, NN_ACT_TANH, plant->act_low, plant->act_high, &rng);
    return sp;
}

// An MPC bundle: frozen ensemble + twin Q + CEM work (small, so the test stays fast).
static ServedPolicy* make_mpc(uint64_t seed, const PlantInfo* plant) {
    ServedPolicy* sp = make_policy(seed, plant);
    Rng rng;
    rng_seed(&rng, seed + 100);
    int qh[2] = {32, 32};
    sp->ens = ens_create(S, A, 3, 2, 32, NN_ACT_SWISH, 0, &rng);
    sp->qf = qf_create(S, A, 2, qh, NN_ACT_RELU, &rng);
    cem_config_default(&sp->cem_cfg);
    sp->cem_cfg.population = 32;
    sp->cem_cfg.n_elites = 4;
    sp->cem_cfg.iterations = 2;
    sp->cem_cfg.horizon = 3;
    sp->cem = cem_work_create(&sp->cem_cfg, sp->ens, sp->pi, sp->qf);
    return sp;
}

static void run(PlantMode mode, int mpc) {
    void* z = zmq_ctx_new();
    MaacErr err = {""};
    void* router = link_bind(z, ZMQ_ROUTER, "inproc://noalloc-plant", NULL, &err);
    LinkOpts lo;
    link_opts_default(&lo);
    lo.rcvhwm = 100000;
    void* pull = link_bind(z, ZMQ_PULL, LINK_LEARNER_INPROC, &lo, &err);
    void* dealer = link_connect(z, ZMQ_DEALER, "inproc://noalloc-plant", NULL, &err);
    CHECK(router && pull && dealer, "sockets: %s", err.msg);
    PlantInfo plant = {.name = "hopper", .obs_dim = S, .act_dim = A, .dt = 0.008};
    for (int j = 0; j < A; j++) {
        plant.act_low[j] = -1;
        plant.act_high[j] = 1;
    }
    SwapSlot slot;
    swap_init(&slot, served_free, served_stamp);
    swap_publish(&slot, mpc ? make_mpc(1, &plant) : make_policy(1, &plant), 0, NULL);
    DaemonConfig cfg;
    config_default(&cfg);
    // safety limits on: observation bounds (obs[0] > 0.99 about 5% of ticks) and a rate limit
    snprintf(cfg.obs_max, sizeof cfg.obs_max, "0.99, none, none, none, none, none, none, none, "
             "none, none, none");
    cfg.max_action_change = 0.5;
    CHECK(plant_config_resolve(&cfg, &plant, &err) == 0, "plant model: %s", err.msg);
    cfg.plant_mode = mode;
    cfg.rate_hz = 1000;
    cfg.stale_ms = 1e6;   // never stale here: each tick answers
    Ctrl* c = ctrl_create(&cfg, &plant, z, router, NULL, &slot, &err);
    CHECK(c != NULL, "ctrl_create: %s", err.msg);
    if (!c) return;
    ctrl_set_learner_alive(c, 1);
    ctrl_set_explore(c, 1, 20);   // 20 uniform-random actions, then policy samples
    if (mpc) ctrl_set_act_mode(c, ACT_MODE_MPC);
    unsigned char buf[4096], rbuf[65536];
    WireHello h = {.plant = "hopper", .obs_dim = S, .act_dim = A, .dt = 0.008};
    int n = wire_encode_hello(buf, sizeof buf, &h);
    link_send(dealer, buf, n, 0);
    ctrl_step(c, rt_now_ns());
    n = link_recv(dealer, rbuf, sizeof rbuf, 0);
    WireMsg* m = calloc(1, sizeof *m);
    CHECK(n > 0 && wire_decode(rbuf, n, 0, 0, m, NULL) == 0 && m->type == WIRE_MSG_WELCOME,
          "welcome");
    const int N = mpc ? 600 : 3000;
    long actions = 0, policy_actions = 0, errors = 0;
    WireObs o;
    memset(&o, 0, sizeof o);
    o.obs_dim = S;
    uint64_t seq = 0;
    for (int t = 0; t < N; t++) {
        if (t == N / 2)   // mid-run publication
            swap_publish(&slot, mpc ? make_mpc(2, &plant) : make_policy(2, &plant), 0, NULL);
        seq++;
        o.seq = seq;
        o.first = (t % 200) == 0;
        o.terminated = (t % 200) == 199;
        o.reward = 1.0;
        for (int i = 0; i < S; i++) o.obs[i] = sin(0.01 * t + i);
        if (t % 97 == 50) {
            // bad inputs inside the counted region: NaN, wrong size, garbage, old seq
            int kind = (t / 97) % 4;
            if (kind == 0) {
                o.obs[3] = NAN;
                n = wire_encode_obs(buf, sizeof buf, &o);   // encoder may refuse NaN
                if (n < 0) {
                    o.obs[3] = 0;
                    n = wire_encode_obs(buf, sizeof buf, &o);
                    // patch a float64 in place into NaN: find 0xcb and overwrite
                    for (int b = 0; b < n - 9; b++)
                        if (buf[b] == 0xcb) {
                            memset(buf + b + 1, 0xff, 8);
                            break;
                        }
                }
            } else if (kind == 1) {
                o.obs_dim = S - 1;
                n = wire_encode_obs(buf, sizeof buf, &o);
                o.obs_dim = S;
            } else if (kind == 2) {
                memcpy(buf, "\xc1\xc1garbage", 9);
                n = 9;
            } else {
                o.seq = 1;   // out of order
                n = wire_encode_obs(buf, sizeof buf, &o);
            }
            seq--;   // the plant retries this step
        } else {
            n = wire_encode_obs(buf, sizeof buf, &o);
        }
        link_send(dealer, buf, n, 0);
        if (mode == PLANT_MODE_REALTIME) (void)link_poll_in(router, 100);
        atomic_store(&counting, 1);
        ctrl_step(c, rt_now_ns());
        atomic_store(&counting, 0);
        // read everything the step sent
        while ((n = link_recv(dealer, rbuf, sizeof rbuf, ZMQ_DONTWAIT)) > 0) {
            if (wire_decode(rbuf, n, 0, A, m, NULL) < 0) continue;
            if (m->type == WIRE_MSG_ACTION) {
                actions++;
                if (!m->u.action.safe) policy_actions++;
            } else if (m->type == WIRE_MSG_ERROR) {
                errors++;
            }
        }
        while (link_recv(pull, rbuf, sizeof rbuf, ZMQ_DONTWAIT) > 0) {}
    }
    CtrlStats* st = ctrl_stats(c);
    printf("%s%s: %d ticks, %ld actions (%ld policy), %ld error replies, %llu transitions, "
           "%ld allocations in ctrl_step\n",
           mode == PLANT_MODE_LOCKSTEP ? "lockstep" : "realtime", mpc ? " mpc" : "", N, actions,
           policy_actions,
           errors, (unsigned long long)atomic_load(&st->transitions), atomic_load(&n_alloc));
    CHECK(atomic_load(&n_alloc) == 0, "ctrl_step allocated %ld times", atomic_load(&n_alloc));
    CHECK(actions >= N - 40, "answered (%ld)", actions);
    CHECK(policy_actions > N / 2, "policy actions (%ld)", policy_actions);
    CHECK(errors >= N / 120, "bad inputs got error replies (%ld)", errors);
    CHECK(atomic_load(&st->err_policy) == 0, "no policy/CEM failures");
    CHECK(atomic_load(&st->transitions) > (uint64_t)N / 2, "transitions pushed");
    CHECK(atomic_load(&st->obs_faults) > 0 && atomic_load(&st->actions_rate_limited) > 0,
          "the safety limits acted (%llu faults, %llu rate limited)",
          (unsigned long long)atomic_load(&st->obs_faults),
          (unsigned long long)atomic_load(&st->actions_rate_limited));
    CHECK(atomic_load(&st->policy_version) == 2, "picked up the mid-run policy");
    free(m);
    ctrl_free(c);
    swap_done(&slot);
    link_close(dealer);
    link_close(pull);
    zmq_ctx_term(z);
}

// The wrappers must see allocations made inside the daemon library (else a zero
// count would prove nothing): served_validate callocs its trial scratch.
static void test_wrap_sees_library_allocations(void) {
    PlantInfo plant = {.name = "hopper", .obs_dim = S, .act_dim = A, .dt = 0.008};
    for (int j = 0; j < A; j++) {
        plant.act_low[j] = -1;
        plant.act_high[j] = 1;
    }
    ServedPolicy* sp = make_policy(5, &plant);
    atomic_store(&n_alloc, 0);
    atomic_store(&counting, 1);
    int r = served_validate(sp, &plant, NULL);
    atomic_store(&counting, 0);
    CHECK(r == 0 && atomic_load(&n_alloc) >= 2, "wrap counted %ld library allocations",
          atomic_load(&n_alloc));
    served_free(sp);
    atomic_store(&n_alloc, 0);
}

int main(void) {
    test_wrap_sees_library_allocations();
    run(PLANT_MODE_LOCKSTEP, 0);
    atomic_store(&n_alloc, 0);
    run(PLANT_MODE_REALTIME, 0);
    atomic_store(&n_alloc, 0);
    run(PLANT_MODE_LOCKSTEP, 1);   // CEM-MPC on the control thread
    return test_summary("test_ctrl_noalloc");
}
