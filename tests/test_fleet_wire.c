// SPDX-License-Identifier: Apache-2.0
// test_fleet_wire.c -- the fleet messages (transport/fleet_wire.h): each round-trips
// field by field; truncated, wrong-version, unknown-type, missing-field and
// negative-number messages are refused with the documented codes.
#include <errno.h>
#include <string.h>

#include "test_util.h"
#include "transport/fleet_wire.h"

static void roundtrips(void) {
    unsigned char buf[4096], tr[512];
    FleetMsg m;
    MaacErr e;
    float lo[3] = {-1, -2, -0.5f}, hi[3] = {1, 2, 0.25f};
    int n = fleet_encode_hello(buf, sizeof buf, "r1", 77, "hopper", 11, 3, 0.008, lo, hi, 5, 9, 12);
    CHECK(n > 0 && fleet_decode(buf, (size_t)n, &m, &e) == 0, "hello: %s", e.msg);
    CHECK(m.type == FLEET_HELLO && !strcmp(m.robot, "r1") && m.boot == 77 &&
          !strcmp(m.plant, "hopper") && m.obs_dim == 11 && m.act_dim == 3 && m.served == 5 &&
          m.acked == 9 && m.rows == 12 && m.dt == 0.008 && m.act_low[2] == -0.5 &&
          m.act_high[1] == 2 && m.act_high[2] == 0.25, "hello fields");
    float bad_hi[3] = {1, -3, 1};   // high below low: refused
    n = fleet_encode_hello(buf, sizeof buf, "r1", 77, "hopper", 11, 3, 0.008, lo, bad_hi, 5, 9, 12);
    CHECK(fleet_decode(buf, (size_t)n, &m, &e) == -EDOM, "inverted bounds refused");
    n = fleet_encode_hello(buf, sizeof buf, "r1", 77, "hopper", 11, 3, -1, lo, hi, 5, 9, 12);
    CHECK(fleet_decode(buf, (size_t)n, &m, &e) == -EPROTO, "negative dt refused");
    float rows[2 * 7] = {1, 2, 3, 4, 5, 6, 0, 7, 8, 9, 10, 11, 12, 1};   // S=2, A=1: 2S+A+2 = 7
    int k = wire_encode_transitions(tr, sizeof tr, 2, 1, 2, rows, "r1");
    n = fleet_encode_rows(buf, sizeof buf, "r1", 77, 100, 90, 5, tr, (size_t)k);
    CHECK(n > 0 && fleet_decode(buf, (size_t)n, &m, &e) == 0, "rows: %s", e.msg);
    CHECK(m.type == FLEET_ROWS && m.seq == 100 && m.acked == 90 && m.served == 5 &&
          m.tr_len == (size_t)k && !memcmp(m.tr, tr, (size_t)k), "rows fields");
    WireMsg w;
    CHECK(wire_decode(m.tr, m.tr_len, 2, 1, &w, &e) == 0 && w.u.tr.n == 2, "embedded rows");
    float s[2], act[1], r, s2[2], term;
    wire_transitions_row(&w.u.tr, 1, s, act, &r, s2, &term);
    CHECK(s[0] == 7 && s[1] == 8 && act[0] == 9 && r == 10 && s2[0] == 11 && s2[1] == 12 &&
          term == 1, "second row's values");
    n = fleet_encode_ack(buf, sizeof buf, 123456789, 4242, 1, 17);
    CHECK(n > 0 && fleet_decode(buf, (size_t)n, &m, &e) == 0, "ack: %s", e.msg);
    CHECK(m.type == FLEET_ACK && m.learner == 123456789 && m.next == 4242 && m.rewind == 1 &&
          m.version == 17, "ack fields");
    n = fleet_encode_policy(buf, sizeof buf, 5, 18, "ckpt-bytes", 10);
    CHECK(n > 0 && fleet_decode(buf, (size_t)n, &m, &e) == 0, "policy: %s", e.msg);
    CHECK(m.type == FLEET_POLICY && m.version == 18 && m.policy_len == 10 &&
          !memcmp(m.policy, "ckpt-bytes", 10), "policy fields");
    CHECK(fleet_encode_policy(buf, 20, 5, 18, "ckpt-bytes", 10) == -ENOBUFS, "small buffer");
}

static void refusals(void) {
    unsigned char buf[256];
    FleetMsg m;
    MaacErr e;
    int n = fleet_encode_ack(buf, sizeof buf, 1, 2, 0, 3);
    for (int cut = 0; cut < n; cut++)   // every truncation is refused, none crashes
        CHECK(fleet_decode(buf, (size_t)cut, &m, &e) < 0, "truncated at %d decoded", cut);
    WireWriter w;
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 2);
    wire_w_str(&w, "v");
    wire_w_uint(&w, 99);
    wire_w_str(&w, "type");
    wire_w_str(&w, "fleet_ack");
    n = wire_w_finish(&w);
    CHECK(fleet_decode(buf, (size_t)n, &m, &e) == -EPROTONOSUPPORT, "wrong version");
    wire_w_init(&w, buf, sizeof buf);
    wire_w_map(&w, 2);
    wire_w_str(&w, "v");
    wire_w_uint(&w, WIRE_VERSION);
    wire_w_str(&w, "type");
    wire_w_str(&w, "fleet_bogus");
    n = wire_w_finish(&w);
    CHECK(fleet_decode(buf, (size_t)n, &m, &e) == -EPROTO, "unknown type");
    wire_w_init(&w, buf, sizeof buf);   // an ack without "next"
    wire_w_map(&w, 5);
    wire_w_str(&w, "v");
    wire_w_uint(&w, WIRE_VERSION);
    wire_w_str(&w, "type");
    wire_w_str(&w, "fleet_ack");
    wire_w_str(&w, "learner");
    wire_w_uint(&w, 1);
    wire_w_str(&w, "rewind");
    wire_w_bool(&w, 0);
    wire_w_str(&w, "version");
    wire_w_int(&w, -4);
    n = wire_w_finish(&w);
    CHECK(fleet_decode(buf, (size_t)n, &m, &e) < 0, "missing next / negative version");
}

int main(void) {
    roundtrips();
    refusals();
    return test_summary("test_fleet_wire");
}
