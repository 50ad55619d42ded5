// SPDX-License-Identifier: Apache-2.0
// fuzz_wire.c -- libFuzzer target: the plant/control wire decoder (transport/wire.c).
// Every input is decoded as the daemon does (sizes unknown, then with a plant's
// sizes); whatever decodes is re-encoded and must decode again, and the error text of
// a refusal is sent back through wire_encode_error, as the loop does.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/utf8.h"
#include "transport/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void roundtrip(const WireMsg* m, WireMsg* tmp, unsigned char* buf, size_t cap) {
    int n = -1;
    switch (m->type) {
    case WIRE_MSG_HELLO: n = wire_encode_hello(buf, cap, &m->u.hello); break;
    case WIRE_MSG_OBS: n = wire_encode_obs(buf, cap, &m->u.obs); break;
    case WIRE_MSG_ACTION: n = wire_encode_action(buf, cap, &m->u.action); break;
    case WIRE_MSG_CTL: n = wire_encode_ctl(buf, cap, m->u.ctl.cmd, m->u.ctl.arg); break;
    default: break;
    }
    if (n > 0 && wire_decode(buf, (size_t)n, 0, 0, tmp, NULL) < 0) abort();   // must round-trip
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static WireMsg m, tmp;
    static unsigned char buf[WIRE_MAX_MSG];
    static const int dims[3][2] = {{0, 0}, {4, 1}, {17, 6}};
    for (int k = 0; k < 3; k++) {
        MaacErr err;
        err.msg[0] = 0;
        int r = wire_decode(data, size, dims[k][0], dims[k][1], &m, &err);
        if (r == 0) {
            roundtrip(&m, &tmp, buf, sizeof buf);
            continue;
        }
        int n = wire_encode_error(buf, 1024, wire_err_name(r), err.msg, -1);
        if (n <= 0 || wire_decode(buf, (size_t)n, 0, 0, &tmp, NULL) < 0) abort();
        if (!utf8_valid(tmp.u.error.msg)) abort();   // never echo invalid UTF-8
    }
    char text[2048];
    (void)wire_to_text(data, size, text, sizeof text);
    return 0;
}
