// SPDX-License-Identifier: Apache-2.0
// ckpt.h -- checkpoints: named networks plus metadata in a versioned msgpack file.
//
// File format (docs/checkpoint-format.md): one msgpack map
//   { "format": "maacd-checkpoint", "version": 1, "body": <bin>, "crc32": <uint> }
// where crc32 is zlib's CRC-32 of the body bytes and body is itself a msgpack map
//   { "kind": str, "meta": {str: str|float}, "networks": [ {name, members, sizes,
//     hidden_act, head, in_mean: bin, in_std: bin, params: bin}, ... ],
//     "blobs": {str: bin} (optional; only written when there are blobs) }
// with every float array as float32 little-endian bytes. Blobs are named byte strings
// whose layout the kind defines (e.g. "learner_state": replay buffers, optimiser
// moments, random states); a file without blobs is exactly what earlier builds wrote.
// Written atomically (temp file in the same folder, fsync, rename, fsync the folder). Read with full
// validation: a truncated, corrupted or mismatched file is rejected with a clear
// message and nothing half-loaded is returned.
// Thread: any (the daemon reads off the control thread). Allocation: the Mlps and blobs a read returns.
#ifndef MAAC_CKPT_H
#define MAAC_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mlp.h"

#define CKPT_FORMAT "maacd-checkpoint"
#define CKPT_VERSION 1
#define CKPT_MAX_NETS 16
#define CKPT_MAX_META 96
#define CKPT_NAME_LEN 48
#define CKPT_STR_LEN 128
#define CKPT_MAX_BLOBS 32
#define CKPT_MAX_FILE_BYTES (1L << 30)

typedef struct {
    char key[CKPT_NAME_LEN];    // metadata key
    int is_str;                 // 1: str holds the value; 0: num does
    double num;                 // numeric value
    char str[CKPT_STR_LEN];     // string value
} CkptMeta;

typedef struct {
    char kind[CKPT_NAME_LEN];         // what the file holds, e.g. "policy"
    int n_nets;                       // networks in nets
    char net_names[CKPT_MAX_NETS][CKPT_NAME_LEN];
    Mlp* nets[CKPT_MAX_NETS];         // owned after ckpt_read; borrowed for ckpt_write
    int n_meta;                       // entries in meta
    CkptMeta meta[CKPT_MAX_META];
    int n_blobs;                      // entries in blobs
    char blob_names[CKPT_MAX_BLOBS][CKPT_NAME_LEN];
    const void* blobs[CKPT_MAX_BLOBS];   // owned after ckpt_read; borrowed for ckpt_write
    size_t blob_len[CKPT_MAX_BLOBS];  // bytes
} Ckpt;

// Start an empty checkpoint of the given kind.
void ckpt_init(Ckpt* c, const char* kind);
// Add a network (borrowed: the caller keeps ownership for writing). 0 or -ENOSPC/-EINVAL.
int ckpt_add_net(Ckpt* c, const char* name, Mlp* net);
// Set a numeric / string metadata entry (replaces an existing key). 0 or -ENOSPC.
int ckpt_set_num(Ckpt* c, const char* key, double v);
int ckpt_set_str(Ckpt* c, const char* key, const char* v);
// Look up metadata; 0 or -ENOENT (or -EINVAL when the type differs).
int ckpt_get_num(const Ckpt* c, const char* key, double* ret);
int ckpt_get_str(const Ckpt* c, const char* key, const char** ret);
// Add a named byte string (borrowed for writing; len may be 0). 0 or -ENOSPC/-EINVAL.
int ckpt_add_blob(Ckpt* c, const char* name, const void* data, size_t len);
// The blob named name (its length in *ret_len), or NULL.
const void* ckpt_blob(const Ckpt* c, const char* name, size_t* ret_len);
// The network named name, or NULL.
Mlp* ckpt_net(const Ckpt* c, const char* name);
// Free the networks and blobs a ckpt_read returned (not for checkpoints built to write).
void ckpt_done(Ckpt* c);

// Encode to a malloc'd buffer (*ret_buf, *ret_len); caller frees. 0 or -errno.
int ckpt_encode(const Ckpt* c, char** ret_buf, size_t* ret_len, MaacErr* reterr);
// Decode and validate; on success *ret owns its networks (ckpt_done). On failure
// *ret is left empty (no networks). 0 or -EBADMSG/-EPROTO/-ENOMEM.
int ckpt_decode(const void* buf, size_t len, Ckpt* ret, MaacErr* reterr);
// Write atomically to path. 0 or -errno; on failure the old file is untouched.
int ckpt_write(const char* path, const Ckpt* c, MaacErr* reterr);
// Read and validate path. 0 or -errno. Opens without blocking (a FIFO is refused, not
// waited on) and reads regular files only; symlinks to regular files are followed.
int ckpt_read(const char* path, Ckpt* ret, MaacErr* reterr);
// As ckpt_read, refusing files larger than max_bytes (<= 0: CKPT_MAX_FILE_BYTES) with -EFBIG.
int ckpt_read_max(const char* path, long max_bytes, Ckpt* ret, MaacErr* reterr);

// CRC-32 (zlib polynomial, same as Python's zlib.crc32) of len bytes, continuing crc.
uint32_t ckpt_crc32(uint32_t crc, const void* data, size_t len);

// Write len bytes to path atomically: path.tmp-PID created with O_EXCL|O_NOFOLLOW
// (mode 0644; a symlink or foreign file at the temp path is refused, never followed),
// fsync, rename, fsync folder; the temp file is removed on every failure. 0 or -errno.
int maac_write_atomic(const char* path, const void* data, size_t len, MaacErr* reterr);
// Remove "*.tmp-PID" files in dir left by writers that died mid-write (PID no longer
// running; regular files of this user only, symlinks never followed). Returns how
// many were removed (>= 0) or -errno when dir cannot be read.
int maac_clean_stale_tmp(const char* dir, MaacErr* reterr);

#endif
