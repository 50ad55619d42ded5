// SPDX-License-Identifier: Apache-2.0
// test_link.c -- tests for transport/link.c over real ZeroMQ sockets (inproc, ipc in a
// private temporary directory, tcp on an ephemeral loopback port): ROUTER envelopes
// for DEALER and REQ plants, unknown peers, oversized and multi-frame messages,
// ZMQ_MAXMSGSIZE disconnects, request timeouts, monitor events, PUSH/PULL batches.
// Waits are bounded poll timeouts (no sleeps that a test's outcome depends on).
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "test_util.h"
#include "transport/link.h"
#include "transport/wire.h"

static char dir[64];
static void* ctx;

static void ep_ipc(char* out, size_t cap, const char* name) {
    snprintf(out, cap, "ipc://%s/%s", dir, name);
}

static void test_link_endpoint_prepare_makes_dirs(void) {
    char ep[256], path[256];
    snprintf(ep, sizeof ep, "ipc://%s/a/b/c/plant.sock", dir);
    CHECK(link_endpoint_prepare(ep, NULL) == 0, "prepare");
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "%s is a directory", path);
    CHECK(link_endpoint_prepare(ep, NULL) == 0, "prepare twice");
    CHECK(link_endpoint_prepare("tcp://127.0.0.1:5555", NULL) == 0, "tcp no-op");
    MaacErr e = {{0}};
    CHECK(link_endpoint_prepare("ipc:///proc/nope/x.sock", &e) < 0 && strstr(e.msg, "mkdir"),
          "mkdir failure reported: %s", e.msg);
}

static void test_link_router_dealer_round_trip(const char* ep) {
    MaacErr e = {{0}};
    void* srv = link_bind(ctx, ZMQ_ROUTER, ep, NULL, &e);
    CHECK(srv != NULL, "bind %s: %s", ep, e.msg);
    if (!srv) return;
    char conn[256];
    size_t sz = sizeof conn;
    CHECK(zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, conn, &sz) == 0, "last endpoint");
    void* cli = link_connect(ctx, ZMQ_DEALER, conn, NULL, &e);
    CHECK(cli != NULL, "connect %s: %s", ep, e.msg);
    if (!srv || !cli) return;
    unsigned char b[WIRE_OBS_BUF], r[WIRE_OBS_BUF];
    WireHello h = {.obs_dim = 3, .act_dim = 1, .dt = 0.05};
    strcpy(h.plant, "toy");
    int n = wire_encode_hello(b, sizeof b, &h);
    CHECK(link_send(cli, b, (size_t)n, 0) == 0, "dealer send");
    CHECK(link_poll_in(srv, 5000) == 1, "router readable");
    LinkPeer peer;
    int k = link_router_recv(srv, &peer, r, sizeof r, ZMQ_DONTWAIT);
    CHECK(k == n && memcmp(r, b, (size_t)n) == 0, "router got hello (%d vs %d)", k, n);
    CHECK(peer.id_len > 0 && !peer.delim, "dealer peer id %zu delim %d", peer.id_len, peer.delim);
    WireMsg m;
    CHECK(wire_decode(r, (size_t)k, 0, 0, &m, &e) == 0 && m.type == WIRE_MSG_HELLO, "decoded");
    WireAction a = {.seq = 4, .act_dim = 1, .action = {0.5}, .policy_version = 2};
    n = wire_encode_action(b, sizeof b, &a);
    CHECK(link_router_send(srv, &peer, b, (size_t)n, ZMQ_DONTWAIT) == 0, "router send");
    CHECK(link_poll_in(cli, 5000) == 1, "dealer readable");
    k = link_recv(cli, r, sizeof r, ZMQ_DONTWAIT);
    CHECK(k == n && wire_decode(r, (size_t)k, 0, 1, &m, &e) == 0 && m.u.action.seq == 4,
          "dealer got action");
    // nothing more queued
    CHECK(link_recv(cli, r, sizeof r, ZMQ_DONTWAIT) == -EAGAIN, "EAGAIN on empty dealer");
    CHECK(link_router_recv(srv, &peer, r, sizeof r, ZMQ_DONTWAIT) == -EAGAIN, "EAGAIN on empty router");
    link_close(cli);
    link_close(srv);
}

static void test_link_router_serves_req_plants(void) {
    MaacErr e = {{0}};
    void* srv = link_bind(ctx, ZMQ_ROUTER, "inproc://req-plant", NULL, &e);
    void* cli = link_connect(ctx, ZMQ_REQ, "inproc://req-plant", NULL, &e);
    CHECK(srv && cli, "sockets: %s", e.msg);
    if (!srv || !cli) return;
    unsigned char b[256], r[256];
    for (int round = 0; round < 3; round++) {
        int n = wire_encode_bye(b, sizeof b);
        CHECK(link_send(cli, b, (size_t)n, 0) == 0, "req send");
        CHECK(link_poll_in(srv, 5000) == 1, "router readable");
        LinkPeer peer;
        int k = link_router_recv(srv, &peer, r, sizeof r, ZMQ_DONTWAIT);
        CHECK(k == n && peer.delim == 1, "req payload %d delim %d", k, peer.delim);
        n = wire_encode_error(b, sizeof b, "not_ready", "no hello yet", -1);
        CHECK(link_router_send(srv, &peer, b, (size_t)n, 0) == 0, "reply to req");
        CHECK(link_poll_in(cli, 5000) == 1, "req readable");
        k = link_recv(cli, r, sizeof r, ZMQ_DONTWAIT);
        WireMsg m;
        CHECK(k == n && wire_decode(r, (size_t)k, 0, 0, &m, NULL) == 0 && m.type == WIRE_MSG_ERROR,
              "req got the error reply (%d)", k);
    }
    link_close(cli);
    link_close(srv);
}

static void test_link_router_rejects_unknown_peer_and_bad_envelopes(void) {
    MaacErr e = {{0}};
    void* srv = link_bind(ctx, ZMQ_ROUTER, "inproc://env", NULL, &e);
    void* cli = link_connect(ctx, ZMQ_DEALER, "inproc://env", NULL, &e);
    if (!srv || !cli) { CHECK(0, "sockets: %s", e.msg); return; }
    LinkPeer ghost = {.id = {0, 1, 2, 3}, .id_len = 4};
    CHECK(link_router_send(srv, &ghost, "x", 1, ZMQ_DONTWAIT) == -EHOSTUNREACH, "unknown peer");
    LinkPeer none = {.id_len = 0};
    CHECK(link_router_send(srv, &none, "x", 1, 0) == -EHOSTUNREACH, "empty peer");
    // a plant sending two non-empty frames
    CHECK(zmq_send(cli, "ab", 2, ZMQ_SNDMORE) == 2 && zmq_send(cli, "cd", 2, 0) == 2, "multi");
    CHECK(link_poll_in(srv, 5000) == 1, "readable");
    unsigned char r[64];
    LinkPeer peer;
    CHECK(link_router_recv(srv, &peer, r, sizeof r, ZMQ_DONTWAIT) == -EPROTO, "extra frames: EPROTO");
    // a payload larger than the receive buffer: consumed, -EMSGSIZE, peer known
    static unsigned char big[4096];
    CHECK(link_send(cli, big, sizeof big, 0) == 0, "send big");
    CHECK(link_send(cli, "ok", 2, 0) == 0, "send small");
    CHECK(link_poll_in(srv, 5000) == 1, "readable");
    CHECK(link_router_recv(srv, &peer, r, sizeof r, ZMQ_DONTWAIT) == -EMSGSIZE && peer.id_len > 0,
          "big: EMSGSIZE with peer");
    CHECK(link_poll_in(srv, 5000) == 1, "readable");
    CHECK(link_router_recv(srv, &peer, r, sizeof r, ZMQ_DONTWAIT) == 2 && memcmp(r, "ok", 2) == 0,
          "next message intact");
    LinkPeer p2 = peer;
    CHECK(link_peer_equal(&peer, &p2) && !link_peer_equal(&peer, &ghost), "peer_equal");
    link_close(cli);
    link_close(srv);
}

static void test_link_maxmsgsize_drops_oversized_peer(void) {
    char ep[128];
    ep_ipc(ep, sizeof ep, "max.sock");
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = 1024;
    MaacErr e = {{0}};
    void* srv = link_bind(ctx, ZMQ_ROUTER, ep, &o, &e);
    void* mon = srv ? link_monitor_open(ctx, srv, "max", &e) : NULL;
    void* cli = link_connect(ctx, ZMQ_DEALER, ep, NULL, &e);
    if (!srv || !cli || !mon) { CHECK(0, "sockets: %s", e.msg); return; }
    static unsigned char big[4096];
    unsigned char r[8192];
    CHECK(link_send(cli, big, sizeof big, 0) == 0, "send big");
    // ZeroMQ disconnects the peer: the message never arrives, the monitor says so.
    int got_msg = link_poll_in(srv, 500);
    int accepted = 0, disconnected = 0;
    for (int i = 0; i < 50 && !disconnected; i++) {
        int ev;
        char addr[128];
        int rc = link_monitor_read(mon, &ev, addr, sizeof addr);
        if (rc == 0) { (void)link_poll_in(mon, 100); continue; }
        accepted += ev == ZMQ_EVENT_ACCEPTED;
        disconnected += ev == ZMQ_EVENT_DISCONNECTED;
    }
    CHECK(got_msg == 0, "oversized message was delivered");
    CHECK(accepted == 1 && disconnected == 1, "monitor: accepted %d disconnected %d", accepted,
          disconnected);
    CHECK(strcmp(link_event_name(ZMQ_EVENT_DISCONNECTED), "disconnected") == 0, "event name");
    (void)r;
    link_close(cli);
    link_close(mon);
    link_close(srv);
}

static void test_link_bind_errors_are_reported(void) {
    MaacErr e = {{0}};
    void* a = link_bind(ctx, ZMQ_REP, "tcp://127.0.0.1:*", NULL, &e);
    CHECK(a != NULL, "bind ephemeral: %s", e.msg);
    if (!a) return;
    char last[256];
    size_t sz = sizeof last;
    CHECK(zmq_getsockopt(a, ZMQ_LAST_ENDPOINT, last, &sz) == 0, "last endpoint");
    void* b = link_bind(ctx, ZMQ_REP, last, NULL, &e);
    CHECK(b == NULL && strstr(e.msg, "bind tcp://127.0.0.1:") && strstr(e.msg, "in use"),
          "second bind fails with a message: %s", e.msg);
    link_close(b);
    void* c = link_bind(ctx, ZMQ_REP, "nonsense://x", NULL, &e);
    CHECK(c == NULL && e.msg[0], "bad transport: %s", e.msg);
    link_close(a);
}

static void test_link_request_times_out_and_recovers(void) {
    MaacErr e = {{0}};
    void* rep = link_bind(ctx, ZMQ_REP, "inproc://ctl-test", NULL, &e);
    void* req = link_connect(ctx, ZMQ_REQ, "inproc://ctl-test", NULL, &e);
    if (!rep || !req) { CHECK(0, "sockets: %s", e.msg); return; }
    unsigned char b[256], r[256];
    int n = wire_encode_ctl(b, sizeof b, "status", NULL);
    // nobody answers: timeout
    CHECK(link_request(req, b, (size_t)n, r, sizeof r, 50) == -EAGAIN, "timeout");
    // the server reads and drops that one, then answers the next
    CHECK(link_recv(rep, r, sizeof r, 0) == n, "rep got first");
    WireWriter w;
    wire_w_init(&w, b + 128, 128);
    wire_w_reply_begin(&w, 0, 1);
    wire_w_str(&w, "error"); wire_w_str(&w, "late");
    CHECK(link_send(rep, b + 128, (size_t)wire_w_finish(&w), 0) == 0, "late reply");
    // second request: REQ_RELAXED lets us send; REQ_CORRELATE drops the late reply
    n = wire_encode_ctl(b, sizeof b, "stats", NULL);
    CHECK(link_send(req, b, (size_t)n, 0) == 0, "second request sent");
    WireMsg m;
    CHECK(link_poll_in(rep, 5000) == 1 && link_recv(rep, r, sizeof r, 0) == n &&
          wire_decode(r, (size_t)n, 0, 0, &m, NULL) == 0 && strcmp(m.u.ctl.cmd, "stats") == 0,
          "rep got second");
    wire_w_init(&w, b + 128, 128);
    wire_w_reply_begin(&w, 1, 0);
    CHECK(link_send(rep, b + 128, (size_t)wire_w_finish(&w), 0) == 0, "reply");
    CHECK(link_poll_in(req, 5000) == 1, "req readable");
    int k = link_recv(req, r, sizeof r, ZMQ_DONTWAIT);
    int ok = 0;
    CHECK(k > 0 && wire_get_bool(r, (size_t)k, "ok", &ok) == 0 && ok == 1, "got the right reply");
    link_close(req);
    link_close(rep);
}

static void test_link_push_pull_transitions(void) {
    MaacErr e = {{0}};
    void* pull = link_bind(ctx, ZMQ_PULL, LINK_LEARNER_INPROC, NULL, &e);
    void* push = link_connect(ctx, ZMQ_PUSH, LINK_LEARNER_INPROC, NULL, &e);
    if (!pull || !push) { CHECK(0, "sockets: %s", e.msg); return; }
    enum { S = 3, A = 1, N = 8, R = 2 * S + A + 2 };
    float rows[N * R];
    for (int i = 0; i < N * R; i++) rows[i] = (float)i;
    static unsigned char b[4096], r[4096];
    int total = 0;
    for (int k = 0; k < 10; k++) {
        int n = wire_encode_transitions(b, sizeof b, S, A, N, rows, "t");
        CHECK(link_send(push, b, (size_t)n, ZMQ_DONTWAIT) == 0, "push");
    }
    for (int k = 0; k < 10; k++) {
        int n = link_recv(pull, r, sizeof r, 0);
        WireMsg m;
        if (n > 0 && wire_decode(r, (size_t)n, S, A, &m, NULL) == 0) total += m.u.tr.n;
    }
    CHECK(total == 10 * N, "pulled %d transitions", total);
    link_close(push);
    link_close(pull);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/maac-test-link-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    ctx = zmq_ctx_new();
    char ep[128];
    test_link_endpoint_prepare_makes_dirs();
    test_link_router_dealer_round_trip("inproc://plant-test");
    ep_ipc(ep, sizeof ep, "plant.sock");
    test_link_router_dealer_round_trip(ep);
    test_link_router_dealer_round_trip("tcp://127.0.0.1:*");
    test_link_router_serves_req_plants();
    test_link_router_rejects_unknown_peer_and_bad_envelopes();
    test_link_maxmsgsize_drops_oversized_peer();
    test_link_bind_errors_are_reported();
    test_link_request_times_out_and_recovers();
    test_link_push_pull_transitions();
    zmq_ctx_term(ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_link");
}
