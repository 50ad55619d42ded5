// SPDX-License-Identifier: Apache-2.0
// curve.c -- CURVE key files, the allowed-client list and the ZAP handler (curve.h).
//
// Key files are small text files read with O_NOFOLLOW and checked with fstat (a
// regular file, the owner, the mode) before a byte is trusted. New keys are written
// to a temp file opened O_CREAT|O_EXCL|O_NOFOLLOW, fsynced, then link()ed to the
// final name: link fails on an existing name, so keygen never replaces a key.
// The ZAP handler is a ZMQ_REP socket on inproc://zeromq.zap.01 served by its own
// thread (RFC 27: request = version, request id, domain, address, identity,
// mechanism, credentials; reply = version, request id, status code, status text,
// user id, metadata).
// Thread: start-up functions on the caller's thread; the handler on its own.
// Allocation: curve_allowed_load, curve_zap_start, file reading at start-up.
#include "transport/curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define KEY_FILE_MAX (1 << 20)   // bytes read from any key or list file

//==== endpoints =======================================================================

int curve_endpoint_is_network(const char* ep) {
    if (!strncmp(ep, "inproc://", 9)) return 0;
    if (!strncmp(ep, "ipc://", 6) && ep[6] != '@') return 0;
    return 1;
}

//==== key text ==========================================================================

int curve_key_valid(const char* z85) {
    unsigned char bin[32];
    if (strlen(z85) != CURVE_Z85_LEN) return 0;
    return zmq_z85_decode(bin, z85) != NULL;
}

// Copy the 40-character token at p into out (41 bytes) when it is a valid key.
static int take_key(const char* p, size_t len, char* out) {
    if (len != CURVE_Z85_LEN) return 0;
    char tmp[CURVE_Z85_LEN + 1];
    memcpy(tmp, p, CURVE_Z85_LEN);
    tmp[CURVE_Z85_LEN] = 0;
    if (!curve_key_valid(tmp)) return 0;
    memcpy(out, tmp, sizeof tmp);
    return 1;
}

// A zcert line `NAME = "KEY"` (leading blanks allowed): 1 and the key when the line
// names `name`.
static int zcert_line(const char* line, size_t len, const char* name, char* out) {
    size_t nl = strlen(name);
    while (len && (*line == ' ' || *line == '\t')) line++, len--;
    if (len < nl || memcmp(line, name, nl)) return 0;
    const char* q1 = memchr(line, '"', len);
    if (!q1) return 0;
    const char* q2 = memchr(q1 + 1, '"', len - (size_t)(q1 + 1 - line));
    return q2 && take_key(q1 + 1, (size_t)(q2 - q1 - 1), out);
}

// The first bare key of a line (its first token), ignoring '#' comment lines.
static int bare_line(const char* line, size_t len, char* out) {
    while (len && (*line == ' ' || *line == '\t')) line++, len--;
    if (!len || *line == '#') return 0;
    size_t t = 0;
    while (t < len && line[t] != ' ' && line[t] != '\t' && line[t] != '\r') t++;
    return take_key(line, t, out);
}

// Find the key in a key file's text: the zcert entry `zname` when present, else the
// first bare key line. 1 found, 0 not.
static int find_key(const char* text, const char* zname, char* out) {
    int bare = 0;
    char bare_key[CURVE_Z85_LEN + 1];
    for (const char* p = text; *p;) {
        const char* e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (zcert_line(p, len, zname, out)) return 1;
        if (!bare && bare_line(p, len, bare_key)) bare = 1;
        p += len + (e ? 1 : 0);
    }
    if (bare) memcpy(out, bare_key, sizeof bare_key);
    return bare;
}

//==== files ===============================================================================

// Check the owner and mode of an opened file or directory: owned by us or root, no
// bits of deny_mask set. 0 or -EPERM with reterr.
static int check_owner_mode(const char* path, const struct stat* st, mode_t deny_mask,
                            const char* why, MaacErr* reterr) {
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return maac_err(reterr, -EPERM, "%s: owned by uid %u, not by us (uid %u) or root",
                        path, (unsigned)st->st_uid, (unsigned)geteuid());
    if (st->st_mode & deny_mask)
        return maac_err(reterr, -EPERM, "%s: mode %04o %s", path,
                        (unsigned)(st->st_mode & 07777), why);
    return 0;
}

// Read a regular file (not through a symlink) of at most KEY_FILE_MAX bytes into a
// new NUL-terminated buffer *ret, after checking owner and mode. 0 or -errno.
static int read_checked(const char* path, mode_t deny_mask, const char* why, char** ret,
                        MaacErr* reterr) {
    *ret = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return maac_err(reterr, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0) {
        r = maac_err(reterr, -errno, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        r = maac_err(reterr, -EINVAL, "%s: not a regular file", path);
    } else if (st.st_size > KEY_FILE_MAX) {
        r = maac_err(reterr, -EFBIG, "%s: larger than %d bytes", path, KEY_FILE_MAX);
    } else if ((r = check_owner_mode(path, &st, deny_mask, why, reterr)) == 0) {
        char* buf = malloc((size_t)st.st_size + 1);
        ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
        if (n < 0) {
            r = maac_err(reterr, buf ? -errno : -ENOMEM, "%s: read failed", path);
            free(buf);
        } else {
            buf[n] = 0;
            *ret = buf;
        }
    }
    close(fd);
    return r;
}

int curve_load_secret(const char* path, LinkCurve* ret, MaacErr* reterr) {
    char* text;
    int r = read_checked(path, 077, "lets others read the secret key (chmod 600 it)", &text,
                         reterr);
    if (r < 0) return r;
    memset(ret, 0, sizeof *ret);
    int ok = find_key(text, "secret-key", ret->secret_key);
    free(text);
    if (!ok) return maac_err(reterr, -EINVAL, "%s: no Z85 secret key in it", path);
    if (zmq_curve_public(ret->public_key, ret->secret_key) < 0)
        return maac_err(reterr, -EINVAL, "%s: not a CURVE secret key", path);
    return 0;
}

int curve_load_public(const char* path, char* ret, MaacErr* reterr) {
    char* text;
    int r = read_checked(path, 022, "lets others change the key", &text, reterr);
    if (r < 0) return r;
    int ok = find_key(text, "public-key", ret);
    free(text);
    return ok ? 0 : maac_err(reterr, -EINVAL, "%s: no Z85 public key in it", path);
}

// Create path with content and mode, never replacing an existing file: temp file
// (O_CREAT|O_EXCL|O_NOFOLLOW), write, fsync, link to path, unlink the temp name.
static int write_new(const char* path, const char* content, mode_t mode, MaacErr* reterr) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return maac_err(reterr, -ENAMETOOLONG, "%s: name too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return maac_err(reterr, -errno, "%s: %s", tmp, strerror(errno));
    size_t len = strlen(content);
    int r = 0;
    if (fchmod(fd, mode) < 0 || write(fd, content, len) != (ssize_t)len || fsync(fd) < 0)
        r = maac_err(reterr, -errno, "%s: %s", tmp, strerror(errno));
    if (close(fd) < 0 && r == 0) r = maac_err(reterr, -errno, "%s: %s", tmp, strerror(errno));
    if (r == 0 && link(tmp, path) < 0)
        r = maac_err(reterr, -errno, "%s: %s%s", path, strerror(errno),
                     errno == EEXIST ? " (not replacing an existing key)" : "");
    unlink(tmp);
    return r;
}

int curve_keygen(const char* base, char* ret_public, MaacErr* reterr) {
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) < 0)
        return maac_err(reterr, -ENOTSUP, "zmq_curve_keypair: %s (libzmq without CURVE?)",
                        zmq_strerror(zmq_errno()));
    char kpath[4096], ppath[4096], text[512];
    if (snprintf(kpath, sizeof kpath, "%s.key", base) >= (int)sizeof kpath ||
        snprintf(ppath, sizeof ppath, "%s.pub", base) >= (int)sizeof ppath)
        return maac_err(reterr, -ENAMETOOLONG, "%s: name too long", base);
    snprintf(text, sizeof text,
             "# maacd CURVE secret key (Z85). Keep it private: mode 0600, readable only by\n"
             "# the program that uses it. Its public key is in %s.pub.\n%s\n", base, sec);
    int r = write_new(kpath, text, 0600, reterr);
    memset(sec, 0, sizeof sec);
    memset(text, 0, sizeof text);
    if (r < 0) return r;
    snprintf(text, sizeof text, "# maacd CURVE public key (Z85)\n%s\n", pub);
    r = write_new(ppath, text, 0644, reterr);
    if (r < 0) {
        unlink(kpath);
        return r;
    }
    if (ret_public) memcpy(ret_public, pub, sizeof pub);
    return 0;
}

int curve_client_setup(const char* endpoint, const char* key_file, const char* server_key_file,
                       int insecure, LinkCurve* ret, MaacErr* reterr) {
    memset(ret, 0, sizeof *ret);
    if (!curve_endpoint_is_network(endpoint)) return 0;
    int have = key_file && key_file[0] && server_key_file && server_key_file[0];
    if (!have && insecure) return 0;
    if (!have)
        return maac_err(reterr, -EPERM, "%s is a network endpoint: CURVE needs a client key "
                        "(--key FILE.key) and the daemon's public key (--server-key FILE.pub), "
                        "or --insecure", endpoint);
    int r = curve_load_secret(key_file, ret, reterr);
    if (r == 0) r = curve_load_public(server_key_file, ret->server_key, reterr);
    ret->server = 0;
    return r < 0 ? r : 1;
}

//==== allowed client keys ====================================================================

static int allowed_add(CurveAllowed* a, const char* z85, const char* from, MaacErr* reterr) {
    if (a->n == CURVE_MAX_ALLOWED)
        return maac_err(reterr, -ENOSPC, "%s: more than %d client keys", from, CURVE_MAX_ALLOWED);
    if (!zmq_z85_decode(a->key[a->n], z85))
        return maac_err(reterr, -EINVAL, "%s: bad key", from);
    a->n++;
    return 0;
}

// A list file: one key per line (first token), '#' comments, blank lines.
static int allowed_from_list(CurveAllowed* a, const char* path, MaacErr* reterr) {
    char* text;
    int r = read_checked(path, 022, "lets others add keys (chmod go-w it)", &text, reterr);
    if (r < 0) return r;
    int line = 0;
    for (const char* p = text; *p && r == 0;) {
        const char* e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        line++;
        const char* q = p;
        while (q < p + len && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        char key[CURVE_Z85_LEN + 1];
        if (q < p + len && *q != '#') {
            if (bare_line(p, len, key)) r = allowed_add(a, key, path, reterr);
            else r = maac_err(reterr, -EINVAL, "%s line %d: not a Z85 public key", path, line);
        }
        p += len + (e ? 1 : 0);
    }
    free(text);
    return r;
}

static int ends_with(const char* s, const char* tail) {
    size_t n = strlen(s), t = strlen(tail);
    return n > t && !strcmp(s + n - t, tail);
}

// A directory: every *.pub file in it holds one key.
static int allowed_from_dir(CurveAllowed* a, const char* path, MaacErr* reterr) {
    DIR* dir = opendir(path);
    if (!dir) return maac_err(reterr, -errno, "%s: %s", path, strerror(errno));
    int r = 0;
    struct dirent* de;
    while (r == 0 && (de = readdir(dir))) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ".pub")) continue;
        char file[4096], key[CURVE_Z85_LEN + 1];
        if (snprintf(file, sizeof file, "%s/%s", path, de->d_name) >= (int)sizeof file) continue;
        r = curve_load_public(file, key, reterr);
        if (r == 0) r = allowed_add(a, key, file, reterr);
    }
    closedir(dir);
    return r;
}

CurveAllowed* curve_allowed_load(const char* path, MaacErr* reterr) {
    struct stat st;
    if (lstat(path, &st) < 0) {
        maac_err(reterr, -errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    CurveAllowed* a = calloc(1, sizeof *a);
    if (!a) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    int r;
    if (S_ISDIR(st.st_mode)) {
        r = check_owner_mode(path, &st, 022, "lets others add keys (chmod go-w it)", reterr);
        if (r == 0) r = allowed_from_dir(a, path, reterr);
    } else {
        r = allowed_from_list(a, path, reterr);
    }
    if (r == 0 && a->n == 0) r = maac_err(reterr, -ENOENT, "%s: no client keys in it", path);
    if (r < 0) {
        free(a);
        return NULL;
    }
    return a;
}

void curve_allowed_free(CurveAllowed* a) { free(a); }

int curve_allowed_has(const CurveAllowed* a, const unsigned char* key) {
    for (int i = 0; a && i < a->n; i++)
        if (!memcmp(a->key[i], key, 32)) return 1;
    return 0;
}

//==== ZAP handler =============================================================================

#define ZAP_FRAMES 8
#define ZAP_FRAME_CAP 256

struct CurveZap {
    void* sock;                    // REP on CURVE_ZAP_ENDPOINT (the thread's)
    const CurveAllowed* allowed;   // borrowed
    CurveLogFn log;
    void* user;
    pthread_t thread;
    _Atomic int stop;
    _Atomic uint64_t accepted, refused;
    // rate-limited logging (ZAP thread only)
    int64_t last_log_ns;
    uint64_t unlogged;             // refusals since the last line
};

typedef struct {
    unsigned char f[ZAP_FRAMES][ZAP_FRAME_CAP];
    size_t len[ZAP_FRAMES];
    int n;                          // frames received (more are dropped)
} ZapRequest;

static int64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

// Receive one whole request (all its frames). 0 or -errno.
static int zap_recv(void* sock, ZapRequest* q) {
    q->n = 0;
    int more = 1;
    while (more) {
        unsigned char sink[ZAP_FRAME_CAP];
        unsigned char* dst = q->n < ZAP_FRAMES ? q->f[q->n] : sink;
        int k = zmq_recv(sock, dst, ZAP_FRAME_CAP, q->n ? 0 : ZMQ_DONTWAIT);
        if (k < 0) return -zmq_errno();
        if (q->n < ZAP_FRAMES) q->len[q->n++] = (size_t)k > ZAP_FRAME_CAP ? ZAP_FRAME_CAP + 1 : (size_t)k;
        size_t sz = sizeof more;
        if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) < 0) more = 0;
    }
    return 0;
}

static int frame_is(const ZapRequest* q, int i, const char* s) {
    return i < q->n && q->len[i] == strlen(s) && !memcmp(q->f[i], s, q->len[i]);
}

// Reply: version, request id, status code, status text, user id, metadata.
static void zap_reply(void* sock, const ZapRequest* q, const char* code, const char* text,
                      const char* user) {
    size_t idlen = q->n > 1 && q->len[1] <= ZAP_FRAME_CAP ? q->len[1] : 0;
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, q->f[1], idlen, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

// One line per second at most: the latest refusal and how many came since the last line.
// q = NULL: no new refusal, only the count of those not logged yet.
static void zap_log_refusal(CurveZap* z, const ZapRequest* q, const char* key_z85) {
    int64_t now = mono_ns();
    if (!z->log || !z->unlogged || now - z->last_log_ns < 1000000000LL) return;
    char addr[64] = "?", line[256];
    if (q && q->n > 3 && q->len[3] < sizeof addr) {
        memcpy(addr, q->f[3], q->len[3]);
        addr[q->len[3]] = 0;
    }
    if (q)
        snprintf(line, sizeof line, "CURVE: refused client key %s from %s (%llu refusal%s since "
                 "the last line, %llu in all)", key_z85, addr, (unsigned long long)z->unlogged,
                 z->unlogged == 1 ? "" : "s", (unsigned long long)atomic_load(&z->refused));
    else
        snprintf(line, sizeof line, "CURVE: %llu more refused client connection%s (%llu in all)",
                 (unsigned long long)z->unlogged, z->unlogged == 1 ? "" : "s",
                 (unsigned long long)atomic_load(&z->refused));
    z->log(z->user, line);
    z->unlogged = 0;
    z->last_log_ns = now;
}

static void zap_handle(CurveZap* z, const ZapRequest* q) {
    int ok = q->n >= 7 && frame_is(q, 0, "1.0") && frame_is(q, 5, "CURVE") && q->len[6] == 32 &&
             curve_allowed_has(z->allowed, q->f[6]);
    char key[CURVE_Z85_LEN + 1] = "(none)";
    if (q->n >= 7 && q->len[6] == 32) zmq_z85_encode(key, q->f[6], 32);
    if (ok) {
        atomic_fetch_add(&z->accepted, 1);
        zap_reply(z->sock, q, "200", "OK", key);
        return;
    }
    atomic_fetch_add(&z->refused, 1);
    zap_reply(z->sock, q, "400", "client key not allowed", "");
    z->unlogged++;
    zap_log_refusal(z, q, key);
}

static void* zap_main(void* arg) {
    CurveZap* z = arg;
    ZapRequest* q = malloc(sizeof *q);
    while (q && !atomic_load(&z->stop)) {
        zmq_pollitem_t it = {.socket = z->sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&it, 1, 200);
        if (rc <= 0) {
            zap_log_refusal(z, NULL, NULL);   // the count of refusals not logged yet
            continue;
        }
        if (zap_recv(z->sock, q) == 0) zap_handle(z, q);
    }
    free(q);
    return NULL;
}

CurveZap* curve_zap_start(void* zctx, const CurveAllowed* allowed, CurveLogFn log, void* user,
                          MaacErr* reterr) {
    CurveZap* z = calloc(1, sizeof *z);
    if (!z) {
        maac_err(reterr, -ENOMEM, "out of memory");
        return NULL;
    }
    z->allowed = allowed;
    z->log = log;
    z->user = user;
    z->last_log_ns = mono_ns() - 2000000000LL;
    int linger = 0;
    z->sock = zmq_socket(zctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(z->sock, CURVE_ZAP_ENDPOINT) < 0) {
        int e = zmq_errno();
        maac_err(reterr, -e, "ZAP handler: bind %s: %s", CURVE_ZAP_ENDPOINT, zmq_strerror(e));
        if (z->sock) zmq_close(z->sock);
        free(z);
        return NULL;
    }
    int r = pthread_create(&z->thread, NULL, zap_main, z);
    if (r) {
        maac_err(reterr, -r, "ZAP handler: pthread_create: %s", strerror(r));
        zmq_close(z->sock);
        free(z);
        return NULL;
    }
    return z;
}

void curve_zap_stop(CurveZap* z) {
    if (!z) return;
    atomic_store(&z->stop, 1);
    pthread_join(z->thread, NULL);
    zmq_close(z->sock);
    free(z);
}

uint64_t curve_zap_accepted(const CurveZap* z) {
    return z ? atomic_load(&((CurveZap*)z)->accepted) : 0;
}

uint64_t curve_zap_refused(const CurveZap* z) {
    return z ? atomic_load(&((CurveZap*)z)->refused) : 0;
}
