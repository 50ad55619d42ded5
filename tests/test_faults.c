// SPDX-License-Identifier: Apache-2.0
// test_faults.c -- faults treated as faults (issue 33): log lines rate-limited per kind
// with a suppressed count; error text sent back as valid UTF-8 even when it quotes
// invalid bytes; `bye` from a peer without a session gets not_ready; the health alarm
// raises on the safe-action share and on drops over the window and clears again.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon/ctrl.h"
#include "daemon/health_alarm.h"
#include "daemon/ratelog.h"
#include "transport/utf8.h"
#include "transport/wire.h"
#include "test_util.h"

static void test_ratelog(void) {
    RateLog rl;
    memset(&rl, 0, sizeof rl);
    uint64_t n = 99;
    int64_t t = 5000000000LL;
    CHECK(ratelog_allow(&rl, t, &n) == 1 && n == 0, "first line logged");
    int logged = 0;
    for (int i = 1; i <= 1000; i++) logged += ratelog_allow(&rl, t + i * 900000LL, &n);
    CHECK(logged == 0, "1000 lines within the second suppressed (%d logged)", logged);
    CHECK(ratelog_allow(&rl, t + RATELOG_INTERVAL_NS, &n) == 1 && n == 1000,
          "next second: one line carrying the count (%llu)", (unsigned long long)n);
    RateLog other;
    memset(&other, 0, sizeof other);
    CHECK(ratelog_allow(&other, t + 1, &n) == 1, "another kind has its own budget");
}

static void test_utf8(void) {
    CHECK(utf8_valid("plain ascii") && utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
          "valid text");
    static const char* const bad[] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80", "ab\xc3", "\x80"};
    for (int i = 0; i < 7; i++) CHECK(!utf8_valid(bad[i]), "invalid sequence %d refused", i);
    char out[16];
    CHECK(utf8_copy(out, sizeof out, "a\xff" "b\xc3") == 2 && !strcmp(out, "a?b?"), "copy: %s", out);
    // truncation never splits a character: 5 x 3-byte euro signs into 8 bytes -> 2 of them
    utf8_copy(out, 8, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
    CHECK(strlen(out) == 6 && utf8_valid(out), "truncated on a character boundary");
}

// An unknown type made of invalid bytes: the daemon's error reply must be valid UTF-8.
static void test_error_reply_is_utf8(void) {
    unsigned char msg[64], rep[1024];
    // {"v": 1, "type": "\xff\xfe<junk>"}
    int n = 0;
    msg[n++] = 0x82;
    msg[n++] = 0xa1, msg[n++] = 'v', msg[n++] = 0x01;
    msg[n++] = 0xa4, memcpy(msg + n, "type", 4), n += 4;
    msg[n++] = 0xa6, memcpy(msg + n, "\xff\xfe\xc3(x\x80", 6), n += 6;
    WireMsg* m = calloc(1, sizeof *m);
    MaacErr err = {""};
    int r = wire_decode(msg, (size_t)n, 0, 0, m, &err);
    CHECK(r < 0 && strstr(err.msg, "unknown message type"), "refused: %s", err.msg);
    int k = wire_encode_error(rep, sizeof rep, wire_err_name(r), err.msg, -1);
    CHECK(k > 0 && wire_decode(rep, (size_t)k, 0, 0, m, NULL) == 0 && m->type == WIRE_MSG_ERROR,
          "error reply decodes");
    CHECK(utf8_valid(m->u.error.msg) && strstr(m->u.error.msg, "unknown message type"),
          "error text is valid UTF-8: %s", m->u.error.msg);
    CHECK(!utf8_valid(err.msg), "(the raw text quoted invalid bytes)");
    free(m);
}

static void test_bye_before_hello(void) {
    void* z = zmq_ctx_new();
    MaacErr err = {""};
    void* router = link_bind(z, ZMQ_ROUTER, "inproc://faults", NULL, &err);
    void* dealer = link_connect(z, ZMQ_DEALER, "inproc://faults", NULL, &err);
    SwapSlot slot;
    swap_init(&slot, served_free, served_stamp);
    PlantInfo plant;
    memset(&plant, 0, sizeof plant);
    snprintf(plant.name, sizeof plant.name, "inverted_pendulum");
    plant.obs_dim = 4, plant.act_dim = 1, plant.dt = 0.04;
    plant.act_low[0] = -3, plant.act_high[0] = 3;
    DaemonConfig cfg;
    config_default(&cfg);
    Ctrl* c = ctrl_create(&cfg, &plant, z, router, NULL, &slot, &err);
    CHECK(c != NULL, "ctrl_create: %s", err.msg);
    unsigned char buf[256], rbuf[4096];
    link_send(dealer, buf, (size_t)wire_encode_bye(buf, sizeof buf), 0);
    (void)link_poll_in(router, 200);
    ctrl_step(c, rt_now_ns());
    (void)link_poll_in(dealer, 200);
    int n = link_recv(dealer, rbuf, sizeof rbuf, ZMQ_DONTWAIT);
    WireMsg* m = calloc(1, sizeof *m);
    CHECK(n > 0 && wire_decode(rbuf, (size_t)n, 0, 0, m, NULL) == 0 && m->type == WIRE_MSG_ERROR &&
              !strcmp(m->u.error.code, "not_ready"),
          "bye before hello answered not_ready (n = %d, code %s)", n, n > 0 ? m->u.error.code : "-");
    CHECK(atomic_load(&ctrl_stats(c)->err_not_ready) == 1, "counted");
    free(m);
    ctrl_free(c);
    swap_done(&slot);
    link_close(dealer);
    zmq_ctx_term(z);
}

static void test_health_alarm(void) {
    HealthAlarm a;
    health_alarm_init(&a, 0.2, 100);
    uint64_t act = 0, safe = 0, drops = 0;
    int raised_at = -1, cleared_at = -1;
    // 30 s healthy (5% safe), 30 s at 40% safe, then healthy again for 90 s
    for (int s = 0; s < 150; s++) {
        act += 1000;
        safe += (s >= 30 && s < 60) ? 400 : 50;
        int ch = health_alarm_update(&a, act, safe, drops);
        if (ch && (a.flags & HEALTH_ALARM_SAFE) && raised_at < 0) raised_at = s;
        if (ch && !a.flags && raised_at >= 0) cleared_at = s;
    }
    CHECK(raised_at > 30 && raised_at < 60, "safe-share alarm raised within the bad half minute (%d)",
          raised_at);
    CHECK(strstr(a.text, "safe") == NULL && cleared_at > 60, "cleared once the minute is good (%d)",
          cleared_at);
    // drops: 3 per second is 180 a minute, over the limit of 100
    health_alarm_init(&a, 0.2, 100);
    drops = 0;
    int raised = 0;
    for (int s = 0; s < 61; s++) {
        drops += 3;
        health_alarm_update(&a, (uint64_t)s * 1000, 0, drops);
        raised |= (a.flags & HEALTH_ALARM_DROPS) != 0;
    }
    CHECK(raised && a.window_drops == 180 && strstr(a.text, "drops"), "drops alarm: %s", a.text);
    // off when the limits are 0; too few actions never raise the share alarm
    health_alarm_init(&a, 0, 0);
    CHECK(health_alarm_update(&a, 10000, 10000, 10000) == 0 && a.flags == 0, "limits 0 = off");
    health_alarm_init(&a, 0.2, 0);
    health_alarm_update(&a, 0, 0, 0);
    health_alarm_update(&a, 50, 50, 0);
    CHECK(a.flags == 0, "50 actions are too few to judge a share");
}

int main(void) {
    test_ratelog();
    test_utf8();
    test_error_reply_is_utf8();
    test_bye_before_hello();
    test_health_alarm();
    return test_summary("test_faults");
}
