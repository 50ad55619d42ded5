// SPDX-License-Identifier: Apache-2.0
// ckpt.c -- checkpoints: named networks plus metadata in a versioned msgpack file.
//
// Layout (docs/checkpoint-format.md has the full description):
//   outer map  { "format": "maacd-checkpoint", "version": 1, "body": bin, "crc32": uint }
//   body map   { "kind": str, "meta": {str: str|float64}, "networks": [net, ...] }
//   net map    { "name": str, "members": int, "sizes": [int], "hidden_act": str,
//                "head": "linear"|"gauss", "in_mean": bin, "in_std": bin, "params": bin }
//   optional body key "blobs": {str: bin}, named byte strings laid out by the kind
// Float arrays are float32 little-endian; params is the Mlp's parameter block.
//
// Reading treats the file as untrusted. Before msgpack-c sees a byte, skim()
// walks the encoding and refuses containers whose element count exceeds the bytes
// left (msgpack-c allocates count objects up front, so a flipped length byte could
// otherwise ask for gigabytes) and nesting deeper than 8. Then every key and type
// is checked, unknown or duplicate keys refused, the CRC verified before the body is
// parsed, and each network's params length compared with what its sizes, members
// and head imply. Networks are built into a scratch Ckpt and handed over only when
// everything passed, so a failure never leaves anything half loaded.
//
// Writing is atomic (redis rdbSave): PATH.tmp-PID in the same folder, created with
// O_EXCL|O_NOFOLLOW (a symlink or file planted at the temp path is never followed or
// reused), write, fsync, rename over PATH, fsync the folder; any failure before the
// rename unlinks the temp file and leaves the old PATH as it was. Temp files of dead
// writers (a crash mid-save) are removed by maac_clean_stale_tmp.
#include "core/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

// ==== small helpers =============================================================

static void copy_str(char* dst, size_t cap, const char* src) {
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static uint32_t crc_table[256];   // zlib's reflected polynomial 0xEDB88320
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t ckpt_crc32(uint32_t crc, const void* data, size_t len) {
    pthread_once(&crc_once, crc_init);
    const uint32_t* table = crc_table;
    const unsigned char* p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

// ==== building a Ckpt ===========================================================

void ckpt_init(Ckpt* c, const char* kind) {
    memset(c, 0, sizeof *c);
    copy_str(c->kind, sizeof c->kind, kind ? kind : "");
}

static int name_ok(const char* s, size_t cap) {
    return s && s[0] && strnlen(s, cap) < cap;
}

int ckpt_add_net(Ckpt* c, const char* name, Mlp* net) {
    if (!net || !name_ok(name, CKPT_NAME_LEN) || ckpt_net(c, name)) return -EINVAL;
    if (c->n_nets >= CKPT_MAX_NETS) return -ENOSPC;
    copy_str(c->net_names[c->n_nets], CKPT_NAME_LEN, name);
    c->nets[c->n_nets++] = net;
    return 0;
}

static CkptMeta* meta_slot(Ckpt* c, const char* key, int* r) {
    *r = 0;
    if (!name_ok(key, CKPT_NAME_LEN)) {
        *r = -EINVAL;
        return NULL;
    }
    for (int i = 0; i < c->n_meta; i++)
        if (strcmp(c->meta[i].key, key) == 0) return &c->meta[i];
    if (c->n_meta >= CKPT_MAX_META) {
        *r = -ENOSPC;
        return NULL;
    }
    CkptMeta* m = &c->meta[c->n_meta++];
    memset(m, 0, sizeof *m);
    copy_str(m->key, sizeof m->key, key);
    return m;
}

int ckpt_set_num(Ckpt* c, const char* key, double v) {
    int r;
    CkptMeta* m = meta_slot(c, key, &r);
    if (!m) return r;
    m->is_str = 0;
    m->num = v;
    m->str[0] = '\0';
    return 0;
}

int ckpt_set_str(Ckpt* c, const char* key, const char* v) {
    if (!v || strnlen(v, CKPT_STR_LEN) >= CKPT_STR_LEN) return -EINVAL;
    int r;
    CkptMeta* m = meta_slot(c, key, &r);
    if (!m) return r;
    m->is_str = 1;
    m->num = 0.0;
    copy_str(m->str, sizeof m->str, v);
    return 0;
}

static const CkptMeta* meta_find(const Ckpt* c, const char* key) {
    for (int i = 0; i < c->n_meta; i++)
        if (strcmp(c->meta[i].key, key) == 0) return &c->meta[i];
    return NULL;
}

int ckpt_get_num(const Ckpt* c, const char* key, double* ret) {
    const CkptMeta* m = meta_find(c, key);
    if (!m) return -ENOENT;
    if (m->is_str) return -EINVAL;
    *ret = m->num;
    return 0;
}

int ckpt_get_str(const Ckpt* c, const char* key, const char** ret) {
    const CkptMeta* m = meta_find(c, key);
    if (!m) return -ENOENT;
    if (!m->is_str) return -EINVAL;
    *ret = m->str;
    return 0;
}

Mlp* ckpt_net(const Ckpt* c, const char* name) {
    for (int i = 0; i < c->n_nets; i++)
        if (strcmp(c->net_names[i], name) == 0) return c->nets[i];
    return NULL;
}

int ckpt_add_blob(Ckpt* c, const char* name, const void* data, size_t len) {
    if ((!data && len) || !name_ok(name, CKPT_NAME_LEN) || ckpt_blob(c, name, NULL)) return -EINVAL;
    if (c->n_blobs >= CKPT_MAX_BLOBS) return -ENOSPC;
    if (len > (size_t)CKPT_MAX_FILE_BYTES) return -EFBIG;
    copy_str(c->blob_names[c->n_blobs], CKPT_NAME_LEN, name);
    c->blobs[c->n_blobs] = data;
    c->blob_len[c->n_blobs++] = len;
    return 0;
}

const void* ckpt_blob(const Ckpt* c, const char* name, size_t* ret_len) {
    for (int i = 0; i < c->n_blobs; i++)
        if (strcmp(c->blob_names[i], name) == 0) {
            if (ret_len) *ret_len = c->blob_len[i];
            return c->blobs[i] ? c->blobs[i] : (const void*)"";
        }
    return NULL;
}

void ckpt_done(Ckpt* c) {
    for (int i = 0; i < c->n_nets; i++) {
        mlp_free(c->nets[i]);
        c->nets[i] = NULL;
    }
    c->n_nets = 0;
    for (int i = 0; i < c->n_blobs; i++) {
        free((void*)c->blobs[i]);
        c->blobs[i] = NULL;
    }
    c->n_blobs = 0;
}

// ==== encoding ==================================================================

static int pack_cstr(msgpack_packer* pk, const char* s) {
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

// float32 little-endian bytes of n floats
static int pack_floats(msgpack_packer* pk, const float* x, long n) {
    size_t bytes = (size_t)n * 4;
    if (msgpack_pack_bin(pk, bytes)) return -1;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return msgpack_pack_bin_body(pk, x, bytes);
#else
    for (long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        u = __builtin_bswap32(u);
        if (msgpack_pack_bin_body(pk, &u, 4)) return -1;
    }
    return 0;
#endif
}

static int pack_net(msgpack_packer* pk, const char* name, const Mlp* m) {
    int r = msgpack_pack_map(pk, 8);
    r = r || pack_cstr(pk, "name") || pack_cstr(pk, name);
    r = r || pack_cstr(pk, "members") || msgpack_pack_int(pk, m->n_members);
    r = r || pack_cstr(pk, "sizes") || msgpack_pack_array(pk, (size_t)m->n_layers + 1);
    for (int l = 0; l <= m->n_layers && !r; l++) r = msgpack_pack_int(pk, m->sizes[l]);
    r = r || pack_cstr(pk, "hidden_act") || pack_cstr(pk, nn_act_name(m->hidden_act));
    r = r || pack_cstr(pk, "head") || pack_cstr(pk, m->head == MLP_HEAD_GAUSS ? "gauss" : "linear");
    r = r || pack_cstr(pk, "in_mean") || pack_floats(pk, m->in_mean, m->n_in);
    r = r || pack_cstr(pk, "in_std") || pack_floats(pk, m->in_std, m->n_in);
    r = r || pack_cstr(pk, "params") || pack_floats(pk, m->params, m->n_params);
    return r;
}

int ckpt_encode(const Ckpt* c, char** ret_buf, size_t* ret_len, MaacErr* reterr) {
    if (c->n_nets < 0 || c->n_nets > CKPT_MAX_NETS || c->n_meta < 0 || c->n_meta > CKPT_MAX_META ||
        c->n_blobs < 0 || c->n_blobs > CKPT_MAX_BLOBS)
        return maac_err(reterr, -EINVAL, "checkpoint: bad counts (%d networks, %d meta, %d blobs)",
                        c->n_nets, c->n_meta, c->n_blobs);
    size_t blob_bytes = 0;
    for (int i = 0; i < c->n_blobs; i++) {
        if ((!c->blobs[i] && c->blob_len[i]) || !name_ok(c->blob_names[i], CKPT_NAME_LEN))
            return maac_err(reterr, -EINVAL, "checkpoint: blob %d has no data or no name", i);
        blob_bytes += c->blob_len[i];
        if (blob_bytes > (size_t)CKPT_MAX_FILE_BYTES)
            return maac_err(reterr, -EFBIG, "checkpoint: blobs exceed the %ld-byte limit",
                            CKPT_MAX_FILE_BYTES);
    }
    for (int i = 0; i < c->n_nets; i++)
        if (!c->nets[i] || !name_ok(c->net_names[i], CKPT_NAME_LEN))
            return maac_err(reterr, -EINVAL, "checkpoint: network %d has no net or no name", i);
    for (int i = 0; i < c->n_meta; i++)
        if (!name_ok(c->meta[i].key, CKPT_NAME_LEN))
            return maac_err(reterr, -EINVAL, "checkpoint: meta entry %d has no key", i);

    msgpack_sbuffer body, outer;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&outer);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    // Reserve the blobs' bytes up front: one allocation instead of doublings (the
    // learner state's replay buffers can be hundreds of MB).
    // (msgpack_sbuffer is {size, data, alloc}; an empty one may take a malloc'd block.)
    if (blob_bytes > 0 && (body.data = malloc(blob_bytes + 65536)) != NULL)
        body.alloc = blob_bytes + 65536;
    int r = msgpack_pack_map(&pk, c->n_blobs > 0 ? 4 : 3);
    r = r || pack_cstr(&pk, "kind") || pack_cstr(&pk, c->kind);
    r = r || pack_cstr(&pk, "meta") || msgpack_pack_map(&pk, (size_t)c->n_meta);
    for (int i = 0; i < c->n_meta && !r; i++) {
        const CkptMeta* m = &c->meta[i];
        r = pack_cstr(&pk, m->key) || (m->is_str ? pack_cstr(&pk, m->str) : msgpack_pack_double(&pk, m->num));
    }
    r = r || pack_cstr(&pk, "networks") || msgpack_pack_array(&pk, (size_t)c->n_nets);
    for (int i = 0; i < c->n_nets && !r; i++) r = pack_net(&pk, c->net_names[i], c->nets[i]);
    if (c->n_blobs > 0) {
        r = r || pack_cstr(&pk, "blobs") || msgpack_pack_map(&pk, (size_t)c->n_blobs);
        for (int i = 0; i < c->n_blobs && !r; i++)
            r = pack_cstr(&pk, c->blob_names[i]) || msgpack_pack_bin(&pk, c->blob_len[i]) ||
                msgpack_pack_bin_body(&pk, c->blobs[i], c->blob_len[i]);
    }
    if (!r && body.size > (size_t)CKPT_MAX_FILE_BYTES - 64) {
        msgpack_sbuffer_destroy(&body);
        return maac_err(reterr, -EFBIG, "checkpoint: body of %zu bytes exceeds the %ld-byte limit",
                        body.size, CKPT_MAX_FILE_BYTES);
    }
    if (!r) {
        if ((outer.data = malloc(body.size + 256)) != NULL) outer.alloc = body.size + 256;
        msgpack_packer_init(&pk, &outer, msgpack_sbuffer_write);
        r = msgpack_pack_map(&pk, 4);
        r = r || pack_cstr(&pk, "format") || pack_cstr(&pk, CKPT_FORMAT);
        r = r || pack_cstr(&pk, "version") || msgpack_pack_int(&pk, CKPT_VERSION);
        r = r || pack_cstr(&pk, "body") || msgpack_pack_bin(&pk, body.size) ||
            msgpack_pack_bin_body(&pk, body.data, body.size);
        r = r || pack_cstr(&pk, "crc32") ||
            msgpack_pack_uint32(&pk, ckpt_crc32(0, body.data, body.size));
    }
    msgpack_sbuffer_destroy(&body);
    if (r) {
        msgpack_sbuffer_destroy(&outer);
        return maac_err(reterr, -ENOMEM, "checkpoint: out of memory while encoding");
    }
    *ret_len = outer.size;
    *ret_buf = msgpack_sbuffer_release(&outer);
    return 0;
}

// ==== decoding ==================================================================

// Walk one msgpack object at p[*off..len), checking it is complete and that no
// container claims more elements than bytes remain. 0 or -1.
static int skim(const unsigned char* p, size_t len, size_t* off, int depth) {
    if (depth > 8 || *off >= len) return -1;
    unsigned t = p[(*off)++];
    size_t left = len - *off, n = 0, skip = 0;
    int is_arr = 0, is_map = 0;
#define BE(k) ({ uint64_t v_ = 0; if (left < (k)) return -1; \
                 for (size_t i_ = 0; i_ < (k); i_++) v_ = (v_ << 8) | p[*off + i_]; \
                 *off += (k); left -= (k); v_; })
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return 0;
    if ((t & 0xe0) == 0xa0) skip = t & 0x1f;                   // fixstr
    else if ((t & 0xf0) == 0x90) is_arr = 1, n = t & 0x0f;     // fixarray
    else if ((t & 0xf0) == 0x80) is_map = 1, n = t & 0x0f;     // fixmap
    else switch (t) {
        case 0xcc: case 0xd0: skip = 1; break;                  // (u)int8
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
        case 0xc4: case 0xd9: skip = BE(1); break;              // bin8 / str8
        case 0xc5: case 0xda: skip = BE(2); break;
        case 0xc6: case 0xdb: skip = BE(4); break;
        case 0xdc: is_arr = 1, n = BE(2); break;
        case 0xdd: is_arr = 1, n = BE(4); break;
        case 0xde: is_map = 1, n = BE(2); break;
        case 0xdf: is_map = 1, n = BE(4); break;
        default: return -1;   // ext types and the unused 0xc1: not in this format
        }
#undef BE
    if (is_arr || is_map) {
        size_t items = is_map ? 2 * n : n;
        if (items > left) return -1;
        for (size_t i = 0; i < items; i++)
            if (skim(p, len, off, depth + 1)) return -1;
        return 0;
    }
    if (skip > left) return -1;
    *off += skip;
    return 0;
}

// Parse buf as exactly one msgpack object (after skim) into *u.
static int unpack_one(const void* buf, size_t len, msgpack_unpacked* u, const char* what,
                      MaacErr* reterr) {
    size_t off = 0;
    if (skim(buf, len, &off, 0) || off != len)
        return maac_err(reterr, -EBADMSG, "checkpoint: %s is not one well-formed msgpack object%s",
                        what, off != len ? " (truncated or trailing bytes)" : "");
    msgpack_unpacked_init(u);
    off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(u, buf, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        msgpack_unpacked_destroy(u);
        return maac_err(reterr, -ENOMEM, "checkpoint: out of memory parsing %s", what);
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        msgpack_unpacked_destroy(u);
        return maac_err(reterr, -EBADMSG, "checkpoint: %s does not parse as msgpack", what);
    }
    return 0;
}

static int key_is(const msgpack_object* k, const char* s) {
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, s, n) == 0;
}

// Copy a msgpack str into dst (cap bytes incl. NUL); refuses empty (unless
// allow_empty), too long, or embedded NUL.
static int get_str(const msgpack_object* o, char* dst, size_t cap, int allow_empty) {
    if (o->type != MSGPACK_OBJECT_STR) return -1;
    size_t n = o->via.str.size;
    // "" may come with a NULL ptr: no memchr/memcpy of zero bytes from it
    if (n >= cap || (!allow_empty && n == 0) || (n && memchr(o->via.str.ptr, '\0', n))) return -1;
    if (n) memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
    return 0;
}

static int get_int(const msgpack_object* o, long lo, long hi, long* ret) {
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)hi) return -1;
        *ret = (long)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 < lo) return -1;
        *ret = (long)o->via.i64;
    } else {
        return -1;
    }
    return *ret >= lo && *ret <= hi ? 0 : -1;
}

// float32 LE bin of exactly n floats into dst, all finite.
static int get_floats(const msgpack_object* o, float* dst, long n) {
    if (o->type != MSGPACK_OBJECT_BIN || (uint64_t)o->via.bin.size != (uint64_t)n * 4) return -1;
    memcpy(dst, o->via.bin.ptr, (size_t)n * 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    for (long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &dst[i], 4);
        u = __builtin_bswap32(u);
        memcpy(&dst[i], &u, 4);
    }
#endif
    for (long i = 0; i < n; i++)
        if (!isfinite(dst[i])) return -2;
    return 0;
}

// Find each of the n wanted keys in map o exactly once; refuse unknown keys.
static int map_fields(const msgpack_object* o, const char* const* keys, int n,
                      const msgpack_object** vals, const char* what, MaacErr* reterr) {
    if (o->type != MSGPACK_OBJECT_MAP)
        return maac_err(reterr, -EBADMSG, "checkpoint: %s is not a map", what);
    for (int i = 0; i < n; i++) vals[i] = NULL;
    for (uint32_t j = 0; j < o->via.map.size; j++) {
        const msgpack_object* k = &o->via.map.ptr[j].key;
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (key_is(k, keys[i])) found = i;
        if (found < 0) {
            char name[40] = "?";
            if (k->type == MSGPACK_OBJECT_STR) {
                size_t kn = k->via.str.size < sizeof name - 1 ? k->via.str.size : sizeof name - 1;
                if (kn) memcpy(name, k->via.str.ptr, kn);   // ptr may be NULL for ""
                name[kn] = '\0';
                for (size_t i = 0; i < kn; i++)
                    if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e) name[i] = '?';
            }
            return maac_err(reterr, -EBADMSG, "checkpoint: %s has an unknown key \"%s\"", what, name);
        }
        if (vals[found])
            return maac_err(reterr, -EBADMSG, "checkpoint: %s has key \"%s\" twice", what, keys[found]);
        vals[found] = &o->via.map.ptr[j].val;
    }
    for (int i = 0; i < n; i++)
        if (!vals[i])
            return maac_err(reterr, -EBADMSG, "checkpoint: %s lacks key \"%s\"", what, keys[i]);
    return 0;
}

// Build one network from its map into *ret_net (name into name). 0 or -errno.
static int decode_net(const msgpack_object* o, int idx, char* name, Mlp** ret_net, MaacErr* reterr) {
    static const char* const keys[8] = {"name", "members", "sizes", "hidden_act",
                                         "head", "in_mean", "in_std", "params"};
    const msgpack_object* v[8];
    char what[64];
    snprintf(what, sizeof what, "network %d", idx);
    int r = map_fields(o, keys, 8, v, what, reterr);
    if (r) return r;
    if (get_str(v[0], name, CKPT_NAME_LEN, 0))
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: name must be a str of 1..%d bytes", what,
                        CKPT_NAME_LEN - 1);
    snprintf(what, sizeof what, "network \"%s\"", name);
    long members;
    if (get_int(v[1], 1, 4096, &members))
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: members must be an int in 1..4096", what);
    if (v[2]->type != MSGPACK_OBJECT_ARRAY || v[2]->via.array.size < 2 ||
        v[2]->via.array.size > MLP_MAX_LAYERS + 1)
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: sizes must be an array of 2..%d ints",
                        what, MLP_MAX_LAYERS + 1);
    int n_layers = (int)v[2]->via.array.size - 1;
    int sizes[MLP_MAX_LAYERS + 1];
    for (int l = 0; l <= n_layers; l++) {
        long s;
        if (get_int(&v[2]->via.array.ptr[l], 1, 1 << 20, &s))
            return maac_err(reterr, -EBADMSG, "checkpoint: %s: sizes[%d] must be an int in 1..%d",
                            what, l, 1 << 20);
        sizes[l] = (int)s;
    }
    char act_name[16], head_name[16];
    NnAct act;
    if (get_str(v[3], act_name, sizeof act_name, 0) || nn_act_parse(act_name, &act))
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: hidden_act must be linear/relu/swish/tanh",
                        what);
    MlpHead head;
    if (get_str(v[4], head_name, sizeof head_name, 0) ||
        (strcmp(head_name, "linear") != 0 && strcmp(head_name, "gauss") != 0))
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: head must be \"linear\" or \"gauss\"", what);
    head = strcmp(head_name, "gauss") == 0 ? MLP_HEAD_GAUSS : MLP_HEAD_LINEAR;
    if (head == MLP_HEAD_GAUSS && sizes[n_layers] % 2)
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: gauss head needs an even last size, got %d",
                        what, sizes[n_layers]);
    // Check the params length against the shape before allocating anything.
    long per = 0;
    for (int l = 0; l < n_layers; l++) per += (long)sizes[l + 1] * (sizes[l] + 1);
    if (head == MLP_HEAD_GAUSS) per += sizes[n_layers];
    uint64_t want = (uint64_t)per * (uint64_t)members * 4;
    if (v[7]->type != MSGPACK_OBJECT_BIN || (uint64_t)v[7]->via.bin.size != want)
        return maac_err(reterr, -EBADMSG,
                        "checkpoint: %s: params must be a bin of %llu bytes (%ld members x %ld floats), got %s of %llu",
                        what, (unsigned long long)want, members, per,
                        v[7]->type == MSGPACK_OBJECT_BIN ? "bin" : "non-bin",
                        (unsigned long long)(v[7]->type == MSGPACK_OBJECT_BIN ? v[7]->via.bin.size : 0));
    for (int i = 5; i <= 6; i++)
        if (v[i]->type != MSGPACK_OBJECT_BIN || v[i]->via.bin.size != (uint32_t)sizes[0] * 4)
            return maac_err(reterr, -EBADMSG, "checkpoint: %s: %s must be a bin of %d bytes (n_in %d floats)",
                            what, keys[i], sizes[0] * 4, sizes[0]);
    Mlp* m = mlp_create((int)members, n_layers, sizes, act, head);
    if (!m) return maac_err(reterr, -ENOMEM, "checkpoint: %s: out of memory", what);
    const char* bad = NULL;
    if (get_floats(v[5], m->in_mean, m->n_in)) bad = "in_mean has a non-finite value";
    else if (get_floats(v[6], m->in_std, m->n_in)) bad = "in_std has a non-finite value";
    else if (get_floats(v[7], m->params, m->n_params)) bad = "params has a non-finite value";
    for (int i = 0; !bad && i < m->n_in; i++)
        if (!(m->in_std[i] > 0.0f)) bad = "in_std must be > 0";
    if (bad) {
        mlp_free(m);
        return maac_err(reterr, -EBADMSG, "checkpoint: %s: %s", what, bad);
    }
    *ret_net = m;
    return 0;
}

// One meta entry (key -> str or number) into c->meta[c->n_meta]. 0 or -EBADMSG.
static int decode_meta_entry(const msgpack_object* k, const msgpack_object* val, uint32_t i,
                             Ckpt* c, MaacErr* reterr) {
    const int r = -EBADMSG;
    CkptMeta* m = &c->meta[c->n_meta];
    memset(m, 0, sizeof *m);
    if (get_str(k, m->key, sizeof m->key, 0))
        return maac_err(reterr, r, "checkpoint: meta key %u must be a str of 1..%d bytes", i, CKPT_NAME_LEN - 1);
    if (meta_find(c, m->key))
        return maac_err(reterr, r, "checkpoint: meta key \"%s\" appears twice", m->key);
    switch (val->type) {
    case MSGPACK_OBJECT_STR:
        m->is_str = 1;
        if (get_str(val, m->str, sizeof m->str, 1))
            return maac_err(reterr, r, "checkpoint: meta \"%s\": str longer than %d bytes", m->key,
                            CKPT_STR_LEN - 1);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: m->num = val->via.f64; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: m->num = (double)val->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: m->num = (double)val->via.i64; break;
    default:
        return maac_err(reterr, r, "checkpoint: meta \"%s\" must be a str or a number", m->key);
    }
    c->n_meta++;
    return 0;
}

// The body's "meta" map into c. 0 or -EBADMSG.
static int decode_meta(const msgpack_object* meta, Ckpt* c, MaacErr* reterr) {
    if (meta->type != MSGPACK_OBJECT_MAP || meta->via.map.size > CKPT_MAX_META)
        return maac_err(reterr, -EBADMSG, "checkpoint: meta must be a map of at most %d entries",
                        CKPT_MAX_META);
    for (uint32_t i = 0; i < meta->via.map.size; i++) {
        int r = decode_meta_entry(&meta->via.map.ptr[i].key, &meta->via.map.ptr[i].val, i, c,
                                  reterr);
        if (r) return r;
    }
    return 0;
}

// The body's "networks" array into c (c owns each network taken). 0 or -errno.
static int decode_nets(const msgpack_object* nets, Ckpt* c, MaacErr* reterr) {
    if (nets->type != MSGPACK_OBJECT_ARRAY || nets->via.array.size > CKPT_MAX_NETS)
        return maac_err(reterr, -EBADMSG, "checkpoint: networks must be an array of at most %d",
                        CKPT_MAX_NETS);
    for (uint32_t i = 0; i < nets->via.array.size; i++) {
        char name[CKPT_NAME_LEN];
        Mlp* net = NULL;
        int r = decode_net(&nets->via.array.ptr[i], (int)i, name, &net, reterr);
        if (r) return r;
        if (ckpt_net(c, name)) {
            mlp_free(net);
            return maac_err(reterr, -EBADMSG, "checkpoint: network \"%s\" appears twice", name);
        }
        copy_str(c->net_names[c->n_nets], CKPT_NAME_LEN, name);
        c->nets[c->n_nets++] = net;
    }
    return 0;
}

// One blob (name -> bin), copied into c. 0 or -errno.
static int decode_blob(const msgpack_object* k, const msgpack_object* val, uint32_t i, Ckpt* c,
                       MaacErr* reterr) {
    char name[CKPT_NAME_LEN];
    if (get_str(k, name, sizeof name, 0) || val->type != MSGPACK_OBJECT_BIN)
        return maac_err(reterr, -EBADMSG, "checkpoint: blob %u must be str (1..%d bytes) -> bin",
                        i, CKPT_NAME_LEN - 1);
    if (ckpt_blob(c, name, NULL))
        return maac_err(reterr, -EBADMSG, "checkpoint: blob \"%s\" appears twice", name);
    size_t n = val->via.bin.size;
    void* d = malloc(n ? n : 1);
    if (!d) return maac_err(reterr, -ENOMEM, "checkpoint: out of memory for blob \"%s\"", name);
    if (n) memcpy(d, val->via.bin.ptr, n);   // an empty bin may have a NULL ptr
    copy_str(c->blob_names[c->n_blobs], CKPT_NAME_LEN, name);
    c->blobs[c->n_blobs] = d;
    c->blob_len[c->n_blobs++] = n;
    return 0;
}

// The body's optional "blobs" map into c. 0 or -errno.
static int decode_blobs(const msgpack_object* blobs, Ckpt* c, MaacErr* reterr) {
    if (blobs->type != MSGPACK_OBJECT_MAP || blobs->via.map.size > CKPT_MAX_BLOBS)
        return maac_err(reterr, -EBADMSG, "checkpoint: blobs must be a map of at most %d entries",
                        CKPT_MAX_BLOBS);
    for (uint32_t i = 0; i < blobs->via.map.size; i++) {
        int r = decode_blob(&blobs->via.map.ptr[i].key, &blobs->via.map.ptr[i].val, i, c, reterr);
        if (r) return r;
    }
    return 0;
}

static int decode_body(const void* buf, size_t len, Ckpt* c, MaacErr* reterr) {
    msgpack_unpacked u;
    int r = unpack_one(buf, len, &u, "body", reterr);
    if (r) return r;
    static const char* const keys[4] = {"kind", "meta", "networks", "blobs"};
    const msgpack_object* v[4];
    // "blobs" is optional: a 4-entry body must have it, a 3-entry body must not.
    int n_keys = u.data.type == MSGPACK_OBJECT_MAP && u.data.via.map.size == 4 ? 4 : 3;
    r = map_fields(&u.data, keys, n_keys, v, "body", reterr);
    if (r) goto out;
    if (get_str(v[0], c->kind, sizeof c->kind, 1)) {
        r = maac_err(reterr, -EBADMSG, "checkpoint: kind must be a str shorter than %d bytes",
                     CKPT_NAME_LEN);
        goto out;
    }
    r = decode_meta(v[1], c, reterr);
    if (r) goto out;
    r = decode_nets(v[2], c, reterr);
    if (r) goto out;
    if (n_keys == 4) r = decode_blobs(v[3], c, reterr);
out:
    msgpack_unpacked_destroy(&u);
    return r;
}

int ckpt_decode(const void* buf, size_t len, Ckpt* ret, MaacErr* reterr) {
    Ckpt* c = malloc(sizeof *c);
    if (!c) {
        ckpt_init(ret, "");
        return maac_err(reterr, -ENOMEM, "checkpoint: out of memory");
    }
    ckpt_init(c, "");
    msgpack_unpacked u;
    int have_u = 0;
    int r;
    if (len > (size_t)CKPT_MAX_FILE_BYTES) {
        r = maac_err(reterr, -EFBIG, "checkpoint: %zu bytes exceeds the %ld-byte limit", len,
                     CKPT_MAX_FILE_BYTES);
        goto out;
    }
    r = unpack_one(buf, len, &u, "file", reterr);
    if (r) goto out;
    have_u = 1;
    static const char* const keys[4] = {"format", "version", "body", "crc32"};
    const msgpack_object* v[4];
    r = map_fields(&u.data, keys, 4, v, "top level", reterr);
    if (r) goto out;
    if (!key_is(v[0], CKPT_FORMAT)) {   // key_is compares a str object with a C string
        r = maac_err(reterr, -EBADMSG, "checkpoint: format is not \"%s\" (not a maacd checkpoint)",
                     CKPT_FORMAT);
        goto out;
    }
    long version;
    if (get_int(v[1], LONG_MIN, LONG_MAX, &version)) {
        r = maac_err(reterr, -EBADMSG, "checkpoint: version must be an int");
        goto out;
    }
    if (version != CKPT_VERSION) {
        r = maac_err(reterr, -EPROTO, "checkpoint: unsupported version %ld (this build reads %d)",
                     version, CKPT_VERSION);
        goto out;
    }
    long crc;
    if (v[2]->type != MSGPACK_OBJECT_BIN || get_int(v[3], 0, 0xffffffffL, &crc)) {
        r = maac_err(reterr, -EBADMSG, "checkpoint: body must be a bin and crc32 a uint32");
        goto out;
    }
    uint32_t got = ckpt_crc32(0, v[2]->via.bin.ptr, v[2]->via.bin.size);
    if (got != (uint32_t)crc) {
        r = maac_err(reterr, -EBADMSG, "checkpoint: crc32 mismatch (stored %08lx, body %08x): corrupted",
                     crc, got);
        goto out;
    }
    r = decode_body(v[2]->via.bin.ptr, v[2]->via.bin.size, c, reterr);
out:
    if (have_u) msgpack_unpacked_destroy(&u);
    if (r) {
        ckpt_done(c);
        ckpt_init(ret, "");
    } else {
        *ret = *c;
    }
    free(c);
    return r;
}

// ==== files =====================================================================

// Write all of len bytes to fd. 0 or errno.
static int write_all(int fd, const void* data, size_t len) {
    const char* p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n, len -= (size_t)n;
    }
    return 0;
}

// The folder part of path into dir ("." when path has no slash).
static void dir_of(const char* path, char* dir, size_t cap) {
    copy_str(dir, cap, path);
    char* slash = strrchr(dir, '/');
    if (!slash) copy_str(dir, cap, ".");
    else if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
}

int maac_write_atomic(const char* path, const void* data, size_t len, MaacErr* reterr) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return maac_err(reterr, -ENAMETOOLONG, "write %s: path too long", path);
    // O_EXCL|O_NOFOLLOW: never follow or reuse whatever sits at the temp path (a
    // planted symlink or file); a stale temp of this very pid is ours to remove first.
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        struct stat st;
        if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            unlink(tmp) == 0)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        else
            errno = EEXIST;
    }
    if (fd < 0) {
        int e = errno;
        return maac_err(reterr, -e, "write %s: create %s: %s%s", path, tmp, strerror(e),
                        e == EEXIST ? " (something else is there; refusing to follow or reuse it)"
                                    : "");
    }
    const char* op = "write";
    int e = write_all(fd, data, len);
    if (!e && fsync(fd) < 0) e = errno, op = "fsync";
    if (close(fd) < 0 && !e) e = errno, op = "close";
    if (!e && rename(tmp, path) < 0) e = errno, op = "rename";
    if (e) {
        (void)unlink(tmp);
        return maac_err(reterr, -e, "write %s: %s: %s", path, op, strerror(e));
    }
    // Make the rename durable: fsync the folder that holds path.
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        e = errno;
        return maac_err(reterr, -e, "write %s: replaced, but open folder %s for fsync: %s", path, dir,
                        strerror(e));
    }
    if (fsync(dfd) < 0 && errno != EINVAL) {   // EINVAL: folder fsync unsupported here
        e = errno;
        close(dfd);
        return maac_err(reterr, -e, "write %s: replaced, but fsync folder %s: %s", path, dir, strerror(e));
    }
    close(dfd);
    return 0;
}

// The pid in a "NAME.tmp-PID" file name, or 0 when name is not one.
static long tmp_pid(const char* name) {
    const char* t = strstr(name, ".tmp-");
    if (!t || t == name) return 0;
    const char* d = t + 5;
    while ((t = strstr(d, ".tmp-"))) d = t + 5;   // the last ".tmp-"
    if (*d < '1' || *d > '9') return 0;
    char* end;
    errno = 0;
    long pid = strtol(d, &end, 10);
    return (*end || errno || pid <= 0 || pid > INT_MAX) ? 0 : pid;
}

int maac_clean_stale_tmp(const char* dir, MaacErr* reterr) {
    DIR* dp = opendir(dir);
    if (!dp) {
        int e = errno;
        return maac_err(reterr, -e, "clean %s: %s", dir, strerror(e));
    }
    int dfd = dirfd(dp), removed = 0;
    struct dirent* de;
    while ((de = readdir(dp))) {
        long pid = tmp_pid(de->d_name);
        if (!pid || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno == EPERM) continue;   // its writer still runs
        struct stat st;
        // only regular files this user owns: never a symlink, never someone else's file
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid())
            continue;
        if (unlinkat(dfd, de->d_name, 0) == 0) removed++;
    }
    closedir(dp);
    return removed;
}

int ckpt_write(const char* path, const Ckpt* c, MaacErr* reterr) {
    char* buf = NULL;
    size_t len = 0;
    int r = ckpt_encode(c, &buf, &len, reterr);
    if (r) return r;
    r = maac_write_atomic(path, buf, len, reterr);
    free(buf);
    return r;
}

int ckpt_read(const char* path, Ckpt* ret, MaacErr* reterr) {
    return ckpt_read_max(path, CKPT_MAX_FILE_BYTES, ret, reterr);
}

int ckpt_read_max(const char* path, long max_bytes, Ckpt* ret, MaacErr* reterr) {
    ckpt_init(ret, "");
    if (max_bytes <= 0 || max_bytes > CKPT_MAX_FILE_BYTES) max_bytes = CKPT_MAX_FILE_BYTES;
    // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; anything but
    // a regular file is refused after the fstat below. Symlinks are followed (an
    // operator's "current.ckpt -> v12.ckpt" is fine): what counts is what is opened.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return maac_err(reterr, -e, "read %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return maac_err(reterr, -e, "read %s: stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return maac_err(reterr, -EINVAL, "read %s: not a regular file", path);
    }
    if (st.st_size > max_bytes) {
        close(fd);
        return maac_err(reterr, -EFBIG, "read %s: %lld bytes exceeds the %ld-byte limit", path,
                        (long long)st.st_size, max_bytes);
    }
    size_t len = (size_t)st.st_size;
    char* buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return maac_err(reterr, -ENOMEM, "read %s: out of memory for %zu bytes", path, len);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return maac_err(reterr, -e, "read %s: %s", path, n < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)n;
    }
    close(fd);
    int r = ckpt_decode(buf, len, ret, reterr);
    free(buf);
    if (r && reterr) {   // prefix the path
        char msg[MAAC_ERR_LEN];
        copy_str(msg, sizeof msg, reterr->msg);
        maac_err(reterr, r, "%s: %s", path, msg);
    }
    return r;
}
