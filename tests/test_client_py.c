// SPDX-License-Identifier: Apache-2.0
// test_client_py.c -- examples/maac_client.py (pure python3-zmq + python3-msgpack)
// against a small lock-step plant server written with transport/ (wire + link), so the
// Python client and the C codec are checked against each other without the daemon.
//
// The fake server follows docs/protocol.md for one lock-step plant: hello -> welcome,
// obs -> action with the same seq, bad input -> error reply (+ safe action for an
// observation), out-of-order seq -> "sequence", oversized -> "oversized", and answers
// control-socket requests. It runs the client twice: `plant --check-errors --episodes 2`
// and `ctl status`, and checks exit codes and what it saw. usage: test_client_py SCRIPT
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "test_util.h"
#include "transport/link.h"
#include "transport/wire.h"

extern char** environ;

#define MAX_MSG 4096

typedef struct {
    void* plant;
    void* ctl;
    LinkPeer peer;
    int have_peer, have_seq;
    uint64_t last_seq;
    long hellos, obs, episodes, steps, byes, ctl_requests;
    long errors_by_code[16];
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
    WireAction a = {.seq = seq, .act_dim = 1, .action = {u}, .policy_version = safe ? 0 : 1,
                    .safe = safe};
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
    int r = wire_decode(f->rx, (size_t)n, 3, 1, &f->m, &e);
    if (r < 0) {
        int is_obs = f->m.type == WIRE_MSG_OBS;
        send_error(f, &from, wire_err_name(r), e.msg, is_obs ? (int64_t)f->m.u.obs.seq : -1);
        if (is_obs) send_action(f, &from, f->m.u.obs.seq, 0, 1);
        return;
    }
    switch (f->m.type) {
    case WIRE_MSG_HELLO: {
        const WireHello* h = &f->m.u.hello;
        CHECK(!strcmp(h->plant, "toy_pendulum") && h->obs_dim == 3 && h->act_dim == 1 &&
              h->has_bounds && h->act_low[0] == -2 && h->act_high[0] == 2 && h->dt == 0.05,
              "hello fields");
        f->peer = from;
        f->have_peer = 1;
        f->have_seq = 0;
        f->hellos++;
        WireWelcome w = {.mode = WIRE_MODE_LOCKSTEP, .rate_hz = 20, .policy_version = 1,
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
        // a PD swing-down controller: enough to check actions arrive and are applied
        double th = atan2(o->obs[1], o->obs[0]);
        double u = -2.0 * th - 0.5 * o->obs[2];
        send_action(f, &from, o->seq, u < -2 ? -2 : u > 2 ? 2 : u, 0);
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
static int serve_while(Fake* f, char* const argv[]) {
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
        perror("posix_spawn");
        return -1;
    }
    int status = -1;
    for (int iter = 0; iter < 60 * 1000 / 20; iter++) {   // at most ~60 s
        zmq_pollitem_t it[2] = {{.socket = f->plant, .events = ZMQ_POLLIN},
                                {.socket = f->ctl, .events = ZMQ_POLLIN}};
        (void)zmq_poll(it, 2, 20);
        if (it[0].revents & ZMQ_POLLIN) { on_plant(f); iter--; }
        if (it[1].revents & ZMQ_POLLIN) on_ctl(f);
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
    CHECK(0, "%s did not finish within 60 s", argv[2]);
    return -1;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s examples/maac_client.py\n", argv[0]);
        return 2;
    }
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("test_client_py: /usr/bin/python3 missing, skipped\n");
        return 0;
    }
    char dir[] = "/tmp/maac-test-client-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char plant_ep[128], ctl_ep[128];
    snprintf(plant_ep, sizeof plant_ep, "ipc://%s/plant.sock", dir);
    snprintf(ctl_ep, sizeof ctl_ep, "ipc://%s/control.sock", dir);
    void* ctx = zmq_ctx_new();
    static Fake f;
    MaacErr e = {{0}};
    f.plant = link_bind(ctx, ZMQ_ROUTER, plant_ep, NULL, &e);
    f.ctl = link_bind(ctx, ZMQ_REP, ctl_ep, NULL, &e);
    if (!f.plant || !f.ctl) {
        fprintf(stderr, "bind: %s\n", e.msg);
        return 2;
    }
    char* plant_argv[] = {"/usr/bin/python3", argv[1], "plant", "--endpoint", plant_ep,
                          "--episodes", "2", "--max-steps", "50", "--check-errors", "--timeout-ms",
                          "10000", NULL};
    int st = serve_while(&f, plant_argv);
    CHECK(st == 0, "maac_client.py plant exited %d", st);
    CHECK(f.hellos == 1 && f.byes == 1, "hellos %ld byes %ld", f.hellos, f.byes);
    // 2 episodes of 50 steps + the check episode (2 valid steps and a truncating obs)
    CHECK(f.episodes == 3, "episodes %ld", f.episodes);
    CHECK(f.steps == 100 + 2, "steps %ld", f.steps);
    for (int i = 0; codes[i]; i++) {
        long want = !strcmp(codes[i], "nonfinite") ? 2 : !strcmp(codes[i], "bad_message") ? 3
                  : !strcmp(codes[i], "not_ready") ? 0 : 1;
        CHECK(f.errors_by_code[i] == want, "error code %s sent %ld times, expected %ld", codes[i],
              f.errors_by_code[i], want);
    }
    char* ctl_argv[] = {"/usr/bin/python3", argv[1], "ctl", "status", "--endpoint", ctl_ep,
                        NULL};
    st = serve_while(&f, ctl_argv);
    CHECK(st == 0 && f.ctl_requests == 1, "maac_client.py ctl status exited %d (%ld requests)", st,
          f.ctl_requests);
    link_close(f.plant);
    link_close(f.ctl);
    zmq_ctx_term(ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_client_py");
}
