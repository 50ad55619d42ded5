// SPDX-License-Identifier: Apache-2.0
// test_ckpt.c -- ckpt.c: exact round trip, atomic write, and rejection of
// truncated, bit-flipped, wrong-version, wrong-format and inconsistent files.
//
// With "--write-ref DIR" it instead writes DIR/ref.ckpt (a policy-like network)
// and DIR/ref_io.msgpack (inputs and the C forward's outputs) for the Python
// reader check (tests/ckpt_reader.py), and exits.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/rng.h"
#include "test_util.h"

static Rng rng;

static Mlp* make_net(int E, int L, const int* sizes, NnAct act, MlpHead head) {
    Mlp* m = mlp_create(E, L, sizes, act, head);
    mlp_init(m, &rng);
    for (long i = 0; i < m->n_params; i++) m->params[i] += 0.01f * rng_normal(&rng);   // biases too
    for (int i = 0; i < m->n_in; i++) {
        m->in_mean[i] = rng_normal(&rng);
        m->in_std[i] = 0.5f + rng_uniform(&rng);
    }
    return m;
}

static int same_net(const Mlp* a, const Mlp* b) {
    return mlp_same_shape(a, b) && a->n_in == b->n_in && a->n_out == b->n_out &&
           memcmp(a->params, b->params, sizeof(float) * a->n_params) == 0 &&
           memcmp(a->in_mean, b->in_mean, sizeof(float) * a->n_in) == 0 &&
           memcmp(a->in_std, b->in_std, sizeof(float) * a->n_in) == 0;
}

// ==== round trip ==================================================================

static void test_roundtrip(const char* dir) {
    CHECK(ckpt_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32 check value");
    CHECK(ckpt_crc32(ckpt_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u, "crc32 continues");

    int s1[4] = {23, 200, 200, 34}, s2[3] = {17, 64, 6};
    Mlp* a = make_net(3, 3, s1, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    Mlp* b = make_net(1, 2, s2, NN_ACT_TANH, MLP_HEAD_LINEAR);
    Ckpt c;
    ckpt_init(&c, "policy");
    CHECK(ckpt_add_net(&c, "model", a) == 0, "add model");
    CHECK(ckpt_add_net(&c, "pi", b) == 0, "add pi");
    CHECK(ckpt_add_net(&c, "pi", b) == -EINVAL, "duplicate name rejected");
    CHECK(ckpt_add_net(&c, "", b) == -EINVAL, "empty name rejected");
    CHECK(ckpt_set_num(&c, "step", 12345) == 0 && ckpt_set_num(&c, "lr", 3e-4) == 0, "set num");
    CHECK(ckpt_set_str(&c, "env", "hopper") == 0 && ckpt_set_str(&c, "env", "walker2d") == 0,
          "set/replace str");
    CHECK(ckpt_set_num(&c, "weird", -1.0 / 3.0) == 0, "set num");
    CHECK(c.n_meta == 4, "replace keeps one entry");

    char* buf;
    size_t len;
    MaacErr err = {""};
    CHECK(ckpt_encode(&c, &buf, &len, &err) == 0, "encode: %s", err.msg);
    Ckpt d;
    int r = ckpt_decode(buf, len, &d, &err);
    CHECK(r == 0, "decode: %s", err.msg);
    if (r == 0) {
        CHECK(strcmp(d.kind, "policy") == 0, "kind");
        CHECK(d.n_nets == 2 && strcmp(d.net_names[0], "model") == 0 && strcmp(d.net_names[1], "pi") == 0,
              "names");
        CHECK(same_net(ckpt_net(&d, "model"), a), "model exact (memcmp)");
        CHECK(same_net(ckpt_net(&d, "pi"), b), "pi exact (memcmp)");
        double v;
        const char* s;
        CHECK(ckpt_get_num(&d, "step", &v) == 0 && v == 12345.0, "meta step");
        CHECK(ckpt_get_num(&d, "weird", &v) == 0 && v == -1.0 / 3.0, "meta double exact");
        CHECK(ckpt_get_str(&d, "env", &s) == 0 && strcmp(s, "walker2d") == 0, "meta str");
        CHECK(ckpt_get_num(&d, "env", &v) == -EINVAL, "type mismatch");
        CHECK(ckpt_get_str(&d, "nope", &s) == -ENOENT, "missing key");
        CHECK(ckpt_net(&d, "nope") == NULL, "missing net");
        ckpt_done(&d);
    }

    // file round trip, overwrite, no temp files left behind
    char path[512];
    snprintf(path, sizeof path, "%s/a.ckpt", dir);
    CHECK(ckpt_write(path, &c, &err) == 0, "write: %s", err.msg);
    ckpt_set_num(&c, "step", 777);
    CHECK(ckpt_write(path, &c, &err) == 0, "overwrite: %s", err.msg);
    r = ckpt_read(path, &d, &err);
    CHECK(r == 0, "read: %s", err.msg);
    double step = 0;
    if (r == 0) {
        CHECK(ckpt_get_num(&d, "step", &step) == 0 && step == 777.0, "read sees the new file");
        CHECK(same_net(ckpt_net(&d, "model"), a), "file model exact");
        ckpt_done(&d);
    }
    DIR* dh = opendir(dir);
    int n_files = 0, n_tmp = 0;
    struct dirent* de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.') continue;
        n_files++;
        if (strstr(de->d_name, ".tmp")) n_tmp++;
    }
    closedir(dh);
    CHECK(n_files == 1 && n_tmp == 0, "only the checkpoint remains (%d files, %d temp)", n_files, n_tmp);

    // failed write: target is a folder -> error, folder untouched, temp removed
    char sub[512];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0755);
    r = ckpt_write(sub, &c, &err);
    printf("  write onto a folder: %d (%s)\n", r, err.msg);
    struct stat st;
    CHECK(r < 0 && stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "write onto a folder fails cleanly");
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", sub, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "temp file removed after a failed rename");
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/no/such/dir/x.ckpt", dir);
    CHECK(ckpt_write(sub, &c, &err) == -ENOENT, "write into a missing folder: -ENOENT");
    // read errors
    CHECK(ckpt_read(dir, &d, &err) == -EINVAL && d.n_nets == 0, "read a folder: %s", err.msg);
    snprintf(sub, sizeof sub, "%s/missing.ckpt", dir);
    CHECK(ckpt_read(sub, &d, &err) == -ENOENT, "read a missing file");
    snprintf(sub, sizeof sub, "%s/huge.ckpt", dir);
    int fd = open(sub, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && ftruncate(fd, CKPT_MAX_FILE_BYTES + 1) == 0, "sparse huge file");
    close(fd);
    CHECK(ckpt_read(sub, &d, &err) == -EFBIG, "file over the size limit rejected: %s", err.msg);
    unlink(sub);
    unlink(path);

    free(buf);
    mlp_free(a);
    mlp_free(b);
}

// ==== corruption ==================================================================

static int decode_fails(const void* buf, size_t len, MaacErr* err) {
    Ckpt d;
    memset(&d, 0xab, sizeof d);   // garbage in: decode must leave it empty on failure
    err->msg[0] = '\0';
    int r = ckpt_decode(buf, len, &d, err);
    if (r == 0) {
        ckpt_done(&d);
        return 0;
    }
    return r < 0 && d.n_nets == 0 && err->msg[0] != '\0';
}

static void test_corruption(void) {
    int s[3] = {5, 8, 4};
    Mlp* a = make_net(2, 2, s, NN_ACT_RELU, MLP_HEAD_GAUSS);
    Ckpt c;
    ckpt_init(&c, "model");
    ckpt_add_net(&c, "m", a);
    ckpt_set_num(&c, "x", 1.5);
    ckpt_set_str(&c, "y", "z");
    char* buf;
    size_t len;
    MaacErr err;
    ckpt_encode(&c, &buf, &len, &err);
    printf("  corruption tests on a %zu-byte checkpoint\n", len);

    int ok = 1;
    for (size_t n = 0; n < len; n++) {   // every truncation
        char* t = malloc(n ? n : 1);   // exact-size copy so ASan sees any over-read
        memcpy(t, buf, n);
        if (!decode_fails(t, n, &err)) {
            ok = 0;
            printf("  truncation to %zu accepted\n", n);
        }
        free(t);
    }
    CHECK(ok, "every truncation rejected");
    ok = 1;
    size_t flips = 0;
    for (size_t i = 0; i < len; i++) {   // a single flipped bit at every byte, all 8 bits
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (char)(1 << bit);
            if (!decode_fails(buf, len, &err)) {
                ok = 0;
                printf("  flip byte %zu bit %d accepted\n", i, bit);
            }
            buf[i] ^= (char)(1 << bit);
            flips++;
        }
    }
    CHECK(ok, "all %zu single-bit flips rejected", flips);
    CHECK(decode_fails(buf, 0, &err), "empty buffer");
    char* longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    CHECK(decode_fails(longer, len + 1, &err), "trailing byte rejected: %s", err.msg);
    free(longer);
    Ckpt d;
    CHECK(ckpt_decode(buf, len, &d, &err) == 0, "the original still decodes");
    ckpt_done(&d);
    free(buf);
    mlp_free(a);
}

// ---- hand-made files: valid CRC around a body with one thing wrong -----------------

typedef struct {
    const char* format;
    long version;
    int crc_delta;
    int params_delta;    // floats added to / removed from params
    int in_std_delta;    // floats added to in_std
    const char* act;
    const char* head;
    int sizes_last;      // override sizes[-1] (0: keep)
    float std0;          // in_std[0] (0: 1.0)
    int std_zero;        // in_std[0] = 0
    float param0;        // params[0]
    int extra_key, drop_key, dup_net, members;
    int kind_int;        // kind as an int instead of a str
} Craft;

static void pk_str(msgpack_packer* pk, const char* s) {
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pk_floats(msgpack_packer* pk, long n, float first, float rest) {
    msgpack_pack_bin(pk, (size_t)n * 4);
    for (long i = 0; i < n; i++) {
        float v = i == 0 ? first : rest;
        msgpack_pack_bin_body(pk, &v, 4);
    }
}

// body: one net 3 -> 4 -> 2*2 gauss (params per member 4*4 + 4*5 + 4 = 40)
static void craft(const Craft* k, char** ret, size_t* ret_len) {
    msgpack_sbuffer body, out;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "kind");
    if (k->kind_int) msgpack_pack_int(&pk, 3);
    else pk_str(&pk, "policy");
    pk_str(&pk, "meta");
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "a");
    msgpack_pack_double(&pk, 2.0);
    pk_str(&pk, "networks");
    int n_nets = k->dup_net ? 2 : 1;
    msgpack_pack_array(&pk, n_nets);
    int members = k->members ? k->members : 2;
    for (int n = 0; n < n_nets; n++) {
        msgpack_pack_map(&pk, 8 + (k->extra_key ? 1 : 0) - (k->drop_key ? 1 : 0));
        pk_str(&pk, "name");
        pk_str(&pk, "net");
        pk_str(&pk, "members");
        msgpack_pack_int(&pk, members);
        pk_str(&pk, "sizes");
        msgpack_pack_array(&pk, 3);
        msgpack_pack_int(&pk, 3);
        msgpack_pack_int(&pk, 4);
        msgpack_pack_int(&pk, k->sizes_last ? k->sizes_last : 4);
        pk_str(&pk, "hidden_act");
        pk_str(&pk, k->act ? k->act : "swish");
        pk_str(&pk, "head");
        pk_str(&pk, k->head ? k->head : "gauss");
        pk_str(&pk, "in_mean");
        pk_floats(&pk, 3, 0.0f, 0.0f);
        if (!k->drop_key) {
            pk_str(&pk, "in_std");
            pk_floats(&pk, 3 + k->in_std_delta, k->std_zero ? 0.0f : k->std0 != 0.0f ? k->std0 : 1.0f, 1.0f);
        }
        pk_str(&pk, "params");
        pk_floats(&pk, 40L * (members > 0 ? members : 1) + k->params_delta, k->param0, 0.1f);
        if (k->extra_key) {
            pk_str(&pk, "bonus");
            msgpack_pack_int(&pk, 1);
        }
    }
    msgpack_sbuffer_init(&out);
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pk_str(&pk, "format");
    pk_str(&pk, k->format ? k->format : CKPT_FORMAT);
    pk_str(&pk, "version");
    msgpack_pack_int64(&pk, k->version ? k->version : CKPT_VERSION);
    pk_str(&pk, "body");
    msgpack_pack_bin(&pk, body.size);
    msgpack_pack_bin_body(&pk, body.data, body.size);
    pk_str(&pk, "crc32");
    msgpack_pack_uint32(&pk, ckpt_crc32(0, body.data, body.size) + (uint32_t)k->crc_delta);
    msgpack_sbuffer_destroy(&body);
    *ret_len = out.size;
    *ret = msgpack_sbuffer_release(&out);
}

static void expect(const char* what, Craft k, int want_ok) {
    char* buf;
    size_t len;
    craft(&k, &buf, &len);
    MaacErr err = {""};
    Ckpt d;
    int r = ckpt_decode(buf, len, &d, &err);
    if (want_ok) {
        CHECK(r == 0, "%s: should decode: %s", what, err.msg);
        if (r == 0) ckpt_done(&d);
    } else {
        printf("  %-28s -> %d %s\n", what, r, err.msg);
        CHECK(r < 0 && d.n_nets == 0 && err.msg[0], "%s: should be rejected", what);
    }
    free(buf);
}

static void test_crafted(void) {
    expect("baseline", (Craft){0}, 1);
    expect("members 1", (Craft){.members = 1}, 1);
    expect("wrong version", (Craft){.version = 2}, 0);
    expect("version 0", (Craft){.version = -1}, 0);
    expect("wrong format", (Craft){.format = "maacd-checkpoinT"}, 0);
    expect("crc off by one", (Craft){.crc_delta = 1}, 0);
    expect("params one float short", (Craft){.params_delta = -1}, 0);
    expect("params one float long", (Craft){.params_delta = 1}, 0);
    expect("params for 1 member (E=2)", (Craft){.params_delta = -40}, 0);
    expect("sizes last 6 vs params", (Craft){.sizes_last = 6}, 0);
    expect("odd gauss width", (Craft){.sizes_last = 3}, 0);
    expect("in_std length", (Craft){.in_std_delta = 1}, 0);
    expect("in_std zero", (Craft){.std_zero = 1}, 0);
    expect("in_std negative", (Craft){.std0 = -1.0f}, 0);
    expect("in_std NaN", (Craft){.std0 = NAN}, 0);
    expect("in_std inf", (Craft){.std0 = INFINITY}, 0);
    expect("param NaN", (Craft){.param0 = NAN}, 0);
    expect("bad activation", (Craft){.act = "gelu"}, 0);
    expect("bad head", (Craft){.head = "cauchy"}, 0);
    expect("unknown key", (Craft){.extra_key = 1}, 0);
    expect("missing key", (Craft){.drop_key = 1}, 0);
    expect("duplicate network", (Craft){.dup_net = 1}, 0);
    expect("members 0", (Craft){.members = -1}, 0);
    expect("kind not a str", (Craft){.kind_int = 1}, 0);
}

// ==== reference for the Python reader ================================================

static int write_ref(const char* dir) {
    int s[4] = {17, 256, 256, 24};
    Mlp* pi = make_net(1, 3, s, NN_ACT_SWISH, MLP_HEAD_GAUSS);
    int s2[3] = {5, 9, 3};
    Mlp* q = make_net(2, 2, s2, NN_ACT_TANH, MLP_HEAD_LINEAR);
    Ckpt c;
    ckpt_init(&c, "policy");
    ckpt_add_net(&c, "pi", pi);
    ckpt_add_net(&c, "q", q);
    ckpt_set_str(&c, "env", "hopper");
    ckpt_set_num(&c, "step", 42);
    char path[512];
    snprintf(path, sizeof path, "%s/ref.ckpt", dir);
    MaacErr err;
    if (ckpt_write(path, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    // inputs and C outputs: {"pi": {"x": bin, "mean": bin, "logvar": bin}, "q": {...}}
    enum { B = 4 };
    float x[B * 17], mean[B * 12], lv[B * 12], xq[B * 5], yq[2 * B * 3];
    float scratch[17 + 2 * 256];
    for (int i = 0; i < B * 17; i++) x[i] = 2.0f * rng_normal(&rng);
    for (int b = 0; b < B; b++) mlp_infer1(pi, 0, x + b * 17, mean + b * 12, lv + b * 12, scratch);
    for (int i = 0; i < B * 5; i++) xq[i] = rng_normal(&rng);
    MlpWork* w = mlp_work_create(q, 2 * B);
    mlp_forward_shared(q, w, xq, B);   // (2B, 3): member 0 rows, then member 1 rows
    memcpy(yq, mlp_work_out(w), sizeof yq);
    mlp_work_free(w);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "pi");
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "x"), msgpack_pack_bin(&pk, sizeof x), msgpack_pack_bin_body(&pk, x, sizeof x);
    pk_str(&pk, "mean"), msgpack_pack_bin(&pk, sizeof mean), msgpack_pack_bin_body(&pk, mean, sizeof mean);
    pk_str(&pk, "logvar"), msgpack_pack_bin(&pk, sizeof lv), msgpack_pack_bin_body(&pk, lv, sizeof lv);
    pk_str(&pk, "q");
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "x"), msgpack_pack_bin(&pk, sizeof xq), msgpack_pack_bin_body(&pk, xq, sizeof xq);
    pk_str(&pk, "y"), msgpack_pack_bin(&pk, sizeof yq), msgpack_pack_bin_body(&pk, yq, sizeof yq);
    snprintf(path, sizeof path, "%s/ref_io.msgpack", dir);
    int r = maac_write_atomic(path, sb.data, sb.size, &err);
    msgpack_sbuffer_destroy(&sb);
    mlp_free(pi);
    mlp_free(q);
    if (r) fprintf(stderr, "%s\n", err.msg);
    return r ? 1 : 0;
}

int main(int argc, char** argv) {
    rng_seed(&rng, 77);
    if (argc == 3 && strcmp(argv[1], "--write-ref") == 0) return write_ref(argv[2]);
    const char* base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/maac_ckpt_XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip(dir);
    test_corruption();
    test_crafted();
    rmdir(dir);
    return test_summary("test_ckpt");
}
