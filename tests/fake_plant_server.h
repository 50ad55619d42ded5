// SPDX-License-Identifier: Apache-2.0
// fake_plant_server.h -- a small lock-step (or realtime-announcing) plant server built
// from transport/ (wire + link), for testing plant clients without the daemon:
// examples/maac_client.py (test_client_py) and maac-sim (test_maac_sim).
//
// It follows docs/protocol.md for one plant: hello -> welcome, obs -> action with the
// same seq, bad input -> error reply (+ the safe action for an observation),
// out-of-order seq -> "sequence", oversized -> "oversized", non-plant types ->
// "wrong_type"; it answers control-socket requests, and can simulate an outage (the
// daemon going away and coming back) to test reconnection.
#ifndef MAAC_FAKE_PLANT_SERVER_H
#define MAAC_FAKE_PLANT_SERVER_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "test_util.h"
#include "transport/link.h"
#include "transport/wire.h"

extern char** environ;

#define MAX_MSG 4096

typedef struct {
    // settings
    void* ctx;
    char plant_ep[128];
    const char* plant_name;      // expected name (NULL = any)
    int obs_dim, act_dim;        // expected dims
    WireMode mode;               // announced in the welcome
    long outage_after_obs;       // > 0: after this many obs, go away for outage_ms
    int outage_ms;
    long forget_after_obs;       // > 0: after this many obs, forget the plant (a restart)
    // state
    void* plant;
    void* ctl;
    int outage_done;
    LinkPeer peer;
    int have_peer, have_seq;
    uint64_t last_seq;
    long hellos, obs, episodes, steps, byes, ctl_requests;
    long errors_by_code[16];
    uint64_t rt_seq;             // realtime: newest obs seq and its action
    double rt_u;
    long rt_actions;
    unsigned char rx[MAX_MSG], tx[1024];
    WireMsg m;
} Fake;

static const char* const codes[] = {"malformed", "bad_message", "bad_version", "bad_size",
                                    "nonfinite", "oversized", "sequence", "not_ready",
                                    "wrong_type", NULL};

static void count_code(Fake* f, const char* code) {
    for (int i = 0; codes[i]; i++)
        if (!strcmp(codes[i], code)) f->errors_by_code[i]++;
}

static void send_error(Fake* f, const LinkPeer* to, const char* code, const char* msg, int64_t seq) {
    count_code(f, code);
    int n = wire_encode_error(f->tx, sizeof f->tx, code, msg, seq);
    CHECK(n > 0 && link_router_send(f->plant, to, f->tx, (size_t)n, 0) == 0, "error reply");
}

static void send_action(Fake* f, const LinkPeer* to, uint64_t seq, double u, int safe) {
    WireAction a = {.seq = seq, .act_dim = f->act_dim, .policy_version = safe ? 0 : 1,
                    .safe = safe};
    for (int j = 0; j < f->act_dim; j++) a.action[j] = j == 0 ? u : 0.0;
    int n = wire_encode_action(f->tx, sizeof f->tx, &a);
    CHECK(n > 0 && link_router_send(f->plant, to, f->tx, (size_t)n, 0) == 0, "action");
}

static void on_plant(Fake* f) {
    LinkPeer from;
    int n = link_router_recv(f->plant, &from, f->rx, sizeof f->rx, ZMQ_DONTWAIT);
    if (n == -EAGAIN) return;
    if (n == -EMSGSIZE) {
        send_error(f, &from, "oversized", "message longer than 4096 bytes", -1);
        return;
    }
    CHECK(n >= 0, "router recv %d", n);
    if (n < 0) return;
    MaacErr e = {{0}};
    int r = wire_decode(f->rx, (size_t)n, f->obs_dim, f->act_dim, &f->m, &e);
    if (r < 0) {
        int is_obs = f->m.type == WIRE_MSG_OBS;
        send_error(f, &from, wire_err_name(r), e.msg, is_obs ? (int64_t)f->m.u.obs.seq : -1);
        if (is_obs) send_action(f, &from, f->m.u.obs.seq, 0, 1);
        return;
    }
    switch (f->m.type) {
    case WIRE_MSG_HELLO: {
        const WireHello* h = &f->m.u.hello;
        CHECK((!f->plant_name || !strcmp(h->plant, f->plant_name)) && h->obs_dim == f->obs_dim &&
              h->act_dim == f->act_dim && h->has_bounds && h->dt > 0, "hello fields: %s %d %d",
              h->plant, h->obs_dim, h->act_dim);
        f->peer = from;
        f->have_peer = 1;
        f->have_seq = 0;
        f->hellos++;
        WireWelcome w = {.mode = f->mode, .rate_hz = 1.0 / h->dt, .policy_version = 1,
                         .max_msg_bytes = MAX_MSG};
        n = wire_encode_welcome(f->tx, sizeof f->tx, &w);
        CHECK(link_router_send(f->plant, &from, f->tx, (size_t)n, 0) == 0, "welcome");
        break;
    }
    case WIRE_MSG_OBS: {
        const WireObs* o = &f->m.u.obs;
        if (!f->have_peer || !link_peer_equal(&from, &f->peer)) {
            send_error(f, &from, "not_ready", "send a hello first", (int64_t)o->seq);
            break;
        }
        if (f->have_seq && o->seq <= f->last_seq) {
            send_error(f, &from, "sequence", "seq not after the last one", (int64_t)o->seq);
            send_action(f, &from, o->seq, 0, 1);
            break;
        }
        f->have_seq = 1;
        f->last_seq = o->seq;
        f->obs++;
        if (!o->first) f->steps++;
        if (o->terminated || o->truncated) f->episodes++;
        // the pendulum client: a PD controller; other plants: a small constant
        double u = 0.1;
        if (f->obs_dim == 3) {
            double th = atan2(o->obs[1], o->obs[0]);
            u = -2.0 * th - 0.5 * o->obs[2];
            u = u < -2 ? -2 : u > 2 ? 2 : u;
        }
        if (f->mode == WIRE_MODE_LOCKSTEP) send_action(f, &from, o->seq, u, 0);
        else f->rt_seq = o->seq, f->rt_u = u;
        break;
    }
    case WIRE_MSG_BYE: f->byes++; f->have_peer = 0; break;
    default: send_error(f, &from, "wrong_type", "a plant may not send this", -1); break;
    }
}

static void on_ctl(Fake* f) {
    unsigned char req[1024], rep[1024];
    int n = link_recv(f->ctl, req, sizeof req, ZMQ_DONTWAIT);
    if (n == -EAGAIN) return;
    WireMsg m;
    int r = n > 0 ? wire_decode(req, (size_t)n, 0, 0, &m, NULL) : n;
    WireWriter w;
    wire_w_init(&w, rep, sizeof rep);
    f->ctl_requests++;
    if (r < 0 || m.type != WIRE_MSG_CTL) {
        wire_w_reply_begin(&w, 0, 2);
        wire_w_str(&w, "error"); wire_w_str(&w, "bad_message");
        wire_w_str(&w, "msg"); wire_w_str(&w, "not a ctl request");
    } else {
        CHECK(!strcmp(m.u.ctl.cmd, "status"), "cmd %s", m.u.ctl.cmd);
        wire_w_reply_begin(&w, 1, 3);
        wire_w_str(&w, "state"); wire_w_str(&w, "running");
        wire_w_str(&w, "episodes"); wire_w_int(&w, f->episodes);
        wire_w_str(&w, "mean_return"); wire_w_nil(&w);
    }
    n = wire_w_finish(&w);
    CHECK(n > 0 && link_send(f->ctl, rep, (size_t)n, 0) == 0, "ctl reply");
}

// Run argv to completion while serving both sockets. Returns its exit status.
static int fake_serve_while(Fake* f, char* const argv[]) {
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
        perror("posix_spawn");
        return -1;
    }
    int status = -1;
    for (int iter = 0; iter < 60 * 1000 / 20; iter++) {   // at most ~60 s
        zmq_pollitem_t it[2] = {{.socket = f->plant, .events = ZMQ_POLLIN},
                                {.socket = f->ctl, .events = ZMQ_POLLIN}};
        (void)zmq_poll(it, f->ctl ? 2 : 1, 20);
        if (it[0].revents & ZMQ_POLLIN) { on_plant(f); iter--; }
        if (it[1].revents & ZMQ_POLLIN) on_ctl(f);
        if (f->mode == WIRE_MODE_REALTIME && f->have_peer && f->plant) {
            // realtime: one action per poll round (the poll period is the tick)
            WireAction a = {.seq = f->rt_seq, .act_dim = f->act_dim, .policy_version = 1};
            a.action[0] = f->rt_u;
            int n = wire_encode_action(f->tx, sizeof f->tx, &a);
            if (n > 0 && link_router_send(f->plant, &f->peer, f->tx, (size_t)n, ZMQ_DONTWAIT) == 0)
                f->rt_actions++;
        }
        if (f->forget_after_obs > 0 && !f->outage_done && f->obs >= f->forget_after_obs) {
            f->outage_done = 1;   // a restarted daemon: same endpoint, no session
            f->have_peer = 0;
        }
        if (f->outage_after_obs > 0 && !f->outage_done && f->obs >= f->outage_after_obs) {
            // the daemon goes away: the socket closes, queued messages are lost
            f->outage_done = 1;
            link_close(f->plant);
            f->plant = NULL;
            f->have_peer = 0;
            struct timespec ts = {f->outage_ms / 1000, (long)(f->outage_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            MaacErr e = {{0}};
            f->plant = link_bind(f->ctx, ZMQ_ROUTER, f->plant_ep, NULL, &e);
            CHECK(f->plant != NULL, "rebind after the outage: %s", e.msg);
            if (!f->plant) break;
            continue;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            // serve what is still queued (the bye)
            while (link_poll_in(f->plant, 100) == 1) on_plant(f);
            return status;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(0, "%s did not finish within 60 s", argv[0]);
    return -1;
}

// Bind the plant (and control, when ctl_ep) sockets. 0 or -1.
static int fake_start(Fake* f, void* ctx, const char* plant_ep, const char* ctl_ep) {
    MaacErr e = {{0}};
    f->ctx = ctx;
    snprintf(f->plant_ep, sizeof f->plant_ep, "%s", plant_ep);
    f->plant = link_bind(ctx, ZMQ_ROUTER, plant_ep, NULL, &e);
    if (f->plant && ctl_ep) f->ctl = link_bind(ctx, ZMQ_REP, ctl_ep, NULL, &e);
    if (!f->plant || (ctl_ep && !f->ctl)) {
        fprintf(stderr, "bind: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void fake_stop(Fake* f) {
    link_close(f->plant);
    link_close(f->ctl);
    f->plant = f->ctl = NULL;
}

#endif

