// SPDX-License-Identifier: Apache-2.0
// curve.h -- CURVE authentication for maacd's network endpoints: key files, the
// allowed-client list and a ZAP handler (ZeroMQ RFC 27) that admits only listed keys.
//
// Keys are libzmq's: Curve25519 key pairs from zmq_curve_keypair, written as Z85
// text (40 characters). A key file holds one key on a line of its own ('#' starts a
// comment line); czmq/zcert certificate files (`public-key = "..."`,
// `secret-key = "..."`) are read too. `maacctl keygen NAME` writes NAME.key (the
// secret key, mode 0600, created with O_EXCL|O_NOFOLLOW and never overwritten) and
// NAME.pub (the public key, 0644).
//
// Roles (zmq_curve(7)): a bound maacd socket is a CURVE server (ZMQ_CURVE_SERVER,
// its secret key, ZMQ_ZAP_DOMAIN "maacd"); every client (maac-sim, maacctl, a
// fleet robot's DEALER) sets its own key pair and the server's public key. libzmq
// asks the ZAP handler on inproc://zeromq.zap.01 of the server's context about
// every CURVE handshake; ours answers 200 for a listed client key and 400 for
// anything else, and counts both. A peer without CURVE never gets past the
// handshake (mechanism mismatch) and never reaches a socket.
//
// Thread: the ZAP handler runs on its own thread; its counters are atomics any
// thread may read. Everything else is plain functions for start-up.
// Allocation: curve_allowed_load and curve_zap_start allocate; nothing else.
#ifndef MAAC_CURVE_H
#define MAAC_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "transport/link.h"

#define CURVE_Z85_LEN 40            // a key as Z85 text
#define CURVE_MAX_ALLOWED 4096      // client keys in an allowed list
#define CURVE_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define CURVE_ZAP_DOMAIN "maacd"

//---- endpoints -------------------------------------------------------------------
// 1 when endpoint reaches beyond this machine's file-system permissions: anything
// but ipc:// with a path and inproc:// (tcp, an abstract ipc://@name, pgm, ...).
int curve_endpoint_is_network(const char* endpoint);

//---- keys --------------------------------------------------------------------------
// 1 when text is a 40-character Z85 key that decodes to 32 bytes.
int curve_key_valid(const char* z85);
// Write a fresh key pair: base.key (secret, 0600) and base.pub (public, 0644).
// Each file is written to a temp name opened O_CREAT|O_EXCL|O_NOFOLLOW, fsynced and
// linked into place, so an existing file (or a planted symlink) is never replaced.
// ret_public (41 bytes) gets the public key. Nullable: ret_public. 0 or -errno.
int curve_keygen(const char* base, char* ret_public, MaacErr* reterr);
// Read a secret key file into a client/server key pair (the public half derived with
// zmq_curve_public). The file must be a regular file readable by its owner only
// (mode & 077 == 0) and owned by us or root. 0 or -errno.
int curve_load_secret(const char* path, LinkCurve* ret, MaacErr* reterr);
// Read one public key (Z85) from a file into ret (41 bytes). 0 or -errno.
int curve_load_public(const char* path, char* ret, MaacErr* reterr);

// Client side of a connection (maac-sim, maacctl): for a network endpoint, load the
// client's key pair from key_file and the server's public key from server_key_file
// into ret and return 1 (use ret as LinkOpts.curve); for a local endpoint return 0.
// A network endpoint without both files is refused (-EPERM, saying what to pass)
// unless insecure (then 0: no CURVE). Nullable: key_file, server_key_file.
int curve_client_setup(const char* endpoint, const char* key_file, const char* server_key_file,
                       int insecure, LinkCurve* ret, MaacErr* reterr);

//---- allowed client keys ------------------------------------------------------------
typedef struct {
    int n;
    unsigned char key[CURVE_MAX_ALLOWED][32];   // (n) binary public keys
} CurveAllowed;

// Load the allowed client keys from path: a directory (every regular *.pub file in it,
// one key each) or a list file (one Z85 key per line; text after the key is a
// comment). Neither may be writable by group or others, and both must belong to us
// or root. Returns a new list (curve_allowed_free) or NULL with reterr.
CurveAllowed* curve_allowed_load(const char* path, MaacErr* reterr);
void curve_allowed_free(CurveAllowed* a);
// 1 when the 32-byte key is listed.
int curve_allowed_has(const CurveAllowed* a, const unsigned char* key);

//---- ZAP handler -------------------------------------------------------------------
typedef struct CurveZap CurveZap;
// Log sink for refusals: called from the ZAP thread, at most once a second, with a
// ready line (the refused key, the peer address, how many more since the last line).
typedef void (*CurveLogFn)(void* user, const char* line);

// Bind the ZAP handler in zctx and start its thread. allowed is borrowed (it must
// outlive the handler). Start it before binding any CURVE server socket: libzmq
// admits CURVE clients without asking when no handler is bound. NULL with reterr.
// Nullable: log.
CurveZap* curve_zap_start(void* zctx, const CurveAllowed* allowed, CurveLogFn log, void* user,
                          MaacErr* reterr);
// Stop the thread and close the handler socket. Nullable: z.
void curve_zap_stop(CurveZap* z);
// Handshakes admitted / refused so far (any thread). 0 for NULL.
uint64_t curve_zap_accepted(const CurveZap* z);
uint64_t curve_zap_refused(const CurveZap* z);

#endif
