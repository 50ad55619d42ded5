// SPDX-License-Identifier: Apache-2.0
// transport.c -- bench_transport: plant <-> daemon observation -> action round trip
// with the maacd wire protocol (transport/wire + link) over ipc and tcp loopback, next
// to a bare ZeroMQ REQ/REP echo of the same message size; and transitions per second
// through PUSH/PULL inproc into a learner-style consumer.
//
// Round trip: a client thread (the plant: DEALER) encodes an obs (obs_dim 17, the
// half_cheetah width), sends it, waits for the action and decodes it; a server thread
// (the daemon side: ROUTER) decodes the obs with full validation and answers with an
// encoded action (6 entries). The bare baseline sends the same number of bytes through
// REQ/REP and echoes them back untouched. The two alternate in blocks of 250 round
// trips so both see the same load. Latencies are per round trip, p50/p99 over --iters
// after a warm-up. Goal: ours within 1.3x of bare at p99.
// Transitions: a producer encodes batches (1 row, as the control thread sends, and 64
// rows, as a fleet sender may) and pushes them; the consumer pulls, decodes (validating
// every float) and copies every row out. Goal: >= 100k transitions/s.
// Prints figures only; never asserts on time.
// usage: bench_transport [--iters N] [--transitions N]
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "transport/link.h"
#include "transport/wire.h"

#define S 17
#define A 6

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return (x > y) - (x < y);
}

typedef struct {
    double p50_us, p99_us, mean_us;
} Lat;

static Lat summarise(int64_t* t, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (double)t[i];
    qsort(t, (size_t)n, sizeof *t, cmp_i64);
    return (Lat){t[n / 2] * 1e-3, t[(int)((n - 1) * 0.99)] * 1e-3, sum / n * 1e-3};
}

static void* ctx;
static int g_iters = 20000, g_warm = 2000;

//---- ours: ROUTER server decoding obs, answering actions ---------------------------
typedef struct {
    void* sock;
    long served, errors;
} Server;

static void* wire_server(void* arg) {
    Server* sv = arg;
    unsigned char rx[4096], tx[WIRE_ACT_BUF];
    static _Thread_local WireMsg m;
    for (;;) {
        LinkPeer peer;
        int n = link_router_recv(sv->sock, &peer, rx, sizeof rx, 0);
        if (n < 0) {
            if (n == -ETERM) break;
            sv->errors++;
            continue;
        }
        MaacErr e;
        if (wire_decode(rx, (size_t)n, S, A, &m, &e) < 0) {
            sv->errors++;
            continue;
        }
        if (m.type == WIRE_MSG_BYE) break;
        WireAction a = {.seq = m.u.obs.seq, .act_dim = A, .policy_version = 1};
        for (int j = 0; j < A; j++) a.action[j] = m.u.obs.obs[j] * 0.5;
        int k = wire_encode_action(tx, sizeof tx, &a);
        if (link_router_send(sv->sock, &peer, tx, (size_t)k, 0) < 0) sv->errors++;
        sv->served++;
    }
    return NULL;
}

static int obs_size(void) {
    unsigned char b[WIRE_OBS_BUF];
    WireObs o = {.seq = 1000000, .t_ns = 1700000000000000000ll, .obs_dim = S};
    for (int i = 0; i < S; i++) o.obs[i] = 0.1 * i + 0.123456789;
    return wire_encode_obs(b, sizeof b, &o);
}

//---- bare ZeroMQ REQ/REP echo ---------------------------------------------------------
static void* echo_server(void* arg) {
    void* s = arg;
    unsigned char b[4096];
    for (;;) {
        int n = zmq_recv(s, b, sizeof b, 0);
        if (n < 0) break;
        if (n == 3 && !memcmp(b, "end", 3)) {
            zmq_send(s, b, 3, 0);
            break;
        }
        zmq_send(s, b, (size_t)n, 0);
    }
    return NULL;
}

//---- both, interleaved ------------------------------------------------------------------
// The bare echo and the wire round trip run in alternating blocks of BLOCK round trips
// over live connections, so both see the same machine load (a shared, busy machine
// otherwise makes whichever runs second look better or worse).
#define BLOCK 250

static void bench_pair(const char* ep_bare, const char* ep_wire, int size, Lat* ret_bare,
                       Lat* ret_wire, int* ret_errors) {
    MaacErr e = {{0}};
    char conn[256];
    size_t sz;
    int linger = 0;
    // bare
    void* rep = zmq_socket(ctx, ZMQ_REP);
    zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(rep, ep_bare) < 0) { perror("bind"); exit(1); }
    sz = sizeof conn;
    zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, conn, &sz);
    void* req = zmq_socket(ctx, ZMQ_REQ);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(req, conn);
    pthread_t th_bare;
    pthread_create(&th_bare, NULL, echo_server, rep);
    // wire
    Server sv = {0};
    sv.sock = link_bind(ctx, ZMQ_ROUTER, ep_wire, NULL, &e);
    if (!sv.sock) { fprintf(stderr, "%s\n", e.msg); exit(1); }
    sz = sizeof conn;
    zmq_getsockopt(sv.sock, ZMQ_LAST_ENDPOINT, conn, &sz);
    void* cli = link_connect(ctx, ZMQ_DEALER, conn, NULL, &e);
    pthread_t th_wire;
    pthread_create(&th_wire, NULL, wire_server, &sv);

    int64_t* tb = malloc(sizeof(int64_t) * (size_t)g_iters);
    int64_t* tw = malloc(sizeof(int64_t) * (size_t)g_iters);
    unsigned char b[4096], r[4096], tx[WIRE_OBS_BUF], rx[1024];
    memset(b, 0x5a, sizeof b);
    WireMsg* m = malloc(sizeof *m);
    WireObs o = {.t_ns = 1700000000000000000ll, .obs_dim = S};
    int bad = 0;
    uint64_t seq = 0;
    for (int start = -g_warm; start < g_iters; start += BLOCK) {
        int end = start + BLOCK < g_iters ? start + BLOCK : g_iters;
        for (int i = start; i < end; i++) {
            int64_t t0 = now_ns();
            zmq_send(req, b, (size_t)size, 0);
            zmq_recv(req, r, sizeof r, 0);
            int64_t t1 = now_ns();
            if (i >= 0) tb[i] = t1 - t0;
        }
        for (int i = start; i < end; i++) {
            int64_t t0 = now_ns();
            o.seq = seq++;
            for (int j = 0; j < S; j++) o.obs[j] = 0.1 * j + 1e-6 * i;
            int n = wire_encode_obs(tx, sizeof tx, &o);
            link_send(cli, tx, (size_t)n, 0);
            int k = link_recv(cli, rx, sizeof rx, 0);
            if (k < 0 || wire_decode(rx, (size_t)k, 0, A, m, NULL) < 0 || m->u.action.seq != o.seq)
                bad++;
            int64_t t1 = now_ns();
            if (i >= 0) tw[i] = t1 - t0;
        }
    }
    zmq_send(req, "end", 3, 0);
    zmq_recv(req, r, sizeof r, 0);
    pthread_join(th_bare, NULL);
    int n = wire_encode_bye(tx, sizeof tx);
    link_send(cli, tx, (size_t)n, 0);
    pthread_join(th_wire, NULL);
    zmq_close(req);
    zmq_close(rep);
    link_close(cli);
    link_close(sv.sock);
    *ret_bare = summarise(tb, g_iters);
    *ret_wire = summarise(tw, g_iters);
    *ret_errors = bad + (int)sv.errors;
    free(tb);
    free(tw);
    free(m);
}

//---- transitions through PUSH/PULL inproc -----------------------------------------------
typedef struct {
    int batch;
    long n_rows;
} Producer;

static void* producer(void* arg) {
    Producer* p = arg;
    MaacErr e = {{0}};
    void* push = link_connect(ctx, ZMQ_PUSH, "inproc://bench-learner", NULL, &e);
    enum { R = 2 * S + A + 2 };
    size_t cap = wire_transitions_size(S, A, p->batch, "bench");
    unsigned char* buf = malloc(cap);
    float* rows = malloc(sizeof(float) * (size_t)p->batch * R);
    for (int i = 0; i < p->batch * R; i++) rows[i] = (float)(i % 13) * 0.1f;
    for (long sent = 0; sent < p->n_rows; sent += p->batch) {
        rows[0] = (float)sent;
        int n = wire_encode_transitions(buf, cap, S, A, p->batch, rows, "bench");
        link_send(push, buf, (size_t)n, 0);
    }
    link_send(push, "", 0, 0);   // end marker
    link_close(push);
    free(buf);
    free(rows);
    return NULL;
}

static double bench_transitions(int batch, long n_rows, long* ret_got) {
    MaacErr e = {{0}};
    void* pull = link_bind(ctx, ZMQ_PULL, "inproc://bench-learner", NULL, &e);
    Producer p = {batch, n_rows};
    size_t cap = wire_transitions_size(S, A, batch, "bench") + 64;
    unsigned char* buf = malloc(cap);
    WireMsg* m = malloc(sizeof *m);
    float s[S], a[A], r, s2[S], d;
    double check = 0;
    long got = 0;
    pthread_t th;
    int64_t t0 = now_ns();
    pthread_create(&th, NULL, producer, &p);
    for (;;) {
        int n = link_recv(pull, buf, cap, 0);
        if (n <= 0) break;
        if (wire_decode(buf, (size_t)n, S, A, m, NULL) < 0) continue;
        for (int i = 0; i < m->u.tr.n; i++) {
            wire_transitions_row(&m->u.tr, i, s, a, &r, s2, &d);
            check += s[0] + a[0] + r + s2[0] + d;
        }
        got += m->u.tr.n;
    }
    double secs = (now_ns() - t0) * 1e-9;
    pthread_join(th, NULL);
    link_close(pull);
    free(buf);
    free(m);
    *ret_got = got + (check < -1 ? 1 : 0);
    return (double)got / secs;
}

// Codec alone: ns per obs encode / decode (17 floats) and action encode / decode.
static void bench_codec(void) {
    unsigned char b[WIRE_OBS_BUF], c[WIRE_ACT_BUF];
    WireObs o = {.seq = 1, .t_ns = 1700000000000000000ll, .obs_dim = S};
    WireAction a = {.seq = 1, .act_dim = A, .policy_version = 3};
    WireMsg* m = malloc(sizeof *m);
    int n = 0, k = 0, reps = 1000000;
    double sink = 0;
    int64_t t0 = now_ns();
    for (int i = 0; i < reps; i++) {
        o.seq = (uint64_t)i;
        o.obs[i % S] = i;
        n = wire_encode_obs(b, sizeof b, &o);
    }
    int64_t t1 = now_ns();
    for (int i = 0; i < reps; i++) {
        b[n - 10] = (unsigned char)i;   // inside the last float (reward): defeat hoisting
        if (wire_decode(b, (size_t)n, S, A, m, NULL) == 0) sink += m->u.obs.reward;
    }
    int64_t t2 = now_ns();
    for (int i = 0; i < reps; i++) {
        a.seq = (uint64_t)i;
        a.action[i % A] = i;
        k = wire_encode_action(c, sizeof c, &a);
    }
    int64_t t3 = now_ns();
    for (int i = 0; i < reps; i++) {
        c[k - 12] = (unsigned char)i;
        if (wire_decode(c, (size_t)k, S, A, m, NULL) == 0) sink += m->u.action.action[A - 1];
    }
    int64_t t4 = now_ns();
    printf("codec: obs encode %.0f ns, decode %.0f ns; action encode %.0f ns, decode %.0f ns%s\n",
           (double)(t1 - t0) / reps, (double)(t2 - t1) / reps, (double)(t3 - t2) / reps,
           (double)(t4 - t3) / reps, sink == 12345.678 ? " " : "");
    free(m);
}

int main(int argc, char** argv) {
    long n_trans = 2000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--iters")) g_iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--transitions")) n_trans = atol(argv[i + 1]);
    }
    if (g_iters < 100) g_iters = 100;
    g_warm = g_iters / 10;
    ctx = zmq_ctx_new();
    char dir[] = "/tmp/maac-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    bench_codec();
    int size = obs_size();
    printf("bench_transport: obs %d floats (%d bytes msgpack), action %d floats; %d round trips "
           "after %d warm-up\n", S, size, A, g_iters, g_warm);
    printf("%-6s %-28s %10s %10s %10s\n", "link", "what", "p50_us", "p99_us", "mean_us");
    const char* names[2] = {"ipc", "tcp"};
    for (int k = 0; k < 2; k++) {
        char ep_bare[128], ep_wire[128];
        if (k == 0) {
            snprintf(ep_bare, sizeof ep_bare, "ipc://%s/bare.sock", dir);
            snprintf(ep_wire, sizeof ep_wire, "ipc://%s/wire.sock", dir);
        } else {
            snprintf(ep_bare, sizeof ep_bare, "tcp://127.0.0.1:*");
            snprintf(ep_wire, sizeof ep_wire, "tcp://127.0.0.1:*");
        }
        int errors = 0;
        Lat bare, wire;
        bench_pair(ep_bare, ep_wire, size, &bare, &wire, &errors);
        printf("%-6s %-28s %10.1f %10.1f %10.1f\n", names[k], "bare zmq REQ/REP echo", bare.p50_us,
               bare.p99_us, bare.mean_us);
        printf("%-6s %-28s %10.1f %10.1f %10.1f\n", names[k], "maacd obs->action (wire)",
               wire.p50_us, wire.p99_us, wire.mean_us);
        printf("%-6s %-28s %10.2fx %9.2fx %9.2fx   (goal p99 <= 1.3x)%s\n", names[k], "ratio",
               wire.p50_us / bare.p50_us, wire.p99_us / bare.p99_us, wire.mean_us / bare.mean_us,
               errors ? "  ERRORS" : "");
    }
    int batches[2] = {1, 64};
    for (int b = 0; b < 2; b++) {
        long got;
        long n = batches[b] == 1 ? n_trans / 4 : n_trans;
        double rate = bench_transitions(batches[b], n, &got);
        printf("transitions inproc PUSH/PULL, %2d per message: %10.0f /s (%ld received; goal >= 100000)\n",
               batches[b], rate, got);
    }
    zmq_ctx_term(ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return 0;
}
