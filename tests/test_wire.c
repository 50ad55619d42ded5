// SPDX-License-Identifier: Apache-2.0
// test_wire.c -- tests for transport/wire.c: round trips of every message, cross-checks
// against msgpack-c in both directions, and every kind of bad input (truncated,
// corrupted, wrong types, wrong sizes, NaN/Inf, oversized, unknown type, version,
// nesting bombs) -> the documented error code and a message, never a crash.
// Linked with -Wl,--wrap=malloc to assert that decoding allocates nothing.
#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "transport/wire.h"

//---- allocation counter (-Wl,--wrap=malloc) ----------------------------------------
void* __real_malloc(size_t n);
static long n_malloc;
void* __wrap_malloc(size_t n) {
    n_malloc++;
    return __real_malloc(n);
}

static unsigned char buf[1 << 21];
static unsigned char buf2[1 << 21];

static void fill_obs(WireObs* o, int dim, uint64_t seq) {
    memset(o, 0, sizeof *o);
    o->seq = seq;
    o->t_ns = 1700000000123456789ll;
    o->obs_dim = dim;
    for (int i = 0; i < dim; i++) o->obs[i] = 0.25 * i - 1.0 / 3.0;
    o->reward = -2.5;
    o->terminated = 0;
    o->truncated = 1;
    o->first = 0;
}

//---- round trips ---------------------------------------------------------------------
static void test_wire_hello_round_trip(void) {
    WireHello h = {.obs_dim = 17, .act_dim = 6, .dt = 0.05, .has_bounds = 1};
    strcpy(h.plant, "half_cheetah");
    for (int i = 0; i < 6; i++) { h.act_low[i] = -1 - i; h.act_high[i] = 1 + i; }
    int n = wire_encode_hello(buf, sizeof buf, &h);
    CHECK(n > 0, "encode hello %d", n);
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0, "decode hello: %s", e.msg);
    CHECK(m.type == WIRE_MSG_HELLO, "type %d", m.type);
    CHECK(strcmp(m.u.hello.plant, "half_cheetah") == 0, "plant %s", m.u.hello.plant);
    CHECK(m.u.hello.obs_dim == 17 && m.u.hello.act_dim == 6, "dims");
    CHECK(m.u.hello.dt == 0.05, "dt %g", m.u.hello.dt);
    CHECK(m.u.hello.has_bounds && m.u.hello.act_low[5] == -6 && m.u.hello.act_high[5] == 6, "bounds");
    // hello without bounds
    h.has_bounds = 0;
    n = wire_encode_hello(buf, sizeof buf, &h);
    rc = wire_decode(buf, (size_t)n, 17, 6, &m, &e);
    CHECK(rc == 0 && !m.u.hello.has_bounds, "hello without bounds: %d %s", rc, e.msg);
    // expected dims differ
    rc = wire_decode(buf, (size_t)n, 11, 0, &m, &e);
    CHECK(rc == -ERANGE, "hello with unexpected obs_dim: %d", rc);
}

static void test_wire_welcome_round_trip(void) {
    WireWelcome w = {.mode = WIRE_MODE_REALTIME, .rate_hz = 20, .policy_version = 7,
                     .max_msg_bytes = 65536};
    int n = wire_encode_welcome(buf, sizeof buf, &w);
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_WELCOME, "welcome: %d %s", rc, e.msg);
    CHECK(m.u.welcome.mode == WIRE_MODE_REALTIME && m.u.welcome.rate_hz == 20 &&
          m.u.welcome.policy_version == 7 && m.u.welcome.max_msg_bytes == 65536, "welcome fields");
}

static void test_wire_obs_round_trip(void) {
    WireObs o;
    int dims[] = {1, 11, 15, 16, 17, 127, 128};
    for (unsigned k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        fill_obs(&o, dims[k], 1ull << 40);
        o.first = 1;
        int n = wire_encode_obs(buf, sizeof buf, &o);
        CHECK(n > 0 && n <= WIRE_OBS_BUF, "encode obs dim %d -> %d (<= %d)", dims[k], n, WIRE_OBS_BUF);
        WireMsg m;
        MaacErr e = {{0}};
        int rc = wire_decode(buf, (size_t)n, dims[k], 0, &m, &e);
        CHECK(rc == 0 && m.type == WIRE_MSG_OBS, "decode obs dim %d: %s", dims[k], e.msg);
        CHECK(m.u.obs.seq == (1ull << 40) && m.u.obs.t_ns == o.t_ns, "seq/t_ns");
        CHECK(m.u.obs.obs_dim == dims[k], "obs_dim %d", m.u.obs.obs_dim);
        CHECK(memcmp(m.u.obs.obs, o.obs, sizeof(double) * (size_t)dims[k]) == 0, "obs values bit-exact");
        CHECK(m.u.obs.reward == -2.5 && !m.u.obs.terminated && m.u.obs.truncated && m.u.obs.first,
              "flags");
    }
}

static void test_wire_action_error_bye_ctl_round_trip(void) {
    WireAction a = {.seq = 99, .act_dim = 32, .policy_version = 3, .safe = 1};
    for (int i = 0; i < 32; i++) a.action[i] = sin(i);
    int n = wire_encode_action(buf, sizeof buf, &a);
    CHECK(n > 0 && n <= WIRE_ACT_BUF, "encode action %d", n);
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(buf, (size_t)n, 0, 32, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_ACTION, "action: %s", e.msg);
    CHECK(m.u.action.seq == 99 && m.u.action.act_dim == 32 && m.u.action.policy_version == 3 &&
          m.u.action.safe == 1, "action fields");
    CHECK(memcmp(m.u.action.action, a.action, sizeof(double) * 32) == 0, "action values");

    n = wire_encode_error(buf, sizeof buf, "bad_size", "obs has 3 entries, expected 17", 12);
    rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_ERROR && strcmp(m.u.error.code, "bad_size") == 0 &&
          strstr(m.u.error.msg, "expected 17") && m.u.error.has_seq && m.u.error.seq == 12,
          "error round trip: %d %s", rc, e.msg);
    n = wire_encode_error(buf, sizeof buf, "malformed", "x", -1);
    rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0 && !m.u.error.has_seq, "error without seq");

    n = wire_encode_bye(buf, sizeof buf);
    rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_BYE, "bye");

    n = wire_encode_ctl(buf, sizeof buf, "swap", "/var/lib/maacd/policy.msgpack");
    rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_CTL && strcmp(m.u.ctl.cmd, "swap") == 0 &&
          strcmp(m.u.ctl.arg, "/var/lib/maacd/policy.msgpack") == 0, "ctl swap");
    n = wire_encode_ctl(buf, sizeof buf, "status", NULL);
    rc = wire_decode(buf, (size_t)n, 0, 0, &m, &e);
    CHECK(rc == 0 && strcmp(m.u.ctl.cmd, "status") == 0 && m.u.ctl.arg[0] == 0, "ctl status");
}

static void test_wire_transitions_round_trip(void) {
    enum { S = 17, A = 6, N = 64, R = 2 * S + A + 2 };
    static float rows[N * R];
    for (int i = 0; i < N * R; i++) rows[i] = (float)(i % 97) * 0.125f - 3.0f;
    for (int i = 0; i < N; i++) rows[i * R + R - 1] = (float)(i % 2);
    size_t need = wire_transitions_size(S, A, N, "robot-7");
    int n = wire_encode_transitions(buf, sizeof buf, S, A, N, rows, "robot-7");
    CHECK(n > 0 && (size_t)n <= need, "encode transitions %d (bound %zu)", n, need);
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(buf, (size_t)n, S, A, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_TRANSITIONS, "transitions: %s", e.msg);
    CHECK(m.u.tr.n == N && m.u.tr.obs_dim == S && m.u.tr.act_dim == A, "tr dims");
    CHECK(strcmp(m.u.tr.source, "robot-7") == 0, "source");
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float s[S], a[A], r, s2[S], d;
        wire_transitions_row(&m.u.tr, i, s, a, &r, s2, &d);
        const float* x = rows + i * R;
        bad += memcmp(s, x, sizeof s) != 0;
        bad += memcmp(a, x + S, sizeof a) != 0;
        bad += r != x[S + A];
        bad += memcmp(s2, x + S + A + 1, sizeof s2) != 0;
        bad += d != x[R - 1];
    }
    CHECK(bad == 0, "%d row fields differ", bad);
    rc = wire_decode(buf, (size_t)n, S + 1, A, &m, &e);
    CHECK(rc == -ERANGE, "transitions with other obs_dim: %d", rc);
    // empty batch is valid
    n = wire_encode_transitions(buf, sizeof buf, S, A, 0, rows, NULL);
    rc = wire_decode(buf, (size_t)n, S, A, &m, &e);
    CHECK(rc == 0 && m.u.tr.n == 0, "empty transitions: %d %s", rc, e.msg);
    // NaN inside a row
    rows[5 * R + 3] = NAN;
    n = wire_encode_transitions(buf, sizeof buf, S, A, N, rows, NULL);
    rc = wire_decode(buf, (size_t)n, S, A, &m, &e);
    CHECK(rc == -EDOM && strstr(e.msg, "row 5"), "NaN transition: %d %s", rc, e.msg);
}

//---- msgpack-c cross-checks -------------------------------------------------------
static int obj_key(const msgpack_object* map, const char* key, msgpack_object* ret) {
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv* kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0) {
            *ret = kv->val;
            return 1;
        }
    }
    return 0;
}

static void test_wire_encode_is_read_by_msgpack_c(void) {
    WireObs o;
    fill_obs(&o, 17, 5);
    int n = wire_encode_obs(buf, sizeof buf, &o);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = msgpack_unpack_next(&u, (const char*)buf, (size_t)n, &off);
    CHECK(rc == MSGPACK_UNPACK_SUCCESS && off == (size_t)n, "msgpack-c unpack %d off %zu", rc, off);
    CHECK(u.data.type == MSGPACK_OBJECT_MAP && u.data.via.map.size == 9, "map of 9");
    msgpack_object v;
    CHECK(obj_key(&u.data, "type", &v) && v.type == MSGPACK_OBJECT_STR &&
          v.via.str.size == 3 && memcmp(v.via.str.ptr, "obs", 3) == 0, "type obs");
    CHECK(obj_key(&u.data, "v", &v) && v.type == MSGPACK_OBJECT_POSITIVE_INTEGER && v.via.u64 == 1, "v");
    CHECK(obj_key(&u.data, "seq", &v) && v.via.u64 == 5, "seq");
    CHECK(obj_key(&u.data, "t_ns", &v) && (int64_t)v.via.u64 == o.t_ns, "t_ns");
    CHECK(obj_key(&u.data, "obs", &v) && v.type == MSGPACK_OBJECT_ARRAY && v.via.array.size == 17 &&
          v.via.array.ptr[16].type == MSGPACK_OBJECT_FLOAT64 && v.via.array.ptr[16].via.f64 == o.obs[16],
          "obs array");
    CHECK(obj_key(&u.data, "truncated", &v) && v.type == MSGPACK_OBJECT_BOOLEAN && v.via.boolean, "bool");
    msgpack_unpacked_destroy(&u);

    // integers of every width and sign, through the free-form writer
    int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ll, 4294967296ll,
                      -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN, (int64_t)INT32_MIN - 1,
                      INT64_MIN, INT64_MAX};
    int nint = (int)(sizeof ints / sizeof ints[0]);
    WireWriter w;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_array(&w, (uint32_t)nint);
    for (int i = 0; i < nint; i++) wire_w_int(&w, ints[i]);
    n = wire_w_finish(&w);
    msgpack_unpacked_init(&u);
    off = 0;
    rc = msgpack_unpack_next(&u, (const char*)buf, (size_t)n, &off);
    int bad = rc != MSGPACK_UNPACK_SUCCESS;
    for (int i = 0; !bad && i < nint; i++) {
        msgpack_object* x = &u.data.via.array.ptr[i];
        int64_t got = x->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)x->via.u64 : x->via.i64;
        bad += got != ints[i];
    }
    CHECK(!bad, "integers differ after msgpack-c read");
    msgpack_unpacked_destroy(&u);
}

static void pk_str(msgpack_packer* pk, const char* s) {
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void test_wire_decode_reads_msgpack_c(void) {
    // Keys in another order, float32 and integer numbers, an unknown nested key, str8.
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10);
    pk_str(&pk, "obs");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_int(&pk, -2);
    msgpack_pack_uint64(&pk, 300);
    pk_str(&pk, "reward"); msgpack_pack_int(&pk, 1);
    pk_str(&pk, "terminated"); msgpack_pack_true(&pk);
    pk_str(&pk, "truncated"); msgpack_pack_false(&pk);
    pk_str(&pk, "x_future_field");
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "a");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "abc", 3);
    pk_str(&pk, "seq"); msgpack_pack_uint64(&pk, 18446744073709551615ull);
    pk_str(&pk, "t_ns"); msgpack_pack_int64(&pk, -5);
    pk_str(&pk, "type"); pk_str(&pk, "obs");
    pk_str(&pk, "v"); msgpack_pack_uint8(&pk, 1);
    pk_str(&pk, "a_rather_long_unknown_key_that_needs_str8_encoding_xxxxxxxx"); msgpack_pack_double(&pk, 1);
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(sb.data, sb.size, 3, 0, &m, &e);
    CHECK(rc == 0 && m.type == WIRE_MSG_OBS, "msgpack-c obs: %d %s", rc, e.msg);
    CHECK(m.u.obs.obs[0] == 1.5 && m.u.obs.obs[1] == -2 && m.u.obs.obs[2] == 300, "numbers");
    CHECK(m.u.obs.reward == 1 && m.u.obs.terminated && !m.u.obs.truncated && !m.u.obs.first, "fields");
    CHECK(m.u.obs.seq == 18446744073709551615ull && m.u.obs.t_ns == -5, "seq/t_ns");
    CHECK(wire_peek_type(sb.data, sb.size) == WIRE_MSG_OBS, "peek");
    msgpack_sbuffer_destroy(&sb);
}

//---- bad input ------------------------------------------------------------------------
// Encode an obs map with one field replaced/added/removed. what: key to change;
// kind: 0 drop it, 1 string value, 2 NaN, 3 Inf, 4 array of n doubles, 5 map value.
static int obs_variant(unsigned char* out, size_t cap, const char* what, int kind, int n) {
    const char* keys[] = {"v", "type", "seq", "t_ns", "obs", "reward", "terminated", "truncated"};
    WireWriter w;
    wire_w_init(&w, out, cap);
    int nk = 8, drop = 0;
    for (int k = 0; k < nk; k++) drop |= kind == 0 && strcmp(keys[k], what) == 0;
    wire_w_map(&w, (uint32_t)(nk - drop));
    for (int k = 0; k < nk; k++) {
        int mine = strcmp(keys[k], what) == 0;
        if (mine && drop) continue;
        wire_w_str(&w, keys[k]);
        if (mine && kind == 1) { wire_w_str(&w, "oops"); continue; }
        if (mine && kind == 2) { wire_w_double(&w, NAN); continue; }
        if (mine && kind == 3) { wire_w_double(&w, -INFINITY); continue; }
        if (mine && kind == 4) {
            wire_w_array(&w, (uint32_t)n);
            for (int i = 0; i < n; i++) wire_w_double(&w, i);
            continue;
        }
        if (mine && kind == 5) { wire_w_map(&w, 0); continue; }
        switch (k) {
        case 0: wire_w_int(&w, 1); break;
        case 1: wire_w_str(&w, "obs"); break;
        case 2: wire_w_int(&w, 41); break;
        case 3: wire_w_int(&w, 123); break;
        case 4: wire_w_array(&w, 4); for (int i = 0; i < 4; i++) wire_w_double(&w, i); break;
        case 5: wire_w_double(&w, 0.5); break;
        default: wire_w_bool(&w, 0); break;
        }
    }
    return wire_w_finish(&w);
}

static void expect(const unsigned char* b, int n, int obs_dim, int want, const char* needle,
                   const char* what) {
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(b, (size_t)n, obs_dim, 0, &m, &e);
    CHECK(rc == want, "%s: rc %d (%s), want %d (%s): %s", what, rc, wire_err_name(rc), want,
          wire_err_name(want), e.msg);
    CHECK(rc == 0 || e.msg[0], "%s: empty error message", what);
    if (needle) CHECK(strstr(e.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, e.msg, needle);
}

static void test_wire_decode_rejects_wrong_types_and_missing_keys(void) {
    int n = obs_variant(buf, sizeof buf, "", 0, 0);
    expect(buf, n, 4, 0, NULL, "baseline obs");
    const char* req[] = {"v", "type", "seq", "t_ns", "obs", "reward", "terminated", "truncated"};
    for (int k = 0; k < 8; k++) {
        n = obs_variant(buf, sizeof buf, req[k], 0, 0);
        expect(buf, n, 4, -EPROTO, req[k], "missing key");
        n = obs_variant(buf, sizeof buf, req[k], 1, 0);
        int want = strcmp(req[k], "type") == 0 ? -EPROTO : -EPROTO;
        expect(buf, n, 4, want, req[k], "string value");
        n = obs_variant(buf, sizeof buf, req[k], 5, 0);
        expect(buf, n, 4, -EPROTO, strcmp(req[k], "type") ? req[k] : "'type'", "map value");
    }
    // element of obs of the wrong type
    WireWriter w;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 8);
    wire_w_str(&w, "v"); wire_w_int(&w, 1);
    wire_w_str(&w, "type"); wire_w_str(&w, "obs");
    wire_w_str(&w, "seq"); wire_w_int(&w, 7);
    wire_w_str(&w, "t_ns"); wire_w_int(&w, 0);
    wire_w_str(&w, "obs"); wire_w_array(&w, 2); wire_w_double(&w, 1); wire_w_str(&w, "2");
    wire_w_str(&w, "reward"); wire_w_double(&w, 0);
    wire_w_str(&w, "terminated"); wire_w_bool(&w, 0);
    wire_w_str(&w, "truncated"); wire_w_bool(&w, 0);
    n = wire_w_finish(&w);
    expect(buf, n, 0, -EPROTO, "'obs'[1] must be a number, got string", "obs element string");
    // negative seq
    n = obs_variant(buf, sizeof buf, "seq", 0, 0);
    (void)n;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 3);
    wire_w_str(&w, "v"); wire_w_int(&w, 1);
    wire_w_str(&w, "type"); wire_w_str(&w, "action");
    wire_w_str(&w, "seq"); wire_w_int(&w, -3);
    n = wire_w_finish(&w);
    expect(buf, n, 0, -EPROTO, "non-negative", "negative seq");
}

static void test_wire_decode_rejects_wrong_sizes(void) {
    int n = obs_variant(buf, sizeof buf, "obs", 4, 17);
    expect(buf, n, 17, 0, NULL, "17 entries, expecting 17");
    expect(buf, n, 11, -ERANGE, "17 entries, expected 11", "17 entries, expecting 11");
    n = obs_variant(buf, sizeof buf, "obs", 4, 129);
    expect(buf, n, 0, -ERANGE, "at most 128", "129 entries");
    n = obs_variant(buf, sizeof buf, "obs", 4, 0);
    expect(buf, n, 0, -ERANGE, "empty", "0 entries");
    // action of the wrong width, as the plant sees it
    WireAction a = {.seq = 1, .act_dim = 3};
    n = wire_encode_action(buf, sizeof buf, &a);
    WireMsg m;
    MaacErr e = {{0}};
    CHECK(wire_decode(buf, (size_t)n, 0, 6, &m, &e) == -ERANGE && m.u.action.seq == 1,
          "action 3 vs 6: %s", e.msg);
    // hello with dims out of range
    WireHello h = {.obs_dim = 4, .act_dim = 2, .dt = 0.01};
    strcpy(h.plant, "p");
    n = wire_encode_hello(buf, sizeof buf, &h);
    CHECK(n > 0, "hello");
    // patch obs_dim value (a positive fixint 4) into 0x7f = 127 -> fine, then use writer for 200
    WireWriter w;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 6);
    wire_w_str(&w, "v"); wire_w_int(&w, 1);
    wire_w_str(&w, "type"); wire_w_str(&w, "hello");
    wire_w_str(&w, "plant"); wire_w_str(&w, "p");
    wire_w_str(&w, "obs_dim"); wire_w_int(&w, 200);
    wire_w_str(&w, "act_dim"); wire_w_int(&w, 2);
    wire_w_str(&w, "dt"); wire_w_double(&w, 0.01);
    n = wire_w_finish(&w);
    expect(buf, n, 0, -ERANGE, "obs_dim", "hello obs_dim 200");
    // plant name too long
    char longname[100];
    memset(longname, 'x', sizeof longname - 1);
    longname[99] = 0;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 6);
    wire_w_str(&w, "v"); wire_w_int(&w, 1);
    wire_w_str(&w, "type"); wire_w_str(&w, "hello");
    wire_w_str(&w, "plant"); wire_w_str(&w, longname);
    wire_w_str(&w, "obs_dim"); wire_w_int(&w, 3);
    wire_w_str(&w, "act_dim"); wire_w_int(&w, 2);
    wire_w_str(&w, "dt"); wire_w_double(&w, 0.01);
    n = wire_w_finish(&w);
    expect(buf, n, 0, -ERANGE, "plant", "hello long plant name");
}

static void test_wire_decode_rejects_nonfinite(void) {
    WireObs o;
    fill_obs(&o, 5, 77);
    o.obs[3] = NAN;
    int n = wire_encode_obs(buf, sizeof buf, &o);
    WireMsg m;
    MaacErr e = {{0}};
    int rc = wire_decode(buf, (size_t)n, 5, 0, &m, &e);
    CHECK(rc == -EDOM && m.type == WIRE_MSG_OBS && m.u.obs.seq == 77, "NaN obs: %d seq %llu",
          rc, (unsigned long long)m.u.obs.seq);
    CHECK(strstr(e.msg, "'obs'[3] is NaN") != NULL, "msg %s", e.msg);
    o.obs[3] = 0;
    o.obs[0] = -INFINITY;
    n = wire_encode_obs(buf, sizeof buf, &o);
    expect(buf, n, 5, -EDOM, "Inf", "Inf obs");
    o.obs[0] = 0;
    o.reward = INFINITY;
    n = wire_encode_obs(buf, sizeof buf, &o);
    expect(buf, n, 5, -EDOM, "reward", "Inf reward");
    n = obs_variant(buf, sizeof buf, "reward", 2, 0);
    expect(buf, n, 0, -EDOM, "reward", "NaN reward");
    WireAction a = {.seq = 2, .act_dim = 2, .action = {0, NAN}};
    n = wire_encode_action(buf, sizeof buf, &a);
    expect(buf, n, 0, -EDOM, "'action'[1] is NaN", "NaN action");
    WireHello h = {.obs_dim = 4, .act_dim = 2, .dt = NAN};
    strcpy(h.plant, "p");
    n = wire_encode_hello(buf, sizeof buf, &h);
    expect(buf, n, 0, -EDOM, "dt", "NaN dt");
}

static void test_wire_decode_rejects_malformed(void) {
    WireObs o;
    fill_obs(&o, 17, 3);
    int n = wire_encode_obs(buf, sizeof buf, &o);
    // every strict prefix is an error (mostly -EBADMSG), never success, never a crash
    int n_ok = 0, n_badmsg = 0;
    for (int k = 0; k < n; k++) {
        WireMsg m;
        MaacErr e = {{0}};
        int rc = wire_decode(buf, (size_t)k, 17, 0, &m, &e);
        n_ok += rc == 0;
        n_badmsg += rc == -EBADMSG;
    }
    CHECK(n_ok == 0, "%d truncated prefixes decoded", n_ok);
    CHECK(n_badmsg == n, "%d of %d prefixes were -EBADMSG", n_badmsg, n);
    // a truncated obs still names its type and seq (v, type, seq come first) so the
    // daemon can answer it with a safe action for that seq
    {
        WireMsg m;
        fill_obs(&o, 17, 4242);
        n = wire_encode_obs(buf, sizeof buf, &o);
        int rc = wire_decode(buf, (size_t)n - 40, 17, 0, &m, NULL);
        CHECK(rc == -EBADMSG && m.type == WIRE_MSG_OBS && m.u.obs.seq == 4242,
              "truncated obs: rc %d type %d seq %llu", rc, m.type, (unsigned long long)m.u.obs.seq);
        rc = wire_decode(buf, 19, 17, 0, &m, NULL);   // cut inside "seq"'s value (uint16)
        CHECK(rc == -EBADMSG && m.type == WIRE_MSG_OBS && m.u.obs.seq == 0,
              "obs cut in seq: rc %d type %d seq %llu", rc, m.type, (unsigned long long)m.u.obs.seq);
        buf[3] = 0x07;   // "v": 1 -> 7
        rc = wire_decode(buf, (size_t)n, 17, 0, &m, NULL);
        CHECK(rc == -EPROTONOSUPPORT && m.type == WIRE_MSG_OBS && m.u.obs.seq == 4242,
              "bad-version obs: rc %d type %d seq %llu", rc, m.type, (unsigned long long)m.u.obs.seq);
        fill_obs(&o, 17, 3);
        n = wire_encode_obs(buf, sizeof buf, &o);
    }
    // trailing bytes
    buf[n] = 0xc0;
    expect(buf, n + 1, 17, -EBADMSG, "trailing", "trailing byte");
    // the reserved byte 0xc1
    unsigned char c1[] = {0x81, 0xa1, 'v', 0xc1};
    expect(c1, sizeof c1, 0, -EBADMSG, "malformed", "0xc1");
    // empty message
    expect(buf, 0, 0, -EBADMSG, "empty", "empty");
    // not a map
    unsigned char arr[] = {0x92, 0x01, 0x02};
    expect(arr, sizeof arr, 0, -EPROTO, "must be a msgpack map, got array", "array message");
    unsigned char num[] = {0x2a};
    expect(num, sizeof num, 0, -EPROTO, "got integer", "integer message");
    // a map claiming 2^32-1 entries in a few bytes: rejected at once
    unsigned char huge[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v', 0x01};
    expect(huge, sizeof huge, 0, -EBADMSG, "entries", "huge map header");
    // an unknown key holding an array claiming 2^32-1 items
    unsigned char huge2[] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00};
    expect(huge2, sizeof huge2, 0, -EBADMSG, NULL, "huge array header");
    // a nesting bomb: {"x": [[[[...]]]]} 100000 levels deep
    size_t depth = 100000;
    buf[0] = 0x81; buf[1] = 0xa1; buf[2] = 'x';
    memset(buf + 3, 0x91, depth);
    buf[3 + depth] = 0x00;
    expect(buf, (int)(depth + 4), 0, -EBADMSG, NULL, "nesting bomb");
    // non-string key
    unsigned char ik[] = {0x81, 0x01, 0x02};
    expect(ik, sizeof ik, 0, -EPROTO, "keys must be strings", "integer key");
    // string length beyond the buffer
    unsigned char sl[] = {0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'v'};
    expect(sl, sizeof sl, 0, -EBADMSG, NULL, "long str header");
    // ext values are skipped when unknown
    unsigned char ext[] = {0x83, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'b', 'y', 'e',
                           0xa1, 'x', 0xd4, 0x01, 0x02};
    expect(ext, sizeof ext, 0, 0, NULL, "bye with a fixext key");
    // duplicate key
    unsigned char dup[] = {0x83, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e',
                           0xa3, 'b', 'y', 'e'};
    expect(dup, sizeof dup, 0, -EPROTO, "duplicate", "duplicate key");
}

static void test_wire_decode_rejects_unknown_type_version_oversize(void) {
    unsigned char unk[] = {0x82, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p', 'i', 'n', 'g'};
    expect(unk, sizeof unk, 0, -EPROTO, "unknown message type 'ping'", "unknown type");
    WireMsg m;
    CHECK(wire_decode(unk, sizeof unk, 0, 0, &m, NULL) == -EPROTO && m.type == WIRE_MSG_NONE,
          "unknown type leaves WIRE_MSG_NONE");
    unsigned char ver[] = {0x82, 0xa1, 'v', 0x02, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'b', 'y', 'e'};
    expect(ver, sizeof ver, 0, -EPROTONOSUPPORT, "version 2", "version 2");
    unsigned char nov[] = {0x81, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'b', 'y', 'e'};
    expect(nov, sizeof nov, 0, -EPROTO, "'v'", "no version");
    unsigned char tint[] = {0x82, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e', 0x03};
    expect(tint, sizeof tint, 0, -EPROTO, "'type' must be a string", "integer type");
    // oversized: a valid message padded past WIRE_MAX_MSG through an unknown bin key
    WireWriter w;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 3);
    wire_w_str(&w, "v"); wire_w_int(&w, 1);
    wire_w_str(&w, "type"); wire_w_str(&w, "bye");
    wire_w_str(&w, "pad"); wire_w_bin(&w, buf2, WIRE_MAX_MSG);
    int n = wire_w_finish(&w);
    CHECK(n > WIRE_MAX_MSG, "padded %d", n);
    expect(buf, n, 0, -EMSGSIZE, "exceeds", "oversized");
    CHECK(strcmp(wire_err_name(-EMSGSIZE), "oversized") == 0 &&
          strcmp(wire_err_name(-EBADMSG), "malformed") == 0 &&
          strcmp(wire_err_name(-EDOM), "nonfinite") == 0 &&
          strcmp(wire_err_name(-ERANGE), "bad_size") == 0 &&
          strcmp(wire_err_name(-EPROTO), "bad_message") == 0 &&
          strcmp(wire_err_name(-EPROTONOSUPPORT), "bad_version") == 0, "error names");
}

// Random corruption of valid messages (fixed seed): decoding returns 0 or one of the
// documented codes; ASan/UBSan watch the rest.
static void test_wire_decode_survives_corruption(void) {
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int odd = 0, n_ok = 0;
    for (int trial = 0; trial < 30000; trial++) {
        // a valid message of each kind in turn, then corrupted
        int n = 0;
        switch (trial % 6) {
        case 0: { WireObs o; fill_obs(&o, 17, 9); n = wire_encode_obs(buf2, sizeof buf2, &o); break; }
        case 1: {
            WireHello h = {.obs_dim = 4, .act_dim = 2, .dt = 0.02, .has_bounds = 1,
                           .act_low = {-1, -2}, .act_high = {1, 2}};
            strcpy(h.plant, "hopper");
            n = wire_encode_hello(buf2, sizeof buf2, &h);
            break;
        }
        case 2: { WireAction a = {.seq = 3, .act_dim = 6}; n = wire_encode_action(buf2, sizeof buf2, &a); break; }
        case 3: {
            float rows[3 * 12] = {0};
            n = wire_encode_transitions(buf2, sizeof buf2, 4, 2, 3, rows, "src");
            break;
        }
        case 4: n = wire_encode_ctl(buf2, sizeof buf2, "swap", "/tmp/p.msgpack"); break;
        default: {
            WireWriter w;
            wire_w_init(&w, buf2, sizeof buf2);
            wire_w_reply_begin(&w, 1, 2);
            wire_w_str(&w, "x"); wire_w_array(&w, 2); wire_w_double(&w, 1); wire_w_nil(&w);
            wire_w_str(&w, "y"); wire_w_map(&w, 1); wire_w_str(&w, "z"); wire_w_bin(&w, "ab", 2);
            n = wire_w_finish(&w);
            break;
        }
        }
        memcpy(buf, buf2, (size_t)n);
        int flips = 1 + trial % 4;
        for (int f = 0; f < flips; f++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[x % (uint64_t)n] = (unsigned char)(x >> 32);
        }
        WireMsg m;
        MaacErr e = {{0}};
        int len = n - (int)((x >> 40) % 3);
        int rc = wire_decode(buf, (size_t)len, 0, 0, &m, &e);
        n_ok += rc == 0;
        if (rc != 0 && rc != -EBADMSG && rc != -EPROTO && rc != -EPROTONOSUPPORT &&
            rc != -ERANGE && rc != -EDOM)
            odd++;
        if (rc != 0 && !e.msg[0]) odd++;
        char text[256];
        (void)wire_to_text(buf, (size_t)len, text, sizeof text);   // must not crash either
        (void)wire_peek_type(buf, (size_t)len);
    }
    CHECK(odd == 0, "%d corrupted messages gave undocumented codes or no message", odd);
    printf("corruption: %d of 30000 still decoded\n", n_ok);
}

static void test_wire_encode_reports_small_buffers(void) {
    WireObs o;
    fill_obs(&o, 17, 3);
    int full = wire_encode_obs(buf, sizeof buf, &o);
    int bad = 0;
    for (int cap = 0; cap < full; cap++) bad += wire_encode_obs(buf, (size_t)cap, &o) != -ENOBUFS;
    CHECK(bad == 0, "%d short buffers not reported", bad);
    CHECK(wire_encode_obs(buf, (size_t)full, &o) == full, "exact fit");
    o.obs_dim = 0;
    CHECK(wire_encode_obs(buf, sizeof buf, &o) == -EINVAL, "obs_dim 0");
}

static void test_wire_text_and_getters(void) {
    WireWriter w;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_reply_begin(&w, 1, 3);
    wire_w_str(&w, "policy_version"); wire_w_uint(&w, 12);
    wire_w_str(&w, "p99_us"); wire_w_double(&w, 41.5);
    wire_w_str(&w, "note"); wire_w_str(&w, "a \"quoted\" word");
    int n = wire_w_finish(&w);
    char text[512];
    CHECK(wire_to_text(buf, (size_t)n, text, sizeof text) == 0, "to_text");
    CHECK(strcmp(text, "{\"v\": 1, \"type\": \"reply\", \"ok\": true, \"policy_version\": 12, "
                       "\"p99_us\": 41.5, \"note\": \"a \\\"quoted\\\" word\"}") == 0, "text: %s", text);
    WireMsg m;
    MaacErr e = {{0}};
    CHECK(wire_decode(buf, (size_t)n, 0, 0, &m, &e) == 0 && m.type == WIRE_MSG_REPLY, "reply: %s", e.msg);
    int ok = 0;
    int64_t pv = 0;
    double p99 = 0;
    char s[8];
    CHECK(wire_get_bool(buf, (size_t)n, "ok", &ok) == 0 && ok, "ok");
    CHECK(wire_get_int(buf, (size_t)n, "policy_version", &pv) == 0 && pv == 12, "pv");
    CHECK(wire_get_double(buf, (size_t)n, "p99_us", &p99) == 0 && p99 == 41.5, "p99");
    CHECK(wire_get_str(buf, (size_t)n, "note", s, sizeof s) == 0 && strcmp(s, "a \"quot") == 0,
          "truncated str %s", s);
    CHECK(wire_get_int(buf, (size_t)n, "missing", &pv) == -ENOENT, "missing key");
    CHECK(wire_to_text(buf, (size_t)n - 1, text, sizeof text) == -EBADMSG, "truncated text");
    char small[10];
    CHECK(wire_to_text(buf, (size_t)n, small, sizeof small) == 0 && strlen(small) == 9, "small text");
    CHECK(wire_peek_type(buf, (size_t)n) == WIRE_MSG_REPLY, "peek reply");
    CHECK(wire_peek_type("\x92", 1) == WIRE_MSG_NONE, "peek garbage");
    CHECK(strcmp(wire_type_name(WIRE_MSG_TRANSITIONS), "transitions") == 0, "type name");
}

static void test_wire_decode_allocates_nothing(void) {
    WireObs o;
    fill_obs(&o, 17, 1);
    int n = wire_encode_obs(buf, sizeof buf, &o);
    unsigned char bad[256];
    int nb = obs_variant(bad, sizeof bad, "obs", 4, 3);
    long before = n_malloc;
    int fails = 0;
    for (int i = 0; i < 1000; i++) {
        WireMsg m;
        MaacErr e;
        fails += wire_decode(buf, (size_t)n, 17, 6, &m, &e) != 0;
        fails += wire_decode(bad, (size_t)nb, 17, 6, &m, &e) != -ERANGE;   // error path too
        WireAction a = {.seq = (uint64_t)i, .act_dim = 6};
        fails += wire_encode_action(buf2, WIRE_ACT_BUF, &a) <= 0;
    }
    CHECK(fails == 0, "%d unexpected results", fails);
    CHECK(n_malloc == before, "decode/encode called malloc %ld times", n_malloc - before);
    // the counter itself works
    void* volatile p = malloc(16);
    CHECK(n_malloc == before + 1, "malloc wrapper inactive");
    free(p);
}

int main(void) {
    test_wire_hello_round_trip();
    test_wire_welcome_round_trip();
    test_wire_obs_round_trip();
    test_wire_action_error_bye_ctl_round_trip();
    test_wire_transitions_round_trip();
    test_wire_encode_is_read_by_msgpack_c();
    test_wire_decode_reads_msgpack_c();
    test_wire_decode_rejects_wrong_types_and_missing_keys();
    test_wire_decode_rejects_wrong_sizes();
    test_wire_decode_rejects_nonfinite();
    test_wire_decode_rejects_malformed();
    test_wire_decode_rejects_unknown_type_version_oversize();
    test_wire_decode_survives_corruption();
    test_wire_encode_reports_small_buffers();
    test_wire_text_and_getters();
    test_wire_decode_allocates_nothing();
    return test_summary("test_wire");
}
