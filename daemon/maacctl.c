// SPDX-License-Identifier: Apache-2.0
// maacctl.c -- command-line client of maacd's control socket.
//
//   maacctl [-e ENDPOINT] [-t TIMEOUT_MS] [--json] COMMAND [ARG]
//   COMMAND: status | stats | swap POLICY_FILE | save [DIR] | pause | resume |
//            mode policy|mpc | stop
// Sends one WIRE_MSG_CTL request (ZMQ_REQ) and prints the reply: "key: value" lines,
// or the reply as one JSON object with --json (what scripts and tests parse).
// Exit status: 0 ok, 1 the daemon refused (reason on stderr), 2 usage, 3 no answer.
// Thread: single. Allocation: msgpack-c's unpacker for printing the reply.
#include <errno.h>
#include <ini.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "transport/link.h"
#include "transport/wire.h"

static int conf_endpoint(void* user, const char* section, const char* key, const char* value) {
    if (!strcmp(section, "daemon") && !strcmp(key, "control_endpoint"))
        snprintf(user, 256, "%s", value);
    return 1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: maacctl [-e ENDPOINT] [-t TIMEOUT_MS] [--json] COMMAND [ARG]\n"
            "commands:\n"
            "  status              state, policy version, ticks, misses, episodes, returns, jitter\n"
            "  stats               every counter, jitter/compute histograms, learner progress\n"
            "  swap POLICY_FILE    validate and hot-swap a policy (pins it; see resume)\n"
            "  save [DIR]          write checkpoints (default: the configured checkpoint_dir)\n"
            "  pause | resume      learning\n"
            "  mode policy|mpc     how actions are computed\n"
            "  stop                shut the daemon down\n"
            "-t: reply timeout in ms (5000)\n"
            "default endpoint: $MAACD_CONTROL, else [daemon] control_endpoint of\n"
            "/etc/maacd/maacd.conf, else %s\n",
            LINK_DEFAULT_CTL_ENDPOINT);
}

static void print_obj(const msgpack_object* o) {
    switch (o->type) {
    case MSGPACK_OBJECT_STR: fwrite(o->via.str.ptr, 1, o->via.str.size, stdout); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", stdout); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: printf("%llu", (unsigned long long)o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: printf("%lld", (long long)o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: printf("%.6g", o->via.f64); break;
    case MSGPACK_OBJECT_NIL: fputs("-", stdout); break;
    default: msgpack_object_print(stdout, *o); break;
    }
}

int main(int argc, char** argv) {
    const char* ep = getenv("MAACD_CONTROL");
    static char conf_ep[256];
    if ((!ep || !ep[0]) && ini_parse("/etc/maacd/maacd.conf", conf_endpoint, conf_ep) >= 0 &&
        conf_ep[0])
        ep = conf_ep;   // the packaged daemon's socket
    if (!ep || !ep[0]) ep = LINK_DEFAULT_CTL_ENDPOINT;
    int timeout = -1, json = 0, i = 1;   // -1: the command's default below
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((!strcmp(argv[i], "-e") || !strcmp(argv[i], "--endpoint")) && i + 1 < argc) ep = argv[++i];
        else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--timeout")) && i + 1 < argc)
            timeout = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (i >= argc) {
        usage();
        return 2;
    }
    const char* cmd = argv[i];
    const char* arg = i + 1 < argc ? argv[i + 1] : "";
    // every command answers at once (save within ~2 s: the learner state is encoded at
    // the learner's next safe point and written in the background)
    if (timeout < 0) timeout = 5000;
    static const char* known[] = {"status", "stats", "swap", "save", "pause", "resume", "mode",
                                  "stop", NULL};
    int ok_cmd = 0;
    for (int k = 0; known[k]; k++) ok_cmd |= !strcmp(known[k], cmd);
    if (!ok_cmd || ((!strcmp(cmd, "swap") || !strcmp(cmd, "mode")) && !arg[0])) {
        usage();
        return 2;
    }
    char absarg[WIRE_MAX_TEXT];
    if (!strcmp(cmd, "swap") && arg[0] != '/') {   // the daemon's cwd is not ours
        char* rp = realpath(arg, NULL);
        if (rp) {
            snprintf(absarg, sizeof absarg, "%s", rp);
            free(rp);
            arg = absarg;
        }
    }
    unsigned char req[1024];
    int n = wire_encode_ctl(req, sizeof req, cmd, arg);
    if (n < 0) {
        fprintf(stderr, "maacctl: argument too long\n");
        return 2;
    }
    void* ctx = zmq_ctx_new();
    MaacErr err;
    err.msg[0] = 0;
    LinkOpts o;
    link_opts_default(&o);
    o.max_msg_bytes = -1;
    void* sock = link_connect(ctx, ZMQ_REQ, ep, &o, &err);
    if (!sock) {
        fprintf(stderr, "maacctl: %s\n", err.msg);
        zmq_ctx_term(ctx);
        return 3;
    }
    size_t cap = 1 << 20;
    unsigned char* rep = malloc(cap);
    int len = rep ? link_request(sock, req, (size_t)n, rep, cap, timeout) : -ENOMEM;
    link_close(sock);
    zmq_ctx_term(ctx);
    if (len < 0) {
        fprintf(stderr, "maacctl: no answer from %s (%s)\n", ep,
                len == -EAGAIN ? "timed out; is maacd running?" : strerror(-len));
        free(rep);
        return 3;
    }
    int ok = 0;
    (void)wire_get_bool(rep, (size_t)len, "ok", &ok);
    if (json) {
        char* text = malloc(cap);
        if (text && wire_to_text(rep, (size_t)len, text, cap) == 0) printf("%s\n", text);
        free(text);
    } else {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, (const char*)rep, (size_t)len, NULL) == MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_MAP) {
            const msgpack_object_map* m = &u.data.via.map;
            for (uint32_t k = 0; k < m->size; k++) {
                const msgpack_object* key = &m->ptr[k].key;
                if (key->type == MSGPACK_OBJECT_STR &&
                    ((key->via.str.size == 1 && !memcmp(key->via.str.ptr, "v", 1)) ||
                     (key->via.str.size == 4 && !memcmp(key->via.str.ptr, "type", 4))))
                    continue;
                FILE* f = ok ? stdout : stderr;
                fflush(stdout);
                if (f == stderr) {
                    char ktext[128], vtext[1024];
                    snprintf(ktext, sizeof ktext, "%.*s", (int)key->via.str.size, key->via.str.ptr);
                    const msgpack_object* v = &m->ptr[k].val;
                    if (v->type == MSGPACK_OBJECT_STR)
                        snprintf(vtext, sizeof vtext, "%.*s", (int)v->via.str.size, v->via.str.ptr);
                    else
                        snprintf(vtext, sizeof vtext, "%s", "");
                    if (strcmp(ktext, "ok")) fprintf(stderr, "%s: %s\n", ktext, vtext);
                    continue;
                }
                print_obj(key);
                fputs(": ", stdout);
                print_obj(&m->ptr[k].val);
                fputc('\n', stdout);
            }
        } else {
            fprintf(stderr, "maacctl: unreadable reply\n");
            ok = 0;
        }
        msgpack_unpacked_destroy(&u);
    }
    free(rep);
    return ok ? 0 : 1;
}
