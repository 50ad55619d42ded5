// SPDX-License-Identifier: Apache-2.0
// test_bad_input.c -- every kind of bad input gets an error reply, a counter and (where
// an action is due) the safe action, and the daemon keeps running:
// malformed msgpack, wrong message type, wrong observation size, NaN/Inf, out-of-order
// sequence numbers, oversized messages, obs before hello, a wrong plant, a plant that
// disconnects mid-episode, stale observations (realtime), a corrupt or mismatched
// policy file on swap (running policy untouched), and a learner that fails to start.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon/ctl_server.h"
#include "daemon/ctrl.h"
#include "daemon/learner_thread.h"
#include "test_util.h"

#define S 4
#define A 1

typedef struct {
    void* z;
    void* router;
    void* dealer;
    void* pull;
    SwapSlot slot;
    Ctrl* c;
    PlantInfo plant;
    WireMsg m;
    unsigned char buf[8192], rbuf[65536];
    uint64_t seq;
} Rig;

static ServedPolicy* make_policy(uint64_t seed, const PlantInfo* plant) {
    Rng rng;
    rng_seed(&rng, seed);
    int hidden[2] = {32, 32};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(plant->obs_dim, plant->act_dim, 2, hidden, NN_ACT_TANH,
                           plant->act_low, plant->act_high, &rng);
    snprintf(sp->pi->plant, sizeof sp->pi->plant, "%.47s", plant->name);
    return sp;
}

static void rig_open(Rig* r, PlantMode mode, const char* ep, int bind_pull) {
    memset(r, 0, sizeof *r);
    MaacErr err = {""};
    r->z = zmq_ctx_new();
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = WIRE_MAX_MSG;
    r->router = link_bind(r->z, ZMQ_ROUTER, ep, &o, &err);
    if (bind_pull) r->pull = link_bind(r->z, ZMQ_PULL, LINK_LEARNER_INPROC, NULL, &err);
    r->dealer = link_connect(r->z, ZMQ_DEALER, ep, NULL, &err);
    snprintf(r->plant.name, sizeof r->plant.name, "inverted_pendulum");
    r->plant.obs_dim = S;
    r->plant.act_dim = A;
    r->plant.dt = 0.04;
    r->plant.act_low[0] = -3;
    r->plant.act_high[0] = 3;
    swap_init(&r->slot, served_free, served_stamp);
    swap_publish(&r->slot, make_policy(3, &r->plant), 0, NULL);
    DaemonConfig cfg;
    config_default(&cfg);
    cfg.plant_mode = mode;
    cfg.max_msg_bytes = 2048;
    cfg.safe_action[0] = 0.5f;
    cfg.n_safe_action = 1;
    cfg.explore = 0;
    cfg.rate_hz = 100;
    cfg.stale_ms = 30;
    r->c = ctrl_create(&cfg, &r->plant, r->z, r->router, NULL, &r->slot, &err);
    CHECK(r->c != NULL, "ctrl_create: %s", err.msg);
    ctrl_set_learner_alive(r->c, 1);
}

static void rig_close(Rig* r) {
    ctrl_free(r->c);
    swap_done(&r->slot);
    link_close(r->dealer);
    link_close(r->pull);
    zmq_ctx_term(r->z);
}

static void send_raw(Rig* r, const void* b, int n) { link_send(r->dealer, b, (size_t)n, 0); }

// Step and collect replies: counts of actions (safe ones) and the last error code.
typedef struct {
    int actions, safe, errors;
    char code[WIRE_MAX_NAME];
    double act0;
    uint64_t version;
    int welcome;
} Replies;

static Replies step(Rig* r) {
    Replies out;
    memset(&out, 0, sizeof out);
    (void)link_poll_in(r->router, 200);
    ctrl_step(r->c, rt_now_ns());
    int n;
    (void)link_poll_in(r->dealer, 50);
    while ((n = link_recv(r->dealer, r->rbuf, sizeof r->rbuf, ZMQ_DONTWAIT)) > 0) {
        if (wire_decode(r->rbuf, n, 0, 0, &r->m, NULL) < 0) continue;
        if (r->m.type == WIRE_MSG_ACTION) {
            out.actions++;
            out.safe += r->m.u.action.safe;
            out.act0 = r->m.u.action.action[0];
            out.version = r->m.u.action.policy_version;
        } else if (r->m.type == WIRE_MSG_ERROR) {
            out.errors++;
            snprintf(out.code, sizeof out.code, "%s", r->m.u.error.code);
        } else if (r->m.type == WIRE_MSG_WELCOME) {
            out.welcome = 1;
        }
        (void)link_poll_in(r->dealer, 5);
    }
    while (r->pull && link_recv(r->pull, r->rbuf, sizeof r->rbuf, ZMQ_DONTWAIT) > 0) {}
    return out;
}

static void hello(Rig* r, const char* plant, int obs_dim) {
    WireHello h = {.obs_dim = obs_dim, .act_dim = A, .dt = 0.04};
    snprintf(h.plant, sizeof h.plant, "%s", plant);
    send_raw(r, r->buf, wire_encode_hello(r->buf, sizeof r->buf, &h));
}

static void obs(Rig* r, uint64_t seq, int dim, double v, int first) {
    WireObs o;
    memset(&o, 0, sizeof o);
    o.seq = seq;
    o.obs_dim = dim;
    o.first = first;
    o.reward = 1;
    for (int i = 0; i < dim; i++) o.obs[i] = 0.01 * i;
    o.obs[0] = v;
    int n = wire_encode_obs(r->buf, sizeof r->buf, &o);
    if (n < 0) {   // the encoder refuses NaN/Inf: encode 0.125 and patch its bytes
        o.obs[0] = 0.125;
        n = wire_encode_obs(r->buf, sizeof r->buf, &o);
        unsigned char pat[9] = {0xcb, 0x3f, 0xc0, 0, 0, 0, 0, 0, 0};   // 0.125 as float64
        double bad = v;
        unsigned char be[8];
        memcpy(be, &bad, 8);
        for (int b = 0; b + 9 <= n; b++)
            if (!memcmp(r->buf + b, pat, 9)) {
                for (int k = 0; k < 8; k++) r->buf[b + 1 + k] = be[7 - k];   // big-endian
                break;
            }
    }
    send_raw(r, r->buf, n);
}

#define ST(x) atomic_load(&ctrl_stats(r.c)->x)

static void test_bad_input_each_kind_lockstep(void) {
    Rig r;
    rig_open(&r, PLANT_MODE_LOCKSTEP, "inproc://bad-lockstep", 1);
    // observation before hello
    obs(&r, 1, S, 0.1, 1);
    Replies p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "not_ready") && ST(err_not_ready) == 1, "obs before hello");
    // wrong plant, wrong size in hello
    hello(&r, "hopper", S);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "wrong_plant") && !p.welcome, "wrong plant: %s", p.code);
    hello(&r, "inverted_pendulum", S + 2);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "bad_size"), "hello with wrong size: %s", p.code);
    hello(&r, "inverted_pendulum", S);
    p = step(&r);
    CHECK(p.welcome, "welcome");
    // a good observation: a policy action
    obs(&r, 1, S, 0.1, 1);
    p = step(&r);
    CHECK(p.actions == 1 && p.safe == 0 && p.version == 1, "policy action (v%llu)",
          (unsigned long long)p.version);
    // malformed msgpack
    send_raw(&r, "\x85\xa1v\x01\xa4ty", 7);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "malformed") && ST(err_malformed) == 1, "malformed: %s",
          p.code);
    // wrong message type (an action sent by the plant)
    WireAction wa = {.seq = 1, .act_dim = A};
    send_raw(&r, r.buf, wire_encode_action(r.buf, sizeof r.buf, &wa));
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "wrong_type") && ST(err_wrong_type) == 1, "wrong type: %s",
          p.code);
    // wrong observation size: error + safe action for that seq
    obs(&r, 2, S + 1, 0.1, 0);
    p = step(&r);
    // (err_bad_size is 2: the hello with the wrong size above counted too)
    CHECK(p.errors == 1 && !strcmp(p.code, "bad_size") && p.safe == 1 && p.act0 == 0.5 &&
              ST(err_bad_size) == 2, "wrong size: %s safe %d act %g", p.code, p.safe, p.act0);
    // NaN and Inf
    obs(&r, 2, S, NAN, 0);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "nonfinite") && p.safe == 1, "NaN: %s", p.code);
    obs(&r, 2, S, INFINITY, 0);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "nonfinite") && p.safe == 1 && ST(err_nonfinite) == 2,
          "Inf: %s", p.code);
    // out of order: seq 1 again
    obs(&r, 1, S, 0.1, 0);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "sequence") && p.safe == 1 && ST(err_sequence) == 1,
          "out of order: %s", p.code);
    // oversized (limit 2048 bytes)
    unsigned char* big = calloc(1, 5000);
    big[0] = 0xc4;
    send_raw(&r, big, 5000);
    free(big);
    p = step(&r);
    CHECK(p.errors == 1 && !strcmp(p.code, "oversized") && ST(err_oversized) == 1, "oversized: %s",
          p.code);
    // still alive: the next good observation gets a policy action
    obs(&r, 2, S, 0.2, 0);
    p = step(&r);
    CHECK(p.actions == 1 && p.safe == 0 && p.errors == 0, "recovered");
    // the plant disconnects mid-episode (bye), then a new plant takes over
    send_raw(&r, r.buf, wire_encode_bye(r.buf, sizeof r.buf));
    p = step(&r);
    CHECK(ST(disconnects) == 1, "disconnect mid-episode counted");
    obs(&r, 3, S, 0.2, 0);
    p = step(&r);
    CHECK(!strcmp(p.code, "not_ready"), "after bye, obs needs a new hello: %s", p.code);
    void* d2 = link_connect(r.z, ZMQ_DEALER, "inproc://bad-lockstep", NULL, NULL);
    void* d1 = r.dealer;
    r.dealer = d2;
    hello(&r, "inverted_pendulum", S);
    p = step(&r);
    CHECK(p.welcome, "a new plant is welcome");
    obs(&r, 1, S, 0.3, 1);
    p = step(&r);
    CHECK(p.actions == 1 && p.safe == 0, "new plant served");
    link_close(d1);
    printf("lockstep bad input: errors malformed %llu wrong_type %llu bad_size %llu nonfinite %llu "
           "sequence %llu oversized %llu not_ready %llu; safe actions %llu\n",
           (unsigned long long)ST(err_malformed), (unsigned long long)ST(err_wrong_type),
           (unsigned long long)ST(err_bad_size), (unsigned long long)ST(err_nonfinite),
           (unsigned long long)ST(err_sequence), (unsigned long long)ST(err_oversized),
           (unsigned long long)ST(err_not_ready), (unsigned long long)ST(safe_actions));
    ctrl_drain_events(r.c);   // the non-RT side logs what happened
    rig_close(&r);
}

static void test_bad_input_stale_obs_gets_safe_action_realtime(void) {
    Rig r;
    rig_open(&r, PLANT_MODE_REALTIME, "inproc://bad-realtime", 1);
    hello(&r, "inverted_pendulum", S);
    Replies p = step(&r);
    CHECK(p.welcome, "welcome");
    obs(&r, 1, S, 0.1, 1);
    p = step(&r);
    CHECK(p.actions == 1 && p.safe == 0, "fresh obs: policy action");
    struct timespec ts = {0, 60 * 1000 * 1000};   // 60 ms > stale_ms 30
    nanosleep(&ts, NULL);
    p = step(&r);
    CHECK(p.actions == 1 && p.safe == 1 && p.act0 == 0.5 && ST(stale) >= 1, "stale: safe action");
    rig_close(&r);
}

static void write_file(const char* path, const void* b, size_t n) {
    FILE* f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static int ctl(Maacd* d, const char* cmd, const char* arg, char* text, size_t cap) {
    unsigned char req[1024], rep[65536];
    int n = wire_encode_ctl(req, sizeof req, cmd, arg);
    int m = ctl_handle(d, req, (size_t)n, rep, sizeof rep);
    int ok = 0;
    wire_get_bool(rep, (size_t)m, "ok", &ok);
    wire_to_text(rep, (size_t)m, text, cap);
    return ok;
}

static void test_bad_input_corrupt_policy_swap_leaves_policy(void) {
    static Maacd d;   // the ctl server's view: the control thread serves d.slot
    memset(&d, 0, sizeof d);
    config_default(&d.cfg);
    d.cfg.explore = 0;
    swap_init(&d.slot, served_free, served_stamp);
    Rig r;
    memset(&r, 0, sizeof r);
    MaacErr err = {""};
    r.z = zmq_ctx_new();
    r.plant.obs_dim = S;
    r.plant.act_dim = A;
    r.plant.dt = 0.04;
    r.plant.act_low[0] = -3;
    r.plant.act_high[0] = 3;
    snprintf(r.plant.name, sizeof r.plant.name, "inverted_pendulum");
    swap_publish(&d.slot, make_policy(3, &r.plant), 0, NULL);
    r.router = link_bind(r.z, ZMQ_ROUTER, "inproc://bad-swap", NULL, &err);
    r.c = ctrl_create(&d.cfg, &r.plant, r.z, r.router, NULL, &d.slot, &err);
    CHECK(r.c != NULL, "ctrl: %s", err.msg);
    atomic_store(&d.ctrl, r.c);
    char text[8192];
    // corrupt file
    char path[] = "/tmp/test_bad_policy_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_file(path, "\x84\xa6" "format\xb0maacd-checkpoint garbage", 30);
    uint64_t v0 = swap_version(&d.slot);
    CHECK(!ctl(&d, "swap", path, text, sizeof text) && strstr(text, "swap_rejected"),
          "corrupt file rejected: %s", text);
    CHECK(swap_version(&d.slot) == v0 && atomic_load(&d.swaps_rejected) == 1, "policy unchanged");
    // a valid file for another plant size
    PlantInfo other = r.plant;
    other.obs_dim = S + 3;
    ServedPolicy* wrong = make_policy(9, &other);
    CHECK(policy_save(wrong->pi, path, &err) == 0, "save: %s", err.msg);
    served_free(wrong);
    CHECK(!ctl(&d, "swap", path, text, sizeof text) && strstr(text, "obs"), "wrong dims: %s", text);
    CHECK(!ctl(&d, "swap", "/nonexistent/p.ckpt", text, sizeof text), "missing file");
    CHECK(swap_version(&d.slot) == v0 && atomic_load(&d.swaps_rejected) == 3, "still unchanged");
    // a good file swaps, and the loop serves it from the next tick
    ServedPolicy* good = make_policy(11, &r.plant);
    good->pi->version = 40;
    policy_save(good->pi, path, &err);
    served_free(good);
    CHECK(ctl(&d, "swap", path, text, sizeof text), "good swap: %s", text);
    CHECK(swap_version(&d.slot) == 40, "version from the file (%llu)",
          (unsigned long long)swap_version(&d.slot));
    ctrl_step(r.c, rt_now_ns());
    CHECK(atomic_load(&ctrl_stats(r.c)->policy_version) == 40, "picked up at the tick boundary");
    // status parses and unknown commands are refused
    CHECK(ctl(&d, "status", "", text, sizeof text) && strstr(text, "\"policy_version\": 40"),
          "status: %s", text);
    CHECK(!ctl(&d, "frob", "", text, sizeof text) && strstr(text, "unknown_command"), "unknown");
    CHECK(!ctl(&d, "mode", "fast", text, sizeof text), "bad mode arg");
    // no learner here: CEM has no models to plan with, so mpc is refused with the reason
    CHECK(!ctl(&d, "mode", "mpc", text, sizeof text) && strstr(text, "mpc_unavailable") &&
              strstr(text, "learner") && ctrl_act_mode(r.c) == ACT_MODE_POLICY,
          "mode mpc refused without a learner: %s", text);
    CHECK(ctl(&d, "mode", "policy", text, sizeof text), "mode policy");
    unsigned char junk[3] = {0xc1, 0, 0};
    unsigned char rep[4096];
    int m = ctl_handle(&d, junk, 3, rep, sizeof rep);
    int ok = 1;
    wire_get_bool(rep, (size_t)m, "ok", &ok);
    CHECK(m > 0 && !ok, "malformed ctl request answered with ok=false");
    unlink(path);
    ctrl_free(r.c);
    swap_done(&d.slot);
    zmq_ctx_term(r.z);
}

static void test_bad_input_learner_failure_keeps_loop(void) {
    Rig r;
    rig_open(&r, PLANT_MODE_LOCKSTEP, "inproc://bad-learner", 0);   // the learner binds the pull
    DaemonConfig cfg;
    config_default(&cfg);
    LearnerConfig lc;
    learner_config_default(&lc, "inverted_pendulum");
    lc.batch = -5;        // learner_create must refuse this
    lc.n_models = 0;
    MaacErr err = {""};
    LearnerThread* lt = lt_create(&cfg, &lc, &r.plant, r.z, &r.slot, r.c, &err);
    CHECK(lt != NULL, "lt_create: %s", err.msg);
    lt_start(lt);
    LtStatus s;
    for (int i = 0; i < 100; i++) {
        lt_status(lt, &s);
        if (s.state != LT_STARTING) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(s.state == LT_FAILED && s.failures == 1, "learner failed (%s): %s",
          lt_state_name(s.state), s.error);
    hello(&r, "inverted_pendulum", S);
    Replies p = step(&r);
    for (int i = 1; i <= 5; i++) {
        obs(&r, (uint64_t)i, S, 0.1 * i, i == 1);
        p = step(&r);
        CHECK(p.actions == 1 && p.safe == 0, "loop serves the current policy at step %d", i);
    }
    lt_stop(lt);
    lt_free(lt);
    rig_close(&r);
}

int main(void) {
    test_bad_input_each_kind_lockstep();
    test_bad_input_stale_obs_gets_safe_action_realtime();
    test_bad_input_corrupt_policy_swap_leaves_policy();
    test_bad_input_learner_failure_keeps_loop();
    return test_summary("test_bad_input");
}
