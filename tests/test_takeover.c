// SPDX-License-Identifier: Apache-2.0
// test_takeover.c -- plant session ownership (docs/protocol.md "busy"): while the
// plant that said hello is live, a second peer's hello is refused with `busy` and
// counted, and the live plant keeps being served; once the plant has been silent
// longer than the stale time the second hello is accepted; with
// [plant] allow_takeover = true it is accepted at once (and counted as a takeover).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "daemon/ctrl.h"
#include "test_util.h"

#define S 4
#define A 1

typedef struct {
    void* z;
    void* router;
    void* plant_a;   // the plant that holds the session
    void* plant_b;   // the intruder
    void* pull;
    SwapSlot slot;
    Ctrl* c;
    PlantInfo plant;
    WireMsg m;
    unsigned char buf[8192];
} Rig;

typedef struct {
    int actions, welcome, errors;
    char code[WIRE_MAX_NAME];
} Got;

static ServedPolicy* make_policy(const PlantInfo* plant) {
    Rng rng;
    rng_seed(&rng, 5);
    int hidden[1] = {16};
    ServedPolicy* sp = calloc(1, sizeof *sp);
    sp->pi = policy_create(plant->obs_dim, plant->act_dim, 1, hidden, NN_ACT_TANH,
                           plant->act_low, plant->act_high, &rng);
    snprintf(sp->pi->plant, sizeof sp->pi->plant, "%.47s", plant->name);
    return sp;
}

static void rig_open(Rig* r, const char* ep, int allow_takeover) {
    memset(r, 0, sizeof *r);
    MaacErr err = {""};
    r->z = zmq_ctx_new();
    r->router = link_bind(r->z, ZMQ_ROUTER, ep, NULL, &err);
    r->pull = link_bind(r->z, ZMQ_PULL, LINK_LEARNER_INPROC, NULL, &err);
    r->plant_a = link_connect(r->z, ZMQ_DEALER, ep, NULL, &err);
    r->plant_b = link_connect(r->z, ZMQ_DEALER, ep, NULL, &err);
    snprintf(r->plant.name, sizeof r->plant.name, "inverted_pendulum");
    r->plant.obs_dim = S;
    r->plant.act_dim = A;
    r->plant.dt = 0.01;
    r->plant.act_low[0] = -3;
    r->plant.act_high[0] = 3;
    swap_init(&r->slot, served_free, served_stamp);
    swap_publish(&r->slot, make_policy(&r->plant), 0, NULL);
    DaemonConfig cfg;
    config_default(&cfg);
    cfg.plant_mode = PLANT_MODE_LOCKSTEP;
    cfg.explore = 0;
    cfg.stale_ms = 50;                  // silence past this ends the plant's claim
    cfg.allow_takeover = allow_takeover;
    r->c = ctrl_create(&cfg, &r->plant, r->z, r->router, NULL, &r->slot, &err);
    CHECK(r->c != NULL, "ctrl_create: %s", err.msg);
    ctrl_set_learner_alive(r->c, 1);
}

static void rig_close(Rig* r) {
    ctrl_free(r->c);
    swap_done(&r->slot);
    link_close(r->plant_a);
    link_close(r->plant_b);
    link_close(r->pull);
    zmq_ctx_term(r->z);
}

static void hello(Rig* r, void* who) {
    WireHello h = {.obs_dim = S, .act_dim = A, .dt = 0.01};
    snprintf(h.plant, sizeof h.plant, "inverted_pendulum");
    link_send(who, r->buf, (size_t)wire_encode_hello(r->buf, sizeof r->buf, &h), 0);
}

static void obs(Rig* r, void* who, uint64_t seq, int first) {
    WireObs o;
    memset(&o, 0, sizeof o);
    o.seq = seq;
    o.obs_dim = S;
    o.first = first;
    link_send(who, r->buf, (size_t)wire_encode_obs(r->buf, sizeof r->buf, &o), 0);
}

// One control step, then what `who` got back.
static Got step(Rig* r, void* who) {
    Got g;
    memset(&g, 0, sizeof g);
    (void)link_poll_in(r->router, 200);
    ctrl_step(r->c, rt_now_ns());
    int n;
    (void)link_poll_in(who, 100);
    while ((n = link_recv(who, r->buf, sizeof r->buf, ZMQ_DONTWAIT)) > 0) {
        if (wire_decode(r->buf, (size_t)n, 0, 0, &r->m, NULL) < 0) continue;
        if (r->m.type == WIRE_MSG_ACTION) g.actions++;
        if (r->m.type == WIRE_MSG_WELCOME) g.welcome = 1;
        if (r->m.type == WIRE_MSG_ERROR) {
            g.errors++;
            snprintf(g.code, sizeof g.code, "%s", r->m.u.error.code);
        }
        (void)link_poll_in(who, 5);
    }
    while (link_recv(r->pull, r->buf, sizeof r->buf, ZMQ_DONTWAIT) > 0) {}
    return g;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define ST(x) atomic_load(&ctrl_stats(r.c)->x)

static void test_second_hello_is_busy_while_live(void) {
    Rig r;
    rig_open(&r, "inproc://takeover-busy", 0);
    hello(&r, r.plant_a);
    CHECK(step(&r, r.plant_a).welcome, "the first plant is welcomed");
    obs(&r, r.plant_a, 0, 1);
    CHECK(step(&r, r.plant_a).actions == 1, "the first plant is served");
    // the intruder says hello while the plant is live (heard from just now)
    hello(&r, r.plant_b);
    Got g = step(&r, r.plant_b);
    CHECK(!g.welcome && g.errors == 1 && !strcmp(g.code, "busy"), "second hello: busy (got %s)",
          g.code);
    CHECK(ST(err_busy) == 1 && ST(hellos) == 1, "counted: busy %llu, hellos %llu",
          (unsigned long long)ST(err_busy), (unsigned long long)ST(hellos));
    // the session stayed with the plant: its next observation is answered
    obs(&r, r.plant_a, 1, 0);
    CHECK(step(&r, r.plant_a).actions == 1, "the live plant is still served");
    // the intruder's observations are not
    obs(&r, r.plant_b, 7, 1);
    g = step(&r, r.plant_b);
    CHECK(g.actions == 0 && !strcmp(g.code, "not_ready"), "intruder obs refused: %s", g.code);

    // after the plant has been silent past the stale time (50 ms), a new hello wins
    sleep_ms(120);
    hello(&r, r.plant_b);
    CHECK(step(&r, r.plant_b).welcome, "hello accepted after the plant went silent");
    CHECK(ST(hellos) == 2 && ST(err_busy) == 1, "hellos %llu",
          (unsigned long long)ST(hellos));
    obs(&r, r.plant_a, 2, 0);
    g = step(&r, r.plant_a);
    CHECK(g.actions == 0 && !strcmp(g.code, "not_ready"), "the old plant lost the session: %s",
          g.code);
    rig_close(&r);
}

static void test_allow_takeover(void) {
    Rig r;
    rig_open(&r, "inproc://takeover-allowed", 1);
    hello(&r, r.plant_a);
    CHECK(step(&r, r.plant_a).welcome, "first plant welcomed");
    obs(&r, r.plant_a, 0, 1);
    CHECK(step(&r, r.plant_a).actions == 1, "first plant served");
    hello(&r, r.plant_b);
    Got g = step(&r, r.plant_b);
    CHECK(g.welcome && g.errors == 0, "allow_takeover: second hello welcomed at once");
    CHECK(ST(takeovers) == 1 && ST(err_busy) == 0 && ST(hellos) == 2, "takeover counted");
    obs(&r, r.plant_b, 0, 1);
    CHECK(step(&r, r.plant_b).actions == 1, "the new plant is served");
    rig_close(&r);
}

int main(void) {
    test_second_hello_is_busy_while_live();
    test_allow_takeover();
    return test_summary("test_takeover");
}
