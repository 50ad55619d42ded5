// SPDX-License-Identifier: Apache-2.0
// wire.c -- msgpack codec for the maacd wire protocol (docs/protocol.md).
//
// A hand-rolled msgpack reader and writer instead of msgpack-c's unpacker: the
// control loop decodes an observation every tick and must not allocate, and
// msgpack_unpack / msgpack_unpacker build msgpack_object trees in a zone (heap).
// Here decoding is one pass over the top-level map that records where each known
// key's value lies (unknown keys are skipped), then a typed parse of those spans
// into the fixed-size structs of wire.h. Every length is checked against the bytes
// left before use, nesting is bounded (WIRE_MAX_DEPTH), and a container's element
// count is checked against the bytes left (each element takes >= 1 byte), so a
// hostile message costs at most O(len) work and no memory.
// The tests cross-check both directions against msgpack-c (tests/test_wire.c).
//
// Thread: any. Allocation: none.
#include "transport/wire.h"
#include "transport/utf8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define WIRE_MAX_DEPTH 32

/* ==== byte order ============================================================ */

static uint16_t be16(const uint8_t* p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t be32(const uint8_t* p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t be64(const uint8_t* p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }

static float load_le_f32(const unsigned char* p) {
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                 ((uint32_t)p[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static void store_le_f32(unsigned char* p, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

/* ==== names ================================================================== */

static const char* const type_names[WIRE_MSG_COUNT] = {
    [WIRE_MSG_NONE] = "none",       [WIRE_MSG_HELLO] = "hello",
    [WIRE_MSG_WELCOME] = "welcome", [WIRE_MSG_OBS] = "obs",
    [WIRE_MSG_ACTION] = "action",   [WIRE_MSG_ERROR] = "error",
    [WIRE_MSG_BYE] = "bye",         [WIRE_MSG_TRANSITIONS] = "transitions",
    [WIRE_MSG_CTL] = "ctl",         [WIRE_MSG_REPLY] = "reply",
};

const char* wire_type_name(WireMsgType t) {
    return (t >= 0 && t < WIRE_MSG_COUNT) ? type_names[t] : "?";
}

const char* wire_err_name(int code) {
    switch (code) {
    case -EBADMSG: return "malformed";
    case -EPROTO: return "bad_message";
    case -EPROTONOSUPPORT: return "bad_version";
    case -ERANGE: return "bad_size";
    case -EDOM: return "nonfinite";
    case -EMSGSIZE: return "oversized";
    default: return "error";
    }
}

/* ==== reader ================================================================= */

typedef struct {
    const uint8_t* p;
    size_t n, i;
} Rd;

// What a value is, for "expected X, got Y" messages.
static const char* kind_name(uint8_t b) {
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) return "integer";
    if (b >= 0x80 && b <= 0x8f) return "map";
    if (b >= 0x90 && b <= 0x9f) return "array";
    if (b >= 0xa0 && b <= 0xbf) return "string";
    switch (b) {
    case 0xc0: return "nil";
    case 0xc2: case 0xc3: return "bool";
    case 0xc4: case 0xc5: case 0xc6: return "bin";
    case 0xca: case 0xcb: return "float";
    case 0xd9: case 0xda: case 0xdb: return "string";
    case 0xdc: case 0xdd: return "array";
    case 0xde: case 0xdf: return "map";
    case 0xc1: return "invalid byte 0xc1";
    default: return "ext";
    }
}

static int need(const Rd* r, size_t k) { return r->n - r->i >= k; }

// Read a length field of w bytes after the tag.
static int rd_len(Rd* r, int w, uint32_t* ret) {
    if (!need(r, (size_t)w)) return -EBADMSG;
    const uint8_t* p = r->p + r->i;
    *ret = w == 1 ? p[0] : w == 2 ? be16(p) : be32(p);
    r->i += (size_t)w;
    return 0;
}

// Skip one value (any type). -EBADMSG on truncation, bad byte or excess nesting.
static int rd_skip(Rd* r, int depth) {
    if (depth > WIRE_MAX_DEPTH || !need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i++];
    uint32_t n = 0;
    size_t payload = 0;
    int rc;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) return 0;
    if (b >= 0xa0 && b <= 0xbf) {
        payload = b & 0x1f;
    } else if ((b >= 0x80 && b <= 0x8f) || (b >= 0x90 && b <= 0x9f) || b == 0xdc ||
               b == 0xdd || b == 0xde || b == 0xdf) {
        uint64_t items;
        if (b <= 0x8f) items = 2u * (b & 0x0f);
        else if (b <= 0x9f) items = b & 0x0f;
        else {
            if ((rc = rd_len(r, (b == 0xdc || b == 0xde) ? 2 : 4, &n)) < 0) return rc;
            items = (b == 0xde || b == 0xdf) ? 2ull * n : n;
        }
        if (items > r->n - r->i) return -EBADMSG;   // each item takes >= 1 byte
        for (uint64_t k = 0; k < items; k++)
            if ((rc = rd_skip(r, depth + 1)) < 0) return rc;
        return 0;
    } else {
        switch (b) {
        case 0xcc: case 0xd0: payload = 1; break;
        case 0xcd: case 0xd1: payload = 2; break;
        case 0xce: case 0xd2: case 0xca: payload = 4; break;
        case 0xcf: case 0xd3: case 0xcb: payload = 8; break;
        case 0xd4: payload = 2; break;          // fixext: type byte + data
        case 0xd5: payload = 3; break;
        case 0xd6: payload = 5; break;
        case 0xd7: payload = 9; break;
        case 0xd8: payload = 17; break;
        case 0xc4: case 0xd9: if ((rc = rd_len(r, 1, &n)) < 0) return rc; payload = n; break;
        case 0xc5: case 0xda: if ((rc = rd_len(r, 2, &n)) < 0) return rc; payload = n; break;
        case 0xc6: case 0xdb: if ((rc = rd_len(r, 4, &n)) < 0) return rc; payload = n; break;
        case 0xc7: if ((rc = rd_len(r, 1, &n)) < 0) return rc; payload = (size_t)n + 1; break;
        case 0xc8: if ((rc = rd_len(r, 2, &n)) < 0) return rc; payload = (size_t)n + 1; break;
        case 0xc9: if ((rc = rd_len(r, 4, &n)) < 0) return rc; payload = (size_t)n + 1; break;
        default: return -EBADMSG;               // 0xc1
        }
    }
    if (!need(r, payload)) return -EBADMSG;
    r->i += payload;
    return 0;
}

// Typed reads. Each returns 0, -EBADMSG (truncated) or -EPROTO (wrong kind) and
// leaves r->i after the value on success.
static int rd_map(Rd* r, uint32_t* ret) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    if (b >= 0x80 && b <= 0x8f) { r->i++; *ret = b & 0x0f; return 0; }
    if (b == 0xde || b == 0xdf) { r->i++; return rd_len(r, b == 0xde ? 2 : 4, ret); }
    return -EPROTO;
}

static int rd_array(Rd* r, uint32_t* ret) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    if (b >= 0x90 && b <= 0x9f) { r->i++; *ret = b & 0x0f; return 0; }
    if (b == 0xdc || b == 0xdd) { r->i++; return rd_len(r, b == 0xdc ? 2 : 4, ret); }
    return -EPROTO;
}

static int rd_str(Rd* r, const char** ret, uint32_t* ret_len) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    uint32_t n;
    int rc;
    if (b >= 0xa0 && b <= 0xbf) { r->i++; n = b & 0x1f; }
    else if (b >= 0xd9 && b <= 0xdb) {
        r->i++;
        if ((rc = rd_len(r, b == 0xd9 ? 1 : b == 0xda ? 2 : 4, &n)) < 0) return rc;
    } else return -EPROTO;
    if (!need(r, n)) return -EBADMSG;
    *ret = (const char*)r->p + r->i;
    *ret_len = n;
    r->i += n;
    return 0;
}

static int rd_bin(Rd* r, const unsigned char** ret, uint32_t* ret_len) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    uint32_t n;
    int rc;
    if (b < 0xc4 || b > 0xc6) return -EPROTO;
    r->i++;
    if ((rc = rd_len(r, b == 0xc4 ? 1 : b == 0xc5 ? 2 : 4, &n)) < 0) return rc;
    if (!need(r, n)) return -EBADMSG;
    *ret = r->p + r->i;
    *ret_len = n;
    r->i += n;
    return 0;
}

// Any integer as int64 (a uint64 above INT64_MAX is -ERANGE).
static int rd_int(Rd* r, int64_t* ret) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    const uint8_t* p = r->p + r->i + 1;
    size_t w;
    if (b <= 0x7f) { r->i++; *ret = b; return 0; }
    if (b >= 0xe0) { r->i++; *ret = (int8_t)b; return 0; }
    switch (b) {
    case 0xcc: case 0xd0: w = 1; break;
    case 0xcd: case 0xd1: w = 2; break;
    case 0xce: case 0xd2: w = 4; break;
    case 0xcf: case 0xd3: w = 8; break;
    default: return -EPROTO;
    }
    if (!need(r, 1 + w)) return -EBADMSG;
    switch (b) {
    case 0xcc: *ret = p[0]; break;
    case 0xcd: *ret = be16(p); break;
    case 0xce: *ret = be32(p); break;
    case 0xcf: {
        uint64_t u = be64(p);
        if (u > (uint64_t)INT64_MAX) return -ERANGE;
        *ret = (int64_t)u;
        break;
    }
    case 0xd0: *ret = (int8_t)p[0]; break;
    case 0xd1: *ret = (int16_t)be16(p); break;
    case 0xd2: *ret = (int32_t)be32(p); break;
    default: *ret = (int64_t)be64(p); break;
    }
    r->i += 1 + w;
    return 0;
}

// A non-negative integer as uint64.
static int rd_uint(Rd* r, uint64_t* ret) {
    if (!need(r, 1)) return -EBADMSG;
    if (r->p[r->i] == 0xcf) {
        if (!need(r, 9)) return -EBADMSG;
        *ret = be64(r->p + r->i + 1);
        r->i += 9;
        return 0;
    }
    int64_t v;
    size_t save = r->i;
    int rc = rd_int(r, &v);
    if (rc < 0) return rc;
    if (v < 0) { r->i = save; return -ERANGE; }
    *ret = (uint64_t)v;
    return 0;
}

// A number (float32, float64 or any integer) as double. Non-finite values are
// returned as they are (the caller decides).
static int rd_num(Rd* r, double* ret) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    if (b == 0xcb) {
        if (!need(r, 9)) return -EBADMSG;
        uint64_t u = be64(r->p + r->i + 1);
        memcpy(ret, &u, 8);
        r->i += 9;
        return 0;
    }
    if (b == 0xca) {
        if (!need(r, 5)) return -EBADMSG;
        uint32_t u = be32(r->p + r->i + 1);
        float f;
        memcpy(&f, &u, 4);
        *ret = f;
        r->i += 5;
        return 0;
    }
    if (b == 0xcf) {
        uint64_t u;
        int rc = rd_uint(r, &u);
        if (rc == 0) *ret = (double)u;
        return rc;
    }
    int64_t v;
    int rc = rd_int(r, &v);
    if (rc == 0) *ret = (double)v;
    return rc;
}

// A bool (true/false; integers 0 and 1 are accepted as well).
static int rd_bool(Rd* r, int* ret) {
    if (!need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    if (b == 0xc2 || b == 0xc3) { r->i++; *ret = b == 0xc3; return 0; }
    if (b == 0x00 || b == 0x01) { r->i++; *ret = b; return 0; }
    return -EPROTO;
}

/* ==== decoder: key table ======================================================= */

enum {
    K_V, K_TYPE, K_PLANT, K_OBS_DIM, K_ACT_DIM, K_DT, K_ACT_LOW, K_ACT_HIGH, K_MODE,
    K_RATE_HZ, K_POLICY_VERSION, K_MAX_MSG_BYTES, K_SEQ, K_T_NS, K_OBS, K_REWARD,
    K_TERMINATED, K_TRUNCATED, K_FIRST, K_ACTION, K_SAFE, K_CODE, K_MSG, K_N, K_DATA,
    K_SOURCE, K_CMD, K_ARG, K_OK, K_COUNT
};

#define KEYS(X)                                                                      \
    X("v") X("type") X("plant") X("obs_dim") X("act_dim") X("dt") X("act_low")         \
    X("act_high") X("mode") X("rate_hz") X("policy_version") X("max_msg_bytes") X("seq") \
    X("t_ns") X("obs") X("reward") X("terminated") X("truncated") X("first") X("action") \
    X("safe") X("code") X("msg") X("n") X("data") X("source") X("cmd") X("arg") X("ok")
#define KEY_NAME(s) s,
#define KEY_LEN(s) (uint8_t)(sizeof(s) - 1),
static const char* const key_names[K_COUNT] = {KEYS(KEY_NAME)};
static const uint8_t key_lens[K_COUNT] = {KEYS(KEY_LEN)};

typedef struct {
    const uint8_t* p;
    size_t n;
    size_t off[K_COUNT];   // offset of the value of each known key (0 = absent;
                           // a value never starts at 0, the map header is there)
    const char* type;      // message type for error messages
    MaacErr* err;
} Dec;

static int lookup_key(const char* s, uint32_t n) {
    for (int k = 0; k < K_COUNT; k++)
        if (key_lens[k] == n && key_names[k][0] == s[0] && memcmp(key_names[k], s, n) == 0)
            return k;
    return -1;
}

// Position a reader at key k's value.
static Rd at(const Dec* d, int k) { return (Rd){d->p, d->n, d->off[k]}; }

static const char* got(const Dec* d, int k) { return kind_name(d->p[d->off[k]]); }

static int missing(Dec* d, int k) {
    return maac_err(d->err, -EPROTO, "%s: missing key '%s'", d->type, key_names[k]);
}

static int wrong(Dec* d, int k, int rc, const char* want) {
    if (rc == -EBADMSG)
        return maac_err(d->err, -EBADMSG, "%s: '%s' is truncated", d->type, key_names[k]);
    if (rc == -ERANGE)
        return maac_err(d->err, -EPROTO, "%s: '%s' must be %s, got a value out of range",
                        d->type, key_names[k], want);
    return maac_err(d->err, -EPROTO, "%s: '%s' must be %s, got %s", d->type, key_names[k],
                    want, got(d, k));
}

static int get_uint(Dec* d, int k, int required, uint64_t* ret) {
    if (!d->off[k]) return required ? missing(d, k) : 0;
    Rd r = at(d, k);
    int rc = rd_uint(&r, ret);
    return rc < 0 ? wrong(d, k, rc, "a non-negative integer") : 0;
}

static int get_int(Dec* d, int k, int required, int64_t* ret) {
    if (!d->off[k]) return required ? missing(d, k) : 0;
    Rd r = at(d, k);
    int rc = rd_int(&r, ret);
    return rc < 0 ? wrong(d, k, rc, "an integer") : 0;
}

// An integer in [lo, hi]; out of range is -ERANGE (a size error).
static int get_dim(Dec* d, int k, int lo, int hi, int* ret) {
    int64_t v = 0;
    int rc = get_int(d, k, 1, &v);
    if (rc < 0) return rc;
    if (v < lo || v > hi)
        return maac_err(d->err, -ERANGE, "%s: '%s' = %lld is outside [%d, %d]", d->type,
                        key_names[k], (long long)v, lo, hi);
    *ret = (int)v;
    return 0;
}

static int get_num(Dec* d, int k, int required, double* ret) {
    if (!d->off[k]) return required ? missing(d, k) : 0;
    Rd r = at(d, k);
    int rc = rd_num(&r, ret);
    return rc < 0 ? wrong(d, k, rc, "a number") : 0;
}

static int get_bool(Dec* d, int k, int required, int* ret) {
    if (!d->off[k]) return required ? missing(d, k) : 0;
    Rd r = at(d, k);
    int rc = rd_bool(&r, ret);
    return rc < 0 ? wrong(d, k, rc, "a bool") : 0;
}

// A string into out (cap incl. NUL). too_long_ok: truncate instead of failing.
static int get_str(Dec* d, int k, int required, char* out, size_t cap, int too_long_ok) {
    if (!d->off[k]) return required ? missing(d, k) : 0;
    Rd r = at(d, k);
    const char* s;
    uint32_t n;
    int rc = rd_str(&r, &s, &n);
    if (rc < 0) return wrong(d, k, rc, "a string");
    if (n >= cap) {
        if (!too_long_ok)
            return maac_err(d->err, -ERANGE, "%s: '%s' is %u bytes, at most %zu allowed",
                            d->type, key_names[k], n, cap - 1);
        n = (uint32_t)(cap - 1);
    }
    if (memchr(s, 0, n))
        return maac_err(d->err, -EPROTO, "%s: '%s' contains a NUL byte", d->type,
                        key_names[k]);
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

// An array of numbers into out (at most maxn; want > 0: exactly want entries).
// Non-finite entries: -EDOM after the whole array was read (values stored).
static int get_vec(Dec* d, int k, int maxn, int want, double* out, int* ret_n) {
    if (!d->off[k]) return missing(d, k);
    Rd r = at(d, k);
    uint32_t n;
    int rc = rd_array(&r, &n);
    if (rc < 0) return wrong(d, k, rc, "an array of numbers");
    if (want > 0 && (int64_t)n != want)
        return maac_err(d->err, -ERANGE, "%s: '%s' has %u entries, expected %d", d->type,
                        key_names[k], n, want);
    if (n > (uint32_t)maxn)
        return maac_err(d->err, -ERANGE, "%s: '%s' has %u entries, at most %d allowed",
                        d->type, key_names[k], n, maxn);
    int bad = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!need(&r, 1)) return wrong(d, k, -EBADMSG, "");
        uint8_t b = r.p[r.i];
        if ((rc = rd_num(&r, &out[i])) < 0) {
            if (rc == -EBADMSG) return wrong(d, k, rc, "");
            return maac_err(d->err, -EPROTO, "%s: '%s'[%u] must be a number, got %s",
                            d->type, key_names[k], i, kind_name(b));
        }
        if (bad < 0 && !isfinite(out[i])) bad = (int)i;
    }
    *ret_n = (int)n;
    if (bad >= 0)
        return maac_err(d->err, -EDOM, "%s: '%s'[%d] is %s", d->type, key_names[k], bad,
                        isnan(out[bad]) ? "NaN" : "Inf");
    return 0;
}

/* ==== decoder: messages ========================================================= */

static int dec_hello(Dec* d, WireHello* m, int obs_dim, int act_dim) {
    int rc, n;
    memset(m, 0, sizeof *m);
    if ((rc = get_str(d, K_PLANT, 1, m->plant, sizeof m->plant, 0)) < 0) return rc;
    if (!m->plant[0]) return maac_err(d->err, -EPROTO, "hello: 'plant' is empty");
    if ((rc = get_dim(d, K_OBS_DIM, 1, WIRE_MAX_OBS, &m->obs_dim)) < 0) return rc;
    if ((rc = get_dim(d, K_ACT_DIM, 1, WIRE_MAX_ACT, &m->act_dim)) < 0) return rc;
    if (obs_dim > 0 && m->obs_dim != obs_dim)
        return maac_err(d->err, -ERANGE, "hello: obs_dim %d, expected %d", m->obs_dim, obs_dim);
    if (act_dim > 0 && m->act_dim != act_dim)
        return maac_err(d->err, -ERANGE, "hello: act_dim %d, expected %d", m->act_dim, act_dim);
    if ((rc = get_num(d, K_DT, 1, &m->dt)) < 0) return rc;
    if (!isfinite(m->dt) || m->dt <= 0)
        return maac_err(d->err, isfinite(m->dt) ? -EPROTO : -EDOM,
                        "hello: 'dt' must be a positive number of seconds, got %g", m->dt);
    if (!d->off[K_ACT_LOW] != !d->off[K_ACT_HIGH])
        return maac_err(d->err, -EPROTO, "hello: 'act_low' and 'act_high' go together");
    if (d->off[K_ACT_LOW]) {
        if ((rc = get_vec(d, K_ACT_LOW, WIRE_MAX_ACT, m->act_dim, m->act_low, &n)) < 0) return rc;
        if ((rc = get_vec(d, K_ACT_HIGH, WIRE_MAX_ACT, m->act_dim, m->act_high, &n)) < 0) return rc;
        for (int i = 0; i < m->act_dim; i++)
            if (m->act_low[i] > m->act_high[i])
                return maac_err(d->err, -EPROTO, "hello: act_low[%d] = %g > act_high[%d] = %g",
                                i, m->act_low[i], i, m->act_high[i]);
        m->has_bounds = 1;
    }
    return 0;
}

static int dec_welcome(Dec* d, WireWelcome* m) {
    char mode[WIRE_MAX_NAME];
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = get_str(d, K_MODE, 1, mode, sizeof mode, 0)) < 0) return rc;
    if (strcmp(mode, "lockstep") == 0) m->mode = WIRE_MODE_LOCKSTEP;
    else if (strcmp(mode, "realtime") == 0) m->mode = WIRE_MODE_REALTIME;
    else return maac_err(d->err, -EPROTO, "welcome: 'mode' must be lockstep|realtime, got '%s'", mode);
    if ((rc = get_num(d, K_RATE_HZ, 1, &m->rate_hz)) < 0) return rc;
    if (!isfinite(m->rate_hz) || m->rate_hz < 0)
        return maac_err(d->err, -EDOM, "welcome: 'rate_hz' must be finite and >= 0");
    if ((rc = get_uint(d, K_POLICY_VERSION, 0, &m->policy_version)) < 0) return rc;
    m->max_msg_bytes = -1;
    if ((rc = get_int(d, K_MAX_MSG_BYTES, 0, &m->max_msg_bytes)) < 0) return rc;
    return 0;
}

static int dec_obs(Dec* d, WireObs* m, int obs_dim) {
    int rc;
    // seq first so that an error reply can name it; the rest cleared.
    uint64_t seq = 0;
    rc = get_uint(d, K_SEQ, 1, &seq);
    memset(m, 0, offsetof(WireObs, obs));
    m->seq = seq;
    m->reward = m->terminated = m->truncated = m->first = 0;
    if (rc < 0) return rc;
    if ((rc = get_int(d, K_T_NS, 1, &m->t_ns)) < 0) return rc;
    if ((rc = get_vec(d, K_OBS, WIRE_MAX_OBS, obs_dim, m->obs, &m->obs_dim)) < 0) return rc;
    if (m->obs_dim == 0) return maac_err(d->err, -ERANGE, "obs: 'obs' is empty");
    if ((rc = get_num(d, K_REWARD, 1, &m->reward)) < 0) return rc;
    if ((rc = get_bool(d, K_TERMINATED, 1, &m->terminated)) < 0) return rc;
    if ((rc = get_bool(d, K_TRUNCATED, 1, &m->truncated)) < 0) return rc;
    if ((rc = get_bool(d, K_FIRST, 0, &m->first)) < 0) return rc;
    if (!isfinite(m->reward))
        return maac_err(d->err, -EDOM, "obs: 'reward' is %s", isnan(m->reward) ? "NaN" : "Inf");
    return 0;
}

static int dec_action(Dec* d, WireAction* m, int act_dim) {
    int rc;
    uint64_t seq = 0;
    rc = get_uint(d, K_SEQ, 1, &seq);
    memset(m, 0, offsetof(WireAction, action));
    m->seq = seq;
    m->policy_version = 0;
    m->safe = 0;
    if (rc < 0) return rc;
    if ((rc = get_vec(d, K_ACTION, WIRE_MAX_ACT, act_dim, m->action, &m->act_dim)) < 0) return rc;
    if (m->act_dim == 0) return maac_err(d->err, -ERANGE, "action: 'action' is empty");
    if ((rc = get_uint(d, K_POLICY_VERSION, 0, &m->policy_version)) < 0) return rc;
    if ((rc = get_bool(d, K_SAFE, 0, &m->safe)) < 0) return rc;
    return 0;
}

static int dec_error(Dec* d, WireError* m) {
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = get_str(d, K_CODE, 1, m->code, sizeof m->code, 1)) < 0) return rc;
    if ((rc = get_str(d, K_MSG, 0, m->msg, sizeof m->msg, 1)) < 0) return rc;
    if (d->off[K_SEQ]) {
        if ((rc = get_uint(d, K_SEQ, 1, &m->seq)) < 0) return rc;
        m->has_seq = 1;
    }
    return 0;
}

static int dec_transitions(Dec* d, WireTransitions* m, int obs_dim, int act_dim) {
    int rc;
    uint32_t nbytes;
    memset(m, 0, sizeof *m);
    if ((rc = get_dim(d, K_OBS_DIM, 1, WIRE_MAX_OBS, &m->obs_dim)) < 0) return rc;
    if ((rc = get_dim(d, K_ACT_DIM, 1, WIRE_MAX_ACT, &m->act_dim)) < 0) return rc;
    if (obs_dim > 0 && m->obs_dim != obs_dim)
        return maac_err(d->err, -ERANGE, "transitions: obs_dim %d, expected %d", m->obs_dim, obs_dim);
    if (act_dim > 0 && m->act_dim != act_dim)
        return maac_err(d->err, -ERANGE, "transitions: act_dim %d, expected %d", m->act_dim, act_dim);
    if ((rc = get_dim(d, K_N, 0, WIRE_MAX_MSG, &m->n)) < 0) return rc;
    if ((rc = get_str(d, K_SOURCE, 0, m->source, sizeof m->source, 1)) < 0) return rc;
    if (!d->off[K_DATA]) return missing(d, K_DATA);
    Rd r = at(d, K_DATA);
    if ((rc = rd_bin(&r, &m->data, &nbytes)) < 0) return wrong(d, K_DATA, rc, "bin");
    size_t row = (size_t)(2 * m->obs_dim + m->act_dim + 2);
    if ((size_t)nbytes != (size_t)m->n * row * 4)
        return maac_err(d->err, -ERANGE, "transitions: 'data' has %u bytes, expected %zu "
                        "(n %d x %zu float32)", nbytes, (size_t)m->n * row * 4, m->n, row);
    size_t nf = (size_t)m->n * row;
    for (size_t i = 0; i < nf; i++) {
        float f = load_le_f32(m->data + 4 * i);
        if (!isfinite(f))
            return maac_err(d->err, -EDOM, "transitions: row %zu column %zu is %s", i / row,
                            i % row, isnan(f) ? "NaN" : "Inf");
    }
    return 0;
}

static int dec_ctl(Dec* d, WireCtl* m) {
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = get_str(d, K_CMD, 1, m->cmd, sizeof m->cmd, 0)) < 0) return rc;
    if ((rc = get_str(d, K_ARG, 0, m->arg, sizeof m->arg, 0)) < 0) return rc;
    return 0;
}

// Parse the top-level map into d->off. Sets *ret_type from "type" if readable.
static int scan_map(Dec* d, WireMsgType* ret_type) {
    Rd r = {d->p, d->n, 0};
    uint32_t n;
    int rc;
    if (!need(&r, 1)) return maac_err(d->err, -EBADMSG, "empty message");
    if ((rc = rd_map(&r, &n)) < 0) {
        if (rc == -EBADMSG) return maac_err(d->err, rc, "malformed msgpack: truncated map header");
        Rd s = r;
        if (rd_skip(&s, 0) < 0) return maac_err(d->err, -EBADMSG, "malformed msgpack");
        return maac_err(d->err, -EPROTO, "message must be a msgpack map, got %s",
                        kind_name(d->p[0]));
    }
    if ((uint64_t)n * 2 > r.n - r.i)
        return maac_err(d->err, -EBADMSG, "malformed msgpack: map of %u entries in %zu bytes",
                        n, r.n - r.i);
    memset(d->off, 0, sizeof d->off);
    for (uint32_t e = 0; e < n; e++) {
        const char* ks;
        uint32_t kn;
        size_t kpos = r.i;
        if ((rc = rd_str(&r, &ks, &kn)) < 0) {
            if (rc == -EBADMSG) return maac_err(d->err, rc, "malformed msgpack: truncated key");
            if (rd_skip(&r, 1) < 0) return maac_err(d->err, -EBADMSG, "malformed msgpack");
            return maac_err(d->err, -EPROTO, "map keys must be strings, got %s",
                            kind_name(d->p[kpos]));
        }
        int k = lookup_key(ks, kn);
        size_t vpos = r.i;
        if ((rc = rd_skip(&r, 1)) < 0)
            return maac_err(d->err, -EBADMSG, "malformed msgpack: value of key '%.*s' is "
                            "truncated or invalid", (int)(kn > 40 ? 40 : kn), ks);
        if (k >= 0) {
            if (d->off[k])
                return maac_err(d->err, -EPROTO, "duplicate key '%s'", key_names[k]);
            d->off[k] = vpos;
        }
    }
    if (r.i != r.n)
        return maac_err(d->err, -EBADMSG, "malformed msgpack: %zu trailing bytes after the map",
                        r.n - r.i);
    // type
    if (!d->off[K_TYPE]) return maac_err(d->err, -EPROTO, "missing key 'type'");
    Rd t = at(d, K_TYPE);
    const char* ts;
    uint32_t tn;
    if (rd_str(&t, &ts, &tn) < 0)
        return maac_err(d->err, -EPROTO, "'type' must be a string, got %s", got(d, K_TYPE));
    for (int i = 1; i < WIRE_MSG_COUNT; i++)
        if (strlen(type_names[i]) == tn && memcmp(type_names[i], ts, tn) == 0) {
            *ret_type = (WireMsgType)i;
            d->type = type_names[i];
        }
    if (*ret_type == WIRE_MSG_NONE)
        return maac_err(d->err, -EPROTO, "unknown message type '%.*s'", (int)(tn > 40 ? 40 : tn), ts);
    // version
    if (!d->off[K_V]) return maac_err(d->err, -EPROTO, "%s: missing key 'v'", d->type);
    Rd v = at(d, K_V);
    int64_t ver;
    if (rd_int(&v, &ver) < 0)
        return maac_err(d->err, -EPROTO, "%s: 'v' must be an integer, got %s", d->type, got(d, K_V));
    if (ver != WIRE_VERSION)
        return maac_err(d->err, -EPROTONOSUPPORT, "%s: protocol version %lld, this side speaks %d",
                        d->type, (long long)ver, WIRE_VERSION);
    return 0;
}

// After a failed scan: the type and seq if they were read intact before the damage
// (every encoder here writes "v", "type", "seq" first), so that an error reply and a
// safe action can still name the observation. Best effort; sets nothing else.
static void salvage(const Dec* d, WireMsgType* type, WireMsg* ret) {
    if (*type == WIRE_MSG_NONE && d->off[K_TYPE]) {
        Rd t = at(d, K_TYPE);
        const char* ts;
        uint32_t tn;
        if (rd_str(&t, &ts, &tn) == 0)
            for (int i = 1; i < WIRE_MSG_COUNT; i++)
                if (strlen(type_names[i]) == tn && memcmp(type_names[i], ts, tn) == 0)
                    *type = (WireMsgType)i;
    }
    uint64_t seq = 0;
    if (d->off[K_SEQ]) {
        Rd r = at(d, K_SEQ);
        if (rd_uint(&r, &seq) < 0) seq = 0;
    }
    if (*type == WIRE_MSG_OBS) ret->u.obs.seq = seq;
    if (*type == WIRE_MSG_ACTION) ret->u.action.seq = seq;
}

int wire_decode(const void* buf, size_t len, int obs_dim, int act_dim, WireMsg* ret,
                MaacErr* reterr) {
    Dec d = {.p = buf, .n = len, .type = "message", .err = reterr};
    WireMsgType type = WIRE_MSG_NONE;
    int rc;
    ret->type = WIRE_MSG_NONE;
    if (len > WIRE_MAX_MSG)
        return maac_err(reterr, -EMSGSIZE, "message of %zu bytes exceeds the %d byte limit",
                        len, WIRE_MAX_MSG);
    if (!buf && len) return maac_err(reterr, -EINVAL, "NULL buffer");
    rc = scan_map(&d, &type);
    if (rc < 0) salvage(&d, &type, ret);
    ret->type = type;
    if (rc < 0) return rc;
    switch (type) {
    case WIRE_MSG_HELLO: return dec_hello(&d, &ret->u.hello, obs_dim, act_dim);
    case WIRE_MSG_WELCOME: return dec_welcome(&d, &ret->u.welcome);
    case WIRE_MSG_OBS: return dec_obs(&d, &ret->u.obs, obs_dim);
    case WIRE_MSG_ACTION: return dec_action(&d, &ret->u.action, act_dim);
    case WIRE_MSG_ERROR: return dec_error(&d, &ret->u.error);
    case WIRE_MSG_TRANSITIONS: return dec_transitions(&d, &ret->u.tr, obs_dim, act_dim);
    case WIRE_MSG_CTL: return dec_ctl(&d, &ret->u.ctl);
    case WIRE_MSG_REPLY: {
        int ok;
        return get_bool(&d, K_OK, 1, &ok);
    }
    case WIRE_MSG_BYE:
    default: return 0;
    }
}

WireMsgType wire_peek_type(const void* buf, size_t len) {
    Rd r = {buf, len, 0};
    uint32_t n;
    if (!buf || len > WIRE_MAX_MSG || rd_map(&r, &n) < 0) return WIRE_MSG_NONE;
    for (uint32_t e = 0; e < n; e++) {
        const char* ks;
        uint32_t kn;
        if (rd_str(&r, &ks, &kn) < 0) return WIRE_MSG_NONE;
        if (kn == 4 && memcmp(ks, "type", 4) == 0) {
            const char* ts;
            uint32_t tn;
            if (rd_str(&r, &ts, &tn) < 0) return WIRE_MSG_NONE;
            for (int i = 1; i < WIRE_MSG_COUNT; i++)
                if (strlen(type_names[i]) == tn && memcmp(type_names[i], ts, tn) == 0)
                    return (WireMsgType)i;
            return WIRE_MSG_NONE;
        }
        if (rd_skip(&r, 1) < 0) return WIRE_MSG_NONE;
    }
    return WIRE_MSG_NONE;
}

void wire_transitions_row(const WireTransitions* t, int i, float* s, float* a, float* r,
                          float* s2, float* terminated) {
    int S = t->obs_dim, A = t->act_dim;
    const unsigned char* p = t->data + (size_t)i * (size_t)(2 * S + A + 2) * 4;
    for (int j = 0; j < S; j++, p += 4) if (s) s[j] = load_le_f32(p);
    for (int j = 0; j < A; j++, p += 4) if (a) a[j] = load_le_f32(p);
    if (r) *r = load_le_f32(p);
    p += 4;
    for (int j = 0; j < S; j++, p += 4) if (s2) s2[j] = load_le_f32(p);
    if (terminated) *terminated = load_le_f32(p);
}

/* ==== writer ==================================================================== */

void wire_w_init(WireWriter* w, void* buf, size_t cap) {
    w->p = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

int wire_w_finish(const WireWriter* w) {
    if (w->overflow) return -ENOBUFS;
    return w->len > (size_t)INT_MAX ? -EMSGSIZE : (int)w->len;
}

// Reserve k bytes; NULL after overflow.
static unsigned char* w_take(WireWriter* w, size_t k) {
    if (w->overflow || w->cap - w->len < k) {
        w->overflow = 1;
        return NULL;
    }
    unsigned char* q = w->p + w->len;
    w->len += k;
    return q;
}

static void put_be(unsigned char* q, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
        q[i] = (unsigned char)v;
        v >>= 8;
    }
}

static void w_tag(WireWriter* w, uint8_t tag, uint64_t v, int bytes) {
    unsigned char* q = w_take(w, 1 + (size_t)bytes);
    if (!q) return;
    q[0] = tag;
    put_be(q + 1, v, bytes);
}

void wire_w_map(WireWriter* w, uint32_t n) {
    if (n < 16) w_tag(w, (uint8_t)(0x80 | n), 0, 0);
    else if (n < 65536) w_tag(w, 0xde, n, 2);
    else w_tag(w, 0xdf, n, 4);
}

void wire_w_array(WireWriter* w, uint32_t n) {
    if (n < 16) w_tag(w, (uint8_t)(0x90 | n), 0, 0);
    else if (n < 65536) w_tag(w, 0xdc, n, 2);
    else w_tag(w, 0xdd, n, 4);
}

void wire_w_strn(WireWriter* w, const char* s, size_t n) {
    if (n < 32) w_tag(w, (uint8_t)(0xa0 | n), 0, 0);
    else if (n < 256) w_tag(w, 0xd9, n, 1);
    else if (n < 65536) w_tag(w, 0xda, n, 2);
    else w_tag(w, 0xdb, n, 4);
    unsigned char* q = w_take(w, n);
    if (q && n) memcpy(q, s, n);
}

void wire_w_str(WireWriter* w, const char* s) {
    if (!s) wire_w_nil(w);
    else wire_w_strn(w, s, strlen(s));
}

void wire_w_uint(WireWriter* w, uint64_t v) {
    if (v < 128) w_tag(w, (uint8_t)v, 0, 0);
    else if (v < 256) w_tag(w, 0xcc, v, 1);
    else if (v < 65536) w_tag(w, 0xcd, v, 2);
    else if (v <= 0xffffffffu) w_tag(w, 0xce, v, 4);
    else w_tag(w, 0xcf, v, 8);
}

void wire_w_int(WireWriter* w, int64_t v) {
    if (v >= 0) wire_w_uint(w, (uint64_t)v);
    else if (v >= -32) w_tag(w, (uint8_t)(0xe0 | (v + 32)), 0, 0);
    else if (v >= -128) w_tag(w, 0xd0, (uint64_t)v & 0xff, 1);
    else if (v >= -32768) w_tag(w, 0xd1, (uint64_t)v & 0xffff, 2);
    else if (v >= INT32_MIN) w_tag(w, 0xd2, (uint64_t)v & 0xffffffffu, 4);
    else w_tag(w, 0xd3, (uint64_t)v, 8);
}

void wire_w_double(WireWriter* w, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    w_tag(w, 0xcb, u, 8);
}

void wire_w_float(WireWriter* w, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    w_tag(w, 0xca, u, 4);
}

void wire_w_bool(WireWriter* w, int v) { w_tag(w, v ? 0xc3 : 0xc2, 0, 0); }
void wire_w_nil(WireWriter* w) { w_tag(w, 0xc0, 0, 0); }

void wire_w_bin(WireWriter* w, const void* data, size_t n) {
    if (n < 256) w_tag(w, 0xc4, n, 1);
    else if (n < 65536) w_tag(w, 0xc5, n, 2);
    else w_tag(w, 0xc6, n, 4);
    unsigned char* q = w_take(w, n);
    if (q && n) memcpy(q, data, n);
}

// The "v" and "type" pairs every message starts with.
static void w_head(WireWriter* w, uint32_t n_entries, WireMsgType t) {
    wire_w_map(w, n_entries);
    wire_w_strn(w, "v", 1);
    wire_w_uint(w, WIRE_VERSION);
    wire_w_strn(w, "type", 4);
    wire_w_str(w, type_names[t]);
}

static void w_key(WireWriter* w, const char* k) { wire_w_strn(w, k, strlen(k)); }

static void w_vec(WireWriter* w, const double* x, int n) {
    wire_w_array(w, (uint32_t)n);
    for (int i = 0; i < n; i++) wire_w_double(w, x[i]);
}

void wire_w_reply_begin(WireWriter* w, int ok, uint32_t n_extra) {
    w_head(w, 3 + n_extra, WIRE_MSG_REPLY);
    w_key(w, "ok");
    wire_w_bool(w, ok);
}

/* ==== encoders ==================================================================== */

int wire_encode_hello(void* buf, size_t cap, const WireHello* m) {
    WireWriter w;
    if (m->obs_dim < 1 || m->obs_dim > WIRE_MAX_OBS || m->act_dim < 1 || m->act_dim > WIRE_MAX_ACT)
        return -EINVAL;
    wire_w_init(&w, buf, cap);
    w_head(&w, m->has_bounds ? 8 : 6, WIRE_MSG_HELLO);
    w_key(&w, "plant"); wire_w_str(&w, m->plant);
    w_key(&w, "obs_dim"); wire_w_int(&w, m->obs_dim);
    w_key(&w, "act_dim"); wire_w_int(&w, m->act_dim);
    w_key(&w, "dt"); wire_w_double(&w, m->dt);
    if (m->has_bounds) {
        w_key(&w, "act_low"); w_vec(&w, m->act_low, m->act_dim);
        w_key(&w, "act_high"); w_vec(&w, m->act_high, m->act_dim);
    }
    return wire_w_finish(&w);
}

int wire_encode_welcome(void* buf, size_t cap, const WireWelcome* m) {
    WireWriter w;
    wire_w_init(&w, buf, cap);
    w_head(&w, 6, WIRE_MSG_WELCOME);
    w_key(&w, "mode"); wire_w_str(&w, m->mode == WIRE_MODE_REALTIME ? "realtime" : "lockstep");
    w_key(&w, "rate_hz"); wire_w_double(&w, m->rate_hz);
    w_key(&w, "policy_version"); wire_w_uint(&w, m->policy_version);
    w_key(&w, "max_msg_bytes"); wire_w_int(&w, m->max_msg_bytes);
    return wire_w_finish(&w);
}

int wire_encode_obs(void* buf, size_t cap, const WireObs* m) {
    WireWriter w;
    if (m->obs_dim < 1 || m->obs_dim > WIRE_MAX_OBS) return -EINVAL;
    wire_w_init(&w, buf, cap);
    w_head(&w, 9, WIRE_MSG_OBS);
    w_key(&w, "seq"); wire_w_uint(&w, m->seq);
    w_key(&w, "t_ns"); wire_w_int(&w, m->t_ns);
    w_key(&w, "obs"); w_vec(&w, m->obs, m->obs_dim);
    w_key(&w, "reward"); wire_w_double(&w, m->reward);
    w_key(&w, "terminated"); wire_w_bool(&w, m->terminated);
    w_key(&w, "truncated"); wire_w_bool(&w, m->truncated);
    w_key(&w, "first"); wire_w_bool(&w, m->first);
    return wire_w_finish(&w);
}

int wire_encode_action(void* buf, size_t cap, const WireAction* m) {
    WireWriter w;
    if (m->act_dim < 1 || m->act_dim > WIRE_MAX_ACT) return -EINVAL;
    wire_w_init(&w, buf, cap);
    w_head(&w, 6, WIRE_MSG_ACTION);
    w_key(&w, "seq"); wire_w_uint(&w, m->seq);
    w_key(&w, "action"); w_vec(&w, m->action, m->act_dim);
    w_key(&w, "policy_version"); wire_w_uint(&w, m->policy_version);
    w_key(&w, "safe"); wire_w_bool(&w, m->safe);
    return wire_w_finish(&w);
}

int wire_encode_error(void* buf, size_t cap, const char* code, const char* msg, int64_t seq) {
    // error text quotes bad input: send it as valid UTF-8 (utf8.h), within WIRE_MAX_TEXT
    char c[WIRE_MAX_NAME], t[WIRE_MAX_TEXT];
    utf8_copy(c, sizeof c, code ? code : "error");
    utf8_copy(t, sizeof t, msg ? msg : "");
    WireWriter w;
    wire_w_init(&w, buf, cap);
    w_head(&w, seq >= 0 ? 5 : 4, WIRE_MSG_ERROR);
    w_key(&w, "code"); wire_w_str(&w, c);
    w_key(&w, "msg"); wire_w_str(&w, t);
    if (seq >= 0) { w_key(&w, "seq"); wire_w_uint(&w, (uint64_t)seq); }
    return wire_w_finish(&w);
}

int wire_encode_bye(void* buf, size_t cap) {
    WireWriter w;
    wire_w_init(&w, buf, cap);
    w_head(&w, 2, WIRE_MSG_BYE);
    return wire_w_finish(&w);
}

int wire_encode_ctl(void* buf, size_t cap, const char* cmd, const char* arg) {
    WireWriter w;
    if (!cmd) return -EINVAL;
    wire_w_init(&w, buf, cap);
    w_head(&w, arg ? 4 : 3, WIRE_MSG_CTL);
    w_key(&w, "cmd"); wire_w_str(&w, cmd);
    if (arg) { w_key(&w, "arg"); wire_w_str(&w, arg); }
    return wire_w_finish(&w);
}

size_t wire_transitions_size(int obs_dim, int act_dim, int n, const char* source) {
    return 96 + (source ? strlen(source) + 16 : 0) +
           (size_t)n * (size_t)(2 * obs_dim + act_dim + 2) * 4;
}

int wire_encode_transitions(void* buf, size_t cap, int obs_dim, int act_dim, int n,
                            const float* rows, const char* source) {
    WireWriter w;
    if (obs_dim < 1 || obs_dim > WIRE_MAX_OBS || act_dim < 1 || act_dim > WIRE_MAX_ACT || n < 0)
        return -EINVAL;
    size_t nf = (size_t)n * (size_t)(2 * obs_dim + act_dim + 2);
    wire_w_init(&w, buf, cap);
    w_head(&w, source ? 7 : 6, WIRE_MSG_TRANSITIONS);
    w_key(&w, "obs_dim"); wire_w_int(&w, obs_dim);
    w_key(&w, "act_dim"); wire_w_int(&w, act_dim);
    w_key(&w, "n"); wire_w_int(&w, n);
    if (source) { w_key(&w, "source"); wire_w_str(&w, source); }
    w_key(&w, "data");
    size_t nb = nf * 4;
    if (nb < 256) w_tag(&w, 0xc4, nb, 1);
    else if (nb < 65536) w_tag(&w, 0xc5, nb, 2);
    else w_tag(&w, 0xc6, nb, 4);
    unsigned char* q = w_take(&w, nb);
    if (q) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (nb) memcpy(q, rows, nb);
#else
        for (size_t i = 0; i < nf; i++) store_le_f32(q + 4 * i, rows[i]);
#endif
    }
    (void)store_le_f32;
    return wire_w_finish(&w);
}

/* ==== free-form reader ============================================================= */

typedef struct {
    char* out;
    size_t cap, len;
} Txt;

static void tx(Txt* t, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx(Txt* t, const char* fmt, ...) {
    if (t->len + 1 >= t->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->out + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    t->len += (size_t)k;
    if (t->len >= t->cap) t->len = t->cap - 1;
}

static void tx_str(Txt* t, const char* s, uint32_t n) {
    tx(t, "\"");
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') tx(t, "\\%c", c);
        else if (c == '\n') tx(t, "\\n");
        else if (c < 0x20) tx(t, "\\u%04x", c);
        else tx(t, "%c", c);
    }
    tx(t, "\"");
}

static int text_value(Rd* r, Txt* t, int depth) {
    if (depth > WIRE_MAX_DEPTH || !need(r, 1)) return -EBADMSG;
    uint8_t b = r->p[r->i];
    uint32_t n;
    int rc;
    const char* s;
    if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf) {
        if ((rc = rd_map(r, &n)) < 0) return rc;
        if ((uint64_t)n * 2 > r->n - r->i) return -EBADMSG;
        tx(t, "{");
        for (uint32_t i = 0; i < n; i++) {
            if (i) tx(t, ", ");
            if ((rc = text_value(r, t, depth + 1)) < 0) return rc;
            tx(t, ": ");
            if ((rc = text_value(r, t, depth + 1)) < 0) return rc;
        }
        tx(t, "}");
        return 0;
    }
    if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd) {
        if ((rc = rd_array(r, &n)) < 0) return rc;
        if (n > r->n - r->i) return -EBADMSG;
        tx(t, "[");
        for (uint32_t i = 0; i < n; i++) {
            if (i) tx(t, ", ");
            if ((rc = text_value(r, t, depth + 1)) < 0) return rc;
        }
        tx(t, "]");
        return 0;
    }
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) {
        if ((rc = rd_str(r, &s, &n)) < 0) return rc;
        tx_str(t, s, n);
        return 0;
    }
    if (b == 0xc0) { r->i++; tx(t, "null"); return 0; }
    if (b == 0xc2 || b == 0xc3) { r->i++; tx(t, b == 0xc3 ? "true" : "false"); return 0; }
    if (b == 0xca || b == 0xcb) {
        double v;
        if ((rc = rd_num(r, &v)) < 0) return rc;
        tx(t, "%.10g", v);
        return 0;
    }
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
        if (b == 0xcf) {
            uint64_t u;
            if ((rc = rd_uint(r, &u)) < 0) return rc;
            tx(t, "%llu", (unsigned long long)u);
        } else {
            int64_t v;
            if ((rc = rd_int(r, &v)) < 0) return rc;
            tx(t, "%lld", (long long)v);
        }
        return 0;
    }
    if (b >= 0xc4 && b <= 0xc6) {
        const unsigned char* d;
        if ((rc = rd_bin(r, &d, &n)) < 0) return rc;
        tx(t, "\"<bin %u bytes>\"", n);
        return 0;
    }
    size_t start = r->i;
    if ((rc = rd_skip(r, depth)) < 0) return rc;
    tx(t, "\"<ext %zu bytes>\"", r->i - start);
    return 0;
}

int wire_to_text(const void* buf, size_t len, char* out, size_t cap) {
    Rd r = {buf, len, 0};
    Txt t = {out, cap, 0};
    if (cap) out[0] = 0;
    int rc = text_value(&r, &t, 0);
    if (rc == 0 && r.i != len) rc = -EBADMSG;
    return rc;
}

int wire_find_key(const void* buf, size_t len, const char* key, size_t* ret_off,
                  size_t* ret_len) {
    Rd r = {buf, len, 0};
    uint32_t n;
    int rc;
    size_t kl = strlen(key);
    if ((rc = rd_map(&r, &n)) < 0) return rc;
    for (uint32_t e = 0; e < n; e++) {
        const char* ks;
        uint32_t kn;
        if ((rc = rd_str(&r, &ks, &kn)) < 0) {
            if (rc != -EPROTO || (rc = rd_skip(&r, 1)) < 0) return rc;
            ks = NULL;
            kn = 0;
        }
        size_t v = r.i;
        if ((rc = rd_skip(&r, 1)) < 0) return rc;
        if (ks && kn == kl && memcmp(ks, key, kl) == 0) {
            *ret_off = v;
            *ret_len = r.i - v;
            return 0;
        }
    }
    return -ENOENT;
}

int wire_get_bool(const void* buf, size_t len, const char* key, int* ret) {
    size_t off, n;
    int rc = wire_find_key(buf, len, key, &off, &n);
    if (rc < 0) return rc;
    Rd r = {buf, off + n, off};
    return rd_bool(&r, ret);
}

int wire_get_int(const void* buf, size_t len, const char* key, int64_t* ret) {
    size_t off, n;
    int rc = wire_find_key(buf, len, key, &off, &n);
    if (rc < 0) return rc;
    Rd r = {buf, off + n, off};
    return rd_int(&r, ret);
}

int wire_get_double(const void* buf, size_t len, const char* key, double* ret) {
    size_t off, n;
    int rc = wire_find_key(buf, len, key, &off, &n);
    if (rc < 0) return rc;
    Rd r = {buf, off + n, off};
    return rd_num(&r, ret);
}

int wire_get_str(const void* buf, size_t len, const char* key, char* out, size_t cap) {
    size_t off, n;
    const char* s;
    uint32_t sn;
    int rc = wire_find_key(buf, len, key, &off, &n);
    if (rc < 0) return rc;
    Rd r = {buf, off + n, off};
    if ((rc = rd_str(&r, &s, &sn)) < 0) return rc;
    if (cap == 0) return -ENOBUFS;
    if (sn >= cap) sn = (uint32_t)(cap - 1);
    memcpy(out, s, sn);
    out[sn] = 0;
    return 0;
}

int wire_get_bin(const void* buf, size_t len, const char* key, const unsigned char** ret,
                 size_t* ret_len) {
    size_t off, n;
    const unsigned char* d;
    uint32_t dn;
    int rc = wire_find_key(buf, len, key, &off, &n);
    if (rc < 0) return rc;
    Rd r = {buf, off + n, off};
    if ((rc = rd_bin(&r, &d, &dn)) < 0) return rc;
    *ret = d;
    *ret_len = dn;
    return 0;
}
