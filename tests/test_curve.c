// SPDX-License-Identifier: Apache-2.0
// test_curve.c -- CURVE keys, the ZAP handler and the ipc socket directory, each as an
// attack that now fails (transport/curve.h, transport/sockdir.h):
//   keygen writes 0600/0644 files, never replaces an existing key and never follows a
//   planted symlink; a secret key others can read and a client list others can write
//   are refused;
//   against a CURVE server with the ZAP handler: a client without CURVE gets nothing
//   through, a client with an unknown key is refused and counted, a listed key works
//   (round trip);
//   a socket directory owned by another user (nobody), one writable by everyone, or a
//   symlink is refused; our own is accepted and the bound socket becomes 0660.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "test_util.h"

// paths are built from a short mkdtemp directory: truncation cannot happen here
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "transport/curve.h"
#include "transport/link.h"
#include "transport/sockdir.h"

static char g_dir[256];

static void path(char* out, size_t cap, const char* name) {
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static void write_file(const char* p, const char* text, mode_t mode) {
    FILE* f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
}

static void test_keygen_files(void) {
    char base[300], key[320], pub[320], pubtext[CURVE_Z85_LEN + 1];
    MaacErr e = {""};
    path(base, sizeof base, "server");
    CHECK(curve_keygen(base, pubtext, &e) == 0, "keygen: %s", e.msg);
    snprintf(key, sizeof key, "%s.key", base);
    snprintf(pub, sizeof pub, "%s.pub", base);
    struct stat st;
    CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "secret key file is 0600: %o",
          st.st_mode & 0777);
    CHECK(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0644, "public key file 0644: %o",
          st.st_mode & 0777);
    LinkCurve kp;
    CHECK(curve_load_secret(key, &kp, &e) == 0 && !strcmp(kp.public_key, pubtext),
          "the secret key file gives the printed public key: %s", e.msg);
    char back[CURVE_Z85_LEN + 1];
    CHECK(curve_load_public(pub, back, &e) == 0 && !strcmp(back, pubtext), "public key reads back");
    // a second keygen must not replace the key
    CHECK(curve_keygen(base, NULL, &e) == -EEXIST, "second keygen refused: %s", e.msg);
    LinkCurve kp2;
    CHECK(curve_load_secret(key, &kp2, &e) == 0 && !strcmp(kp2.secret_key, kp.secret_key),
          "the existing key is untouched");
    // a planted symlink: NAME.key -> a file of someone else's; keygen must not write it
    char victim[320], link_base[300], link_key[320];
    path(victim, sizeof victim, "victim");
    write_file(victim, "precious\n", 0644);
    path(link_base, sizeof link_base, "planted");
    snprintf(link_key, sizeof link_key, "%s.key", link_base);
    CHECK(symlink(victim, link_key) == 0, "symlink planted");
    CHECK(curve_keygen(link_base, NULL, &e) < 0, "keygen over a symlink refused");
    char buf[32] = "";
    FILE* f = fopen(victim, "r");
    CHECK(f && fgets(buf, sizeof buf, f) && !strcmp(buf, "precious\n"), "victim untouched");
    if (f) fclose(f);
    // a secret key others can read is refused; so is one reached through a symlink
    chmod(key, 0640);
    CHECK(curve_load_secret(key, &kp2, &e) == -EPERM && strstr(e.msg, "mode"),
          "group-readable secret key refused: %s", e.msg);
    chmod(key, 0600);
    char slink[320];
    path(slink, sizeof slink, "server-link.key");
    symlink(key, slink);
    CHECK(curve_load_secret(slink, &kp2, &e) < 0, "secret key through a symlink refused");
}

static void test_allowed_lists(void) {
    MaacErr e = {""};
    char base[300], dir[300], list[300], pub[320], text[256];
    path(dir, sizeof dir, "allowed");
    mkdir(dir, 0755);
    char pubs[2][CURVE_Z85_LEN + 1];
    for (int i = 0; i < 2; i++) {
        snprintf(base, sizeof base, "%s/client%d", dir, i);
        CHECK(curve_keygen(base, pubs[i], &e) == 0, "client keygen: %s", e.msg);
        snprintf(pub, sizeof pub, "%s.key", base);
        unlink(pub);   // only the public halves belong in the allowed directory
    }
    CurveAllowed* a = curve_allowed_load(dir, &e);
    CHECK(a && a->n == 2, "directory of *.pub: %d keys (%s)", a ? a->n : -1, e.msg);
    unsigned char bin[32];
    zmq_z85_decode(bin, pubs[1]);
    CHECK(a && curve_allowed_has(a, bin), "listed key found");
    bin[0] ^= 1;
    CHECK(a && !curve_allowed_has(a, bin), "other key not found");
    curve_allowed_free(a);
    chmod(dir, 0777);
    CHECK(curve_allowed_load(dir, &e) == NULL && strstr(e.msg, "mode"),
          "world-writable key directory refused: %s", e.msg);
    chmod(dir, 0755);
    path(list, sizeof list, "allowed.list");
    snprintf(text, sizeof text, "# drivers\n%s  arm-1\n\n%s arm-2\n", pubs[0], pubs[1]);
    write_file(list, text, 0644);
    a = curve_allowed_load(list, &e);
    CHECK(a && a->n == 2, "list file: %d keys (%s)", a ? a->n : -1, e.msg);
    curve_allowed_free(a);
    write_file(list, text, 0666);
    CHECK(curve_allowed_load(list, &e) == NULL, "world-writable list refused: %s", e.msg);
    write_file(list, "not a key\n", 0644);
    CHECK(curve_allowed_load(list, &e) == NULL && strstr(e.msg, "line 1"),
          "garbage in the list refused: %s", e.msg);
}

// Receive on the server within ms: the payload length, or -1.
static int server_got(void* router, int ms) {
    if (link_poll_in(router, ms) <= 0) return -1;
    LinkPeer peer;
    unsigned char buf[256];
    return link_router_recv(router, &peer, buf, sizeof buf, ZMQ_DONTWAIT);
}

static void test_zap_admits_listed_keys_only(void) {
    MaacErr e = {""};
    char sk[320], ck[320], ok_pub[320], bad_base[300], good_base[300];
    path(sk, sizeof sk, "server.key");
    path(good_base, sizeof good_base, "good");
    path(bad_base, sizeof bad_base, "bad");
    CHECK(curve_keygen(good_base, NULL, &e) == 0 && curve_keygen(bad_base, NULL, &e) == 0,
          "keys: %s", e.msg);
    snprintf(ok_pub, sizeof ok_pub, "%s.pub", good_base);
    char list[320], pubtext[CURVE_Z85_LEN + 1], text[128];
    curve_load_public(ok_pub, pubtext, &e);
    path(list, sizeof list, "zap.list");
    snprintf(text, sizeof text, "%s\n", pubtext);
    write_file(list, text, 0644);
    CurveAllowed* allowed = curve_allowed_load(list, &e);
    CHECK(allowed != NULL, "allowed: %s", e.msg);

    void* z = zmq_ctx_new();
    CurveZap* zap = curve_zap_start(z, allowed, NULL, NULL, &e);
    CHECK(zap != NULL, "zap start: %s", e.msg);
    LinkCurve server;
    CHECK(curve_load_secret(sk, &server, &e) == 0, "server key: %s", e.msg);
    server.server = 1;
    LinkOpts so;
    link_opts_default(&so);
    so.curve = &server;
    void* router = link_bind(z, ZMQ_ROUTER, "tcp://127.0.0.1:*", &so, &e);
    CHECK(router != NULL, "bind: %s", e.msg);
    char ep[128];
    size_t eplen = sizeof ep;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen);
    char server_pub[320];
    path(server_pub, sizeof server_pub, "server.pub");

    // 1. no CURVE at all: the handshake fails, nothing reaches the server
    void* plain = link_connect(z, ZMQ_DEALER, ep, NULL, &e);
    link_send(plain, "hello", 5, ZMQ_DONTWAIT);
    CHECK(server_got(router, 500) < 0, "a client without CURVE gets nothing through");
    link_close(plain);
    CHECK(curve_client_setup(ep, NULL, NULL, 0, &server, &e) == -EPERM,
          "clients refuse tcp without keys unless --insecure: %s", e.msg);

    // 2. an unknown key: refused by ZAP, counted
    LinkCurve bad;
    snprintf(ck, sizeof ck, "%s.key", bad_base);
    CHECK(curve_client_setup(ep, ck, server_pub, 0, &bad, &e) == 1, "bad client keys: %s", e.msg);
    LinkOpts co;
    link_opts_default(&co);
    co.curve = &bad;
    void* intruder = link_connect(z, ZMQ_DEALER, ep, &co, &e);
    link_send(intruder, "hello", 5, ZMQ_DONTWAIT);
    CHECK(server_got(router, 500) < 0, "an unknown key gets nothing through");
    for (int i = 0; i < 50 && curve_zap_refused(zap) == 0; i++) link_poll_in(router, 20);
    CHECK(curve_zap_refused(zap) >= 1 && curve_zap_accepted(zap) == 0,
          "refusal counted: refused %llu accepted %llu",
          (unsigned long long)curve_zap_refused(zap), (unsigned long long)curve_zap_accepted(zap));
    link_close(intruder);

    // 3. a listed key: a round trip works
    LinkCurve good;
    snprintf(ck, sizeof ck, "%s.key", good_base);
    CHECK(curve_client_setup(ep, ck, server_pub, 0, &good, &e) == 1, "good keys: %s", e.msg);
    co.curve = &good;
    void* client = link_connect(z, ZMQ_DEALER, ep, &co, &e);
    link_send(client, "hello", 5, 0);
    LinkPeer peer;
    unsigned char buf[64];
    int n = -1;
    if (link_poll_in(router, 3000) > 0) n = link_router_recv(router, &peer, buf, sizeof buf, 0);
    CHECK(n == 5 && !memcmp(buf, "hello", 5), "a listed key reaches the server (%d)", n);
    if (n == 5) link_router_send(router, &peer, "welcome", 7, 0);
    n = link_poll_in(client, 3000) > 0 ? link_recv(client, buf, sizeof buf, 0) : -1;
    CHECK(n == 7 && !memcmp(buf, "welcome", 7), "and gets the reply (%d)", n);
    CHECK(curve_zap_accepted(zap) == 1, "admission counted");
    link_close(client);
    link_close(router);
    curve_zap_stop(zap);
    curve_allowed_free(allowed);
    zmq_ctx_term(z);
}

static void test_socket_dir(void) {
    MaacErr e = {""};
    char d[300], ep[400];
    // another user's directory (root here: chown it to nobody)
    path(d, sizeof d, "theirs");
    mkdir(d, 0755);
    snprintf(ep, sizeof ep, "ipc://%s/plant.sock", d);
    if (geteuid() == 0) {
        CHECK(chown(d, 65534, 65534) == 0, "chown nobody");
        CHECK(sockdir_check(ep, &e) == -EPERM && strstr(e.msg, "owned by uid 65534"),
              "a directory owned by nobody is refused: %s", e.msg);
    } else {
        printf("note: not root; the foreign-owner case needs chown (skipped)\n");
    }
    // world-writable
    path(d, sizeof d, "open");
    mkdir(d, 0700);
    chmod(d, 0777);
    snprintf(ep, sizeof ep, "ipc://%s/plant.sock", d);
    CHECK(sockdir_check(ep, &e) == -EPERM && strstr(e.msg, "everyone"),
          "a world-writable directory is refused: %s", e.msg);
    // a symlink to our own directory is refused too (it could be re-pointed)
    char real[300];
    path(real, sizeof real, "real");
    mkdir(real, 0700);
    path(d, sizeof d, "link");
    symlink(real, d);
    snprintf(ep, sizeof ep, "ipc://%s/plant.sock", d);
    CHECK(sockdir_check(ep, &e) == -EPERM, "a symlinked directory is refused: %s", e.msg);
    // a directory inside an open, non-sticky parent
    char parent[300];
    path(parent, sizeof parent, "openparent");
    mkdir(parent, 0777);
    chmod(parent, 0777);
    snprintf(ep, sizeof ep, "ipc://%s/maacd/plant.sock", parent);
    CHECK(sockdir_check(ep, &e) == -EPERM && strstr(e.msg, "sticky"),
          "a directory in an open parent is refused: %s", e.msg);
    // ours: created 0750, accepted; the bound socket becomes 0660
    snprintf(ep, sizeof ep, "ipc://%s/mine/sub/plant.sock", g_dir);
    CHECK(sockdir_check(ep, &e) == 0, "our own new directory: %s", e.msg);
    struct stat st;
    path(d, sizeof d, "mine/sub");
    CHECK(stat(d, &st) == 0 && !(st.st_mode & 022) && st.st_uid == geteuid(),
          "created without group/other write: %o", st.st_mode & 0777);
    void* z = zmq_ctx_new();
    void* s = link_bind(z, ZMQ_ROUTER, ep, NULL, &e);
    CHECK(s != NULL, "bind: %s", e.msg);
    CHECK(sockdir_restrict(ep, "no-such-group-maac", &e) == 0, "restrict: %s", e.msg);
    char sock[400];
    snprintf(sock, sizeof sock, "%s/plant.sock", d);
    CHECK(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0660, "socket mode 0660: %o",
          st.st_mode & 0777);
    link_close(s);
    zmq_ctx_term(z);
    // tcp and inproc are not directories
    CHECK(sockdir_check("tcp://127.0.0.1:1", &e) == 0 && sockdir_check("inproc://x", &e) == 0,
          "no directory for tcp/inproc");
}

static void test_defaults_and_classes(void) {
    char buf[512];
    setenv("RUNTIME_DIRECTORY", "/run/maacd:/run/other", 1);
    CHECK(sockdir_default(buf, sizeof buf) == 0 && !strcmp(buf, "/run/maacd"),
          "systemd's RUNTIME_DIRECTORY first: %s", buf);
    unsetenv("RUNTIME_DIRECTORY");
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    CHECK(sockdir_default_endpoint("plant.sock", buf, sizeof buf) == 0 &&
          !strcmp(buf, geteuid() == 0 ? "ipc:///run/maacd/plant.sock"
                                      : "ipc:///run/user/1000/maacd/plant.sock"),
          "default endpoint: %s", buf);
    CHECK(curve_endpoint_is_network("tcp://127.0.0.1:5555"), "tcp is network");
    CHECK(curve_endpoint_is_network("ipc://@abstract"), "abstract ipc has no file permissions");
    CHECK(!curve_endpoint_is_network("ipc:///run/maacd/plant.sock"), "ipc path is local");
    CHECK(!curve_endpoint_is_network("inproc://x"), "inproc is local");
    CHECK(!curve_key_valid("short") && !curve_key_valid("0123456789012345678901234567890123456789 "),
          "bad key text refused");
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/maac-test-curve-XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    test_keygen_files();
    test_allowed_lists();
    test_zap_admits_listed_keys_only();
    test_socket_dir();
    test_defaults_and_classes();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return test_summary("test_curve");
}
