// SPDX-License-Identifier: Apache-2.0
// maacctl.c -- command-line client of maacd's control socket.
//
//   maacctl [-e ENDPOINT] [-t TIMEOUT_MS] [--json] [--key F --server-key F | --insecure]
//           COMMAND [ARG]
//   COMMAND: status | stats | swap POLICY_FILE | save [DIR] | pause | resume |
//            mode policy|mpc | stop | keygen NAME (local: writes NAME.key, NAME.pub)
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

#include "transport/curve.h"
#include "transport/link.h"
#include "transport/sockdir.h"
#include "transport/wire.h"

static int conf_endpoint(void* user, const char* section, const char* key, const char* value) {
    if (!strcmp(section, "daemon") && !strcmp(key, "control_endpoint"))
        snprintf(user, 256, "%s", value);
    return 1;
}

static void usage(void) {
    char def[512];
    if (sockdir_default_endpoint("control.sock", def, sizeof def) < 0) def[0] = 0;
    fprintf(stderr,
            "usage: maacctl [-e ENDPOINT] [-t TIMEOUT_MS] [--json]\n"
            "               [--key CLIENT.key --server-key SERVER.pub | --insecure] COMMAND [ARG]\n"
            "commands:\n"
            "  status              state, policy version, ticks, misses, episodes, returns, jitter\n"
            "  stats               every counter, jitter/compute histograms, learner progress\n"
            "  swap POLICY_FILE    validate and hot-swap a policy (pins it; see resume)\n"
            "  save [DIR]          write checkpoints (default: the configured checkpoint_dir)\n"
            "  pause | resume      learning\n"
            "  mode policy|mpc     how actions are computed\n"
            "  stop                shut the daemon down\n"
            "  keygen NAME         write a CURVE key pair: NAME.key (secret, 0600), NAME.pub\n"
            "-t: reply timeout in ms (5000)\n"
            "--key, --server-key: CURVE for a tcp endpoint (default $MAACD_KEY,\n"
            "  $MAACD_SERVER_KEY); --insecure: talk to a tcp endpoint without CURVE\n"
            "default endpoint: $MAACD_CONTROL, else [daemon] control_endpoint of\n"
            "/etc/maacd/maacd.conf, else %s\n",
            def);
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

// keygen NAME: a fresh CURVE key pair (transport/curve.h), never replacing a file.
static int keygen(const char* base) {
    char pub[CURVE_Z85_LEN + 1];
    MaacErr err;
    err.msg[0] = 0;
    if (curve_keygen(base, pub, &err) < 0) {
        fprintf(stderr, "maacctl: keygen: %s\n", err.msg);
        return 1;
    }
    printf("secret key: %s.key (mode 0600: give it only to the program it identifies)\n"
           "public key: %s.pub  %s\n", base, base, pub);
    return 0;
}

// 1 when the monitor saw a failed security handshake (CURVE refused or mismatched).
static int handshake_failed(void* mon) {
    int ev, failed = 0;
    while (mon && link_monitor_read(mon, &ev, NULL, 0) > 0)
        failed |= ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                  ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    return failed;
}

// The command line: options, the command and its argument.
typedef struct {
    const char* ep;           // control endpoint
    const char* key;          // CURVE client secret key file (NULL or "" none)
    const char* server_key;   // the daemon's public key file
    int timeout;              // reply timeout in ms (-1: the command's default)
    int json, insecure;
    const char* cmd;
    const char* arg;          // "" when none
    char absarg[WIRE_MAX_TEXT];   // swap's file made absolute
} Opts;

// $MAACD_CONTROL, else [daemon] control_endpoint of /etc/maacd/maacd.conf, else the
// daemon's own default; NULL when none.
static const char* default_endpoint(void) {
    const char* ep = getenv("MAACD_CONTROL");
    static char conf_ep[256], def_ep[512];
    if ((!ep || !ep[0]) && ini_parse("/etc/maacd/maacd.conf", conf_endpoint, conf_ep) >= 0 &&
        conf_ep[0])
        ep = conf_ep;   // the packaged daemon's socket
    if ((!ep || !ep[0]) && sockdir_default_endpoint("control.sock", def_ep, sizeof def_ep) == 0)
        ep = def_ep;    // the daemon's own default (transport/sockdir.h)
    return ep;
}

// Options, then the command and its argument into o. -1 to go on, else the exit
// status (usage printed: 0 for --help, 2 for a bad command line).
static int parse_args(int argc, char** argv, Opts* o) {
    o->ep = default_endpoint();
    o->key = getenv("MAACD_KEY");
    o->server_key = getenv("MAACD_SERVER_KEY");
    o->timeout = -1;   // -1: the command's default (check_command)
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((!strcmp(argv[i], "-e") || !strcmp(argv[i], "--endpoint")) && i + 1 < argc) o->ep = argv[++i];
        else if (!strcmp(argv[i], "--key") && i + 1 < argc) o->key = argv[++i];
        else if (!strcmp(argv[i], "--server-key") && i + 1 < argc) o->server_key = argv[++i];
        else if (!strcmp(argv[i], "--insecure")) o->insecure = 1;
        else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "--timeout")) && i + 1 < argc)
            o->timeout = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) o->json = 1;
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
    o->cmd = argv[i];
    o->arg = i + 1 < argc ? argv[i + 1] : "";
    return -1;
}

// A daemon command: the default timeout, the command checked, swap's file made
// absolute. 0, or 2 (usage printed).
static int check_command(Opts* o) {
    // every command answers at once (save within ~2 s: the learner state is encoded at
    // the learner's next safe point and written in the background)
    if (o->timeout < 0) o->timeout = 5000;
    static const char* known[] = {"status", "stats", "swap", "save", "pause", "resume", "mode",
                                  "stop", NULL};
    int ok_cmd = 0;
    for (int k = 0; known[k]; k++) ok_cmd |= !strcmp(known[k], o->cmd);
    if (!ok_cmd || ((!strcmp(o->cmd, "swap") || !strcmp(o->cmd, "mode")) && !o->arg[0])) {
        usage();
        return 2;
    }
    if (!strcmp(o->cmd, "swap") && o->arg[0] != '/') {   // the daemon's cwd is not ours
        char* rp = realpath(o->arg, NULL);
        if (rp) {
            snprintf(o->absarg, sizeof o->absarg, "%s", rp);
            free(rp);
            o->arg = o->absarg;
        }
    }
    return 0;
}

// Send req and wait for the reply. Its length with *ret_rep (malloc'd, cap bytes;
// the caller frees it), or -1 with *status the exit status (2 bad keys, 3 no answer;
// the reason printed).
static int exchange(const Opts* o, const unsigned char* req, size_t n, size_t cap,
                    unsigned char** ret_rep, int* status) {
    MaacErr err;
    err.msg[0] = 0;
    LinkCurve curve;
    int rc = curve_client_setup(o->ep, o->key, o->server_key, o->insecure, &curve, &err);
    if (rc < 0) {
        fprintf(stderr, "maacctl: %s\n", err.msg);
        *status = 2;
        return -1;
    }
    void* ctx = zmq_ctx_new();
    LinkOpts lo;
    link_opts_default(&lo);
    lo.max_msg_bytes = -1;
    lo.curve = rc ? &curve : NULL;
    void* sock = link_connect(ctx, ZMQ_REQ, o->ep, &lo, &err);
    if (!sock) {
        fprintf(stderr, "maacctl: %s\n", err.msg);
        zmq_ctx_term(ctx);
        *status = 3;
        return -1;
    }
    void* mon = lo.curve ? link_monitor_open(ctx, sock, "maacctl", NULL) : NULL;
    unsigned char* rep = malloc(cap);
    int len = rep ? link_request(sock, req, n, rep, cap, o->timeout) : -ENOMEM;
    int refused = len == -EAGAIN && handshake_failed(mon);
    link_close(mon);
    link_close(sock);
    zmq_ctx_term(ctx);
    if (len < 0) {
        fprintf(stderr, "maacctl: no answer from %s (%s)\n", o->ep,
                refused ? "CURVE handshake refused: is this key's .pub in the daemon's "
                          "allowed_keys, and --server-key the daemon's public key?"
                : len == -EAGAIN ? "timed out; is maacd running?" : strerror(-len));
        free(rep);
        *status = 3;
        return -1;
    }
    *ret_rep = rep;
    return len;
}

// 1 for the reply's "v" and "type" keys, which are not printed.
static int envelope_key(const msgpack_object* key) {
    return key->type == MSGPACK_OBJECT_STR &&
           ((key->via.str.size == 1 && !memcmp(key->via.str.ptr, "v", 1)) ||
            (key->via.str.size == 4 && !memcmp(key->via.str.ptr, "type", 4)));
}

// An entry of a refusal on stderr: "key: text" (string values only; "ok" left out).
static void print_refusal_entry(const msgpack_object* key, const msgpack_object* v) {
    char ktext[128], vtext[1024];
    snprintf(ktext, sizeof ktext, "%.*s", (int)key->via.str.size, key->via.str.ptr);
    if (v->type == MSGPACK_OBJECT_STR)
        snprintf(vtext, sizeof vtext, "%.*s", (int)v->via.str.size, v->via.str.ptr);
    else
        snprintf(vtext, sizeof vtext, "%s", "");
    if (strcmp(ktext, "ok")) fprintf(stderr, "%s: %s\n", ktext, vtext);
}

// The reply as "key: value" lines: on stdout when ok, else (the reason) on stderr.
// ok, or 0 when the reply is unreadable.
static int print_lines(const unsigned char* rep, int len, int ok) {
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char*)rep, (size_t)len, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map* m = &u.data.via.map;
        for (uint32_t k = 0; k < m->size; k++) {
            const msgpack_object* key = &m->ptr[k].key;
            if (envelope_key(key)) continue;
            FILE* f = ok ? stdout : stderr;
            fflush(stdout);
            if (f == stderr) {
                print_refusal_entry(key, &m->ptr[k].val);
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
    return ok;
}

// The reply, as JSON or as lines. The exit status: 0 ok, 1 refused (or unreadable).
static int print_reply(const unsigned char* rep, int len, size_t cap, int json) {
    int ok = 0;
    (void)wire_get_bool(rep, (size_t)len, "ok", &ok);
    if (json) {
        char* text = malloc(cap);
        if (text && wire_to_text(rep, (size_t)len, text, cap) == 0) printf("%s\n", text);
        free(text);
    } else {
        ok = print_lines(rep, len, ok);
    }
    return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    static Opts o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    if (!strcmp(o.cmd, "keygen")) {
        if (!o.arg[0]) {
            usage();
            return 2;
        }
        return keygen(o.arg);
    }
    if (check_command(&o) != 0) return 2;
    unsigned char req[1024];
    int n = wire_encode_ctl(req, sizeof req, o.cmd, o.arg);
    if (n < 0) {
        fprintf(stderr, "maacctl: argument too long\n");
        return 2;
    }
    size_t cap = 1 << 20;
    unsigned char* rep = NULL;
    int len = exchange(&o, req, (size_t)n, cap, &rep, &status);
    if (len < 0) return status;
    status = print_reply(rep, len, cap, o.json);
    free(rep);
    return status;
}
