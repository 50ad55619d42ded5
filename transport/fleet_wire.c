// SPDX-License-Identifier: Apache-2.0
// fleet_wire.c -- encode / decode the fleet messages (fleet_wire.h) with wire.h's
// bounded msgpack writer and key readers.
// Thread: any. Allocation: none.
#include "transport/fleet_wire.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const char* const NAMES[] = {"", "fleet_hello", "fleet_rows", "fleet_ack", "fleet_policy"};

static void head(WireWriter* w, FleetMsgType t, uint32_t n_extra) {
    wire_w_map(w, n_extra + 2);
    wire_w_str(w, "v");
    wire_w_uint(w, WIRE_VERSION);
    wire_w_str(w, "type");
    wire_w_str(w, NAMES[t]);
}

static void kv_u(WireWriter* w, const char* k, uint64_t v) {
    wire_w_str(w, k);
    wire_w_uint(w, v);
}

static void bounds_bin(WireWriter* w, const char* key, const float* v, int n) {
    unsigned char b[8 * WIRE_MAX_ACT];
    for (int j = 0; j < n && j < WIRE_MAX_ACT; j++) {
        double d = v[j];
        uint64_t u;
        memcpy(&u, &d, 8);
        for (int k = 0; k < 8; k++) b[8 * j + k] = (unsigned char)(u >> (8 * k));   // LE
    }
    wire_w_str(w, key);
    wire_w_bin(w, b, (size_t)(8 * (n < WIRE_MAX_ACT ? n : WIRE_MAX_ACT)));
}

int fleet_encode_hello(void* buf, size_t cap, const char* robot, uint64_t boot, const char* plant,
                       int obs_dim, int act_dim, double dt, const float* low, const float* high,
                       uint64_t served, uint64_t acked, uint64_t rows) {
    WireWriter w;
    wire_w_init(&w, buf, cap);
    head(&w, FLEET_HELLO, 11);
    wire_w_str(&w, "dt");
    wire_w_double(&w, dt);
    bounds_bin(&w, "act_low", low, act_dim);
    bounds_bin(&w, "act_high", high, act_dim);
    wire_w_str(&w, "robot");
    wire_w_str(&w, robot);
    kv_u(&w, "boot", boot);
    wire_w_str(&w, "plant");
    wire_w_str(&w, plant);
    kv_u(&w, "obs_dim", (uint64_t)obs_dim);
    kv_u(&w, "act_dim", (uint64_t)act_dim);
    kv_u(&w, "served", served);
    kv_u(&w, "acked", acked);
    kv_u(&w, "rows", rows);
    return wire_w_finish(&w);
}

int fleet_encode_rows(void* buf, size_t cap, const char* robot, uint64_t boot, uint64_t seq, uint64_t acked,
                      uint64_t served, const void* tr, size_t tr_len) {
    WireWriter w;
    wire_w_init(&w, buf, cap);
    head(&w, FLEET_ROWS, 6);
    wire_w_str(&w, "robot");
    wire_w_str(&w, robot);
    kv_u(&w, "boot", boot);
    kv_u(&w, "seq", seq);
    kv_u(&w, "acked", acked);
    kv_u(&w, "served", served);
    wire_w_str(&w, "tr");
    wire_w_bin(&w, tr, tr_len);
    return wire_w_finish(&w);
}

int fleet_encode_ack(void* buf, size_t cap, uint64_t learner, uint64_t next, int rewind,
                     uint64_t version) {
    WireWriter w;
    wire_w_init(&w, buf, cap);
    head(&w, FLEET_ACK, 4);
    kv_u(&w, "learner", learner);
    kv_u(&w, "next", next);
    wire_w_str(&w, "rewind");
    wire_w_bool(&w, rewind);
    kv_u(&w, "version", version);
    return wire_w_finish(&w);
}

int fleet_encode_policy(void* buf, size_t cap, uint64_t learner, uint64_t version,
                        const void* ckpt, size_t ckpt_len) {
    WireWriter w;
    wire_w_init(&w, buf, cap);
    head(&w, FLEET_POLICY, 3);
    kv_u(&w, "learner", learner);
    kv_u(&w, "version", version);
    wire_w_str(&w, "policy");
    wire_w_bin(&w, ckpt, ckpt_len);
    return wire_w_finish(&w);
}

//---- decoding ---------------------------------------------------------------------

static int get_u(const void* b, size_t n, const char* k, uint64_t* ret, MaacErr* e) {
    int64_t v;
    int r = wire_get_int(b, n, k, &v);
    if (r < 0 || v < 0) return maac_err(e, r < 0 ? r : -EPROTO, "%s: missing or not a "
                                        "non-negative integer", k);
    *ret = (uint64_t)v;
    return 0;
}

static int get_s(const void* b, size_t n, const char* k, char* out, MaacErr* e) {
    int r = wire_get_str(b, n, k, out, WIRE_MAX_NAME);
    return r < 0 ? maac_err(e, r, "%s: missing or not a string", k) : 0;
}

static int get_bounds(const void* b, size_t n, const char* k, double* out, int dim, MaacErr* e) {
    const unsigned char* d;
    size_t len;
    if (wire_get_bin(b, n, k, &d, &len) < 0 || len != (size_t)(8 * dim))
        return maac_err(e, -ERANGE, "%s: missing or not %d float64 values", k, dim);
    for (int j = 0; j < dim; j++) {
        uint64_t u = 0;
        for (int q = 0; q < 8; q++) u |= (uint64_t)d[8 * j + q] << (8 * q);
        memcpy(&out[j], &u, 8);
        if (!isfinite(out[j])) return maac_err(e, -EDOM, "%s[%d] is not finite", k, j);
    }
    return 0;
}

static int decode_hello(const void* b, size_t n, FleetMsg* m, MaacErr* e) {
    uint64_t od = 0, ad = 0;
    int r;
    if ((r = get_s(b, n, "robot", m->robot, e)) < 0 || (r = get_u(b, n, "boot", &m->boot, e)) < 0 ||
        (r = get_s(b, n, "plant", m->plant, e)) < 0 ||
        (r = get_u(b, n, "obs_dim", &od, e)) < 0 || (r = get_u(b, n, "act_dim", &ad, e)) < 0 ||
        (r = get_u(b, n, "served", &m->served, e)) < 0 ||
        (r = get_u(b, n, "acked", &m->acked, e)) < 0 || (r = get_u(b, n, "rows", &m->rows, e)) < 0)
        return r;
    if (od < 1 || od > WIRE_MAX_OBS || ad < 1 || ad > WIRE_MAX_ACT)
        return maac_err(e, -ERANGE, "dims out of range");
    m->obs_dim = (int)od;
    m->act_dim = (int)ad;
    if (wire_get_double(b, n, "dt", &m->dt) < 0 || !(m->dt > 0) || !isfinite(m->dt))
        return maac_err(e, -EPROTO, "dt: missing or not a positive number");
    if ((r = get_bounds(b, n, "act_low", m->act_low, m->act_dim, e)) < 0 ||
        (r = get_bounds(b, n, "act_high", m->act_high, m->act_dim, e)) < 0)
        return r;
    for (int j = 0; j < m->act_dim; j++)
        if (!(m->act_low[j] < m->act_high[j]))
            return maac_err(e, -EDOM, "act_low[%d] >= act_high[%d]", j, j);
    return 0;
}

static int decode_rows(const void* b, size_t n, FleetMsg* m, MaacErr* e) {
    int r;
    if ((r = get_s(b, n, "robot", m->robot, e)) < 0 || (r = get_u(b, n, "boot", &m->boot, e)) < 0 ||
        (r = get_u(b, n, "seq", &m->seq, e)) < 0 ||
        (r = get_u(b, n, "acked", &m->acked, e)) < 0 ||
        (r = get_u(b, n, "served", &m->served, e)) < 0)
        return r;
    r = wire_get_bin(b, n, "tr", &m->tr, &m->tr_len);
    return r < 0 ? maac_err(e, r, "tr: missing or not bin") : 0;
}

static int decode_ack(const void* b, size_t n, FleetMsg* m, MaacErr* e) {
    int r;
    if ((r = get_u(b, n, "learner", &m->learner, e)) < 0 ||
        (r = get_u(b, n, "next", &m->next, e)) < 0 ||
        (r = get_u(b, n, "version", &m->version, e)) < 0)
        return r;
    r = wire_get_bool(b, n, "rewind", &m->rewind);
    return r < 0 ? maac_err(e, r, "rewind: missing or not a bool") : 0;
}

static int decode_policy(const void* b, size_t n, FleetMsg* m, MaacErr* e) {
    int r;
    if ((r = get_u(b, n, "learner", &m->learner, e)) < 0 ||
        (r = get_u(b, n, "version", &m->version, e)) < 0)
        return r;
    r = wire_get_bin(b, n, "policy", &m->policy, &m->policy_len);
    return r < 0 ? maac_err(e, r, "policy: missing or not bin") : 0;
}

int fleet_decode(const void* buf, size_t len, FleetMsg* m, MaacErr* e) {
    memset(m, 0, sizeof *m);
    int64_t v = 0;
    char type[WIRE_MAX_NAME];
    int r = wire_get_int(buf, len, "v", &v);
    if (r < 0) return maac_err(e, r == -ENOENT ? -EPROTO : r, "not a fleet message (no \"v\")");
    if (v != WIRE_VERSION)
        return maac_err(e, -EPROTONOSUPPORT, "protocol version %lld, expected %d",
                        (long long)v, WIRE_VERSION);
    if ((r = wire_get_str(buf, len, "type", type, sizeof type)) < 0)
        return maac_err(e, -EPROTO, "no \"type\"");
    for (int t = FLEET_HELLO; t <= FLEET_POLICY; t++)
        if (!strcmp(type, NAMES[t])) m->type = (FleetMsgType)t;
    switch (m->type) {
    case FLEET_HELLO: return decode_hello(buf, len, m, e);
    case FLEET_ROWS: return decode_rows(buf, len, m, e);
    case FLEET_ACK: return decode_ack(buf, len, m, e);
    case FLEET_POLICY: return decode_policy(buf, len, m, e);
    default: return maac_err(e, -EPROTO, "unknown fleet message type '%.60s'", type);
    }
}
