// SPDX-License-Identifier: Apache-2.0
// security.h -- who may talk to maacd: CURVE on network endpoints, an owned directory
// for ipc sockets (docs/daemon.md "Security").
//
// Every socket the daemon binds or connects goes through sec_bind / sec_connect:
//   network endpoint (tcp, abstract ipc, ...)  CURVE: bound sockets are CURVE servers
//       with [security] secret_key, and the ZAP handler (transport/curve.h) admits
//       only the client keys in [security] allowed_keys; fleet_connect is a CURVE
//       client with secret_key and [security] fleet_server_key. Without keys the
//       daemon refuses to start, unless [security] insecure = true (then it runs the
//       endpoint unauthenticated and says so loudly at start).
//   ipc endpoint with a path  no keys; the directory is checked (ours, not writable
//       by others; transport/sockdir.h) before binding, and the socket is made 0660
//       with [security] socket_group (default "maacd") after.
//   inproc                    untouched (inside the process).
// Thread: main at start-up (sec_check_config, sec_start, sec_stop); sec_bind /
// sec_connect from the thread that will own the socket. Allocation: sec_start.
#ifndef MAAC_SECURITY_H
#define MAAC_SECURITY_H

#include <stdint.h>

#include "core/err.h"
#include "daemon/config.h"
#include "transport/curve.h"
#include "transport/link.h"

typedef struct SecKeys {
    int have_server;          // server: secret_key loaded
    LinkCurve server;         // CURVE server options for bound network endpoints
    int have_fleet_client;    // fleet_client: secret_key + fleet_server_key loaded
    LinkCurve fleet_client;   // CURVE client options for fleet_connect
    CurveAllowed* allowed;    // client keys the ZAP handler admits (owned)
    CurveZap* zap;            // the ZAP handler (owned; NULL without CURVE)
} SecKeys;

// Check the settings without touching files: each network endpoint needs its keys
// named unless insecure = true. 0 or -EINVAL with reterr naming the endpoint and
// the fix.
int sec_check_config(const DaemonConfig* c, MaacErr* reterr);
// Load the keys the settings name and start the ZAP handler in zctx (before any
// CURVE socket is bound); warn about every network endpoint left without CURVE.
// 0 or -errno with reterr (k is cleaned up).
int sec_start(SecKeys* k, const DaemonConfig* c, void* zctx, MaacErr* reterr);
// Stop the ZAP handler and free the keys (before zmq_ctx_term). Nullable: k.
void sec_stop(SecKeys* k);
// Handshakes the ZAP handler admitted / refused.
uint64_t sec_accepted(const SecKeys* k);
uint64_t sec_refused(const SecKeys* k);

// link_bind with the daemon's rules (above); keys from c->keys. NULL with reterr.
void* sec_bind(const DaemonConfig* c, void* zctx, int type, const char* endpoint,
               const LinkOpts* opts, MaacErr* reterr);
// link_connect for fleet_connect with the daemon's rules. NULL with reterr.
void* sec_connect(const DaemonConfig* c, void* zctx, int type, const char* endpoint,
                  const LinkOpts* opts, MaacErr* reterr);

#endif
