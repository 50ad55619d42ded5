// SPDX-License-Identifier: Apache-2.0
// link.c -- ZeroMQ socket helpers: options, bind/connect, framed send/receive.
//
// Everything here is a checked wrapper over libzmq 4.3 (zmq_socket, zmq_setsockopt,
// zmq_send/zmq_recv into caller buffers, zmq_poll, zmq_socket_monitor); errors come
// back as -zmq_errno() and, where a person needs it, a MaacErr naming the endpoint.
// zmq_recv copies into the caller's buffer and reports the full size, so a message
// larger than the buffer is detected (-EMSGSIZE) without ever being copied whole.
//
// Thread: a socket is used by one thread at a time. Allocation: socket creation
// only (libzmq manages its own message memory).
#include "transport/link.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

/* ==== sockets ================================================================== */

void link_opts_default(LinkOpts* o) {
    memset(o, 0, sizeof *o);
    o->max_msg_bytes = LINK_HARD_MAX_MSG;
    o->rcvtimeo_ms = -1;
    o->sndtimeo_ms = -1;
    o->linger_ms = 0;
}

int link_endpoint_prepare(const char* endpoint, MaacErr* reterr) {
    char path[512];
    if (strncmp(endpoint, "ipc://", 6) != 0 || endpoint[6] == '@') return 0;
    const char* p = endpoint + 6;
    size_t n = strlen(p);
    if (n >= sizeof path) return maac_err(reterr, -ENAMETOOLONG, "ipc path too long: %s", p);
    memcpy(path, p, n + 1);
    char* slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    *slash = 0;
    // mkdir -p
    for (char* q = path + 1; ; q++) {
        if (*q == '/' || *q == 0) {
            char c = *q;
            *q = 0;
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return maac_err(reterr, -errno, "mkdir %s: %s", path, strerror(errno));
            *q = c;
            if (!c) break;
        }
    }
    return 0;
}

static int set_int(void* s, int opt, int v) { return zmq_setsockopt(s, opt, &v, sizeof v); }

// CURVE options go before bind/connect (they apply to the connections that follow).
static int set_curve(void* s, const LinkCurve* c) {
    if (!c) return 0;
    if (c->server) {
        int rc = set_int(s, ZMQ_CURVE_SERVER, 1);
        if (rc == 0) rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, 41);
        if (rc == 0) rc = zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "maacd", 5);
        return rc;
    }
    int rc = zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_key, 41);
    if (rc == 0) rc = zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->public_key, 41);
    if (rc == 0) rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, 41);
    return rc;
}

static void* make_socket(void* ctx, int type, const LinkOpts* opts, MaacErr* reterr) {
    LinkOpts def;
    if (!opts) {
        link_opts_default(&def);
        opts = &def;
    }
    void* s = zmq_socket(ctx, type);
    if (!s) {
        int e = zmq_errno();
        maac_err(reterr, -e, "zmq_socket: %s", zmq_strerror(e));
        return NULL;
    }
    int64_t maxmsg = opts->max_msg_bytes;
    int rc = zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (rc == 0) rc = set_int(s, ZMQ_LINGER, opts->linger_ms);
    if (rc == 0) rc = set_int(s, ZMQ_RCVTIMEO, opts->rcvtimeo_ms);
    if (rc == 0) rc = set_int(s, ZMQ_SNDTIMEO, opts->sndtimeo_ms);
    if (rc == 0 && opts->sndhwm > 0) rc = set_int(s, ZMQ_SNDHWM, opts->sndhwm);
    if (rc == 0 && opts->rcvhwm > 0) rc = set_int(s, ZMQ_RCVHWM, opts->rcvhwm);
    if (rc == 0 && opts->immediate) rc = set_int(s, ZMQ_IMMEDIATE, 1);
    if (rc == 0 && opts->reconnect_ivl_ms > 0)
        rc = set_int(s, ZMQ_RECONNECT_IVL, opts->reconnect_ivl_ms);
    if (rc == 0 && type == ZMQ_ROUTER) rc = set_int(s, ZMQ_ROUTER_MANDATORY, 1);
    if (rc == 0 && type == ZMQ_REQ) rc = set_int(s, ZMQ_REQ_RELAXED, 1);
    if (rc == 0 && type == ZMQ_REQ) rc = set_int(s, ZMQ_REQ_CORRELATE, 1);
    if (rc == 0) rc = set_curve(s, opts->curve);
    if (rc < 0) {
        int e = zmq_errno();
        maac_err(reterr, -e, "zmq_setsockopt: %s", zmq_strerror(e));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void* link_bind(void* ctx, int type, const char* endpoint, const LinkOpts* opts,
                MaacErr* reterr) {
    if (link_endpoint_prepare(endpoint, reterr) < 0) return NULL;
    void* s = make_socket(ctx, type, opts, reterr);
    if (!s) return NULL;
    if (zmq_bind(s, endpoint) < 0) {
        int e = zmq_errno();
        maac_err(reterr, -e, "bind %s: %s", endpoint, zmq_strerror(e));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void* link_connect(void* ctx, int type, const char* endpoint, const LinkOpts* opts,
                   MaacErr* reterr) {
    void* s = make_socket(ctx, type, opts, reterr);
    if (!s) return NULL;
    if (zmq_connect(s, endpoint) < 0) {
        int e = zmq_errno();
        maac_err(reterr, -e, "connect %s: %s", endpoint, zmq_strerror(e));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void link_close(void* sock) {
    if (sock) (void)zmq_close(sock);
}

/* ==== frames ==================================================================== */

static int more(void* s) {
    int m = 0;
    size_t sz = sizeof m;
    if (zmq_getsockopt(s, ZMQ_RCVMORE, &m, &sz) < 0) return 0;
    return m;
}

// Throw away the rest of a multipart message.
static void drain(void* s) {
    char sink[1];
    while (more(s))
        if (zmq_recv(s, sink, 0, 0) < 0) break;
}

int link_send(void* sock, const void* buf, size_t len, int flags) {
    return zmq_send(sock, buf, len, flags) < 0 ? -zmq_errno() : 0;
}

int link_recv(void* sock, void* buf, size_t cap, int flags) {
    int n = zmq_recv(sock, buf, cap, flags);
    if (n < 0) return -zmq_errno();
    // Keep the last frame (REQ/REP envelopes are stripped by libzmq already; a DEALER
    // talking to a REQ-style peer may see an empty delimiter first).
    while (more(sock)) {
        n = zmq_recv(sock, buf, cap, 0);
        if (n < 0) return -zmq_errno();
    }
    return (size_t)n > cap ? -EMSGSIZE : n;
}

int link_poll_in(void* sock, int timeout_ms) {
    zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc < 0) return -zmq_errno();
    return rc > 0 && (it.revents & ZMQ_POLLIN) ? 1 : 0;
}

/* ==== ROUTER ===================================================================== */

int link_router_recv(void* sock, LinkPeer* ret_peer, void* buf, size_t cap, int flags) {
    int n = zmq_recv(sock, ret_peer->id, sizeof ret_peer->id, flags);
    ret_peer->delim = 0;
    ret_peer->has_env = 0;
    ret_peer->env_len = 0;
    if (n < 0) {
        ret_peer->id_len = 0;
        return -zmq_errno();
    }
    ret_peer->id_len = (size_t)n > sizeof ret_peer->id ? sizeof ret_peer->id : (size_t)n;
    if (!more(sock)) return -EPROTO;          // an identity with no payload
    n = zmq_recv(sock, buf, cap, 0);
    if (n < 0) return -zmq_errno();
    if (n > 0 && more(sock)) {                // REQ_CORRELATE request id, then ""
        if ((size_t)n > LINK_MAX_ENV || (size_t)n > cap) {
            drain(sock);
            return -EPROTO;
        }
        memcpy(ret_peer->env, buf, (size_t)n);
        ret_peer->env_len = (size_t)n;
        ret_peer->has_env = 1;
        n = zmq_recv(sock, buf, cap, 0);
        if (n < 0) return -zmq_errno();
        if (n != 0 || !more(sock)) {          // must be the empty delimiter
            drain(sock);
            return -EPROTO;
        }
    }
    if (n == 0 && more(sock)) {               // REQ peer: empty delimiter, then payload
        ret_peer->delim = 1;
        n = zmq_recv(sock, buf, cap, 0);
        if (n < 0) return -zmq_errno();
    }
    if (more(sock)) {                         // extra frames: not our protocol
        drain(sock);
        return -EPROTO;
    }
    return (size_t)n > cap ? -EMSGSIZE : n;
}

int link_router_send(void* sock, const LinkPeer* peer, const void* buf, size_t len,
                     int flags) {
    if (!peer->id_len) return -EHOSTUNREACH;
    if (zmq_send(sock, peer->id, peer->id_len, flags | ZMQ_SNDMORE) < 0) return -zmq_errno();
    // Once the first frame is queued the rest of the message is queued atomically.
    if (peer->has_env && zmq_send(sock, peer->env, peer->env_len, ZMQ_SNDMORE) < 0)
        return -zmq_errno();
    if (peer->delim && zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0) return -zmq_errno();
    if (zmq_send(sock, buf, len, 0) < 0) return -zmq_errno();
    return 0;
}

int link_peer_equal(const LinkPeer* a, const LinkPeer* b) {
    return a->id_len == b->id_len && a->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

/* ==== request/reply =============================================================== */

int link_request(void* sock, const void* req, size_t req_len, void* reply, size_t cap,
                 int timeout_ms) {
    int rc = link_send(sock, req, req_len, 0);
    if (rc < 0) return rc;
    rc = link_poll_in(sock, timeout_ms);
    if (rc < 0) return rc;
    if (rc == 0) return -EAGAIN;
    return link_recv(sock, reply, cap, 0);
}

/* ==== monitor ===================================================================== */

void* link_monitor_open(void* ctx, void* sock, const char* name, MaacErr* reterr) {
    char ep[128];
    snprintf(ep, sizeof ep, "inproc://maac-monitor-%s", name);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(sock, ep, events) < 0) {
        int e = zmq_errno();
        maac_err(reterr, -e, "zmq_socket_monitor %s: %s", ep, zmq_strerror(e));
        return NULL;
    }
    void* mon = make_socket(ctx, ZMQ_PAIR, NULL, reterr);
    if (!mon) return NULL;
    if (zmq_connect(mon, ep) < 0) {
        int e = zmq_errno();
        maac_err(reterr, -e, "connect %s: %s", ep, zmq_strerror(e));
        zmq_close(mon);
        return NULL;
    }
    return mon;
}

int link_monitor_read(void* mon, int* ret_event, char* addr, size_t cap) {
    unsigned char ev[6];
    char tmp[256];
    int n = zmq_recv(mon, ev, sizeof ev, ZMQ_DONTWAIT);
    if (n < 0) {
        int e = zmq_errno();
        return e == EAGAIN ? 0 : -e;
    }
    uint16_t id;
    memcpy(&id, ev, 2);      // native byte order (zmq_socket_monitor)
    *ret_event = id;
    if (addr && cap) addr[0] = 0;
    if (more(mon)) {
        int k = zmq_recv(mon, tmp, sizeof tmp - 1, 0);
        if (k < 0) return -zmq_errno();
        if (k > (int)sizeof tmp - 1) k = (int)sizeof tmp - 1;
        tmp[k] = 0;
        if (addr && cap) snprintf(addr, cap, "%s", tmp);
        drain(mon);
    }
    return 1;
}

const char* link_event_name(int event) {
    switch (event) {
    case ZMQ_EVENT_ACCEPTED: return "accepted";
    case ZMQ_EVENT_CONNECTED: return "connected";
    case ZMQ_EVENT_DISCONNECTED: return "disconnected";
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return "handshake_failed";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return "handshake_failed_protocol";
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return "handshake_failed_auth";
    case ZMQ_EVENT_MONITOR_STOPPED: return "monitor_stopped";
    default: return "event";
    }
}
